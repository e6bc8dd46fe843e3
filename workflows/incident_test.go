package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/activities/lifecycle/seal"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/oncall"
)

const testRoster = `
team: data-platform
timezone: America/New_York
handoff_lead: 15m
handoff_grace: 15m
people:
  - {id: alice}
  - {id: bob}
  - {id: carol}
  - {id: dan}
  - {id: erin}
  - {id: grace}
  - {id: heidi}
  - {id: ivan}
  - {id: mallory}
shifts:
  - name: day
    start: "08:00"
    end: "20:00"
    commander: alice
    secondary: bob
    scribe: carol
    liaison: dan
    smes: [erin]
  - name: night
    start: "20:00"
    end: "08:00"
    commander: grace
    secondary: heidi
    smes: [ivan]
trust:
  unsigned: ["*"] # these tests play the acts unsigned; trust_test.go checks verification
`

// recorder is a notifier backend that keeps what it was asked to deliver.
type recorder struct {
	mu      sync.Mutex
	sent    []workflows.Notification
	reports []workflows.Report // postmortems asked for
	docs    []workflows.Report // incident document syncs
}

// syncDocument stands in for the incident document activity: it keeps
// each report it was given and says where the document is.
func (r *recorder) syncDocument(_ context.Context, rep workflows.Report) (workflows.DocumentResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs = append(r.docs, rep)
	return workflows.DocumentResult{URL: "file:///incidents/" + rep.ID + ".md"}, nil
}

// documents returns the reports the incident document was synced from.
func (r *recorder) documents() []workflows.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.docs)
}

// writePostmortem stands in for the postmortem activity: it keeps the
// report and says where the postmortem would be.
func (r *recorder) writePostmortem(_ context.Context, rep workflows.Report) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, rep)
	return "postmortems/" + rep.ID + ".md", nil
}

// fileActionItems stands in for the action-item filing activity: one
// issue per item, numbered by position.
func (r *recorder) fileActionItems(_ context.Context, rep workflows.Report) ([]string, error) {
	urls := make([]string, len(rep.Closure.ActionItems))
	for i := range urls {
		urls[i] = fmt.Sprintf("https://issues.example/%d", i+1)
	}
	return urls, nil
}

// postmortems returns the reports postmortems were written from.
func (r *recorder) postmortems() []workflows.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reports)
}

// withoutReminders drops the reminders (closure inputs, status updates)
// from page subjects.
func withoutReminders(subjects []string) []string {
	var out []string
	for _, s := range subjects {
		if !strings.HasPrefix(s, "postmortem inputs") && !strings.HasPrefix(s, "status update") {
			out = append(out, s)
		}
	}
	return out
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Deliver(_ context.Context, n workflows.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, n)
	return nil
}

// pages returns the subjects of pages sent to one person.
func (r *recorder) pages(to string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.sent {
		if n.Kind == workflows.NotifyPage && n.To == to {
			out = append(out, n.Subject)
		}
	}
	return out
}

// approvalPages returns the approval references of the pages sent to one
// person that ask for a decision.
func (r *recorder) approvalPages(to string) []workflows.ApprovalRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []workflows.ApprovalRef
	for _, n := range r.sent {
		if n.Kind == workflows.NotifyPage && n.To == to && n.Approval != nil {
			out = append(out, *n.Approval)
		}
	}
	return out
}

func (r *recorder) count(kind workflows.NotifyKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := 0
	for _, n := range r.sent {
		if n.Kind == kind {
			c++
		}
	}
	return c
}

type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	rec *recorder
	loc *time.Location
}

func newHarness(t *testing.T, start string) *harness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	// The default three seconds of real time are too few on a loaded
	// two-core machine (local activities and child workflows run on real
	// goroutines); time skipping still makes each test fast.
	env.SetTestTimeout(30 * time.Second)
	rec := &recorder{}
	env.RegisterWorkflowWithOptions(incident.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	notify.Register(env, &notify.Activities{Backend: rec})
	seal.Register(env, testSealer(t))
	env.RegisterActivityWithOptions(rec.writePostmortem, activity.RegisterOptions{Name: workflows.PostmortemActivityName})
	env.RegisterActivityWithOptions(rec.fileActionItems, activity.RegisterOptions{Name: workflows.ActionItemsActivityName})
	env.RegisterActivityWithOptions(rec.syncDocument, activity.RegisterOptions{Name: workflows.DocumentActivityName})
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04", start, loc)
	if err != nil {
		t.Fatal(err)
	}
	env.SetStartTime(at)
	return &harness{t: t, env: env, rec: rec, loc: loc}
}

