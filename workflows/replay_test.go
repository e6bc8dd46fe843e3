package workflows_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/registry"
)

// historyDir holds histories recorded from the real dev server, in the JSON
// form `temporal workflow show -o json` writes. Files named v0-… were
// recorded before closure inputs and postmortems (version marker
// closure-postmortem), v1-… before action items were filed as issues
// (file-action-items), v2-… before status updates were owed by the Liaison
// (liaison-updates), v3-… before the incident document (incident-document),
// v4-… before verified acts, sealed runbook messages and the approval plan
// (verified-acts, approval-plan), v5-… before the idempotency memory bounded
// by time (seen-window), v6-… before one marker stood for all of these
// (bundle-1), v7-… before who is on call was read through an activity at
// open and at each shift boundary (oncall-read);
// they are kept: incidents of that age may still be
// running somewhere. Replaying them against the
// current code fails when a change is not deterministic: such a change needs
// workflow.GetVersion, or it breaks every incident running at deploy time.
// auto-walkthrough-… (TestRecordAutoHistory in record_auto_test.go) hold a
// remediation approved by a runbook policy, pause_auto and resume_auto, and
// signed Slack channel acts (auto-approval, channel-log).
const historyDir = "testdata/histories"

func replayer(t testing.TB) worker.WorkflowReplayer {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	registry.Register(r)
	return r
}

func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historyDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no recorded histories in %s; record them with DATASEV_RECORD_HISTORY=1 go test -run TestRecordHistory ./workflows/", historyDir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			h, err := client.HistoryFromJSON(mustOpen(t, f), client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			opts := replayOptions(t, h)
			if err := replayer(t).ReplayWorkflowHistoryWithOptions(nil, h, opts); err != nil {
				t.Fatalf("replay of %s failed; the workflow change is not deterministic: %v", f, err)
			}
		})
	}
}

// replayOptions replays a history as the run it was recorded from: its
// workflow ID and its run ID (sealed runbook messages name the run).
func replayOptions(t *testing.T, h *historypb.History) worker.ReplayWorkflowHistoryOptions {
	t.Helper()
	runID := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetOriginalExecutionRunId()
	if runID == "" {
		runID = "replayed"
	}
	return worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: originalID(t, h), RunID: runID}}
}

// originalID recovers a recorded run's workflow ID from its start input:
// the incident's ID comes from the alert's dedupe key, and the runbook's
// from its incident. Replay needs it, since the runbook's child ID derives
// from the incident's own.
func originalID(t *testing.T, h *historypb.History) string {
	t.Helper()
	start := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
	if start == nil || len(start.GetInput().GetPayloads()) == 0 {
		t.Fatal("history does not start with a workflow's input")
	}
	p := start.GetInput().GetPayloads()[0]
	switch start.GetWorkflowType().GetName() {
	case workflows.IncidentWorkflowName:
		var in workflows.IncidentInput
		if err := converter.GetDefaultDataConverter().FromPayload(p, &in); err != nil {
			t.Fatal(err)
		}
		if in.Carry != nil {
			return in.Carry.ID
		}
		return workflows.WorkflowID(in.Alert.DedupeKey)
	case workflows.RunbookWorkflowName:
		var in workflows.RunbookInput
		if err := converter.GetDefaultDataConverter().FromPayload(p, &in); err != nil {
			t.Fatal(err)
		}
		return in.Incident + "/runbook"
	}
	t.Fatalf("history of an unknown workflow type %q", start.GetWorkflowType().GetName())
	return ""
}

