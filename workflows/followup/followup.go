// Package followup is the follow-up of a closed incident's action items:
// a short workflow, run on demand (`datasev show`, `datasev followups`),
// that reads each filed item's state from its tracker (GitHub or Jira)
// and brings the incident document up to date with it. The incident
// itself has ended at closure; its record stays as it closed, and the
// states live in the follow-up's result and in the document.
package followup

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// Names the worker registers and the CLI starts by.
const (
	// WorkflowName is the follow-up workflow's type.
	WorkflowName = "ActionItemFollowUp"
	// StatesActivityName reads the closed incident's report and its
	// action items' states.
	StatesActivityName = "ActionItemStates"
)

// WorkflowID is the follow-up's workflow ID for an incident: one at a
// time per incident.
func WorkflowID(incidentID string) string { return "followup:" + incidentID }

// Input names the closed incident.
type Input struct {
	// IncidentID is the incident's workflow ID.
	IncidentID string `json:"incident_id"`
	// RunID is the closed run; empty for the latest.
	RunID string `json:"run_id,omitempty"`
}

// Result is what the follow-up found.
type Result struct {
	// Report is the closed incident's report with each filed action
	// item's State, Status and CheckedAt set.
	Report workflows.Report `json:"report"`
	// Open and Done count the filed items by state; Unfiled those with no
	// issue; Unknown those whose tracker could not say.
	Open    int `json:"open"`
	Done    int `json:"done"`
	Unfiled int `json:"unfiled"`
	Unknown int `json:"unknown"`
	// Document is the incident document's address, when it was updated.
	Document string `json:"document,omitempty"`
	// DocumentError says why the document could not be updated.
	DocumentError string `json:"document_error,omitempty"`
}

// Workflow reads the states and updates the document. A document that
// cannot be updated does not fail the follow-up: the states are still
// returned, with the reason.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	if in.IncidentID == "" {
		return Result{}, temporal.NewNonRetryableApplicationError("follow-up: no incident ID", "BadInput", nil)
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
		Summary:             "read the action items' states of " + in.IncidentID,
	})
	var r workflows.Report
	if err := workflow.ExecuteActivity(actx, StatesActivityName, in).Get(ctx, &r); err != nil {
		return Result{}, fmt.Errorf("read the action items of %s: %w", in.IncidentID, err)
	}
	res := Result{Report: r}
	for _, it := range r.Closure.ActionItems {
		switch {
		case it.Issue == "":
			res.Unfiled++
		case it.State == workflows.ItemDone:
			res.Done++
		case it.State == workflows.ItemOpen:
			res.Open++
		default:
			res.Unknown++
		}
	}
	if len(r.Closure.ActionItems) == 0 {
		return res, nil
	}
	dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 3},
		Summary:             "show the action items' states in the document of " + in.IncidentID,
	})
	var doc workflows.DocumentResult
	if err := workflow.ExecuteActivity(dctx, workflows.DocumentActivityName, r).Get(ctx, &doc); err != nil {
		res.DocumentError = err.Error()
	} else {
		res.Document = doc.URL
	}
	return res, nil
}
