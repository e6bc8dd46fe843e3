package dbtcloud

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/actions/heartbeat"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// Action names.
const (
	RerunJobName = "dbtcloud.rerun_job"
	RetryRunName = "dbtcloud.retry_run"
)

// Defaults of the wait.
const (
	DefaultPoll        = 15 * time.Second
	DefaultWaitTimeout = time.Hour
	// MaxCauseLen bounds a run's cause (dbt Cloud keeps it short).
	MaxCauseLen = 255
	// recentRuns is how many of a job's latest runs a retried trigger
	// looks through for the run it may have started already.
	recentRuns = 10
)

// Actions carries out the dbt Cloud actions with one client.
type Actions struct {
	client  *Client
	targets *target.Policy
	now     func() time.Time
}

// New returns the dbt Cloud actions using c. A nil c gives actions that
// fail, non-retryably, when they run (the specs still validate runbooks).
func New(c *Client) *Actions { return &Actions{client: c, now: time.Now} }

// WithTargets returns a copy of a that checks accounts and jobs against
// the target policy p (targets.dbtcloud.jobs). With a nil p (no policy)
// the actions, which change things, refuse to run.
func (a *Actions) WithTargets(p *target.Policy) *Actions {
	cp := *a
	cp.targets = p
	return &cp
}

// WithClock returns a copy of a whose clock is now (the wait's deadline).
func (a *Actions) WithClock(now func() time.Time) *Actions {
	cp := *a
	cp.now = now
	return &cp
}

// Progress is what the actions heartbeat once they have a run to wait
// on: a retried attempt resumes waiting on RunID instead of triggering
// another run, and its deadline counts from Started.
type Progress struct {
	// RunID is the run triggered (or adopted) by the first attempt.
	RunID int64 `json:"run_id"`
	// Started is when the first attempt triggered it.
	Started time.Time `json:"started"`
	// Polls counts the polls of every attempt.
	Polls int `json:"polls"`
	// Status is the run's last status seen.
	Status int `json:"status"`
}

// WaitInputs are the inputs both actions share about waiting.
type WaitInputs struct {
	Wait    *bool
	Poll    runbooks.Duration
	Timeout runbooks.Duration
}

var numericID = regexp.MustCompile(`^[1-9][0-9]{0,17}$`)

// id parses a dbt Cloud ID given as a string (alert labels are strings).
func id(action, field, v string) (int64, error) {
	s := strings.TrimSpace(v)
	if !numericID.MatchString(s) {
		return 0, badRequest(action, "%s %q: want dbt Cloud's numeric ID", field, v)
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n, nil
}

func badRequest(action, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(action+": "+fmt.Sprintf(format, args...), BadRequestType, nil)
}

// wrap prefixes an error with the action's name, keeping its Temporal
// classification.
func wrap(action string, err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		opts := temporal.ApplicationErrorOptions{NonRetryable: appErr.NonRetryable(), NextRetryDelay: appErr.NextRetryDelay(), Cause: appErr.Unwrap()}
		return temporal.NewApplicationErrorWithOptions(action+": "+appErr.Message(), appErr.Type(), opts)
	}
	return fmt.Errorf("%s: %w", action, err)
}

// wrapf is wrap with what the action was doing when err happened.
func wrapf(action, what string, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		opts := temporal.ApplicationErrorOptions{NonRetryable: appErr.NonRetryable(), NextRetryDelay: appErr.NextRetryDelay(), Cause: appErr.Unwrap()}
		return temporal.NewApplicationErrorWithOptions(action+": "+what+": "+appErr.Message(), appErr.Type(), opts)
	}
	return fmt.Errorf("%s: %s: %w", action, what, err)
}

// job checks what both actions check before calling dbt Cloud: a client,
// a target policy, the IDs' form, and that the policy allows the job.
func (a *Actions) job(action, account, job string) (int64, int64, error) {
	if a == nil || a.client == nil {
		return 0, 0, temporal.NewNonRetryableApplicationError(
			action+": the worker has no dbt Cloud client; it builds one from "+EnvToken+" or "+EnvTokenFile+" (and "+EnvURL+")",
			NotConfiguredType, nil)
	}
	if err := a.targets.Remediation(action); err != nil {
		return 0, 0, wrap(action, err)
	}
	acc, err := id(action, "account_id", account)
	if err != nil {
		return 0, 0, err
	}
	j, err := id(action, "job_id", job)
	if err != nil {
		return 0, 0, err
	}
	if err := a.targets.DBTCloudJob(strconv.FormatInt(acc, 10), strconv.FormatInt(j, 10)); err != nil {
		return 0, 0, wrap(action, err)
	}
	return acc, j, nil
}

