package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
)

// The incident document is written when the incident opens, its place is
// recorded, posted to the channel and shown in the status; acts that come
// quickly are carried by one later update rather than one each; the last
// update, after closure, carries the closed incident with its postmortem
// and the whole timeline.
func TestIncidentDocumentKeptCurrent(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	const url = "file:///incidents/default-test-workflow-id.md" // the recorder's answer for the test workflow
	h.at(30*time.Second, func() {
		docs := h.rec.documents()
		if len(docs) != 1 || docs[0].State != workflows.Triggered {
			t.Fatalf("after opening: %d document syncs, want 1 of the triggered incident", len(docs))
		}
		if st := h.status(); st.Document != url {
			t.Errorf("status document %q, want %q", st.Document, url)
		}
		if _, ok := find(h.timeline(), "incident document: "+url); !ok {
			t.Error("the document's place is not in the timeline")
		}
		h.rec.mu.Lock()
		posted := false
		for _, n := range h.rec.sent {
			posted = posted || n.Kind == workflows.NotifyPost && strings.HasPrefix(n.Subject, "incident document: ") && strings.Contains(n.Body, url)
		}
		h.rec.mu.Unlock()
		if !posted {
			t.Error("the document's place was not posted to the channel")
		}
	})
	h.mustAct(2*time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	for i := range 6 {
		h.mustAct(2*time.Minute+time.Duration(i+1)*5*time.Second, workflows.ActAddNote, workflows.Act{By: "carol", Note: "note " + string(rune('a'+i))})
	}
	var before int
	h.at(2*time.Minute+time.Second, func() { before = len(h.rec.documents()) })
	h.at(5*time.Minute, func() {
		docs := h.rec.documents()
		// Seven acts in 30 seconds, with a one-minute interval: at most
		// two updates carry them.
		if n := len(docs) - before; n < 1 || n > 2 {
			t.Errorf("%d document updates for 7 acts within 30s, want 1 or 2", n)
		}
		last := docs[len(docs)-1]
		if _, ok := find(last.Timeline, "note f"); !ok {
			t.Error("the latest document update does not carry the last note")
		}
	})
	h.mustAct(time.Hour, workflows.ActRootCause, workflows.Act{By: "carol", Note: "a bad deploy"})
	h.mustAct(time.Hour+time.Minute, workflows.ActActionItem, workflows.Act{By: "alice", Note: "add a canary", Person: "erin"})
	h.mustAct(time.Hour+2*time.Minute, workflows.ActResolve, workflows.Act{By: "alice", Reason: "fixed"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV2))
	snap := h.result()
	if snap.State != workflows.Closed {
		t.Fatalf("state %s, want closed", snap.State)
	}
	docs := h.rec.documents()
	last := docs[len(docs)-1]
	if last.State != workflows.Closed || last.Closure.Postmortem == "" || last.Document != url {
		t.Errorf("last document update: state %s postmortem %q document %q; want closed, with the postmortem", last.State, last.Closure.Postmortem, last.Document)
	}
	if len(last.Timeline) != len(snap.Timeline) {
		t.Errorf("last document update carries %d timeline entries, the incident ended with %d", len(last.Timeline), len(snap.Timeline))
	}
	if n := strings.Count(timelineText(snap.Timeline), "incident document: "); n != 1 {
		t.Errorf("the document's place is recorded %d times, want once", n)
	}
}

// A document store that fails costs one timeline entry per run of
// failures, not one per attempt, and never keeps the incident from closing.
func TestIncidentDocumentFailureRecordedOnce(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	calls := 0
	h.env.OnActivity(workflows.DocumentActivityName, mock.Anything, mock.Anything).Return(func(ctx context.Context, r workflows.Report) (workflows.DocumentResult, error) {
		calls++
		return workflows.DocumentResult{}, temporal.NewNonRetryableApplicationError("repository acme/incidents not found", "NotFound", errors.New("404"))
	})
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.mustAct(10*time.Minute, workflows.ActAddNote, workflows.Act{By: "carol", Note: "still looking"})
	h.mustAct(time.Hour, workflows.ActRootCause, workflows.Act{By: "carol", Note: "a bad deploy"})
	h.mustAct(time.Hour+time.Minute, workflows.ActActionItem, workflows.Act{By: "alice", Note: "add a canary"})
	h.mustAct(time.Hour+2*time.Minute, workflows.ActResolve, workflows.Act{By: "alice", Reason: "fixed"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	snap := h.result()
	if snap.State != workflows.Closed {
		t.Fatalf("state %s, want closed despite the document failing", snap.State)
	}
	if n := strings.Count(timelineText(snap.Timeline), "incident document could not be updated"); n != 1 {
		t.Errorf("failure recorded %d times, want once", n)
	}
	if e, ok := find(snap.Timeline, "incident document could not be updated"); !ok || !strings.Contains(e.Why, "acme/incidents not found") {
		t.Errorf("failure entry %+v does not say why", e)
	}
	if snap.Document.URL != "" {
		t.Errorf("document URL %q after only failures", snap.Document.URL)
	}
	if calls < 2 {
		t.Errorf("%d sync attempts, want one per batch of new entries (several)", calls)
	}
}

func timelineText(tl []workflows.TimelineEntry) string {
	var b strings.Builder
	for _, e := range tl {
		b.WriteString(e.What)
		b.WriteByte('\n')
	}
	return b.String()
}

// What datasev writes outside Temporal is named by the occurrence: the ID
// for the first, the ID and the trigger time for a recurrence.
func TestReportKey(t *testing.T) {
	r := workflows.Report{ID: "incident-orders-load", TriggeredAt: time.Date(2026, 11, 25, 13, 2, 13, 0, time.FixedZone("CET", 3600))}
	if got := r.Key(); got != "incident-orders-load" {
		t.Errorf("first occurrence: %q", got)
	}
	r.PreviousRunID = "0b7c…"
	if got := r.Key(); got != "incident-orders-load@20261125T120213Z" {
		t.Errorf("recurrence: %q", got)
	}
}
