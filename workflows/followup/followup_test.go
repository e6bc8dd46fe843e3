package followup_test

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/followup"
)

func run(t *testing.T, states func(context.Context, followup.Input) (workflows.Report, error), doc func(context.Context, workflows.Report) (workflows.DocumentResult, error)) (followup.Result, []workflows.Report, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(followup.Workflow, workflow.RegisterOptions{Name: followup.WorkflowName})
	env.RegisterActivityWithOptions(states, activity.RegisterOptions{Name: followup.StatesActivityName})
	var synced []workflows.Report
	env.RegisterActivityWithOptions(func(ctx context.Context, r workflows.Report) (workflows.DocumentResult, error) {
		synced = append(synced, r)
		return doc(ctx, r)
	}, activity.RegisterOptions{Name: workflows.DocumentActivityName})
	env.ExecuteWorkflow(followup.WorkflowName, followup.Input{IncidentID: "inc-1"})
	var res followup.Result
	err := env.GetWorkflowError()
	if err == nil {
		err = env.GetWorkflowResult(&res)
	}
	return res, synced, err
}

// TestFollowUpCountsAndWritesTheDocument: the states are counted and the
// document is written from the report that carries them.
func TestFollowUpCountsAndWritesTheDocument(t *testing.T) {
	r := workflows.Report{ID: "inc-1", State: workflows.Closed}
	r.Closure.ActionItems = []workflows.ActionItem{
		{Text: "a", Issue: "u1", State: workflows.ItemDone},
		{Text: "b", Issue: "u2", State: workflows.ItemOpen},
		{Text: "c", Issue: "u3", State: workflows.ItemOpen},
		{Text: "d"},
		{Text: "e", Issue: "u5"},
	}
	res, synced, err := run(t,
		func(context.Context, followup.Input) (workflows.Report, error) { return r, nil },
		func(context.Context, workflows.Report) (workflows.DocumentResult, error) {
			return workflows.DocumentResult{URL: "file:///doc.md"}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Done != 1 || res.Open != 2 || res.Unfiled != 1 || res.Unknown != 1 || res.Document != "file:///doc.md" {
		t.Fatalf("result %+v", res)
	}
	if len(synced) != 1 || synced[0].Closure.ActionItems[0].State != workflows.ItemDone {
		t.Fatalf("document written from %+v", synced)
	}
}

// TestFollowUpDocumentFailureKeepsTheStates: a document that cannot be
// written is reported beside the states; a report that cannot be read
// fails the follow-up.
func TestFollowUpDocumentFailureKeepsTheStates(t *testing.T) {
	r := workflows.Report{ID: "inc-1", State: workflows.Closed}
	r.Closure.ActionItems = []workflows.ActionItem{{Text: "a", Issue: "u1", State: workflows.ItemDone}}
	res, _, err := run(t,
		func(context.Context, followup.Input) (workflows.Report, error) { return r, nil },
		func(context.Context, workflows.Report) (workflows.DocumentResult, error) {
			return workflows.DocumentResult{}, errors.New("disk full")
		})
	if err != nil || res.Done != 1 || res.DocumentError == "" {
		t.Fatalf("result %+v, err %v", res, err)
	}
	_, _, err = run(t,
		func(context.Context, followup.Input) (workflows.Report, error) {
			return workflows.Report{}, errors.New("no such incident")
		},
		func(context.Context, workflows.Report) (workflows.DocumentResult, error) {
			t.Error("the document was written without a report")
			return workflows.DocumentResult{}, nil
		})
	if err == nil {
		t.Fatal("an unreadable report did not fail the follow-up")
	}
}
