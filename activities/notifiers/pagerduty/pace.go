package pagerdutyact

import (
	"context"
	"fmt"
	"sync"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Error types of the backend's application errors.
const (
	// RateLimitedType is an event held back by the pacing or refused with
	// 429: Temporal retries it after the error's NextRetryDelay.
	RateLimitedType = "PagerDutyRateLimited"
	// BadRequestType is an event PagerDuty refused as invalid (400), or a
	// notification that cannot become one: not retried.
	BadRequestType = "PagerDutyBadRequest"
)

// Bounds of the pacing.
const (
	// MaxWait is the longest a Deliver waits for its routing key's budget;
	// beyond it the page is handed back to Temporal with a retry delay
	// (the Notify activity has 30s).
	MaxWait = 20 * time.Second
	// minHold and maxHold bound the pause after a 429 without a
	// Retry-After: it starts at minHold and doubles up to maxHold.
	minHold = 2 * time.Second
	maxHold = time.Minute
	// maxPaced bounds the routing keys paced at once (they are the
	// configured keys, at most six; the bound is a guard).
	maxPaced = 64
)

// pacer keeps each routing key's events under its budget: a token bucket
// of perMinute events a minute (a sixth of it at once), and after a 429 a
// pause (Retry-After, else a backoff doubling from minHold to maxHold).
// An event that would wait longer than MaxWait is not sent: it fails with
// a RateLimitedType error whose NextRetryDelay is its wait, so Temporal
// retries it then: nothing is dropped. Identical events (routing key,
// action and dedup key) in flight together are sent once, and all the
// callers get its outcome: a retry that overlaps the attempt it retries
// spends no budget.
type pacer struct {
	perMinute int
	mu        sync.Mutex
	keys      map[string]*paced
	flight    singleflight.Group
}

type paced struct {
	lim       *rate.Limiter
	holdUntil time.Time
	hold      time.Duration // the next pause after a 429 without Retry-After
}

func newPacer(perMinute int) *pacer {
	if perMinute <= 0 {
		perMinute = DefaultEventsPerMinute
	}
	return &pacer{perMinute: perMinute, keys: map[string]*paced{}}
}

func (p *pacer) get(routingKey string) *paced {
	k := p.keys[routingKey]
	if k == nil {
		if len(p.keys) >= maxPaced {
			clear(p.keys)
		}
		burst := max(1, p.perMinute/6)
		k = &paced{lim: rate.NewLimiter(rate.Every(time.Minute/time.Duration(p.perMinute)), burst), hold: minHold}
		p.keys[routingKey] = k
	}
	return k
}

// send sends ev through s within the routing key's budget.
func (p *pacer) send(ctx context.Context, s sender, ev *pd.V2Event) error {
	id := ev.RoutingKey + "\x00" + ev.Action + "\x00" + ev.DedupKey
	_, err, _ := p.flight.Do(id, func() (any, error) { return nil, p.sendNow(ctx, s, ev) })
	return err
}

func (p *pacer) sendNow(ctx context.Context, s sender, ev *pd.V2Event) error {
	if err := p.wait(ctx, ev.RoutingKey); err != nil {
		return err
	}
	err := s.send(ctx, ev)
	ae, isAPI := asAPIError(err)
	p.mu.Lock()
	k := p.get(ev.RoutingKey)
	switch {
	case err == nil:
		k.hold = minHold
	case isAPI && ae.RateLimited():
		d := ae.RetryAfter
		if d <= 0 {
			d = k.hold
			k.hold = min(2*k.hold, maxHold)
		}
		d = min(max(d, time.Second), maxHold)
		k.holdUntil = time.Now().Add(d)
		p.mu.Unlock()
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("pagerduty: %s %s rate limited (429); retried in %s", ev.Action, ev.DedupKey, d.Round(time.Second)),
			RateLimitedType, temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	}
	p.mu.Unlock()
	if isAPI && !ae.Temporary() {
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("pagerduty: %s %s refused", ev.Action, ev.DedupKey), BadRequestType,
			temporal.ApplicationErrorOptions{NonRetryable: true, Cause: err})
	}
	if err != nil {
		return fmt.Errorf("pagerduty: %s %s: %w", ev.Action, ev.DedupKey, err)
	}
	return nil
}

// wait takes a token of the routing key's budget, waiting at most MaxWait
// for it; a longer wait fails with a RateLimitedType error.
func (p *pacer) wait(ctx context.Context, routingKey string) error {
	p.mu.Lock()
	k := p.get(routingKey)
	now := time.Now()
	at := now
	if k.holdUntil.After(now) {
		at = k.holdUntil
	}
	r := k.lim.ReserveN(at, 1)
	d := r.DelayFrom(at) + at.Sub(now)
	if !r.OK() || d > MaxWait {
		r.CancelAt(at)
		p.mu.Unlock()
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("pagerduty: the routing key's budget (%d events a minute) is spent; retried in %s", p.perMinute, d.Round(time.Second)),
			RateLimitedType, temporal.ApplicationErrorOptions{NextRetryDelay: max(d, time.Second)})
	}
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return fmt.Errorf("pagerduty: waiting %s for the routing key's budget: %w", d.Round(time.Millisecond), ctx.Err())
	}
}
