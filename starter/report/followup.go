package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"golang.org/x/sync/errgroup"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/followup"
)

// FollowUpSlack widens the follow-up listing below the period's start: a
// follow-up closes after its incident, so one closed since the period began
// covers every incident of the period; the slack absorbs clock skew
// between the workers that closed them.
const FollowUpSlack = time.Hour

// FollowUp is one completed follow-up of a closed incident's action items
// (workflow ActionItemFollowUp): when it closed and what it found.
type FollowUp struct {
	ClosedAt time.Time
	Result   followup.Result
}

// runKey names one incident run: its ID and when it was triggered. A
// recurrence (a later run with the same ID) is triggered later, so it has
// a key of its own.
func runKey(id string, triggered time.Time) string {
	return id + "\x00" + triggered.UTC().Format(time.RFC3339Nano)
}

// ApplyFollowUps sets the action item states of each incident from the
// newest follow-up of its run: the one whose report has the incident's ID
// and trigger time (a follow-up of an earlier or later run of the same ID
// is another occurrence's, and is ignored). The states counted are the
// filed items' (an item with an issue) done or open; an incident no
// follow-up matches keeps FollowedUp false. It is pure: the follow-ups'
// order does not matter.
func ApplyFollowUps(incidents []Incident, fus []FollowUp) {
	newest := map[string]FollowUp{}
	for _, fu := range fus {
		k := runKey(fu.Result.Report.ID, fu.Result.Report.TriggeredAt)
		if cur, ok := newest[k]; !ok || fu.ClosedAt.After(cur.ClosedAt) {
			newest[k] = fu
		}
	}
	for i := range incidents {
		in := &incidents[i]
		fu, ok := newest[runKey(in.ID, in.TriggeredAt)]
		if !ok {
			continue
		}
		in.FollowedUp, in.FollowedUpAt = true, fu.ClosedAt
		in.ActionItemsDone, in.ActionItemsOpen = 0, 0
		for _, it := range fu.Result.Report.Closure.ActionItems {
			switch {
			case it.Issue == "":
			case it.State == workflows.ItemDone:
				in.ActionItemsDone++
			case it.State == workflows.ItemOpen:
				in.ActionItemsOpen++
			}
		}
	}
}

// FollowUpListQuery is the visibility query of the follow-ups that may
// hold the period's incidents' action item states: every completed one
// closed since the period's start less FollowUpSlack (a follow-up run after
// the period ended still holds the newest state of an incident closed in
// it).
func FollowUpListQuery(q Query) string {
	return fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed' AND CloseTime >= '%s'",
		followup.WorkflowName, q.Since.Add(-FollowUpSlack).UTC().Format(time.RFC3339Nano))
}

