package ghact

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/actions/heartbeat"
)

// Defaults of github.merge_pull_request's wait for required checks.
const (
	DefaultChecksTimeout = 30 * time.Minute
	DefaultChecksPoll    = 30 * time.Second
)

// ChecksBlockedType: a required check failed, or the required checks did
// not all pass before the deadline; the error names them. Non-retryable:
// a person decides what to do about a red build.
const ChecksBlockedType = "RequiredChecksBlocked"

// ChecksProgress is what github.merge_pull_request heartbeats while it
// waits for required checks: a retried attempt keeps the first attempt's
// deadline (it counts from Started).
type ChecksProgress struct {
	Started time.Time `json:"started"`
	Polls   int       `json:"polls"`
	// Pending are the required checks not passed at the last poll.
	Pending []string `json:"pending"`
}

// checkReport is the state of a branch's required checks on a commit.
type checkReport struct {
	required                []string
	passed, pending, failed []string
}

func (r checkReport) String() string {
	var parts []string
	if len(r.failed) > 0 {
		parts = append(parts, "failed: "+strings.Join(r.failed, ", "))
	}
	if len(r.pending) > 0 {
		parts = append(parts, "pending: "+strings.Join(r.pending, ", "))
	}
	if len(r.passed) > 0 {
		parts = append(parts, "passed: "+strings.Join(r.passed, ", "))
	}
	if len(parts) == 0 {
		return "no required checks"
	}
	return strings.Join(parts, "; ")
}

// requiredChecks lists the required status checks of a branch (GET
// /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks):
// the contexts and the checks' contexts, without repeats. A branch without
// them answers 404, and a token that may not read protection 403: both are
// "none known", and the merge's own 405 names a check still missing.
func (a *Actions) requiredChecks(ctx context.Context, action, owner, repo, branch string) ([]string, error) {
	rsc, _, err := a.c.Repositories.GetRequiredStatusChecks(ctx, owner, repo, branch)
	if s := statusOf(err); s == 404 || s == 403 {
		return nil, nil
	}
	if err != nil {
		return nil, Classify(action, fmt.Sprintf("get the required checks of branch %s of %s/%s", branch, owner, repo), err)
	}
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, c := range rsc.Contexts {
		add(c)
	}
	for _, c := range rsc.Checks {
		add(c.Context)
	}
	sort.Strings(out)
	return out, nil
}

// checkStates reads the commit statuses (combined status) and check runs
// of sha, as "success", "pending" or "failure" by context or name.
func (a *Actions) checkStates(ctx context.Context, action, owner, repo, sha string) (map[string]string, error) {
	states := map[string]string{}
	cs, _, err := a.c.Repositories.GetCombinedStatus(ctx, owner, repo, sha, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, Classify(action, "get the combined status of "+short(sha), err)
	}
	for _, s := range cs.Statuses {
		switch s.GetState() {
		case "success":
			states[s.GetContext()] = "success"
		case "pending":
			states[s.GetContext()] = "pending"
		default:
			states[s.GetContext()] = "failure"
		}
	}
	runs, _, err := a.c.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, &github.ListCheckRunsOptions{ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		return nil, Classify(action, "list the check runs of "+short(sha), err)
	}
	for _, r := range runs.CheckRuns {
		switch {
		case r.GetStatus() != "completed":
			states[r.GetName()] = "pending"
		case r.GetConclusion() == "success" || r.GetConclusion() == "neutral" || r.GetConclusion() == "skipped":
			states[r.GetName()] = "success"
		default:
			states[r.GetName()] = "failure"
		}
	}
	return states, nil
}

// report sorts the required checks by their state on sha; a required
// check that has not reported yet is pending (GitHub calls it expected).
func (a *Actions) report(ctx context.Context, action, owner, repo, sha string, required []string) (checkReport, error) {
	states, err := a.checkStates(ctx, action, owner, repo, sha)
	if err != nil {
		return checkReport{}, err
	}
	rep := checkReport{required: required}
	for _, n := range required {
		switch states[n] {
		case "success":
			rep.passed = append(rep.passed, n)
		case "failure":
			rep.failed = append(rep.failed, n)
		default:
			rep.pending = append(rep.pending, n)
		}
	}
	return rep, nil
}

// waitForChecks waits, heartbeating, until every required check of the
// base branch has passed on sha. A failed required check, or checks still
// pending at the deadline, fail the step with an error that names them.
func (a *Actions) waitForChecks(ctx context.Context, action, what, owner, repo, sha string, required []string, timeout, poll time.Duration) (checkReport, error) {
	prog := ChecksProgress{Started: a.now()}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var p ChecksProgress
		if err := activity.GetHeartbeatDetails(ctx, &p); err == nil && !p.Started.IsZero() {
			prog = p
		}
	}
	deadline := prog.Started.Add(timeout)
	for {
		rep, err := a.report(ctx, action, owner, repo, sha, required)
		if err != nil {
			return rep, err
		}
		prog.Polls++
		prog.Pending = rep.pending
		heartbeat.Record(ctx, prog)
		if len(rep.failed) > 0 {
			return rep, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"%s: %s is blocked: required check(s) failed on %s: %s (%s); fix or re-run them, then retry the step",
				action, what, short(sha), strings.Join(rep.failed, ", "), rep), ChecksBlockedType, nil)
		}
		if len(rep.pending) == 0 {
			return rep, nil
		}
		now := a.now()
		if !now.Before(deadline) {
			return rep, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"%s: %s is blocked: required check(s) still pending on %s after %s: %s (%s)",
				action, what, short(sha), timeout, strings.Join(rep.pending, ", "), rep), ChecksBlockedType, nil)
		}
		t := time.NewTimer(min(poll, deadline.Sub(now)))
		select {
		case <-ctx.Done():
			t.Stop()
			return rep, fmt.Errorf("%s: waiting for the required checks of %s (%s): %w", action, what, rep, ctx.Err())
		case <-t.C:
		}
	}
}
