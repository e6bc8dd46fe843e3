package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/report"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/followup"
)

// fu is a follow-up of run (id, triggered) that closed at closed, with
// one action item per state ("" unknown, "-" not filed).
func fu(id string, triggered, closed time.Time, states ...string) report.FollowUp {
	r := followup.Result{Report: workflows.Report{ID: id, TriggeredAt: triggered, State: workflows.Closed}}
	for i, st := range states {
		it := workflows.ActionItem{Text: "item", Issue: "https://github.com/acme/dbt/issues/" + string(rune('1'+i)), State: st}
		if st == "-" {
			it.Issue, it.State = "", ""
		}
		r.Report.Closure.ActionItems = append(r.Report.Closure.ActionItems, it)
	}
	return report.FollowUp{ClosedAt: closed, Result: r}
}

// The newest follow-up of each run sets its items' states; a follow-up of
// another run of the same ID (a recurrence, or the occurrence before) and
// an incident never followed up count nothing done or open.
func TestFollowUpsCountedExactly(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	incidents := func() []report.Incident {
		return []report.Incident{
			// a, first run: 3 filed items and 1 not filed.
			{ID: "a", Severity: workflows.SEV2, TriggeredAt: h(0), ToAcknowledge: -1, ToMitigate: -1, ToResolve: -1, ActionItems: 4, ActionItemsFiled: 3},
			// a again, a recurrence: 2 filed, never followed up.
			{ID: "a", Severity: workflows.SEV2, TriggeredAt: h(48), ToAcknowledge: -1, ToMitigate: -1, ToResolve: -1, ActionItems: 2, ActionItemsFiled: 2},
			// b: 2 filed; its only follow-up is of an occurrence a month before.
			{ID: "b", Severity: workflows.SEV3, TriggeredAt: h(10), ToAcknowledge: -1, ToMitigate: -1, ToResolve: -1, ActionItems: 2, ActionItemsFiled: 2},
			// c: followed up, every item open.
			{ID: "c", Severity: workflows.SEV3, TriggeredAt: h(20), ToAcknowledge: -1, ToMitigate: -1, ToResolve: -1, ActionItems: 2, ActionItemsFiled: 2},
			// d: nothing filed; a follow-up found nothing to read.
			{ID: "d", Severity: workflows.SEV4, TriggeredAt: h(30), ToAcknowledge: -1, ToMitigate: -1, ToResolve: -1, ActionItems: 1},
		}
	}
	fus := []report.FollowUp{
		// a's first run: an older follow-up (1 done, 2 open), then the
		// newest (2 done, 1 unknown).
		fu("a", h(0), h(5), workflows.ItemDone, workflows.ItemOpen, workflows.ItemOpen, "-"),
		fu("a", h(0), h(9), workflows.ItemDone, workflows.ItemDone, "", "-"),
		// b's occurrence of a month before, all done: stale, ignored.
		fu("b", h(-720), h(-700), workflows.ItemDone, workflows.ItemDone),
		fu("c", h(20), h(25), workflows.ItemOpen, workflows.ItemOpen),
		fu("d", h(30), h(31), "-"),
		// A follow-up of an incident outside the period.
		fu("z", h(1), h(2), workflows.ItemDone),
	}
	want := report.ActionItems{Total: 11, Filed: 9, Unfiled: 2, Done: 2, Open: 2, Unknown: 1, NotFollowedUp: 4, IncidentsNotFollowedUp: 2}

	in := incidents()
	report.ApplyFollowUps(in, fus)
	for i, w := range []struct {
		followed   bool
		done, open int
		at         time.Time
	}{{true, 2, 0, h(9)}, {false, 0, 0, time.Time{}}, {false, 0, 0, time.Time{}}, {true, 0, 2, h(25)}, {true, 0, 0, h(31)}} {
		if g := in[i]; g.FollowedUp != w.followed || g.ActionItemsDone != w.done || g.ActionItemsOpen != w.open || !g.FollowedUpAt.Equal(w.at) {
			t.Errorf("incident %d (%s at %s): followed up %v at %s, done %d, open %d; want %v at %s, %d, %d",
				i, g.ID, g.TriggeredAt, g.FollowedUp, g.FollowedUpAt, g.ActionItemsDone, g.ActionItemsOpen, w.followed, w.at, w.done, w.open)
		}
	}
	s := report.Aggregate(in, t0, until, "")
	if s.ActionItems != want {
		t.Errorf("action items %+v, want %+v", s.ActionItems, want)
	}
	if len(s.Notes) != 1 || s.Notes[0] != report.NoteNotFollowedUp {
		t.Errorf("notes %q, want the note on items not followed up", s.Notes)
	}
	var tb strings.Builder
	if err := report.WriteTable(&tb, s); err != nil {
		t.Fatal(err)
	}
	if !regexpMatch(`ACTION ITEMS\s+TOTAL\s+FILED\s+NOT FILED\s+DONE\s+OPEN\s+UNKNOWN\s+NOT FOLLOWED UP\n\s+11\s+9\s+2\s+2\s+2\s+1\s+4\s*\n`, tb.String()) {
		t.Errorf("table's action items:\n%s", tb.String())
	}

	// The follow-ups' order does not matter.
	wantJSON, _ := json.Marshal(in)
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		r.Shuffle(len(fus), func(i, j int) { fus[i], fus[j] = fus[j], fus[i] })
		got := incidents()
		report.ApplyFollowUps(got, fus)
		if b, _ := json.Marshal(got); string(b) != string(wantJSON) {
			t.Fatalf("follow-ups in another order give\n%s\nwant\n%s", b, wantJSON)
		}
	}

	// Without follow-ups nothing is done or open: every filed item is not
	// followed up.
	s = report.Aggregate(incidents(), t0, until, "")
	if want := (report.ActionItems{Total: 11, Filed: 9, Unfiled: 2, NotFollowedUp: 9, IncidentsNotFollowedUp: 4}); s.ActionItems != want {
		t.Errorf("without follow-ups: action items %+v, want %+v", s.ActionItems, want)
	}
}

