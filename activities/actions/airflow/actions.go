package airflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// Action names.
const (
	FailedTasksName = "airflow.failed_tasks"
	ClearTasksName  = "airflow.clear_tasks"
	TriggerDAGName  = "airflow.trigger_dag"
	WaitDAGRunName  = "airflow.wait_dag_run"
)

// Bounds of airflow.failed_tasks.
const (
	// MaxRunsChecked bounds the runs of a window whose tasks are listed.
	MaxRunsChecked = 50
	// MaxTasksOutput bounds the tasks listed in the output (count counts
	// them all).
	MaxTasksOutput = 200
)

// Actions carries out the Airflow actions with one client.
type Actions struct {
	client  *Client
	now     func() time.Time
	targets *target.Policy
}

// New returns the Airflow actions using c. A nil c gives actions that
// fail, non-retryably, when they run (the specs still validate runbooks).
func New(c *Client) *Actions {
	return &Actions{client: c, now: time.Now}
}

// WithClock returns a copy of a whose clock is now (windows, waits); the
// default is time.Now.
func (a *Actions) WithClock(now func() time.Time) *Actions {
	cp := *a
	cp.now = now
	return &cp
}

// WithTargets returns a copy of a that checks DAG IDs against the target
// policy p (targets.airflow.dags). With a nil p (no policy) the diagnostic
// actions run on any DAG and the remediations (airflow.clear_tasks,
// airflow.trigger_dag) refuse to run.
func (a *Actions) WithTargets(p *target.Policy) *Actions {
	cp := *a
	cp.targets = p
	return &cp
}

// dag checks what every Airflow action checks before it calls Airflow:
// that the worker has a client; for an action that changes something
// (changes), that the target policy allows remediations at all; then the
// DAG ID's form, and that the policy allows the DAG.
func (a *Actions) dag(action, dagID string, changes bool) (string, error) {
	if err := a.ready(action); err != nil {
		return "", err
	}
	if changes {
		if err := a.targets.Remediation(action); err != nil {
			return "", wrap(action, err)
		}
	}
	d, err := checkDAG(action, dagID)
	if err != nil {
		return "", err
	}
	if err := a.targets.DAG(d); err != nil {
		return "", wrap(action, err)
	}
	return d, nil
}

// dagRun checks a DAG ID as dag does, then a run ID's form.
func (a *Actions) dagRun(action, dagID, runID string, changes bool) (string, string, error) {
	d, err := a.dag(action, dagID, changes)
	if err != nil {
		return "", "", err
	}
	r, err := checkRun(action, runID)
	if err != nil {
		return "", "", err
	}
	return d, r, nil
}

func (a *Actions) ready(action string) error {
	if a == nil || a.client == nil {
		return temporal.NewNonRetryableApplicationError(
			action+": the worker has no Airflow client; it builds one from "+EnvURL+" and "+EnvUsername+"/"+EnvPassword+" or "+EnvToken,
			NotConfiguredType, nil)
	}
	return nil
}

func badRequest(action, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(action+": "+fmt.Sprintf(format, args...), BadRequestType, nil)
}

// wrap prefixes an error with the action's name, keeping its Temporal
// classification (type, retryability, next retry delay).
func wrap(action string, err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		opts := temporal.ApplicationErrorOptions{NonRetryable: appErr.NonRetryable(), NextRetryDelay: appErr.NextRetryDelay(), Cause: appErr.Unwrap()}
		return temporal.NewApplicationErrorWithOptions(action+": "+strings.TrimPrefix(appErr.Message(), "airflow: "), appErr.Type(), opts)
	}
	return fmt.Errorf("%s: %w", action, err)
}

var dagIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

func checkDAG(action, dagID string) (string, error) {
	d := strings.TrimSpace(dagID)
	if !dagIDPattern.MatchString(d) || len(d) > 250 {
		return "", badRequest(action, "dag_id %q is not a DAG ID (letters, digits, _ . - only)", dagID)
	}
	if strings.Contains(d, "..") {
		// Airflow's own DAG IDs may not hold "..", and in a URL path it
		// could climb out of /dags/.
		return "", badRequest(action, "dag_id %q contains \"..\", which no DAG ID may", dagID)
	}
	return d, nil
}

