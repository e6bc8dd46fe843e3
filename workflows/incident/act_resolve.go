package incident

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The resolve act: the Commander resolves; pending approvals are denied, the
// runbook is cancelled, the public incident resolved, and closure begins.

func checkResolve(inc *incident, name string, act workflows.Act) error {
	if err := inc.commanderOnly(act.By, "resolve"); err != nil {
		return err
	}
	return nil
}

func applyResolve(inc *incident, ctx workflow.Context, e actEvent) string {
	s, act, now := &inc.s, e.act, e.now
	if s.AckedAt.IsZero() {
		s.AckedAt = now
	}
	for i := range s.Approvals {
		if s.Approvals[i].Status == workflows.ApprovalPending {
			s.Approvals[i].Status, s.Approvals[i].DecidedBy, s.Approvals[i].DecidedAt = workflows.ApprovalDenied, act.By, now
			s.Approvals[i].Reason = "incident resolved"
			inc.relay(s.Approvals[i])
		}
	}
	if s.RunbookStatus == "starting" || s.RunbookStatus == "running" {
		s.CancelRunbook = true
	}
	s.Handoff = nil
	s.ResolvedAt = now
	s.NextUpdateAt = time.Time{}
	inc.note(e, "resolved")
	if s.Public.ID != "" {
		inc.publicBusy = true
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { inc.publicBusy = false; inc.kick.SendAsync(struct{}{}) }()
			inc.resolvePublic(ctx, act.Reason)
		})
	}
	inc.transition(now, workflows.Resolved, act.By, act.Reason)
	inc.post("resolved: "+s.Title, inc.details())
	if !s.Closure.Enabled {
		return fmt.Sprintf("resolved; closes at %s unless the alert fires again", now.Add(closeAfter(inc.in.Options)).Format(time.RFC3339))
	}
	inc.startClosure(now)
	if s.Closure.Complete() {
		return fmt.Sprintf("resolved; closes at %s unless the alert fires again, then the postmortem is written", inc.closeAt().Format(time.RFC3339))
	}
	return fmt.Sprintf("resolved; waiting for the root cause and action items until %s, then the postmortem is written and the incident closes", s.Closure.Deadline.Format(time.RFC3339))
}
