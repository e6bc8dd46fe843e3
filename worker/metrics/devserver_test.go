package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/worker/metrics"
	"github.com/datasev/datasev/workflows"
)

// One dev server serves the package; -short runs the tests that need no
// Temporal.
var srv *devstack.Server

func TestMain(m *testing.M) {
	os.Exit(devstack.RunTests(m, func(s *devstack.Server) (func(), error) {
		srv = s
		return nil, nil
	}))
}

func needTemporal(t *testing.T) {
	t.Helper()
	if srv == nil {
		t.Skip("needs the dev server (not with -short)")
	}
}

// workload runs a workflow of two actions (one ok, one failing for good),
// a page, and an action retried to its last attempt, on a real worker whose
// client reports to m, then stops the worker.
func workload(t *testing.T, m *metrics.Metrics) {
	t.Helper()
	panicked.Store(false)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := client.Dial(client.Options{
		HostPort:       srv.HostPort(),
		Namespace:      srv.Namespace(),
		MetricsHandler: m.SDKHandler(),
		Logger:         discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tq := "metrics-" + t.Name()
	w := worker.New(c, tq, worker.Options{
		Interceptors: []interceptor.WorkerInterceptor{m.Interceptor("")},
	})
	w.RegisterActivityWithOptions(testAction, activity.RegisterOptions{Name: "test.check"})
	w.RegisterActivity(&notify.Activities{Backend: okBackend{}})
	w.RegisterWorkflowWithOptions(smallIncident, workflowRegisterOptions("small-incident"))
	w.RegisterWorkflowWithOptions(panicsOnce, workflowRegisterOptions("panics-once"))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "incident-metrics-" + t.Name(), TaskQueue: tq}, "small-incident")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	// A workflow task that fails once, so the task failure series exist.
	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "incident-panic-" + t.Name(), TaskQueue: tq}, "panics-once")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("workflow: %v", err)
	}
}

var panicked atomic.Bool

// panicsOnce fails its first workflow task with a panic; the retried task
// completes.
func panicsOnce(ctx workflow.Context) error {
	if panicked.CompareAndSwap(false, true) {
		panic("first workflow task fails")
	}
	return nil
}

// smallIncident is the workload: check ok, check failing for good, a page,
// and a check retried until the policy's last attempt.
func smallIncident(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 2, InitialInterval: 10 * time.Millisecond},
	})
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	if err := workflow.ExecuteActivity(ctx, "test.check", runbooks.ActionRequest{Incident: id, Runbook: "rb", Step: "ok"}).Get(ctx, nil); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(ctx, "test.check", runbooks.ActionRequest{Incident: id, Runbook: "rb", Step: "fail"}).Get(ctx, nil); err == nil {
		return fmt.Errorf("the failing step succeeded")
	}
	if err := workflow.ExecuteActivity(ctx, metrics.NotifyActivity, workflows.Notification{Kind: workflows.NotifyPage, Incident: id, To: "alice", Subject: "ack"}).Get(ctx, nil); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(ctx, "test.check", runbooks.ActionRequest{Incident: id, Runbook: "rb", Step: "error"}).Get(ctx, nil); err == nil {
		return fmt.Errorf("the retried step succeeded")
	}
	return nil
}

// scrape GETs the endpoint and returns its sample lines by metric name
// (with _bucket, _sum, _count, _total as exported).
func scrape(t *testing.T, url string) map[string][]string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the Prometheus text format", ct)
	}
	out := map[string][]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		out[name] = append(out[name], line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	workloadOnce    sync.Once
	workloadMetrics *metrics.Metrics
	workloadServer  *metrics.Server
)

// served runs the workload once for the package and returns the endpoint
// serving its metrics.
func served(t *testing.T) *metrics.Server {
	t.Helper()
	needTemporal(t)
	workloadOnce.Do(func() {
		m := newMetrics(t)
		workload(t, m)
		s, err := metrics.Listen("127.0.0.1:0", m, nil)
		if err != nil {
			t.Fatal(err)
		}
		workloadMetrics, workloadServer = m, s
	})
	if workloadServer == nil {
		t.Fatal("the workload failed in an earlier test")
	}
	return workloadServer
}

