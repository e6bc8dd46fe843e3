package incident

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The acknowledge act: the paged Commander (or the secondary, who then takes
// command) takes the page; the incident starts diagnosing.

func checkAcknowledge(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	if s.State != workflows.Triggered {
		return fmt.Errorf("already acknowledged at %s", s.AckedAt.Format(time.RFC3339))
	}
	if act.By != s.Roles.Commander && act.By != s.Secondary {
		return fmt.Errorf("only the paged Commander (%s) or the secondary (%s) can acknowledge", s.Roles.Commander, orNone(s.Secondary))
	}
	return nil
}

func applyAcknowledge(inc *incident, _ workflow.Context, e actEvent) string {
	s, act, now := &inc.s, e.act, e.now
	s.AckedAt = now
	s.AckDue = time.Time{}
	if act.By != s.Roles.Commander {
		prev := s.Roles.Commander
		s.Roles.Commander = act.By
		inc.note(e, fmt.Sprintf("acknowledged and took command from %s", prev))
	} else {
		inc.note(e, "acknowledged")
	}
	inc.transition(now, workflows.Acknowledged, act.By, "")
	why := "responders diagnose by hand (no runbook)"
	if s.Runbook != "" {
		why = "runbook " + s.Runbook + " diagnoses"
	}
	inc.transition(now, workflows.Diagnosing, "datasev", why)
	if c := s.Severity.UpdateCadence(); c > 0 {
		s.NextUpdateAt = now.Add(c)
	}
	inc.post(fmt.Sprintf("%s acknowledged: %s", act.By, s.Title), "")
	return fmt.Sprintf("acknowledged by %s; %s is Commander", act.By, s.Roles.Commander)
}
