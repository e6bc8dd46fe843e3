package workflows_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/datasev/datasev/activities/lifecycle/autobudget"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
)

// fakeBudget stands in for a policy's budget workflow: it grants until
// used reaches the request's max_per_day, and keeps the requests.
type fakeBudget struct {
	mu   sync.Mutex
	used int
	reqs []workflows.AutoBudgetRequest
}

func (b *fakeBudget) grant(_ context.Context, req workflows.AutoBudgetRequest) (workflows.AutoBudgetResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reqs = append(b.reqs, req)
	if b.used >= req.MaxPerDay {
		return workflows.AutoBudgetResult{Used: b.used, Max: req.MaxPerDay, Reason: "budget of 3 per day spent"}, nil
	}
	b.used++
	return workflows.AutoBudgetResult{Granted: true, Used: b.used, Max: req.MaxPerDay}, nil
}

func (b *fakeBudget) requests() []workflows.AutoBudgetRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]workflows.AutoBudgetRequest(nil), b.reqs...)
}

func (b *fakeBudget) register(h *harness) {
	h.env.RegisterActivityWithOptions(b.grant, activity.RegisterOptions{Name: workflows.AutoBudgetActivity})
}

// autoGate is a gate the reload-once policy may approve when the landing
// check passed.
func autoGate(when string) runbooks.Gate {
	return runbooks.Gate{Auto: &runbooks.AutoApproval{Policy: "reload-once", When: when, MaxPerDay: 3, SeverityAtMost: "SEV3"}}
}

func autoInput(t *testing.T, sev workflows.Severity, steps ...runbooks.Step) workflows.IncidentInput {
	in := withRunbook(t, runbooks.Runbook{Name: "orders-load", Steps: steps})
	in.Alert.Severity = sev
	return in
}

func landing() runbooks.Step {
	return check("landing", "test.rows", map[string]any{"table": "${ alert.labels.table }"})
}

func wait(id string, d time.Duration) runbooks.Step {
	return runbooks.Step{ID: id, Check: &runbooks.Call{Action: workflows.ActionWait, With: map[string]any{"duration": d.String()}}}
}

// posts are the channel posts' subjects.
func autoPosts(r *recorder) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.sent {
		if n.Kind == workflows.NotifyPost {
			out = append(out, n.Subject)
		}
	}
	return out
}

func containsAny(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// A gate whose policy's conditions hold is approved by the policy: no
// person is asked, the timeline, the channel and the postmortem's decisions
// name the policy, and the remediation runs.
func TestAutoApprovedByPolicy(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	w, b := &fakeWorld{}, &fakeBudget{}
	w.register(h)
	b.register(h)
	h.snapshotAt(5*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
		if len(st.PendingApprovals) != 0 {
			t.Errorf("pending approvals %+v, want none: the policy decided", st.PendingApprovals)
		}
		if _, ok := find(tl, "auto-approved by policy reload-once: orders-load/rerun"); !ok {
			t.Errorf("no auto-approval in the timeline: %+v", tl)
		}
		if _, ok := find(tl, "remediate rerun ok: approved by policy reload-once; cleared 2 tasks"); !ok {
			t.Errorf("the remediation did not run on the policy's approval: %+v", tl)
		}
		if _, ok := find(tl, "requested approval"); ok {
			t.Error("a person was asked")
		}
		if got := h.rec.approvalPages("alice"); len(got) != 0 {
			t.Errorf("approval pages %+v, want none", got)
		}
		if p := autoPosts(h.rec); !containsAny(p, "orders-load/rerun auto-approved by policy reload-once") {
			t.Errorf("channel posts %q, want the auto-approval", p)
		}
	})
	h.mustAct(6*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, autoInput(t, workflows.SEV3, landing(), remediate("rerun", autoGate("steps.landing.status == 'ok'"))))
	h.result()
	reqs := b.requests()
	if len(reqs) != 1 || reqs[0].Policy != "reload-once" || reqs[0].MaxPerDay != 3 || reqs[0].Approval != "orders-load/rerun" || reqs[0].Incident == "" {
		t.Errorf("budget requests %+v, want one for orders-load/rerun", reqs)
	}
	_, reruns := w.calls()
	if len(reruns) != 2 || !reruns[0] || reruns[1] {
		t.Errorf("rerun calls %v, want the dry run then the run", reruns)
	}
	pms := h.rec.postmortems()
	if len(pms) != 1 {
		t.Fatalf("%d postmortems, want 1", len(pms))
	}
	if md := postmortem.Render(pms[0]); !strings.Contains(md, "| policy reload-once (runbook policy) | **approved** | budget 1 of 3 in the last 24 hours |") {
		t.Errorf("postmortem decisions do not name the policy:\n%s", md)
	}
}

