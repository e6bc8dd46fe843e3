package runbook_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/runbook"
)

// TestStepHeartbeatTimeout runs a runbook whose action reports the
// heartbeat timeout it was scheduled with: a step without heartbeat gets
// DefaultHeartbeat, one with heartbeat: 2m keeps 2m, whether it checks or
// remediates.
func TestStepHeartbeatTimeout(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflowWithOptions(runbook.RunbookWorkflow, workflow.RegisterOptions{Name: workflows.RunbookWorkflowName})
	env.RegisterActivityWithOptions(func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		return runbooks.ActionResult{Output: map[string]any{"heartbeat": activity.GetInfo(ctx).HeartbeatTimeout.String()}}, nil
	}, activity.RegisterOptions{Name: "test.heartbeat"})
	env.OnSignalExternalWorkflow(mock.Anything, "inc-1", "", workflows.SignalRunbookEvent, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			if ev := arg.(workflows.RunbookEvent); ev.Approval != nil {
				env.SignalWorkflow(workflows.SignalApprovalDecision, workflows.ApprovalDecision{ID: ev.Approval.ID, Approved: true, By: "alice"})
			}
			return nil
		})
	call := runbooks.Call{Action: "test.heartbeat"}
	in := workflows.RunbookInput{Incident: "inc-1", Severity: workflows.SEV2, Runbook: runbooks.Runbook{Name: "heartbeats", Steps: []runbooks.Step{
		{ID: "default", Check: &call},
		{ID: "set", Check: &call, Heartbeat: runbooks.Duration(2 * time.Minute)},
		{ID: "set_with_timeout", Check: &call, Timeout: runbooks.Duration(10 * time.Minute), Heartbeat: runbooks.Duration(2 * time.Minute)},
		{ID: "remediation", Remediate: &runbooks.Remediation{Call: call}},
	}}}
	env.ExecuteWorkflow(workflows.RunbookWorkflowName, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("runbook: %v", err)
	}
	var res workflows.RunbookResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		"default":          runbook.DefaultHeartbeat,
		"set":              2 * time.Minute,
		"set_with_timeout": 2 * time.Minute,
		"remediation":      runbook.DefaultHeartbeat,
	}
	got := map[string]bool{}
	for _, step := range res.Steps {
		w, ok := want[step.ID]
		if !ok {
			continue
		}
		got[step.ID] = true
		if step.Status != workflows.StepOK {
			t.Errorf("step %s: status %s (%s), want ok", step.ID, step.Status, step.Error)
			continue
		}
		if hb := step.Output["heartbeat"]; hb != w.String() {
			t.Errorf("step %s: heartbeat timeout %v, want %s", step.ID, hb, w)
		}
	}
	for id := range want {
		if !got[id] {
			t.Errorf("step %s: no result in %+v", id, res.Steps)
		}
	}
}
