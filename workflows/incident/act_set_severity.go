package incident

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The set_severity act: the Commander escalates or de-escalates; the
// acknowledgement deadline and the update cadence follow the new severity.

func checkSetSeverity(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	if err := inc.commanderOnly(act.By, "change severity"); err != nil {
		return err
	}
	sev, err := workflows.ParseSeverity(string(act.Severity))
	if err != nil {
		return err
	}
	if sev == s.Severity {
		return fmt.Errorf("severity is already %s", sev)
	}
	return nil
}

func applySetSeverity(inc *incident, _ workflow.Context, e actEvent) string {
	s, act, now := &inc.s, e.act, e.now
	sev, _ := workflows.ParseSeverity(string(act.Severity))
	prev := s.Severity
	s.Severity = sev
	verb := "de-escalated"
	if sev.Rank() < prev.Rank() {
		verb = "escalated"
	}
	what := fmt.Sprintf("%s %s → %s (%s)", verb, prev, sev, sev.Describe())
	inc.note(e, what)
	if s.State == workflows.Triggered {
		if due := now.Add(sev.AckTimeout()); due.Before(s.AckDue) {
			s.AckDue = due
		}
	}
	if c := sev.UpdateCadence(); c == 0 || s.State == workflows.Triggered {
		s.NextUpdateAt = time.Time{}
	} else if due := now.Add(c); s.NextUpdateAt.IsZero() || due.Before(s.NextUpdateAt) {
		s.NextUpdateAt = due
	}
	inc.post(fmt.Sprintf("severity %s: %s", verb, what), act.Reason)
	return what
}
