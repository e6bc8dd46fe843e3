package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/datasev/datasev/workflows"
)

// Defaults of CoalesceOptions.
const (
	// DefaultPageBurst is how many pages one person gets at once before
	// the rest are gathered into digests.
	DefaultPageBurst = 3
	// DefaultPageWindow is how often a person gets one more delivery
	// (a page or a digest) once the burst is spent.
	DefaultPageWindow = 15 * time.Second
	// MaxPageWindow bounds PageWindow: a page waits at most one window
	// plus the digest's delivery, which must stay well under the Notify
	// activity's 30s StartToClose timeout.
	MaxPageWindow = 20 * time.Second
	// DefaultPostBurst and DefaultPostInterval pace the posts to one
	// incident channel: Slack allows about one message a second per
	// channel, with short bursts.
	DefaultPostBurst    = 3
	DefaultPostInterval = time.Second
	// DefaultDigestLines bounds the pages a digest lists; the rest are
	// counted ("and 12 more").
	DefaultDigestLines = 20
	// DefaultPostsPerBatch bounds the posts one batched message carries;
	// more start the next batch (posts are not dropped, unlike the digest
	// lines of pages beyond DefaultDigestLines, which are only counted).
	DefaultPostsPerBatch = 10
	// DefaultDigestTimeout bounds one digest's delivery.
	DefaultDigestTimeout = 8 * time.Second
)

// Clock is the time a Coalescer reads and waits on. The real one is
// time's; tests use a fake that they advance by hand.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed; stop
	// cancels the call if it has not started.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// CoalesceOptions tune a Coalescer. Zero fields take the defaults.
type CoalesceOptions struct {
	// PageBurst is the pages one person gets delivered at once.
	PageBurst int
	// PageWindow is the time after which one more delivery to the person
	// is allowed (a token bucket of PageBurst tokens, one back per
	// PageWindow). At most MaxPageWindow.
	PageWindow time.Duration
	// PostBurst and PostInterval are the same budget for the posts to one
	// incident's channel.
	PostBurst    int
	PostInterval time.Duration
	// DigestLines bounds the pages a digest lists.
	DigestLines int
	// PostsPerBatch bounds the posts one batched message carries.
	PostsPerBatch int
	// DigestTimeout bounds one digest's delivery.
	DigestTimeout time.Duration
	// NoPages and NoPosts turn the pacing of pages, or of posts, off:
	// they are then delivered at once, as without a Coalescer.
	NoPages, NoPosts bool
	// Exempt marks notifications that are never held back, beyond the
	// built-in ones (SEV1 and SEV2 pages, pages asking for an approval),
	// e.g. the channel posts leadership is emailed about, whose subject
	// the email backend reads. Optional.
	Exempt func(workflows.Notification) bool
	// Clock is the time; nil for the wall clock.
	Clock Clock
	// Logger records each page gathered into a digest (the log backend
	// then sees the digest, not the page); nil discards.
	Logger *slog.Logger
}

// Validate reports a budget that cannot work.
func (o CoalesceOptions) Validate() error {
	switch {
	case o.PageBurst < 0 || o.PostBurst < 0 || o.DigestLines < 0 || o.PostsPerBatch < 0:
		return errors.New("coalesce: negative burst or bound")
	case o.PageWindow < 0 || o.PostInterval < 0 || o.DigestTimeout < 0:
		return errors.New("coalesce: negative window")
	case o.PageWindow > MaxPageWindow:
		return fmt.Errorf("coalesce: page window %s is over %s: a page waits up to a window inside a 30s activity", o.PageWindow, MaxPageWindow)
	case o.PostInterval > MaxPageWindow:
		return fmt.Errorf("coalesce: post interval %s is over %s", o.PostInterval, MaxPageWindow)
	}
	return nil
}

func (o CoalesceOptions) withDefaults() CoalesceOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.PageBurst, DefaultPageBurst)
	def(&o.PostBurst, DefaultPostBurst)
	def(&o.DigestLines, DefaultDigestLines)
	def(&o.PostsPerBatch, DefaultPostsPerBatch)
	defd(&o.PageWindow, DefaultPageWindow)
	defd(&o.PostInterval, DefaultPostInterval)
	defd(&o.DigestTimeout, DefaultDigestTimeout)
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// CoalesceStats counts what a Coalescer did since it was made.
type CoalesceStats struct {
	// Direct is the notifications delivered on their own: within budget,
	// exempt, or not paced at all.
	Direct int64
	// Coalesced is the pages and posts that waited for a digest or batch.
	Coalesced int64
	// Digests is the digests and batches delivered (successfully or not)
	// that carried more than one notification.
	Digests int64
}

