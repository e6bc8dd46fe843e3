package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/worker/metrics"
	"github.com/datasev/datasev/workflows"
)

// testAction behaves as its request's step says: ok, fail (non-retryable),
// error (retryable), log (logs through the activity logger).
func testAction(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
	switch req.Step {
	case "fail":
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError("table not found", "NotFound", nil)
	case "error":
		return runbooks.ActionResult{}, temporal.NewApplicationError("503 from upstream", "Unavailable")
	case "plain-error":
		return runbooks.ActionResult{}, errors.New("connection reset")
	case "log":
		activity.GetLogger(ctx).Info("checking the table")
	}
	return runbooks.ActionResult{Summary: "done", Output: map[string]any{"rows": 1}}, nil
}

// notOAction takes no ActionRequest: it is not counted as an action.
func notAnAction(ctx context.Context, s string) (string, error) { return s, nil }

type failingBackend struct{}

func (failingBackend) Name() string { return "flaky" }
func (failingBackend) Deliver(context.Context, workflows.Notification) error {
	return errors.New("smtp: 421 try later")
}

type okBackend struct{}

func (okBackend) Name() string                                          { return "log+slack" }
func (okBackend) Deliver(context.Context, workflows.Notification) error { return nil }

func newEnv(t *testing.T, m *metrics.Metrics, backend string, logger sdklog.Logger) *testsuite.TestActivityEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	if logger != nil {
		s.SetLogger(logger)
	}
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{m.Interceptor(backend)}})
	env.RegisterActivityWithOptions(testAction, activity.RegisterOptions{Name: "test.check"})
	env.RegisterActivityWithOptions(testAction, activity.RegisterOptions{Name: "test.fix"})
	env.RegisterActivityWithOptions(notAnAction, activity.RegisterOptions{Name: "plain"})
	return env
}

func newMetrics(t testing.TB) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInterceptorCountsActionOutcomes(t *testing.T) {
	m := newMetrics(t)
	env := newEnv(t, m, "", nil)
	run := func(action, step string, dry bool) error {
		_, err := env.ExecuteActivity(action, runbooks.ActionRequest{Incident: "incident-abc", Runbook: "rb", Step: step, DryRun: dry})
		return err
	}
	for _, c := range []struct {
		action, step string
		dry, err     bool
	}{
		{"test.check", "ok", false, false},
		{"test.check", "ok", false, false},
		{"test.check", "fail", false, true},
		{"test.check", "error", false, true},
		{"test.check", "plain-error", false, true},
		{"test.fix", "ok", true, false},
	} {
		if err := run(c.action, c.step, c.dry); (err != nil) != c.err {
			t.Fatalf("%s %s: err %v", c.action, c.step, err)
		}
	}
	if _, err := env.ExecuteActivity("plain", "x"); err != nil {
		t.Fatal(err)
	}

	want := map[[2]string]float64{
		{"test.check", "ok"}:     2,
		{"test.check", "failed"}: 1,
		{"test.check", "error"}:  2,
		{"test.fix", "dry_run"}:  1,
	}
	got := counters(t, m, metrics.ActionExecutions, "action", "outcome")
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s%v = %v, want %v", metrics.ActionExecutions, k, got[k], v)
		}
	}
	counts := histogramCounts(t, m, metrics.ActionDuration, "action")
	if counts["test.check"] != 5 || counts["test.fix"] != 1 || len(counts) != 2 {
		t.Errorf("duration sample counts %v, want test.check 5, test.fix 1", counts)
	}
}