func roster(t testing.TB) oncall.Roster {
	t.Helper()
	r, err := oncall.Parse([]byte(testRoster))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func input(t testing.TB, sev workflows.Severity) workflows.IncidentInput {
	return workflows.IncidentInput{
		Alert: workflows.Alert{
			ID: "a-1", Source: "alertmanager", Title: "orders load failing", DedupeKey: "orders-load",
			Severity: sev, Status: workflows.Firing, Service: "orders", Dataset: "RAW.ORDERS",
		},
		Roster:  roster(t),
		Options: workflows.Options{CloseAfter: time.Minute},
	}
}

// at schedules fn at an offset from the start.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// act sends an act as an Update at an offset from the start and hands the
// answer (or the rejection) to check. The test environment runs an update
// after the callback that sent it returns, so every act gets its own offset.
func (h *harness) act(at time.Duration, name string, act workflows.Act, check func(workflows.ActResult, error)) {
	h.signedAct(at, name, act, nil, check)
}

// mustAct sends an act that must be accepted.
func (h *harness) mustAct(at time.Duration, name string, act workflows.Act) {
	h.act(at, name, act, func(_ workflows.ActResult, err error) {
		if err != nil {
			h.t.Errorf("%s by %s rejected: %v", name, act.By, err)
		}
	})
}

// rejected sends an act that must be rejected with a message containing want.
func (h *harness) rejected(at time.Duration, name string, act workflows.Act, want string) {
	h.act(at, name, act, func(_ workflows.ActResult, err error) {
		if err == nil || !strings.Contains(err.Error(), want) {
			h.t.Errorf("%s by %q: got %v, want a rejection containing %q", name, act.By, err, want)
		}
	})
}

func (h *harness) status() workflows.Status {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		h.t.Fatal(err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) timeline() []workflows.TimelineEntry {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryTimeline)
	if err != nil {
		h.t.Fatal(err)
	}
	var tl []workflows.TimelineEntry
	if err := v.Get(&tl); err != nil {
		h.t.Fatal(err)
	}
	return tl
}

// find returns the first timeline entry whose What contains s.
func find(tl []workflows.TimelineEntry, s string) (workflows.TimelineEntry, bool) {
	for _, e := range tl {
		if strings.Contains(e.What, s) || strings.Contains(e.Why, s) {
			return e, true
		}
	}
	return workflows.TimelineEntry{}, false
}

// result runs to completion and returns the final snapshot.
func (h *harness) result() workflows.Snapshot {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatal(err)
	}
	var snap workflows.Snapshot
	if err := h.env.GetWorkflowResult(&snap); err != nil {
		h.t.Fatal(err)
	}
	return snap
}

func TestAckDeadlineRepagesThenEscalatesToSecondary(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	start := h.env.Now()
	h.at(40*time.Minute, func() {
		tl := h.timeline()
		repage, ok := find(tl, "re-paging alice")
		if !ok {
			t.Fatalf("no re-page in timeline: %+v", tl)
		}
		if got := repage.At.Sub(start); got != 15*time.Minute {
			t.Errorf("re-page after %s, want 15m (SEV2 ack deadline)", got)
		}
		esc, ok := find(tl, "escalating to the secondary bob")
		if !ok {
			t.Fatalf("no escalation in timeline")
		}
		if got := esc.At.Sub(start); got != 30*time.Minute {
			t.Errorf("escalation after %s, want 30m", got)
		}
		if st := h.status(); st.State != workflows.Triggered {
			t.Errorf("state %s, want triggered", st.State)
		}
	})
	h.act(41*time.Minute, workflows.ActAcknowledge, workflows.Act{By: "bob"}, func(res workflows.ActResult, err error) {
		if err != nil || res.State != workflows.Diagnosing {
			t.Errorf("bob's ack: %+v %v, want diagnosing", res, err)
		}
	})
	h.at(42*time.Minute, func() {
		if st := h.status(); st.Roles.Commander != "bob" {
			t.Errorf("commander %s, want bob (the secondary who acknowledged)", st.Roles.Commander)
		}
	})
	h.mustAct(43*time.Minute, workflows.ActResolve, workflows.Act{By: "bob"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV2))
	snap := h.result()
	if snap.State != workflows.Closed {
		t.Errorf("final state %s, want closed", snap.State)
	}
	if got := withoutReminders(h.rec.pages("alice")); len(got) != 3 {
		t.Errorf("alice paged %d times (%q), want 3: open, re-page, on escalation", len(got), got)
	}
	if got := withoutReminders(h.rec.pages("bob")); len(got) != 1 || !strings.Contains(got[0], "escalated") {
		t.Errorf("bob pages %q, want one escalation page", got)
	}
}

