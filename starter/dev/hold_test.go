package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// A page counts as delivered on its own or in the digest that carries it:
// digests take the oldest held pages first, and a held page alone in its
// digest goes out as itself.
func TestDeliveredPages(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	page := func(s int, inc, to, subject string, held bool) holdNote {
		return holdNote{at: at(s), kind: "page", incident: inc, to: to, subject: subject, held: held}
	}
	notes := []holdNote{
		page(0, "i1", "b", "handoff: take command of 1", false),
		page(0, "i2", "b", "handoff: take command of 2", false),
		page(1, "i9", "a", "handoff: take command of 9", false), // someone else
		page(1, "i3", "b", "handoff: take command of 3", true),
		page(1, "i4", "b", "still unacknowledged: 4", true), // not a handoff page
		page(2, "i5", "b", "handoff: take command of 5", true),
		page(2, "i6", "b", "handoff: take command of 6", true),
		{at: at(3), kind: "handoff", incident: "i7", subject: "handoff: a → b"}, // a post
		page(15, "i3", "b", "digest: 3 pages across 3 incidents", false),
		page(30, "i6", "b", "handoff: take command of 6", false), // alone in its digest
	}
	got := deliveredPages(notes, "b", "handoff: ")
	want := map[string]time.Time{"i1": at(0), "i2": at(0), "i3": at(15), "i5": at(15), "i6": at(30)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered:\n got %v\nwant %v", got, want)
	}
}

// The handoff plan puts the boundary on a whole minute at least a minute
// after the handoff, the lead being the difference.
func TestHandoffPlan(t *testing.T) {
	now := time.Date(2026, 12, 5, 15, 37, 20, 500, time.UTC)
	h, b, lead := handoffPlan(now, 40*time.Second)
	if !h.Equal(time.Date(2026, 12, 5, 15, 38, 0, 0, time.UTC)) || !b.Equal(time.Date(2026, 12, 5, 15, 39, 0, 0, time.UTC)) || lead != time.Minute {
		t.Errorf("handoff %s, boundary %s, lead %s", h, b, lead)
	}
	h, b, lead = handoffPlan(now, 41*time.Second)
	if b.Sub(h) != lead || lead < time.Minute || lead >= 2*time.Minute || b.Second() != 0 {
		t.Errorf("handoff %s, boundary %s, lead %s", h, b, lead)
	}
	if _, err := holdRoster(b, lead); err != nil {
		t.Error(err)
	}
}

// Twenty incidents held open on one worker process across a shift
// boundary: every one hands over, its summary posted and the next
// Commander paged. Counts only; the times are hold's to report.
func TestHoldHandoff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dev server and builds the worker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var progress strings.Builder
	rep, err := hold(ctx, holdOptions{
		incidents: 20, workers: 1, state: t.TempDir(),
		idle: 3 * time.Second, quietFor: 2 * time.Second, settle: 5 * time.Second, declareBudget: 5 * time.Second, handoffWait: 2 * time.Minute,
	}, "", &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if rep.summaries != 20 || rep.pages != 20 {
		t.Errorf("%d handoff summaries and %d next-Commander pages for 20 incidents\n%s", rep.summaries, rep.pages, progress.String())
	}
	if len(rep.rssOpen) != 1 || rep.rssOpen[0] <= 0 || len(rep.rssHandoff) != 1 || rep.rssHandoff[0] <= 0 {
		t.Errorf("worker memory not read: %v, %v", rep.rssOpen, rep.rssHandoff)
	}
}

// --worker-env repeats, each KEY=VALUE reaching the workers' environment
// over hold's own; a malformed one, or one of the variables hold sets
// itself, is a usage error naming it.
func TestHoldWorkerEnvFlag(t *testing.T) {
	fs, o := holdFlags(io.Discard)
	err := parseFlags(fs, []string{"--incidents", "10", "--worker-env", "DATASEV_WORKER_WORKFLOW_POLLERS=8", "--worker-env", "DATASEV_WORKER_STICKY_TIMEOUT=30s", "--worker-env", "X=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	env := holdWorkerEnv("127.0.0.1:7233", "default", "q", t.TempDir())
	o.workerEnv.apply(env)
	if env["DATASEV_WORKER_WORKFLOW_POLLERS"] != "8" || env["DATASEV_WORKER_STICKY_TIMEOUT"] != "30s" || env["X"] != "a=b" || env["DATASEV_TASK_QUEUE"] != "q" {
		t.Errorf("worker environment %v", env)
	}
	for bad, why := range map[string]string{
		"POLLERS": "want KEY=VALUE", "=8": "want KEY=VALUE",
		"DATASEV_TASK_QUEUE=other": "DATASEV_TASK_QUEUE: hold sets it", "DATASEV_METRICS_ADDR=127.0.0.1:1": "DATASEV_METRICS_ADDR: hold sets it",
	} {
		fs, _ := holdFlags(io.Discard)
		err := parseFlags(fs, []string{"--worker-env", bad})
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), why) {
			t.Errorf("--worker-env %s: %v, want a usage error saying %q", bad, err, why)
		}
	}
}
