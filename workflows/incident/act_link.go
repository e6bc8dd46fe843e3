package incident

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The relate and merge acts, and the link signal they send: incidents
// that turn out to be one problem (one upstream failure, many downstream
// alerts) are linked on both sides, or merged into the one that carries on.
//
// The link signal is recorded as reported by the other incident: Temporal
// does not say who sent a signal, and a link decides nothing here (it adds
// a record and, for a merge, alerts to the count); the deciding act is the
// verified relate or merge on the sending side.

// maxLinkedAlerts bounds the alert count a merge signal may add: more than
// any incident counts in a week (workflows.MaxSeenIDs a kind).
const maxLinkedAlerts = 100 * workflows.MaxSeenIDs

// checkOther checks the other incident an act names.
func (inc *incident) checkOther(other string) error {
	s := &inc.s
	switch {
	case other == "":
		return errors.New("which incident? set other to its ID (incident-…)")
	case !strings.HasPrefix(other, workflows.WorkflowIDPrefix) || len(other) > len(workflows.WorkflowIDPrefix)+workflows.MaxDedupeKeyLen:
		return fmt.Errorf("other: %q is not an incident ID (incident-<dedupe key>, at most %d bytes)", truncate(other, 80), len(workflows.WorkflowIDPrefix)+workflows.MaxDedupeKeyLen)
	case other == s.ID:
		return errors.New("an incident cannot be linked to itself")
	}
	return nil
}

func checkRelate(inc *incident, _ string, act workflows.Act) error {
	s := &inc.s
	if !inc.holdsRole(act.By) {
		return fmt.Errorf("only a role holder (Commander %s, Scribe, Liaison, SMEs) can relate incidents", s.Roles.Commander)
	}
	if err := inc.checkOther(act.Other); err != nil {
		return err
	}
	for _, l := range s.Related {
		if l.ID == act.Other {
			return fmt.Errorf("already linked to %s (%s)", l.ID, l.Kind)
		}
	}
	if len(s.Related) >= workflows.MaxRelated {
		return fmt.Errorf("this incident already has %d links, the most it keeps", workflows.MaxRelated)
	}
	return nil
}

func applyRelate(inc *incident, ctx workflow.Context, e actEvent) string {
	s := &inc.s
	other := e.act.Other
	s.Related = append(s.Related, workflows.IncidentLink{Kind: workflows.LinkRelated, ID: other, By: e.act.By, At: e.now})
	inc.note(e, "related to "+other)
	sig := workflows.LinkSignal{Link: workflows.IncidentLink{Kind: workflows.LinkRelated, ID: s.ID, Title: s.Title, By: e.act.By, At: e.now}}
	inc.tell(ctx, other, sig, func(err error) {
		now := workflow.Now(ctx)
		if err != nil {
			inc.dropLink(other)
			inc.record(now, "datasev", workflows.KindSystem, "could not relate to "+other+": the link is removed", err.Error())
			return
		}
		inc.post("related: "+other, fmt.Sprintf("%s linked this incident to %s.", e.act.By, other))
	})
	return "relating to " + other
}

func checkMerge(inc *incident, _ string, act workflows.Act) error {
	s := &inc.s
	if err := inc.commanderOnly(act.By, "merge this incident into another"); err != nil {
		return err
	}
	if err := inc.checkOther(act.Other); err != nil {
		return err
	}
	if s.MergedInto != "" {
		return fmt.Errorf("already merging into %s", s.MergedInto)
	}
	return nil
}

