package incident

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The request_approval act: an SME asks the Commander to approve a named
// action, by a deadline.

func checkRequestApproval(inc *incident, name string, act workflows.Act) error {
	s := &inc.s
	if !s.Roles.Has(act.By, workflows.SME) {
		return fmt.Errorf("only a Subject Matter Expert can request an approval; %s is not an SME on this incident", act.By)
	}
	if act.Approval == "" {
		return errors.New("approval: name it, e.g. revert-abc123")
	}
	if act.Action == "" {
		return errors.New("action: say what will run once approved")
	}
	if len(act.Detail) > workflows.MaxTextLen {
		return fmt.Errorf("detail: longer than %d bytes", workflows.MaxTextLen)
	}
	if inc.approval(act.Approval) != nil {
		return fmt.Errorf("an approval named %q already exists", act.Approval)
	}
	return nil
}

func applyRequestApproval(inc *incident, _ workflow.Context, e actEvent) string {
	s, act, now, verified := &inc.s, e.act, e.now, e.verified
	ap := workflows.Approval{
		ID: act.Approval, Action: act.Action, Detail: act.Detail, Approver: workflows.Commander,
		RequestedBy: act.By, RequestedAt: now, Deadline: now.Add(approvalTimeout(inc.in.Options)),
		Status: workflows.ApprovalPending, RequestVerified: verified,
	}
	s.Approvals = append(s.Approvals, ap)
	inc.note(e, fmt.Sprintf("requested approval %s: %s", ap.ID, ap.Action))
	inc.pageApproval(s.Roles.Commander, ap, "approval needed: "+ap.Action, fmt.Sprintf("%s asks to run %q (approval %s). Decide by %s.\n\n%s", act.By, ap.Action, ap.ID, ap.Deadline.Format(time.RFC3339), ap.Detail))
	return fmt.Sprintf("approval %s requested; waiting for the Commander (%s) until %s", ap.ID, s.Roles.Commander, ap.Deadline.Format(time.RFC3339))
}