func TestFollowUpListQuery(t *testing.T) {
	q := report.FollowUpListQuery(report.Query{Since: t0, Until: until})
	if want := "WorkflowType = 'ActionItemFollowUp' AND ExecutionStatus = 'Completed' AND CloseTime >= '2026-08-31T23:00:00Z'"; q != want {
		t.Errorf("query %s, want %s", q, want)
	}
}

// RunFollowUps runs one follow-up per incident ID with filed items and no
// follow-up, never one for an incident already followed up or with nothing
// filed; a failed one is warned about and leaves its incident not followed
// up; a result is counted only for the run it is of.
func TestRunFollowUps(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	in := []report.Incident{
		{ID: "a", TriggeredAt: h(0), ActionItems: 2, ActionItemsFiled: 2},  // earlier run of a
		{ID: "a", TriggeredAt: h(48), ActionItems: 1, ActionItemsFiled: 1}, // a's latest run
		{ID: "b", TriggeredAt: h(1), ActionItems: 1, ActionItemsFiled: 1, FollowedUp: true, ActionItemsDone: 1},
		{ID: "c", TriggeredAt: h(2), ActionItems: 1},
		{ID: "d", TriggeredAt: h(3), ActionItems: 1, ActionItemsFiled: 1},
	}
	var mu sync.Mutex
	calls := map[string]int{}
	var warn bytes.Buffer
	f := &report.Fetcher{Concurrency: 2, Warnings: &warn, RunFollowUp: func(_ context.Context, id string) (followup.Result, error) {
		mu.Lock()
		calls[id]++
		mu.Unlock()
		switch id {
		case "a": // a follow-up reads the latest run
			return fu("a", h(48), h(50), workflows.ItemDone).Result, nil
		case "d":
			return followup.Result{}, errors.New("GitHub answered 502")
		}
		return followup.Result{}, fmt.Errorf("unexpected follow-up of %s", id)
	}}
	ran := f.RunFollowUps(t.Context(), in)
	if want := map[string]int{"a": 1, "d": 1}; !maps.Equal(calls, want) {
		t.Errorf("follow-ups run %v, want %v", calls, want)
	}
	if len(ran) != 1 || !strings.Contains(warn.String(), "d: its action items stay not followed up: GitHub answered 502") {
		t.Errorf("ran %d (want 1), warnings %q", len(ran), warn.String())
	}
	report.ApplyFollowUps(in, ran)
	s := report.Aggregate(in, t0, until, "")
	if want := (report.ActionItems{Total: 6, Filed: 5, Unfiled: 1, Done: 2, NotFollowedUp: 3, IncidentsNotFollowedUp: 2}); s.ActionItems != want {
		t.Errorf("action items %+v, want %+v", s.ActionItems, want)
	}
}