// Coalescer is a Backend that paces what reaches one person or one
// channel during a storm. Pages (Kind page) are budgeted per recipient
// (To): PageBurst at once, then one delivery per PageWindow. Within the
// budget a page is delivered at once; beyond it the Deliver call joins the
// person's pending digest and waits until the next delivery is allowed,
// when the whole digest goes out as ONE page listing every page it holds
// (incident, severity and subject; at most DigestLines lines and "and K
// more"). Every waiting call then returns the digest's outcome: an error
// reaches them all, and Temporal retries each page, so nothing is lost
// (delivery is at least once: a retried page may appear in a later digest
// too). Posts to one incident's channel (Kind post) are paced the same way
// per incident, PostBurst then one per PostInterval, and batched into one
// message of at most PostsPerBatch posts, the rest going to the next batch.
//
// Never held back (delivered at once, though they still spend the budget):
// SEV1 and SEV2 pages, pages asking for an approval (their buttons need
// their own message), other kinds (handoff, status updates) and whatever
// CoalesceOptions.Exempt marks.
//
// A waiting call returns as soon as its context is done; its page is then
// taken out of the pending digest (Temporal retries the activity, and the
// retry joins a later digest), unless the digest was already on its way.
//
// The pacing is per process: with several workers each one paces the
// share of the notifications it runs, so a person may get up to one
// burst and one digest per window from each worker.
type Coalescer struct {
	inner Backend
	opts  CoalesceOptions

	mu      sync.Mutex
	buckets map[string]*bucket
	gcAt    int // the map size that triggers the next sweep

	direct, coalesced, digests atomic.Int64
}

