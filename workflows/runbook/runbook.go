// Package runbook holds the runbook workflow, the incident's child: it runs
// a runbook's steps as activities, asks the incident for approvals and waits
// for its decisions, every message sealed by the workers' key.
package runbook

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

// RunbookWorkflow executes a runbook's steps for an incident. It reports every
// step, approval request and page to the incident, and waits for approval
// decisions from it.
func RunbookWorkflow(ctx workflow.Context, in workflows.RunbookInput) (workflows.RunbookResult, error) {
	r := &runner{in: in, state: in.State(), results: map[string]workflows.StepResult{}, decisions: map[string]workflows.ApprovalDecision{}, asked: map[string]bool{},
		autoBy: map[string]string{}, autoFailed: map[string]string{}}
	r.state.Steps = map[string]runbooks.StepFacts{}
	if in.Sealed {
		r.run = workflow.GetInfo(ctx).WorkflowExecution.RunID
	}
	decisions := workflow.GetSignalChannel(ctx, workflows.SignalApprovalDecision)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d workflows.ApprovalDecision
			if !decisions.Receive(ctx, &d) {
				return
			}
			if in.Sealed {
				if why := r.checkDecision(ctx, d); why != "" {
					r.reject(ctx, d, why)
					continue
				}
			}
			r.decisions[d.ID] = d
		}
	})
	r.emit(ctx, workflows.RunbookEvent{Kind: "started", Message: in.Runbook.Description})
	status := "completed"
	for _, step := range in.Runbook.Steps {
		res := r.step(ctx, step)
		if ctx.Err() != nil {
			status = "cancelled"
			break
		}
		if !failed(res) {
			continue
		}
		if stop, how := r.afterFailure(ctx, step, res); stop {
			status = how
			break
		}
	}
	out := workflows.RunbookResult{Status: status, Steps: r.order}
	// A cancelled runbook still tells its incident, on a fresh context.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	r.emit(dctx, workflows.RunbookEvent{Kind: "finished", Status: status, Message: r.finishMessage(status)})
	return out, nil
}

// runner holds a runbook execution's state.
type runner struct {
	in        workflows.RunbookInput
	state     runbooks.State                  // what expressions see: the start and the steps done
	results   map[string]workflows.StepResult // by step ID
	order     []workflows.StepResult          // in completion order, for the result
	decisions map[string]workflows.ApprovalDecision
	asked     map[string]bool // approvals this run has asked for
	run       string          // this run's ID, when messages are sealed
	seq       int             // the last sealed event's number
	emitting  bool            // an event is being sealed and sent
	rejected  int             // forged decisions refused

	autoBy     map[string]string // approval ID → the policy that approved it
	autoFailed map[string]string // policy → the first step it approved that failed
}

// checkDecision says why a decision must be refused, or "" to take it: it
// must be sealed by the incident for this run, and answer an approval this
// run asked for and has not had answered.
func (r *runner) checkDecision(ctx workflow.Context, d workflows.ApprovalDecision) string {
	switch {
	case d.Seal == nil:
		return "not sealed by the incident (decisions come from the incident's approve and deny acts)"
	case d.Seal.Run != r.run:
		return "sealed for another run of the runbook"
	case !r.asked[d.ID]:
		return "no approval named " + d.ID + " is waiting in this runbook"
	}
	if _, done := r.decisions[d.ID]; done {
		return "approval " + d.ID + " is already decided"
	}
	if !workflows.CheckSeal(ctx, workflows.DecisionMessage(workflows.RunbookID(r.in.Incident), r.run, d), d.Seal.MAC) {
		return "its seal does not verify: not sent by the incident"
	}
	return ""
}

// reject tells the incident that a forged decision was refused, so its
// timeline records it; beyond MaxRejectedRecorded they are only logged.
func (r *runner) reject(ctx workflow.Context, d workflows.ApprovalDecision, why string) {
	r.rejected++
	workflow.GetLogger(ctx).Warn("approval decision refused", "approval", d.ID, "reason", why)
	if r.rejected > workflows.MaxRejectedRecorded {
		return
	}
	msg := fmt.Sprintf("%s (signal to the runbook, approval %q, approved=%t, by %q) rejected: %s", workflows.SignalApprovalDecision, d.ID, d.Approved, d.By, why)
	if r.rejected == workflows.MaxRejectedRecorded {
		msg += "; further forged decisions are refused without being recorded"
	}
	r.emit(ctx, workflows.RunbookEvent{Kind: "rejected", Message: msg})
}