func applyMerge(inc *incident, ctx workflow.Context, e actEvent) string {
	s := &inc.s
	other := e.act.Other
	s.MergedInto = other
	inc.note(e, "merging into "+other)
	sig := workflows.LinkSignal{
		Link:    workflows.IncidentLink{Kind: workflows.LinkMerged, ID: s.ID, Title: s.Title, By: e.act.By, At: e.now, Alerts: s.AlertCount},
		Members: s.Members,
	}
	inc.tell(ctx, other, sig, func(err error) {
		now := workflow.Now(ctx)
		if err != nil {
			s.MergedInto = ""
			inc.record(now, "datasev", workflows.KindSystem, "could not merge into "+other+"; the incident stays open", err.Error())
			inc.page(s.Roles.Commander, "merge failed: "+s.Title, err.Error())
			return
		}
		if len(s.Related) < workflows.MaxRelated {
			s.Related = append(s.Related, workflows.IncidentLink{Kind: workflows.LinkMergedInto, ID: other, By: e.act.By, At: now})
		}
		// The incident that carries on writes the postmortem.
		s.Closure.Enabled = false
		if s.State.Open() {
			reason := "merged into " + other
			if e.act.Reason != "" {
				reason += ": " + e.act.Reason
			}
			applyResolve(inc, ctx, actEvent{name: workflows.ActResolve, act: workflows.Act{By: e.act.By, Via: e.act.Via, Reason: reason}, now: now, verified: e.verified})
		}
	})
	return "merging into " + other + "; this incident resolves and closes once it has taken the alerts"
}

// tell signals another incident with a link and hands the outcome to done,
// in a coroutine; the run does not close or continue as new before it.
func (inc *incident) tell(ctx workflow.Context, other string, sig workflows.LinkSignal, done func(error)) {
	f := workflow.SignalExternalWorkflow(ctx, other, "", workflows.SignalIncidentLink, sig)
	inc.linking++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { inc.linking--; inc.kick.SendAsync(struct{}{}) }()
		done(f.Get(ctx, nil))
	})
}

// dropLink removes the link to id.
func (inc *incident) dropLink(id string) {
	out := inc.s.Related[:0]
	for _, l := range inc.s.Related {
		if l.ID != id {
			out = append(out, l)
		}
	}
	inc.s.Related = out
}

// linked records a link another incident reported.
func (inc *incident) linked(now time.Time, sig workflows.LinkSignal) {
	s := &inc.s
	l := sig.Link
	if l.ID == "" || l.ID == s.ID || (l.Kind != workflows.LinkRelated && l.Kind != workflows.LinkMerged) {
		inc.record(now, "datasev", workflows.KindRejected, "incident link signal ignored", fmt.Sprintf("kind %q from %q", truncate(l.Kind, 40), truncate(l.ID, 80)))
		return
	}
	l.Title, l.By = truncate(l.Title, workflows.MaxTitleLen), truncate(l.By, 64)
	l.At = now
	known := false
	for _, x := range s.Related {
		known = known || (x.ID == l.ID && x.Kind == l.Kind)
	}
	if !known && len(s.Related) < workflows.MaxRelated {
		s.Related = append(s.Related, l)
	}
	if l.Kind == workflows.LinkRelated {
		if !known {
			inc.record(now, l.By, workflows.KindSystem, fmt.Sprintf("related to %s (%s), as that incident reports", l.ID, l.Title), "")
		}
		return
	}
	if known {
		return // a repeat of a merge already counted
	}
	// The count is the other incident's word: bounded, like every input.
	l.Alerts = min(max(l.Alerts, 0), maxLinkedAlerts)
	s.AlertCount += l.Alerts
	for _, m := range sig.Members {
		if inc.memberIndex(m.Key) >= 0 {
			continue
		}
		if len(s.Members) >= workflows.MaxMembers {
			s.MembersMore++
			continue
		}
		m.Key, m.Title = truncate(m.Key, workflows.MaxDedupeKeyLen), truncate(m.Title, workflows.MaxTitleLen)
		s.Members = append(s.Members, m)
	}
	if s.Group == "" && len(sig.Members) > 0 {
		s.Group = "merged incidents"
	}
	inc.record(now, l.By, workflows.KindSystem, fmt.Sprintf("incident %s merged into this one: %s (%d alerts), as that incident reports", l.ID, l.Title, l.Alerts), "")
	inc.post("merged in: "+l.Title, fmt.Sprintf("%s merged %s (%d alerts) into this incident.", l.By, l.ID, l.Alerts))
}

// holdsRole reports whether p holds any of the incident's roles.
func (inc *incident) holdsRole(p string) bool {
	r := inc.s.Roles
	return p != "" && (p == r.Commander || p == r.Scribe || p == r.Liaison || r.Has(p, workflows.SME))
}
