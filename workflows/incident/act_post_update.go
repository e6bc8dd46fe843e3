package incident

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The post_update act: the Liaison's (or the Commander's) status update, due
// at the severity's cadence.

func checkPostUpdate(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	if err := inc.liaisonOrCommander(act.By, "post a status update"); err != nil {
		return err
	}
	if err := checkNote(act.Note, "write the update"); err != nil {
		return err
	}
	if s.State == workflows.Resolved {
		return fmt.Errorf("incident %s is resolved; status updates are over", s.ID)
	}
	return nil
}

func applyPostUpdate(inc *incident, _ workflow.Context, e actEvent) string {
	s, act, now := &inc.s, e.act, e.now
	s.Updates.Last, s.Updates.LastBy, s.Updates.DueSince = now, act.By, time.Time{}
	if c := s.Severity.UpdateCadence(); c > 0 && s.State != workflows.Triggered {
		s.NextUpdateAt = now.Add(c)
	}
	inc.note(e, "status update: "+act.Note)
	inc.postKind(workflows.NotifyStatusUpdate, fmt.Sprintf("status update: %s %s", s.Severity, s.State), act.Note+"\n\n"+inc.details())
	if s.NextUpdateAt.IsZero() {
		return "status update posted"
	}
	return "status update posted; the next is due at " + s.NextUpdateAt.Format(time.RFC3339)
}
