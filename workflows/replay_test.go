package workflows_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// historyDir holds histories recorded from the real dev server, in the JSON
// form `temporal workflow show -o json` writes. Replaying them against the
// current code fails when a change is not deterministic: such a change needs
// workflow.GetVersion, or it breaks every incident running at deploy time.
const historyDir = "testdata/histories"

func replayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.Incident, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
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
			if err := replayer(t).ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay of %s failed; the workflow change is not deterministic: %v", f, err)
			}
		})
	}
}

// A history whose commands no longer match the code must fail to replay:
// proof that the replay test above can fail at all.
func TestReplayCatchesNondeterminism(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(historyDir, "*.json"))
	if len(files) == 0 {
		t.Fatal("no recorded histories")
	}
	h, err := client.HistoryFromJSON(mustOpen(t, files[0]), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := false
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
	quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	err = replayer(t).ReplayWorkflowHistory(quiet, h)
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
	var snap workflows.Snapshot
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &snap); err != nil {
		t.Fatal(err)
	}

	if err := os.MkdirAll(historyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	runID, n := run.GetRunID(), 0
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
		path := filepath.Join(historyDir, "walkthrough-run"+string(rune('0'+n))+".json")
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
