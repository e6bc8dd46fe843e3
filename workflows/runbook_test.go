package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/stretchr/testify/mock"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/runbook"
)

// fakeWorld stands in for the outside world the test actions look at: a
// load that lands after some tries, and a record of what was done. The
// actions are real activities run through the SDK; only their target is
// simulated.
type fakeWorld struct {
	mu          sync.Mutex
	healthyFrom int // the try from which health reports ok; 0 = never
	healthTries int
	reruns      []bool // dry-run flags of rerun calls
}

func (w *fakeWorld) register(h *harness) {
	h.env.RegisterWorkflowWithOptions(runbook.RunbookWorkflow, workflow.RegisterOptions{Name: workflows.RunbookWorkflowName})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		return runbooks.ActionResult{Output: map[string]any{"rows": 0.0, "table": req.With["table"]}, Summary: fmt.Sprintf("%v loaded 0 rows", req.With["table"])}, nil
	}, activity.RegisterOptions{Name: "test.rows"})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.healthTries++
		ok := w.healthyFrom > 0 && w.healthTries >= w.healthyFrom
		return runbooks.ActionResult{Output: map[string]any{"ok": ok}, Summary: fmt.Sprintf("health ok=%v", ok)}, nil
	}, activity.RegisterOptions{Name: "test.health"})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.reruns = append(w.reruns, req.DryRun)
		if req.DryRun {
			return runbooks.ActionResult{Summary: "would clear 2 failed tasks of load_orders", Detail: "- copy_raw_orders\n- dedupe_orders"}, nil
		}
		return runbooks.ActionResult{Summary: "cleared 2 tasks", Output: map[string]any{"cleared": 2.0}}, nil
	}, activity.RegisterOptions{Name: "test.rerun"})
	h.env.RegisterActivityWithOptions(func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError("table RAW.NOPE does not exist", "NotFound", nil)
	}, activity.RegisterOptions{Name: "test.broken"})
}

func (w *fakeWorld) calls() (tries int, reruns []bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.healthTries, append([]bool(nil), w.reruns...)
}

func withRunbook(t *testing.T, rb runbooks.Runbook) workflows.IncidentInput {
	in := input(t, workflows.SEV2)
	in.Runbook = rb.Name
	in.RunbookSpec = &rb
	in.Alert.Labels = map[string]string{"table": "RAW.ORDERS"}
	return in
}

func check(id, action string, with map[string]any) runbooks.Step {
	return runbooks.Step{ID: id, Check: &runbooks.Call{Action: action, With: with}}
}

func verify(id string, every, deadline time.Duration) runbooks.Step {
	return runbooks.Step{ID: id, Verify: &runbooks.Verify{
		Call: runbooks.Call{Action: "test.health"}, Until: "output.ok == true",
		Every: runbooks.Duration(every), Backoff: 2, Deadline: runbooks.Duration(deadline),
	}}
}

func remediate(id string, gate runbooks.Gate) runbooks.Step {
	return runbooks.Step{ID: id, Description: "clear and re-run load_orders", Remediate: &runbooks.Remediation{
		Call: runbooks.Call{Action: "test.rerun", With: map[string]any{"dag": "load_orders"}}, Approval: gate,
	}}
}

// snapshotAt runs fn at d and hands it the status and timeline.
func (h *harness) snapshotAt(d time.Duration, fn func(workflows.Status, []workflows.TimelineEntry)) {
	h.at(d, func() { fn(h.status(), h.timeline()) })
}

