package incident

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The accept_handoff act: the incoming Commander (or their secondary) takes
// command at a shift boundary.

func checkAcceptHandoff(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	h := s.Handoff
	if h == nil {
		return errors.New("no handoff is pending")
	}
	if act.By != h.To && act.By != h.Backup {
		return fmt.Errorf("only the incoming Commander (%s) or their secondary (%s) can accept this handoff", h.To, orNone(h.Backup))
	}
	return nil
}

func applyAcceptHandoff(inc *incident, _ workflow.Context, e actEvent) string {
	s, act := &inc.s, e.act
	h := s.Handoff
	prev := s.Roles.Commander
	s.Roles.Commander = act.By
	s.ShiftName, s.ShiftEnd, s.Secondary = h.NextShift, h.NextShiftEnd, h.NextSecondary
	s.Handoff = nil
	inc.note(e, fmt.Sprintf("accepted the handoff from %s", prev))
	inc.post(fmt.Sprintf("%s is now Commander (handoff from %s)", act.By, prev), "")
	return fmt.Sprintf("%s is Commander until the %s shift ends at %s", act.By, s.ShiftName, s.ShiftEnd.Format(time.RFC3339))
}
