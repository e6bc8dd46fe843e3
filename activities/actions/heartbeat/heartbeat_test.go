package heartbeat

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestInterval(t *testing.T) {
	for _, c := range []struct{ timeout, want time.Duration }{
		{0, 0},
		{-time.Second, 0},
		{time.Nanosecond, minInterval},
		{300 * time.Millisecond, 100 * time.Millisecond},
		{3 * time.Second, time.Second},
		{30 * time.Second, 10 * time.Second},
		{2 * time.Minute, MaxInterval},
	} {
		if got := Interval(c.timeout); got != c.want {
			t.Errorf("Interval(%s) = %s, want %s", c.timeout, got, c.want)
		}
	}
}

// sends records what a keeper sends and signals each send.
type sends struct {
	mu   sync.Mutex
	got  [][]any
	sent chan struct{}
}

func (s *sends) send(_ context.Context, details ...any) {
	s.mu.Lock()
	s.got = append(s.got, slices.Clone(details))
	s.mu.Unlock()
	select {
	case s.sent <- struct{}{}:
	default:
	}
}

func (s *sends) last() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[len(s.got)-1]
}

// bounded fails the test when ch is not closed within a minute: the
// keep-alive goroutine it stands for never stopped.
func bounded(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("%s: the keep-alive goroutine is still running", what)
	}
}

func TestKeepAliveStopsWhenTheContextEnds(t *testing.T) {
	s := &sends{sent: make(chan struct{}, 1)}
	k := &keeper{send: s.send}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		k.loop(ctx, time.Millisecond, make(chan struct{})) // never stopped: only the context ends it
	}()
	<-s.sent
	cancel()
	bounded(t, exited, "context canceled")
}

func TestKeepAliveStopsWhenStopped(t *testing.T) {
	s := &sends{sent: make(chan struct{}, 1)}
	k := &keeper{send: s.send}
	stop, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		k.loop(context.Background(), time.Millisecond, stop)
	}()
	<-s.sent
	close(stop)
	bounded(t, exited, "stopped")
}

func TestKeepAliveResendsTheLastDetails(t *testing.T) {
	s := &sends{sent: make(chan struct{}, 1)}
	k := &keeper{send: s.send, details: []any{"previous attempt"}}
	ctx := context.Background()
	k.beat(ctx)
	if got := s.last(); !slices.Equal(got, []any{"previous attempt"}) {
		t.Errorf("before a Record the keep-alive sent %v, want the previous attempt's details", got)
	}
	details := []any{1, "x"}
	k.record(ctx, details)
	details[0] = 2 // the caller's slice is not the keeper's
	k.beat(ctx)
	if got := s.last(); !slices.Equal(got, []any{1, "x"}) {
		t.Errorf("after Record(1, x) the keep-alive sent %v", got)
	}
}

func TestOutsideAnActivity(t *testing.T) {
	Record(context.Background(), 1) // does nothing, does not panic
	want := errors.New("fn's error")
	got, err := Run(context.Background(), func(context.Context) (int, error) { return 3, want })
	if got != 3 || !errors.Is(err, want) {
		t.Errorf("Run outside an activity = %d, %v; want fn's 3, %v", got, err, want)
	}
}