// Whenever a condition of the policy does not hold, a person is asked, the
// timeline says why, and the budget is asked only when everything else
// held.
func TestAutoFallsBackToAPerson(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sev     workflows.Severity
		when    string
		used    int  // grants already spent
		off     bool // the worker's kill switch
		asked   int  // budget requests
		wantWhy string
	}{
		{name: "budget exhausted", sev: workflows.SEV3, used: 3, asked: 1, wantWhy: "auto-approval not used for orders-load/rerun (policy reload-once): budget of 3 per day spent"},
		{name: "kill switch", sev: workflows.SEV4, off: true, wantWhy: "switched off on the worker (DATASEV_AUTO_REMEDIATION=off)"},
		{name: "too severe", sev: workflows.SEV2, wantWhy: "the incident is SEV2, more severe than the policy's SEV3"},
		{name: "condition false", sev: workflows.SEV3, when: "steps.landing.output.rows > 0", wantWhy: "its condition is false: steps.landing.output.rows > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "2026-06-02 10:00")
			w, b := &fakeWorld{}, &fakeBudget{used: tc.used}
			w.register(h)
			if tc.off {
				autobudget.Register(h.env, &autobudget.Activities{Off: true})
			} else {
				b.register(h)
			}
			h.snapshotAt(5*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
				if _, ok := find(tl, tc.wantWhy); !ok {
					t.Errorf("no %q in the timeline: %+v", tc.wantWhy, tl)
				}
				if len(st.PendingApprovals) != 1 || st.PendingApprovals[0].ID != "orders-load/rerun" {
					t.Errorf("pending approvals %+v, want the rerun put to a person", st.PendingApprovals)
				}
				if got := h.rec.approvalPages("alice"); len(got) != 1 {
					t.Errorf("approval pages to alice %+v, want one", got)
				}
				if _, ok := find(tl, "auto-approved"); ok {
					t.Error("auto-approved anyway")
				}
			})
			h.mustAct(6*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "orders-load/rerun"})
			h.snapshotAt(8*time.Minute, func(_ workflows.Status, tl []workflows.TimelineEntry) {
				if _, ok := find(tl, "remediate rerun ok: approved by alice"); !ok {
					t.Errorf("the person's approval did not run the remediation: %+v", tl)
				}
			})
			h.mustAct(9*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
			when := cmpOr(tc.when, "steps.landing.status == 'ok'")
			h.env.ExecuteWorkflow(incident.IncidentWorkflow, autoInput(t, tc.sev, landing(), remediate("rerun", autoGate(when))))
			h.result()
			if got := len(b.requests()); got != tc.asked {
				t.Errorf("%d budget requests, want %d", got, tc.asked)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// The Commander pauses automatic approvals: the next remediation asks a
// person without spending budget; after resume_auto the policy decides
// again. Nobody else can pause.
func TestAutoPausedByTheCommander(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	w, b := &fakeWorld{}, &fakeBudget{}
	w.register(h)
	b.register(h)
	h.rejected(1*time.Minute, workflows.ActPauseAuto, workflows.Act{By: "erin"}, "only the Commander (alice) can pause automatic approvals")
	h.rejected(90*time.Second, workflows.ActResumeAuto, workflows.Act{By: "alice"}, "not paused")
	h.mustAct(2*time.Minute, workflows.ActPauseAuto, workflows.Act{By: "alice", Reason: "month end: hands only"})
	h.rejected(3*time.Minute, workflows.ActPauseAuto, workflows.Act{By: "alice"}, "already paused")
	h.snapshotAt(6*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
		if _, ok := find(tl, "auto-approval not used for orders-load/first (policy reload-once): automatic approvals are paused in this incident (by alice)"); !ok {
			t.Errorf("no pause reason in the timeline: %+v", tl)
		}
		if len(st.PendingApprovals) != 1 || st.PendingApprovals[0].ID != "orders-load/first" {
			t.Errorf("pending %+v, want first put to a person", st.PendingApprovals)
		}
		if len(b.requests()) != 0 {
			t.Error("a paused policy spent budget")
		}
		if p := autoPosts(h.rec); !containsAny(p, "automatic approvals paused by alice") {
			t.Errorf("channel posts %q, want the pause", p)
		}
	})
	h.mustAct(7*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "orders-load/first"})
	h.mustAct(8*time.Minute, workflows.ActResumeAuto, workflows.Act{By: "alice"})
	h.snapshotAt(20*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
		if _, ok := find(tl, "auto-approved by policy reload-once: orders-load/second"); !ok {
			t.Errorf("after resume_auto the policy did not decide: %+v", tl)
		}
		if _, ok := find(tl, "remediate first ok: approved by alice"); !ok {
			t.Errorf("first did not run on alice's approval: %+v", tl)
		}
	})
	h.mustAct(21*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	first, second := remediate("first", autoGate("")), remediate("second", autoGate(""))
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, autoInput(t, workflows.SEV3, wait("settle", 5*time.Minute), first, wait("again", 5*time.Minute), second))
	h.result()
	if got := len(b.requests()); got != 1 {
		t.Errorf("%d budget requests, want 1 (only second)", got)
	}
}

