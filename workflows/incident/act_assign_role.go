package incident

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The assign_role act: the Commander gives a role to a person on the roster,
// who is paged.

func checkAssignRole(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	if err := inc.commanderOnly(act.By, "assign roles"); err != nil {
		return err
	}
	role, err := workflows.ParseRole(string(act.Role))
	if err != nil {
		return err
	}
	if act.Person == "" {
		return errors.New("person: who gets the role? set person to a roster ID")
	}
	if _, ok := inc.in.Roster.Person(act.Person); !ok {
		return fmt.Errorf("person %q is not on the %s roster", act.Person, inc.in.Roster.Team)
	}
	if s.Roles.Has(act.Person, role) {
		return fmt.Errorf("%s is already %s", act.Person, role)
	}
	return nil
}

func applyAssignRole(inc *incident, _ workflow.Context, e actEvent) string {
	s, act := &inc.s, e.act
	role, _ := workflows.ParseRole(string(act.Role))
	var prev string
	switch role {
	case workflows.Commander:
		prev, s.Roles.Commander = s.Roles.Commander, act.Person
	case workflows.Scribe:
		prev, s.Roles.Scribe = s.Roles.Scribe, act.Person
	case workflows.Liaison:
		prev, s.Roles.Liaison = s.Roles.Liaison, act.Person
	case workflows.SME:
		s.Roles.SMEs = append(s.Roles.SMEs, act.Person)
	}
	what := fmt.Sprintf("assigned %s as %s", act.Person, roleTitle(role))
	if prev != "" {
		what += " (was " + prev + ")"
	}
	inc.note(e, what)
	inc.page(act.Person, fmt.Sprintf("you are %s: %s", roleTitle(role), s.Title), "Assigned by "+act.By+".")
	return what
}
