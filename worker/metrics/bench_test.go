package metrics

import (
	"context"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

// nextStub is the rest of the interceptor chain, doing nothing, so the
// benchmarks time the interceptor alone.
type nextStub struct {
	interceptor.ActivityInboundInterceptorBase
	err error
}

func (n *nextStub) ExecuteActivity(context.Context, *interceptor.ExecuteActivityInput) (any, error) {
	return runbooks.ActionResult{}, n.err
}

// benchInterceptor runs b.N calls of the interceptor inside one real
// activity, whose context gives it the activity info it reads.
func benchInterceptor(b *testing.B, activityType string, arg any, err error) {
	m, e := New(nil)
	if e != nil {
		b.Fatal(e)
	}
	in := &activityInbound{w: &workerInterceptor{m: m}}
	in.Next = &nextStub{err: err}
	input := &interceptor.ExecuteActivityInput{Args: []any{arg}}
	body := func(ctx context.Context) error {
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			_, _ = in.ExecuteActivity(ctx, input)
		}
		b.StopTimer()
		return nil
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(body, activity.RegisterOptions{Name: activityType})
	if _, e := env.ExecuteActivity(activityType); e != nil {
		b.Fatal(e)
	}
}

// BenchmarkInterceptorAction is the overhead the interceptor adds to one
// successful action execution: a counter, a histogram, the logger fields.
func BenchmarkInterceptorAction(b *testing.B) {
	benchInterceptor(b, "bench.action", runbooks.ActionRequest{Incident: "incident-1", Runbook: "rb", Step: "probe"}, nil)
}

// BenchmarkInterceptorActionFailed adds classifying an error.
func BenchmarkInterceptorActionFailed(b *testing.B) {
	benchInterceptor(b, "bench.action", runbooks.ActionRequest{Incident: "incident-1", Runbook: "rb", Step: "probe"},
		temporal.NewNonRetryableApplicationError("no table", "NotFound", nil))
}

// BenchmarkInterceptorNotify is the overhead on a notification.
func BenchmarkInterceptorNotify(b *testing.B) {
	benchInterceptor(b, NotifyActivity, workflows.Notification{Kind: workflows.NotifyPage, Incident: "incident-1"}, nil)
}

// BenchmarkInterceptorOther is the cost on an activity that is neither.
func BenchmarkInterceptorOther(b *testing.B) {
	benchInterceptor(b, "bench.other", "plain", nil)
}
