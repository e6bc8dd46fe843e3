package notify

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/workflows"
)

// fakeClock is a Clock that moves only when Advance is called; due
// functions run in Advance's goroutine, in order.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock by d, running every timer due by then.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		slices.SortStableFunc(c.timers, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
		var due *fakeTimer
		if len(c.timers) > 0 && !c.timers[0].at.After(end) {
			due = c.timers[0]
			c.timers = c.timers[1:]
			if due.at.After(c.now) {
				c.now = due.at
			}
		}
		if due == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if !due.stopped {
			due.f()
		}
	}
}

// recorder is a backend that records what it delivers and fails while
// fail is set.
type recorder struct {
	mu   sync.Mutex
	got  []workflows.Notification
	fail error
}

func (r *recorder) Name() string { return "rec" }

func (r *recorder) Deliver(_ context.Context, n workflows.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return r.fail
}

func (r *recorder) delivered() []workflows.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func newTestCoalescer(t *testing.T, opts CoalesceOptions) (*Coalescer, *recorder, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	opts.Clock = clock
	rec := &recorder{}
	c, err := NewCoalescer(rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec, clock
}

func page(to, incident, sev string) workflows.Notification {
	return workflows.Notification{Kind: workflows.NotifyPage, To: to, Incident: incident, Severity: sev, Subject: "ack " + incident}
}

// waiting is how many notifications wait in key's pending digests.
func (c *Coalescer) waiting(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	if b := c.buckets[key]; b != nil {
		for _, d := range b.queue {
			n += len(d.items)
		}
	}
	return n
}

// awaitWaiting yields until want notifications wait under key (the
// goroutines that send them have joined); no clock is involved.
func awaitWaiting(t *testing.T, c *Coalescer, key string, want int) {
	t.Helper()
	for i := 0; c.waiting(key) != want; i++ {
		if i > 1_000_000 {
			t.Fatalf("%s: %d waiting, want %d", key, c.waiting(key), want)
		}
		runtime.Gosched()
	}
}

// deliverAsync starts Deliver for each notification; the channel gets
// their errors, one each.
func deliverAsync(ctx context.Context, c *Coalescer, ns ...workflows.Notification) <-chan error {
	errs := make(chan error, len(ns))
	for _, n := range ns {
		go func() { errs <- c.Deliver(ctx, n) }()
	}
	return errs
}

func TestCoalescerBurstThenOneDigest(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 3, PageWindow: 15 * time.Second})
	for i := range 3 {
		if err := c.Deliver(t.Context(), page("alice", fmt.Sprintf("inc-%d", i), "SEV3")); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(rec.delivered()); got != 3 {
		t.Fatalf("burst: %d delivered, want 3 at once", got)
	}
	var held []workflows.Notification
	for i := 3; i < 10; i++ {
		held = append(held, page("alice", fmt.Sprintf("inc-%d", i), "SEV4"))
	}
	errs := deliverAsync(t.Context(), c, held...)
	awaitWaiting(t, c, "page/alice", 7)
	if got := len(rec.delivered()); got != 3 {
		t.Fatalf("before the window: %d delivered, want 3", got)
	}
	clock.Advance(15 * time.Second)
	for range held {
		if err := <-errs; err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
	got := rec.delivered()
	if len(got) != 4 {
		t.Fatalf("%d deliveries, want 3 pages and one digest", len(got))
	}
	d := got[3]
	if d.Kind != workflows.NotifyPage || d.To != "alice" || !strings.Contains(d.Subject, "7 pages") || d.Approval != nil {
		t.Errorf("digest %+v", d)
	}
	for _, n := range held {
		if !strings.Contains(d.Body, "`"+n.Incident+"`") || !strings.Contains(d.Body, n.Subject) {
			t.Errorf("digest body lacks %s:\n%s", n.Incident, d.Body)
		}
	}
	if !strings.Contains(d.Body, "Held from 15:00:00 to 15:00:15 UTC") {
		t.Errorf("digest body does not say when its pages were held:\n%s", d.Body)
	}
	if s := c.Stats(); s.Direct != 3 || s.Coalesced != 7 || s.Digests != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestCoalescerDigestIsBounded(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 1, DigestLines: 5})
	if err := c.Deliver(t.Context(), page("bob", "first", "SEV3")); err != nil {
		t.Fatal(err)
	}
	var held []workflows.Notification
	for i := range 12 {
		held = append(held, page("bob", fmt.Sprintf("inc-%02d", i), "SEV3"))
	}
	errs := deliverAsync(t.Context(), c, held...)
	awaitWaiting(t, c, "page/bob", 12)
	clock.Advance(DefaultPageWindow)
	for range held {
		if err := <-errs; err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
	got := rec.delivered()
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want the page and one digest", len(got))
	}
	if lines := strings.Count(got[1].Body, "\n- `"); lines != 5 || !strings.Contains(got[1].Body, "and 7 more") {
		t.Errorf("digest lists %d pages, want 5 and \"and 7 more\":\n%s", lines, got[1].Body)
	}
}

