package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"go.temporal.io/sdk/client"
)

// historyDir holds recorded histories of the incident workflow and its
// runbook child (JSON, as the Temporal CLI and UI export them).
var historyDir = filepath.Join("..", "..", "workflows", "testdata", "histories")

// countFile counts a recorded history file.
func countFile(t *testing.T, name string) historyCounts {
	t.Helper()
	f, err := os.Open(filepath.Join(historyDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return countHistory(h.GetEvents())
}

// The counts of two recorded runs, worked out by hand from the files: an
// incident's first run (started by a client, starting its runbook child,
// one update, four upserts of TemporalChangeVersion alone) and the
// runbook child's run.
func TestCountHistoryRecorded(t *testing.T) {
	for _, tc := range []struct {
		file string
		want historyCounts
	}{{
		// actions: start 1, signals 3, timers 3, update 1, child 2,
		// upserts 1 (the four version-only ones are free), activity
		// attempts 6, side effect 1, local activities in 3 tasks.
		file: "v5-runbook-walkthrough-incident-run1.json", // recorded histories with a version prefix never change
		want: historyCounts{runs: 1, events: 74, workflowTasks: 10, activities: 6, attempts: 6, timers: 3, signals: 3,
			updates: 1, children: 1, upserts: 5, sideEffects: 1, localActivityTasks: 3, actions: 21},
	}, {
		// actions: its start is its parent's (0), signal 1, timer 1,
		// upsert 0 (version only), attempts 3, side effects 7, local
		// activities in 9 tasks.
		file: "v5-runbook-walkthrough-runbook-run1.json",
		want: historyCounts{runs: 1, events: 90, workflowTasks: 14, activities: 3, attempts: 3, timers: 1, signals: 1,
			signalsSent: 8, upserts: 1, sideEffects: 7, localActivityTasks: 9, actions: 21},
	}} {
		if got := countFile(t, tc.file); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.file, got, tc.want)
		}
	}
}

// On every recorded history, the event-type counts agree with a plain
// text count of the file's eventType fields.
func TestCountHistoryMatchesText(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historyDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in %s (%v)", historyDir, err)
	}
	textCount := func(b []byte, typ string) int {
		re := regexp.MustCompile(`"eventType":\s*"EVENT_TYPE_` + typ + `"`)
		return len(re.FindAll(b, -1))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := countFile(t, filepath.Base(f))
		for _, c := range []struct {
			name string
			got  int
			typ  string
		}{
			{"workflow tasks", got.workflowTasks, "WORKFLOW_TASK_COMPLETED"},
			{"activities", got.activities, "ACTIVITY_TASK_SCHEDULED"},
			{"timers", got.timers, "TIMER_STARTED"},
			{"signals", got.signals, "WORKFLOW_EXECUTION_SIGNALED"},
			{"signals sent", got.signalsSent, "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED"},
			{"updates", got.updates, "WORKFLOW_EXECUTION_UPDATE_ACCEPTED"},
			{"children", got.children, "START_CHILD_WORKFLOW_EXECUTION_INITIATED"},
			{"upserts", got.upserts, "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"},
			{"events", got.events, `[A-Z_]+`},
		} {
			if want := textCount(b, c.typ); c.got != want {
				t.Errorf("%s: %s %d, the file has %d", filepath.Base(f), c.name, c.got, want)
			}
		}
		if got.actions <= 0 {
			t.Errorf("%s: %d billable actions", filepath.Base(f), got.actions)
		}
	}
}