func TestAckInTimeStopsPaging(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	h.mustAct(4*time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice", Via: "cli"})
	h.mustAct(3*time.Hour, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV1))
	snap := h.result()
	if got := withoutReminders(h.rec.pages("alice")); len(got) != 1 {
		t.Errorf("alice paged %q, want only the opening page", got)
	}
	if got := withoutReminders(h.rec.pages("bob")); len(got) != 0 {
		t.Errorf("bob paged %q, want none", got)
	}
	if _, ok := find(snap.Timeline, "re-paging"); ok {
		t.Error("re-paged after acknowledgement")
	}
	// SEV1 owes a status update every 30m between ack (10:04) and
	// resolution (13:00); nobody posts one, so each cycle the Liaison is
	// reminded and then the update is recorded as missed.
	// Due 10:34, missed 10:41:30 (7m30s grace), due again 11:11:30, …:
	// missed at 10:41:30, 11:19, 11:56:30 and 12:34.
	if got := snap.Updates.Missed; got != 4 {
		t.Errorf("%d missed status updates, want 4", got)
	}
}

func TestHandoffAccepted(t *testing.T) {
	h := newHarness(t, "2026-06-02 19:00")
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.at(50*time.Minute, func() {
		tl := h.timeline()
		e, ok := find(tl, "handoff summary posted, paging grace")
		if !ok {
			t.Fatalf("no handoff in timeline: %+v", tl)
		}
		if want := time.Date(2026, 6, 2, 19, 45, 0, 0, h.loc); !e.At.Equal(want) {
			t.Errorf("handoff at %s, want %s", e.At.In(h.loc), want)
		}
		st := h.status()
		if st.Handoff == nil || st.Handoff.To != "grace" {
			t.Fatalf("pending handoff %+v, want one to grace", st.Handoff)
		}
	})
	h.rejected(51*time.Minute, workflows.ActAcceptHandoff, workflows.Act{By: "ivan"}, "only the incoming Commander (grace)")
	h.mustAct(52*time.Minute, workflows.ActAcceptHandoff, workflows.Act{By: "grace"})
	h.at(53*time.Minute, func() {
		st := h.status()
		if st.Roles.Commander != "grace" || st.Handoff != nil || st.Shift != "night" {
			t.Errorf("after accept: commander %s, handoff %+v, shift %s", st.Roles.Commander, st.Handoff, st.Shift)
		}
		if want := time.Date(2026, 6, 3, 8, 0, 0, 0, h.loc); !st.ShiftEnd.Equal(want) {
			t.Errorf("night shift ends %s, want %s", st.ShiftEnd.In(h.loc), want)
		}
	})
	// The next morning grace hands back to alice.
	h.at(13*time.Hour, func() {
		st := h.status()
		if st.Handoff == nil || st.Handoff.To != "alice" || st.Handoff.From != "grace" {
			t.Errorf("morning handoff %+v, want grace → alice", st.Handoff)
		}
	})
	h.mustAct(13*time.Hour+time.Minute, workflows.ActResolve, workflows.Act{By: "grace"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	h.result()
	if got := h.rec.count(workflows.NotifyHandoffSummary); got != 2 {
		t.Errorf("%d handoff summaries, want 2", got)
	}
}

func TestHandoffMissedEscalates(t *testing.T) {
	h := newHarness(t, "2026-06-02 19:00")
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.at(90*time.Minute, func() {
		tl := h.timeline()
		e, ok := find(tl, "handoff to grace not accepted")
		if !ok {
			t.Fatalf("no handoff escalation: %+v", tl)
		}
		if want := time.Date(2026, 6, 2, 20, 15, 0, 0, h.loc); !e.At.Equal(want) {
			t.Errorf("escalated at %s, want %s (shift end + grace)", e.At.In(h.loc), want)
		}
		if st := h.status(); st.Roles.Commander != "alice" {
			t.Errorf("commander %s, want alice to stay until someone accepts", st.Roles.Commander)
		}
		if got := h.rec.pages("heidi"); len(got) != 1 {
			t.Errorf("heidi (incoming secondary) pages %q, want 1", got)
		}
	})
	h.mustAct(91*time.Minute, workflows.ActAcceptHandoff, workflows.Act{By: "heidi"})
	h.at(92*time.Minute, func() {
		if st := h.status(); st.Roles.Commander != "heidi" {
			t.Errorf("commander %s, want heidi", st.Roles.Commander)
		}
	})
	h.mustAct(93*time.Minute, workflows.ActResolve, workflows.Act{By: "heidi"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	h.result()
}

// The night shift that spans the spring-forward change is an hour shorter;
// the handoff still happens at 07:45 local, not 08:45.
func TestHandoffAcrossDSTChange(t *testing.T) {
	for _, tc := range []struct {
		name, start string
		wantAfter   time.Duration
	}{
		{"spring forward", "2026-03-07 21:00", 9*time.Hour + 45*time.Minute},
		{"fall back", "2026-10-31 21:00", 11*time.Hour + 45*time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.start)
			start := h.env.Now()
			h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "grace"})
			h.at(12*time.Hour+30*time.Minute, func() {
				e, ok := find(h.timeline(), "handoff summary posted, paging alice")
				if !ok {
					t.Fatal("no morning handoff")
				}
				if got := e.At.Sub(start); got != tc.wantAfter {
					t.Errorf("handoff %s after start, want %s", got, tc.wantAfter)
				}
				if local := e.At.In(h.loc); local.Hour() != 7 || local.Minute() != 45 {
					t.Errorf("handoff at local %s, want 07:45", local)
				}
			})
			h.mustAct(12*time.Hour+31*time.Minute, workflows.ActResolve, workflows.Act{By: "grace"})
			h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV4))
			h.result()
		})
	}
}

