package ghact

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/runbooks"
)

// MergePullRequestName is github.merge_pull_request's action name.
const MergePullRequestName = "github.merge_pull_request"

// MergePullRequestSpec is github.merge_pull_request's spec.
func MergePullRequestSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: MergePullRequestName,
		Description: "Merge a pull request (merge, squash or rebase; default from DATASEV_GITHUB_MERGE_METHOD, else " +
			"squash), optionally only if its head is still sha. Idempotent: an already merged pull request is ok " +
			"with its merge commit. Before merging it waits (heartbeating, up to checks_timeout, default 30m) for the " +
			"base branch's required status checks to pass on the head (GitHub refuses the merge with 405 until they " +
			"have); a failed required check, or one still pending at the deadline, fails the step naming it. A closed, " +
			"unmergeable or moved pull request is a non-retryable error. The dry run shows its title, mergeable state " +
			"and the required checks' state.",
		Outputs: []string{"ok", "merged", "sha", "pr_url", "title", "method", "mergeable_state", "already_merged", "checks"},
		DryRun:  true,
		Changes: true,
	}
}

// MergePullRequestInput is github.merge_pull_request's inputs.
type MergePullRequestInput struct {
	Repo   string `json:"repo" datasev:"required" desc:"repository as owner/name"`
	Number int    `json:"number" datasev:"required" desc:"pull request number"`
	Method string `json:"method" desc:"merge, squash or rebase (default: the worker's configured method)"`
	SHA    string `json:"sha" desc:"merge only if the pull request's head is this commit"`
	// WaitForChecks, ChecksTimeout and ChecksPoll govern the wait for the
	// base branch's required checks.
	WaitForChecks *bool             `json:"wait_for_checks" desc:"wait for the base branch's required checks to pass before merging (default true)"`
	ChecksTimeout runbooks.Duration `json:"checks_timeout" desc:"how long to wait for required checks, retries included (default 30m)"`
	ChecksPoll    runbooks.Duration `json:"checks_poll" desc:"time between looks at the checks (default 30s)"`
}

