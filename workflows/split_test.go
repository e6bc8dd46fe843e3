package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
)

func stormAlert(id, key string) workflows.Alert {
	return workflows.Alert{ID: id, Source: "generic:monitor", Title: "check failed: " + key, DedupeKey: "storm:generic:monitor",
		Member: key, Group: workflows.GroupStorm}
}

func TestSplitGivesAnAlertItsOwnIncident(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV3)
	in.Alert = stormAlert("s-1", "generic:monitor:a")
	in.Title = "alert storm: generic:monitor"
	in.Options.ClosureTimeout = time.Hour
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(workflows.SignalAlert, stormAlert("s-2", "generic:monitor:b"))
		h.env.SignalWorkflow(workflows.SignalAlert, stormAlert("s-3", "generic:monitor:c"))
	})
	h.rejected(2*time.Minute, workflows.ActSplit, workflows.Act{By: "erin", Member: "generic:monitor:b"}, "only the Commander")
	h.rejected(3*time.Minute, workflows.ActSplit, workflows.Act{By: "alice", Member: "generic:monitor:zzz"}, `no alert "generic:monitor:zzz"`)
	h.rejected(4*time.Minute, workflows.ActSplit, workflows.Act{By: "alice"}, "which alert?")
	h.act(5*time.Minute, workflows.ActSplit, workflows.Act{By: "alice", Member: "generic:monitor:b", Reason: "a real outage of its own"}, func(res workflows.ActResult, err error) {
		if err != nil || !strings.Contains(res.Message, "splitting out generic:monitor:b") {
			t.Errorf("split: %+v %v", res, err)
		}
	})
	h.rejected(6*time.Minute, workflows.ActSplit, workflows.Act{By: "alice", Member: "generic:monitor:b"}, "already split out to "+workflows.WorkflowID("generic:monitor:b"))
	h.at(7*time.Minute, func() {
		st := h.status()
		if st.Title != "alert storm: generic:monitor" || st.Members[0].Title != "check failed: generic:monitor:a" {
			t.Errorf("title %q, first member %q: want the storm's title and the member's own", st.Title, st.Members[0].Title)
		}
		if got := st.Members[1].SplitTo; got != workflows.WorkflowID("generic:monitor:b") {
			t.Errorf("member b split to %q", got)
		}
		if _, ok := find(h.timeline(), "opened for generic:monitor:b"); !ok {
			t.Error("the split-out incident's start is not in the timeline")
		}
	})
	h.mustAct(8*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.at(9*time.Minute, func() {
		err := h.env.SignalWorkflowByID(workflows.WorkflowID("generic:monitor:b"), workflows.ActResolve, workflows.Act{By: "alice"})
		if err != nil {
			t.Errorf("resolve the split-out incident: %v", err)
		}
	})
	// The split-out incident runs for real beside this one, in the same
	// test environment; its key is the member's own.
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if _, ok := find(snap.Timeline, "split out check failed: generic:monitor:b"); !ok {
		t.Error("the split act is not in the timeline")
	}
}

func TestMoreSevereMemberEscalatesTheGroup(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV3)
	in.Alert = stormAlert("s-1", "generic:monitor:a")
	in.Alert.Severity = workflows.SEV3
	sev1 := stormAlert("s-2", "generic:monitor:b")
	sev1.Severity = workflows.SEV1
	sev4 := stormAlert("s-3", "generic:monitor:c")
	sev4.Severity = workflows.SEV4
	h.at(time.Minute, func() { h.env.SignalWorkflow(workflows.SignalAlert, sev4) })
	h.at(2*time.Minute, func() {
		if st := h.status(); st.Severity != workflows.SEV3 {
			t.Errorf("a SEV4 member: %s, want SEV3 kept", st.Severity)
		}
		h.env.SignalWorkflow(workflows.SignalAlert, sev1)
	})
	h.at(3*time.Minute, func() {
		if st := h.status(); st.Severity != workflows.SEV1 {
			t.Errorf("a SEV1 member: %s, want SEV1", st.Severity)
		}
		if pages := h.rec.pages("alice"); !strings.Contains(strings.Join(pages, "|"), "escalated to SEV1") {
			t.Errorf("alice's pages %q, want the escalation", pages)
		}
	})
	h.mustAct(4*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	if _, ok := find(h.result().Timeline, "escalated SEV3 → SEV1"); !ok {
		t.Error("the escalation is not in the timeline")
	}
}