// resumed returns the previous attempt's progress, when this is a retried
// activity that recorded a run.
func resumed(ctx context.Context) (Progress, bool) {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return Progress{}, false
	}
	var p Progress
	if err := activity.GetHeartbeatDetails(ctx, &p); err != nil || p.RunID <= 0 {
		return Progress{}, false
	}
	return p, true
}

// retried reports whether this is not the activity's first attempt.
func retried(ctx context.Context) bool {
	return activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1
}

// Marker is the part of a run's cause that names the incident and step
// that triggered it: a retried trigger whose answer was lost finds its run
// by it.
func Marker(req runbooks.ActionRequest) string {
	return "[datasev:" + req.Incident + ":" + req.Step + "]"
}

// ---- dbtcloud.rerun_job ----

// RerunJobSpec is dbtcloud.rerun_job's spec.
func RerunJobSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: RerunJobName,
		Description: "Trigger a run of a dbt Cloud job (POST …/jobs/{job_id}/run/ with a cause naming the incident) and wait " +
			"for it to finish, heartbeating its status. Idempotent on retry: a retried step waits on the run it triggered " +
			"instead of triggering another. ok is true when the run succeeded. The dry run reads the job and says what it would do.",
		Outputs: []string{"ok", "account_id", "job_id", "run_id", "status", "status_humanized", "href", "reason", "resumed", "polls", "dry_run"},
		DryRun:  true,
		Changes: true,
	}
}

// RerunJob triggers a job run and waits for it.
func (a *Actions) RerunJob(ctx context.Context, req runbooks.ActionRequest, in RerunJobInput) (runbooks.ActionResult, error) {
	const name = RerunJobName
	acc, job, err := a.job(name, in.AccountID, in.JobID)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	cause := strings.TrimSpace(in.Cause)
	if cause == "" {
		cause = "Re-run by datasev for incident " + req.Incident
	}
	cause = strings.TrimSpace(cause + " " + Marker(req))
	if len(cause) > MaxCauseLen {
		return runbooks.ActionResult{}, badRequest(name, "cause: %d bytes with the incident marker, at most %d", len(cause), MaxCauseLen)
	}
	w := in.wait()
	if req.DryRun {
		j, err := a.client.GetJob(ctx, acc, job)
		if err != nil {
			return runbooks.ActionResult{}, wrapf(name, fmt.Sprintf("job %d of account %d", job, acc), err)
		}
		return dryRun(name, acc, job, fmt.Sprintf("would trigger a run of job %d (%s) with cause %q", job, j.Name, cause)), nil
	}
	if p, ok := resumed(ctx); ok {
		return a.waitFor(ctx, name, acc, job, p, true, w)
	}
	if retried(ctx) {
		// The previous attempt may have triggered the run and lost the
		// answer before it could heartbeat: find its run by the marker.
		runs, err := a.client.LatestRuns(ctx, acc, job, recentRuns)
		if err != nil {
			return runbooks.ActionResult{}, wrap(name, err)
		}
		for _, r := range runs {
			if r.Trigger != nil && strings.Contains(r.Trigger.Cause, Marker(req)) {
				return a.waitFor(ctx, name, acc, job, a.record(ctx, r), true, w)
			}
		}
	}
	r, err := a.client.TriggerRun(ctx, acc, job, cause)
	if err != nil {
		return runbooks.ActionResult{}, wrapf(name, fmt.Sprintf("trigger job %d of account %d", job, acc), err)
	}
	return a.waitFor(ctx, name, acc, job, a.record(ctx, r), false, w)
}

// RerunJobInput is dbtcloud.rerun_job's inputs.
type RerunJobInput struct {
	AccountID string            `json:"account_id" datasev:"required" desc:"dbt Cloud account ID, e.g. alert.labels.dbt_account_id"`
	JobID     string            `json:"job_id" datasev:"required" desc:"dbt Cloud job ID, e.g. alert.labels.dbt_job_id"`
	Cause     string            `json:"cause" desc:"the run's cause as dbt Cloud shows it (default: the incident); datasev appends [datasev:<incident>:<step>]"`
	Wait      *bool             `json:"wait" desc:"wait for the run to finish (default true); false returns once it is triggered"`
	Poll      runbooks.Duration `json:"poll" desc:"time between polls while waiting (default 15s)"`
	Timeout   runbooks.Duration `json:"timeout" desc:"how long to wait in all, retries included (default 1h)"`
}