// A remediation the policy approved failed: the policy's next gate in the
// incident asks a person.
func TestAutoFailedRemediationAsksAPersonNextTime(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	w, b := &fakeWorld{}, &fakeBudget{}
	w.register(h)
	b.register(h)
	noDry := false
	broken := runbooks.Step{ID: "first", OnFailure: runbooks.Continue, Remediate: &runbooks.Remediation{
		Call: runbooks.Call{Action: "test.broken"}, Approval: autoGate(""), DryRun: &noDry,
	}}
	h.snapshotAt(5*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
		for _, want := range []string{
			"auto-approved by policy reload-once: orders-load/first",
			"remediate first failed",
			"auto-approval not used for orders-load/second (policy reload-once): a remediation it approved earlier in this incident failed (step first)",
		} {
			if _, ok := find(tl, want); !ok {
				t.Errorf("no %q in the timeline: %+v", want, tl)
			}
		}
		if len(st.PendingApprovals) != 1 || st.PendingApprovals[0].ID != "orders-load/second" {
			t.Errorf("pending %+v, want second put to a person", st.PendingApprovals)
		}
	})
	h.mustAct(6*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, autoInput(t, workflows.SEV3, broken, remediate("second", autoGate(""))))
	h.result()
	if got := len(b.requests()); got != 1 {
		t.Errorf("%d budget requests, want 1 (first only)", got)
	}
}

// Pausing decides something: unsigned, by the wrong person's key or as a
// raw signal it is refused and changes nothing (the policy still decides).
func TestAutoPauseNeedsTheCommandersVerifiedIdentity(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	r, k := strictRoster(t)
	w, b := &fakeWorld{}, &fakeBudget{}
	w.register(h)
	b.register(h)
	byKey := func(s signer, name string) func(workflows.Act, time.Time) workflows.Act {
		return func(a workflows.Act, at time.Time) workflows.Act { return s.sign(a, testIncident, name, s.fp, "", at) }
	}
	h.signedAct(1*time.Minute, workflows.ActPauseAuto, workflows.Act{By: "alice"}, nil, refused(t, "unsigned pause", "pause_auto needs a verified identity"))
	h.signedAct(2*time.Minute, workflows.ActPauseAuto, workflows.Act{By: "erin"}, byKey(k.erin, workflows.ActPauseAuto), refused(t, "erin's pause", "only the Commander"))
	h.signedAct(3*time.Minute, workflows.ActPauseAuto, workflows.Act{By: "alice"}, byKey(k.erin, workflows.ActPauseAuto), refused(t, "erin's key for alice", "is not one of alice's keys"))
	h.at(4*time.Minute, func() { h.env.SignalWorkflow(workflows.ActPauseAuto, workflows.Act{By: "alice"}) })
	h.snapshotAt(10*time.Minute, func(_ workflows.Status, tl []workflows.TimelineEntry) {
		if _, ok := find(tl, "auto-approved by policy reload-once: orders-load/rerun"); !ok {
			t.Errorf("a refused pause stopped the policy: %+v", tl)
		}
		if _, ok := find(tl, "paused automatic approvals"); ok {
			t.Error("a refused pause was applied")
		}
	})
	h.signedAct(11*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"}, byKey(k.alice, workflows.ActResolve), accepted(t, "resolve"))
	in := autoInput(t, workflows.SEV3, wait("settle", 5*time.Minute), remediate("rerun", autoGate("")))
	in.Roster = r
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	h.result()
}