func failed(r workflows.StepResult) bool {
	return r.Status == workflows.StepFailed || r.Status == workflows.StepDenied
}

// afterFailure applies a failed step's on_failure and says whether the
// runbook stops.
func (r *runner) afterFailure(ctx workflow.Context, step runbooks.Step, res workflows.StepResult) (bool, string) {
	switch step.OnFailure {
	case runbooks.Continue:
		return false, ""
	case runbooks.Escalate:
		r.emit(ctx, workflows.RunbookEvent{Kind: "escalate", Message: fmt.Sprintf("step %s %s: %s", step.ID, res.Status, cmp.Or(res.Error, res.Summary))})
		return true, "escalated"
	default:
		return true, "stopped"
	}
}

func (r *runner) finishMessage(status string) string {
	n := map[string]int{}
	for _, s := range r.order {
		n[s.Status]++
	}
	return fmt.Sprintf("%s: %d ok, %d failed, %d denied, %d skipped", status, n[workflows.StepOK], n[workflows.StepFailed], n[workflows.StepDenied], n[workflows.StepSkipped])
}

// step runs one step and records its result.
func (r *runner) step(ctx workflow.Context, step runbooks.Step) workflows.StepResult {
	res := workflows.StepResult{ID: step.ID, Kind: step.Kind(), Started: workflow.Now(ctx)}
	finish := func(res workflows.StepResult) workflows.StepResult {
		res.Finished = workflow.Now(ctx)
		r.results[step.ID] = res
		r.state.Steps[step.ID] = runbooks.StepFacts{Status: res.Status, Summary: res.Summary, Output: res.Output}
		r.order = append(r.order, res)
		if !(res.Status == workflows.StepOK && step.Check != nil && step.Check.Action == workflows.ActionPage) {
			r.emit(ctx, workflows.RunbookEvent{Kind: "step", Step: &res}) // a page is in the timeline already, naming who was paged
		}
		return res
	}
	if step.When != "" {
		ok, err := r.condition(ctx, step.When, nil)
		if err != nil {
			res.Status, res.Error = workflows.StepFailed, "when: "+err.Error()
			return finish(res)
		}
		if !ok {
			res.Status, res.Summary = workflows.StepSkipped, "skipped: "+step.When+" is false"
			return finish(res)
		}
	}
	switch {
	case step.Check != nil:
		res = r.call(ctx, step, *step.Check, false, res)
	case step.Remediate != nil:
		res = r.remediate(ctx, step, res)
	case step.Verify != nil:
		res = r.verify(ctx, step, res)
	case step.Parallel != nil:
		res = r.parallel(ctx, step, res)
	default:
		res.Status, res.Error = workflows.StepFailed, "step has nothing to do"
	}
	return finish(res)
}

