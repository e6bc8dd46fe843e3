package incident_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/signing"
)

// The workflow ID the test environment gives the incident.
const chanIncident = "default-test-workflow-id"

// Slack IDs of the channel tests.
const (
	uAlice    = "U01ALICE"
	uErin     = "U01ERIN"
	uStranger = "U09STRANGER"
	incChan   = "C0INC"
)

type key struct {
	priv ed25519.PrivateKey
	pub  string
}

func newKey(t testing.TB) key {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key{priv: priv, pub: signing.FormatPublicKey(pub)}
}

// channelRoster: alice commands (Slack U01ALICE), erin is the SME (Slack
// U01ERIN); the Slack app's key is listed as service slack; acknowledge
// and resolve are taken unsigned, channel acts are not.
func channelRoster(t testing.TB, app key) oncall.Roster {
	t.Helper()
	r, err := oncall.Parse([]byte(`
team: data-platform
timezone: UTC
people:
  - {id: alice, slack: U01ALICE}
  - {id: bob}
  - {id: erin, slack: U01ERIN}
shifts:
  - {name: day, start: "00:00", end: "00:00", commander: alice, secondary: bob, smes: [erin]}
trust:
  unsigned: [acknowledge, resolve]
  services:
    - {name: slack, key: "` + app.pub + `", claims: [slack]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type chanRecorder struct {
	mu  sync.Mutex
	pms []workflows.Report
}

func (r *chanRecorder) Name() string                                          { return "recorder" }
func (r *chanRecorder) Deliver(context.Context, workflows.Notification) error { return nil }
func (r *chanRecorder) postmortem(_ context.Context, rep workflows.Report) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pms = append(r.pms, rep)
	return "postmortems/" + rep.ID + ".md", nil
}
func (r *chanRecorder) items(context.Context, workflows.Report) ([]string, error) { return nil, nil }
func (r *chanRecorder) doc(context.Context, workflows.Report) (workflows.DocumentResult, error) {
	return workflows.DocumentResult{}, nil
}

type chanHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	rec *chanRecorder
	app key
}

func newChanHarness(t *testing.T) *chanHarness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(120 * time.Second)
	rec := &chanRecorder{}
	env.RegisterWorkflowWithOptions(incident.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	notify.Register(env, &notify.Activities{Backend: rec})
	env.RegisterActivityWithOptions(rec.postmortem, activity.RegisterOptions{Name: workflows.PostmortemActivityName})
	env.RegisterActivityWithOptions(rec.items, activity.RegisterOptions{Name: workflows.ActionItemsActivityName})
	env.RegisterActivityWithOptions(rec.doc, activity.RegisterOptions{Name: workflows.DocumentActivityName})
	env.SetStartTime(time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC))
	return &chanHarness{t: t, env: env, rec: rec, app: newKey(t)}
}

func (h *chanHarness) run() {
	h.env.ExecuteWorkflow(workflows.IncidentWorkflowName, workflows.IncidentInput{
		Alert:   workflows.Alert{ID: "a-1", Source: "test", Title: "orders load failing", DedupeKey: "orders-load", Severity: workflows.SEV3},
		Roster:  channelRoster(h.t, h.app),
		Options: workflows.Options{CloseAfter: time.Minute, ClosureTimeout: 2 * time.Minute},
	})
}

// message is a channel act as the Slack app builds it: by the roster person
// (or "slack:<ID>"), with the message's act ID.
func message(by, name string, m workflows.ChannelMessage) (string, workflows.Act) {
	return name, workflows.Act{By: by, Via: "slack", ID: m.ActID(), Channel: &m}
}

// signAs signs act as service svc vouching for claim, with k, at.
func signAs(k key, svc, claim, name string, act workflows.Act, at time.Time) workflows.Act {
	act.Sig = &workflows.Signature{Key: "service:" + svc, Claim: claim, At: at}
	act.Sig.Value = signing.Sign(k.priv, act.SigningBytes(chanIncident, name))
	return act
}

// send sends act at d, signed by the app for its message's user unless
// sign says otherwise, and hands the outcome to check.
func (h *chanHarness) send(d time.Duration, name string, act workflows.Act, sign func(workflows.Act, time.Time) workflows.Act, check func(workflows.ActResult, error)) {
	h.env.RegisterDelayedCallback(func() { h.sendNow(name, act, sign, check) }, d)
}

// sendNow sends act from inside a callback.
func (h *chanHarness) sendNow(name string, act workflows.Act, sign func(workflows.Act, time.Time) workflows.Act, check func(workflows.ActResult, error)) {
	a := act
	if sign != nil {
		a = sign(a, h.env.Now())
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
}

// expect checks an accepted act's message.
func (h *chanHarness) expect(what, want string) func(workflows.ActResult, error) {
	return func(r workflows.ActResult, err error) {
		if err != nil || !strings.Contains(r.Message, want) {
			h.t.Errorf("%s: %q, %v; want %q", what, r.Message, err, want)
		}
	}
}

func (h *chanHarness) bySlack(name string, act workflows.Act) func(workflows.Act, time.Time) workflows.Act {
	return func(a workflows.Act, at time.Time) workflows.Act {
		return signAs(h.app, "slack", "slack:"+act.Channel.User, name, a, at)
	}
}

func (h *chanHarness) ok(d time.Duration, name string, act workflows.Act, want string) {
	h.send(d, name, act, h.bySlack(name, act), func(r workflows.ActResult, err error) {
		if err != nil || !strings.Contains(r.Message, want) {
			h.t.Errorf("%s %s at %s: %q, %v; want %q", name, act.ID, d, r.Message, err, want)
		}
	})
}

func (h *chanHarness) refused(d time.Duration, name string, act workflows.Act, sign func(workflows.Act, time.Time) workflows.Act, want string) {
	h.send(d, name, act, sign, func(r workflows.ActResult, err error) {
		if err == nil || !strings.Contains(err.Error(), want) {
			h.t.Errorf("%s %s at %s: %q, %v; want a refusal containing %q", name, act.ID, d, r.Message, err, want)
		}
	})
}

func (h *chanHarness) plain(d time.Duration, name, by string) {
	h.send(d, name, workflows.Act{By: by, ID: fmt.Sprintf("%s-%s", name, d)}, nil, func(_ workflows.ActResult, err error) {
		if err != nil {
			h.t.Errorf("%s: %v", name, err)
		}
	})
}

func (h *chanHarness) snapshot() workflows.Snapshot {
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

func channelEntries(tl []workflows.TimelineEntry) []workflows.TimelineEntry {
	var out []workflows.TimelineEntry
	for _, e := range tl {
		if e.Kind == workflows.KindChannel || e.Ref != "" {
			out = append(out, e)
		}
	}
	return out
}

// Channel messages reach the timeline as verified acts of the Slack app on
// behalf of the person (or of an unmapped Slack user, recorded by Slack
// ID), once each however often they are relayed; edits and deletions are
// recorded; a pin makes the latest text a finding. Forged, unsigned,
// misattributed, oversized or misnumbered ones change nothing.
func TestChannelMessages(t *testing.T) {
	h := newChanHarness(t)
	m1 := workflows.ChannelMessage{Event: workflows.ChannelPosted, Channel: incChan, TS: "1780000001.000100", User: uAlice, Text: "the load failed at 03:10, looking"}
	n, a := message("alice", workflows.ActChannelMessage, m1)
	h.ok(time.Minute, n, a, "channel message posted")
	h.ok(2*time.Minute, n, a, "already applied") // Slack's retry, relayed again

	stranger := workflows.ChannelMessage{Event: workflows.ChannelPosted, Channel: incChan, TS: "1780000002.000200", User: uStranger, Text: "finance dashboard is empty <!channel>"}
	ns, as := message("slack:"+uStranger, workflows.ActChannelMessage, stranger)
	h.ok(3*time.Minute, ns, as, "posted")

	reply := workflows.ChannelMessage{Event: workflows.ChannelPosted, Channel: incChan, TS: "1780000003.000300", ThreadTS: m1.TS, User: uErin, Text: "3 downstream models affected"}
	nr, ar := message("erin", workflows.ActChannelMessage, reply)
	h.ok(4*time.Minute, nr, ar, "posted")

	// What an attacker (or a confused client) sends changes nothing.
	forged := workflows.ChannelMessage{Event: workflows.ChannelPosted, Channel: incChan, TS: "1780000004.000400", User: uAlice, Text: "forged"}
	nf, af := message("alice", workflows.ActChannelMessage, forged)
	mallory := newKey(t)
	h.refused(5*time.Minute, nf, af, func(a workflows.Act, at time.Time) workflows.Act {
		return signAs(mallory, "slack", "slack:"+uAlice, nf, a, at)
	}, "signature does not verify")
	h.refused(5*time.Minute+time.Second, nf, af, nil, "needs a verified identity")
	h.refused(5*time.Minute+2*time.Second, nf, af, func(a workflows.Act, at time.Time) workflows.Act {
		return signAs(h.app, "slack", "slack:"+uErin, nf, a, at)
	}, "not by service:slack")
	h.refused(5*time.Minute+3*time.Second, nf, af, func(a workflows.Act, at time.Time) workflows.Act {
		return signAs(h.app, "slack", "slack:"+uAlice, nf, a, at.Add(-time.Hour))
	}, "signed acts are taken for")
	_, asBob := message("bob", workflows.ActChannelMessage, forged)
	h.refused(5*time.Minute+4*time.Second, nf, asBob, h.bySlack(nf, asBob), "is alice on the roster, not bob")
	strangerAsAlice := forged
	strangerAsAlice.User = uStranger
	_, asAlice := message("alice", workflows.ActChannelMessage, strangerAsAlice)
	h.refused(5*time.Minute+5*time.Second, nf, asAlice, h.bySlack(nf, asAlice), `their channel acts are by "slack:U09STRANGER"`)
	_, unsignedStranger := message("slack:"+uStranger, workflows.ActChannelMessage, strangerAsAlice)
	h.refused(5*time.Minute+6*time.Second, nf, unsignedStranger, nil, "need the Slack app's signature")
	misnumbered := af
	misnumbered.ID = "slack-posted-C0INC-other"
	h.refused(5*time.Minute+7*time.Second, nf, misnumbered, h.bySlack(nf, misnumbered), "a channel act's id is its message's")
	big := forged
	big.Text = strings.Repeat("x", workflows.MaxTextLen+1)
	_, abig := message("alice", workflows.ActChannelMessage, big)
	h.refused(5*time.Minute+8*time.Second, nf, abig, h.bySlack(nf, abig), "longer than 4000 bytes")
	badID := forged
	badID.Channel = "C0INC|x"
	_, abad := message("alice", workflows.ActChannelMessage, badID)
	h.refused(5*time.Minute+9*time.Second, nf, abad, h.bySlack(nf, abad), "only letters, digits and dots")
	notIn := workflows.ChannelMessage{Event: workflows.ChannelPinned, Channel: incChan, TS: "1780000099.000000", User: uErin}
	np, ap := message("erin", workflows.ActChannelPin, notIn)
	h.refused(5*time.Minute+10*time.Second, np, ap, h.bySlack(np, ap), "is not in the incident's channel log")
	wrongKind := m1
	_, aw := message("alice", workflows.ActChannelPin, wrongKind)
	h.refused(5*time.Minute+11*time.Second, workflows.ActChannelPin, aw, h.bySlack(workflows.ActChannelPin, aw), "want pinned")

	// Edit, pin (the edited text is the finding, the author is credited),
	// the pin again (another reaction): one finding.
	edit := m1
	edit.Event, edit.EditTS, edit.Text = workflows.ChannelEdited, "1780000010.000000", "the load failed at 03:10: the landing files were late"
	ne, ae := message("alice", workflows.ActChannelMessage, edit)
	h.ok(6*time.Minute, ne, ae, "edited")
	pin := workflows.ChannelMessage{Event: workflows.ChannelPinned, Channel: incChan, TS: m1.TS, User: uErin}
	npin, apin := message("erin", workflows.ActChannelPin, pin)
	h.ok(7*time.Minute, npin, apin, "finding added")
	h.ok(7*time.Minute+time.Second, npin, apin, "already applied")

	// Deleted: recorded; a pin of it is refused.
	del := workflows.ChannelMessage{Event: workflows.ChannelDeleted, Channel: incChan, TS: stranger.TS, User: uStranger}
	nd, ad := message("slack:"+uStranger, workflows.ActChannelMessage, del)
	h.ok(8*time.Minute, nd, ad, "deleted")
	pinDel := workflows.ChannelMessage{Event: workflows.ChannelPinned, Channel: incChan, TS: stranger.TS, User: uAlice}
	npd, apd := message("alice", workflows.ActChannelPin, pinDel)
	h.refused(9*time.Minute, npd, apd, h.bySlack(npd, apd), "was deleted")

	h.plain(10*time.Minute, workflows.ActAcknowledge, "alice")
	h.plain(11*time.Minute, workflows.ActResolve, "alice")
	// Resolved: the channel still counts; closed: refused.
	late := workflows.ChannelMessage{Event: workflows.ChannelPosted, Channel: incChan, TS: "1780000020.000000", User: uAlice, Text: "all green since 10:11"}
	nl, al := message("alice", workflows.ActChannelMessage, late)
	h.ok(12*time.Minute, nl, al, "posted")
	h.run()

	snap := h.snapshot()
	got := channelEntries(snap.Timeline)
	want := []struct{ who, kind, what, verified string }{
		{"alice", workflows.KindChannel, "said: the load failed at 03:10, looking", "slack:U01ALICE via slack"},
		{"slack:U09STRANGER", workflows.KindChannel, "said: finance dashboard is empty <!channel>", "slack:U09STRANGER via slack (not on the roster)"},
		{"erin", workflows.KindChannel, "replied in thread: 3 downstream models affected", "slack:U01ERIN via slack"},
		{"alice", workflows.KindChannel, "edited: the load failed at 03:10: the landing files were late", "slack:U01ALICE via slack"},
		{"alice", workflows.KindAct, "finding: the load failed at 03:10: the landing files were late", ""},
		{"slack:U09STRANGER", workflows.KindChannel, "deleted a message", "slack:U09STRANGER via slack (not on the roster)"},
		{"alice", workflows.KindChannel, "said: all green since 10:11", "slack:U01ALICE via slack"},
	}
	if len(got) != len(want) {
		t.Fatalf("channel entries:\n%s\nwant %d", dump(got), len(want))
	}
	for i, w := range want {
		e := got[i]
		if e.Who != w.who || e.Kind != w.kind || e.What != w.what || e.Verified != w.verified || e.Via != "slack" {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
	if got[4].Why != "pinned in the channel by erin (slack:U01ERIN via slack)" || got[4].Ref != "slack:C0INC/"+m1.TS {
		t.Errorf("pin entry %+v", got[4])
	}
	if snap.Channel.Entries != len(want) || snap.Channel.Dropped != 0 {
		t.Errorf("channel log %+v", snap.Channel)
	}
	if n := len(snap.Findings); n == 0 || snap.Findings[n-1] != "alice: the load failed at 03:10: the landing files were late" {
		t.Errorf("findings %q", snap.Findings)
	}
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if len(h.rec.pms) != 1 || len(channelEntries(h.rec.pms[0].Timeline)) != len(want) {
		t.Errorf("the postmortem's report lacks the channel entries: %d reports", len(h.rec.pms))
	}
}

func dump(tl []workflows.TimelineEntry) string {
	var b strings.Builder
	for _, e := range tl {
		fmt.Fprintf(&b, "  %s %s [%s] %s (%s)\n", e.Who, e.Kind, e.Verified, e.What, e.Why)
	}
	return b.String()
}

// An incident records at most MaxChannelEntries channel entries; later ones
// are counted, with one entry saying the log is full, and a pin past the
// bound changes no finding.
func TestChannelLogBound(t *testing.T) {
	h := newChanHarness(t)
	total := workflows.MaxChannelEntries + 3
	// The test environment takes a bounded number of callbacks ahead of
	// the run: each message schedules the next.
	var step func(i int)
	step = func(i int) {
		h.env.RegisterDelayedCallback(func() {
			if i == total {
				pin := workflows.ChannelMessage{Event: workflows.ChannelPinned, Channel: incChan, TS: "1780000000.000000", User: uErin}
				np, ap := message("erin", workflows.ActChannelPin, pin)
				h.sendNow(np, ap, h.bySlack(np, ap), h.expect("pin past the bound", "channel log is full"))
				h.plain(time.Minute, workflows.ActAcknowledge, "alice")
				h.plain(2*time.Minute, workflows.ActResolve, "alice")
				return
			}
			m := workflows.ChannelMessage{Event: workflows.ChannelPosted, Channel: incChan, TS: fmt.Sprintf("1780%06d.000000", i), User: uAlice, Text: fmt.Sprintf("message %d", i)}
			n, a := message("alice", workflows.ActChannelMessage, m)
			want := "posted"
			if i >= workflows.MaxChannelEntries {
				want = "channel log is full"
			}
			h.sendNow(n, a, h.bySlack(n, a), h.expect(fmt.Sprintf("message %d", i), want))
			step(i + 1)
		}, time.Second)
	}
	step(0)
	h.run()

	snap := h.snapshot()
	if snap.Channel.Entries != workflows.MaxChannelEntries || snap.Channel.Dropped != 4 {
		t.Errorf("channel log %+v, want %d entries and 4 dropped", snap.Channel, workflows.MaxChannelEntries)
	}
	n, full := 0, 0
	for _, e := range snap.Timeline {
		if e.Kind == workflows.KindChannel {
			n++
		}
		if strings.HasPrefix(e.What, "channel log full") {
			full++
		}
	}
	if n != workflows.MaxChannelEntries || full != 1 {
		t.Errorf("%d channel entries and %d log-full entries, want %d and 1", n, full, workflows.MaxChannelEntries)
	}
	if len(snap.Findings) != 0 {
		t.Errorf("findings %q after a pin past the bound", snap.Findings)
	}
}
