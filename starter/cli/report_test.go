package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/datasev/datasev/workflows/oncall"
)

// The flags are checked before anything is dialled: a bad --since or
// --format is a usage error (exit 2) naming the flag and what it takes.
func TestReportFlags(t *testing.T) {
	envs := map[string]string{"TEMPORAL_ADDRESS": closedPort(t), "TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml")}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report", "--since", "ninety"}, 2, `--since "ninety": not a duration or a date; want a duration like 90d`},
		{[]string{"report", "--since", "-5d"}, 2, "not a positive duration"},
		{[]string{"report", "--format", "xml"}, 2, `--format "xml": unknown format; want one of table, csv, json`},
		{[]string{"report", "--concurrency", "0"}, 2, "--concurrency 0: want 1 to 256"},
		{[]string{"report", "extra"}, 2, `report takes flags only; unexpected "extra"`},
		{[]string{"report", "--since", "7d", "--format", "csv"}, 1, "cannot reach Temporal"},
	} {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		code := Run(ctx, c.args, func(k string) string { return envs[k] }, &out, &errb)
		cancel()
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}

// reportStandIn closes at once with the snapshot its input carries: an
// incident's final snapshot, made by hand, under the incident workflow's
// type name on a queue of its own. It answers the report query after it
// has closed, as the follow-up's activity reads it.
func reportStandIn(ctx workflow.Context, in workflows.IncidentInput) (workflows.Snapshot, error) {
	s := *in.Carry
	r := workflows.Report{ID: s.ID, State: s.State, Severity: s.Severity, TriggeredAt: s.TriggeredAt, ClosedAt: s.ClosedAt, Closure: s.Closure}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryReport, func() (workflows.Report, error) { return r, nil }); err != nil {
		return workflows.Snapshot{}, err
	}
	return s, nil
}