// RunIDPattern is the run IDs Airflow accepts by default
// ([scheduler] allowed_run_id_pattern).
var RunIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.~:+-]+$`)

func checkRun(action, runID string) (string, error) {
	r := strings.TrimSpace(runID)
	if !RunIDPattern.MatchString(r) || len(r) > 250 {
		return "", badRequest(action, "run_id %q is not a run ID Airflow accepts (letters, digits and _ . ~ : + -, at most 250)", runID)
	}
	return r, nil
}

var notRunIDChar = regexp.MustCompile(`[^A-Za-z0-9_.~:+-]+`)

// DeterministicRunID is the run ID airflow.trigger_dag uses when none is
// given: "datasev__<incident>__<step>", with characters Airflow does not
// allow replaced by "-", and long IDs shortened with a hash so that
// distinct inputs stay distinct. A retried or replayed step computes the
// same ID, so it finds its run instead of starting another.
func DeterministicRunID(incident, step string) string {
	raw := "datasev__" + incident + "__" + step
	id := "datasev__" + notRunIDChar.ReplaceAllString(incident, "-") + "__" + notRunIDChar.ReplaceAllString(step, "-")
	if id == raw && len(id) <= 250 {
		return id
	}
	sum := sha256.Sum256([]byte(incident + "\x00" + step))
	if len(id) > 236 {
		id = id[:236]
	}
	return id + "__" + hex.EncodeToString(sum[:6])
}

// RunURL is the run's page in Airflow's UI: /dags/{dag}/grid?dag_run_id=
// for Airflow 2, /dags/{dag}/runs/{run} for Airflow 3.
func (c *Client) RunURL(ctx context.Context, dagID, runID string) string {
	api, err := c.API(ctx)
	if err != nil || api == APIv1 {
		return c.base + "/dags/" + url.PathEscape(dagID) + "/grid?dag_run_id=" + url.QueryEscape(runID)
	}
	return c.base + "/dags/" + url.PathEscape(dagID) + "/runs/" + url.PathEscape(runID)
}

func rfc3339(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ---- airflow.failed_tasks ----

// FailedTasksSpec is airflow.failed_tasks's spec; actions.Typed adds its
// inputs from FailedTasksInput.
func FailedTasksSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: FailedTasksName,
		Description: "List a DAG's failed and upstream_failed task instances: in one run (run_id), or in every run of the " +
			"window (default 24h, at most 50 runs). ok is true when there are none.",
		Outputs: []string{"ok", "dag_id", "tasks", "count", "failed", "upstream_failed", "runs", "run_ids", "truncated"},
	}
}

// FailedTasksInput is airflow.failed_tasks's inputs.
type FailedTasksInput struct {
	DAGID  string            `json:"dag_id" datasev:"required" desc:"the DAG's ID, e.g. daily_orders"`
	RunID  string            `json:"run_id" desc:"one run to check; default: every run in window"`
	Window runbooks.Duration `json:"window" desc:"how far back to look for runs when run_id is not given (default 24h)"`
}

// FailedTasks lists failed task instances.
func (a *Actions) FailedTasks(ctx context.Context, _ runbooks.ActionRequest, in FailedTasksInput) (runbooks.ActionResult, error) {
	const name = FailedTasksName
	dagID, err := a.dag(name, in.DAGID, false)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	runIDs, scope, truncated, err := a.failedTasksRuns(ctx, dagID, in)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	f := failedTaskList{dagID: dagID, tasks: []any{}, truncated: truncated}
	for _, runID := range runIDs {
		tis, more, err := a.client.ListTaskInstances(ctx, dagID, runID, []string{"failed", "upstream_failed"})
		if err != nil {
			return runbooks.ActionResult{}, wrap(name, err)
		}
		f.truncated = f.truncated || more
		f.add(runID, tis)
	}
	return f.result(runIDs, scope), nil
}

// failedTasksRuns is the runs airflow.failed_tasks reads: the run named,
// or the DAG's runs in the window (default 24h), up to MaxRunsChecked;
// scope describes them for the summary.
func (a *Actions) failedTasksRuns(ctx context.Context, dagID string, in FailedTasksInput) (runIDs []string, scope string, truncated bool, err error) {
	const name = FailedTasksName
	if in.RunID != "" {
		runID, err := checkRun(name, in.RunID)
		if err != nil {
			return nil, "", false, err
		}
		return []string{runID}, "run " + runID, false, nil
	}
	window := in.Window.Std()
	if window <= 0 {
		window = 24 * time.Hour
	}
	runs, more, err := a.client.ListDAGRuns(ctx, dagID, a.now().Add(-window), MaxRunsChecked)
	if err != nil {
		return nil, "", false, wrap(name, err)
	}
	for _, r := range runs {
		runIDs = append(runIDs, r.RunID)
	}
	return runIDs, fmt.Sprintf("%s in the last %s", plural(len(runIDs), "run", "runs"), window), more, nil
}

// failedTaskList gathers the failed and upstream_failed task instances of
// a DAG's runs: their counts, and up to MaxTasksOutput of them.
type failedTaskList struct {
	dagID            string
	tasks            []any
	rows             []string // the detail's table rows
	failed, upstream int
	truncated        bool
}

// add counts and lists a run's failed and upstream_failed task instances.
func (f *failedTaskList) add(runID string, tis []TaskInstance) {
	for _, ti := range tis {
		switch ti.StateName() {
		case "failed":
			f.failed++
		case "upstream_failed":
			f.upstream++
		default:
			continue
		}
		if len(f.tasks) >= MaxTasksOutput {
			f.truncated = true
			continue
		}
		dur := 0.0
		if ti.Duration != nil {
			dur = *ti.Duration
		}
		f.tasks = append(f.tasks, map[string]any{
			"dag_id": f.dagID, "run_id": runID, "task_id": ti.TaskID, "state": ti.StateName(),
			"try_number": ti.TryNumber, "start_date": rfc3339(ti.StartDate), "end_date": rfc3339(ti.EndDate),
			"duration": dur,
		})
		f.rows = append(f.rows, fmt.Sprintf("| %s | %s | %s | %d | %s |", runID, ti.TaskID, ti.StateName(), ti.TryNumber, rfc3339(ti.EndDate)))
	}
}

// result is the answer: no failed tasks is ok; failed ones are listed in
// the detail.
func (f *failedTaskList) result(runIDs []string, scope string) runbooks.ActionResult {
	const name = FailedTasksName
	count := f.failed + f.upstream
	runList := make([]any, len(runIDs))
	for i, r := range runIDs {
		runList[i] = r
	}
	out := map[string]any{
		"ok": count == 0, "dag_id": f.dagID, "tasks": f.tasks, "count": count, "failed": f.failed,
		"upstream_failed": f.upstream, "runs": len(runIDs), "run_ids": runList, "truncated": f.truncated,
	}
	res := runbooks.ActionResult{Output: out}
	if count == 0 {
		res.Summary = fmt.Sprintf("%s %s → no failed tasks (%s)", name, f.dagID, scope)
		return res
	}
	res.Summary = fmt.Sprintf("%s %s → %d failed, %d upstream_failed (%s)", name, f.dagID, f.failed, f.upstream, scope)
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** in DAG `%s` (%s):\n\n| run | task | state | try | ended |\n|---|---|---|---|---|\n",
		plural(count, "failed task", "failed tasks"), f.dagID, scope)
	b.WriteString(strings.Join(f.rows, "\n"))
	b.WriteString("\n")
	if f.truncated {
		b.WriteString("\n(listing truncated)\n")
	}
	res.Detail = b.String()
	return res
}

// ---- airflow.clear_tasks ----

// ClearTasksSpec is airflow.clear_tasks's spec.
func ClearTasksSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: ClearTasksName,
		Description: "Clear task instances of one DAG run so the scheduler re-runs them (failed ones by default, with " +
			"their downstream tasks). The dry run asks Airflow which tasks it would clear. ok is true when tasks were (or would be) cleared.",
		Outputs: []string{"ok", "dag_id", "run_id", "cleared", "count", "dry_run", "reason"},
		DryRun:  true,
		Changes: true,
	}
}

// ClearTasksInput is airflow.clear_tasks's inputs.
type ClearTasksInput struct {
	DAGID             string   `json:"dag_id" datasev:"required" desc:"the DAG's ID"`
	RunID             string   `json:"run_id" datasev:"required" desc:"the run whose tasks to clear"`
	TaskIDs           []string `json:"task_ids" desc:"only these tasks (default: every task of the run)"`
	OnlyFailed        *bool    `json:"only_failed" desc:"clear failed and upstream_failed tasks only (default true)"`
	IncludeDownstream *bool    `json:"include_downstream" desc:"also clear the tasks downstream of those chosen (default true)"`
}

// ClearTasks clears task instances (or lists what it would clear).
func (a *Actions) ClearTasks(ctx context.Context, req runbooks.ActionRequest, in ClearTasksInput) (runbooks.ActionResult, error) {
	const name = ClearTasksName
	dagID, runID, err := a.dagRun(name, in.DAGID, in.RunID, true)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	for _, t := range in.TaskIDs {
		if strings.TrimSpace(t) == "" {
			return runbooks.ActionResult{}, badRequest(name, "task_ids has an empty task ID")
		}
	}
	body := ClearTaskInstances{
		DryRun:            req.DryRun,
		DAGRunID:          runID,
		TaskIDs:           in.TaskIDs,
		OnlyFailed:        in.OnlyFailed == nil || *in.OnlyFailed,
		IncludeDownstream: in.IncludeDownstream == nil || *in.IncludeDownstream,
		ResetDAGRuns:      true,
	}
	tis, err := a.client.ClearTaskInstances(ctx, dagID, body)
	if err != nil {
		return runbooks.ActionResult{}, wrap(name, err)
	}
	sort.SliceStable(tis, func(i, j int) bool { return tis[i].TaskID < tis[j].TaskID })
	cleared := []any{}
	var rows []string
	for _, ti := range tis {
		state := ""
		if ti.State != nil {
			state = *ti.State
		}
		run := ti.RunID
		if run == "" {
			run = runID
		}
		cleared = append(cleared, map[string]any{"task_id": ti.TaskID, "run_id": run, "state": state})
		rows = append(rows, fmt.Sprintf("| %s | %s | %s |", ti.TaskID, run, orDash(state)))
	}
	verb, done := "cleared", "cleared"
	if req.DryRun {
		verb, done = "would clear", "to clear"
	}
	out := map[string]any{
		"ok": len(cleared) > 0, "dag_id": dagID, "run_id": runID, "cleared": cleared, "count": len(cleared),
		"dry_run": req.DryRun, "reason": "",
	}
	res := runbooks.ActionResult{Output: out}
	if len(cleared) == 0 {
		what := "tasks"
		if body.OnlyFailed {
			what = "failed tasks"
		}
		out["reason"] = "no " + what + " " + done + " in run " + runID
		res.Summary = fmt.Sprintf("%s %s %s → nothing %s", name, dagID, runID, done)
		return res, nil
	}
	res.Summary = fmt.Sprintf("%s %s %s → %s %s", name, dagID, runID, verb, plural(len(cleared), "task", "tasks"))
	res.Detail = fmt.Sprintf("Tasks %s in DAG `%s`, run `%s` (only_failed %t, include_downstream %t):\n\n| task | run | state |\n|---|---|---|\n%s\n",
		done, dagID, runID, body.OnlyFailed, body.IncludeDownstream, strings.Join(rows, "\n"))
	return res, nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// ---- airflow.trigger_dag ----

// TriggerDAGSpec is airflow.trigger_dag's spec.
func TriggerDAGSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: TriggerDAGName,
		Description: "Trigger a DAG run with a deterministic run ID (default datasev__<incident>__<step>): a retried step " +
			"finds the run it started (already_existed) instead of starting another. A paused DAG is refused, not unpaused. " +
			"The dry run checks the DAG and whether the run exists.",
		Outputs: []string{"dag_id", "run_id", "state", "logical_date", "already_existed", "ui_url", "dry_run"},
		DryRun:  true,
		Changes: true,
	}
}

// TriggerDAGInput is airflow.trigger_dag's inputs.
type TriggerDAGInput struct {
	DAGID string         `json:"dag_id" datasev:"required" desc:"the DAG to run"`
	Conf  map[string]any `json:"conf" desc:"the run's conf (an object)"`
	RunID string         `json:"run_id" desc:"the run's ID (default datasev__<incident>__<step>)"`
}

// TriggerDAG triggers a DAG run, idempotently.
func (a *Actions) TriggerDAG(ctx context.Context, req runbooks.ActionRequest, in TriggerDAGInput) (runbooks.ActionResult, error) {
	const name = TriggerDAGName
	dagID, err := a.dag(name, in.DAGID, true)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	runID := in.RunID
	if runID == "" {
		runID = DeterministicRunID(req.Incident, req.Step)
	}
	if runID, err = checkRun(name, runID); err != nil {
		return runbooks.ActionResult{}, err
	}
	dag, err := a.client.GetDAG(ctx, dagID)
	if err != nil {
		return runbooks.ActionResult{}, wrap(name, err)
	}
	if dag.IsPaused {
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: DAG %q is paused; datasev does not unpause DAGs: unpause it in Airflow (or with a runbook step that says so) and retry", name, dagID),
			PausedType, nil)
	}
	out := map[string]any{"dag_id": dagID, "run_id": runID, "ui_url": a.client.RunURL(ctx, dagID, runID), "dry_run": req.DryRun}
	result := func(r DAGRun, existed bool) runbooks.ActionResult {
		out["state"] = r.State
		out["logical_date"] = rfc3339(r.LogicalDate)
		out["already_existed"] = existed
		verb := "triggered"
		if existed {
			verb = "found existing run"
		}
		return runbooks.ActionResult{
			Output:  out,
			Summary: fmt.Sprintf("%s %s → %s %s (%s)", name, dagID, verb, runID, r.State),
			Detail:  fmt.Sprintf("DAG `%s` run [`%s`](%s): state **%s**.\n", dagID, runID, out["ui_url"], r.State),
		}
	}
	if req.DryRun {
		r, err := a.client.GetDAGRun(ctx, dagID, runID)
		switch {
		case err == nil:
			res := result(r, true)
			res.Summary = fmt.Sprintf("%s %s → run %s exists already (%s); nothing to trigger", name, dagID, runID, r.State)
			return res, nil
		case StatusOf(err) != http.StatusNotFound:
			return runbooks.ActionResult{}, wrap(name, err)
		}
		out["state"], out["logical_date"], out["already_existed"] = "", "", false
		return runbooks.ActionResult{
			Output:  out,
			Summary: fmt.Sprintf("%s %s → would trigger run %s", name, dagID, runID),
			Detail:  fmt.Sprintf("Would trigger DAG `%s` (not paused) with run ID `%s` and conf `%v`.\n", dagID, runID, in.Conf),
		}, nil
	}
	r, err := a.client.TriggerDAGRun(ctx, dagID, runID, in.Conf, nil)
	if err == nil {
		return result(r, false), nil
	}
	if StatusOf(err) != http.StatusConflict {
		return runbooks.ActionResult{}, wrap(name, err)
	}
	// The run ID is taken: most likely by this very step, before a retry.
	r, gerr := a.client.GetDAGRun(ctx, dagID, runID)
	if gerr != nil {
		if StatusOf(gerr) == http.StatusNotFound {
			return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s: Airflow refused run %q of DAG %q as a conflict, but has no run with that ID: %v", name, runID, dagID, err),
				ConflictType, nil)
		}
		return runbooks.ActionResult{}, wrap(name, gerr)
	}
	return result(r, true), nil
}