func TestEndpointAfterWorkload(t *testing.T) {
	s := served(t)
	got := scrape(t, s.URL())
	wantLines := []string{
		`datasev_action_executions_total{action="test.check",outcome="ok"} 1`,
		`datasev_action_executions_total{action="test.check",outcome="failed"} 2`,
		`datasev_action_executions_total{action="test.check",outcome="error"} 1`,
		`datasev_notifications_total{backend="log+slack",kind="page",outcome="ok"} 1`,
		`datasev_action_duration_seconds_count{action="test.check"} 4`,
	}
	all := ""
	for _, lines := range got {
		all += strings.Join(lines, "\n") + "\n"
	}
	for _, w := range wantLines {
		if !strings.Contains(all, w+"\n") {
			t.Errorf("scrape lacks %s", w)
		}
	}
	// The SDK's own metrics, through the OpenTelemetry handler.
	for _, w := range []string{
		`temporal_workflow_completed_total{.*workflow_type="small-incident"} 1`,
		`temporal_activity_execution_latency_seconds_count{activity_type="test.check",.*} 4`,
		`temporal_activity_execution_failed_total{activity_type="test.check",.*} 3`,
		`temporal_workflow_task_execution_failed_total{.*workflow_type="panics-once"} 1`,
	} {
		if !regexp.MustCompile(`(?m)^` + w + `$`).MatchString(all) {
			t.Errorf("scrape lacks %s", w)
		}
	}
}

func TestEndpointMethodsAndClose(t *testing.T) {
	m := newMetrics(t)
	s, err := metrics.Listen("127.0.0.1:0", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("Addr %q", s.Addr())
	}
	got := scrape(t, s.URL())
	if _, ok := got["datasev_action_executions_total"]; ok {
		t.Error("an action series before any action ran")
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	resp, err := http.Post(s.URL(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %s, want 405", resp.Status)
	}
	resp, err = http.Get("http://" + s.Addr() + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /other: %s, want 404", resp.Status)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(s.URL()); err == nil {
		resp.Body.Close()
		t.Error("the endpoint still answers after Close")
	}
	if _, err := metrics.Listen(s.Addr(), m, nil); err != nil {
		t.Errorf("the port is not free after Close: %v", err)
	}
	if err := m.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestListenTakenPort(t *testing.T) {
	m := newMetrics(t)
	s, err := metrics.Listen("127.0.0.1:0", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	if _, err := metrics.Listen(s.Addr(), m, nil); err == nil || !strings.Contains(err.Error(), s.Addr()) {
		t.Errorf("Listen on a taken port: %v, want an error naming the address", err)
	}
}

func discardLogger() *slogAdapter { return &slogAdapter{} }

// slogAdapter drops the SDK's client logs.
type slogAdapter struct{}

func (*slogAdapter) Debug(string, ...any) {}
func (*slogAdapter) Info(string, ...any)  {}
func (*slogAdapter) Warn(string, ...any)  {}
func (*slogAdapter) Error(string, ...any) {}

// get fetches url and returns the status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// /healthz answers while the process serves; /readyz answers 503 until the
// worker sets its check, then follows Temporal: 200 while the real dev
// server answers the client's health check, 503 naming why when the
// server is unreachable.
func TestHealthAndReadiness(t *testing.T) {
	needTemporal(t)
	s, err := metrics.Listen("127.0.0.1:0", newMetrics(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	base := "http://" + s.Addr()
	if code, body := get(t, base+metrics.HealthPath); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, base+metrics.ReadyPath); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("GET /readyz before the worker is connected: %d %q, want 503 starting", code, body)
	}

	c, err := client.Dial(client.Options{HostPort: srv.HostPort(), Namespace: srv.Namespace(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.SetReady(func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	if code, body := get(t, base+metrics.ReadyPath); code != http.StatusOK {
		t.Errorf("GET /readyz with Temporal up: %d %q, want 200", code, body)
	}

	// A client of a server that is not there: a port taken and released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	lazy, err := client.NewLazyClient(client.Options{HostPort: dead, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	s.SetReady(func(ctx context.Context) error {
		_, err := lazy.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	if code, body := get(t, base+metrics.ReadyPath); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready: ") {
		t.Errorf("GET /readyz with Temporal down: %d %q, want 503 not ready", code, body)
	}
	if resp, err := http.Post(base+metrics.ReadyPath, "text/plain", nil); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /readyz: %s, want 405", resp.Status)
		}
	}
}