// Against a real dev server: the command lists the closed incidents,
// fetches their results and prints the record in each format; --team
// keeps one team's.
func TestReportDevServer(t *testing.T) {
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
	doc, err := incidentdoc.New(incidentdoc.Config{Dir: t.TempDir()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const queue = "cli-report-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(reportStandIn, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	w.RegisterWorkflowWithOptions(wfollowup.Workflow, workflow.RegisterOptions{Name: wfollowup.WorkflowName})
	followup.Register(w, &followup.Activities{Client: c, GitHub: ghc})
	incidentdoc.Register(w, doc)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	now := time.Now().UTC()
	start := func(s workflows.Snapshot, team string) {
		t.Helper()
		in := workflows.IncidentInput{Roster: oncall.Roster{Team: team}, Carry: &s}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: s.ID, TaskQueue: queue}, workflows.IncidentWorkflowName, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	close := func(i int, team string, sev workflows.Severity, ack time.Duration) {
		start(workflows.Snapshot{
			ID: fmt.Sprintf("incident-report-%d", i), State: workflows.Closed, Severity: sev, Service: "orders",
			TriggeredAt: now.Add(-time.Hour), AckedAt: now.Add(-time.Hour + ack), ResolvedAt: now.Add(-time.Hour + 2*ack), ClosedAt: now,
			Approvals: []workflows.Approval{{ID: "a", Status: workflows.ApprovalApproved, DecidedBy: "alice"}},
			Updates:   workflows.UpdateCadence{Missed: 1},
		}, team)
	}
	close(1, "data", workflows.SEV2, 2*time.Minute)
	close(2, "data", workflows.SEV2, 4*time.Minute)
	close(3, "web", workflows.SEV1, 10*time.Minute)

	envs := map[string]string{
		"TEMPORAL_ADDRESS":     srv.HostPort(),
		"TEMPORAL_NAMESPACE":   srv.Namespace(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
		EnvTaskQueue:           queue,
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(ctx, args, func(k string) string { return envs[k] }, &out, &errb)
		return code, out.String(), errb.String()
	}
	type summary struct {
		Incidents int `json:"incidents"`
		Times     []struct {
			Severity    string `json:"severity"`
			Acknowledge struct {
				N      int     `json:"n"`
				Median float64 `json:"median_seconds"`
			} `json:"acknowledge"`
		} `json:"times"`
		Approvals     map[string]int `json:"approvals"`
		StatusUpdates map[string]int `json:"status_updates"`
	}
	// Visibility is eventually consistent: wait for the three to list.
	var all summary
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out, errs := run("report", "--format", "json", "--since", "1d")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		all = summary{}
		if err := json.Unmarshal([]byte(out), &all); err != nil {
			t.Fatalf("json: %v\n%s", err, out)
		}
		if all.Incidents == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if all.Incidents != 3 || len(all.Times) != 2 || all.Times[1].Severity != "SEV2" || all.Times[1].Acknowledge.N != 2 ||
		all.Times[1].Acknowledge.Median != 120 || all.Approvals["granted"] != 3 || all.StatusUpdates["missed"] != 3 {
		t.Errorf("report over three closed incidents: %+v", all)
	}

	code, out, errs := run("report", "--format", "json", "--since", "1d", "--team", "web")
	var web summary
	if code != 0 || json.Unmarshal([]byte(out), &web) != nil || web.Incidents != 1 || web.Times[0].Severity != "SEV1" {
		t.Errorf("--team web: exit %d %s, %+v", code, errs, web)
	}

	code, out, errs = run("report", "--since", "1d", "--timings")
	if code != 0 || !strings.Contains(out, "SEV2      2") || !strings.Contains(out, "2m (n=2)") || !strings.Contains(errs, "datasev report: list ") {
		t.Errorf("table: exit %d\n%s\nstderr %s", code, out, errs)
	}
	code, out, _ = run("report", "--since", "1d", "--format", "csv")
	if code != 0 || !strings.Contains(out, "section,key,metric,value\n") || !strings.Contains(out, "time_to_acknowledge,SEV1,median_seconds,600\n") {
		t.Errorf("csv: exit %d\n%s", code, out)
	}

	// A team's incident with two filed action items (one done in the
	// tracker, one open) and one not filed: not followed up until
	// --follow-up runs its follow-up on the worker; the report after that
	// reads the follow-up without running it again.
	issue := func(title string, closed bool) string {
		t.Helper()
		n := gh.CreateIssue("acme/dbt", title, "b")
		if closed {
			if _, _, err := ghc.Issues.Edit(ctx, "acme", "dbt", n, &github.IssueRequest{State: github.String("closed"), StateReason: github.String("completed")}); err != nil {
				t.Fatal(err)
			}
		}
		is, _, err := ghc.Issues.Get(ctx, "acme", "dbt", n)
		if err != nil {
			t.Fatal(err)
		}
		return is.GetHTMLURL()
	}
	fu := workflows.Snapshot{ID: "incident-report-fu", State: workflows.Closed, Severity: workflows.SEV3, TriggeredAt: now.Add(-time.Hour), ClosedAt: now}
	fu.Closure.ActionItems = []workflows.ActionItem{
		{Text: "Add a freshness test", By: "carol", Issue: issue("freshness test", true)},
		{Text: "Alert on COPY errors", By: "carol", Issue: issue("alert on COPY errors", false)},
		{Text: "Write the runbook", By: "carol"},
	}
	start(fu, "fu")
	type items struct {
		ActionItems map[string]int `json:"action_items"`
	}
	itemsOf := func(args ...string) (map[string]int, string) {
		t.Helper()
		var got items
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			code, out, errs := run(append([]string{"report", "--format", "json", "--since", "1d", "--team", "fu"}, args...)...)
			if code != 0 {
				t.Fatalf("%q: exit %d: %s", args, code, errs)
			}
			got = items{}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("json: %v\n%s", err, out)
			}
			if got.ActionItems["total"] == 3 && (got.ActionItems["not_followed_up"] == 0 || len(args) == 0) || time.Now().After(deadline) {
				return got.ActionItems, errs
			}
		}
	}
	wantItems := func(when string, got map[string]int, total, filed, unfiled, done, open, notFollowedUp int) {
		t.Helper()
		if got["total"] != total || got["filed"] != filed || got["unfiled"] != unfiled || got["done"] != done || got["open"] != open || got["not_followed_up"] != notFollowedUp {
			t.Errorf("%s: action items %v; want total %d, filed %d, unfiled %d, done %d, open %d, not followed up %d",
				when, got, total, filed, unfiled, done, open, notFollowedUp)
		}
	}
	got, _ := itemsOf()
	wantItems("before any follow-up", got, 3, 2, 1, 0, 0, 2)
	got, errs = itemsOf("--follow-up", "--timings")
	wantItems("--follow-up", got, 3, 2, 1, 1, 1, 0)
	if !strings.Contains(errs, "1 run)") {
		t.Errorf("--follow-up --timings: stderr %q; want one follow-up run", errs)
	}
	got, errs = itemsOf("--timings")
	wantItems("after --follow-up", got, 3, 2, 1, 1, 1, 0)
	if !strings.Contains(errs, "1 matched, 0 run)") {
		t.Errorf("--timings after --follow-up: stderr %q; want its follow-up read, none run", errs)
	}
}
