package report_test

import (
	"context"
	"fmt"
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
	"github.com/datasev/datasev/starter/report"
	"github.com/datasev/datasev/workflows"
	wfollowup "github.com/datasev/datasev/workflows/followup"
)

// standInInput is what the stand-in incident starts with: the roster's
// team (which the report's --team reads from the start event) and the
// report it closes with.
type standInInput struct {
	Roster struct {
		Team string `json:"team"`
	} `json:"roster"`
	Report workflows.Report `json:"report"`
}

// closedIncident stands in for an incident that closes at once with the
// given report: it returns its final snapshot and answers the status,
// timeline and report queries after it has completed, as the follow-up's
// activity reads them.
func closedIncident(ctx workflow.Context, in standInInput) (workflows.Snapshot, error) {
	r := in.Report
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
			return workflows.Snapshot{}, err
		}
	}
	return workflows.Snapshot{
		ID: r.ID, Title: r.Title, State: r.State, Severity: r.Severity,
		TriggeredAt: r.TriggeredAt, ResolvedAt: r.ClosedAt, ClosedAt: r.ClosedAt, Closure: r.Closure,
	}, nil
}

// Against the dev server: a closed incident's follow-up runs on a worker —
// the real follow-up workflow and activity, go-github against the GitHub
// stand-in — and the report counts its items done and open; the same
// incident's recurrence, which has no follow-up of its own, counts "not
// followed up" (the earlier run's follow-up is not its own) until its
// follow-up runs too.
func TestReportCountsFollowedUpActionItems(t *testing.T) {
	if srv == nil {
		t.Skip("needs the dev server (not with -short)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c := srv.Client()

	gh := ghtest.New()
	t.Cleanup(gh.Close)
	gh.CreateRepo("acme/dbt", "main")
	ghc, err := ghact.NewClient(ghact.Config{APIURL: gh.URL, Token: gh.Token}, nil)
	if err != nil {
		t.Fatal(err)
	}
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
	doc, err := incidentdoc.New(incidentdoc.Config{Dir: t.TempDir()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const queue = "report-followup-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(closedIncident, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	w.RegisterWorkflowWithOptions(wfollowup.Workflow, workflow.RegisterOptions{Name: wfollowup.WorkflowName})
	followup.Register(w, &followup.Activities{Client: c, GitHub: ghc})
	incidentdoc.Register(w, doc)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	since := time.Now().Add(-time.Minute)
	nonce := time.Now().UnixNano()
	id, team := fmt.Sprintf("rep-fu-%d", nonce), fmt.Sprintf("fu-team-%d", nonce)
	closeRun := func(triggered time.Time, items ...workflows.ActionItem) {
		t.Helper()
		var in standInInput
		in.Roster.Team = team
		in.Report = workflows.Report{ID: id, Title: "orders load failing", State: workflows.Closed, Severity: workflows.SEV3,
			TriggeredAt: triggered, ClosedAt: time.Now().UTC()}
		in.Report.Closure.ActionItems = items
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.IncidentWorkflowName, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	followUp := func(wantDone, wantOpen int) {
		t.Helper()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfollowup.WorkflowID(id), TaskQueue: queue},
			wfollowup.WorkflowName, wfollowup.Input{IncidentID: id})
		if err != nil {
			t.Fatal(err)
		}
		var res wfollowup.Result
		if err := run.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		if res.Done != wantDone || res.Open != wantOpen {
			t.Fatalf("follow-up found %d done, %d open; want %d, %d", res.Done, res.Open, wantDone, wantOpen)
		}
	}
	f := &report.Fetcher{Client: tc, Namespace: srv.Namespace(), Concurrency: 2}
	reportUntil := func(want report.ActionItems) report.Summary {
		t.Helper()
		var s report.Summary
		var tm report.Timings
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			var err error
			if s, tm, err = f.Run(ctx, report.Query{Since: since, Team: team}); err != nil {
				t.Fatal(err)
			}
			if s.ActionItems == want || time.Now().After(deadline) {
				break
			}
		}
		if s.Incidents != 2 || s.ActionItems != want {
			t.Fatalf("%d incidents, action items %+v (follow-ups listed %d, matched %d); want 2 incidents and %+v",
				s.Incidents, s.ActionItems, tm.FollowUpsListed, tm.FollowUpsMatched, want)
		}
		return s
	}

	// The first run: one item done, one open, one not filed; followed up.
	first := time.Now().UTC().Add(-10 * time.Minute)
	closeRun(first,
		workflows.ActionItem{Text: "Add a freshness test", By: "carol", Issue: issue("freshness test", true)},
		workflows.ActionItem{Text: "Alert on COPY errors", By: "carol", Issue: issue("alert on COPY errors", false)},
		workflows.ActionItem{Text: "Write the runbook", By: "carol"})
	followUp(1, 1)
	// The recurrence: two items, both done in the tracker, not followed up
	// yet — the first run's follow-up must not count for it.
	closeRun(time.Now().UTC().Add(-time.Minute),
		workflows.ActionItem{Text: "Pin the format", By: "carol", Issue: issue("pin the format", true)},
		workflows.ActionItem{Text: "Test the format", By: "carol", Issue: issue("test the format", true)})
	s := reportUntil(report.ActionItems{Total: 5, Filed: 4, Unfiled: 1, Done: 1, Open: 1, NotFollowedUp: 2, IncidentsNotFollowedUp: 1})
	if len(s.Notes) != 1 || s.Notes[0] != report.NoteNotFollowedUp {
		t.Errorf("notes %q, want the note on items not followed up", s.Notes)
	}

	// The recurrence's follow-up: the newest follow-up is now the
	// recurrence's; the first run keeps its own.
	followUp(2, 0)
	s = reportUntil(report.ActionItems{Total: 5, Filed: 4, Unfiled: 1, Done: 3, Open: 1})
	if len(s.Notes) != 0 {
		t.Errorf("notes %q, want none: every incident was followed up", s.Notes)
	}
}
