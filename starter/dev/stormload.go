package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datasev/datasev/starter/intake"
)

// stormDelivery is one HTTP request of the storm: a body for an intake path,
// the alert IDs it carries, and whether it repeats an earlier delivery.
type stormDelivery struct {
	path      string
	token     string
	body      []byte
	alerts    int
	redeliver bool
}

// stormPostStats is what posting a phase's deliveries did.
type stormPostStats struct {
	deliveries, redeliveries int
	// accepted counts the deliveries answered 202 (after retries);
	// failed those never answered 202.
	accepted, failed int
	// alertsAccepted counts the alerts of the accepted deliveries,
	// redeliveries included.
	alertsAccepted int
	// raw429 and raw5xx count every such answer seen, retried or not.
	raw429, raw5xx int
	// latencies are the accepted attempts' response times.
	latencies []time.Duration
	// ids are the incidents the 202 answers named; started those answered
	// as newly started (not joined) at least once.
	ids     map[string]bool
	started map[string]bool
	elapsed time.Duration
	lastErr error
}

// stormClient posts deliveries to the intake, retrying 429 and 5xx
// answers as a sender does, honouring Retry-After.
type stormClient struct {
	base string
	hc   *http.Client
	// maxAttempts bounds the attempts per delivery.
	maxAttempts int
}

func newStormClient(base string, conns int) *stormClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = conns, conns, conns
	return &stormClient{base: base, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, maxAttempts: 8}
}

// stormAttempt is one answer's outcome.
type stormAttempt struct {
	code       int
	took       time.Duration
	results    []intake.Result
	retryAfter time.Duration
}

func (c *stormClient) once(ctx context.Context, d stormDelivery) (stormAttempt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+d.path, bytes.NewReader(d.body))
	if err != nil {
		return stormAttempt{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.token)
	t0 := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return stormAttempt{}, fmt.Errorf("POST %s: %w", d.path, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	a := stormAttempt{code: resp.StatusCode, took: time.Since(t0)}
	if err != nil {
		return a, fmt.Errorf("POST %s: reading the answer: %w", d.path, err)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		a.retryAfter = time.Duration(s) * time.Second
	}
	switch {
	case a.code == http.StatusAccepted:
		var r intake.Response
		if err := json.Unmarshal(body, &r); err != nil {
			return a, fmt.Errorf("POST %s: 202 answer: %w", d.path, err)
		}
		a.results = r.Incidents
	case a.code == http.StatusTooManyRequests:
		var t intake.Throttled
		_ = json.Unmarshal(body, &t)
		a.results = t.Incidents
	case a.code >= 500:
	default:
		return a, fmt.Errorf("POST %s: %d: %s", d.path, a.code, bytes.TrimSpace(body))
	}
	return a, nil
}

// post sends every delivery over conns connections and tallies the
// answers; progress counts the deliveries done.
func (c *stormClient) post(ctx context.Context, ds []stormDelivery, conns int, progress *atomic.Int64) stormPostStats {
	st := stormPostStats{ids: map[string]bool{}, started: map[string]bool{}}
	var mu sync.Mutex
	work := make(chan stormDelivery)
	var wg sync.WaitGroup
	began := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				c.deliver(ctx, d, &st, &mu)
				if progress != nil {
					progress.Add(1)
				}
			}
		}()
	}
	for _, d := range ds {
		st.deliveries++
		if d.redeliver {
			st.redeliveries++
		}
		select {
		case work <- d:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	st.elapsed = time.Since(began)
	return st
}

// deliver posts one delivery until it is answered 202 or the attempts run
// out; a 429 or a 5xx waits its Retry-After (else a doubling backoff).
func (c *stormClient) deliver(ctx context.Context, d stormDelivery, st *stormPostStats, mu *sync.Mutex) {
	backoff := 100 * time.Millisecond
	for n := 1; ; n++ {
		a, err := c.once(ctx, d)
		mu.Lock()
		switch {
		case a.code == http.StatusTooManyRequests:
			st.raw429++
		case a.code >= 500:
			st.raw5xx++
		}
		for _, r := range a.results {
			st.ids[r.ID] = true
			if !r.Joined && !r.Ignored {
				st.started[r.ID] = true
			}
		}
		if err == nil && a.code == http.StatusAccepted {
			st.accepted++
			st.alertsAccepted += d.alerts
			st.latencies = append(st.latencies, a.took)
			mu.Unlock()
			return
		}
		if err != nil {
			st.lastErr = err
		} else {
			st.lastErr = fmt.Errorf("POST %s: answered %d", d.path, a.code)
		}
		retry := err == nil && n < c.maxAttempts && ctx.Err() == nil
		if !retry {
			st.failed++
			mu.Unlock()
			return
		}
		mu.Unlock()
		wait := a.retryAfter
		if wait <= 0 {
			wait = backoff
			backoff = min(2*backoff, 5*time.Second)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
}

// stormCallStats is what a baseline's direct calls did.
type stormCallStats struct {
	calls, failed int
	latencies     []time.Duration
	elapsed       time.Duration
	lastErr       error
}

// stormCallAll runs call(i) for i in [0, n) with conns callers at once.
func stormCallAll(ctx context.Context, n, conns int, call func(ctx context.Context, i int) error) stormCallStats {
	st := stormCallStats{calls: n}
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	began := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				err := call(ctx, i)
				took := time.Since(t0)
				mu.Lock()
				if err != nil {
					st.failed++
					st.lastErr = err
				} else {
					st.latencies = append(st.latencies, took)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	st.elapsed = time.Since(began)
	return st
}

// stormQuantile is the nearest-rank q-stormQuantile (0 < q ≤ 1) of ds; 0 when empty.
func stormQuantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	return s[max(rank, 1)-1]
}

// Probe outcomes other than a page.
var (
	// errStormNoAnswer marks a probe that got no 202.
	errStormNoAnswer = errors.New("the intake did not accept the probe")
	// errStormJoined marks a probe that joined the alert storm incident.
	errStormJoined = errors.New("the probe joined the alert storm incident")
)
