package s3act_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/runbooks"
)

// fixture is an S3 stand-in, the real SDK client pointed at it and the
// actions registered in Temporal's activity test environment.
type fixture struct {
	srv     *s3test.Server
	env     *testsuite.TestActivityEnvironment
	actions *s3act.Actions
	now     time.Time
}

// awsEnv points the SDK at srv the way the worker is configured: the
// DATASEV_S3_* variables, static credentials, no instance metadata, no
// shared files. A trap stands at the instance-metadata endpoint: if the SDK
// ever tried it, the test fails.
func awsEnv(t testing.TB, srv *s3test.Server) {
	t.Helper()
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_MAX_ATTEMPTS", s3act.EnvProfile} {
		t.Setenv(k, "")
	}
	// The SDK's retries are tested by its authors; here a throttled request
	// fails at once, so the activity's own classification shows.
	t.Setenv(s3act.EnvMaxAttempts, "1")
	var probes atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes.Add(1)
		http.Error(w, "no instance metadata in tests", http.StatusForbidden)
	}))
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", trap.URL)
	t.Cleanup(func() {
		trap.Close()
		if n := probes.Load(); n > 0 {
			t.Errorf("the SDK tried the instance metadata endpoint %d times", n)
		}
	})
}

func newFixture(t testing.TB, now time.Time) *fixture {
	t.Helper()
	srv := s3test.New()
	t.Cleanup(srv.Close)
	awsEnv(t, srv)
	cfg, err := s3act.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3act.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := s3act.New(c).WithClock(func() time.Time { return now })
	return &fixture{srv: srv, env: register(a), actions: a, now: now}
}

// register registers the S3 actions the way the worker's registry does.
func register(a *s3act.Actions) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	// Errors are checked by the tests; the environment's log of them (and
	// of heartbeats) is noise.
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	e := s.NewTestActivityEnvironment()
	r := actions.NewRegistry()
	r.Add(
		actions.Typed(s3act.LatestPartitionSpec(), a.LatestPartition),
		actions.Typed(s3act.InspectPrefixSpec(), a.InspectPrefix),
		actions.Typed(s3act.ObjectHeadSpec(), a.ObjectHead),
	)
	r.RegisterWith(e)
	return e
}

func (f *fixture) run(t testing.TB, action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	return run(t, f.env, action, with)
}

func run(t testing.TB, e *testsuite.TestActivityEnvironment, action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(action, runbooks.ActionRequest{Incident: "inc-1", Runbook: "rb", Step: "s1", With: with})
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func (f *fixture) mustRun(t testing.TB, action string, with map[string]any) runbooks.ActionResult {
	t.Helper()
	res, err := f.run(t, action, with)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return res
}

func (f *fixture) put(t testing.TB, bucket string, objs ...s3test.Object) {
	t.Helper()
	if err := f.srv.PutObjects(bucket, objs...); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) bucket(t testing.TB, names ...string) {
	t.Helper()
	if err := f.srv.CreateBucket(names...); err != nil {
		t.Fatal(err)
	}
}

// num reads a number from an output that went through Temporal's JSON
// payloads.
func num(t testing.TB, out map[string]any, key string) float64 {
	t.Helper()
	v, ok := out[key]
	if !ok {
		t.Fatalf("output has no %q: %v", key, out)
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("output %q = %v (%T), want a number", key, v, v)
	}
	return f
}

func want(t testing.TB, out map[string]any, key string, v any) {
	t.Helper()
	got, ok := out[key]
	if !ok {
		t.Errorf("output has no %q (want %v): %v", key, v, out)
		return
	}
	if f, isNum := got.(float64); isNum {
		switch w := v.(type) {
		case int:
			v = float64(w)
		case int64:
			v = float64(w)
		}
		if f != v {
			t.Errorf("output %q = %v, want %v", key, got, v)
		}
		return
	}
	if got != v {
		t.Errorf("output %q = %#v, want %#v", key, got, v)
	}
}
