package slackact_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/workflows"
)

// handClock is a notify.Clock that moves only when fire is called.
type handClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []handTimer
}

type handTimer struct {
	at time.Time
	f  func()
}

func (c *handClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *handClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = append(c.timers, handTimer{at: c.now.Add(d), f: f})
	return func() bool { return false }
}

// fire moves the clock to the earliest timer and runs it; false when there
// is none.
func (c *handClock) fire() bool {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return false
	}
	first := 0
	for i, t := range c.timers {
		if t.at.Before(c.timers[first].at) {
			first = i
		}
	}
	t := c.timers[first]
	c.timers = append(c.timers[:first], c.timers[first+1:]...)
	if t.at.After(c.now) {
		c.now = t.at
	}
	c.mu.Unlock()
	t.f()
	return true
}

// A storm of 100 SEV3 pages to one person through the Slack stand-in:
// the burst is delivered as pages, everything else as one digest, so the
// person gets burst+1 DMs instead of 100, and every page's call succeeds.
func TestPacedStormReachesOnePersonAsADigest(t *testing.T) {
	srv := newServer(t)
	clock := &handClock{now: time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)}
	const burst, pages = 3, 100
	c, err := notify.NewCoalescer(newBackend(t, srv), notify.CoalesceOptions{PageBurst: burst, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, pages)
	for i := range pages {
		go func() {
			errs <- c.Deliver(t.Context(), workflows.Notification{
				Kind: workflows.NotifyPage, To: "alice", Incident: fmt.Sprintf("storm-%03d", i), Severity: "SEV3",
				Subject: fmt.Sprintf("acknowledge storm-%03d", i),
			})
		}()
	}
	// Wait (without a clock) until every call was delivered or is held.
	for i := 0; ; i++ {
		s := c.Stats()
		if s.Direct+s.Coalesced == pages {
			break
		}
		if i > 5_000_000 {
			t.Fatalf("stats %+v: not every page arrived", s)
		}
		runtime.Gosched()
	}
	for clock.fire() {
	}
	for range pages {
		if err := <-errs; err != nil {
			t.Errorf("page: %v", err)
		}
	}
	im, ok := srv.IM(aliceSlack)
	if !ok {
		t.Fatal("alice got no DM")
	}
	dms := srv.Messages(im)
	if s := c.Stats(); s.Direct != burst || s.Digests != 1 {
		t.Errorf("stats %+v: want %d pages on their own and one digest", s, burst)
	}
	if len(dms) != burst+1 {
		t.Fatalf("alice got %d DMs, want %d (the burst and one digest)", len(dms), burst+1)
	}
	if calls := srv.Calls("chat.postMessage"); calls > 2*(burst+1) {
		t.Errorf("%d chat.postMessage calls for %d pages, want at most %d", calls, pages, 2*(burst+1))
	}
	// The burst's DMs may land after the digest's: find it by its text.
	digests := 0
	for _, m := range dms {
		text := strings.Join(sectionTexts(m), "\n")
		if !strings.Contains(text, "digest:") {
			continue
		}
		digests++
		t.Logf("the digest DM:\n%s", text)
		if !strings.Contains(text, fmt.Sprintf("%d pages", pages-burst)) || !strings.Contains(text, "and 77 more") {
			t.Errorf("digest DM does not count the held pages:\n%s", text)
		}
	}
	if digests != 1 {
		t.Errorf("%d digest DMs, want 1", digests)
	}
}

// advanceTo runs every timer due by t, in order, and sets the clock to t.
func (c *handClock) advanceTo(t time.Time) {
	for {
		c.mu.Lock()
		due := false
		for _, tm := range c.timers {
			if !tm.at.After(t) {
				due = true
				break
			}
		}
		c.mu.Unlock()
		if !due || !c.fire() {
			break
		}
	}
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// The measured storm, replayed: 1,027 SEV3 pages for 500 incidents to 5
// people, evenly over two minutes. Each person gets the burst and then one
// digest per window, not ~200 messages; every page's call succeeds. The
// same storm unpaced is logged for comparison.
func TestPacedMeasuredStorm(t *testing.T) {
	paced := replayStorm(t, false)
	unpaced := replayStorm(t, true)
	t.Logf("1,027 pages to 5 people over 2m: paced %d messages (%d chat.postMessage calls), unpaced %d (%d calls)",
		paced.messages, paced.calls, unpaced.messages, unpaced.calls)
	perPerson := notify.DefaultPageBurst + int(2*time.Minute/notify.DefaultPageWindow) + 1
	if paced.messages > perPerson*5 {
		t.Errorf("paced: %d messages, want at most %d per person", paced.messages, perPerson)
	}
	if unpaced.messages != 1027 {
		t.Errorf("unpaced: %d messages, want every page", unpaced.messages)
	}
}

type stormResult struct{ messages, calls int }

func replayStorm(t *testing.T, off bool) stormResult {
	t.Helper()
	srv := newServer(t)
	start := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	clock := &handClock{now: start}
	const pages, incidents, span = 1027, 500, 2 * time.Minute
	people := []string{"alice", "bob", "carol", "dave", "erin"}
	c, err := notify.NewCoalescer(newBackend(t, srv), notify.CoalesceOptions{Clock: clock, NoPages: off})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, pages)
	for i := range pages {
		clock.advanceTo(start.Add(span * time.Duration(i) / pages))
		n := workflows.Notification{
			Kind: workflows.NotifyPage, To: people[i%len(people)], Incident: fmt.Sprintf("storm-%03d", i%incidents),
			Severity: "SEV3", Subject: fmt.Sprintf("acknowledge storm-%03d (page %d)", i%incidents, i),
		}
		go func() { errs <- c.Deliver(t.Context(), n) }()
		for j := 0; ; j++ { // until it is delivered or held
			if s := c.Stats(); s.Direct+s.Coalesced == int64(i+1) {
				break
			}
			if j > 5_000_000 {
				t.Fatalf("page %d never arrived", i)
			}
			runtime.Gosched()
		}
	}
	clock.advanceTo(start.Add(span + time.Minute))
	for range pages {
		if err := <-errs; err != nil {
			t.Errorf("page: %v", err)
		}
	}
	s := c.Stats()
	if s.Direct+s.Coalesced != pages {
		t.Errorf("stats %+v do not add up to %d pages", s, pages)
	}
	return stormResult{messages: int(s.Direct + s.Digests), calls: srv.Calls("chat.postMessage")}
}
