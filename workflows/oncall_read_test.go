package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	oncallact "github.com/datasev/datasev/activities/lifecycle/oncall"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/oncall"
)

// overrideBox is a team's overrides as the on-call activity reads them,
// changed by the tests while the incident runs.
type overrideBox struct {
	mu   sync.Mutex
	list []oncall.Override
	fail bool
}

func (b *overrideBox) set(o ...oncall.Override) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list = append(b.list, o...)
}

func (b *overrideBox) read(_ context.Context, team string) ([]oncall.Override, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return nil, temporal.NewNonRetryableApplicationError("the on-call store of "+team+" is unreachable", "Test", nil)
	}
	return append([]oncall.Override(nil), b.list...), nil
}

// withOnCall registers the on-call activity reading box's overrides.
func (h *harness) withOnCall(box *overrideBox) {
	a := &oncallact.Activities{Config: oncallact.Config{Source: oncallact.SourceRoster}, Overrides: box.read}
	h.env.RegisterActivityWithOptions(a.Duty, activity.RegisterOptions{Name: oncall.DutyActivityName})
}

func (h *harness) localTime(s string) time.Time {
	h.t.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", s, h.loc)
	if err != nil {
		h.t.Fatal(err)
	}
	return t
}

// An override set after the incident opened decides the 20:00 handoff:
// bob, not the night shift's grace, is paged to take command, and only he
// (or his backup) can accept.
func TestOverrideSetAfterOpenDecidesHandoff(t *testing.T) {
	h := newHarness(t, "2026-06-02 19:00")
	box := &overrideBox{}
	h.withOnCall(box)
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.at(10*time.Minute, func() {
		box.set(oncall.Override{ID: "o1", Role: oncall.RoleCommander, Person: "bob", SetBy: "bob",
			From: h.localTime("2026-06-02 20:00"), Until: h.localTime("2026-06-03 08:00"), Reason: "swap with grace"})
	})
	h.at(50*time.Minute, func() {
		st := h.status()
		if st.Handoff == nil || st.Handoff.To != "bob" {
			t.Fatalf("pending handoff %+v, want one to bob (the override)", st.Handoff)
		}
		if got := h.rec.pages("bob"); len(got) != 1 || !strings.Contains(got[0], "handoff") {
			t.Errorf("bob's pages %q, want the handoff page", got)
		}
		if got := h.rec.pages("grace"); len(got) != 0 {
			t.Errorf("grace paged %q, want nothing: bob took her shift", got)
		}
		e, ok := find(h.timeline(), "by override: commander bob (roster: grace)")
		if !ok {
			t.Fatalf("no override in the timeline: %+v", h.timeline())
		}
		if !strings.Contains(e.Why, "swap with grace") {
			t.Errorf("override entry's why %q, want the override and its reason", e.Why)
		}
	})
	h.rejected(51*time.Minute, workflows.ActAcceptHandoff, workflows.Act{By: "grace"}, "only the incoming Commander (bob)")
	h.mustAct(52*time.Minute, workflows.ActAcceptHandoff, workflows.Act{By: "bob"})
	h.mustAct(53*time.Minute, workflows.ActResolve, workflows.Act{By: "bob"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	h.result()
}

// An override active when the incident opens names its first Commander.
func TestOverrideAtOpenNamesCommander(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	box := &overrideBox{}
	box.set(oncall.Override{ID: "o1", Role: oncall.RoleCommander, Person: "carol", SetBy: "alice",
		From: h.localTime("2026-06-02 09:00"), Until: h.localTime("2026-06-02 12:00")})
	h.withOnCall(box)
	h.at(time.Minute, func() {
		if st := h.status(); st.Roles.Commander != "carol" {
			t.Errorf("commander %s, want carol (override)", st.Roles.Commander)
		}
		if got := h.rec.pages("carol"); len(got) != 1 {
			t.Errorf("carol's pages %q, want the acknowledge page", got)
		}
		if got := h.rec.pages("alice"); len(got) != 0 {
			t.Errorf("alice paged %q, want nothing", got)
		}
	})
	h.mustAct(2*time.Minute, workflows.ActResolve, workflows.Act{By: "carol"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	h.result()
}

// An override that ended before the shift boundary, or one naming someone
// not on the incident's roster, changes nothing.
func TestExpiredOrUnknownOverrideIgnored(t *testing.T) {
	h := newHarness(t, "2026-06-02 19:00")
	box := &overrideBox{}
	box.set(
		oncall.Override{ID: "o1", Role: oncall.RoleCommander, Person: "bob", SetBy: "bob",
			From: h.localTime("2026-06-01 20:00"), Until: h.localTime("2026-06-02 08:00")},
		oncall.Override{ID: "o2", Role: oncall.RoleSecondary, Person: "zed", SetBy: "alice",
			From: h.localTime("2026-06-02 19:30"), Until: h.localTime("2026-06-02 23:00")},
	)
	h.withOnCall(box)
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.at(50*time.Minute, func() {
		st := h.status()
		if st.Handoff == nil || st.Handoff.To != "grace" || st.Handoff.Backup != "heidi" {
			t.Fatalf("pending handoff %+v, want grace backed by heidi (roster)", st.Handoff)
		}
		if _, ok := find(h.timeline(), `secondary "zed" is not on this incident's roster: keeping heidi`); !ok {
			t.Errorf("no note on the unknown person: %+v", h.timeline())
		}
	})
	h.mustAct(52*time.Minute, workflows.ActAcceptHandoff, workflows.Act{By: "grace"})
	h.mustAct(53*time.Minute, workflows.ActResolve, workflows.Act{By: "grace"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	h.result()
}

// When the on-call activity fails after its retries, the handoff goes by
// the incident's roster copy and the timeline says so.
func TestOnCallReadFailsFallsBackToRoster(t *testing.T) {
	h := newHarness(t, "2026-06-02 19:00")
	box := &overrideBox{}
	h.withOnCall(box)
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.at(10*time.Minute, func() {
		box.mu.Lock()
		box.fail = true
		box.mu.Unlock()
		box.set(oncall.Override{ID: "o1", Role: oncall.RoleCommander, Person: "bob", SetBy: "bob",
			From: h.localTime("2026-06-02 20:00"), Until: h.localTime("2026-06-03 08:00")})
	})
	h.at(50*time.Minute, func() {
		st := h.status()
		if st.Handoff == nil || st.Handoff.To != "grace" {
			t.Fatalf("pending handoff %+v, want grace (roster copy)", st.Handoff)
		}
		e, ok := find(h.timeline(), "could not read who is on call")
		if !ok {
			t.Fatalf("no fallback note: %+v", h.timeline())
		}
		if !strings.Contains(e.What, "using the roster's night shift") || !strings.Contains(e.Why, "unreachable") {
			t.Errorf("fallback note %q / %q, want the shift and the cause", e.What, e.Why)
		}
	})
	h.mustAct(52*time.Minute, workflows.ActAcceptHandoff, workflows.Act{By: "grace"})
	h.mustAct(53*time.Minute, workflows.ActResolve, workflows.Act{By: "grace"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	h.result()
}
