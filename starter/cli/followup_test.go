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

	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/lifecycle/followup"
	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/workflows"
	wfollowup "github.com/datasev/datasev/workflows/followup"
)

// closedIncident stands in for a closed incident on the wire: it answers
// the status, timeline and report queries after it has completed.
func closedIncident(ctx workflow.Context, r workflows.Report) error {
	st := workflows.Status{ID: r.ID, Title: r.Title, State: r.State, Severity: r.Severity, Roles: r.Roles}
	for _, q := range []struct {
		name string
		h    any
	}{
		{workflows.QueryStatus, func() (workflows.Status, error) { return st, nil }},
		{workflows.QueryTimeline, func() ([]workflows.TimelineEntry, error) { return r.Timeline, nil }},
		{workflows.QueryReport, func() (workflows.Report, error) { return r, nil }},
	} {
		if err := workflow.SetQueryHandler(ctx, q.name, q.h); err != nil {
			return err
		}
	}
	return nil
}

// TestShowFollowsUpActionItems: against a real dev server, `datasev show`
// of a closed incident runs the follow-up on the worker — the real
// follow-up workflow and activity, go-github against the GitHub stand-in,
// the Markdown incident document — and lists each item's state; the
// document ticks the done one.
func TestShowFollowsUpActionItems(t *testing.T) {
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

	gh := ghtest.New()
	t.Cleanup(gh.Close)
	gh.CreateRepo("acme/dbt", "main")
	ghc, err := ghact.NewClient(ghact.Config{APIURL: gh.URL, Token: gh.Token}, nil)
	if err != nil {
		t.Fatal(err)
	}
	issueURL := func(n int) string {
		is, _, err := ghc.Issues.Get(ctx, "acme", "dbt", n)
		if err != nil {
			t.Fatal(err)
		}
		return is.GetHTMLURL()
	}
	done, open := gh.CreateIssue("acme/dbt", "freshness test", "b"), gh.CreateIssue("acme/dbt", "alert on COPY errors", "b")
	if _, _, err := ghc.Issues.Edit(ctx, "acme", "dbt", done, &github.IssueRequest{State: github.String("closed"), StateReason: github.String("completed")}); err != nil {
		t.Fatal(err)
	}

	docs := t.TempDir()
	doc, err := incidentdoc.New(incidentdoc.Config{Dir: docs}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const queue = "cli-followup-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(closedIncident, workflow.RegisterOptions{Name: "FollowUpCLITestIncident"})
	w.RegisterWorkflowWithOptions(wfollowup.Workflow, workflow.RegisterOptions{Name: wfollowup.WorkflowName})
	followup.Register(w, &followup.Activities{Client: c, GitHub: ghc})
	incidentdoc.Register(w, doc)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	id := workflows.WorkflowID("fu-closed")
	r := cliReport(id, workflows.Closed)
	r.Closure.ActionItems = []workflows.ActionItem{
		{Text: "Add a freshness test", By: "carol", Issue: issueURL(done)},
		{Text: "Alert on COPY errors", By: "carol", Issue: issueURL(open)},
		{Text: "Write the runbook", By: "carol"},
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, "FollowUpCLITestIncident", r)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}

	envs := map[string]string{
		"TEMPORAL_ADDRESS":     srv.HostPort(),
		"TEMPORAL_NAMESPACE":   srv.Namespace(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
		EnvTaskQueue:           queue,
	}
	var out, errb bytes.Buffer
	if code := Run(ctx, []string{"show", "fu-closed"}, func(k string) string { return envs[k] }, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"action items: 1 done, 1 open, 1 not filed, 0 unknown",
		"  done      Add a freshness test — " + issueURL(done) + " (closed (completed))",
		"  open      Alert on COPY errors — " + issueURL(open),
		"  not filed Write the runbook",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, out.String())
		}
	}
	files, err := filepath.Glob(filepath.Join(docs, "*.md"))
	if err != nil || len(files) != 1 {
		t.Fatalf("documents %v, %v: want one", files, err)
	}
	body, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "- [x] Add a freshness test") || !strings.Contains(string(body), "- [ ] Alert on COPY errors") {
		t.Errorf("the document does not show the states:\n%s", body)
	}
}
