package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
)

// Resolved without closure inputs, the incident waits for them: the Scribe
// is asked at once and reminded, then the Commander; once the root cause and
// an action item are in, it closes and the postmortem is written from the
// report, closure inputs included.
func TestClosureWaitsForInputsThenWritesPostmortem(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.mustAct(time.Hour, workflows.ActResolve, workflows.Act{By: "alice", Reason: "load re-run"})
	h.at(2*time.Hour, func() {
		st := h.status()
		if st.State != workflows.Resolved || !st.Closure.Enabled || st.Closure.Deadline.IsZero() {
			t.Errorf("after 1h resolved: state %s closure %+v; want resolved, waiting for inputs", st.State, st.Closure)
		}
		if got := h.rec.pages("carol"); len(got) != 1 || !strings.HasPrefix(got[0], "postmortem inputs: ") {
			t.Errorf("scribe carol paged %q, want the closure request", got)
		}
	})
	h.rejected(3*time.Hour, workflows.ActRootCause, workflows.Act{By: "mallory", Note: "x"}, "only people holding a role")
	h.rejected(3*time.Hour+time.Minute, workflows.ActRootCause, workflows.Act{By: "carol", Note: "  "}, "note: empty; write the root cause")
	h.rejected(3*time.Hour+2*time.Minute, workflows.ActActionItem, workflows.Act{By: "carol", Note: "add a test", Person: "zed"}, `person "zed"`)
	h.rejected(3*time.Hour+3*time.Minute, workflows.ActSetSeverity, workflows.Act{By: "alice", Severity: workflows.SEV1}, "only notes and closure inputs")
	h.mustAct(4*time.Hour, workflows.ActContributingFactor, workflows.Act{By: "erin", Note: "no schema check on the landing files"})
	h.at(50*time.Hour, func() {
		if got := h.rec.pages("carol"); len(got) != 2 {
			t.Errorf("carol paged %q, want the request and one reminder (at 25h)", got)
		}
		if got := withoutReminders(h.rec.pages("alice")); len(got) == len(h.rec.pages("alice")) {
			t.Errorf("alice (Commander) got no reminder by 49h: %q", h.rec.pages("alice"))
		}
		if st := h.status(); st.State != workflows.Resolved {
			t.Errorf("state %s at 50h, want still resolved (inputs missing)", st.State)
		}
	})
	h.mustAct(51*time.Hour, workflows.ActRootCause, workflows.Act{By: "carol", Note: "upstream added a column to orders.csv"})
	h.act(52*time.Hour, workflows.ActActionItem, workflows.Act{By: "alice", Note: "validate landing file schemas", Person: "erin"}, func(res workflows.ActResult, err error) {
		if err != nil || !strings.Contains(res.Message, "closure complete") {
			t.Errorf("last action item: %+v %v, want closure complete", res, err)
		}
	})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV2))
	snap := h.result()
	if snap.State != workflows.Closed {
		t.Fatalf("state %s, want closed", snap.State)
	}
	if want := h.env.Now(); snap.ClosedAt.After(want) {
		t.Errorf("closed at %s", snap.ClosedAt)
	}
	reps := h.rec.postmortems()
	if len(reps) != 1 {
		t.Fatalf("%d postmortems written, want 1", len(reps))
	}
	r := reps[0]
	if r.Closure.RootCause != "upstream added a column to orders.csv" || len(r.Closure.Factors) != 1 ||
		len(r.Closure.ActionItems) != 1 || r.Closure.ActionItems[0].Owner != "erin" || r.State != workflows.Closed ||
		r.Closure.ActionItems[0].Issue != "https://issues.example/1" {
		t.Errorf("report closure %+v state %s", r.Closure, r.State)
	}
	if snap.Closure.Postmortem != "postmortems/"+snap.ID+".md" {
		t.Errorf("postmortem location %q", snap.Closure.Postmortem)
	}
	if _, ok := find(snap.Timeline, "action item filed: validate landing file schemas — https://issues.example/1"); !ok {
		t.Error("no action item filed in the timeline")
	}
	if _, ok := find(snap.Timeline, "postmortem written: postmortems/"); !ok {
		t.Error("no postmortem entry in the timeline")
	}
	if e, ok := find(snap.Timeline, "resolved → closed"); !ok || !strings.Contains(e.Why, "closure inputs complete") {
		t.Errorf("close entry %+v, want closure inputs complete", e)
	}
}