func TestCoalescerDigestFailureReachesEveryWaiter(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 1})
	if err := c.Deliver(t.Context(), page("alice", "a", "SEV3")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("slack down")
	rec.mu.Lock()
	rec.fail = boom
	rec.mu.Unlock()
	errs := deliverAsync(t.Context(), c, page("alice", "b", "SEV3"), page("alice", "c", "SEV3"), page("alice", "d", "SEV3"))
	awaitWaiting(t, c, "page/alice", 3)
	clock.Advance(DefaultPageWindow)
	for range 3 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Errorf("waiter got %v, want the digest's error", err)
		}
	}
	if got := rec.delivered(); len(got) != 2 {
		t.Errorf("%d delivery attempts, want the page and one digest", len(got))
	}
}

// Urgent pages and approval pages are delivered at once even with the
// budget spent, and spend it.
func TestCoalescerNeverHoldsUrgentOrApprovalPages(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 2})
	for _, n := range []workflows.Notification{page("alice", "a", "SEV1"), page("alice", "b", "sev2")} {
		if err := c.Deliver(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	// The budget is spent by the urgent pages: a SEV3 page waits.
	errs := deliverAsync(t.Context(), c, page("alice", "c", "SEV3"))
	awaitWaiting(t, c, "page/alice", 1)
	approval := page("alice", "d", "SEV4")
	approval.Approval = &workflows.ApprovalRef{ID: "ap-1", Action: "github.revert_commit", Approver: "commander"}
	if err := c.Deliver(t.Context(), approval); err != nil {
		t.Fatal(err)
	}
	if err := c.Deliver(t.Context(), page("alice", "e", "SEV1")); err != nil {
		t.Fatal(err)
	}
	got := rec.delivered()
	if len(got) != 4 || got[2].Approval == nil || got[2].Incident != "d" || got[3].Incident != "e" {
		t.Fatalf("delivered %+v; want a, b, the approval page and e at once", got)
	}
	clock.Advance(DefaultPageWindow)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if got := rec.delivered(); len(got) != 5 || got[4].Incident != "c" || got[4].Subject != "ack c" {
		t.Errorf("the held page: %+v; want it alone, as it was", got[4:])
	}
}

func TestCoalescerCancelledWaiterLeavesTheDigest(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 1})
	if err := c.Deliver(t.Context(), page("alice", "a", "SEV3")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	gone := deliverAsync(ctx, c, page("alice", "gone", "SEV3"))
	awaitWaiting(t, c, "page/alice", 1)
	stays := deliverAsync(t.Context(), c, page("alice", "b", "SEV3"), page("alice", "c", "SEV3"))
	awaitWaiting(t, c, "page/alice", 3)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	awaitWaiting(t, c, "page/alice", 2)
	clock.Advance(DefaultPageWindow)
	for range 2 {
		if err := <-stays; err != nil {
			t.Error(err)
		}
	}
	got := rec.delivered()
	if len(got) != 2 || strings.Contains(got[1].Body, "`gone`") || !strings.Contains(got[1].Body, "`b`") {
		t.Errorf("digest %+v: want b and c, not the cancelled page (Temporal retries it)", got[1:])
	}
	// The cancelled page's retry finds the budget spent: it joins the
	// next digest.
	again := deliverAsync(t.Context(), c, page("alice", "gone", "SEV3"))
	awaitWaiting(t, c, "page/alice", 1)
	clock.Advance(DefaultPageWindow)
	if err := <-again; err != nil {
		t.Fatal(err)
	}
	if got := rec.delivered(); len(got) != 3 || got[2].Incident != "gone" {
		t.Errorf("the retry: %+v", got[2:])
	}
}

