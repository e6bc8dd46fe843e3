package postmortem_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/oncall"
)

// discard is a notifier backend that delivers nowhere.
type discard struct{}

func (discard) Name() string                                          { return "discard" }
func (discard) Deliver(context.Context, workflows.Notification) error { return nil }

const roster = `
team: data-platform
timezone: UTC
people:
  - {id: alice}
  - {id: bob}
  - {id: carol}
shifts:
  - name: day
    start: "08:00"
    end: "20:00"
    commander: alice
    secondary: bob
    scribe: carol
  - name: night
    start: "20:00"
    end: "08:00"
    commander: bob
    secondary: alice
# Acts are sent straight to the test environment, unsigned: this test is
# about the postmortem, not about who may act (workflows/trust_test.go is).
trust: {unsigned: ["*"]}
`

// The incident workflow, closed with its closure inputs, calls
// WritePostmortem by its registered name; the file written is the rendered
// report and its path is what the incident records.
func TestIncidentWritesItsPostmortem(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(incident.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	env.RegisterActivity(&notify.Activities{Backend: discard{}})
	dir := t.TempDir()
	postmortem.Register(env, &postmortem.Activities{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	postmortem.RegisterIssues(env, &postmortem.Issues{})
	// The incident document is another package's; here it only says where
	// it would be, as the postmortem links it.
	env.RegisterActivityWithOptions(func(_ context.Context, r workflows.Report) (workflows.DocumentResult, error) {
		return workflows.DocumentResult{URL: "file:///srv/datasev/incidents/" + r.ID + ".md"}, nil
	}, activity.RegisterOptions{Name: workflows.DocumentActivityName})
	env.SetStartTime(time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC))

	r, err := oncall.Parse([]byte(roster))
	if err != nil {
		t.Fatal(err)
	}
	in := workflows.IncidentInput{
		Alert: workflows.Alert{ID: "a-1", Source: "alertmanager", Title: "orders load failing", DedupeKey: "orders-load",
			Severity: workflows.SEV2, Status: workflows.Firing, Service: "orders", Dataset: "RAW.ORDERS"},
		Roster:  r,
		Options: workflows.Options{CloseAfter: time.Minute},
	}
	acts := []struct {
		name string
		act  workflows.Act
	}{
		{workflows.ActAcknowledge, workflows.Act{By: "alice"}},
		{workflows.ActRootCause, workflows.Act{By: "alice", Note: "the upstream export stalled | silently"}},
		{workflows.ActContributingFactor, workflows.Act{By: "carol", Note: "no freshness check on the export"}},
		{workflows.ActActionItem, workflows.Act{By: "carol", Note: "add a freshness check", Person: "bob"}},
		{workflows.ActResolve, workflows.Act{By: "alice", Reason: "load re-run"}},
	}
	for i, a := range acts {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(a.name, "", &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { t.Errorf("%s rejected: %v", a.name, err) },
				OnComplete: func(_ any, err error) {
					if err != nil {
						t.Errorf("%s failed: %v", a.name, err)
					}
				},
			}, a.act)
		}, time.Duration(i+1)*time.Minute)
	}
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
	want := filepath.Join(dir, postmortem.FileName(snap.ID))
	if snap.Closure.Postmortem != want {
		t.Fatalf("incident recorded postmortem %q, want %q", snap.Closure.Postmortem, want)
	}
	md, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"# Postmortem: orders load failing",
		"state: closed",
		"Root cause: the upstream export stalled | silently.",
		"- no freshness check on the export _(by carol,",
		"- [ ] add a freshness check — owner: bob",
		"| root cause: the upstream export stalled \\| silently |",
		"- **Time to acknowledge:** 1m",
		"- **Time to resolve:** 5m",
	} {
		if !strings.Contains(string(md), s) {
			t.Errorf("postmortem misses %q:\n%s", s, md)
		}
	}
	if strings.Contains(string(md), "Draft") {
		t.Error("a closed incident's postmortem is marked draft")
	}
}
