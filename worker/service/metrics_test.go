package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/worker/metrics"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/worker/service/servicetest"
	"github.com/datasev/datasev/workflows"
)

func startDevServer(t *testing.T) *devstack.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the dev server (not with -short)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out := &syncBuffer{}
	srv, err := devstack.Start(ctx, devstack.Options{Stdout: out, Stderr: out})
	if err != nil {
		t.Fatalf("dev server: %v\n%s", err, out.String())
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// get returns the body of GET url, failing on anything but 200.
func get(t *testing.T, url string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// checkThenPost runs the core.http action on url, then posts to the
// incident's channel.
func checkThenPost(ctx workflow.Context, url string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	var res runbooks.ActionResult
	if err := workflow.ExecuteActivity(ctx, "core.http", runbooks.ActionRequest{
		Incident: id, Runbook: "metrics-test", Step: "probe", With: map[string]any{"url": url},
	}).Get(ctx, &res); err != nil {
		return err
	}
	return workflow.ExecuteActivity(ctx, "Notify", workflows.Notification{Kind: workflows.NotifyPost, Incident: id, Subject: res.Summary}).Get(ctx, nil)
}

func TestNewRecordsMetrics(t *testing.T) {
	srv := startDevServer(t)
	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	c, err := client.Dial(client.Options{
		HostPort:       srv.HostPort(),
		Namespace:      srv.Namespace(),
		MetricsHandler: m.SDKHandler(),
		Logger:         sdklog.NewStructuredLogger(logger),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"state":"healthy"}`)
	}))
	defer probe.Close()

	taskQueue := "service-metrics-" + t.Name()
	w := service.New(c, service.Config{TaskQueue: taskQueue, StopTimeout: 2 * time.Second, Metrics: m, Targets: servicetest.Targets(),
		Postmortem: postmortem.Config{Dir: t.TempDir()}, IncidentDoc: incidentdoc.Config{Dir: t.TempDir()}}, logger)
	w.RegisterWorkflowWithOptions(checkThenPost, workflow.RegisterOptions{Name: "check-then-post"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "incident-metrics-1", TaskQueue: taskQueue}, "check-then-post", probe.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("workflow: %v\n%s", err, logs.String())
	}

	ep, err := metrics.Listen("127.0.0.1:0", m, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(context.Background())
	wants := []string{
		`datasev_action_executions_total{action="core.http",outcome="ok"} 1`,
		`datasev_action_duration_seconds_count{action="core.http"} 1`,
		`datasev_notifications_total{backend="log",kind="post",outcome="ok"} 1`,
		`temporal_workflow_completed_total{.*task_queue="` + taskQueue + `".*workflow_type="check-then-post"} 1`,
		`temporal_activity_execution_latency_seconds_count{activity_type="core.http",.*} 1`,
		`temporal_num_pollers{.*poller_type="activity_task".*} [1-9][0-9]*`,
	}
	// The worker records a workflow's completion as it reports it, which
	// may be just after the client saw the result: scrape until every
	// series is there, for a while.
	var body string
	var missing []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if body, err = get(t, ep.URL()); err != nil {
			t.Fatal(err)
		}
		missing = missing[:0]
		for _, want := range wants {
			if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(body) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("scrape lacks %s", want)
	}
	if strings.Contains(body, "incident-metrics-1") {
		t.Error("an incident ID is a metric label")
	}
}

func TestRunServesMetrics(t *testing.T) {
	isolate(t)
	srv := startDevServer(t)
	t.Setenv("TEMPORAL_ADDRESS", srv.HostPort())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	url := "http://" + addr + metrics.Path

	logs := &syncBuffer{}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result := make(chan error, 1)
	go func() {
		result <- service.Run(runCtx, getenv(map[string]string{
			service.EnvTaskQueue:   "service-metrics-" + t.Name(),
			service.EnvMetricsAddr: addr,
		}), logs)
	}()

	// The endpoint answers with the SDK's metrics once the worker polls.
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := get(t, url)
		if err == nil && strings.Contains(body, "temporal_num_pollers{") {
			break
		}
		select {
		case err := <-result:
			t.Fatalf("Run returned early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SDK metrics at %s (last error %v)\n%s", url, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), url) {
		t.Errorf("the log does not name the endpoint %s:\n%s", url, logs.String())
	}

	cancel()
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("Run did not return within 15s of cancel\n%s", logs.String())
	}
	if _, err := get(t, url); err == nil {
		t.Error("the metrics endpoint still answers after Run returned")
	}
}

func TestLoadConfigMetricsAddr(t *testing.T) {
	isolate(t)
	cfg, err := service.LoadConfig(getenv(map[string]string{service.EnvMetricsAddr: " 127.0.0.1:9464 "}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != "127.0.0.1:9464" {
		t.Errorf("MetricsAddr %q", cfg.MetricsAddr)
	}
	cfg, err = service.LoadConfig(getenv(map[string]string{service.EnvMetricsAddr: ""}))
	if err != nil || cfg.MetricsAddr != "" {
		t.Errorf("unset: %q, %v", cfg.MetricsAddr, err)
	}
	_, err = service.LoadConfig(getenv(map[string]string{service.EnvMetricsAddr: "9464"}))
	if err == nil || !strings.Contains(err.Error(), service.EnvMetricsAddr) {
		t.Errorf("a port alone: %v, want an error naming %s", err, service.EnvMetricsAddr)
	}
}

func TestRunMetricsPortTaken(t *testing.T) {
	isolate(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Binding fails before the worker dials, so no server is needed.
	err = service.Run(ctx, getenv(map[string]string{service.EnvMetricsAddr: l.Addr().String()}), &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), service.EnvMetricsAddr) {
		t.Errorf("Run with the metrics port taken: %v, want an error naming %s", err, service.EnvMetricsAddr)
	}
}
