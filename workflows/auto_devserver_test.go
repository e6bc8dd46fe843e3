package workflows_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/lifecycle/autobudget"
	"github.com/datasev/datasev/workflows"
	wfbudget "github.com/datasev/datasev/workflows/autobudget"
)

// Incidents racing for a policy's last grants on a real server: with a
// budget of 3, exactly 3 of 12 concurrent requests are granted, a retried
// request gets its grant again without spending another, and later
// requests are refused, across the budget workflow's continue-as-new (the
// dev server suggests it after a few dozen events).
func TestAutoBudgetRaceOnDevServer(t *testing.T) {
	c, queue := devClient(t)
	queue += "-budget"
	w := worker.New(c, queue, worker.Options{})
	acts := &autobudget.Activities{Client: c, TaskQueue: queue}
	autobudget.Register(w, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	policy := fmt.Sprintf("race-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req := func(i int) workflows.AutoBudgetRequest {
		return workflows.AutoBudgetRequest{Policy: policy, MaxPerDay: 3, Incident: fmt.Sprintf("incident-%d", i), Approval: "orders-load/rerun", Run: "run-1"}
	}
	const racers = 12
	results := make([]workflows.AutoBudgetResult, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = acts.Grant(ctx, req(i))
		}()
	}
	wg.Wait()
	var granted []int
	for i := range racers {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if results[i].Granted {
			granted = append(granted, i)
		} else if results[i].Reason == "" || results[i].NextAt.IsZero() {
			t.Errorf("refusal %d says nothing: %+v", i, results[i])
		}
	}
	if len(granted) != 3 {
		t.Fatalf("granted %v of %d racers, want exactly 3", granted, racers)
	}
	// A retry of a granted request (same incident run and approval) gets
	// its grant again; many more requests are all refused.
	again, err := acts.Grant(ctx, req(granted[0]))
	if err != nil || !again.Granted {
		t.Fatalf("retried grant: %+v, %v", again, err)
	}
	for i := racers; i < racers+20; i++ {
		res, err := acts.Grant(ctx, req(i))
		if err != nil || res.Granted {
			t.Fatalf("request %d after the budget was spent: %+v, %v", i, res, err)
		}
	}
	v, err := c.QueryWorkflow(ctx, workflows.AutoBudgetWorkflowID(policy), "", wfbudget.QueryGrants)
	if err != nil {
		t.Fatal(err)
	}
	var grants []wfbudget.Grant
	if err := v.Get(&grants); err != nil {
		t.Fatal(err)
	}
	if len(grants) != 3 {
		t.Errorf("the budget workflow holds %d grants, want 3: %+v", len(grants), grants)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, workflows.AutoBudgetWorkflowID(policy), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("budget workflow run %s after %d requests", desc.WorkflowExecutionInfo.Execution.RunId, racers+21)
}
