package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// runbookDone reports whether the incident's runbook has finished, one way
// or another (completed, stopped, escalated, cancelled, failed to start).
func runbookDone(s workflows.Status) bool {
	switch s.RunbookStatus {
	case "", "starting", "running":
		return false
	}
	return true
}

// paged reports whether the runbook has paged someone.
func paged(tl []workflows.TimelineEntry) bool {
	for _, t := range tl {
		if isRunbookEntry(t) && t.Kind == workflows.KindNotify {
			return true
		}
	}
	return false
}

func isRunbookEntry(t workflows.TimelineEntry) bool { return strings.HasPrefix(t.Who, "runbook ") }

// runbookFeed prints an incident's runbook timeline entries (those by
// "runbook NAME") as they arrive, each once, with the time since the
// incident was triggered.
type runbookFeed struct {
	c    client.Client
	id   string
	out  io.Writer
	seen int // timeline entries already looked at
}

// until polls the status and timeline, printing new runbook entries, until
// done holds or timeout passes. ok says whether done held.
func (f *runbookFeed) until(ctx context.Context, timeout time.Duration, done func(workflows.Status, []workflows.TimelineEntry) bool) (st workflows.Status, ok bool, err error) {
	deadline := time.Now().Add(timeout)
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err = incidents.Status(qctx, f.c, f.id)
		var tl []workflows.TimelineEntry
		if err == nil {
			tl, err = incidents.Timeline(qctx, f.c, f.id)
		}
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return st, false, ctx.Err()
			}
			if time.Now().After(deadline) {
				return st, false, err
			}
		} else {
			f.print(st, tl)
			if done(st, tl) {
				return st, true, nil
			}
		}
		if time.Now().After(deadline) {
			return st, false, nil
		}
		select {
		case <-ctx.Done():
			return st, false, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (f *runbookFeed) print(st workflows.Status, tl []workflows.TimelineEntry) {
	if f.seen > len(tl) {
		f.seen = len(tl) // the timeline was trimmed
	}
	for _, t := range tl[f.seen:] {
		if !isRunbookEntry(t) {
			continue
		}
		// "runbook NAME started" reads "runbook: started": the demo
		// named the runbook when it was chosen.
		what := strings.TrimPrefix(t.What, t.Who+" ")
		if t.Why != "" {
			what += " — " + clip(oneLine(t.Why), 90)
		}
		fmt.Fprintf(f.out, "      %5s  runbook: %s\n", "+"+t.At.Sub(st.TriggeredAt).Round(time.Second).String(), what)
	}
	f.seen = len(tl)
}

// clip shortens s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// orText is s, or alt when s is empty.
func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// waitStatus polls the status query until ok or a deadline: signals are
// applied asynchronously.
func waitStatus(ctx context.Context, c client.Client, id string, ok func(workflows.Status) bool) (workflows.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		st, err := incidents.Status(ctx, c, id)
		if err == nil && ok(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return st, err
			}
			return st, fmt.Errorf("%s: timed out waiting for the workflow (state %s, %d alerts)", id, st.State, st.AlertCount)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// short is a run ID's first eight characters, enough to tell runs apart.
func short(runID string) string {
	if len(runID) > 8 {
		return runID[:8]
	}
	return runID
}

// oneLine folds s's white space, line breaks included, to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// firstLine returns s up to its first line break.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// pending reports whether the approval is waiting for a decision.
func pending(s workflows.Status, approval string) bool {
	for _, ap := range s.PendingApprovals {
		if ap.ID == approval {
			return true
		}
	}
	return false
}

// verifying reports whether the runbook has paged and then moved on to a
// later step (its verify): the diagnosis is on the timeline.
func verifying(tl []workflows.TimelineEntry) bool {
	pagedAt := -1
	for i, t := range tl {
		if !isRunbookEntry(t) {
			continue
		}
		if t.Kind == workflows.KindNotify && pagedAt < 0 {
			pagedAt = i
			continue
		}
		if pagedAt >= 0 && i > pagedAt && !strings.HasPrefix(t.What, "paged ") {
			return true
		}
	}
	return false
}
