package workflows_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/lifecycle/seal"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/signing"
)

// testSealer seals the messages between an incident and its runbook in
// tests, with a fixed key.
func testSealer(t testing.TB) *seal.Activities {
	t.Helper()
	a, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signer is a key that signs acts in tests: a person's, or a service's.
type signer struct {
	priv ed25519.PrivateKey
	pub  string // as the roster lists it
	fp   string
}

func newSigner(t testing.TB) signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return signer{priv: priv, pub: signing.FormatPublicKey(pub), fp: signing.Fingerprint(pub)}
}

var actSeq int

// sign signs act as name on incident at, with key name keyName (a
// fingerprint, or service:<name>) and claim.
func (s signer) sign(act workflows.Act, incident, name, keyName, claim string, at time.Time) workflows.Act {
	if act.ID == "" {
		actSeq++
		act.ID = fmt.Sprintf("signed-%d", actSeq)
	}
	act.Sig = &workflows.Signature{Key: keyName, Claim: claim, At: at}
	act.Sig.Value = signing.Sign(s.priv, act.SigningBytes(incident, name))
	return act
}

// keys are the test's people and services.
type keys struct{ alice, erin, mallory, slack, slackNext signer }

// strictRoster is the test roster with the default trust policy (no
// deciding act unsigned), keys for alice and erin, and a Slack app.
func strictRoster(t *testing.T) (oncall.Roster, keys) {
	k := keys{alice: newSigner(t), erin: newSigner(t), mallory: newSigner(t), slack: newSigner(t), slackNext: newSigner(t)}
	r := roster(t)
	r.Trust = oncall.Trust{Services: []oncall.Service{{Name: "slack", Key: k.slack.pub, Keys: []string{k.slackNext.pub}, Claims: []string{"slack"}}}}
	for i := range r.People {
		switch r.People[i].ID {
		case "alice":
			r.People[i].Keys, r.People[i].Slack = []string{k.alice.pub}, "U01ALICE"
		case "erin":
			r.People[i].Keys, r.People[i].Slack = []string{k.erin.pub}, "U05ERIN"
		case "mallory":
			r.People[i].Keys = []string{k.mallory.pub}
		}
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r, k
}

// testIncident is the workflow ID the test environment gives an incident.
const testIncident = "default-test-workflow-id"

// signedAct sends an act as an Update at d, signed when it is sent (the
// environment's clock), and hands the answer to check.
func (h *harness) signedAct(d time.Duration, name string, act workflows.Act, sign func(workflows.Act, time.Time) workflows.Act, check func(workflows.ActResult, error)) {
	h.at(d, func() {
		a := act
		if sign != nil {
			a = sign(act, h.env.Now())
		}
		h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { check(workflows.ActResult{}, err) },
			OnComplete: func(v any, err error) {
				if err != nil {
					check(workflows.ActResult{}, err)
					return
				}
				check(v.(workflows.ActResult), nil)
			},
		}, a)
	})
}

func accepted(t *testing.T, what string) func(workflows.ActResult, error) {
	return func(_ workflows.ActResult, err error) {
		if err != nil {
			t.Errorf("%s: rejected: %v", what, err)
		}
	}
}

func refused(t *testing.T, what, want string) func(workflows.ActResult, error) {
	return func(_ workflows.ActResult, err error) {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want a refusal containing %q", what, err, want)
		}
	}
}

