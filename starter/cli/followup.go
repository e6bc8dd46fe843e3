package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/followup"
)

// followUpTimeout bounds how long show waits for the trackers' answers.
const followUpTimeout = 20 * time.Second

// FollowUp runs the follow-up of a closed incident's action items on the
// workers (which hold the trackers' credentials) and returns what it found.
// One follow-up runs at a time per incident: a second caller waits for the
// running one's result.
func FollowUp(ctx context.Context, c client.Client, taskQueue, incidentID string) (followup.Result, error) {
	if taskQueue == "" {
		taskQueue = workflows.TaskQueue
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       followup.WorkflowID(incidentID),
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 10 * time.Minute,
	}, followup.WorkflowName, followup.Input{IncidentID: incidentID})
	if err != nil {
		return followup.Result{}, fmt.Errorf("start the follow-up of %s: %w", incidentID, err)
	}
	var res followup.Result
	if err := run.Get(ctx, &res); err != nil {
		return followup.Result{}, fmt.Errorf("follow-up of %s: %w", incidentID, err)
	}
	return res, nil
}

// printFollowUp lists a closed incident's action items with their states.
func printFollowUp(w io.Writer, res followup.Result, err error) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(w, "action items: the trackers did not answer within %s (is a worker running?)\n", followUpTimeout)
		return
	case err != nil:
		fmt.Fprintf(w, "action items: state unknown: %v\n", err)
		return
	}
	items := res.Report.Closure.ActionItems
	if len(items) == 0 {
		fmt.Fprintln(w, "action items: none")
		return
	}
	fmt.Fprintf(w, "action items: %d done, %d open, %d not filed, %d unknown\n", res.Done, res.Open, res.Unfiled, res.Unknown)
	for _, it := range items {
		state := it.State
		switch {
		case it.Issue == "":
			state = "not filed"
		case state == "":
			state = "unknown"
		}
		line := fmt.Sprintf("  %-9s %s", state, it.Text)
		if it.Issue != "" {
			line += " — " + it.Issue
		}
		if it.Status != "" && it.Status != it.State {
			line += " (" + it.Status + ")"
		}
		fmt.Fprintln(w, line)
	}
	if res.DocumentError != "" {
		fmt.Fprintf(w, "  (the incident document could not be updated: %s)\n", res.DocumentError)
	}
}