func TestRunbookChecksVerifyAndApprovedRemediation(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	w := &fakeWorld{healthyFrom: 3}
	w.register(h)
	rb := runbooks.Runbook{Name: "orders-load", Steps: []runbooks.Step{
		check("rows", "test.rows", map[string]any{"table": "${ alert.labels.table }"}),
		{ID: "skipped_one", When: "steps.rows.output.rows > 0", Check: &runbooks.Call{Action: "test.rows"}},
		remediate("rerun", runbooks.Gate{Timeout: runbooks.Duration(20 * time.Minute)}),
		verify("recovered", time.Minute, 30*time.Minute),
	}}
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.snapshotAt(2*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
		if len(st.PendingApprovals) != 1 {
			t.Fatalf("pending approvals %+v, want the rerun", st.PendingApprovals)
		}
		ap := st.PendingApprovals[0]
		if ap.ID != "orders-load/rerun" || !strings.Contains(ap.Detail, "would clear 2 failed tasks") || !strings.Contains(ap.Action, "dag=load_orders") {
			t.Errorf("approval %+v: want the dry run shown to the approver", ap)
		}
		if _, ok := find(tl, "check rows ok: RAW.ORDERS loaded 0 rows"); !ok {
			t.Error("rows finding missing: templates not rendered from the alert?")
		}
		if _, ok := find(tl, "check skipped_one skipped"); !ok {
			t.Error("when: false did not skip")
		}
	})
	h.at(2*time.Minute+30*time.Second, func() {
		refs := h.rec.approvalPages("alice")
		if len(refs) != 1 || refs[0].ID != "orders-load/rerun" || refs[0].Approver != "commander" || refs[0].Deadline.IsZero() {
			t.Errorf("approval pages to alice %+v, want one naming orders-load/rerun for the commander", refs)
		}
	})
	h.rejected(3*time.Minute, workflows.ActApprove, workflows.Act{By: "erin", Approval: "orders-load/rerun"}, "only the Commander (alice)")
	h.mustAct(4*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "orders-load/rerun"})
	h.snapshotAt(20*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
		if st.RunbookStatus != "completed" {
			t.Errorf("runbook %q, want completed", st.RunbookStatus)
		}
		e, ok := find(tl, "verify recovered ok: healthy after 3 tries")
		if !ok {
			t.Fatalf("verify did not succeed on the third try: %+v", tl)
		}
		// Tries at 4m, 5m (wait 1m), 7m (wait 2m, backoff 2).
		if want := h.env.Now().Add(-20 * time.Minute).Add(7 * time.Minute); !e.At.Equal(want) {
			t.Errorf("verify finished at %s, want %s", e.At, want)
		}
		if st.State != workflows.Monitoring {
			t.Errorf("state %s, want monitoring once the runbook confirmed the approved fix", st.State)
		}
		if _, ok := find(tl, "mitigating → monitoring"); !ok {
			t.Errorf("no mitigating → monitoring transition in the timeline: %+v", tl)
		}
	})
	h.mustAct(21*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, withRunbook(t, rb))
	h.result()
	tries, reruns := w.calls()
	if tries != 3 || len(reruns) != 2 || !reruns[0] || reruns[1] {
		t.Errorf("health tries %d, rerun calls %v: want 3 tries and a dry run then the real run", tries, reruns)
	}
}

func TestRunbookApprovalDeniedAndTimedOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		gate runbooks.Gate
		act  *workflows.Act // the Commander's decision, if any
		want string         // in the rerun step's timeline line
		page string         // someone paged about it
	}{
		{"denied", runbooks.Gate{}, &workflows.Act{By: "alice", Approval: "orders-load/rerun", Reason: "not during month end"}, "remediate rerun denied: denied by alice: not during month end", ""},
		{"timed out, deny", runbooks.Gate{Timeout: runbooks.Duration(10 * time.Minute), OnTimeout: "deny"}, nil, "remediate rerun denied: denied by datasev: no decision by the deadline", ""},
		{"timed out, escalate", runbooks.Gate{Timeout: runbooks.Duration(10 * time.Minute)}, nil, "", "bob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "2026-06-02 10:00")
			w := &fakeWorld{}
			w.register(h)
			rb := runbooks.Runbook{Name: "orders-load", Steps: []runbooks.Step{
				remediate("rerun", tc.gate),
				check("after", "test.rows", nil),
			}}
			if tc.act != nil {
				h.mustAct(2*time.Minute, workflows.ActDeny, *tc.act)
			}
			h.snapshotAt(30*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
				if tc.want != "" {
					if _, ok := find(tl, tc.want); !ok {
						t.Errorf("no %q in the timeline: %+v", tc.want, tl)
					}
					if st.RunbookStatus != "stopped" {
						t.Errorf("runbook %q, want stopped: a denied remediation fails its step", st.RunbookStatus)
					}
					if _, ran := find(tl, "check after"); ran {
						t.Error("the step after a denied remediation ran")
					}
				}
				if tc.page != "" {
					if len(st.PendingApprovals) != 1 || !st.PendingApprovals[0].Escalated {
						t.Errorf("approvals %+v, want one still pending, escalated", st.PendingApprovals)
					}
					if got := h.rec.pages(tc.page); len(got) != 1 || !strings.Contains(got[0], "approval waiting") {
						t.Errorf("%s pages %q, want the overdue approval", tc.page, got)
					}
				}
			})
			h.mustAct(31*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
			h.env.ExecuteWorkflow(incident.IncidentWorkflow, withRunbook(t, rb))
			snap := h.result()
			_, reruns := w.calls()
			for _, dry := range reruns {
				if !dry {
					t.Error("the remediation ran without an approval")
				}
			}
			if tc.page != "" && snap.RunbookStatus != "cancelled" && snap.RunbookStatus != "stopped" {
				t.Errorf("runbook %q after resolution, want it ended: %+v", snap.RunbookStatus, snap.Timeline)
			}
		})
	}
}

