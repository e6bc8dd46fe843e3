package ghact

import (
	"context"

	"github.com/google/go-github/v57/github"
)

// eachItem walks a paginated GitHub listing, at most maxPages pages of it:
// list fetches one page (page 0 is the first), and visit sees each item in
// order until it returns true. An error from list ends the walk and is
// returned as it is, for the caller to classify.
func eachItem[T any](maxPages int, list func(page int) ([]T, *github.Response, error), visit func(T) (stop bool)) error {
	page := 0
	for range maxPages {
		items, resp, err := list(page)
		if err != nil {
			return err
		}
		for _, it := range items {
			if visit(it) {
				return nil
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		page = resp.NextPage
	}
	return nil
}

// findIssue returns the first issue of owner/repo (not a pull request), in
// any state and carrying labels, newest first, whose body match accepts;
// nil when none does in the first maxPages pages of 100.
func (a *Actions) findIssue(ctx context.Context, owner, repo string, labels []string, maxPages int, match func(body string) bool) (*github.Issue, error) {
	opts := &github.IssueListByRepoOptions{State: "all", Labels: labels, ListOptions: github.ListOptions{PerPage: 100}}
	var found *github.Issue
	err := eachItem(maxPages, func(page int) ([]*github.Issue, *github.Response, error) {
		opts.Page = page
		return a.c.Issues.ListByRepo(ctx, owner, repo, opts)
	}, func(i *github.Issue) bool {
		if !i.IsPullRequest() && match(i.GetBody()) {
			found = i
		}
		return found != nil
	})
	return found, err
}
