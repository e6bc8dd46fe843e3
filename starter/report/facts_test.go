package report_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/starter/report"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/oncall"
)

const roster = `
team: data-platform
timezone: UTC
handoff_lead: 15m
handoff_grace: 15m
people:
  - {id: alice}
  - {id: bob}
  - {id: carol}
  - {id: dan}
  - {id: erin}
  - {id: grace}
  - {id: heidi}
shifts:
  - name: day
    start: "08:00"
    end: "20:00"
    commander: alice
    secondary: bob
    scribe: carol
    liaison: dan
    smes: [erin]
  - name: night
    start: "20:00"
    end: "08:00"
    commander: grace
    secondary: heidi
trust:
  unsigned: ["*"]
`

type nopBackend struct{}

func (nopBackend) Name() string                                          { return "nop" }
func (nopBackend) Deliver(context.Context, workflows.Notification) error { return nil }

// TestOfRealIncident runs the real incident workflow (test environment,
// time skipping) through what the record counts — a late acknowledgement,
// a status update the Liaison missed, a handoff nobody accepted, one
// approval granted after it escalated and one denied, an action item filed
// — and reads its final snapshot: the timeline wording Of matches on is
// the workflow's own.
func TestOfRealIncident(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflowWithOptions(incident.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	notify.Register(env, &notify.Activities{Backend: nopBackend{}})
	env.RegisterActivityWithOptions(func(_ context.Context, r workflows.Report) (string, error) {
		return "postmortems/" + r.ID + ".md", nil
	}, activity.RegisterOptions{Name: workflows.PostmortemActivityName})
	env.RegisterActivityWithOptions(func(_ context.Context, r workflows.Report) ([]string, error) {
		out := make([]string, len(r.Closure.ActionItems))
		for i := range out {
			out[i] = fmt.Sprintf("https://issues.example/%d", i+1)
		}
		return out, nil
	}, activity.RegisterOptions{Name: workflows.ActionItemsActivityName})
	env.RegisterActivityWithOptions(func(_ context.Context, r workflows.Report) (workflows.DocumentResult, error) {
		return workflows.DocumentResult{URL: "file:///doc.md"}, nil
	}, activity.RegisterOptions{Name: workflows.DocumentActivityName})
	env.SetStartTime(time.Date(2026, 6, 2, 19, 0, 0, 0, time.UTC)) // the day shift ends at 20:00

	r, err := oncall.Parse([]byte(roster))
	if err != nil {
		t.Fatal(err)
	}
	act := func(at time.Duration, name string, a workflows.Act) {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(name, name+at.String(), &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("%s at %s rejected: %v", name, at, err) },
				OnAccept: func() {}, OnComplete: func(any, error) {},
			}, a)
		}, at)
	}
	act(3*time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	act(5*time.Minute, workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun", Action: "re-run the load"})
	act(6*time.Minute, workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "drop", Action: "drop the table"})
	act(7*time.Minute, workflows.ActDeny, workflows.Act{By: "alice", Approval: "drop", Reason: "no"})
	act(50*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"}) // past its 30m deadline: escalated
	act(80*time.Minute, workflows.ActRootCause, workflows.Act{By: "alice", Note: "a format change upstream"})
	act(81*time.Minute, workflows.ActActionItem, workflows.Act{By: "alice", Note: "check formats at landing"})
	act(90*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	in := workflows.IncidentInput{
		Alert: workflows.Alert{ID: "a-1", Source: "alertmanager", Title: "orders load failing", DedupeKey: "orders-load",
			Severity: workflows.SEV2, Status: workflows.Firing, Service: "orders", ReceivedAt: env.Now()},
		Runbook: "orders-load",
		Roster:  r,
		Options: workflows.Options{CloseAfter: time.Minute},
	}
	env.ExecuteWorkflow(workflows.IncidentWorkflowName, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("the incident did not close")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var snap workflows.Snapshot
	if err := env.GetWorkflowResult(&snap); err != nil {
		t.Fatal(err)
	}
	got := report.Of(snap)
	want := report.Incident{
		ID: snap.ID, Severity: workflows.SEV2, Service: "orders", Runbook: "orders-load",
		TriggeredAt: snap.TriggeredAt, ClosedAt: snap.ClosedAt,
		ToAcknowledge: 3 * time.Minute, ToMitigate: 50 * time.Minute, ToResolve: 90 * time.Minute, // approving moves it to mitigating
		Approvals:          map[string]int{report.OutcomeGranted: 1, report.OutcomeDenied: 1},
		ApprovalsEscalated: 1,
		UpdatesMissed:      1, // due at 20:00, missed at 20:15; resolved before the next
		Handoffs:           1, HandoffsMissed: 1,
		ActionItems: 1, ActionItemsFiled: 1,
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("Of(final snapshot):\n got %+v\nwant %+v\ntimeline:", got, want)
		for _, e := range snap.Timeline {
			t.Logf("  %s %s %s: %s", e.At.Format("15:04"), e.Kind, e.Who, e.What)
		}
	}
}