// A history whose commands no longer match the code must fail to replay:
// proof that the replay test above can fail at all.
func TestReplayCatchesNondeterminism(t *testing.T) {
	h, err := client.HistoryFromJSON(mustOpen(t, filepath.Join(historyDir, "runbook-walkthrough-runbook-run1.json")), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Unchanged, it replays; tampered, it must not.
	opts := replayOptions(t, h)
	if err := replayer(t).ReplayWorkflowHistoryWithOptions(quiet, h, opts); err != nil {
		t.Fatalf("untampered history: %v", err)
	}
	for _, e := range h.Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			a.ActivityType.Name = "SendPigeon" // as if the code now called another activity
			changed = true
			break
		}
	}
	if !changed {
		t.Fatal("history has no activity to tamper with")
	}
	err = replayer(t).ReplayWorkflowHistoryWithOptions(quiet, h, opts)
	if err == nil || !strings.Contains(err.Error(), "nondeterministic") {
		t.Fatalf("replaying a tampered history: %v, want a nondeterminism error", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestRecordHistory walks an incident through its whole life on the real dev
// server and writes each run's history to testdata. It runs only when asked,
// since the recorded files are the fixed point the replay test compares with.
func TestRecordHistory(t *testing.T) {
	if os.Getenv("DATASEV_RECORD_HISTORY") == "" {
		t.Skip("set DATASEV_RECORD_HISTORY=1 to record new histories")
	}
	c, queue := devClient(t)
	ctx := context.Background()
	run := startIncident(t, c, queue, "walkthrough", workflows.Options{CloseAfter: 2 * time.Second})
	id := run.GetID()
	act := func(name string, a workflows.Act, wantErr bool) {
		t.Helper()
		_, err := incidents.Act(ctx, c, id, name, a)
		if (err != nil) != wantErr {
			t.Fatalf("%s by %s: %v", name, a.By, err)
		}
	}
	alert := func(id string, st workflows.AlertStatus) {
		a := workflows.Alert{ID: id, Source: "alertmanager", Title: "orders load failing", DedupeKey: "walkthrough", Status: st}
		if err := c.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalAlert, a); err != nil {
			t.Fatal(err)
		}
	}
	alert("a-2", workflows.Firing)
	alert("a-2", workflows.Firing) // a redelivery: remembered, not counted
	act(workflows.ActAcknowledge, workflows.Act{By: "alice", Via: "cli"}, false)
	act(workflows.ActSetSeverity, workflows.Act{By: "alice", Severity: workflows.SEV1, Reason: "finance dashboards stale"}, false)
	act(workflows.ActAssignRole, workflows.Act{By: "alice", Role: workflows.SME, Person: "ivan"}, false)
	act(workflows.ActAddNote, workflows.Act{By: "erin", Note: "COPY INTO RAW.ORDERS failing since 09:12"}, false)
	act(workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun", Action: "clear and re-run load_orders"}, false)
	act(workflows.ActApprove, workflows.Act{By: "erin", Approval: "rerun"}, true)
	if err := c.SignalWorkflow(ctx, id, "", workflows.ActApprove, workflows.Act{By: "dan", Via: "ui", Approval: "rerun"}); err != nil {
		t.Fatal(err)
	}
	act(workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"}, false)
	alert("a-3", workflows.Recovered)
	act(workflows.ActResolve, workflows.Act{By: "alice", Reason: "loads green for 30 minutes"}, false)
	act(workflows.ActRootCause, workflows.Act{By: "carol", Note: "upstream added a column to orders.csv"}, false)
	act(workflows.ActContributingFactor, workflows.Act{By: "erin", Note: "no schema check at landing"}, false)
	act(workflows.ActActionItem, workflows.Act{By: "alice", Note: "validate landing file schemas", Person: "erin"}, false)
	var snap workflows.Snapshot
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &snap); err != nil {
		t.Fatal(err)
	}

	writeHistories(t, c, id, run.GetRunID(), "walkthrough")
}

// writeHistories writes the history of a workflow run and of every run it
// continued as new into, as <name>-runN.json.
func writeHistories(t *testing.T, c client.Client, id, runID, name string) {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(historyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	for runID != "" {
		var events []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, e)
		}
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
		if err != nil {
			t.Fatal(err)
		}
		n++
		path := filepath.Join(historyDir, fmt.Sprintf("%s-run%d.json", name, n))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d events)", path, len(events))
		runID = ""
		if last := events[len(events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes(); last != nil {
			runID = last.NewExecutionRunId
		}
	}
}

// TestRecordRunbookHistory records an incident whose runbook checks an HTTP
// endpoint, pages the SME, waits for an approved remediation and verifies
// recovery, with the runbook's own history beside it.
func TestRecordRunbookHistory(t *testing.T) {
	if os.Getenv("DATASEV_RECORD_HISTORY") == "" {
		t.Skip("set DATASEV_RECORD_HISTORY=1 to record new histories")
	}
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"state":"failed"}`)
			return
		}
		fmt.Fprint(w, `{"state":"healthy"}`)
	}))
	defer srv.Close()

	c, queue := devClient(t)
	ctx := context.Background()
	no := false
	rb := runbooks.Runbook{Name: "orders-load", Description: "orders load failed", Owner: "data-platform", Steps: []runbooks.Step{
		{ID: "health", OnFailure: runbooks.Continue, Check: &runbooks.Call{Action: "core.http", With: map[string]any{"url": "${ alert.labels.health_url }"}}},
		{ID: "tell_sme", Check: &runbooks.Call{Action: "core.page", With: map[string]any{"role": "sme", "message": "orders load: ${ steps.health.summary }"}}},
		{ID: "pause", Check: &runbooks.Call{Action: "core.wait", With: map[string]any{"duration": "1s"}}},
		{ID: "rerun", Description: "re-check the loader", Remediate: &runbooks.Remediation{
			Call: runbooks.Call{Action: "core.http", With: map[string]any{"url": "${ alert.labels.health_url }"}}, DryRun: &no,
			Approval: runbooks.Gate{Timeout: runbooks.Duration(10 * time.Minute)}}},
		{ID: "recovered", Verify: &runbooks.Verify{Call: runbooks.Call{Action: "core.http", With: map[string]any{"url": "${ alert.labels.health_url }"}},
			Until: "output.status == 200", Every: runbooks.Duration(time.Second), Deadline: runbooks.Duration(time.Minute)}},
	}}
	in := input(t, workflows.SEV2)
	in.Alert.DedupeKey = "runbook-walkthrough"
	in.Alert.Labels = map[string]string{"health_url": srv.URL + "/health"}
	in.Options = workflows.Options{CloseAfter: 2 * time.Second}
	in.Roster.TimeZone = "UTC"
	in.Roster.Shifts = in.Roster.Shifts[:1]
	in.Roster.Shifts[0].Start, in.Roster.Shifts[0].End = "00:00", "00:00"
	in.Runbook, in.RunbookSpec = rb.Name, &rb
	duty, err := incidents.OnDuty(in.Roster, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	start := incidents.StartOptions(workflows.WorkflowID(in.Alert.DedupeKey), in.Alert, rb.Name, duty)
	start.TaskQueue = queue
	run, err := c.ExecuteWorkflow(ctx, start, workflows.IncidentWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	id := run.GetID()
	if _, err := incidents.Act(ctx, c, id, workflows.ActAcknowledge, workflows.Act{By: "alice"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := incidents.Status(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.PendingApprovals) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no approval requested: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	healthy.Store(true)
	if _, err := incidents.Act(ctx, c, id, workflows.ActApprove, workflows.Act{By: "alice", Approval: "orders-load/rerun"}); err != nil {
		t.Fatal(err)
	}
	for {
		st, err := incidents.Status(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.RunbookStatus == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runbook %q, want completed", st.RunbookStatus)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for name, a := range map[string]workflows.Act{
		workflows.ActRootCause:  {By: "erin", Note: "the loader's health check lied"},
		workflows.ActActionItem: {By: "alice", Note: "alert on the loader's real state"},
	} {
		if _, err := incidents.Act(ctx, c, id, name, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := incidents.Act(ctx, c, id, workflows.ActResolve, workflows.Act{By: "alice"}); err != nil {
		t.Fatal(err)
	}
	var snap workflows.Snapshot
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	writeHistories(t, c, id, run.GetRunID(), "runbook-walkthrough-incident")
	child := c.GetWorkflow(ctx, id+"/runbook", "")
	if err := child.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	writeHistories(t, c, id+"/runbook", child.GetRunID(), "runbook-walkthrough-runbook")
}
