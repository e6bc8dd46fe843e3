package workflows_test

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
)

// weekEvent is something that happens to the week-long incident, at an
// offset from its start.
type weekEvent struct {
	at   time.Duration
	name string
	do   func(h *harness)
}

// One incident over a simulated week (time skipping): 2,500 alerts, ~210
// redeliveries a day late, 2,500 notes, the acknowledgement, fourteen shift
// handoffs accepted by the incoming Commander, a continue-as-new in the
// middle, resolution and the postmortem. Nothing is lost or counted twice
// across the hand-over between runs, and the memory stays bounded.
func TestWeekLongIncident(t *testing.T) {
	alerts, notes := 2500, 2500
	if raceDetector {
		alerts, notes = 500, 500
	}
	week := 7 * 24 * time.Hour
	var events []weekEvent
	add := func(at time.Duration, name string, do func(h *harness)) {
		events = append(events, weekEvent{at: at, name: name, do: do})
	}
	step := (week - time.Hour) / time.Duration(alerts+notes)
	for i := range alerts + notes {
		at := time.Hour + time.Duration(i)*step
		if i%2 == 0 {
			id := fmt.Sprintf("w-%d", i/2)
			a := workflows.Alert{ID: id, Source: "alertmanager", Title: "orders load failing", DedupeKey: "orders-load"}
			add(at, "alert "+id, func(h *harness) { h.env.SignalWorkflow(workflows.SignalAlert, a) })
			if (i/2)%10 == 0 && at+24*time.Hour < week {
				add(at+24*time.Hour, "redelivery "+id, func(h *harness) { h.env.SignalWorkflow(workflows.SignalAlert, a) })
			}
			continue
		}
		note := workflows.Act{By: "carol", Note: fmt.Sprintf("note %d", i/2)}
		add(at, note.Note, func(h *harness) { h.env.SignalWorkflow(workflows.ActAddNote, note) })
	}
	// The incident opens Tuesday 10:00 in New York: the day shift (alice)
	// ends at 20:00, the night shift (grace) at 08:00. Each incoming
	// Commander accepts five minutes before the boundary.
	for d := range 7 {
		day := time.Duration(d) * 24 * time.Hour
		add(day+9*time.Hour+55*time.Minute, "grace accepts", func(h *harness) {
			h.mustAct(0, workflows.ActAcceptHandoff, workflows.Act{By: "grace"})
		})
		add(day+21*time.Hour+55*time.Minute, "alice accepts", func(h *harness) {
			h.mustAct(0, workflows.ActAcceptHandoff, workflows.Act{By: "alice"})
		})
	}
	add(time.Minute, "ack", func(h *harness) { h.mustAct(0, workflows.ActAcknowledge, workflows.Act{By: "alice"}) })
	add(week/2, "continue as new", func(h *harness) { h.env.SetContinueAsNewSuggested(true) })
	add(week+time.Minute, "resolve", func(h *harness) { h.mustAct(0, workflows.ActResolve, workflows.Act{By: "alice"}) })
	add(week+2*time.Minute, "root cause", func(h *harness) {
		h.mustAct(0, workflows.ActRootCause, workflows.Act{By: "carol", Note: "a week of upstream schema drift"})
	})

	slices.SortStableFunc(events, func(a, b weekEvent) int { return cmp.Compare(a.at, b.at) })
	start := time.Date(2026, 6, 2, 10, 0, 0, 0, mustLoc(t))
	in := input(t, workflows.SEV3)
	in.Options.ClosureTimeout = time.Hour
	done := make([]bool, len(events))
	var snap workflows.Snapshot
	var h *harness
	for run := 0; ; run++ {
		if run > 3 {
			t.Fatal("more than four runs")
		}
		offset := time.Duration(0)
		if in.Carry != nil {
			offset = in.Carry.Timeline[len(in.Carry.Timeline)-1].At.Sub(start)
		}
		h = newHarness(t, start.Add(offset).In(mustLoc(t)).Format("2006-01-02 15:04"))
		h.env.SetTestTimeout(2 * time.Minute)
		// newHarness parses to the minute: schedule from the run's real start.
		// The test environment takes a bounded number of callbacks ahead
		// of the run: each event schedules the next.
		runStart := start.Add(offset).Truncate(time.Minute)
		var next func(i int, now time.Duration)
		next = func(i int, now time.Duration) {
			for i < len(events) && done[i] {
				i++
			}
			if i == len(events) {
				return
			}
			e := events[i]
			h.env.RegisterDelayedCallback(func() {
				done[i] = true
				e.do(h)
				next(i+1, e.at)
			}, max(e.at-now, 0))
		}
		next(0, runStart.Sub(start))
		h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
		if !h.env.IsWorkflowCompleted() {
			t.Fatal("run did not complete")
		}
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); errors.As(err, &can) {
			var next workflows.IncidentInput
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				t.Fatal(err)
			}
			in = next
			continue
		}
		snap = h.result()
		break
	}
	for i, e := range events {
		if !done[i] {
			t.Errorf("event %q at %s never happened", e.name, e.at)
		}
	}
	if snap.Runs != 1 {
		t.Errorf("%d continued runs, want 1", snap.Runs)
	}
	if snap.AlertCount != alerts+1 {
		t.Errorf("alert count %d, want %d: the opening alert and %d more, redeliveries not counted", snap.AlertCount, alerts+1, alerts)
	}
	seen := map[string]int{}
	handoffs := 0
	for _, e := range snap.Timeline {
		if rest, ok := strings.CutPrefix(e.What, "note: note "); ok {
			seen[rest]++
		}
		if strings.HasPrefix(e.What, "accepted the handoff") {
			handoffs++
		}
	}
	for i := range notes {
		if n := seen[fmt.Sprint(i)]; n != 1 {
			t.Fatalf("note %d recorded %d times, want once", i, n)
		}
	}
	if handoffs != 14 {
		t.Errorf("%d handoffs accepted, want 14", handoffs)
	}
	if snap.Seen == nil || len(snap.Seen.Alerts) > workflows.MaxSeenIDs || snap.Seen.Forgotten != 0 {
		t.Errorf("idempotency memory %+v", snap.Seen)
	}
	pms := h.rec.postmortems()
	if len(pms) != 1 {
		t.Fatalf("%d postmortems, want 1", len(pms))
	}
	n := 0
	for _, e := range pms[0].Timeline {
		if strings.HasPrefix(e.What, "note: note ") {
			n++
		}
	}
	if n != notes || pms[0].AlertCount != alerts+1 {
		t.Errorf("postmortem from %d notes and %d alerts, want %d and %d", n, pms[0].AlertCount, notes, alerts+1)
	}
	t.Logf("%d timeline entries, %d alerts remembered", len(snap.Timeline), len(snap.Seen.Alerts))
}

func mustLoc(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
