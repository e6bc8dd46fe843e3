package report_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
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