// Nobody adds anything: at the deadline the postmortem is written with what
// there is and the timeline says what was missing.
func TestClosureDeadlineWritesWithWhatThereIs(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.mustAct(time.Hour, workflows.ActResolve, workflows.Act{By: "alice"})
	in := input(t, workflows.SEV3)
	in.Options.ClosureTimeout = 10 * time.Hour
	in.Options.ClosureReminder = 4 * time.Hour
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	e, ok := find(snap.Timeline, "resolved → closed")
	if !ok || !strings.Contains(e.Why, "the closure deadline passed with the root cause, contributing factors, action items missing") {
		t.Fatalf("close entry %+v", e)
	}
	if got := snap.ClosedAt.Sub(snap.ResolvedAt); got != 10*time.Hour {
		t.Errorf("closed %s after resolution, want at the 10h deadline", got)
	}
	if n := len(h.rec.postmortems()); n != 1 {
		t.Errorf("%d postmortems, want 1", n)
	}
	// Reminders at 4h (Scribe) and 8h (Commander); none at the deadline.
	var reminders []string
	for _, x := range snap.Timeline {
		if strings.HasPrefix(x.What, "closure reminder") {
			reminders = append(reminders, x.What)
		}
	}
	if len(reminders) != 2 {
		t.Errorf("reminders %q, want 2", reminders)
	}
}

