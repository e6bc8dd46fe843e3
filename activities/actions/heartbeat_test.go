package actions_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/heartbeat"
	"github.com/datasev/datasev/runbooks"
)

// hbTimeout is the heartbeat timeout the keep-alive tests schedule their
// actions with. The SDK's test environment enforces it: an attempt that
// sends no heartbeat for that long fails with a heartbeat timeout.
const hbTimeout = 2 * time.Second

// beats counts the heartbeats that reach the test environment's server, by
// attempt, and lets an action wait for them.
type beats struct {
	mu      sync.Mutex
	count   map[int32]int
	changed chan struct{}
}

func newBeats() *beats { return &beats{count: map[int32]int{}, changed: make(chan struct{})} }

func (b *beats) listen(info *activity.Info, _ converter.EncodedValues) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count[info.Attempt]++
	close(b.changed)
	b.changed = make(chan struct{})
}

// await waits until attempt has sent n heartbeats, or until limit has
// passed (an action without a keep-alive sends none; it then runs past its
// heartbeat timeout).
func (b *beats) await(ctx context.Context, attempt int32, n int, limit time.Duration) int {
	stop := time.After(limit)
	for {
		b.mu.Lock()
		got, changed := b.count[attempt], b.changed
		b.mu.Unlock()
		if got >= n {
			return got
		}
		select {
		case <-changed:
		case <-stop:
			return got
		case <-ctx.Done():
			return got
		}
	}
}

// runAction runs the registry's action name in the SDK's test workflow
// environment, scheduled as the runbook workflow schedules a step's action:
// with a heartbeat timeout (hbTimeout) and attempts retries.
func runAction(t *testing.T, r *actions.Registry, name string, attempts int32, b *beats) (runbooks.ActionResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	r.RegisterWith(env)
	env.SetOnActivityHeartbeatListener(b.listen)
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) (runbooks.ActionResult, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			HeartbeatTimeout:    hbTimeout,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: attempts, InitialInterval: time.Millisecond},
		})
		var out runbooks.ActionResult
		err := workflow.ExecuteActivity(ctx, name, runbooks.ActionRequest{Step: "s"}).Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: "run_action"})
	env.ExecuteWorkflow("run_action")
	if !env.IsWorkflowCompleted() {
		t.Fatalf("%s: the workflow did not complete", name)
	}
	var out runbooks.ActionResult
	if err := env.GetWorkflowError(); err != nil {
		return out, err
	}
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// TestKeepAliveCarriesASlowAction runs an action that takes longer than its
// heartbeat timeout and never heartbeats itself: the keep-alive's
// heartbeats keep it from timing out, on its one attempt.
func TestKeepAliveCarriesASlowAction(t *testing.T) {
	b := newBeats()
	r := actions.NewRegistry()
	r.Register(runbooks.ActionSpec{Name: "test.slow", Description: "takes a while"}, func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		// Three heartbeats are more than a heartbeat timeout apart: the SDK
		// sends at most one every 0.8 × timeout.
		n := b.await(ctx, activity.GetInfo(ctx).Attempt, 3, 3*hbTimeout)
		return runbooks.ActionResult{Summary: fmt.Sprintf("%d heartbeats", n)}, nil
	})
	out, err := runAction(t, r, "test.slow", 1, b)
	if err != nil {
		var timeout *temporal.TimeoutError
		if errors.As(err, &timeout) {
			t.Fatalf("the slow action timed out (%s): no keep-alive?", timeout.TimeoutType())
		}
		t.Fatalf("the slow action failed: %v", err)
	}
	if out.Summary != "3 heartbeats" {
		t.Errorf("summary %q, want 3 heartbeats", out.Summary)
	}
}

// TestKeepAliveKeepsTheActionsDetails runs an action that records its
// progress with heartbeat.Record and fails: the keep-alive's heartbeats
// after it re-send the progress, so the retry reads it back; a retry that
// records nothing of its own keeps it for the next one.
func TestKeepAliveKeepsTheActionsDetails(t *testing.T) {
	b := newBeats()
	r := actions.NewRegistry()
	r.Register(runbooks.ActionSpec{Name: "test.progress", Description: "records its progress"}, func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		attempt := activity.GetInfo(ctx).Attempt
		var seen int
		if activity.HasHeartbeatDetails(ctx) {
			if err := activity.GetHeartbeatDetails(ctx, &seen); err != nil {
				return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError("attempt "+fmt.Sprint(attempt)+": heartbeat details: "+err.Error(), "Test", err)
			}
		}
		switch attempt {
		case 1:
			heartbeat.Record(ctx, 7)
			// The first heartbeat is Record's; the second the keep-alive's.
			if n := b.await(ctx, attempt, 2, 3*hbTimeout); n < 2 {
				return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("attempt 1: %d heartbeats, want 2", n), "Test", nil)
			}
			return runbooks.ActionResult{}, errors.New("attempt 1 fails after its keep-alive heartbeat")
		case 2:
			if seen != 7 {
				return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("attempt 2: heartbeat details %d, want the 7 attempt 1 recorded", seen), "Test", nil)
			}
			if n := b.await(ctx, attempt, 1, 3*hbTimeout); n < 1 {
				return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError("attempt 2: no keep-alive heartbeat", "Test", nil)
			}
			return runbooks.ActionResult{}, errors.New("attempt 2 fails after its keep-alive heartbeat")
		}
		return runbooks.ActionResult{Output: map[string]any{"seen": seen}}, nil
	})
	out, err := runAction(t, r, "test.progress", 3, b)
	if err != nil {
		t.Fatal(err)
	}
	if seen, _ := out.Output["seen"].(float64); seen != 7 {
		t.Errorf("attempt 3 read heartbeat details %v, want the 7 attempt 1 recorded", out.Output["seen"])
	}
}
