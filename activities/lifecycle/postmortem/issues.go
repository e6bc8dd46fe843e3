package postmortem

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/lifecycle/jira"
	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

// EnvIssuesRepo names the environment variable holding the GitHub
// repository (owner/name) an incident's action items are filed in as
// issues at closure; unset, they are not filed.
const EnvIssuesRepo = "DATASEV_POSTMORTEM_ISSUES_REPO"

// IssueLabels are the labels every filed action item gets.
var IssueLabels = []string{"incident", "action-item"}

// Issues files action items as GitHub issues, or as Jira issues when Jira
// is configured.
type Issues struct {
	// Jira files them in a Jira project instead (DATASEV_JIRA_*); nil
	// files in GitHub.
	Jira *jira.Filer
	// GitHub carries out github.create_issue (ghact.New). Required when
	// Repo is set.
	GitHub *ghact.Actions
	// Repo is the repository, owner/name; empty files nothing.
	Repo string
}

// RegisterIssues registers FileActionItems under
// workflows.ActionItemsActivityName.
func RegisterIssues(w worker.ActivityRegistry, i *Issues) {
	w.RegisterActivityWithOptions(i.FileActionItems, activity.RegisterOptions{Name: workflows.ActionItemsActivityName})
}

// FileActionItems files every action item of the report that has no issue
// yet, and returns the issue URL of each item by position ("" where none).
// Filing is idempotent: each issue carries a hidden marker naming the
// incident and the item's position, so a retried or replayed call finds
// the issue it opened instead of opening another. Without a repository it
// files nothing and returns no error.
func (i *Issues) FileActionItems(ctx context.Context, r workflows.Report) ([]string, error) {
	if i != nil && i.Jira != nil {
		return i.Jira.FileActionItems(ctx, r)
	}
	urls := make([]string, len(r.Closure.ActionItems))
	if i == nil || strings.TrimSpace(i.Repo) == "" {
		return urls, nil
	}
	if i.GitHub == nil {
		return nil, temporal.NewNonRetryableApplicationError(EnvIssuesRepo+" is set but GitHub is not configured (DATASEV_GITHUB_*)", "ActionItemsNotConfigured", nil)
	}
	// The repository is the operator's configuration, never alert text: it
	// is the whole target policy of the filing (github.create_issue refuses
	// to change anything without one).
	policy, err := target.Parse(map[string]string{target.KeyGitHubRepositories: i.Repo})
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(EnvIssuesRepo+": "+err.Error(), "ActionItemsNotConfigured", err)
	}
	gh := i.GitHub.WithTargets(policy)
	for n, item := range r.Closure.ActionItems {
		if item.Issue != "" {
			urls[n] = item.Issue
			continue
		}
		// People's and alerts' text is escaped: it cannot carry HTML, nor
		// so another incident's marker.
		body := fmt.Sprintf("Action item from incident %s (%s, %s): %s",
			mdtext.Inline(r.ID), mdtext.Inline(string(r.Severity)), mdtext.Inline(r.Title), mdtext.Inline(item.Text))
		if item.Owner != "" {
			body += "\n\nOwner: " + mdtext.Inline(item.Owner)
		}
		body += fmt.Sprintf("\n\nAdded by %s. The postmortem lists it with this issue.", mdtext.Inline(item.By))
		// The marker names the occurrence (a recurrence files its own) by
		// Name, injective: two incidents' items never share a marker.
		req := runbooks.ActionRequest{Incident: Name(r.Key()), Runbook: "closure", Step: fmt.Sprintf("action-item-%d", n+1)}
		res, err := gh.CreateIssue(ctx, req, ghact.CreateIssueInput{
			Repo: i.Repo, Title: item.Text, Body: body, Labels: IssueLabels,
		})
		if err != nil {
			return nil, fmt.Errorf("file action item %d of %s in %s: %w", n+1, r.ID, i.Repo, err)
		}
		url, _ := res.Output["url"].(string)
		urls[n] = url
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, n+1)
		}
	}
	return urls, nil
}