// NewCoalescer returns inner behind the pacing opts describe. It fails on
// options Validate refuses.
func NewCoalescer(inner Backend, opts CoalesceOptions) (*Coalescer, error) {
	if inner == nil {
		return nil, errors.New("coalesce: no backend to deliver through")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Coalescer{inner: inner, opts: opts.withDefaults(), buckets: map[string]*bucket{}}, nil
}

// Name is the inner backend's name: the pacing is not a destination.
func (c *Coalescer) Name() string { return c.inner.Name() }

// Stats returns the counters.
func (c *Coalescer) Stats() CoalesceStats {
	return CoalesceStats{Direct: c.direct.Load(), Coalesced: c.coalesced.Load(), Digests: c.digests.Load()}
}

// bucket is one person's or channel's budget and its queue of pending
// digests; only the head of the queue has a timer.
type bucket struct {
	key      string
	page     bool
	burst    int
	interval time.Duration
	tokens   int
	refilled time.Time
	queue    []*digest
}

// digest is the notifications waiting for one delivery.
type digest struct {
	items   []*workflows.Notification
	opened  time.Time     // when the first item joined
	started bool          // taken for delivery: no more joins or leaves
	self    bool          // one item: its own call delivers it
	done    chan struct{} // closed when delivered (or failed), or when self
	err     error
}

func (b *bucket) refill(now time.Time) {
	if b.tokens >= b.burst {
		b.refilled = now
		return
	}
	if n := int(now.Sub(b.refilled) / b.interval); n > 0 {
		b.tokens = min(b.burst, b.tokens+n)
		b.refilled = b.refilled.Add(time.Duration(n) * b.interval)
		if b.tokens == b.burst {
			b.refilled = now
		}
	}
}

// untilToken is how long until the next token, 0 when one is there.
func (b *bucket) untilToken(now time.Time) time.Duration {
	if b.tokens > 0 {
		return 0
	}
	return max(b.refilled.Add(b.interval).Sub(now), 0)
}

// key is the bucket a notification is paced in, "" for none; exempt
// notifications are delivered at once but spend their bucket's budget.
func (c *Coalescer) key(n workflows.Notification) (key string, page, exempt bool) {
	switch {
	case n.Kind == workflows.NotifyPage && n.To != "" && !c.opts.NoPages:
		key, page = "page/"+n.To, true
		exempt = n.Approval != nil || isUrgent(n.Severity)
	case n.Kind == workflows.NotifyPost && n.Incident != "" && !c.opts.NoPosts:
		key = "post/" + n.Incident
	default:
		return "", false, true
	}
	if c.opts.Exempt != nil && c.opts.Exempt(n) {
		exempt = true
	}
	return key, page, exempt
}

// isUrgent reports SEV1 and SEV2, whose pages never wait.
func isUrgent(sev string) bool {
	s, err := workflows.ParseSeverity(sev)
	return err == nil && (s == workflows.SEV1 || s == workflows.SEV2)
}

// Deliver delivers n at once when its budget allows, else waits for the
// digest (or batch) that carries it; see Coalescer.
func (c *Coalescer) Deliver(ctx context.Context, n workflows.Notification) error {
	key, page, exempt := c.key(n)
	if key == "" {
		c.direct.Add(1)
		return c.inner.Deliver(ctx, n)
	}
	c.mu.Lock()
	now := c.opts.Clock.Now()
	c.gc(now) // before the lookup: it may drop this key's idle bucket
	b := c.buckets[key]
	if b == nil {
		b = &bucket{key: key, page: page, burst: c.opts.PostBurst, interval: c.opts.PostInterval, refilled: now}
		if page {
			b.burst, b.interval = c.opts.PageBurst, c.opts.PageWindow
		}
		b.tokens = b.burst
		c.buckets[key] = b
	}
	b.refill(now)
	if exempt || (b.tokens > 0 && len(b.queue) == 0) {
		if b.tokens > 0 {
			b.tokens--
		}
		c.mu.Unlock()
		c.direct.Add(1)
		return c.inner.Deliver(ctx, n)
	}
	// Beyond the budget: join the last pending digest, or start one.
	var d *digest
	if k := len(b.queue); k > 0 && (page || len(b.queue[k-1].items) < c.opts.PostsPerBatch) {
		d = b.queue[k-1]
	} else {
		d = &digest{done: make(chan struct{}), opened: now}
		b.queue = append(b.queue, d)
		if len(b.queue) == 1 {
			c.schedule(b, now)
		}
	}
	item := &n
	d.items = append(d.items, item)
	c.mu.Unlock()
	c.coalesced.Add(1)
	c.opts.Logger.InfoContext(ctx, "notification held for a digest",
		slog.String("kind", string(n.Kind)), slog.String("incident", n.Incident),
		slog.String("to", n.To), slog.String("subject", n.Subject))
	if activity.IsActivity(ctx) {
		// Tell the server the attempt is alive, keeping what an earlier
		// attempt's Fanout recorded.
		heartbeat(ctx)
	}
	select {
	case <-d.done:
		if d.self {
			// Alone in its digest: delivered as it is, in its own
			// activity (whose ID the backends key their idempotency on).
			return c.inner.Deliver(ctx, n)
		}
		if d.err != nil {
			return fmt.Errorf("digest of %d: %w", len(d.items), d.err)
		}
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		if !d.started {
			d.items = slices.DeleteFunc(d.items, func(p *workflows.Notification) bool { return p == item })
		}
		c.mu.Unlock()
		return fmt.Errorf("waiting for the digest to %s: %w", strings.TrimPrefix(strings.TrimPrefix(key, "page/"), "post/"), ctx.Err())
	}
}

// heartbeat records a heartbeat carrying the details an earlier attempt
// recorded, so that waiting does not erase Fanout's progress.
func heartbeat(ctx context.Context) {
	var delivered []string
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &delivered) == nil {
		activity.RecordHeartbeat(ctx, delivered)
		return
	}
	activity.RecordHeartbeat(ctx)
}

// schedule sets the timer of b's head digest for the next token. Called
// with c.mu held.
func (c *Coalescer) schedule(b *bucket, now time.Time) {
	c.opts.Clock.AfterFunc(b.untilToken(now), func() { c.flush(b) })
}