func (in RerunJobInput) wait() WaitInputs {
	return WaitInputs{Wait: in.Wait, Poll: in.Poll, Timeout: in.Timeout}
}

// ---- dbtcloud.retry_run ----

// RetryRunSpec is dbtcloud.retry_run's spec.
func RetryRunSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: RetryRunName,
		Description: "Retry a failed dbt Cloud run from the point of failure (POST …/jobs/{job_id}/rerun/) and wait for the " +
			"new run, heartbeating its status. The run must be the job's latest run and have failed (status 20); when the " +
			"job has run again since, the action waits on that newer run instead of retrying (a retried step finds its " +
			"own retry this way). ok is true when the run succeeded. The dry run checks the run and says what it would do.",
		Outputs: []string{"ok", "account_id", "job_id", "run_id", "failed_run_id", "status", "status_humanized", "href", "reason", "resumed", "polls", "dry_run"},
		DryRun:  true,
		Changes: true,
	}
}

// RetryRunInput is dbtcloud.retry_run's inputs.
type RetryRunInput struct {
	AccountID string            `json:"account_id" datasev:"required" desc:"dbt Cloud account ID, e.g. alert.labels.dbt_account_id"`
	JobID     string            `json:"job_id" datasev:"required" desc:"dbt Cloud job ID, e.g. alert.labels.dbt_job_id"`
	RunID     string            `json:"run_id" datasev:"required" desc:"the failed run, e.g. alert.labels.dbt_run_id"`
	Wait      *bool             `json:"wait" desc:"wait for the run to finish (default true); false returns once it is triggered"`
	Poll      runbooks.Duration `json:"poll" desc:"time between polls while waiting (default 15s)"`
	Timeout   runbooks.Duration `json:"timeout" desc:"how long to wait in all, retries included (default 1h)"`
}

// RetryRun retries a failed run from the point of failure and waits for
// the new run.
func (a *Actions) RetryRun(ctx context.Context, req runbooks.ActionRequest, in RetryRunInput) (runbooks.ActionResult, error) {
	const name = RetryRunName
	acc, job, err := a.job(name, in.AccountID, in.JobID)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	failed, err := id(name, "run_id", in.RunID)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	w := WaitInputs{Wait: in.Wait, Poll: in.Poll, Timeout: in.Timeout}
	withFailed := func(res runbooks.ActionResult, err error) (runbooks.ActionResult, error) {
		if res.Output != nil {
			res.Output["failed_run_id"] = failed
		}
		return res, err
	}
	if p, ok := resumed(ctx); ok && !req.DryRun {
		return withFailed(a.waitFor(ctx, name, acc, job, p, true, w))
	}
	r, err := a.client.GetRun(ctx, acc, failed)
	if err != nil {
		return runbooks.ActionResult{}, wrapf(name, fmt.Sprintf("run %d of account %d", failed, acc), err)
	}
	if r.JobDefinitionID != job {
		return runbooks.ActionResult{}, badRequest(name, "run %d belongs to job %d, not job %d", failed, r.JobDefinitionID, job)
	}
	latest, err := a.client.LatestRuns(ctx, acc, job, 1)
	if err != nil {
		return runbooks.ActionResult{}, wrap(name, err)
	}
	if len(latest) > 0 && latest[0].ID > failed {
		// The job ran again since: this step's own retry (its answer lost
		// before a heartbeat), someone else's, or the schedule. Retrying
		// now would retry that run, or start another: wait on it instead.
		n := latest[0]
		if req.DryRun {
			return withFailed(dryRun(name, acc, job, fmt.Sprintf("would not retry run %d: job %d ran again since (run %d, %s); would wait on that run",
				failed, job, n.ID, StatusName(n.Status))), nil)
		}
		return withFailed(a.waitFor(ctx, name, acc, job, a.record(ctx, n), true, w))
	}
	if r.Status != StatusError {
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"%s: run %d of job %d is %s, not error (20): only a failed run is retried from the point of failure; use %s to run the job again",
			name, failed, job, StatusName(r.Status), RerunJobName), NotRetryableRunType, nil)
	}
	if req.DryRun {
		return withFailed(dryRun(name, acc, job, fmt.Sprintf("would retry failed run %d of job %d from the point of failure", failed, job)), nil)
	}
	n, err := a.client.RerunJob(ctx, acc, job)
	if err != nil {
		return runbooks.ActionResult{}, wrapf(name, fmt.Sprintf("retry run %d of job %d", failed, job), err)
	}
	return withFailed(a.waitFor(ctx, name, acc, job, a.record(ctx, n), false, w))
}

