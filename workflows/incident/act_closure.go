package incident

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The closure inputs: root_cause, contributing_factor and action_item, by
// anyone holding a role, for the postmortem.

func checkClosureInput(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	if !s.Closure.Enabled {
		return fmt.Errorf("incident %s was opened before closure inputs existed; add a note instead", s.ID)
	}
	if !s.Roles.Any(act.By) {
		return fmt.Errorf("only people holding a role on this incident (%s) can add closure inputs; %s holds none", describeRoles(s.Roles), act.By)
	}
	what := map[string]string{workflows.ActRootCause: "root cause", workflows.ActContributingFactor: "contributing factor", workflows.ActActionItem: "action item"}[name]
	if err := checkNote(act.Note, fmt.Sprintf("write the %s", what)); err != nil {
		return err
	}
	if act.Person != "" {
		if name != workflows.ActActionItem {
			return fmt.Errorf("person: only an action item has an owner")
		}
		if _, ok := inc.in.Roster.Person(act.Person); !ok {
			return fmt.Errorf("person %q (the action item's owner) is not on the %s roster", act.Person, inc.in.Roster.Team)
		}
	}
	return nil
}

func applyRootCause(inc *incident, _ workflow.Context, e actEvent) string {
	s, act := &inc.s, e.act
	s.Closure.RootCause, s.Closure.RootCauseBy = act.Note, act.By
	inc.note(e, "root cause: "+act.Note)
	return "root cause recorded" + inc.closureProgress()
}

func applyContributingFactor(inc *incident, _ workflow.Context, e actEvent) string {
	s, act, now := &inc.s, e.act, e.now
	s.Closure.Factors = append(s.Closure.Factors, workflows.ClosureNote{Text: act.Note, By: act.By, At: now})
	inc.note(e, "contributing factor: "+act.Note)
	return "contributing factor recorded" + inc.closureProgress()
}

func applyActionItem(inc *incident, _ workflow.Context, e actEvent) string {
	s, act, now := &inc.s, e.act, e.now
	s.Closure.ActionItems = append(s.Closure.ActionItems, workflows.ActionItem{Text: act.Note, Owner: act.Person, By: act.By, At: now})
	what := "action item: " + act.Note
	if act.Person != "" {
		what += " (owner " + act.Person + ")"
	}
	inc.note(e, what)
	return "action item recorded" + inc.closureProgress()
}