func TestActValidation(t *testing.T) {
	type step struct {
		act  string
		by   workflows.Act
		want string // substring of the rejection; empty means accepted
	}
	a := func(by string) workflows.Act { return workflows.Act{By: by} }
	steps := []step{
		{workflows.ActAcknowledge, workflows.Act{}, "who is acting"},
		{workflows.ActAcknowledge, a("mallory-not-listed"), "not on the data-platform roster"},
		{workflows.ActAcknowledge, a("erin"), "only the paged Commander (alice) or the secondary (bob)"},
		{workflows.ActSetSeverity, workflows.Act{By: "erin", Severity: "SEV1"}, "only the Commander (alice) can change severity"},
		{workflows.ActSetSeverity, workflows.Act{By: "alice", Severity: "SEV9"}, "want one of SEV1"},
		{workflows.ActSetSeverity, workflows.Act{By: "alice", Severity: "SEV3"}, "already SEV3"},
		{workflows.ActAssignRole, workflows.Act{By: "carol", Role: "scribe", Person: "dan"}, "only the Commander (alice) can assign roles"},
		{workflows.ActAssignRole, workflows.Act{By: "alice", Role: "janitor", Person: "dan"}, `role "janitor"`},
		{workflows.ActAssignRole, workflows.Act{By: "alice", Role: "sme", Person: "nobody"}, `person "nobody" is not on`},
		{workflows.ActAssignRole, workflows.Act{By: "alice", Role: "scribe", Person: "carol"}, "carol is already scribe"},
		{workflows.ActAddNote, workflows.Act{By: "dan", Note: "  "}, "note: empty"},
		{workflows.ActAddNote, workflows.Act{By: "dan", Note: strings.Repeat("x", workflows.MaxTextLen+1)}, "note: longer"},
		{workflows.ActRequestApproval, workflows.Act{By: "dan", Approval: "x", Action: "y"}, "only a Subject Matter Expert"},
		{workflows.ActRequestApproval, workflows.Act{By: "erin", Action: "y"}, "approval: name it"},
		{workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "x"}, "action: say what"},
		{workflows.ActApprove, workflows.Act{By: "alice", Approval: "nope"}, `no pending approval named "nope" (none is pending)`},
		{workflows.ActResolve, a("erin"), "only the Commander (alice) can resolve"},
		{workflows.ActAcceptHandoff, a("grace"), "no handoff is pending"},
		// Accepted acts, then the checks that depend on them.
		{workflows.ActAddNote, workflows.Act{By: "dan", Note: "customers see stale dashboards"}, ""},
		{workflows.ActAcknowledge, a("alice"), ""},
		{workflows.ActAcknowledge, a("alice"), "already acknowledged"},
		{workflows.ActSetSeverity, workflows.Act{By: "alice", Severity: "sev2", Reason: "finance reports"}, ""},
		{workflows.ActAssignRole, workflows.Act{By: "alice", Role: "SME", Person: "ivan"}, ""},
		{workflows.ActRequestApproval, workflows.Act{By: "ivan", Approval: "revert-abc", Action: "revert commit abc"}, ""},
		{workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "revert-abc", Action: "again"}, `"revert-abc" already exists`},
		{workflows.ActApprove, workflows.Act{By: "erin", Approval: "revert-abc"}, `only the Commander (alice) can approve "revert-abc"`},
		{workflows.ActDeny, workflows.Act{By: "ivan", Approval: "revert-abc"}, `only the Commander (alice) can deny`},
		{workflows.ActApprove, workflows.Act{By: "alice", Approval: "revert-abc"}, ""},
		{workflows.ActDeny, workflows.Act{By: "alice", Approval: "revert-abc"}, "already approved by alice"},
		{workflows.ActAssignRole, workflows.Act{By: "alice", Role: "commander", Person: "bob"}, ""},
		{workflows.ActResolve, a("alice"), "only the Commander (bob) can resolve"},
		{workflows.ActResolve, a("bob"), ""},
		{workflows.ActSetSeverity, workflows.Act{By: "bob", Severity: "SEV1"}, "is resolved; only notes"},
		{workflows.ActAddNote, workflows.Act{By: "carol", Note: "postmortem on Friday"}, ""},
	}
	h := newHarness(t, "2026-06-02 10:00")
	type view struct {
		st workflows.Status
		tl int
	}
	look := func() view { return view{h.status(), len(h.timeline())} }
	for i, s := range steps {
		i, s := i, s
		at := time.Duration(i+1) * 3 * time.Second
		var before view
		h.at(at, func() { before = look() })
		if s.want == "" {
			h.mustAct(at+time.Second, s.act, s.by)
			continue
		}
		h.rejected(at+time.Second, s.act, s.by, s.want)
		h.at(at+2*time.Second, func() {
			after := look()
			b, a := before.st, after.st
			if a.State != b.State || a.Severity != b.Severity || a.Roles.Commander != b.Roles.Commander ||
				len(a.Roles.SMEs) != len(b.Roles.SMEs) || len(a.PendingApprovals) != len(b.PendingApprovals) || after.tl != before.tl {
				t.Errorf("step %d: rejected %s changed the incident", i, s.act)
			}
		})
	}
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	snap := h.result()
	if snap.State != workflows.Closed || snap.Severity != workflows.SEV2 || snap.MitigatedAt.IsZero() {
		t.Errorf("final: state %s severity %s mitigated %v", snap.State, snap.Severity, snap.MitigatedAt)
	}
	if snap.Roles.Commander != "bob" || len(snap.Roles.SMEs) != 2 {
		t.Errorf("final roles %+v", snap.Roles)
	}
}