// ---- shared ----

func dryRun(name string, acc, job int64, what string) runbooks.ActionResult {
	return runbooks.ActionResult{
		Output: map[string]any{
			"ok": true, "account_id": acc, "job_id": job, "run_id": int64(0), "status": 0, "status_humanized": "",
			"href": "", "reason": what, "resumed": false, "polls": 0, "dry_run": true,
		},
		Summary: fmt.Sprintf("%s account %d job %d → %s", name, acc, job, what),
		Detail:  "Dry run: " + what + ".\n",
	}
}

// record heartbeats the run the action waits on, before anything else can
// fail, so that a retry resumes on it.
func (a *Actions) record(ctx context.Context, r Run) Progress {
	p := Progress{RunID: r.ID, Started: a.now(), Status: r.Status}
	heartbeat.Record(ctx, p)
	return p
}

// waitFor polls the run until it finishes or the timeout passes (or, with
// wait false, reads it once).
func (a *Actions) waitFor(ctx context.Context, name string, acc, job int64, p Progress, wasResumed bool, in WaitInputs) (runbooks.ActionResult, error) {
	poll, timeout := in.Poll.Std(), in.Timeout.Std()
	if poll <= 0 {
		poll = DefaultPoll
	}
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	wait := in.Wait == nil || *in.Wait
	deadline := p.Started.Add(timeout)
	for {
		r, err := a.client.GetRun(ctx, acc, p.RunID)
		if err != nil {
			return runbooks.ActionResult{}, wrapf(name, fmt.Sprintf("run %d", p.RunID), err)
		}
		p.Polls++
		p.Status = r.Status
		heartbeat.Record(ctx, p)
		now := a.now()
		if r.Terminal() || !wait || !now.Before(deadline) {
			return result(name, acc, job, r, p, wasResumed, wait, timeout), nil
		}
		t := time.NewTimer(min(poll, deadline.Sub(now)))
		select {
		case <-ctx.Done():
			t.Stop()
			return runbooks.ActionResult{}, fmt.Errorf("%s: waiting for run %d of job %d (last status %s): %w",
				name, p.RunID, job, StatusName(p.Status), ctx.Err())
		case <-t.C:
		}
	}
}

func result(name string, acc, job int64, r Run, p Progress, wasResumed, wait bool, timeout time.Duration) runbooks.ActionResult {
	ok := r.Status == StatusSuccess || (!wait && !r.Terminal())
	reason := ""
	switch {
	case r.Status == StatusSuccess:
	case r.Status == StatusError:
		reason = "run failed"
		if r.StatusMessage != nil && *r.StatusMessage != "" {
			reason += ": " + *r.StatusMessage
		}
	case r.Status == StatusCancelled:
		reason = "run cancelled"
	case !wait:
		reason = "not waited for"
	default:
		reason = fmt.Sprintf("still %s after %s", StatusName(r.Status), timeout)
	}
	humanized := r.StatusHumanized
	if humanized == "" {
		humanized = StatusName(r.Status)
	}
	out := map[string]any{
		"ok": ok, "account_id": acc, "job_id": job, "run_id": r.ID, "status": r.Status, "status_humanized": humanized,
		"href": r.Href, "reason": reason, "resumed": wasResumed, "polls": p.Polls, "dry_run": false,
	}
	summary := fmt.Sprintf("%s job %d → run %d %s", name, job, r.ID, StatusName(r.Status))
	if wasResumed {
		summary += " (resumed: no second trigger)"
	}
	if reason != "" && !ok {
		summary += " — not ok: " + reason
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dbt Cloud account %d, job %d: run ", acc, job)
	if r.Href != "" {
		fmt.Fprintf(&b, "[%d](%s)", r.ID, r.Href)
	} else {
		fmt.Fprintf(&b, "%d", r.ID)
	}
	fmt.Fprintf(&b, " is **%s**", humanized)
	if reason != "" {
		fmt.Fprintf(&b, " — %s", reason)
	}
	if r.Duration != "" {
		fmt.Fprintf(&b, " (duration %s)", r.Duration)
	}
	b.WriteString(".\n")
	return runbooks.ActionResult{Output: out, Summary: summary, Detail: b.String()}
}
