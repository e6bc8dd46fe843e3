package service_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// isolate keeps the developer's own Temporal config and profile out of the
// test.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "absent.toml"))
	// Run makes its sealing key where this names, not in the package.
	t.Setenv(service.EnvSealKeyFile, filepath.Join(t.TempDir(), "seal.key"))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	for _, k := range []string{"TEMPORAL_PROFILE", "TEMPORAL_API_KEY", "TEMPORAL_TLS"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Setenv(k, v)
			os.Unsetenv(k)
		}
	}
}

func getenv(overrides map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := overrides[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

func TestRunPollsAndStopsGracefully(t *testing.T) {
	isolate(t)
	ctx, cancelStart := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelStart()
	srvOut := &syncBuffer{}
	srv, err := devstack.Start(ctx, devstack.Options{Stdout: srvOut, Stderr: srvOut})
	if err != nil {
		t.Fatalf("dev server: %v\n%s", err, srvOut.String())
	}
	t.Cleanup(func() { _ = srv.Stop() })
	t.Setenv("TEMPORAL_ADDRESS", srv.HostPort())

	taskQueue := "service-test-" + t.Name()
	logs := &syncBuffer{}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result := make(chan error, 1)
	go func() {
		result <- service.Run(runCtx, getenv(map[string]string{
			service.EnvTaskQueue: taskQueue,
			service.EnvLogFormat: "json",
		}), logs)
	}()

	// Both the workflow and the activity side of the worker poll.
	deadline := time.Now().Add(30 * time.Second)
	for _, typ := range []enums.TaskQueueType{enums.TASK_QUEUE_TYPE_WORKFLOW, enums.TASK_QUEUE_TYPE_ACTIVITY} {
		for {
			resp, err := srv.Client().DescribeTaskQueue(ctx, taskQueue, typ)
			if err == nil && len(resp.GetPollers()) > 0 {
				break
			}
			select {
			case err := <-result:
				t.Fatalf("Run returned early: %v\n%s", err, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s poller on %s (last error %v)\n%s", typ, taskQueue, err, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	cancel()
	stopped := time.Now()
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
		t.Logf("Run returned %s after cancel", time.Since(stopped).Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Fatalf("Run did not return within 15s of cancel\n%s", logs.String())
	}
	out := logs.String()
	for _, want := range []string{`"msg":"datasev worker starting"`, `"task_queue":"` + taskQueue + `"`, `"msg":"datasev worker stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

func TestRunUnreachableServer(t *testing.T) {
	isolate(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	t.Setenv("TEMPORAL_ADDRESS", addr)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = service.Run(ctx, getenv(nil), &syncBuffer{})
	if err == nil {
		t.Fatal("Run against a closed port succeeded")
	}
	for _, want := range []string{"cannot reach Temporal at " + addr, "go run ./starter/dev", "TEMPORAL_ADDRESS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	isolate(t)
	t.Setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "data")

	cfg, err := service.LoadConfig(getenv(map[string]string{service.EnvTaskQueue: "", service.EnvLogFormat: "", service.EnvLogLevel: ""}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TaskQueue != workflows.TaskQueue || cfg.LogFormat != "text" || cfg.Address() != "temporal.example:7233" || cfg.Namespace() != "data" {
		t.Errorf("defaults: %+v, address %s, namespace %s", cfg, cfg.Address(), cfg.Namespace())
	}

	cfg, err = service.LoadConfig(getenv(map[string]string{service.EnvTaskQueue: "tq", service.EnvLogFormat: "JSON", service.EnvLogLevel: "debug"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TaskQueue != "tq" || cfg.LogFormat != "json" || cfg.LogLevel.String() != "DEBUG" {
		t.Errorf("overrides: %+v", cfg)
	}

	if _, err := service.LoadConfig(getenv(map[string]string{service.EnvLogFormat: "yaml"})); err == nil || !strings.Contains(err.Error(), service.EnvLogFormat) {
		t.Errorf("bad log format: %v", err)
	}
	if _, err := service.LoadConfig(getenv(map[string]string{service.EnvLogLevel: "loud"})); err == nil || !strings.Contains(err.Error(), service.EnvLogLevel) {
		t.Errorf("bad log level: %v", err)
	}
}

func TestRunRefusesInvalidRunbooks(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	bad := "name: broken\ndescription: d\nowner: o\nmatch: {labels: {alertname: Broken}}\nsteps:\n  - id: look\n    check: {action: snowflake.nope}\n"
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	// No server is needed: the worker must refuse before it dials.
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	err := service.Run(context.Background(), getenv(map[string]string{service.EnvRunbooks: dir}), &syncBuffer{})
	if err == nil {
		t.Fatal("the worker started with an invalid runbook")
	}
	for _, want := range []string{"worker will not start", "broken.yaml:7:", `unknown action "snowflake.nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// A YAML file that is no runbook (a roster kept beside the runbooks) is
// left out, and the worker says so in its log rather than hiding it.
func TestRunLogsSkippedFiles(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "roster.yaml"), []byte("team: x\npeople: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1") // nothing listens: Run fails after loading
	var log syncBuffer
	_ = service.Run(context.Background(), getenv(map[string]string{service.EnvRunbooks: dir}), &log)
	out := log.String()
	if !strings.Contains(out, "not a runbook") || !strings.Contains(out, "roster.yaml") || !strings.Contains(out, "team, people") {
		t.Errorf("the log does not name the skipped file and its keys:\n%s", out)
	}
}

// The worker's tuning knobs: concurrency, pollers and the stop timeout,
// refused when they are not sensible.
func TestLoadConfigTuning(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	cfg, err := service.LoadConfig(getenv(map[string]string{
		service.EnvMaxActivities: "50", service.EnvMaxWorkflowTasks: "20",
		service.EnvActivityPollers: "4", service.EnvWorkflowPollers: "3", service.EnvStopTimeout: "45s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxActivities != 50 || cfg.MaxWorkflowTasks != 20 || cfg.ActivityPollers != 4 || cfg.WorkflowPollers != 3 || cfg.StopTimeout != 45*time.Second {
		t.Errorf("tuning %d %d %d %d %s", cfg.MaxActivities, cfg.MaxWorkflowTasks, cfg.ActivityPollers, cfg.WorkflowPollers, cfg.StopTimeout)
	}
	for name, v := range map[string]string{service.EnvMaxActivities: "0", service.EnvActivityPollers: "many", service.EnvStopTimeout: "soon"} {
		if _, err := service.LoadConfig(getenv(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v, want an error naming it", name, v, err)
		}
	}
}

// The sticky cache size and the sticky queue's timeout: read when set,
// the SDK's defaults when not, refused when not sensible.
func TestLoadConfigSticky(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	cfg, err := service.LoadConfig(getenv(map[string]string{service.EnvStickyCache: "20000", service.EnvStickyTimeout: "30s"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StickyCacheSize != 20000 || cfg.StickyTimeout != 30*time.Second {
		t.Errorf("sticky cache %d, timeout %s; want 20000 and 30s", cfg.StickyCacheSize, cfg.StickyTimeout)
	}
	cfg, err = service.LoadConfig(getenv(map[string]string{service.EnvStickyCache: "0"}))
	if err != nil || cfg.StickyCacheSize != 0 || cfg.StickyTimeout != 0 {
		t.Errorf("defaults: cache %d, timeout %s, %v; want 0 and 0 (the SDK's)", cfg.StickyCacheSize, cfg.StickyTimeout, err)
	}
	for _, bad := range []struct{ name, v string }{
		{service.EnvStickyCache, "-1"}, {service.EnvStickyCache, "lots"}, {service.EnvStickyCache, "1e4"},
		{service.EnvStickyTimeout, "30"}, {service.EnvStickyTimeout, "0s"}, {service.EnvStickyTimeout, "500ms"}, {service.EnvStickyTimeout, "-5s"},
	} {
		if _, err := service.LoadConfig(getenv(map[string]string{bad.name: bad.v})); err == nil || !strings.Contains(err.Error(), bad.name) {
			t.Errorf("%s=%q: %v, want an error naming it", bad.name, bad.v, err)
		}
	}
}
