package notify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// counting is a backend that counts its deliveries and fails the first
// failFirst of them.
type counting struct {
	name      string
	failFirst int
	mu        sync.Mutex
	calls     int
	delivered int
}

func (c *counting) Name() string { return c.name }

func (c *counting) Deliver(context.Context, workflows.Notification) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls <= c.failFirst {
		return errors.New(c.name + " unavailable")
	}
	c.delivered++
	return nil
}

// notifyOnce runs the Notify activity once from a workflow, retried by
// Temporal's test environment as a worker would retry it.
func notifyOnce(ctx workflow.Context, n workflows.Notification) error {
	var a *Activities
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 4},
	})
	return workflow.ExecuteActivity(ctx, a.Notify, n).Get(ctx, nil)
}

// A retry after one backend failed delivers to that backend only: the log
// and the email are not repeated, Slack is tried until it delivers.
func TestFanoutRetryDeliversOnlyWhatFailed(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	logb, slack, email := &counting{name: "log"}, &counting{name: "slack", failFirst: 2}, &counting{name: "email"}
	env.RegisterWorkflow(notifyOnce)
	env.RegisterActivity(&Activities{Backend: NewFanout(logb, slack, email)})
	env.ExecuteWorkflow(notifyOnce, workflows.Notification{Kind: workflows.NotifyPost, Incident: "incident-x", Subject: "incident opened"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	for _, c := range []struct {
		b              *counting
		calls, deliver int
	}{{logb, 1, 1}, {slack, 3, 1}, {email, 1, 1}} {
		if c.b.calls != c.calls || c.b.delivered != c.deliver {
			t.Errorf("%s: %d calls, %d deliveries; want %d and %d", c.b.name, c.b.calls, c.b.delivered, c.calls, c.deliver)
		}
	}
}

// Outside an activity (no heartbeat details to keep) every backend is
// tried on every call, and errors name the backend.
func TestFanoutOutsideActivity(t *testing.T) {
	a, b := &counting{name: "a"}, &counting{name: "b", failFirst: 1}
	f := NewFanout(a, nil, b)
	if f.Name() != "a+b" {
		t.Errorf("name %q", f.Name())
	}
	err := f.Deliver(t.Context(), workflows.Notification{Kind: workflows.NotifyPost})
	if err == nil || err.Error() != "b unavailable" {
		t.Errorf("first call: %v, want b's own error", err)
	}
	if err := f.Deliver(t.Context(), workflows.Notification{Kind: workflows.NotifyPost}); err != nil {
		t.Errorf("second call: %v", err)
	}
	if a.delivered != 2 || b.delivered != 1 {
		t.Errorf("a delivered %d, b %d; want 2 and 1", a.delivered, b.delivered)
	}
	if err := NewFanout().Deliver(t.Context(), workflows.Notification{}); err == nil {
		t.Error("an empty fanout delivered")
	}
}