// MergePullRequest merges a pull request.
func (a *Actions) MergePullRequest(ctx context.Context, req runbooks.ActionRequest, in MergePullRequestInput) (runbooks.ActionResult, error) {
	const name = MergePullRequestName
	owner, repo, err := a.repo(name, in.Repo, true)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	full := owner + "/" + repo
	if in.Number <= 0 {
		return runbooks.ActionResult{}, badRequest(name, "number %d: want a pull request number", in.Number)
	}
	method := strings.ToLower(strings.TrimSpace(in.Method))
	if method == "" {
		method = a.cfg.MergeMethod
	}
	if method != "merge" && method != "squash" && method != "rebase" {
		return runbooks.ActionResult{}, badRequest(name, "method %q: want merge, squash or rebase", in.Method)
	}
	what := fmt.Sprintf("pull request #%d of %s", in.Number, full)
	pr, _, err := a.c.PullRequests.Get(ctx, owner, repo, in.Number)
	if err != nil {
		return runbooks.ActionResult{}, Classify(name, "get "+what, err)
	}
	if err := a.base(ctx, name, owner, repo, pr.GetBase().GetRef(), pr.GetBase().GetRepo().GetDefaultBranch()); err != nil {
		return runbooks.ActionResult{}, err
	}
	out := map[string]any{
		"ok": false, "merged": pr.GetMerged(), "sha": pr.GetMergeCommitSHA(), "pr_url": pr.GetHTMLURL(),
		"title": pr.GetTitle(), "method": method, "mergeable_state": pr.GetMergeableState(), "already_merged": pr.GetMerged(),
	}
	if pr.GetMerged() {
		out["ok"] = true
		return runbooks.ActionResult{Output: out,
			Summary: fmt.Sprintf("%s %s: already merged as %s", name, what, short(pr.GetMergeCommitSHA()))}, nil
	}
	if pr.GetState() != "open" {
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: %s is closed without being merged; reopen it or choose another", name, what), ConflictType, nil)
	}
	if want := strings.ToLower(strings.TrimSpace(in.SHA)); want != "" && !strings.HasPrefix(pr.GetHead().GetSHA(), want) {
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: %s head is %s, not %s: it moved since it was approved", name, what, short(pr.GetHead().GetSHA()), want),
			ConflictType, nil)
	}
	wait := in.WaitForChecks == nil || *in.WaitForChecks
	var required []string
	out["checks"] = "not waited for"
	if wait {
		if required, err = a.requiredChecks(ctx, name, owner, repo, pr.GetBase().GetRef()); err != nil {
			return runbooks.ActionResult{}, err
		}
		out["checks"] = "no required checks"
	}
	timeout, poll := in.ChecksTimeout.Std(), in.ChecksPoll.Std()
	if timeout <= 0 {
		timeout = DefaultChecksTimeout
	}
	if poll <= 0 {
		poll = DefaultChecksPoll
	}
	if req.DryRun && len(required) > 0 {
		rep, err := a.report(ctx, name, owner, repo, pr.GetHead().GetSHA(), required)
		if err != nil {
			return runbooks.ActionResult{}, err
		}
		out["checks"] = rep.String()
	}
	if req.DryRun {
		mergeable := "unknown (GitHub is still computing it)"
		if pr.Mergeable != nil {
			mergeable = fmt.Sprint(pr.GetMergeable())
		}
		out["ok"] = pr.Mergeable == nil || pr.GetMergeable()
		return runbooks.ActionResult{Output: out,
			Summary: fmt.Sprintf("%s %s: would %s-merge %q (%s into %s), mergeable %s, state %s", name, what, method,
				pr.GetTitle(), pr.GetHead().GetRef(), pr.GetBase().GetRef(), mergeable, pr.GetMergeableState()),
			Detail: fmt.Sprintf("Would merge [#%d](%s) **%s** from `%s` (%s) into `%s` by %s.\n\nMergeable: %s (state `%s`).\n",
				pr.GetNumber(), pr.GetHTMLURL(), cell(pr.GetTitle()), pr.GetHead().GetRef(), short(pr.GetHead().GetSHA()),
				pr.GetBase().GetRef(), method, mergeable, pr.GetMergeableState()) +
				fmt.Sprintf("\nRequired checks: %s.\n", out["checks"]),
		}, nil
	}
	head := pr.GetHead().GetSHA()
	var res *github.PullRequestMergeResult
	for attempt := 0; ; attempt++ {
		if len(required) > 0 {
			rep, err := a.waitForChecks(ctx, name, what, owner, repo, head, required, timeout, poll)
			if err != nil {
				return runbooks.ActionResult{}, err
			}
			out["checks"] = rep.String()
		}
		res, _, err = a.c.PullRequests.Merge(ctx, owner, repo, in.Number, "", &github.PullRequestOptions{
			MergeMethod: method, SHA: strings.TrimSpace(in.SHA)})
		// GitHub refuses the merge with 405 while a required check has not
		// passed. When the branch's protection did not name it (or it
		// changed since), wait for the check the answer names, then try
		// again: a few times, within the same deadline.
		if n := blockingCheck(err); wait && n != "" && attempt < 3 {
			if !slices.Contains(required, n) {
				required = append(required, n)
			}
			continue
		}
		break
	}
	if err != nil {
		if statusOf(err) == 405 || statusOf(err) == 409 {
			// A retry after a merge whose answer was lost finds it merged.
			if again, _, gerr := a.c.PullRequests.Get(ctx, owner, repo, in.Number); gerr == nil && again.GetMerged() {
				out["ok"], out["merged"], out["sha"], out["already_merged"] = true, true, again.GetMergeCommitSHA(), true
				return runbooks.ActionResult{Output: out,
					Summary: fmt.Sprintf("%s %s: already merged as %s", name, what, short(again.GetMergeCommitSHA()))}, nil
			}
		}
		return runbooks.ActionResult{}, Classify(name, "merge "+what, err)
	}
	out["ok"], out["merged"], out["sha"] = true, res.GetMerged(), res.GetSHA()
	return runbooks.ActionResult{Output: out,
		Summary: fmt.Sprintf("%s %s: merged %q by %s as %s", name, what, pr.GetTitle(), method, short(res.GetSHA()))}, nil
}

// requiredCheckMsg is GitHub's 405 answer to a merge whose required check
// has not passed: Required status check "<name>" is expected.
var requiredCheckMsg = regexp.MustCompile(`Required status check "([^"]+)"`)

// blockingCheck is the required check a 405 merge answer names, "" for
// any other answer.
func blockingCheck(err error) string {
	var er *github.ErrorResponse
	if err == nil || statusOf(err) != 405 || !errors.As(err, &er) {
		return ""
	}
	if m := requiredCheckMsg.FindStringSubmatch(er.Message); m != nil {
		return m[1]
	}
	return ""
}
