package runbook

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

// versionAutoApproval is the change ID of sending a gate's automatic
// approval with its approval request.
const versionAutoApproval = "auto-approval"

// autoRequest is what the runbook knows of a gate's policy: its condition
// and whether a remediation it approved earlier in this run (the incident's
// one runbook run) failed. Either makes the policy step aside (NotUsed);
// the incident decides the rest.
func (r *runner) autoRequest(ctx workflow.Context, a runbooks.AutoApproval) *workflows.AutoRequest {
	req := &workflows.AutoRequest{Policy: a.Policy, MaxPerDay: a.MaxPerDay, SeverityAtMost: workflows.Severity(a.SeverityAtMost)}
	if step, ok := r.autoFailed[a.Policy]; ok {
		req.NotUsed = fmt.Sprintf("a remediation it approved earlier in this incident failed (step %s)", step)
		return req
	}
	if a.When == "" {
		return req
	}
	ok, err := r.condition(ctx, a.When, nil)
	switch {
	case err != nil:
		req.NotUsed = "its condition could not be evaluated: " + err.Error()
	case !ok:
		req.NotUsed = "its condition is false: " + a.When
	}
	return req
}

// autoOutcome remembers a failed remediation run on a policy's approval
// (its own step or one it covers): that policy asks a person from then on.
func (r *runner) autoOutcome(approval, step string, out workflows.StepResult) {
	policy, ok := r.autoBy[approval]
	if !ok || out.Status == workflows.StepOK {
		return
	}
	if _, seen := r.autoFailed[policy]; !seen {
		r.autoFailed[policy] = step
	}
}
