package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/workflows"
)

// Argument mistakes are usage errors (exit 2); an unreachable server is a
// failure (exit 1) that says where it tried.
func TestPostmortemArgs(t *testing.T) {
	addr := closedPort(t)
	envs := map[string]string{"TEMPORAL_ADDRESS": addr, "TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml")}
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no ID", []string{"postmortem"}, 2, "want one incident ID"},
		{"two IDs", []string{"postmortem", "a", "b"}, 2, "want one incident ID"},
		{"out without a file", []string{"postmortem", "a", "--out"}, 2, "flag needs an argument: -out"},
		{"unknown flag", []string{"postmortem", "a", "--pdf"}, 2, "flag provided but not defined: -pdf"},
		{"help", []string{"help", "postmortem"}, 0, "Usage: datasev postmortem ID [--out FILE]"},
		{"server unreachable", []string{"postmortem", "k"}, 1, "cannot reach Temporal at " + addr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, envs, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			if !strings.Contains(errs, tt.stderr) {
				t.Errorf("stderr misses %q:\n%s", tt.stderr, errs)
			}
		})
	}
}

// The command is listed in the help.
func TestPostmortemListed(t *testing.T) {
	code, out, _ := runCLI(t, nil, "help")
	if code != 0 || !strings.Contains(out, "postmortem ID [--out FILE]") {
		t.Errorf("help (exit %d) does not list postmortem:\n%s", code, out)
	}
}

// cliReport is what the test incidents answer to the report query.
func cliReport(id string, state workflows.State) workflows.Report {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	r := workflows.Report{
		ID: id, Title: "orders late | again", State: state, Severity: workflows.SEV3, Service: "orders",
		Roles: workflows.Roles{Commander: "alice"}, AlertCount: 1, TriggeredAt: t0, AckedAt: t0.Add(3 * time.Minute),
		Timeline: []workflows.TimelineEntry{{At: t0, Who: "cli", Kind: workflows.KindAlert, What: "alert fired: orders late | again"}},
	}
	if !state.Open() {
		r.ResolvedAt = t0.Add(time.Hour)
		r.Closure.RootCause = "upstream export stalled"
	}
	return r
}

// reportWorkflow stands in for the incident workflow on the wire: it answers
// the report query and, when open, waits to be cancelled; a closed one
// completes at once and is queried after completion, as a closed incident
// is.
func reportWorkflow(ctx workflow.Context, r workflows.Report) error {
	if err := workflow.SetQueryHandler(ctx, workflows.QueryReport, func() (workflows.Report, error) { return r, nil }); err != nil {
		return err
	}
	if r.State.Open() {
		return workflow.Await(ctx, func() bool { return false })
	}
	return nil
}

// Against a real dev server: the command resolves a dedupe key, queries the
// report, renders it (a draft for an open incident) to stdout or --out, and
// says when there is no such incident.
func TestPostmortemDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Temporal dev server; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	srv, err := devstack.Start(ctx, devstack.Options{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c := srv.Client()
	const queue = "cli-postmortem-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(reportWorkflow, workflow.RegisterOptions{Name: "PostmortemCLITestIncident"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	start := func(key string, state workflows.State) workflows.Report {
		id := workflows.WorkflowID(key)
		r := cliReport(id, state)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, "PostmortemCLITestIncident", r)
		if err != nil {
			t.Fatal(err)
		}
		if !state.Open() {
			if err := run.Get(ctx, nil); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, "", "test over") })
		}
		return r
	}
	closed := start("pm-closed", workflows.Closed)
	open := start("pm-open", workflows.Diagnosing)

	envs := map[string]string{
		"TEMPORAL_ADDRESS":     srv.HostPort(),
		"TEMPORAL_NAMESPACE":   srv.Namespace(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(ctx, args, func(k string) string { return envs[k] }, &out, &errb)
		return code, out.String(), errb.String()
	}

	// A closed incident, by dedupe key, to stdout: exactly the renderer's
	// output for the report it answered.
	code, out, errs := run("postmortem", "pm-closed")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if want := postmortem.Render(closed); out != want {
		t.Errorf("stdout is not the rendered report:\n--- got ---\n%s\n--- want ---\n%s", out, want)
	}

	// An open incident, by workflow ID, to a file: a draft.
	file := filepath.Join(t.TempDir(), "pm.md")
	code, out, errs = run("postmortem", "--out", file, workflows.WorkflowID("pm-open"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "draft postmortem (incident diagnosing) of incident-pm-open written to "+file) {
		t.Errorf("stdout: %q", out)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != postmortem.Render(open) || !strings.Contains(string(got), "**Draft:**") {
		t.Errorf("file is not the rendered draft:\n%s", got)
	}

	// No such incident.
	code, _, errs = run("postmortem", "pm-nothing")
	if code != 1 || !strings.Contains(errs, `no incident "incident-pm-nothing"`) {
		t.Errorf("exit %d, stderr %q; want 1 and no incident", code, errs)
	}
}
