package main

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/workflows"
)

// sideEffectCounts are the stand-ins' counts the invariants compare
// before and after a round.
type sideEffectCounts struct {
	prs, merged     int
	dbtRuns, clears int
	channels        int
	channelNames    map[string]bool
}

func (r *chaosRig) sideEffects() sideEffectCounts {
	var c sideEffectCounts
	for _, pr := range r.stand.github.PullRequests(ghtest.DemoRepo) {
		c.prs++
		if pr.Merged {
			c.merged++
		}
	}
	c.dbtRuns = len(r.stand.airflow.Runs(demoDbtDAG))
	for _, req := range r.stand.airflow.RequestsTo("POST", "/clearTaskInstances") {
		// A dry run (shown to the approver) changes nothing.
		if dry, _ := req.Body["dry_run"].(bool); !dry {
			c.clears++
		}
	}
	c.channelNames = map[string]bool{}
	for _, ch := range r.stand.slack.Channels() {
		if ch.Name != "" {
			c.channels++
			c.channelNames[ch.ID] = true
		}
	}
	return c
}

// check returns the round's invariant violations.
func (r *chaosRig) check(ctx context.Context, rr *chaosRound, before sideEffectCounts, baseline map[string]string) []string {
	var v []string
	add := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	after := r.sideEffects()
	var dbtApproved, reloadApproved int
	for _, inc := range rr.incidents {
		for _, ap := range inc.approved {
			switch {
			case strings.Contains(ap, "revert"):
				dbtApproved++
			case strings.Contains(ap, "reload"):
				reloadApproved++
			}
		}
		if inc.err != nil {
			add("%s (%s): script: %v", inc.kind, inc.id, inc.err)
			continue
		}
		if inc.final != workflows.Resolved {
			add("%s (%s): ended %s, want resolved", inc.kind, inc.id, inc.final)
		}
		if want, ok := baseline[inc.kind]; ok && rr.n > 0 && inc.runbookStatus != want {
			add("%s (%s): runbook %s, the baseline's was %s", inc.kind, inc.id, inc.runbookStatus, want)
		}
		v = append(v, r.checkHistory(ctx, inc)...)
		v = append(v, r.checkTimeline(ctx, inc)...)
	}
	if n := after.prs - before.prs; n != dbtApproved {
		add("revert pull requests: %d opened for %d approved reverts", n, dbtApproved)
	}
	if n := after.merged - before.merged; n != dbtApproved {
		add("merges: %d for %d approved reverts", n, dbtApproved)
	}
	if n := after.dbtRuns - before.dbtRuns; n != dbtApproved {
		add("dbt job runs triggered: %d for %d approved reverts", n, dbtApproved)
	}
	if n := after.clears - before.clears; n != reloadApproved {
		add("Airflow clears: %d for %d approved reloads", n, reloadApproved)
	}
	if n := after.channels - before.channels; n != len(rr.incidents) {
		add("Slack channels: %d created for %d incidents", n, len(rr.incidents))
	}
	// At-least-once costs: Slack has no idempotency key, so a message
	// posted and then lost with its worker is posted again. Counted; at
	// most one per worker crash.
	for id := range after.channelNames {
		if before.channelNames[id] {
			continue
		}
		seen := map[string]int{}
		for _, m := range r.stand.slack.Messages(id) {
			seen[m.Text]++
			if seen[m.Text] > 1 {
				rr.duplicates++
			}
		}
	}
	crashes := rr.faultCounts()[faultActivityStart] + rr.faultCounts()[faultSideEffect]
	if rr.duplicates > crashes {
		add("duplicate Slack messages: %d, more than one per worker crash (%d)", rr.duplicates, crashes)
	}
	return v
}

// checkHistory fails workflow tasks that failed (other than the benign
// causes) or are still retrying, in the incident and its runbooks.
func (r *chaosRig) checkHistory(ctx context.Context, inc *chaosIncident) []string {
	var v []string
	ids := []string{inc.id}
	for i := 0; i < len(ids); i++ {
		id := ids[i]
		it := r.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		failed := 0
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				v = append(v, fmt.Sprintf("%s: history of %s: %v", inc.kind, id, err))
				break
			}
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
				ids = append(ids, e.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetWorkflowId())
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				switch e.GetWorkflowTaskFailedEventAttributes().GetCause() {
				case enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE:
				default:
					failed++
				}
			}
		}
		if failed > 0 {
			v = append(v, fmt.Sprintf("%s: %s: %d failed workflow tasks", inc.kind, id, failed))
		}
	}
	return v
}

// checkTimeline fails an act the workflow acknowledged to its sender that
// its timeline does not hold.
func (r *chaosRig) checkTimeline(ctx context.Context, inc *chaosIncident) []string {
	tl, err := r.timeline(ctx, inc.id)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", inc.kind, err)}
	}
	var v []string
	count := map[string]int{}
	for _, a := range inc.acked {
		count[a.name]++
	}
	for name, n := range count {
		words := actWords[name]
		got := 0
		for _, e := range tl {
			if e.Kind != workflows.KindAct && e.Kind != workflows.KindTransition {
				continue
			}
			text := strings.ToLower(e.What)
			for _, w := range words {
				if strings.Contains(text, w) {
					got++
					break
				}
			}
		}
		if got < n {
			v = append(v, fmt.Sprintf("%s (%s): %d %s acts acknowledged, %d in the timeline", inc.kind, inc.id, n, name, got))
		}
	}
	return v
}

// actWords are how the timeline words each act the chaos script sends.
var actWords = map[string][]string{
	workflows.ActAcknowledge: {"acknowledg"},
	workflows.ActApprove:     {"approv"},
	workflows.ActResolve:     {"resolv"},
}