// call runs one action: a durable timer, a page through the incident, or an
// activity named after the action.
func (r *runner) call(ctx workflow.Context, step runbooks.Step, c runbooks.Call, dryRun bool, res workflows.StepResult) workflows.StepResult {
	with, err := r.render(ctx, c.With)
	if err != nil {
		res.Status, res.Error = workflows.StepFailed, "inputs: "+err.Error()
		return res
	}
	res.Tries++
	switch c.Action {
	case workflows.ActionWait:
		d, err := durationInput(with, "duration")
		if err != nil {
			res.Status, res.Error = workflows.StepFailed, err.Error()
			return res
		}
		if err := workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: fmt.Sprintf("%s %s (step %s)", workflows.ActionWait, d, step.ID)}).Get(ctx, nil); err != nil {
			res.Status, res.Error = workflows.StepFailed, err.Error()
			return res
		}
		res.Status, res.Summary = workflows.StepOK, fmt.Sprintf("waited %s", d)
		return res
	case workflows.ActionPage:
		p := workflows.PageRequest{Role: workflows.Role(str(with["role"])), Person: str(with["to"]), Message: str(with["message"]), Detail: str(with["detail"])}
		if p.Message == "" || (p.Role == "" && p.Person == "") {
			res.Status, res.Error = workflows.StepFailed, "core.page needs message and either to (a roster ID) or role"
			return res
		}
		r.emit(ctx, workflows.RunbookEvent{Kind: "page", Page: &p})
		res.Status, res.Summary = workflows.StepOK, "paged "+cmp.Or(p.Person, string(p.Role))+": "+p.Message
		return res
	}
	actx := workflow.WithActivityOptions(ctx, r.activityOptions(step, c.Action, with, dryRun))
	var out runbooks.ActionResult
	req := runbooks.ActionRequest{Incident: r.in.Incident, Runbook: r.in.Runbook.Name, Step: step.ID, With: with, DryRun: dryRun}
	if err := workflow.ExecuteActivity(actx, c.Action, req).Get(ctx, &out); err != nil {
		res.Status, res.Error = workflows.StepFailed, activityMessage(err)
		return res
	}
	res.Status, res.Summary, res.Detail, res.Output = workflows.StepOK, out.Summary, out.Detail, out.Output
	if ok, isBool := out.Output["ok"].(bool); isBool && !ok && !dryRun {
		// The action ran and its check did not pass (core.http's expect, a
		// freshness check): the step failed, and its output stays readable.
		reason, _ := out.Output["reason"].(string)
		res.Status, res.Error = workflows.StepFailed, cmp.Or(reason, "the check did not pass")
	}
	return res
}

// DefaultHeartbeat is the heartbeat timeout of a step that sets no
// heartbeat. Every action heartbeats while it runs (the action registry's
// keep-alive), so a worker that dies mid-action is noticed within this, and
// the action retried on another worker, not after the step's timeout (5
// minutes by default) in the middle of an incident. Activity options are not
// part of what a replay checks, so changing it needs no workflow version.
const DefaultHeartbeat = 30 * time.Second

// activityOptions applies the step's timeout, heartbeat and retry policy and
// gives the activity a summary naming the action and its main inputs.
func (r *runner) activityOptions(step runbooks.Step, action string, with map[string]any, dryRun bool) workflow.ActivityOptions {
	timeout := step.Timeout.Std()
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	heartbeat := step.Heartbeat.Std()
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	retry := &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: time.Second, MaximumInterval: time.Minute}
	if p := step.Retry; p != nil {
		if p.MaxAttempts > 0 {
			retry.MaximumAttempts = int32(p.MaxAttempts)
		}
		if p.InitialInterval > 0 {
			retry.InitialInterval = p.InitialInterval.Std()
		}
		if p.MaxInterval > 0 {
			retry.MaximumInterval = p.MaxInterval.Std()
		}
	}
	summary := action + " " + inputSummary(with)
	if dryRun {
		summary = "dry run: " + summary
	}
	return workflow.ActivityOptions{StartToCloseTimeout: timeout, HeartbeatTimeout: heartbeat, RetryPolicy: retry, Summary: strings.TrimSpace(summary)}
}