// Inputs given before resolution count: the incident closes after the
// recurrence window as it always did.
func TestClosureInputsBeforeResolution(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.mustAct(10*time.Minute, workflows.ActRootCause, workflows.Act{By: "erin", Note: "bad deploy"})
	h.mustAct(11*time.Minute, workflows.ActActionItem, workflows.Act{By: "erin", Note: "canary the loader"})
	h.mustAct(time.Hour, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	snap := h.result()
	if got := snap.ClosedAt.Sub(snap.ResolvedAt); got != time.Minute {
		t.Errorf("closed %s after resolution, want the 1m recurrence window", got)
	}
	if len(h.rec.pages("carol")) != 0 {
		t.Errorf("scribe paged %q though the inputs were complete", h.rec.pages("carol"))
	}
}

// Status updates are owed by the Liaison at the severity's cadence: due,
// the Liaison is reminded; still missing after the grace, the Commander is
// and the update is recorded as missed; a posted update starts the next
// cycle. Only the Liaison or the Commander may post one.
func TestStatusUpdatesOwedByLiaison(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"}) // SEV2: due every 1h from 10:01
	h.at(62*time.Minute, func() {
		if got := h.rec.pages("dan"); len(got) != 1 || !strings.HasPrefix(got[0], "status update due: ") {
			t.Errorf("liaison dan paged %q at 11:02, want the reminder", got)
		}
	})
	h.at(77*time.Minute, func() {
		if got := withoutReminders(h.rec.pages("alice")); len(got) == len(h.rec.pages("alice")) {
			t.Errorf("Commander alice got no missed-update page by 11:17: %q", h.rec.pages("alice"))
		}
		if st := h.status(); st.State != workflows.Diagnosing {
			t.Errorf("state %s", st.State)
		}
	})
	h.rejected(90*time.Minute, workflows.ActPostUpdate, workflows.Act{By: "erin", Note: "looking"}, "only the Liaison (dan) or the Commander (alice)")
	h.rejected(91*time.Minute, workflows.ActPostUpdate, workflows.Act{By: "dan", Note: " "}, "note: empty")
	h.act(100*time.Minute, workflows.ActPostUpdate, workflows.Act{By: "dan", Note: "orders dashboards stale since 09:00; fix in progress"}, func(res workflows.ActResult, err error) {
		if err != nil || !strings.Contains(res.Message, "the next is due at") {
			t.Errorf("post_update: %+v %v", res, err)
		}
	})
	h.mustAct(165*time.Minute, workflows.ActPostUpdate, workflows.Act{By: "alice", Note: "fix deployed; watching"})
	h.mustAct(170*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	in := input(t, workflows.SEV2)
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if snap.Updates.Missed != 1 || snap.Updates.LastBy != "alice" {
		t.Errorf("updates %+v, want one missed and the last by alice", snap.Updates)
	}
	if got := h.rec.count(workflows.NotifyStatusUpdate); got != 2 {
		t.Errorf("%d status updates posted, want the 2 people wrote", got)
	}
	// Reminders: 11:01 (due), 12:40 + … the cycle after dan's update is
	// due at 12:40 and reminded; alice's update at 12:45 clears it.
	if got := h.rec.pages("dan"); len(got) != 2 {
		t.Errorf("dan reminded %q, want twice (11:01, 12:40)", got)
	}
	var missed []string
	for _, e := range snap.Timeline {
		if strings.HasPrefix(e.What, "status update missed") {
			missed = append(missed, e.What)
		}
	}
	if len(missed) != 1 {
		t.Errorf("missed entries %q, want 1", missed)
	}
}

// publicPage stands in for the status page activities.
type publicPage struct {
	mu       sync.Mutex
	requests []map[string]any
	resolved []string
}

func (p *publicPage) register(h *harness) {
	h.env.RegisterActivityWithOptions(func(_ context.Context, req map[string]any) (map[string]any, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.requests = append(p.requests, req)
		return map[string]any{"id": "sp-1", "url": "https://status.example/sp-1", "status": req["status"]}, nil
	}, activity.RegisterOptions{Name: workflows.StatuspagePublishActivity})
	h.env.RegisterActivityWithOptions(func(_ context.Context, req map[string]any) (map[string]any, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.resolved = append(p.resolved, fmt.Sprint(req["incident"]))
		return map[string]any{"id": "sp-1", "status": "resolved"}, nil
	}, activity.RegisterOptions{Name: workflows.StatuspageResolveActivity})
}

// Public wording goes out only when the Liaison or the Commander sends it;
// its status follows the incident's state unless given; the service's
// component is marked by severity; resolving the incident resolves it
// publicly.
func TestPublicStatusPage(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	page := &publicPage{}
	page.register(h)
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.rejected(2*time.Minute, workflows.ActPublishStatus, workflows.Act{By: "erin", Note: "we are looking"}, "only the Liaison (dan) or the Commander (alice) can approve public wording")
	h.rejected(3*time.Minute, workflows.ActPublishStatus, workflows.Act{By: "dan", Note: "x", Action: "resolved"}, "investigating, identified or monitoring")
	h.act(5*time.Minute, workflows.ActPublishStatus, workflows.Act{By: "dan", Note: "Order figures on dashboards are delayed; we are investigating."}, func(res workflows.ActResult, err error) {
		if err != nil || !strings.Contains(res.Message, "https://status.example/sp-1") {
			t.Errorf("publish: %+v %v", res, err)
		}
	})
	h.mustAct(10*time.Minute, workflows.ActAddNote, workflows.Act{By: "erin", Note: "bad file upstream"})
	h.mustAct(11*time.Minute, workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun", Action: "re-run the load"})
	h.mustAct(12*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"})
	h.mustAct(15*time.Minute, workflows.ActPublishStatus, workflows.Act{By: "alice", Note: "Cause found; a fix is being applied."})
	h.mustAct(30*time.Minute, workflows.ActRootCause, workflows.Act{By: "erin", Note: "bad file upstream"})
	h.mustAct(31*time.Minute, workflows.ActActionItem, workflows.Act{By: "erin", Note: "validate files"})
	h.mustAct(40*time.Minute, workflows.ActResolve, workflows.Act{By: "alice", Reason: "loads green"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV2))
	snap := h.result()
	if len(page.requests) != 2 || page.requests[0]["status"] != "investigating" || page.requests[1]["status"] != "identified" {
		t.Fatalf("publish requests %v, want investigating then identified", page.requests)
	}
	if comps, _ := page.requests[0]["components"].(map[string]any); comps["orders"] != "partial_outage" {
		t.Errorf("components %v, want orders partial_outage (SEV2)", page.requests[0]["components"])
	}
	if len(page.resolved) != 1 || snap.Public.Status != "resolved" {
		t.Errorf("resolved %v, public %+v", page.resolved, snap.Public)
	}
	if _, ok := find(snap.Timeline, "public status investigating published (https://status.example/sp-1)"); !ok {
		t.Error("no publish entry in the timeline")
	}
}
