package incidents_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// TestAdmitOnlyForNewIncidents: DeclareRequest.Admit (the intake's rate of
// new incidents) is asked before an incident would open, and its refusal
// starts nothing; an alert joining the open incident, and a recovery, never
// ask.
func TestAdmitOnlyForNewIncidents(t *testing.T) {
	ctx := testCtx(t)
	key := newKey(t)
	id := workflows.WorkflowID(key)
	full := errors.New("over the rate")
	asked := 0
	refuse := func() error { asked++; return full }
	allow := func() error { asked++; return nil }

	_, err := incidents.Declare(ctx, tc, incidents.DeclareRequest{Alert: alertFor(key), Roster: testRoster(t), Admit: refuse})
	if !errors.Is(err, full) || asked != 1 {
		t.Fatalf("refused: %v after %d asks, want the Admit error after 1", err, asked)
	}
	var nf *serviceerror.NotFound
	if _, err := tc.DescribeWorkflowExecution(ctx, id, ""); !errors.As(err, &nf) {
		t.Fatalf("after a refusal %s exists (%v); want nothing started", id, err)
	}
	d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(key), Roster: testRoster(t), Admit: allow})
	if d.Joined || asked != 2 {
		t.Fatalf("allowed: %+v after %d asks", d, asked)
	}
	j := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(key), Roster: testRoster(t), Admit: refuse})
	if !j.Joined || asked != 2 {
		t.Errorf("a repeat: %+v after %d asks; want it joined without asking", j, asked)
	}
	rec := alertFor(key)
	rec.Status = workflows.Recovered
	if r := declare(t, ctx, incidents.DeclareRequest{Alert: rec, Roster: testRoster(t), Admit: refuse}); !r.Joined || asked != 2 {
		t.Errorf("a recovery: %+v after %d asks; want it joined without asking", r, asked)
	}
}

// TestDeclareOwnsMemberAndGroup: a caller cannot choose the member or group
// an alert joins as: Declare drops them, and an alert that groups with no
// other goes to its own incident as it always did.
func TestDeclareOwnsMemberAndGroup(t *testing.T) {
	ctx := testCtx(t)
	key := newKey(t)
	forged := alertFor(key)
	forged.Member, forged.Group = "alertmanager:someone-else", incidents.GroupStorm
	d := declare(t, ctx, incidents.DeclareRequest{Alert: forged, Roster: testRoster(t)})
	if d.WorkflowID != workflows.WorkflowID(key) || d.Member != "" || d.Group != "" || d.Storm {
		t.Fatalf("forged member: %+v, want the alert's own incident", d)
	}
	for _, a := range startAndSignals(t, ctx, d.WorkflowID) {
		if a.Member != "" || a.Group != "" {
			t.Errorf("the incident got %+v, want no member or group", a)
		}
	}
}

// TestDeclareStorm: with Storm set, an alert Admit refuses joins the
// source's storm incident as a member; its recovery goes there while its
// own incident does not run; an alert whose own incident runs joins it.
func TestDeclareStorm(t *testing.T) {
	ctx := testCtx(t)
	source := fmt.Sprintf("it-storm-%d", time.Now().UnixNano()) // within the storm key's 32 bytes
	refuse := func() error { return errors.New("over the rate") }
	own, stormed := newKey(t), newKey(t)
	if d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(own), Roster: testRoster(t)}); d.Storm {
		t.Fatalf("admitted: %+v", d)
	}
	d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(stormed), Roster: testRoster(t), Admit: refuse, Storm: source})
	stormID := workflows.WorkflowID(incidents.StormKey(source))
	if !d.Storm || d.WorkflowID != stormID || d.Member != stormed || d.Group != incidents.GroupStorm || d.Joined {
		t.Fatalf("refused with Storm: %+v, want a new storm incident %s", d, stormID)
	}
	if st := status(t, ctx, stormID); st.Title != incidents.StormTitle(source) || st.Runbook != "" {
		t.Errorf("storm incident: title %q, runbook %q", st.Title, st.Runbook)
	}
	if j := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(own), Roster: testRoster(t), Admit: refuse, Storm: source}); j.Storm || !j.Joined || j.WorkflowID != workflows.WorkflowID(own) {
		t.Errorf("an alert whose incident runs: %+v, want it joined to its own", j)
	}
	rec := alertFor(stormed)
	rec.Status = workflows.Recovered
	if r := declare(t, ctx, incidents.DeclareRequest{Alert: rec, Roster: testRoster(t), Storm: source}); !r.Storm || !r.Joined || r.WorkflowID != stormID || r.Member != stormed {
		t.Errorf("recovery of a stormed alert: %+v, want it joined to %s", r, stormID)
	}
	if r := declare(t, ctx, incidents.DeclareRequest{Alert: rec, Roster: testRoster(t)}); !r.Ignored || r.Storm {
		t.Errorf("the same recovery without Storm: %+v, want it ignored", r)
	}
	// A signal that arrives during a workflow task joins the history when
	// the task completes.
	var last workflows.Alert
	eventually(t, 20*time.Second, "the recovery in the storm incident's history", func() (bool, string) {
		alerts := startAndSignals(t, ctx, stormID)
		last = alerts[len(alerts)-1]
		return last.Status == workflows.Recovered, fmt.Sprintf("last %s %s", last.ID, last.Status)
	})
	if last.Member != stormed || last.DedupeKey != incidents.StormKey(source) {
		t.Errorf("the storm incident's last alert: %+v", last)
	}
}