// remediate shows the approver a dry run, waits for the decision, and runs
// the action only when approved.
func (r *runner) remediate(ctx workflow.Context, step runbooks.Step, res workflows.StepResult) workflows.StepResult {
	rem := *step.Remediate
	if by := rem.Approval.CoveredBy; by != "" {
		return r.covered(ctx, step, by, res)
	}
	detail := ""
	if rem.DryRun == nil || *rem.DryRun {
		dry := r.call(ctx, step, rem.Call, true, workflows.StepResult{})
		if dry.Status != workflows.StepOK {
			res.Status, res.Error = workflows.StepFailed, "dry run failed: "+dry.Error
			return res
		}
		detail = strings.TrimSpace(dry.Summary + "\n\n" + dry.Detail)
	}
	gate := rem.Approval.WithDefaults()
	id := r.in.Runbook.Name + "/" + step.ID
	r.asked[id] = true
	with, _ := r.render(ctx, rem.With) // for the approver; the call renders again when it runs
	action := strings.TrimSpace(rem.Action + " " + inputSummary(with))
	if step.Description != "" {
		action = step.Description + " (" + action + ")"
	}
	// The approver sees every step the decision runs. Runbooks started
	// before this keep asking as they did.
	var covers []workflows.CoveredStep
	if workflow.GetVersion(ctx, versionApprovalPlan, workflow.DefaultVersion, 1) == 1 {
		covers = r.plan(ctx, step.ID)
		detail = strings.TrimSpace(detail + "\n\n" + planText(covers))
	}
	// A gate with a policy lets the incident approve without asking a
	// person (auto.go). Runbooks started before this ask as they did.
	var auto *workflows.AutoRequest
	if gate.Auto != nil && workflow.GetVersion(ctx, versionAutoApproval, workflow.DefaultVersion, 1) == 1 {
		auto = r.autoRequest(ctx, *gate.Auto)
	}
	r.emit(ctx, workflows.RunbookEvent{Kind: "approval", Approval: &workflows.ApprovalRequest{
		ID: id, Action: action, Detail: detail, Covers: covers,
		Role: workflows.Role(gate.Role), Timeout: gate.Timeout.Std(), OnTimeout: gate.OnTimeout, Auto: auto,
	}})
	if err := workflow.Await(ctx, func() bool { _, ok := r.decisions[id]; return ok }); err != nil {
		res.Status, res.Error = workflows.StepFailed, "cancelled while waiting for approval"
		return res
	}
	d := r.decisions[id]
	if !d.Approved {
		res.Status, res.Summary = workflows.StepDenied, fmt.Sprintf("denied by %s%s", d.By, cmp.Or(prefix(": ", d.Reason), ""))
		return res
	}
	if auto != nil && d.By == workflows.DecidedByPolicy(auto.Policy) {
		r.autoBy[id] = auto.Policy
	}
	out := r.call(ctx, step, rem.Call, false, res)
	r.autoOutcome(id, step.ID, out)
	if out.Status == workflows.StepOK {
		out.Summary = fmt.Sprintf("approved by %s; %s", d.By, out.Summary)
	}
	return out
}

// versionApprovalPlan is the change ID of showing the approver the steps
// an approval covers.
const versionApprovalPlan = "approval-plan"

// plan lists the later steps whose approval is covered by step id, their
// inputs resolved as far as they can be now and dry-run where possible.
func (r *runner) plan(ctx workflow.Context, id string) []workflows.CoveredStep {
	var out []workflows.CoveredStep
	for _, st := range r.in.Runbook.Steps {
		rem := st.Remediate
		if rem == nil || rem.Approval.CoveredBy != id {
			continue
		}
		c := workflows.CoveredStep{Step: st.ID, Action: rem.Action, Description: st.Description}
		known, pending := r.renderKnown(ctx, rem.With)
		c.Inputs, c.Pending = inputSummary(known), pending
		switch {
		case rem.DryRun != nil && !*rem.DryRun:
			c.DryRun = "none (dry_run: false)"
		case len(pending) > 0:
			c.DryRun = "when it runs: its inputs " + strings.Join(pending, ", ") + " come from earlier steps"
		default:
			dry := r.call(ctx, st, rem.Call, true, workflows.StepResult{})
			if dry.Status == workflows.StepOK {
				c.DryRun = strings.TrimSpace(dry.Summary + "\n" + dry.Detail)
			} else {
				c.DryRun = "failed: " + dry.Error
			}
		}
		out = append(out, c)
	}
	return out
}

// renderKnown renders each input on its own (runbooks.State.KnownInputs):
// those that render now are returned, the names of those that cannot yet
// (they read steps not yet run) listed as pending, sorted.
func (r *runner) renderKnown(ctx workflow.Context, with map[string]any) (map[string]any, []string) {
	type answer struct {
		Known   map[string]any
		Pending []string
	}
	st := r.state
	var a answer
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		known, pending := st.KnownInputs(with)
		return answer{Known: known, Pending: pending}
	}).Get(&a)
	if err != nil {
		return nil, nil
	}
	return a.Known, a.Pending
}

// planText is the approver's view of what an approval covers, appended to
// its detail (Slack, the CLI and the UI show it).
func planText(covers []workflows.CoveredStep) string {
	if len(covers) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("This approval also runs:")
	for _, c := range covers {
		fmt.Fprintf(&b, "\n- step %s: %s", c.Step, c.Action)
		if c.Description != "" {
			b.WriteString(" — " + c.Description)
		}
		if c.Inputs != "" {
			b.WriteString(" (" + c.Inputs + ")")
		}
		if len(c.Pending) > 0 {
			b.WriteString("; " + strings.Join(c.Pending, ", ") + " resolved when it runs")
		}
		if c.DryRun != "" {
			b.WriteString("\n  dry run: " + strings.ReplaceAll(c.DryRun, "\n", "\n  "))
		}
	}
	return b.String()
}