// Every deciding act needs a verified identity: unsigned, signed with
// someone else's key, forged, replayed as another act or on another
// incident, stale, or vouched for by a service for someone else, it is
// refused with a message that says why and changes nothing; signed by the
// person's key or vouched for by the Slack app, it is taken, and the
// timeline says how it was verified.
func TestActsNeedAVerifiedIdentity(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	r, k := strictRoster(t)
	in := input(t, workflows.SEV2)
	in.Roster = r
	byKey := func(s signer, name string) func(workflows.Act, time.Time) workflows.Act {
		return func(a workflows.Act, at time.Time) workflows.Act { return s.sign(a, testIncident, name, s.fp, "", at) }
	}
	ack := workflows.Act{By: "alice"}
	h.signedAct(1*time.Minute, workflows.ActAcknowledge, ack, nil, refused(t, "unsigned acknowledge", "acknowledge needs a verified identity and this one is unsigned: act through Slack, or with the datasev CLI and your key"))
	// A raw "Send a Signal" from the UI: recorded as rejected, nothing changes.
	h.at(90*time.Second, func() {
		h.env.SignalWorkflow(workflows.ActSetSeverity, workflows.Act{By: "alice", Severity: workflows.SEV1})
	})
	h.signedAct(2*time.Minute, workflows.ActAcknowledge, ack, byKey(k.alice, workflows.ActAcknowledge), accepted(t, "signed acknowledge"))
	h.signedAct(3*time.Minute, workflows.ActAddNote, workflows.Act{By: "carol", Note: "the load's files are late"}, nil, accepted(t, "unsigned note"))
	sev := workflows.Act{By: "alice", Severity: workflows.SEV1}
	// Mallory's key, claiming to be alice's.
	h.signedAct(4*time.Minute, workflows.ActSetSeverity, sev, func(a workflows.Act, at time.Time) workflows.Act {
		return k.mallory.sign(a, testIncident, workflows.ActSetSeverity, k.mallory.fp, "", at)
	}, refused(t, "mallory's key for alice", "is not one of alice's keys"))
	// Mallory's signature under alice's fingerprint.
	h.signedAct(5*time.Minute, workflows.ActSetSeverity, sev, func(a workflows.Act, at time.Time) workflows.Act {
		return k.mallory.sign(a, testIncident, workflows.ActSetSeverity, k.alice.fp, "", at)
	}, refused(t, "forged signature", "signature does not verify"))
	h.signedAct(6*time.Minute, workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun", Action: "clear failed tasks"},
		byKey(k.erin, workflows.ActRequestApproval), accepted(t, "signed request"))
	// Signed as deny, sent as approve.
	h.signedAct(7*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"}, byKey(k.alice, workflows.ActDeny),
		refused(t, "deny replayed as approve", "signature does not verify"))
	// Signed for another incident.
	h.signedAct(8*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"}, func(a workflows.Act, at time.Time) workflows.Act {
		return k.alice.sign(a, "incident-other", workflows.ActApprove, k.alice.fp, "", at)
	}, refused(t, "another incident's act", "signature does not verify"))
	// Signed eleven minutes ago: a captured act replayed.
	h.signedAct(9*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"}, func(a workflows.Act, at time.Time) workflows.Act {
		return k.alice.sign(a, testIncident, workflows.ActApprove, k.alice.fp, "", at.Add(-11*time.Minute))
	}, refused(t, "stale act", "signed acts are taken for 10m0s"))
	// The Slack app vouching for erin's Slack user as alice.
	h.signedAct(10*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"}, func(a workflows.Act, at time.Time) workflows.Act {
		return k.slack.sign(a, testIncident, workflows.ActApprove, "service:slack", "slack:U05ERIN", at)
	}, refused(t, "slack claim for someone else", "vouches for slack:U05ERIN, who is not alice"))
	// A service the roster does not list.
	h.signedAct(11*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"}, func(a workflows.Act, at time.Time) workflows.Act {
		return k.mallory.sign(a, testIncident, workflows.ActApprove, "service:pager", "slack:U01ALICE", at)
	}, refused(t, "unknown service", `signed by service "pager", which the roster's trust.services does not list`))
	// The Slack app's previous key, no longer listed.
	h.signedAct(11*time.Minute+30*time.Second, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"}, func(a workflows.Act, at time.Time) workflows.Act {
		return k.mallory.sign(a, testIncident, workflows.ActApprove, "service:slack", "slack:U01ALICE", at)
	}, refused(t, "a key the service does not list", "signed as service slack: signature does not verify"))
	// Signed with the rotated-in key listed under keys.
	h.signedAct(12*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun", Reason: "looks right"}, func(a workflows.Act, at time.Time) workflows.Act {
		return k.slackNext.sign(a, testIncident, workflows.ActApprove, "service:slack", "slack:U01ALICE", at)
	}, accepted(t, "approve through the Slack app, with its next key"))
	h.snapshotAt(13*time.Minute, func(st workflows.Status, tl []workflows.TimelineEntry) {
		if st.Severity != workflows.SEV2 {
			t.Errorf("severity %s: a refused act changed it", st.Severity)
		}
		want := map[string]string{
			"acknowledged":           "key " + k.alice.fp,
			"note: the load's files": "unsigned",
			"requested approval":     "key " + k.erin.fp,
			"approved rerun":         "slack:U01ALICE via slack",
		}
		for what, how := range want {
			e, ok := find(tl, what)
			if !ok || e.Verified != how {
				t.Errorf("timeline %q: verified %q, want %q", what, e.Verified, how)
			}
		}
		e, ok := find(tl, "set_severity (signal) rejected")
		if !ok || !strings.Contains(e.Why, "needs a verified identity") {
			t.Errorf("the unsigned signal was not recorded as rejected: %+v", e)
		}
	})
	h.signedAct(14*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"}, byKey(k.alice, workflows.ActResolve), accepted(t, "signed resolve"))
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if len(snap.Approvals) != 1 || snap.Approvals[0].DecisionVerified != "slack:U01ALICE via slack" || snap.Approvals[0].RequestVerified != "key "+k.erin.fp {
		t.Errorf("approvals %+v: want the decision and the request's verification kept", snap.Approvals)
	}
}