func TestRunbookVerifyFailsAtDeadlineAndEscalates(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	w := &fakeWorld{} // never healthy
	w.register(h)
	v := verify("recovered", time.Minute, 10*time.Minute)
	v.OnFailure = runbooks.Escalate
	rb := runbooks.Runbook{Name: "orders-load", Steps: []runbooks.Step{v, check("never", "test.rows", nil)}}
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.snapshotAt(30*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
		e, ok := find(tl, "verify recovered failed")
		if !ok || !strings.Contains(e.Why, "output.ok == true not true after 4 tries") {
			t.Errorf("verify failure %+v, want 4 tries (0, 1m, 3m, 7m) before the 10m deadline", e)
		}
		if st.RunbookStatus != "escalated" {
			t.Errorf("runbook %q, want escalated", st.RunbookStatus)
		}
		if got := h.rec.pages("bob"); len(got) != 1 || !strings.Contains(got[0], "runbook escalated") {
			t.Errorf("bob pages %q, want the escalation", got)
		}
		if _, ran := find(tl, "check never"); ran {
			t.Error("a step after an escalated failure ran")
		}
	})
	h.mustAct(31*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, withRunbook(t, rb))
	h.result()
}

func TestRunbookParallelOnFailure(t *testing.T) {
	for _, tc := range []struct {
		onFailure runbooks.OnFailure
		status    string // the runbook's outcome
		nextRuns  bool   // the step after the group runs
	}{
		{runbooks.Continue, "completed", true},
		{runbooks.Stop, "stopped", false},
		{runbooks.Escalate, "stopped", false},
	} {
		t.Run(string(tc.onFailure), func(t *testing.T) {
			h := newHarness(t, "2026-06-02 10:00")
			(&fakeWorld{}).register(h)
			broken := check("missing_table", "test.broken", nil)
			broken.OnFailure = tc.onFailure
			rb := runbooks.Runbook{Name: "orders-load", Steps: []runbooks.Step{
				{ID: "look", Parallel: []runbooks.Step{check("rows", "test.rows", map[string]any{"table": "RAW.ORDERS"}), broken}},
				check("next", "test.rows", nil),
			}}
			h.snapshotAt(10*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
				if st.RunbookStatus != tc.status {
					t.Errorf("runbook %q, want %q", st.RunbookStatus, tc.status)
				}
				if e, ok := find(tl, "check missing_table failed"); !ok || !strings.Contains(e.Why, "table RAW.NOPE does not exist") {
					t.Errorf("failed branch %+v, want the action's own message", e)
				}
				if _, ok := find(tl, "check rows ok"); !ok {
					t.Error("the healthy branch did not run")
				}
				if _, ran := find(tl, "check next"); ran != tc.nextRuns {
					t.Errorf("next step ran: %v, want %v", ran, tc.nextRuns)
				}
				escalated := len(h.rec.pages("bob")) > 0
				if escalated != (tc.onFailure == runbooks.Escalate) {
					t.Errorf("secondary paged: %v", escalated)
				}
			})
			h.mustAct(11*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
			h.env.ExecuteWorkflow(incident.IncidentWorkflow, withRunbook(t, rb))
			h.result()
		})
	}
}

