package incident

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The approve and deny acts: the approval's approver decides a pending
// approval; the decision is relayed to the runbook that asked.

func checkDecision(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	ap := inc.approval(act.Approval)
	if ap == nil {
		return fmt.Errorf("no pending approval named %q%s", act.Approval, inc.pendingList())
	}
	if ap.Status != workflows.ApprovalPending {
		return fmt.Errorf("approval %q was already %s by %s", ap.ID, ap.Status, ap.DecidedBy)
	}
	if !s.Roles.Has(act.By, ap.Approver) {
		holder := s.Roles.Commander
		if ap.Approver != workflows.Commander {
			holder = "the " + string(ap.Approver)
		}
		return fmt.Errorf("only the %s (%s) can %s %q", roleTitle(ap.Approver), holder, name, ap.ID)
	}
	return nil
}

func applyDecision(inc *incident, _ workflow.Context, e actEvent) string {
	s, act, now, verified, name := &inc.s, e.act, e.now, e.verified, e.name
	ap := inc.approval(act.Approval)
	ap.DecidedBy, ap.DecidedAt, ap.Reason, ap.DecisionVerified = act.By, now, act.Reason, verified
	if name == workflows.ActApprove {
		ap.Status = workflows.ApprovalApproved
		inc.note(e, fmt.Sprintf("approved %s: %s", ap.ID, ap.Action))
		if s.State == workflows.Acknowledged || s.State == workflows.Diagnosing || s.State == workflows.Triggered {
			if s.MitigatedAt.IsZero() {
				s.MitigatedAt = now
			}
			inc.transition(now, workflows.Mitigating, act.By, "remediation "+ap.ID+" approved")
		}
	} else {
		ap.Status = workflows.ApprovalDenied
		inc.note(e, fmt.Sprintf("denied %s: %s", ap.ID, ap.Action))
	}
	inc.relay(*ap)
	inc.post(fmt.Sprintf("%s %s by %s: %s", ap.ID, ap.Status, act.By, ap.Action), act.Reason)
	return fmt.Sprintf("%s %s", ap.ID, ap.Status)
}