// A team whose namespace sits behind SSO may take chosen kinds unsigned.
func TestRosterMayTakeChosenKindsUnsigned(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	r, k := strictRoster(t)
	r.Trust.Unsigned = []string{workflows.ActAcknowledge}
	in := input(t, workflows.SEV2)
	in.Roster = r
	h.signedAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"}, nil, accepted(t, "unsigned acknowledge, opted in"))
	h.signedAct(2*time.Minute, workflows.ActAddNote, workflows.Act{By: "carol", Note: "x"}, nil, refused(t, "unsigned note, not listed", "add_note needs a verified identity"))
	h.signedAct(3*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"}, nil, refused(t, "unsigned resolve", "resolve needs a verified identity"))
	h.signedAct(4*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"}, func(a workflows.Act, at time.Time) workflows.Act {
		return k.alice.sign(a, testIncident, workflows.ActResolve, k.alice.fp, "", at)
	}, accepted(t, "signed resolve"))
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	if e, ok := find(h.result().Timeline, "acknowledged"); !ok || e.Verified != "unsigned" {
		t.Errorf("acknowledgement %+v: want it recorded as unsigned", e)
	}
}

// rerunWorld counts the remediation's real (not dry-run) calls on a real
// worker.
type rerunWorld struct {
	mu   sync.Mutex
	runs []string
}

func (w *rerunWorld) rerun(_ context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
	if req.DryRun {
		return runbooks.ActionResult{Summary: "would clear 2 failed tasks"}, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.runs = append(w.runs, fmt.Sprint(req.With["step"]))
	return runbooks.ActionResult{Summary: "cleared 2 tasks"}, nil
}

func (w *rerunWorld) ran() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.runs...)
}

