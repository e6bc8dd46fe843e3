package postmortem

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	oncallact "github.com/datasev/datasev/activities/lifecycle/oncall"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/oncall"
)

// nowhere is a notifier backend that delivers nowhere.
type nowhere struct{}

func (nowhere) Name() string                                          { return "nowhere" }
func (nowhere) Deliver(context.Context, workflows.Notification) error { return nil }

const simulatedRoster = `
team: data-platform
timezone: Europe/Berlin
handoff_lead: 15m
handoff_grace: 15m
people:
  - {id: alice}
  - {id: bob}
  - {id: carol}
  - {id: dave}
  - {id: erin}
  - {id: grace}
  - {id: heidi}
shifts:
  - {name: day, start: "08:00", end: "20:00", commander: alice, secondary: bob, scribe: carol, liaison: dave, smes: [erin]}
  - {name: night, start: "20:00", end: "08:00", commander: grace, secondary: heidi, scribe: carol, liaison: dave, smes: [erin]}
# Acts are sent straight to the test environment, unsigned: this test is
# about the postmortem, not about who may act (workflows/trust_test.go is).
trust: {unsigned: ["*"]}
`

// The postmortem of a whole simulated SEV2 incident, run by the real
// incident workflow with time skipping and written by the real activity: an
// alert at 19:10 Berlin time, acknowledgement, severity raised to SEV2, a
// finding, a remediation denied, then another approved, the 20:00 shift
// handoff accepted by the night Commander, recovery, the status update
// falling due and posted by the Liaison, resolution, the
// closure inputs, closure. Its Markdown is compared with
// testdata/simulated_sev2.golden (-update rewrites it).
func TestSimulatedSEV2Postmortem(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(incident.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	env.RegisterActivity(&notify.Activities{Backend: nowhere{}})
	dir := t.TempDir()
	Register(env, &Activities{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	RegisterIssues(env, &Issues{}) // no repository: nothing filed
	// The incident document is another package's; here it only says where
	// it would be, as the postmortem links it.
	env.RegisterActivityWithOptions(func(_ context.Context, r workflows.Report) (workflows.DocumentResult, error) {
		return workflows.DocumentResult{URL: "file:///srv/datasev/incidents/" + r.ID + ".md"}, nil
	}, activity.RegisterOptions{Name: workflows.DocumentActivityName})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	env.SetStartTime(time.Date(2026, 3, 10, 19, 10, 0, 0, berlin))
	r, err := oncall.Parse([]byte(simulatedRoster))
	if err != nil {
		t.Fatal(err)
	}
	// Who is on call is read from the worker's roster (no overrides), as a
	// worker would answer.
	env.RegisterActivityWithOptions((&oncallact.Activities{Roster: &r}).Duty, activity.RegisterOptions{Name: oncall.DutyActivityName})
	in := workflows.IncidentInput{
		Alert: workflows.Alert{ID: "am-1", Source: "alertmanager", Title: "orders revenue 100x the forecast", DedupeKey: "orders-revenue",
			Severity: workflows.SEV3, Status: workflows.Firing, Service: "orders", Dataset: "ANALYTICS.MARTS.ORDERS",
			Description: "dbt test assert_revenue_within_forecast failed"},
		Roster:  r,
		Options: workflows.Options{CloseAfter: 30 * time.Minute},
	}
	steps := []struct {
		at   time.Duration // after 19:10
		name string
		act  workflows.Act
	}{
		{3 * time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice", Via: "slack"}},
		{5 * time.Minute, workflows.ActSetSeverity, workflows.Act{By: "alice", Via: "slack", Severity: workflows.SEV2, Reason: "the finance dashboard shows 100x revenue"}},
		{8 * time.Minute, workflows.ActAddNote, workflows.Act{By: "erin", Via: "cli", Note: "orders.sql multiplies amount by 100 since commit 2c15435"}},
		{10 * time.Minute, workflows.ActRequestApproval, workflows.Act{By: "erin", Via: "cli", Approval: "drop-dashboard-cache", Action: "truncate the dashboard cache table", Detail: "3.2 GB would be deleted"}},
		{12 * time.Minute, workflows.ActDeny, workflows.Act{By: "alice", Via: "slack", Approval: "drop-dashboard-cache", Reason: "treats the symptom; revert the model instead"}},
		{14 * time.Minute, workflows.ActRequestApproval, workflows.Act{By: "erin", Via: "cli", Approval: "revert-2c15435", Action: "revert commit 2c15435 through a pull request", Detail: "models/marts/orders.sql: amount * 100 → amount"}},
		{16 * time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Via: "slack", Approval: "revert-2c15435", Reason: "a clean revert"}},
		// 19:45 the handoff starts (15m before 20:00); grace accepts at 19:50.
		{40 * time.Minute, workflows.ActAcceptHandoff, workflows.Act{By: "grace", Via: "slack"}},
		{55 * time.Minute, workflows.ActAddNote, workflows.Act{By: "erin", Via: "cli", Note: "dbt job re-ran on the reverted model; revenue back in range"}},
		{67 * time.Minute, workflows.ActPostUpdate, workflows.Act{By: "dave", Via: "slack", Note: "revenue back in range after the revert; watching for 15 minutes"}},
		{70 * time.Minute, workflows.ActResolve, workflows.Act{By: "grace", Via: "slack", Reason: "revenue back in range for 15 minutes"}},
		{75 * time.Minute, workflows.ActRootCause, workflows.Act{By: "carol", Via: "cli", Note: "a change to orders.sql reported amounts in cents while every consumer reads dollars"}},
		{76 * time.Minute, workflows.ActContributingFactor, workflows.Act{By: "carol", Via: "cli", Note: "no test on the revenue range in CI"}},
		{77 * time.Minute, workflows.ActContributingFactor, workflows.Act{By: "erin", Via: "cli", Note: "the model has no owner review rule"}},
		{78 * time.Minute, workflows.ActActionItem, workflows.Act{By: "grace", Via: "cli", Note: "add assert_revenue_within_forecast to CI", Person: "erin"}},
		{79 * time.Minute, workflows.ActActionItem, workflows.Act{By: "grace", Via: "cli", Note: "require analytics-engineering review on models/marts", Person: "alice"}},
	}
	for _, st := range steps {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(st.name, "", &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { t.Errorf("%s by %s rejected: %v", st.name, st.act.By, err) },
				OnComplete: func(_ any, err error) {
					if err != nil {
						t.Errorf("%s by %s failed: %v", st.name, st.act.By, err)
					}
				},
			}, st.act)
		}, st.at)
	}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalAlert, workflows.Alert{ID: "am-2", Source: "alertmanager", Title: "orders revenue 100x the forecast",
			DedupeKey: "orders-revenue", Status: workflows.Recovered})
	}, 60*time.Minute)
	env.ExecuteWorkflow(workflows.IncidentWorkflowName, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var snap workflows.Snapshot
	if err := env.GetWorkflowResult(&snap); err != nil {
		t.Fatal(err)
	}
	if snap.State != workflows.Closed || snap.Roles.Commander != "grace" {
		t.Fatalf("state %s, Commander %s: want closed under grace after the handoff", snap.State, snap.Roles.Commander)
	}
	md, err := os.ReadFile(snap.Closure.Postmortem)
	if err != nil {
		t.Fatalf("the incident recorded postmortem %q: %v", snap.Closure.Postmortem, err)
	}
	golden := filepath.Join("testdata", "simulated_sev2.golden")
	if *update {
		if err := os.WriteFile(golden, md, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(md) != string(want) {
		t.Errorf("%s differs from the postmortem written; run with -update if the change is intended\n--- got ---\n%s", golden, md)
	}
}