func TestSignalRejectedIsRecordedAndChangesNothing(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(workflows.ActSetSeverity, workflows.Act{By: "erin", Via: "ui", Severity: "SEV1"})
	})
	h.at(2*time.Minute, func() {
		st := h.status()
		if st.Severity != workflows.SEV3 {
			t.Errorf("severity %s after a rejected signal, want SEV3", st.Severity)
		}
		tl := h.timeline()
		last := tl[len(tl)-1]
		if last.Kind != workflows.KindRejected || !strings.Contains(last.Why, "only the Commander (alice) can change severity") || last.Who != "erin" || last.Via != "ui" {
			t.Errorf("last timeline entry %+v, want erin's rejected signal with the reason", last)
		}
		h.env.SignalWorkflow(workflows.ActSetSeverity, workflows.Act{By: "alice", Via: "ui", Severity: "SEV1"})
	})
	h.at(3*time.Minute, func() {
		if st := h.status(); st.Severity != workflows.SEV1 {
			t.Errorf("severity %s after the Commander's signal, want SEV1", st.Severity)
		}
		h.env.SignalWorkflow(workflows.ActResolve, workflows.Act{By: "alice", Via: "ui"})
	})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	if snap := h.result(); snap.State != workflows.Closed {
		t.Errorf("state %s", snap.State)
	}
}