// On the real dev server, with a raw Temporal client: approval decisions
// sent straight to the runbook (before the step asks, after it asks, with a
// made-up seal) run nothing, and forged runbook events on the incident (an
// approval for another role, a page, "finished") change nothing; each is
// recorded as rejected. Then the Commander's signed approval runs the
// remediation and the step it covers.
func TestForgedRunbookMessagesChangeNothingOnDevServer(t *testing.T) {
	world := &rerunWorld{}
	c, queue := devClient(t, func(w registrar) {
		w.RegisterActivityWithOptions(world.rerun, activity.RegisterOptions{Name: "test.rerun"})
	})
	ctx := context.Background()
	key := "forged-" + fmt.Sprint(time.Now().UnixNano())
	r, k := strictRoster(t)
	in := input(t, workflows.SEV2)
	in.Roster = r
	rb := runbooks.Runbook{Name: "orders-load", Steps: []runbooks.Step{
		{ID: "hold", Check: &runbooks.Call{Action: workflows.ActionWait, With: map[string]any{"duration": "3s"}}},
		{ID: "rerun", Remediate: &runbooks.Remediation{Call: runbooks.Call{Action: "test.rerun", With: map[string]any{"step": "rerun"}}}},
		{ID: "merge", Remediate: &runbooks.Remediation{Call: runbooks.Call{Action: "test.rerun", With: map[string]any{"step": "merge"}}, Approval: runbooks.Gate{CoveredBy: "rerun"}}},
	}}
	in.Runbook, in.RunbookSpec = rb.Name, &rb
	run := startIncidentWith(t, c, queue, key, in)
	id := run.GetID()
	child := id + "/runbook"
	approval := "orders-load/rerun"
	forged := workflows.ApprovalDecision{ID: approval, Approved: true, By: "alice", Reason: "forged"}

	// Before the step asks (the runbook holds 3s first), with a made-up
	// seal naming the runbook's run.
	var childRun string
	eventually(t, 20*time.Second, "the runbook to start", func() bool {
		desc, err := c.DescribeWorkflowExecution(ctx, child, "")
		if err != nil {
			return false
		}
		childRun = desc.WorkflowExecutionInfo.Execution.RunId
		return true
	})
	withSeal := forged
	withSeal.Seal = &workflows.Seal{Run: childRun, MAC: "bm90IGEgc2VhbA=="}
	mustSignal(t, c, child, workflows.SignalApprovalDecision, withSeal)
	st := waitStatus(t, c, id, "the approval to be asked", func(st workflows.Status) bool { return len(st.PendingApprovals) == 1 })
	// After it asks: unsealed, then with the made-up seal.
	mustSignal(t, c, child, workflows.SignalApprovalDecision, forged)
	mustSignal(t, c, child, workflows.SignalApprovalDecision, withSeal)
	// Forged runbook events on the incident.
	mustSignal(t, c, id, workflows.SignalRunbookEvent, workflows.RunbookEvent{Kind: "approval", Runbook: "orders-load",
		Approval: &workflows.ApprovalRequest{ID: "orders-load/drop", Action: "drop the table", Role: workflows.SME, Timeout: time.Hour}})
	mustSignal(t, c, id, workflows.SignalRunbookEvent, workflows.RunbookEvent{Kind: "page", Runbook: "orders-load",
		Page: &workflows.PageRequest{Person: "bob", Message: "call me at this number"}})
	mustSignal(t, c, id, workflows.SignalRunbookEvent, workflows.RunbookEvent{Kind: "finished", Runbook: "orders-load", Status: "completed",
		Seal: &workflows.Seal{Run: childRun, Seq: 99, MAC: "bm90IGEgc2VhbA=="}})

	var tl []workflows.TimelineEntry
	eventually(t, 30*time.Second, "six rejections in the timeline", func() bool {
		var err error
		tl, err = incidents.Timeline(ctx, c, id)
		n := 0
		for _, e := range tl {
			if e.Kind == workflows.KindRejected {
				n++
			}
		}
		return err == nil && n >= 6
	})
	for _, want := range []string{
		"no approval named orders-load/rerun is waiting in this runbook",
		"not sealed by the incident (decisions come from the incident's approve and deny acts)",
		"its seal does not verify: not sent by the incident",
		`runbook_event (signal, kind "approval", runbook "orders-load") rejected`,
		`runbook_event (signal, kind "page", runbook "orders-load") rejected`,
		"its seal does not verify: not sent by the incident's runbook",
	} {
		if _, ok := find(tl, want); !ok {
			t.Errorf("timeline has no rejection %q", want)
		}
	}
	st, err := incidents.Status(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PendingApprovals) != 1 || st.PendingApprovals[0].ID != approval || st.RunbookStatus != "running" {
		t.Errorf("status after forgeries: approvals %+v, runbook %q; want only the runbook's own, still running", st.PendingApprovals, st.RunbookStatus)
	}
	if got := world.ran(); len(got) != 0 {
		t.Fatalf("forged decisions ran the remediation: %v", got)
	}
	if _, ok := find(tl, "paged bob"); ok {
		t.Error("a forged page event paged bob")
	}

	// The Commander's signed approval, through the client library.
	approve := k.alice.sign(workflows.Act{By: "alice", Approval: approval, Reason: "checked"}, id, workflows.ActApprove, k.alice.fp, "", time.Now())
	if _, err := incidents.Act(ctx, c, id, workflows.ActApprove, approve); err != nil {
		t.Fatalf("signed approve: %v", err)
	}
	eventually(t, 30*time.Second, "the remediation and the step it covers", func() bool { return len(world.ran()) == 2 })
	if got := world.ran(); fmt.Sprint(got) != "[rerun merge]" {
		t.Errorf("ran %v, want [rerun merge]", got)
	}
	eventually(t, 30*time.Second, "the covered step's report", func() bool {
		tl, _ = incidents.Timeline(ctx, c, id)
		_, ok := find(tl, "remediate merge ok: covered by approval orders-load/rerun (approved by alice)")
		return ok
	})
	if e, ok := find(tl, "approved orders-load/rerun"); !ok || e.Verified != "key "+k.alice.fp {
		t.Errorf("approval entry %+v: want it verified by alice's key", e)
	}
	_ = c.TerminateWorkflow(ctx, id, "", "test over")
	_ = c.TerminateWorkflow(ctx, child, "", "test over")
}

func mustSignal(t *testing.T, c client.Client, id, name string, arg any) {
	t.Helper()
	if err := c.SignalWorkflow(context.Background(), id, "", name, arg); err != nil {
		t.Fatalf("signal %s to %s: %v", name, id, err)
	}
}

func eventually(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitStatus(t *testing.T, c client.Client, id, what string, ok func(workflows.Status) bool) workflows.Status {
	t.Helper()
	var st workflows.Status
	eventually(t, 30*time.Second, what, func() bool {
		var err error
		st, err = incidents.Status(context.Background(), c, id)
		return err == nil && ok(st)
	})
	return st
}
