package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
)

func TestRelateLinksBothSides(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "incident-orders-load"})
	in := input(t, workflows.SEV3)
	var told []workflows.LinkSignal
	h.env.OnSignalExternalWorkflow(mock.Anything, "incident-upstream-orders", "", workflows.SignalIncidentLink, mock.Anything).Return(
		func(_, _, _ string, _ string, arg any) error {
			told = append(told, arg.(workflows.LinkSignal))
			return nil
		})
	h.env.OnSignalExternalWorkflow(mock.Anything, "incident-gone", "", workflows.SignalIncidentLink, mock.Anything).Return(errors.New("workflow not found"))
	h.mustAct(time.Minute, workflows.ActRelate, workflows.Act{By: "erin", Other: "incident-upstream-orders"})
	h.rejected(2*time.Minute, workflows.ActRelate, workflows.Act{By: "erin", Other: "incident-upstream-orders"}, "already linked")
	h.rejected(3*time.Minute, workflows.ActRelate, workflows.Act{By: "mallory", Other: "incident-x"}, "only a role holder")
	h.rejected(4*time.Minute, workflows.ActRelate, workflows.Act{By: "alice", Other: "orders-load"}, "is not an incident ID")
	h.rejected(5*time.Minute, workflows.ActRelate, workflows.Act{By: "alice", Other: "incident-orders-load"}, "itself")
	h.mustAct(6*time.Minute, workflows.ActRelate, workflows.Act{By: "alice", Other: "incident-gone"})
	h.at(7*time.Minute, func() {
		st := h.status()
		if len(st.Related) != 1 || st.Related[0].ID != "incident-upstream-orders" || st.Related[0].Kind != workflows.LinkRelated {
			t.Errorf("related %+v, want the upstream incident only (the link to a missing one is removed)", st.Related)
		}
		if _, ok := find(h.timeline(), "could not relate to incident-gone"); !ok {
			t.Error("the failed link is not in the timeline")
		}
	})
	// The other side's link arrives as a signal.
	h.at(8*time.Minute, func() {
		h.env.SignalWorkflow(workflows.SignalIncidentLink, workflows.LinkSignal{Link: workflows.IncidentLink{Kind: workflows.LinkRelated, ID: "incident-dbt-orders", Title: "dbt orders model failing", By: "grace"}})
		h.env.SignalWorkflow(workflows.SignalIncidentLink, workflows.LinkSignal{Link: workflows.IncidentLink{Kind: "owned", ID: "incident-x"}})
	})
	h.mustAct(9*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if len(told) != 1 || told[0].Link.ID != snap.ID || told[0].Link.Kind != workflows.LinkRelated || told[0].Link.By != "erin" {
		t.Errorf("told the other incident %+v", told)
	}
	if len(snap.Related) != 2 || snap.Related[1].ID != "incident-dbt-orders" {
		t.Errorf("related %+v, want the upstream and the dbt incident", snap.Related)
	}
	if _, ok := find(snap.Timeline, "incident link signal ignored"); !ok {
		t.Error("a link of an unknown kind was not refused")
	}
}

func TestMergeHandsAlertsOverAndCloses(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV3)
	in.Options.CloseAfter = time.Hour
	var told []workflows.LinkSignal
	h.env.OnSignalExternalWorkflow(mock.Anything, "incident-upstream-orders", "", workflows.SignalIncidentLink, mock.Anything).Return(
		func(_, _, _ string, _ string, arg any) error {
			told = append(told, arg.(workflows.LinkSignal))
			return nil
		})
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(workflows.SignalAlert, workflows.Alert{ID: "a-2", Source: "alertmanager", Title: "orders load failing", DedupeKey: "orders-load"})
	})
	h.rejected(2*time.Minute, workflows.ActMerge, workflows.Act{By: "erin", Other: "incident-upstream-orders"}, "only the Commander")
	h.mustAct(3*time.Minute, workflows.ActMerge, workflows.Act{By: "alice", Other: "incident-upstream-orders", Reason: "the upstream load failure"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if snap.State != workflows.Closed || snap.MergedInto != "incident-upstream-orders" {
		t.Fatalf("state %s, merged into %q", snap.State, snap.MergedInto)
	}
	if got := snap.ClosedAt.Sub(snap.ResolvedAt); got > time.Minute {
		t.Errorf("closed %s after resolution, want at once (its alerts go to the other incident)", got)
	}
	if len(told) != 1 || told[0].Link.Kind != workflows.LinkMerged || told[0].Link.Alerts != 2 {
		t.Errorf("told %+v, want one merge carrying 2 alerts", told)
	}
	if e, ok := find(snap.Timeline, "merged into incident-upstream-orders: the upstream load failure"); !ok || e.Who != "alice" {
		t.Errorf("resolution entry %+v", e)
	}
	if n := len(h.rec.postmortems()); n != 0 {
		t.Errorf("%d postmortems; the incident that carries on writes it", n)
	}
}

func TestMergeFailureKeepsTheIncidentOpen(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV3)
	h.env.OnSignalExternalWorkflow(mock.Anything, "incident-gone", "", workflows.SignalIncidentLink, mock.Anything).Return(errors.New("workflow not found"))
	h.mustAct(time.Minute, workflows.ActMerge, workflows.Act{By: "alice", Other: "incident-gone"})
	h.at(2*time.Minute, func() {
		st := h.status()
		if st.State.Open() != true || st.MergedInto != "" {
			t.Errorf("after a failed merge: %s, merged into %q; want open, none", st.State, st.MergedInto)
		}
		if pages := h.rec.pages("alice"); !strings.Contains(strings.Join(pages, "|"), "merge failed") {
			t.Errorf("alice's pages %q, want a merge failure", pages)
		}
	})
	h.mustAct(3*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	if snap := h.result(); snap.MergedInto != "" {
		t.Errorf("merged into %q", snap.MergedInto)
	}
}

func TestMergedIncidentJoinsTheSurvivor(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV3)
	merged := workflows.LinkSignal{
		Link:    workflows.IncidentLink{Kind: workflows.LinkMerged, ID: "incident-dbt-orders", Title: "dbt orders failing", By: "grace", Alerts: 7},
		Members: []workflows.AlertMember{{Key: "am:dbt_orders", Title: "dbt orders failing", Status: workflows.Firing, Count: 7}},
	}
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(workflows.SignalIncidentLink, merged)
		h.env.SignalWorkflow(workflows.SignalIncidentLink, merged) // a repeat counts once
	})
	h.at(2*time.Minute, func() {
		st := h.status()
		if st.AlertCount != 8 || len(st.Members) != 1 || len(st.Related) != 1 || st.Related[0].Kind != workflows.LinkMerged {
			t.Errorf("after the merge: %d alerts, members %+v, related %+v; want 8, the dbt member, one merged link", st.AlertCount, st.Members, st.Related)
		}
	})
	// A forged merge cannot add an unbounded count.
	h.at(150*time.Second, func() {
		h.env.SignalWorkflow(workflows.SignalIncidentLink, workflows.LinkSignal{Link: workflows.IncidentLink{Kind: workflows.LinkMerged, ID: "incident-forged", Alerts: 1 << 40}})
	})
	h.at(170*time.Second, func() {
		if st := h.status(); st.AlertCount != 8+100*workflows.MaxSeenIDs {
			t.Errorf("after a forged merge of 2^40 alerts: %d, want the bound added once", st.AlertCount)
		}
	})
	h.mustAct(3*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	if _, ok := find(h.result().Timeline, "incident incident-dbt-orders merged into this one"); !ok {
		t.Error("the merge is not in the timeline")
	}
}
