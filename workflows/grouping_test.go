package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
)

// member is an alert of the group "labels dataset=orders" with its own key.
func member(id, key string, st workflows.AlertStatus) workflows.Alert {
	return workflows.Alert{
		ID: id, Source: "alertmanager", Title: "load failing: " + key, DedupeKey: "group:s3:orders", Status: st,
		Member: key, Group: "labels dataset=orders",
	}
}

func TestGroupedIncidentListsItsAlertsAndRecoversWithTheLast(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV3)
	in.Alert = member("a-1", "am:orders_a", workflows.Firing)
	send := func(at time.Duration, alerts ...workflows.Alert) {
		h.at(at, func() {
			for _, a := range alerts {
				h.env.SignalWorkflow(workflows.SignalAlert, a)
			}
		})
	}
	send(time.Minute, in.Alert, member("a-2", "am:orders_b", workflows.Firing), member("a-3", "am:orders_a", workflows.Firing))
	h.at(2*time.Minute, func() {
		st := h.status()
		if st.Group != "labels dataset=orders" || len(st.Members) != 2 || st.AlertCount != 3 {
			t.Fatalf("status: group %q, %d members, %d alerts; want the group, 2 members, 3 alerts", st.Group, len(st.Members), st.AlertCount)
		}
		if m := st.Members[0]; m.Key != "am:orders_a" || m.Count != 2 || m.Status != workflows.Firing {
			t.Errorf("first member %+v, want am:orders_a firing, counted twice", m)
		}
		if _, ok := find(h.timeline(), "alert joined (labels dataset=orders): load failing: am:orders_b"); !ok {
			t.Error("the second member's arrival is not in the timeline")
		}
	})
	h.mustAct(3*time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	send(4*time.Minute, member("a-4", "am:orders_b", workflows.Recovered))
	h.at(5*time.Minute, func() {
		st := h.status()
		if st.State != workflows.Diagnosing || st.AlertStatus != workflows.Firing {
			t.Errorf("one of two members recovered: %s/%s, want diagnosing/firing", st.State, st.AlertStatus)
		}
		if st.Members[1].Status != workflows.Recovered {
			t.Errorf("member b %+v, want recovered", st.Members[1])
		}
	})
	// A recovery of an alert the group never had changes nothing.
	send(6*time.Minute, member("a-5", "am:orders_zzz", workflows.Recovered), member("a-6", "am:orders_a", workflows.Recovered))
	h.at(7*time.Minute, func() {
		st := h.status()
		if st.State != workflows.Monitoring || st.AlertStatus != workflows.Recovered || len(st.Members) != 2 {
			t.Errorf("every member recovered: %s/%s with %d members, want monitoring/resolved with 2", st.State, st.AlertStatus, len(st.Members))
		}
	})
	send(8*time.Minute, member("a-7", "am:orders_b", workflows.Firing))
	h.at(9*time.Minute, func() {
		if st := h.status(); st.State != workflows.Diagnosing || st.Members[1].Status != workflows.Firing {
			t.Errorf("a member fired again: %s, member %+v; want diagnosing, firing", st.State, st.Members[1])
		}
	})
	h.mustAct(10*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if snap.AlertCount != 4 {
		t.Errorf("alert count %d, want 4 firing alerts", snap.AlertCount)
	}
}

func TestGroupListsAtMostMaxMembers(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV4)
	in.Alert = member("m-0", "k-0", workflows.Firing)
	n := workflows.MaxMembers + 20
	h.at(time.Minute, func() {
		for i := 1; i < n; i++ {
			h.env.SignalWorkflow(workflows.SignalAlert, member(fmt.Sprintf("m-%d", i), fmt.Sprintf("k-%d", i), workflows.Firing))
		}
	})
	h.at(2*time.Minute, func() {
		st := h.status()
		if len(st.Members) != workflows.MaxMembers || st.MembersMore != 20 || st.AlertCount != n {
			t.Errorf("%d members listed, %d more, %d alerts; want %d, 20, %d", len(st.Members), st.MembersMore, st.AlertCount, workflows.MaxMembers, n)
		}
	})
	h.mustAct(3*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	joined := 0
	for _, e := range snap.Timeline {
		if strings.HasPrefix(e.What, "alert joined") {
			joined++
		}
	}
	if joined != workflows.MaxMembers-1 {
		t.Errorf("%d join entries in the timeline, want %d (one per listed member after the first)", joined, workflows.MaxMembers-1)
	}
}

// An old redelivery must not count twice however many alerts came since:
// the memory is bounded by time (a week) and by a count far above what an
// incident sees in that time, not by the last 200 IDs.
func TestRedeliveryAfterManyAlertsIsNotCountedTwice(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV4)
	alert := func(id string) workflows.Alert {
		return workflows.Alert{ID: id, Source: "alertmanager", Title: "orders load failing", DedupeKey: "orders-load"}
	}
	h.at(time.Minute, func() {
		for i := 2; i <= 1000; i++ {
			h.env.SignalWorkflow(workflows.SignalAlert, alert(fmt.Sprintf("a-%d", i)))
		}
	})
	// Redeliveries of the first alerts, a thousand alerts and two days later.
	h.at(48*time.Hour, func() {
		for _, id := range []string{"a-1", "a-2", "a-3", "a-500"} {
			h.env.SignalWorkflow(workflows.SignalAlert, alert(id))
		}
	})
	h.at(48*time.Hour+time.Minute, func() {
		if st := h.status(); st.AlertCount != 1000 {
			t.Errorf("alert count %d after redeliveries, want 1000", st.AlertCount)
		}
	})
	// Past the window the old IDs are forgotten: the memory shrinks.
	h.at(workflows.SeenWindow+72*time.Hour, func() {
		h.env.SignalWorkflow(workflows.SignalAlert, alert("a-late"))
	})
	h.mustAct(workflows.SeenWindow+73*time.Hour, workflows.ActResolve, workflows.Act{By: "alice", ID: "resolve-1"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if snap.AlertCount != 1001 {
		t.Errorf("alert count %d, want 1001", snap.AlertCount)
	}
	if snap.Seen == nil {
		t.Fatal("the incident kept the old memory")
	}
	if len(snap.Seen.Alerts) != 1 || len(snap.Seen.Acts) != 1 || snap.Seen.Forgotten != 0 {
		t.Errorf("memory after the window: %d alerts, %d acts, %d forgotten; want 1, 1, 0", len(snap.Seen.Alerts), len(snap.Seen.Acts), snap.Seen.Forgotten)
	}
	if snap.SeenAlertIDs != nil || snap.SeenActIDs != nil {
		t.Error("the old lists are still kept")
	}
}

// A run continued from an incident that kept the old memory moves to the
// new one without forgetting.
func TestOldMemoryIsCarriedIntoTheWindow(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV4)
	carry := workflows.Snapshot{
		ID: "incident-orders-load", Title: "orders load failing", State: workflows.Acknowledged, Severity: workflows.SEV4,
		Roles: workflows.Roles{Commander: "alice"}, AlertCount: 2, AlertStatus: workflows.Firing,
		SeenAlertIDs: []string{"old-1", "old-2"}, SeenActIDs: []string{"ack-1"},
		TriggeredAt: time.Date(2026, 6, 2, 13, 0, 0, 0, time.UTC),
	}
	in.Carry = &carry
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(workflows.SignalAlert, workflows.Alert{ID: "old-2", Source: "alertmanager", Title: "x", DedupeKey: "orders-load"})
		h.env.SignalWorkflow(workflows.SignalAlert, workflows.Alert{ID: "new-1", Source: "alertmanager", Title: "x", DedupeKey: "orders-load"})
	})
	h.act(2*time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice", ID: "ack-1"}, func(res workflows.ActResult, err error) {
		if err != nil || !strings.Contains(res.Message, "already applied") {
			t.Errorf("redelivered act: %+v %v, want already applied", res, err)
		}
	})
	h.mustAct(3*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if snap.AlertCount != 3 {
		t.Errorf("alert count %d, want 3 (old-2 is a redelivery)", snap.AlertCount)
	}
	if snap.Seen == nil || len(snap.Seen.Alerts) != 3 {
		t.Errorf("memory %+v, want the new one holding old-1, old-2, new-1", snap.Seen)
	}
}