// covered runs a remediation whose approval is an earlier step's: it runs
// when that step was approved and succeeded, and is denied otherwise.
func (r *runner) covered(ctx workflow.Context, step runbooks.Step, by string, res workflows.StepResult) workflows.StepResult {
	id := r.in.Runbook.Name + "/" + by
	d, decided := r.decisions[id]
	prev, ran := r.results[by]
	switch {
	case !decided || !ran:
		res.Status, res.Summary = workflows.StepDenied, fmt.Sprintf("not covered: step %s asked for no approval (it did not run)", by)
		return res
	case !d.Approved:
		res.Status, res.Summary = workflows.StepDenied, fmt.Sprintf("not covered: approval %s was denied by %s", id, d.By)
		return res
	case prev.Status != workflows.StepOK:
		res.Status, res.Summary = workflows.StepDenied, fmt.Sprintf("not covered: step %s did not succeed (%s)", by, prev.Status)
		return res
	}
	out := r.call(ctx, step, step.Remediate.Call, false, res)
	r.autoOutcome(id, step.ID, out)
	if out.Status == workflows.StepOK {
		out.Summary = fmt.Sprintf("covered by approval %s (approved by %s); %s", id, d.By, out.Summary)
	}
	return out
}

// verify repeats the action until the condition holds or the deadline
// passes, sleeping on durable timers between tries.
func (r *runner) verify(ctx workflow.Context, step runbooks.Step, res workflows.StepResult) workflows.StepResult {
	v := *step.Verify
	wait := v.Every.Std()
	if wait <= 0 {
		wait = time.Minute
	}
	backoff := v.Backoff
	if backoff < 1 {
		backoff = 1
	}
	deadline := workflow.Now(ctx).Add(v.Deadline.Std())
	for {
		try := r.call(ctx, step, v.Call, false, res)
		res.Tries = try.Tries
		if try.Output != nil { // the action answered; its check passing or not is until's business
			ok, err := r.condition(ctx, v.Until, try.Output)
			if err != nil {
				res.Status, res.Error = workflows.StepFailed, "until: "+err.Error()
				return res
			}
			if ok {
				res.Status, res.Output, res.Detail = workflows.StepOK, try.Output, try.Detail
				res.Summary = fmt.Sprintf("healthy after %d %s: %s", res.Tries, plural(res.Tries, "try", "tries"), try.Summary)
				return res
			}
			res.Summary, res.Output = try.Summary, try.Output
		} else {
			res.Summary = "try failed: " + try.Error
		}
		now := workflow.Now(ctx)
		if !now.Add(wait).Before(deadline) {
			res.Status = workflows.StepFailed
			res.Error = fmt.Sprintf("%s not true after %d %s over %s; last: %s", v.Until, res.Tries, plural(res.Tries, "try", "tries"), v.Deadline.Std(), res.Summary)
			return res
		}
		if err := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: fmt.Sprintf("verify %s: next try in %s", step.ID, wait)}).Get(ctx, nil); err != nil {
			res.Status, res.Error = workflows.StepFailed, "cancelled while verifying"
			return res
		}
		wait = time.Duration(float64(wait) * backoff)
		if max := v.MaxInterval.Std(); max > 0 && wait > max {
			wait = max
		}
	}
}

