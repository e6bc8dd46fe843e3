package devstack_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/workflows"
)

// syncBuffer collects the server's output for failure messages.
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

func start(t *testing.T, opts devstack.Options) *devstack.Server {
	t.Helper()
	out := &syncBuffer{}
	opts.Stdout, opts.Stderr = out, out
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	srv, err := devstack.Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v\nserver output:\n%s", err, out.String())
	}
	t.Logf("dev server up on %s in %s", srv.HostPort(), time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Logf("Stop: %v", err)
		}
	})
	return srv
}

func customAttributes(t *testing.T, c client.Client, namespace string) map[string]enums.IndexedValueType {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	return resp.GetCustomAttributes()
}

func checkAttributes(t *testing.T, srv *devstack.Server) {
	t.Helper()
	got := customAttributes(t, srv.Client(), srv.Namespace())
	for _, k := range workflows.SearchAttributeKeys {
		if typ, ok := got[k.GetName()]; !ok || typ != enums.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s: got %v (present %v), want Keyword", k.GetName(), typ, ok)
		}
	}
}

func TestRestartOnSameSQLiteFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.sqlite")

	first := start(t, devstack.Options{DBFile: db})
	checkAttributes(t, first)
	if err := first.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("SQLite file after first run: %v", err)
	}

	// Second run on the same file, with the UI on this time.
	second := start(t, devstack.Options{DBFile: db, UI: true})
	checkAttributes(t, second)
	startWithAttributes(t, second)
	if !strings.HasPrefix(second.UIURL(), "http://127.0.0.1:") {
		t.Errorf("UIURL = %q", second.UIURL())
	}
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if resp, err = http.Get(second.UIURL()); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("GET UI: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET UI: %s", resp.Status)
	}
}

// TestAddsAttributesMissingFromExistingDB covers a database created without
// datasev's search attributes (say by an older datasev, or by the bare CLI):
// the CLI ignores --search-attribute for a namespace that already exists, so
// Start must add them through the operator service.
func TestAddsAttributesMissingFromExistingDB(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bare.sqlite")
	exe, err := devstack.EnsureCLI(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := &syncBuffer{}
	bare, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  exe,
		ClientOptions: &client.Options{Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		DBFilename:    db,
		LogLevel:      "error",
		Stdout:        out,
		Stderr:        out,
	})
	if err != nil {
		t.Fatalf("bare dev server: %v\n%s", err, out.String())
	}
	got := customAttributes(t, bare.Client(), "default")
	bare.Client().Close()
	if err := bare.Stop(); err != nil {
		t.Logf("bare Stop: %v", err)
	}
	for _, k := range workflows.SearchAttributeKeys {
		if _, ok := got[k.GetName()]; ok {
			t.Fatalf("bare server already has %s", k.GetName())
		}
	}

	srv := start(t, devstack.Options{DBFile: db})
	checkAttributes(t, srv)
	startWithAttributes(t, srv)
}

// startWithAttributes starts a workflow (no worker needed) carrying every
// custom search attribute, which the server rejects for unknown attributes.
func startWithAttributes(t *testing.T, srv *devstack.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var updates []temporal.SearchAttributeUpdate
	for _, k := range workflows.SearchAttributeKeys {
		updates = append(updates, k.ValueSet("x"))
	}
	run, err := srv.Client().ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "devstack-sa-check",
		TaskQueue:             "devstack-test-no-worker",
		TypedSearchAttributes: temporal.NewSearchAttributes(updates...),
	}, "NoSuchWorkflow")
	if err != nil {
		t.Fatalf("start workflow with search attributes: %v", err)
	}
	defer func() { _ = srv.Client().TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "test done") }()

	// And visibility answers queries on them.
	var clauses []string
	for _, k := range workflows.SearchAttributeKeys {
		clauses = append(clauses, k.GetName()+" = 'x'")
	}
	query := strings.Join(clauses, " AND ") + " AND WorkflowId = '" + run.GetID() + "'"
	for {
		resp, err := srv.Client().ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("ListWorkflow %q: %v", query, err)
		}
		if len(resp.GetExecutions()) == 1 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("ListWorkflow %q: workflow not found", query)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestFatalStartErrorIsReportedPromptly(t *testing.T) {
	db := filepath.Join(t.TempDir(), "not-a-database")
	if err := os.WriteFile(db, []byte("this is not SQLite\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	began := time.Now()
	srv, err := devstack.Start(ctx, devstack.Options{DBFile: db, Stdout: io.Discard, Stderr: io.Discard})
	if err == nil {
		_ = srv.Stop()
		t.Fatal("Start on a corrupt database succeeded")
	}
	if !strings.Contains(err.Error(), "not a database") || ctx.Err() != nil {
		t.Errorf("error = %v (after %s)", err, time.Since(began))
	}
}

func TestPortInUse(t *testing.T) {
	srv := start(t, devstack.Options{})
	_, port, _ := net.SplitHostPort(srv.HostPort())
	n, _ := strconv.Atoi(port)
	_, err := devstack.Start(context.Background(), devstack.Options{Port: n, Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Start on a busy port: %v", err)
	}
}

func TestRepoRootAndCLI(t *testing.T) {
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "workflows", "names.go")); err != nil {
		t.Errorf("RepoRoot = %s: %v", root, err)
	}
	exe, err := devstack.EnsureCLI(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, ".bin", "temporal.version"))
	if os.Getenv(devstack.EnvCLI) == "" && (err != nil || strings.TrimSpace(string(b)) != devstack.TemporalCLIVersion) {
		t.Errorf("stamp for %s: %q, %v", exe, b, err)
	}

	t.Setenv(devstack.EnvCLI, filepath.Join(t.TempDir(), "missing"))
	if _, err := devstack.EnsureCLI(context.Background(), io.Discard); err == nil || !strings.Contains(err.Error(), devstack.EnvCLI) {
		t.Errorf("EnsureCLI with a missing %s: %v", devstack.EnvCLI, err)
	}
}
