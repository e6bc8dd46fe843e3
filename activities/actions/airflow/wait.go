package airflow

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/datasev/datasev/activities/actions/heartbeat"
	"github.com/datasev/datasev/runbooks"
)

// Defaults of airflow.wait_dag_run.
const (
	DefaultPoll        = 15 * time.Second
	DefaultWaitTimeout = time.Hour
)

// WaitDAGRunSpec is airflow.wait_dag_run's spec.
//
// The activity records its progress after every poll (heartbeat.Record).
// Registered through the action registry, it also heartbeats between polls
// (the registry's keep-alive), so its heartbeat timeout need not exceed poll;
// registered without it, it needs a heartbeat timeout longer than poll
// (e.g. 2×poll + 30s). Either way it needs a start-to-close timeout longer
// than timeout.
func WaitDAGRunSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: WaitDAGRunName,
		Description: "Wait for a DAG run to finish, polling its state (every poll, default 15s, for at most timeout, default 1h). " +
			"ok is true when it succeeded; a failed run or a timeout gives ok false with the tasks' states. " +
			"Heartbeats the last state and resumes from it when retried.",
		Outputs: []string{"ok", "dag_id", "run_id", "state", "tasks", "duration", "reason", "polls", "waited"},
	}
}

// WaitDAGRunInput is airflow.wait_dag_run's inputs.
type WaitDAGRunInput struct {
	DAGID   string            `json:"dag_id" datasev:"required" desc:"the DAG's ID"`
	RunID   string            `json:"run_id" datasev:"required" desc:"the run to wait for, e.g. steps.trigger.output.run_id"`
	Poll    runbooks.Duration `json:"poll" desc:"time between polls (default 15s)"`
	Timeout runbooks.Duration `json:"timeout" desc:"how long to wait in all, retries included (default 1h)"`
}

// WaitProgress is what airflow.wait_dag_run heartbeats: a retried attempt
// resumes from it (its deadline counts from Started).
type WaitProgress struct {
	// Started is when the first attempt started waiting.
	Started time.Time `json:"started"`
	// Polls counts the polls of every attempt.
	Polls int `json:"polls"`
	// State is the run's last state seen.
	State string `json:"state"`
}

// WaitDAGRun polls a DAG run until it finishes or the timeout passes.
// Outside an activity (plain tests) it polls without heartbeats.
func (a *Actions) WaitDAGRun(ctx context.Context, _ runbooks.ActionRequest, in WaitDAGRunInput) (runbooks.ActionResult, error) {
	const name = WaitDAGRunName
	dagID, runID, err := a.dagRun(name, in.DAGID, in.RunID, false)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	poll, timeout := in.Poll.Std(), in.Timeout.Std()
	if poll <= 0 {
		poll = DefaultPoll
	}
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	inActivity := activity.IsActivity(ctx)
	prog := WaitProgress{Started: a.now()}
	resumed := false
	if inActivity && activity.HasHeartbeatDetails(ctx) {
		var p WaitProgress
		if err := activity.GetHeartbeatDetails(ctx, &p); err == nil && !p.Started.IsZero() {
			prog, resumed = p, true
			activity.GetLogger(ctx).Info("resuming wait for DAG run", "dag_id", dagID, "run_id", runID,
				"last_state", p.State, "polls", p.Polls)
		}
	}
	deadline := prog.Started.Add(timeout)
	for {
		r, err := a.client.GetDAGRun(ctx, dagID, runID)
		if err != nil {
			return runbooks.ActionResult{}, wrap(name, err)
		}
		prog.Polls++
		prog.State = r.State
		now := a.now()
		if r.Terminal() || !now.Before(deadline) {
			return a.waitResult(ctx, name, r, prog, now, timeout, resumed)
		}
		if inActivity {
			heartbeat.Record(ctx, prog)
		}
		wait := poll
		if left := deadline.Sub(now); left < wait {
			wait = left
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return runbooks.ActionResult{}, fmt.Errorf("%s: waiting for run %s of DAG %s (last state %s): %w", name, runID, dagID, prog.State, ctx.Err())
		case <-t.C:
		}
	}
}

func (a *Actions) waitResult(ctx context.Context, name string, r DAGRun, prog WaitProgress, now time.Time, timeout time.Duration, resumed bool) (runbooks.ActionResult, error) {
	tis, _, err := a.client.ListTaskInstances(ctx, r.DAGID, r.RunID, nil)
	if err != nil {
		return runbooks.ActionResult{}, wrap(name, err)
	}
	tasks := map[string]any{}
	names := make([]string, 0, len(tis))
	for _, ti := range tis {
		if _, dup := tasks[ti.TaskID]; !dup {
			names = append(names, ti.TaskID)
		}
		tasks[ti.TaskID] = ti.StateName()
	}
	sort.Strings(names)
	dur := 0.0
	if r.StartDate != nil && r.EndDate != nil {
		dur = r.EndDate.Sub(*r.StartDate).Seconds()
	}
	ok := r.State == "success"
	reason := ""
	switch {
	case ok:
	case r.State == "failed":
		var bad []string
		for _, n := range names {
			if s := tasks[n]; s == "failed" || s == "upstream_failed" {
				bad = append(bad, n+" "+s.(string))
			}
		}
		reason = "run failed"
		if len(bad) > 0 {
			reason += ": " + strings.Join(bad, ", ")
		}
	default:
		reason = fmt.Sprintf("still %s after %s", r.State, timeout)
	}
	out := map[string]any{
		"ok": ok, "dag_id": r.DAGID, "run_id": r.RunID, "state": r.State, "tasks": tasks, "duration": dur,
		"reason": reason, "polls": prog.Polls, "waited": now.Sub(prog.Started).Round(time.Second).Seconds(),
	}
	var b strings.Builder
	fmt.Fprintf(&b, "DAG `%s` run `%s`: **%s**", r.DAGID, r.RunID, r.State)
	if reason != "" {
		fmt.Fprintf(&b, " — %s", reason)
	}
	if resumed {
		b.WriteString(" (resumed after a retry)")
	}
	b.WriteString("\n\n| task | state |\n|---|---|\n")
	for _, n := range names {
		fmt.Fprintf(&b, "| %s | %s |\n", n, tasks[n])
	}
	summary := fmt.Sprintf("%s %s %s → %s after %s", name, r.DAGID, r.RunID, r.State, plural(prog.Polls, "poll", "polls"))
	if !ok {
		summary += " — not ok: " + reason
	}
	return runbooks.ActionResult{Output: out, Summary: summary, Detail: b.String()}, nil
}