// A page alone in its digest is delivered by its own call, as it is, so
// that the backends key it on its own activity: the same page held twice
// is delivered twice.
func TestCoalescerLonePageDeliversItself(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 1})
	if err := c.Deliver(t.Context(), page("alice", "a", "SEV3")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		errs := deliverAsync(t.Context(), c, page("alice", "x", "SEV3"))
		awaitWaiting(t, c, "page/alice", 1)
		clock.Advance(DefaultPageWindow)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := rec.delivered()
	if len(got) != 3 || got[1] != page("alice", "x", "SEV3") || got[2] != got[1] {
		t.Errorf("delivered %+v; want a, then x twice as it is", got)
	}
	if s := c.Stats(); s.Digests != 0 || s.Coalesced != 2 {
		t.Errorf("stats %+v", s)
	}
}

// Idle budgets are dropped when many people were paced, but never the
// one being spent.
func TestCoalescerForgetsIdleBudgetsOnly(t *testing.T) {
	c, _, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 1})
	for i := range 1100 {
		if err := c.Deliver(t.Context(), page(fmt.Sprint("p", i), "a", "SEV3")); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(DefaultPageWindow) // every budget is full again: idle
	c.mu.Lock()
	c.gcAt = 0 // a sweep is due
	c.mu.Unlock()
	if err := c.Deliver(t.Context(), page("zed", "a", "SEV3")); err != nil {
		t.Fatal(err)
	}
	errs := deliverAsync(t.Context(), c, page("zed", "b", "SEV3"))
	awaitWaiting(t, c, "page/zed", 1)
	if n := len(c.buckets); n > 2 {
		t.Errorf("%d budgets kept, want only zed's", n)
	}
	clock.Advance(DefaultPageWindow)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

func TestCoalescerPeopleDoNotInterfere(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 1})
	if err := c.Deliver(t.Context(), page("alice", "a1", "SEV3")); err != nil {
		t.Fatal(err)
	}
	held := deliverAsync(t.Context(), c, page("alice", "a2", "SEV3"))
	awaitWaiting(t, c, "page/alice", 1)
	for _, who := range []string{"bob", "carol"} {
		if err := c.Deliver(t.Context(), page(who, who, "SEV3")); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(rec.delivered()); got != 3 {
		t.Errorf("%d delivered; bob's and carol's pages must not wait for alice's budget", got)
	}
	clock.Advance(DefaultPageWindow)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

func TestCoalescerBatchesPostsPerChannel(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PostBurst: 1, PostInterval: time.Second, PostsPerBatch: 3})
	post := func(inc, subject string) workflows.Notification {
		return workflows.Notification{Kind: workflows.NotifyPost, Incident: inc, Subject: subject, Body: "detail of " + subject}
	}
	if err := c.Deliver(t.Context(), post("inc-1", "opened")); err != nil {
		t.Fatal(err)
	}
	var held []workflows.Notification
	for i := range 5 {
		held = append(held, post("inc-1", fmt.Sprintf("step %d", i)))
	}
	errs := make(chan error, len(held))
	for _, n := range held { // in order, so the batches are known
		go func() { errs <- c.Deliver(t.Context(), n) }()
		awaitWaiting(t, c, "post/inc-1", slices.Index(held, n)+1)
	}
	// Another channel is not held back by inc-1's pace.
	if err := c.Deliver(t.Context(), post("inc-2", "opened")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	awaitWaiting(t, c, "post/inc-1", 2)
	clock.Advance(time.Second)
	for range held {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	got := rec.delivered()
	if len(got) != 4 {
		t.Fatalf("%d messages, want inc-1's first post, inc-2's, and two batches (3+2)", len(got))
	}
	for i, want := range [][]string{{"step 0", "step 1", "step 2"}, {"step 3", "step 4"}} {
		b := got[2+i]
		if b.Kind != workflows.NotifyPost || b.Incident != "inc-1" {
			t.Errorf("batch %d: %+v", i, b)
		}
		for _, s := range want {
			if !strings.Contains(b.Body, "**"+s+"**") || !strings.Contains(b.Body, "detail of "+s) {
				t.Errorf("batch %d lacks %q:\n%s", i, s, b.Body)
			}
		}
	}
}

// Exempt notifications (here: what leadership is emailed about) and kinds
// that are not paced go out at once.
func TestCoalescerExemptAndUnpaced(t *testing.T) {
	c, rec, _ := newTestCoalescer(t, CoalesceOptions{PostBurst: 1, Exempt: func(n workflows.Notification) bool {
		return strings.HasPrefix(n.Subject, "resolved:")
	}})
	for _, n := range []workflows.Notification{
		{Kind: workflows.NotifyPost, Incident: "i", Subject: "one"},
		{Kind: workflows.NotifyPost, Incident: "i", Subject: "resolved: it"},
		{Kind: workflows.NotifyStatusUpdate, Incident: "i", Subject: "update"},
		{Kind: workflows.NotifyHandoffSummary, Incident: "i", Subject: "handoff"},
	} {
		if err := c.Deliver(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(rec.delivered()); got != 4 {
		t.Errorf("%d delivered at once, want 4", got)
	}
}

func TestCoalesceOptionsValidate(t *testing.T) {
	for _, o := range []CoalesceOptions{
		{PageBurst: -1}, {PageWindow: -time.Second}, {PageWindow: time.Minute}, {PostInterval: time.Minute},
	} {
		if _, err := NewCoalescer(&recorder{}, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := NewCoalescer(nil, CoalesceOptions{}); err == nil {
		t.Error("nil backend accepted")
	}
}

func TestCoalesceOptionsFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	o, on, err := CoalesceOptionsFromEnv(env())
	if err != nil || !on || o.NoPages || o.NoPosts {
		t.Errorf("defaults: %+v on=%v err=%v", o, on, err)
	}
	o, on, err = CoalesceOptionsFromEnv(env(EnvPageBurst, "5", EnvPageWindow, "10s", EnvPostBurst, "off"))
	if err != nil || !on || o.PageBurst != 5 || o.PageWindow != 10*time.Second || !o.NoPosts || o.NoPages {
		t.Errorf("set: %+v on=%v err=%v", o, on, err)
	}
	if _, on, err = CoalesceOptionsFromEnv(env(EnvPageBurst, "OFF", EnvPostInterval, "off")); err != nil || on {
		t.Errorf("all off: on=%v err=%v", on, err)
	}
	for _, kv := range [][]string{{EnvPageBurst, "0"}, {EnvPageBurst, "many"}, {EnvPageWindow, "1m"}, {EnvPostInterval, "-1s"}} {
		_, _, err := CoalesceOptionsFromEnv(env(kv...))
		if err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: %v, want an error naming the variable", kv[0], kv[1], err)
		}
	}
}

func TestCoalescerOffDeliversAtOnce(t *testing.T) {
	c, rec, _ := newTestCoalescer(t, CoalesceOptions{PageBurst: 1, PostBurst: 1, NoPages: true, NoPosts: true})
	for i := range 5 {
		if err := c.Deliver(t.Context(), page("alice", fmt.Sprint(i), "SEV4")); err != nil {
			t.Fatal(err)
		}
		if err := c.Deliver(t.Context(), workflows.Notification{Kind: workflows.NotifyPost, Incident: "i", Subject: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(rec.delivered()); got != 10 {
		t.Errorf("%d delivered, want all 10 at once", got)
	}
}

// Inside the Notify activity a held page heartbeats while it waits and
// returns the digest's outcome as the activity's.
func TestCoalescerInsideTheActivity(t *testing.T) {
	c, rec, clock := newTestCoalescer(t, CoalesceOptions{PageBurst: 1})
	if err := c.Deliver(t.Context(), page("alice", "a", "SEV3")); err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	Register(env, &Activities{Backend: c})
	errs := make(chan error, 1)
	go func() {
		_, err := env.ExecuteActivity(workflows.NotifyActivity, page("alice", "b", "SEV3"))
		errs <- err
	}()
	awaitWaiting(t, c, "page/alice", 1)
	clock.Advance(DefaultPageWindow)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if got := rec.delivered(); len(got) != 2 || got[1].Incident != "b" {
		t.Errorf("delivered %+v", got)
	}
}

// BenchmarkCoalescerDirect is the pacing's cost on a notification it
// delivers at once (a fresh person each time, as in a storm's first pages).
func BenchmarkCoalescerDirect(b *testing.B) {
	c, err := NewCoalescer(failing{}, CoalesceOptions{Clock: newFakeClock()})
	if err != nil {
		b.Fatal(err)
	}
	people := make([]string, 4096)
	for i := range people {
		people[i] = fmt.Sprint("p", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n := page(people[i%len(people)], "a", "SEV1")
		i++
		if err := c.Deliver(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
}