func TestRunbookWaitAndPageRoleHolder(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	(&fakeWorld{}).register(h)
	rb := runbooks.Runbook{Name: "orders-load", Roles: runbooks.Roles{SMEs: []string{"ivan", "not-on-roster"}}, Steps: []runbooks.Step{
		check("pause", workflows.ActionWait, map[string]any{"duration": "15m"}),
		check("tell_sme", workflows.ActionPage, map[string]any{"role": "sme", "message": "look at ${ alert.labels.table }"}),
	}}
	h.snapshotAt(14*time.Minute, func(st workflows.Status, _ []workflows.TimelineEntry) {
		if got := h.rec.pages("erin"); len(got) != 0 {
			t.Errorf("erin paged before the wait ended: %q", got)
		}
		if smes := st.Roles.SMEs; len(smes) != 2 || smes[1] != "ivan" {
			t.Errorf("SMEs %v, want the shift's erin and the runbook's ivan (people not on the roster left out)", smes)
		}
	})
	h.snapshotAt(16*time.Minute, func(st workflows.Status, _ []workflows.TimelineEntry) {
		if got := h.rec.pages("erin"); len(got) != 1 || got[0] != "look at RAW.ORDERS" {
			t.Errorf("erin (the SME) pages %q, want the runbook's message", got)
		}
	})
	h.mustAct(17*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, withRunbook(t, rb))
	h.result()
}

// A remediation covered by an earlier one's approval runs on that single
// decision, and is denied with it.
func TestRunbookCoveredApproval(t *testing.T) {
	for _, approve := range []bool{true, false} {
		t.Run(fmt.Sprintf("approved=%v", approve), func(t *testing.T) {
			h := newHarness(t, "2026-06-02 10:00")
			w := &fakeWorld{}
			w.register(h)
			follow := remediate("follow_up", runbooks.Gate{CoveredBy: "rerun"})
			rb := runbooks.Runbook{Name: "orders-load", Steps: []runbooks.Step{
				remediate("rerun", runbooks.Gate{}),
				follow,
			}}
			act := workflows.ActDeny
			if approve {
				act = workflows.ActApprove
			}
			h.mustAct(2*time.Minute, act, workflows.Act{By: "alice", Approval: "orders-load/rerun", Reason: "checked"})
			h.snapshotAt(10*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
				if len(st.PendingApprovals) != 0 {
					t.Errorf("pending approvals %+v: a covered step must not ask again", st.PendingApprovals)
				}
				want := "remediate follow_up ok: covered by approval orders-load/rerun (approved by alice); cleared 2 tasks"
				if !approve {
					want = "remediate rerun denied: denied by alice: checked"
				}
				if _, ok := find(tl, want); !ok {
					t.Errorf("no %q in the timeline: %+v", want, tl)
				}
			})
			h.mustAct(11*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
			h.env.ExecuteWorkflow(incident.IncidentWorkflow, withRunbook(t, rb))
			h.result()
			_, reruns := w.calls()
			// Approved: rerun's dry run and follow_up's (shown to the
			// approver with the plan), rerun, follow_up.
			want := []bool{true, true, false, false}
			if !approve {
				want = []bool{true, true}
			}
			if fmt.Sprint(reruns) != fmt.Sprint(want) {
				t.Errorf("rerun calls (dry-run flags) %v, want %v", reruns, want)
			}
		})
	}
}

