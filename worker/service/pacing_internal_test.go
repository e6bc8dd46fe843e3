package service

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/worker/metrics"
	"github.com/datasev/datasev/workflows"
)

type countingBackend struct {
	mu sync.Mutex
	n  int
}

func (*countingBackend) Name() string { return "count" }
func (b *countingBackend) Deliver(context.Context, workflows.Notification) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	return nil
}

// The assembled notifier is paced when Pacing is set, keeps its name, and
// never batches the posts leadership is emailed about.
func TestNotifierPaced(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	inner := &countingBackend{}
	if got := paced(Config{}, inner, logger); got != notify.Backend(inner) {
		t.Errorf("without Pacing: %T, want the backend itself", got)
	}
	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := paced(Config{Pacing: &notify.CoalesceOptions{PostBurst: 1}, Metrics: m}, inner, logger)
	c, ok := got.(*notify.Coalescer)
	if !ok || c.Name() != "count" {
		t.Fatalf("with Pacing: %T %q, want a Coalescer named as its backend", got, got.Name())
	}
	for _, subject := range []string{"incident opened: x", "severity escalated: SEV2", "resolved: fixed"} {
		if err := c.Deliver(t.Context(), workflows.Notification{Kind: workflows.NotifyPost, Incident: "i", Subject: subject}); err != nil {
			t.Fatal(err)
		}
	}
	if inner.n != 3 || c.Stats().Coalesced != 0 {
		t.Errorf("%d leadership posts delivered at once, %d held; want 3 and 0", inner.n, c.Stats().Coalesced)
	}
}
