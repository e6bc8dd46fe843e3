// Package autobudget is the activity an incident asks an automatic-approval
// policy's budget through: it reads the worker's kill switch
// (DATASEV_AUTO_REMEDIATION) and, when automatic remediation is on, asks
// the policy's budget workflow (workflows/autobudget) for a grant with
// Update-With-Start, so the first request of a policy starts its workflow
// and every later one, from any incident, joins it. The answer is the
// activity's result, recorded in the incident's history.
package autobudget

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	wfbudget "github.com/datasev/datasev/workflows/autobudget"
)

// Activities asks budgets for grants.
type Activities struct {
	// Client reaches the Temporal namespace of the budget workflows.
	Client client.Client
	// TaskQueue is where the budget workflows run (the worker's queue).
	TaskQueue string
	// Off is the kill switch: no grant is asked for and none given.
	Off bool
}

// Grant answers whether the policy may approve one more remediation.
func (a *Activities) Grant(ctx context.Context, req workflows.AutoBudgetRequest) (workflows.AutoBudgetResult, error) {
	if a.Off {
		return workflows.AutoBudgetResult{Off: true, Max: req.MaxPerDay, Reason: "automatic remediation is switched off on the worker (DATASEV_AUTO_REMEDIATION=off)"}, nil
	}
	if a.Client == nil {
		return workflows.AutoBudgetResult{}, temporal.NewNonRetryableApplicationError("auto-approval budget: the worker has no Temporal client for it", "AutoBudgetUnavailable", nil)
	}
	if req.Run == "" && activity.IsActivity(ctx) {
		req.Run = activity.GetInfo(ctx).WorkflowExecution.RunID
	}
	start := a.Client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.AutoBudgetWorkflowID(req.Policy),
		TaskQueue:                a.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "auto-approval budget of policy " + req.Policy,
	}, workflows.AutoBudgetWorkflowName, wfbudget.Input{Policy: req.Policy})
	h, err := a.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   wfbudget.UpdateGrant,
			UpdateID:     "grant:" + req.Incident + "/" + req.Run + "/" + req.Approval,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return workflows.AutoBudgetResult{}, fmt.Errorf("auto-approval budget of policy %s: %w", req.Policy, err)
	}
	var res workflows.AutoBudgetResult
	if err := h.Get(ctx, &res); err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) { // the budget refused the request (its validator)
			return workflows.AutoBudgetResult{}, temporal.NewNonRetryableApplicationError("auto-approval budget of policy "+req.Policy+": "+app.Error(), "AutoBudgetRefused", err)
		}
		return workflows.AutoBudgetResult{}, fmt.Errorf("auto-approval budget of policy %s: %w", req.Policy, err)
	}
	return res, nil
}

// Register registers the activity under workflows.AutoBudgetActivity and
// the budget workflow under workflows.AutoBudgetWorkflowName.
func Register(w worker.Registry, a *Activities) {
	w.RegisterActivityWithOptions(a.Grant, activity.RegisterOptions{Name: workflows.AutoBudgetActivity})
	w.RegisterWorkflowWithOptions(wfbudget.Workflow, workflow.RegisterOptions{Name: workflows.AutoBudgetWorkflowName})
}

// EnvKillSwitch is the worker's kill switch of automatic remediation:
// "off" stops every policy from approving (each remediation asks a
// person); "on" or unset leaves them to their runbooks.
const EnvKillSwitch = "DATASEV_AUTO_REMEDIATION"

// OffFromEnv reads the kill switch.
func OffFromEnv(getenv func(string) string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvKillSwitch))); v {
	case "", "on":
		return false, nil
	case "off":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want on or off", EnvKillSwitch, v)
	}
}