// FollowUps finds the newest completed follow-up of each incident run with
// filed action items: one visibility listing (FollowUpListQuery), then the
// results of the follow-ups of those incidents only — each one's close
// event, Concurrency incidents at a time, newest first, stopping at the
// first that matches (an older follow-up is never of a newer run). It
// returns what it read, for ApplyFollowUps, and how many it listed.
func (f *Fetcher) FollowUps(ctx context.Context, q Query, incidents []Incident) (found []FollowUp, listed int, err error) {
	// The runs to match, by incident ID.
	want := map[string][]time.Time{}
	for _, in := range incidents {
		if in.ActionItemsFiled > 0 {
			want[in.ID] = append(want[in.ID], in.TriggeredAt)
		}
	}
	if len(want) == 0 {
		return nil, 0, nil
	}
	execs, err := f.list(ctx, FollowUpListQuery(q), "follow-ups")
	if err != nil {
		return nil, 0, err
	}
	byID := map[string][]Execution{}
	for _, e := range execs {
		id, ok := strings.CutPrefix(e.WorkflowID, followup.WorkflowID(""))
		if _, need := want[id]; ok && need {
			byID[id] = append(byID[id], e)
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	n := f.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, id := range ids {
		if gctx.Err() != nil {
			break
		}
		runs := byID[id]
		slices.SortFunc(runs, func(a, b Execution) int {
			return cmp.Or(b.CloseTime.Compare(a.CloseTime), cmp.Compare(b.RunID, a.RunID))
		})
		pending := map[string]time.Time{}
		for _, t := range want[id] {
			pending[runKey(id, t)] = t
		}
		g.Go(func() error {
			for _, e := range runs {
				res, err := f.followUpResult(gctx, e)
				if err != nil {
					return err
				}
				k := runKey(res.Report.ID, res.Report.TriggeredAt)
				if _, ok := pending[k]; ok && res.Report.ID == id {
					delete(pending, k)
					mu.Lock()
					found = append(found, FollowUp{ClosedAt: e.CloseTime, Result: res})
					mu.Unlock()
				}
				if len(pending) == 0 || !olderLeft(pending, res.Report.TriggeredAt) {
					return nil
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, len(execs), err
	}
	if err := ctx.Err(); err != nil {
		return nil, len(execs), fmt.Errorf("report: fetch follow-ups: %w", err)
	}
	return found, len(execs), nil
}

// olderLeft reports whether a run still to match was triggered no later
// than t: follow-ups read newest first can only be of runs as old as the
// last one read, or older.
func olderLeft(pending map[string]time.Time, t time.Time) bool {
	for _, p := range pending {
		if !p.After(t) {
			return true
		}
	}
	return false
}

// followUpResult reads a completed follow-up's result from its close event.
func (f *Fetcher) followUpResult(ctx context.Context, e Execution) (followup.Result, error) {
	ev, err := f.event(ctx, e, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT, 0)
	if err != nil {
		return followup.Result{}, err
	}
	attrs := ev.GetWorkflowExecutionCompletedEventAttributes()
	if attrs == nil {
		return followup.Result{}, fmt.Errorf("report: follow-up %s (run %s): the close event is %s, not a completion", e.WorkflowID, e.RunID, ev.GetEventType())
	}
	var res followup.Result
	if err := f.converter().FromPayloads(attrs.GetResult(), &res); err != nil {
		return followup.Result{}, fmt.Errorf("report: follow-up %s (run %s): decode the result: %w", e.WorkflowID, e.RunID, err)
	}
	return res, nil
}

// RunFollowUps runs RunFollowUp, Concurrency at a time and with a progress
// line, once for each incident ID with a run that has filed action items
// and no follow-up (FollowedUp false), and returns the results. A
// follow-up reads the latest run of its ID, so an earlier run whose ID has
// recurred since stays not followed up: ApplyFollowUps matches each result
// to its own run only. A follow-up that fails is written to Warnings and
// leaves its incident not followed up; the others still count.
func (f *Fetcher) RunFollowUps(ctx context.Context, incidents []Incident) []FollowUp {
	var ids []string
	seen := map[string]bool{}
	for _, in := range incidents {
		if in.ActionItemsFiled > 0 && !in.FollowedUp && !seen[in.ID] {
			seen[in.ID] = true
			ids = append(ids, in.ID)
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return nil
	}
	n := f.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	var (
		mu    sync.Mutex
		found []FollowUp
		done  atomic.Int64
		wg    sync.WaitGroup
	)
	stop := f.progress("followed up", "incidents", len(ids), &done)
	sem := make(chan struct{}, n)
	for _, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done(); done.Add(1) }()
			res, err := f.RunFollowUp(ctx, id)
			if err != nil {
				if f.Warnings != nil && ctx.Err() == nil {
					mu.Lock()
					fmt.Fprintf(f.Warnings, "datasev report: %s: its action items stay not followed up: %v\n", id, err)
					mu.Unlock()
				}
				return
			}
			mu.Lock()
			found = append(found, FollowUp{ClosedAt: time.Now(), Result: res})
			mu.Unlock()
		}()
	}
	wg.Wait()
	stop()
	return found
}