func TestRepeatAlertsJoinAndRecovery(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	alert := func(id string, st workflows.AlertStatus) workflows.Alert {
		return workflows.Alert{ID: id, Source: "alertmanager", Title: "orders load failing", DedupeKey: "orders-load", Status: st}
	}
	send := func(at time.Duration, alerts ...workflows.Alert) {
		h.at(at, func() {
			for _, a := range alerts {
				h.env.SignalWorkflow(workflows.SignalAlert, a)
			}
		})
	}
	a2 := alert("a-2", workflows.Firing)
	// The start's own alert again (as signal-with-start delivers it), a-2 redelivered five times, a-3.
	send(time.Minute, alert("a-1", workflows.Firing), a2, a2, a2, a2, a2, alert("a-3", workflows.Firing))
	h.at(2*time.Minute, func() {
		if st := h.status(); st.AlertCount != 3 {
			t.Errorf("alert count %d, want 3 (a-1, a-2, a-3)", st.AlertCount)
		}
		alerts := 0
		for _, e := range h.timeline() {
			if e.Kind == workflows.KindAlert {
				alerts++
			}
		}
		if alerts != 1 {
			t.Errorf("timeline has %d alert entries, want 1 (the opening): repeats are counted, not logged", alerts)
		}
	})
	h.mustAct(3*time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	send(4*time.Minute, alert("a-4", workflows.Recovered))
	h.at(5*time.Minute, func() {
		if st := h.status(); st.State != workflows.Monitoring || st.AlertStatus != workflows.Recovered {
			t.Errorf("after a resolved alert: %s/%s, want monitoring/resolved", st.State, st.AlertStatus)
		}
	})
	send(6*time.Minute, alert("a-5", workflows.Firing))
	h.at(7*time.Minute, func() {
		if st := h.status(); st.State != workflows.Diagnosing {
			t.Errorf("after firing again: %s, want diagnosing", st.State)
		}
	})
	h.mustAct(8*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	// Recovers, then fires again inside the close window: the incident reopens.
	send(8*time.Minute+30*time.Second, alert("a-6", workflows.Recovered), alert("a-7", workflows.Firing))
	h.at(9*time.Minute, func() {
		if st := h.status(); st.State != workflows.Diagnosing {
			t.Errorf("after a recurrence before close: %s, want diagnosing", st.State)
		}
	})
	h.mustAct(10*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	snap := h.result()
	if _, ok := find(snap.Timeline, "reopened"); !ok {
		t.Error("no reopen in the timeline")
	}
	if snap.AlertCount != 5 {
		t.Errorf("alert count %d, want 5 firing alerts", snap.AlertCount)
	}
}

func TestApprovalDeadlineEscalates(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV4)
	in.Options.ApprovalTimeout = 10 * time.Minute
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.mustAct(2*time.Minute, workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun", Action: "clear failed tasks"})
	h.at(20*time.Minute, func() {
		st := h.status()
		if len(st.PendingApprovals) != 1 || !st.PendingApprovals[0].Escalated {
			t.Errorf("pending approvals %+v, want one, escalated", st.PendingApprovals)
		}
		if got := h.rec.pages("bob"); len(got) != 1 {
			t.Errorf("bob pages %q, want one about the overdue approval", got)
		}
	})
	h.mustAct(21*time.Minute, workflows.ActDeny, workflows.Act{By: "alice", Approval: "rerun", Reason: "too risky"})
	h.mustAct(22*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	snap := h.result()
	if snap.Approvals[0].Status != workflows.ApprovalDenied || snap.Approvals[0].Reason != "too risky" {
		t.Errorf("approval %+v", snap.Approvals[0])
	}
}

func TestRepeatedActIDIsAppliedOnce(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	note := workflows.Act{By: "dan", ID: "slack-123", Note: "posted in #data"}
	h.mustAct(time.Minute, workflows.ActAddNote, note)
	h.act(2*time.Minute, workflows.ActAddNote, note, func(res workflows.ActResult, err error) {
		if err != nil || !strings.Contains(res.Message, "already applied") {
			t.Errorf("second delivery: %+v %v", res, err)
		}
	})
	h.mustAct(3*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, input(t, workflows.SEV3))
	snap := h.result()
	n := 0
	for _, e := range snap.Timeline {
		if strings.Contains(e.What, "posted in #data") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("note recorded %d times, want 1", n)
	}
}

func TestContinueAsNewCarriesEverything(t *testing.T) {
	h := newHarness(t, "2026-06-02 10:00")
	in := input(t, workflows.SEV2)
	h.mustAct(time.Minute, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	h.mustAct(2*time.Minute, workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun", Action: "clear failed tasks"})
	for i := 0; i < 40; i++ {
		h.at(3*time.Minute+time.Duration(i)*time.Second, func() {
			h.env.SignalWorkflow(workflows.ActAddNote, workflows.Act{By: "carol", Note: fmt.Sprintf("tick %d", i)})
		})
	}
	// The test environment runs each signal to completion on its own, so
	// draining signals buffered at continue-as-new is tested against the
	// real dev server (starter/incidents); here the suggestion arrives with
	// the last note.
	h.at(4*time.Minute, func() {
		h.env.SetContinueAsNewSuggested(true)
		h.env.SignalWorkflow(workflows.ActAddNote, workflows.Act{By: "carol", Note: "tick last"})
	})
	h.env.ExecuteWorkflow(incident.IncidentWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("not completed")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new", err)
	}
	var next workflows.IncidentInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	c := next.Carry
	if c == nil {
		t.Fatal("no state carried")
	}
	notes := 0
	for _, e := range c.Timeline {
		if strings.Contains(e.What, "tick") {
			notes++
		}
	}
	if notes != 41 {
		t.Errorf("%d of 41 notes carried over", notes)
	}
	if c.State != workflows.Diagnosing || len(c.Approvals) != 1 || c.Approvals[0].Status != workflows.ApprovalPending {
		t.Errorf("carried state %s approvals %+v", c.State, c.Approvals)
	}
	if c.NextUpdateAt.IsZero() || c.ShiftEnd.IsZero() || c.Approvals[0].Deadline.IsZero() {
		t.Error("timers' deadlines were not carried")
	}
	if next.Alert.DedupeKey != "orders-load" || next.Roster.Team != "data-platform" {
		t.Error("input not carried")
	}

	// The next run picks up where this one stopped.
	h2 := newHarness(t, "2026-06-02 10:03")
	h2.at(time.Minute, func() {
		st := h2.status()
		if st.ContinuedRuns != 1 || len(st.PendingApprovals) != 1 || st.Roles.Commander != "alice" {
			t.Errorf("continued status %+v", st)
		}
	})
	h2.mustAct(2*time.Minute, workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"})
	h2.mustAct(3*time.Minute, workflows.ActResolve, workflows.Act{By: "alice"})
	h2.env.ExecuteWorkflow(incident.IncidentWorkflow, next)
	if snap := h2.result(); snap.State != workflows.Closed {
		t.Errorf("continued run ended %s", snap.State)
	}
}