func TestInterceptorCountsNotifications(t *testing.T) {
	m := newMetrics(t)
	// Backend name from the result when none is configured.
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{m.Interceptor("")}})
	env.RegisterActivity(&notify.Activities{Backend: okBackend{}})
	for _, k := range []workflows.NotifyKind{workflows.NotifyPage, workflows.NotifyPost, workflows.NotifyPost, "made-up-kind"} {
		if _, err := env.ExecuteActivity(metrics.NotifyActivity, workflows.Notification{Kind: k, Incident: "incident-1", Subject: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	// The configured backend's name when delivery fails.
	env2 := s.NewTestActivityEnvironment()
	env2.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{m.Interceptor("flaky")}})
	env2.RegisterActivity(&notify.Activities{Backend: failingBackend{}})
	if _, err := env2.ExecuteActivity(metrics.NotifyActivity, workflows.Notification{Kind: workflows.NotifyPage, Incident: "incident-2"}); err == nil {
		t.Fatal("delivery succeeded; want the backend's error")
	}

	got := map[[3]string]float64{}
	for _, mf := range gather(t, m, metrics.Notifications) {
		for _, s := range mf.GetMetric() {
			l := labels(s)
			got[[3]string{l["backend"], l["kind"], l["outcome"]}] = s.GetCounter().GetValue()
		}
	}
	want := map[[3]string]float64{
		{"log+slack", "page", "ok"}:  1,
		{"log+slack", "post", "ok"}:  2,
		{"log+slack", "other", "ok"}: 1,
		{"flaky", "page", "error"}:   1,
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s%v = %v, want %v", metrics.Notifications, k, got[k], v)
		}
	}
}

func TestInterceptorLabelsAreBounded(t *testing.T) {
	m := newMetrics(t)
	env := newEnv(t, m, "", nil)
	for i := range 20 {
		inc := "incident-" + strings.Repeat("x", i)
		if _, err := env.ExecuteActivity("test.check", runbooks.ActionRequest{Incident: inc, Runbook: "rb-" + inc, Step: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "datasev_") {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				if strings.Contains(lp.GetValue(), "incident") {
					t.Errorf("%s has label %s=%q: incident IDs must not be labels", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
	if n := testutil.CollectAndCount(m.Registry(), metrics.ActionExecutions); n != 1 {
		t.Errorf("%d series of %s after 20 incidents, want 1", n, metrics.ActionExecutions)
	}
}

func TestInterceptorAddsStepToActivityLogger(t *testing.T) {
	m := newMetrics(t)
	buf := &lockedBuffer{}
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(buf, nil)))
	env := newEnv(t, m, "", logger)
	if _, err := env.ExecuteActivity("test.check", runbooks.ActionRequest{Incident: "incident-42", Runbook: "s3-freshness", Step: "log"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	var line string
	for l := range strings.Lines(out) {
		if strings.Contains(l, "checking the table") {
			line = l
		}
	}
	for _, want := range []string{"incident=incident-42", "runbook=s3-freshness", "step=log", "ActivityType=test.check", "WorkflowID="} {
		if !strings.Contains(line, want) {
			t.Errorf("activity log line lacks %q:\n%s", want, out)
		}
	}
}

func gather(t testing.TB, m *metrics.Metrics, name string) []*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.MetricFamily
	for _, mf := range mfs {
		if mf.GetName() == strings.TrimSuffix(name, "_total") || mf.GetName() == name {
			out = append(out, mf)
		}
	}
	return out
}

func labels(s *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, lp := range s.GetLabel() {
		l[lp.GetName()] = lp.GetValue()
	}
	return l
}

func counters(t testing.TB, m *metrics.Metrics, name, l1, l2 string) map[[2]string]float64 {
	t.Helper()
	got := map[[2]string]float64{}
	for _, mf := range gather(t, m, name) {
		for _, s := range mf.GetMetric() {
			l := labels(s)
			got[[2]string{l[l1], l[l2]}] = s.GetCounter().GetValue()
		}
	}
	return got
}

func histogramCounts(t testing.TB, m *metrics.Metrics, name, l1 string) map[string]uint64 {
	t.Helper()
	got := map[string]uint64{}
	for _, mf := range gather(t, m, name) {
		for _, s := range mf.GetMetric() {
			got[labels(s)[l1]] = s.GetHistogram().GetSampleCount()
		}
	}
	return got
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
