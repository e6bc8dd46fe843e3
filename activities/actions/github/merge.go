package ghact

import (
	"context"
	"fmt"
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
			"with its merge commit. A closed, unmergeable or moved pull request is a non-retryable error. The dry " +
			"run shows its title and mergeable state.",
		Outputs: []string{"ok", "merged", "sha", "pr_url", "title", "method", "mergeable_state", "already_merged"},
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
				pr.GetBase().GetRef(), method, mergeable, pr.GetMergeableState()),
		}, nil
	}
	res, _, err := a.c.PullRequests.Merge(ctx, owner, repo, in.Number, "", &github.PullRequestOptions{
		MergeMethod: method, SHA: strings.TrimSpace(in.SHA)})
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
