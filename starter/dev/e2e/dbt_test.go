package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

const (
	approvalID = "dbt-model-regression/revert"
	ordersSQL  = "models/marts/orders.sql"
	laterMacro = "macros/cents_to_dollars.sql" // changed after the culprit
	// goodOrders is orders.sql before the culprit.
	goodOrders = "select id, customer_id, amount\nfrom {{ ref('stg_orders') }}\nwhere status = 'paid'\n"
)

// The "bad dbt model change" runbook, approved: recent commits on the model,
// lineage impact, the approval asked of the Commander with the dry run's
// diff, then one revert pull request, merged, the dbt job re-run to success,
// and the incident in monitoring.
func TestDbtRegressionApproved(t *testing.T) {
	skipShort(t)
	ctx, c, w := setup(t)
	w.startWorker(t, c)
	id := declareRegression(t, ctx, c)

	st := waitApproval(t, ctx, c, id)
	ap := st.PendingApprovals[0]
	for _, want := range []string{ordersSQL, "amount * 100"} {
		if !strings.Contains(ap.Detail, want) {
			t.Errorf("approval detail lacks %q (the dry run's diff):\n%s", want, ap.Detail)
		}
	}
	tl := timeline(t, ctx, c, id)
	expectEntry(t, tl, "check recent_commits ok", w.culprit[:7])
	expectEntry(t, tl, "check impact ok", "2 exposures")
	if prs := w.gh.PullRequests(ghtest.DemoRepo); len(prs) != 0 {
		t.Fatalf("pull requests before the approval: %+v", prs)
	}

	approve(t, ctx, c, id)
	st = waitState(t, ctx, c, id, workflows.Monitoring, 2*time.Minute)
	if st.RunbookStatus != "completed" {
		t.Errorf("runbook %q, want completed", st.RunbookStatus)
	}
	checkReverted(t, w)
	runs := w.airflow.Runs(dbtDAG)
	if len(runs) != 1 || !strings.HasPrefix(runs[0], "datasev__") {
		t.Fatalf("dbt DAG runs %v, want one datasev run", runs)
	}
	if r, _ := w.airflow.Run(dbtDAG, runs[0]); r.State != "success" {
		t.Errorf("dbt run %s is %s, want success", runs[0], r.State)
	}
	tl = timeline(t, ctx, c, id)
	expectEntry(t, tl, "remediate merge ok", "covered by approval "+approvalID)
	expectEntry(t, tl, "check rerun_done ok", "")
	expectEntry(t, tl, "mitigating → monitoring", "")
}

// Denied, the runbook stops and nothing is written to GitHub or Airflow.
func TestDbtRegressionDenied(t *testing.T) {
	skipShort(t)
	ctx, c, w := setup(t)
	w.startWorker(t, c)
	id := declareRegression(t, ctx, c)
	waitApproval(t, ctx, c, id)
	if _, err := signedAct(ctx, c, id, workflows.ActDeny, workflows.Act{By: commander, Via: "cli", Approval: approvalID, Reason: "the change was intended"}); err != nil {
		t.Fatalf("deny: %v", err)
	}
	eventually(t, time.Minute, "runbook stopped", func() (bool, string) {
		st := status(t, ctx, c, id)
		return st.RunbookStatus == "stopped", st.RunbookStatus
	})
	if prs := w.gh.PullRequests(ghtest.DemoRepo); len(prs) != 0 {
		t.Errorf("pull requests after a denial: %+v", prs)
	}
	if n := w.gh.Writes(); n != 0 {
		t.Errorf("%d writes to GitHub after a denial, want none", n)
	}
	if runs := w.airflow.Runs(dbtDAG); len(runs) != 0 {
		t.Errorf("dbt DAG runs after a denial: %v", runs)
	}
}

// The worker dies after the pull request was created and before the
// activity could report it: the next worker's retry finds that pull request,
// and the runbook carries on with exactly one.
func TestDbtRegressionWorkerRestart(t *testing.T) {
	skipShort(t)
	ctx, c, w := setup(t)
	stopFirst := w.startWorker(t, c)
	id := declareRegression(t, ctx, c)
	waitApproval(t, ctx, c, id)
	created := w.proxy.holdNextPullCreation()
	approve(t, ctx, c, id)
	select {
	case <-created:
	case <-time.After(time.Minute):
		t.Fatal("the revert's pull request was never created")
	}
	stopFirst()
	if prs := w.gh.PullRequests(ghtest.DemoRepo); len(prs) != 1 {
		t.Fatalf("pull requests when the first worker died: %+v", prs)
	}
	w.startWorker(t, c)
	waitState(t, ctx, c, id, workflows.Monitoring, 3*time.Minute)
	checkReverted(t, w)
}