// parallel runs the group's steps at once. A branch that fails with
// on_failure continue does not fail the group; any other failed branch does.
func (r *runner) parallel(ctx workflow.Context, step runbooks.Step, res workflows.StepResult) workflows.StepResult {
	type branch struct {
		step runbooks.Step
		res  workflows.StepResult
		done bool
	}
	branches := make([]*branch, len(step.Parallel))
	for i, s := range step.Parallel {
		b := &branch{step: s}
		branches[i] = b
		workflow.Go(ctx, func(ctx workflow.Context) {
			b.res = r.step(ctx, b.step)
			b.done = true
		})
	}
	_ = workflow.Await(ctx, func() bool {
		for _, b := range branches {
			if !b.done {
				return false
			}
		}
		return true
	})
	var bad []string
	for _, b := range branches {
		if failed(b.res) {
			if b.step.OnFailure == runbooks.Escalate {
				r.emit(ctx, workflows.RunbookEvent{Kind: "escalate", Message: fmt.Sprintf("step %s %s: %s", b.step.ID, b.res.Status, cmp.Or(b.res.Error, b.res.Summary))})
			}
			if b.step.OnFailure != runbooks.Continue {
				bad = append(bad, b.step.ID)
			}
		}
	}
	if len(bad) > 0 {
		res.Status, res.Error = workflows.StepFailed, "failed branches: "+strings.Join(bad, ", ")
		return res
	}
	res.Status, res.Summary = workflows.StepOK, fmt.Sprintf("%d branches done", len(branches))
	return res
}

// Every expression the workflow evaluates goes through condition, render
// and renderKnown, and through the runbooks package's State, as the dry run
// (runbooks.Plan) does: one path decides whether a step runs and with
// which inputs. CEL evaluation is pure and deterministic, but it is only
// ever called inside a side effect, for two reasons: the answer is
// recorded in the history, so replay never evaluates again and an upgraded
// expression library cannot change a decision a running incident already
// took; and the side effect is the boundary workflowcheck does not cross
// (it accepts whatever a side effect's function does), so cel-go's
// internals need no exemption.

// condition decides a step's when (output nil) or a verify's until over
// the alert, the incident, the steps done and this try's output.
func (r *runner) condition(ctx workflow.Context, expr string, output map[string]any) (bool, error) {
	type answer struct {
		Value bool
		Err   string
	}
	st := r.state
	var a answer
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		ok, err := st.Condition(expr, output)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{Value: ok}
	}).Get(&a)
	if err != nil {
		return false, err
	}
	if a.Err != "" {
		return false, errors.New(a.Err)
	}
	return a.Value, nil
}

// render renders a step's inputs.
func (r *runner) render(ctx workflow.Context, with map[string]any) (map[string]any, error) {
	type answer struct {
		With map[string]any
		Err  string
	}
	st := r.state
	var a answer
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		w, err := st.Inputs(with)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{With: w}
	}).Get(&a)
	if err != nil {
		return nil, err
	}
	if a.Err != "" {
		return nil, errors.New(a.Err)
	}
	return a.With, nil
}

// emit signals the incident. The incident may have continued as new, so
// the signal goes to its latest run.
func (r *runner) emit(ctx workflow.Context, ev workflows.RunbookEvent) {
	ev.Runbook = r.in.Runbook.Name
	if r.in.Sealed {
		// One event at a time, so the incident sees them in sequence.
		if err := workflow.Await(ctx, func() bool { return !r.emitting }); err != nil {
			return
		}
		r.emitting = true
		defer func() { r.emitting = false }()
		r.seq++
		mac, err := workflows.SealMessage(ctx, workflows.EventMessage(r.in.Incident, r.run, r.seq, ev))
		if err != nil {
			workflow.GetLogger(ctx).Error("runbook event not sealed", "kind", ev.Kind, "error", err)
			return
		}
		ev.Seal = &workflows.Seal{Run: r.run, Seq: r.seq, MAC: mac}
	}
	if err := workflow.SignalExternalWorkflow(ctx, r.in.Incident, "", workflows.SignalRunbookEvent, ev).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("runbook event not delivered", "kind", ev.Kind, "error", err)
	}
}

// inputSummary renders inputs as short, sorted k=v pairs for summaries.
func inputSummary(with map[string]any) string {
	keys := make([]string, 0, len(with))
	//workflowcheck:ignore the keys are sorted below (the comment must sit
	// above the loop: at the end of its line it marks only the map)
	for k := range with {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		v := fmt.Sprint(with[k])
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

func durationInput(with map[string]any, key string) (time.Duration, error) {
	switch v := with[key].(type) {
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a duration", key, v)
		}
		return d, nil
	case float64:
		return time.Duration(v) * time.Second, nil
	}
	return 0, fmt.Errorf("%s: required (e.g. 10m)", key)
}

// activityMessage is the innermost message of an activity failure.
func activityMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return "timed out (" + to.TimeoutType().String() + ")"
	}
	return err.Error()
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func prefix(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
