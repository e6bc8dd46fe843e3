package incident

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The publish_status act: the Liaison or the Commander approves public
// wording by sending it; it is published on the status page (public.go).

func checkPublishStatus(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	if err := inc.liaisonOrCommander(act.By, "approve public wording"); err != nil {
		return err
	}
	if err := checkNote(act.Note, "write the public wording"); err != nil {
		return err
	}
	switch act.Action {
	case "", "investigating", "identified", "monitoring":
	default:
		return fmt.Errorf("action %q: the public status is investigating, identified or monitoring (resolving the incident resolves it publicly)", act.Action)
	}
	if s.State == workflows.Resolved {
		return fmt.Errorf("incident %s is resolved; its public incident was resolved with it", s.ID)
	}
	return nil
}

func applyPublishStatus(inc *incident, ctx workflow.Context, e actEvent) string {
	act, verified := e.act, e.verified
	return inc.publishStatus(ctx, act, verified)
}