// flush delivers b's head digest when a token is there (else waits for
// it), then schedules the next one.
func (c *Coalescer) flush(b *bucket) {
	c.mu.Lock()
	now := c.opts.Clock.Now()
	b.refill(now)
	if len(b.queue) == 0 {
		c.mu.Unlock()
		return
	}
	d := b.queue[0]
	if len(d.items) == 0 { // every waiter left
		b.queue = b.queue[1:]
		close(d.done)
		if len(b.queue) > 0 {
			c.schedule(b, now)
		}
		c.mu.Unlock()
		return
	}
	if b.tokens == 0 {
		c.schedule(b, now) // an early timer
		c.mu.Unlock()
		return
	}
	b.tokens--
	d.started = true
	b.queue = b.queue[1:]
	if len(b.queue) > 0 {
		c.schedule(b, now)
	}
	items := d.items
	if len(items) == 1 {
		d.self = true
		close(d.done)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()

	c.digests.Add(1)
	var n workflows.Notification
	if b.page {
		n = pageDigest(items, c.opts.DigestLines, c.opts.PageWindow, d.opened, now)
	} else {
		n = postBatch(items, now)
	}
	// The digest belongs to no one waiter's activity: a waiter leaving
	// must not cancel it, and the backends must not take one waiter's
	// activity ID (their idempotency key) for it.
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.DigestTimeout)
	d.err = c.inner.Deliver(ctx, n)
	cancel()
	if d.err != nil {
		c.opts.Logger.Warn("digest not delivered; its pages are retried",
			slog.String("key", b.key), slog.Int("notifications", len(items)), slog.Any("error", d.err))
	}
	close(d.done)
}

// gc drops idle buckets (full budget, nothing queued), so that the map
// holds only the people and channels of the last moments. Called with
// c.mu held; it sweeps only when the map has grown.
func (c *Coalescer) gc(now time.Time) {
	if len(c.buckets) < max(c.gcAt, minGC) {
		return
	}
	for k, b := range c.buckets {
		b.refill(now)
		if b.tokens >= b.burst && len(b.queue) == 0 {
			delete(c.buckets, k)
		}
	}
	// The next sweep when the map has doubled: amortized O(1) a call.
	c.gcAt = 2 * len(c.buckets)
}

// minGC is the map size below which idle budgets are kept.
const minGC = 1024

// pageDigest is the one page that stands for items, all to one person,
// held from opened until sent. The times also make each digest's text
// its own: backends that recognise a repeated message outside an activity
// by its content must not take a later digest for a retry of this one.
func pageDigest(items []*workflows.Notification, lines int, window time.Duration, opened, sent time.Time) workflows.Notification {
	incidents := map[string]bool{}
	sev := ""
	for _, p := range items {
		incidents[p.Incident] = true
		if s, err := workflows.ParseSeverity(p.Severity); err == nil && (sev == "" || string(s) < sev) {
			sev = string(s)
		}
	}
	var body strings.Builder
	fmt.Fprintf(&body, "You were paged %d times. Beyond a few at once, your pages come together: one message every %s at most.\n\n",
		len(items), window)
	for i, p := range items {
		if i == lines {
			fmt.Fprintf(&body, "- and %d more\n", len(items)-lines)
			break
		}
		s := p.Severity
		if s == "" {
			s = "-"
		}
		fmt.Fprintf(&body, "- `%s` (%s): %s\n", p.Incident, s, oneLine(p.Subject))
	}
	fmt.Fprintf(&body, "\n_Held from %s to %s UTC. SEV1 and SEV2 pages and approvals always come on their own._",
		opened.UTC().Format(time.TimeOnly), sent.UTC().Format(time.TimeOnly))
	return workflows.Notification{
		Kind:     workflows.NotifyPage,
		Incident: items[0].Incident,
		Severity: sev,
		To:       items[0].To,
		Subject:  fmt.Sprintf("digest: %d pages across %d incidents", len(items), len(incidents)),
		Body:     body.String(),
	}
}

// postBatch is the one post that carries items, all for one channel, sent
// at sent (which, as in pageDigest, makes its text its own).
func postBatch(items []*workflows.Notification, sent time.Time) workflows.Notification {
	var body strings.Builder
	for i, p := range items {
		if i > 0 {
			body.WriteString("\n\n")
		}
		fmt.Fprintf(&body, "**%s**", oneLine(p.Subject))
		if b := strings.TrimSpace(p.Body); b != "" {
			body.WriteString("\n" + b)
		}
	}
	fmt.Fprintf(&body, "\n\n_%d updates batched at %s UTC._", len(items), sent.UTC().Format(time.TimeOnly))
	last := items[len(items)-1]
	return workflows.Notification{
		Kind:     workflows.NotifyPost,
		Incident: last.Incident,
		Severity: last.Severity,
		Subject:  fmt.Sprintf("%d updates (latest: %s)", len(items), oneLine(last.Subject)),
		Body:     body.String(),
	}
}

// oneLine folds s onto one line of at most 200 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}