// checkReverted reads back the result: one merged pull request whose merge
// put orders.sql back as it was before the culprit, keeping the later,
// unrelated macro.
func checkReverted(t *testing.T, w *world) {
	t.Helper()
	prs := w.gh.PullRequests(ghtest.DemoRepo)
	if len(prs) != 1 {
		t.Fatalf("pull requests %+v, want exactly one", prs)
	}
	pr := prs[0]
	if !pr.Merged || pr.Base != "main" || !strings.HasPrefix(pr.Head, "datasev/revert-") {
		t.Errorf("pull request %+v: want datasev/revert-… merged into main", pr)
	}
	if got, _ := w.gh.File(ghtest.DemoRepo, "main", ordersSQL); got != goodOrders {
		t.Errorf("%s on main after the revert:\n%s\nwant:\n%s", ordersSQL, got, goodOrders)
	}
	if got, ok := w.gh.File(ghtest.DemoRepo, "main", laterMacro); !ok || !strings.Contains(got, "cents_to_dollars") {
		t.Errorf("%s, changed after the culprit, lost by the revert: %q", laterMacro, got)
	}
}

const commander = "alice"

func setup(t *testing.T) (context.Context, client.Client, *world) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx, srv.Client(), newWorld(t)
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
}

func declareRegression(t *testing.T, ctx context.Context, c client.Client) string {
	t.Helper()
	set, err := service.LoadRunbooks("")
	if err != nil {
		t.Fatal(err)
	}
	alert := workflows.Alert{
		Source: "alertmanager", Title: "orders: revenue 100x the forecast", Severity: workflows.SEV3,
		DedupeKey: fmt.Sprintf("e2e-%s-%d", strings.ToLower(t.Name()), time.Now().UnixNano()),
		Service:   "analytics", Dataset: "ANALYTICS.MARTS.ORDERS",
		Labels: map[string]string{
			"alertname": "DbtModelRegression", "model": "orders", "repo": ghtest.DemoRepo,
			"model_path": ordersSQL, "dag": dbtDAG,
			"manifest": "github://" + ghtest.DemoRepo + "/" + manifesttest.DemoManifestPath + "@main",
		},
	}
	d, err := incidents.Declare(ctx, c, incidents.DeclareRequest{Alert: alert, Runbooks: set, Roster: roster(t)})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	if _, err := signedAct(ctx, c, d.WorkflowID, workflows.ActAcknowledge, workflows.Act{By: commander, Via: "cli"}); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	cleanupIncident(t, c, d.WorkflowID)
	return d.WorkflowID
}

// roster has one 24-hour shift whose boundary is twelve hours away, so no
// handoff fires during a test.
func roster(t *testing.T) oncall.Roster {
	t.Helper()
	at := fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)
	r := oncall.Roster{
		Team: "e2e", TimeZone: "UTC",
		People: []oncall.Person{{ID: "alice"}, {ID: "bob"}, {ID: "carol"}, {ID: "dave"}, {ID: "heidi"}},
		Shifts: []oncall.Shift{{Name: "all", Start: at, End: at, Commander: commander, Secondary: "bob", Scribe: "carol", Liaison: "dave", SMEs: []string{"heidi"}}},
	}
	r = withKeys(r)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

func approve(t *testing.T, ctx context.Context, c client.Client, id string) {
	t.Helper()
	if _, err := signedAct(ctx, c, id, workflows.ActApprove, workflows.Act{By: commander, Via: "cli", Approval: approvalID, Reason: "revert the cents change"}); err != nil {
		t.Fatalf("approve: %v", err)
	}
}

func waitApproval(t *testing.T, ctx context.Context, c client.Client, id string) workflows.Status {
	t.Helper()
	var st workflows.Status
	eventually(t, time.Minute, "the revert's approval request", func() (bool, string) {
		st = status(t, ctx, c, id)
		return len(st.PendingApprovals) == 1 && st.PendingApprovals[0].ID == approvalID,
			fmt.Sprintf("runbook %s, approvals %+v, findings %q", st.RunbookStatus, st.PendingApprovals, st.LastFindings)
	})
	return st
}

func waitState(t *testing.T, ctx context.Context, c client.Client, id string, want workflows.State, within time.Duration) workflows.Status {
	t.Helper()
	var st workflows.Status
	eventually(t, within, "state "+string(want), func() (bool, string) {
		st = status(t, ctx, c, id)
		return st.State == want, fmt.Sprintf("state %s, runbook %s, findings %q", st.State, st.RunbookStatus, st.LastFindings)
	})
	return st
}

func status(t *testing.T, ctx context.Context, c client.Client, id string) workflows.Status {
	t.Helper()
	st, err := incidents.Status(ctx, c, id)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

func timeline(t *testing.T, ctx context.Context, c client.Client, id string) []workflows.TimelineEntry {
	t.Helper()
	tl, err := incidents.Timeline(ctx, c, id)
	if err != nil {
		t.Fatalf("timeline: %v", err)
	}
	return tl
}

// expectEntry fails unless an entry starts with prefix and contains part.
func expectEntry(t *testing.T, tl []workflows.TimelineEntry, prefix, part string) {
	t.Helper()
	for _, e := range tl {
		if strings.HasPrefix(e.What, prefix) && strings.Contains(e.What, part) {
			return
		}
	}
	var lines []string
	for _, e := range tl {
		lines = append(lines, e.What)
	}
	t.Errorf("no timeline entry %q containing %q in:\n%s", prefix, part, strings.Join(lines, "\n"))
}

// eventually polls cond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no %s within %s; last: %s", what, within, last)
}