// The approver sees every step an approval covers: its inputs resolved as
// far as they can be when asked, those from earlier steps named, and a dry
// run where the inputs are all known.
func TestApprovalShowsEveryStepItCovers(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	w := &fakeWorld{}
	w.register(h)
	merge := remediate("merge", runbooks.Gate{CoveredBy: "rerun"})
	merge.Description = "merge the fix"
	merge.Remediate.With = map[string]any{"dag": "load_orders", "cleared": "${ steps.rerun.output.cleared }"}
	rerunAgain := remediate("rerun_downstream", runbooks.Gate{CoveredBy: "rerun"})
	rerunAgain.Remediate.With = map[string]any{"dag": "${ alert.labels.table }"}
	rb := runbooks.Runbook{Name: "orders-load", Steps: []runbooks.Step{
		check("rows", "test.rows", nil),
		remediate("rerun", runbooks.Gate{}),
		merge,
		rerunAgain,
	}}
	h.snapshotAt(2*time.Minute, func(st workflows.Status, _ []workflows.TimelineEntry) {
		if len(st.PendingApprovals) != 1 {
			t.Errorf("pending approvals %+v", st.PendingApprovals)
			return
		}
		ap := st.PendingApprovals[0]
		want := []workflows.CoveredStep{
			{Step: "merge", Action: "test.rerun", Description: "merge the fix", Inputs: "dag=load_orders", Pending: []string{"cleared"},
				DryRun: "when it runs: its inputs cleared come from earlier steps"},
			{Step: "rerun_downstream", Action: "test.rerun", Description: "clear and re-run load_orders", Inputs: "dag=RAW.ORDERS",
				DryRun: "would clear 2 failed tasks of load_orders\n- copy_raw_orders\n- dedupe_orders"},
		}
		if fmt.Sprintf("%+v", ap.Covers) != fmt.Sprintf("%+v", want) {
			t.Errorf("covers\n%+v\nwant\n%+v", ap.Covers, want)
		}
		for _, s := range []string{"This approval also runs:", "- step merge: test.rerun — merge the fix (dag=load_orders); cleared resolved when it runs",
			"- step rerun_downstream: test.rerun — clear and re-run load_orders (dag=RAW.ORDERS)\n  dry run: would clear 2 failed tasks"} {
			if !strings.Contains(ap.Detail, s) {
				t.Errorf("approval detail lacks %q:\n%s", s, ap.Detail)
			}
		}
		h.rec.mu.Lock()
		var bodies []string
		for _, n := range h.rec.sent {
			if n.Kind == workflows.NotifyPage && n.To == "alice" && n.Approval != nil {
				bodies = append(bodies, n.Body)
			}
		}
		h.rec.mu.Unlock()
		if len(bodies) != 1 || !strings.Contains(bodies[0], "- step rerun_downstream: test.rerun — clear and re-run load_orders (dag=RAW.ORDERS)") {
			t.Errorf("the approval page does not show the plan: %q", bodies)
		}
	})
	h.mustAct(3*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, withRunbook(t, rb))
	h.result()
}

// The incident starts its runbook with the input a dry run plans from
// (workflows.PlannedRunbookInput): the same incident ID, alert and
// severity, so a dry run's decisions are the real run's.
func TestIncidentStartsTheRunbookAsPlanned(t *testing.T) {
	var got []workflows.RunbookInput
	rb := runbooks.Runbook{Name: "orders-load", Severity: "SEV1", Steps: []runbooks.Step{check("rows", "test.rows", nil)}}
	for _, tc := range []struct {
		name string
		sev  workflows.Severity
	}{{"the alert's severity", workflows.SEV2}, {"a severity the incident does not take", "SEV9"}} {
		t.Run(tc.name, func(t *testing.T) {
			in := withRunbook(t, rb)
			in.Alert.Severity = tc.sev
			planned := workflows.PlannedRunbookInput(in.Alert, &rb)
			planned.Incident = testIncident // the test environment's workflow ID
			got = nil
			h := newHarness(t, "2026-03-10 10:00")
			h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.RunbookInput) (workflows.RunbookResult, error) {
				got = append(got, in)
				return workflows.RunbookResult{}, nil
			}, workflow.RegisterOptions{Name: workflows.RunbookWorkflowName})
			// The stand-in runbook reports nothing, so resolving cancels it.
			h.env.OnRequestCancelExternalWorkflow(mock.Anything, mock.Anything, mock.Anything).Return(nil)
			h.mustAct(time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
			h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
			h.result()
			if len(got) != 1 {
				t.Fatalf("the runbook started %d times, want once", len(got))
			}
			g := got[0]
			if g.Incident != planned.Incident || g.Severity != planned.Severity || g.Runbook.Name != planned.Runbook.Name ||
				g.Alert.DedupeKey != planned.Alert.DedupeKey || g.Alert.Severity != planned.Alert.Severity || g.Alert.Title != planned.Alert.Title {
				t.Errorf("the incident started its runbook with\n%+v\nthe dry run plans from\n%+v", g, planned)
			}
		})
	}
}