// startAndSignals returns the alert a run of id started with and those
// signalled to it, in order.
func startAndSignals(t *testing.T, ctx context.Context, id string) []workflows.Alert {
	t.Helper()
	var out []workflows.Alert
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if s := ev.GetWorkflowExecutionStartedEventAttributes(); s != nil {
			var in workflows.IncidentInput
			if err := json.Unmarshal(s.GetInput().GetPayloads()[0].GetData(), &in); err != nil {
				t.Fatal(err)
			}
			out = append(out, in.Alert)
		}
		if s := ev.GetWorkflowExecutionSignaledEventAttributes(); s != nil && s.GetSignalName() == workflows.SignalAlert {
			var a workflows.Alert
			if err := json.Unmarshal(s.GetInput().GetPayloads()[0].GetData(), &a); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
	}
	return out
}

// TestSplitOutOfStorm: the Commander splits one alert out of the storm
// incident (the split act, signed); it gets an incident of its own keyed by
// its own key, and its later alerts go there rather than to the storm.
func TestSplitOutOfStorm(t *testing.T) {
	ctx := testCtx(t)
	source := fmt.Sprintf("it-split-%d", time.Now().UnixNano())
	refuse := func() error { return errors.New("over the rate") }
	a, b := newKey(t), newKey(t)
	for _, k := range []string{a, b} {
		if d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(k), Roster: testRoster(t), Admit: refuse, Storm: source}); !d.Storm {
			t.Fatalf("%s: %+v, want the storm", k, d)
		}
	}
	stormID := workflows.WorkflowID(incidents.StormKey(source))
	if _, err := incidents.ActSigned(ctx, tc, signerOf("bob"), stormID, workflows.ActSplit, workflows.Act{By: "bob", Member: b}); err == nil {
		t.Error("bob (not the Commander) split an alert out")
	}
	act(t, ctx, stormID, workflows.ActSplit, workflows.Act{By: "alice", Member: b, Reason: "its own outage"})
	own := workflows.WorkflowID(b)
	eventually(t, 20*time.Second, "the split-out incident", func() (bool, string) {
		st, err := incidents.Status(ctx, tc, own)
		if err != nil {
			return false, err.Error()
		}
		return st.State == workflows.Triggered && st.Title == alertFor(b).Title, fmt.Sprintf("%s %q", st.State, st.Title)
	})
	d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(b), Roster: testRoster(t), Admit: refuse, Storm: source})
	if d.Storm || !d.Joined || d.WorkflowID != own {
		t.Errorf("a later alert of the split-out key: %+v, want it joined to %s", d, own)
	}
	st := status(t, ctx, stormID)
	if len(st.Members) != 2 || st.Members[1].SplitTo != own || st.Members[0].SplitTo != "" {
		t.Errorf("storm members %+v, want b split out to %s", st.Members, own)
	}
	if st.Members[0].Title != alertFor(a).Title {
		t.Errorf("the storm's first member is titled %q, want its own title", st.Members[0].Title)
	}
}

// TestPriorityFollowsSeverity: an incident's Temporal task priority is its
// severity's (SEV1 first), so a SEV1's tasks and pages go before a storm's.
func TestPriorityFollowsSeverity(t *testing.T) {
	ctx := testCtx(t)
	for _, sev := range []workflows.Severity{workflows.SEV1, workflows.SEV4} {
		a := alertFor(newKey(t))
		a.Severity = sev
		d := declare(t, ctx, incidents.DeclareRequest{Alert: a, Roster: testRoster(t)})
		desc, err := tc.DescribeWorkflowExecution(ctx, d.WorkflowID, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey(); int(got) != sev.PriorityKey() || got == 3 {
			t.Errorf("%s: priority key %d, want %d", sev, got, sev.PriorityKey())
		}
	}
}
