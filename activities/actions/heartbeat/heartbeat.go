// Package heartbeat keeps an activity's heartbeat going while it runs, so
// that Temporal notices a worker that dies mid-activity within the
// activity's heartbeat timeout instead of its start-to-close timeout, and
// retries the activity on another worker.
//
// Run wraps an activity's body with a keep-alive: a goroutine that records a
// heartbeat every Interval while the body runs. An activity that records
// progress of its own (details its retry reads back with
// activity.GetHeartbeatDetails) records it with Record, not
// activity.RecordHeartbeat: Record remembers the details, so the keep-alive
// re-sends them instead of replacing them with none.
//
// It is a package of its own, not part of package actions, because the
// actions' packages (airflow, s3, …) call Record and package actions
// imports them.
package heartbeat

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
)

// MaxInterval is the longest time between two keep-alive heartbeats.
const MaxInterval = 10 * time.Second

// minInterval keeps a heartbeat timeout of a few nanoseconds from making a
// ticker of zero.
const minInterval = time.Millisecond

// maxSeeded is how many heartbeat details of the previous attempt the
// keep-alive carries over (the actions record one).
const maxSeeded = 8

// Interval is how often the keep-alive heartbeats for a heartbeat timeout: a
// third of it, so two heartbeats can go missing before the timeout, and at
// most MaxInterval. It is 0, no keep-alive, when timeout is 0. The SDK sends
// at most one heartbeat every 0.8 × timeout and keeps the latest details in
// between, so a short interval costs no extra calls to the server.
func Interval(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		return 0
	}
	return min(max(timeout/3, minInterval), MaxInterval)
}

// Run runs fn with a keep-alive when ctx is an activity's context with a
// heartbeat timeout; otherwise it just runs fn. The keep-alive stops when fn
// returns or ctx ends, and Run returns only after it has stopped.
//
// Until fn records details of its own with Record, the keep-alive re-sends
// the previous attempt's details, so a retry of a retry still finds them.
func Run[T any](ctx context.Context, fn func(ctx context.Context) (T, error)) (T, error) {
	if !activity.IsActivity(ctx) {
		return fn(ctx)
	}
	every := Interval(activity.GetInfo(ctx).HeartbeatTimeout)
	if every == 0 {
		return fn(ctx)
	}
	k := &keeper{send: activity.RecordHeartbeat, details: previous(ctx)}
	ctx = context.WithValue(ctx, keeperKey{}, k)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		k.loop(ctx, every, stop)
	}()
	defer func() {
		close(stop)
		<-stopped
	}()
	return fn(ctx)
}

// Record records a heartbeat with details, as activity.RecordHeartbeat
// does, and, under Run, remembers them for the keep-alive to re-send. The
// details are re-sent as they are: pass values, not pointers to state that
// changes. Outside an activity Record does nothing.
func Record(ctx context.Context, details ...any) {
	if !activity.IsActivity(ctx) {
		return
	}
	if k, ok := ctx.Value(keeperKey{}).(*keeper); ok {
		k.record(ctx, details)
		return
	}
	activity.RecordHeartbeat(ctx, details...)
}

type keeperKey struct{}

// keeper is one activity attempt's keep-alive.
type keeper struct {
	send func(ctx context.Context, details ...any)
	// mu makes a Record and a keep-alive heartbeat one after the other, so
	// the last details sent are always the last recorded.
	mu      sync.Mutex
	details []any
}

func (k *keeper) record(ctx context.Context, details []any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.details = slices.Clone(details)
	k.send(ctx, details...)
}

func (k *keeper) beat(ctx context.Context) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.send(ctx, k.details...)
}

// loop heartbeats every until stop is closed or ctx ends.
func (k *keeper) loop(ctx context.Context, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			k.beat(ctx)
		}
	}
}

// previous returns the previous attempt's heartbeat details as raw payloads,
// which the data converter sends again unchanged (still through the codec);
// nil when there are none or they cannot be read.
func previous(ctx context.Context) []any {
	if !activity.HasHeartbeatDetails(ctx) {
		return nil
	}
	raws := make([]converter.RawValue, maxSeeded)
	ptrs := make([]any, len(raws))
	for i := range raws {
		ptrs[i] = &raws[i]
	}
	if err := activity.GetHeartbeatDetails(ctx, ptrs...); err != nil {
		activity.GetLogger(ctx).Warn("keep-alive: the previous attempt's heartbeat details are not carried over", "error", err)
		return nil
	}
	var out []any
	for _, r := range raws {
		if r.Payload() == nil {
			break
		}
		out = append(out, r)
	}
	return out
}
