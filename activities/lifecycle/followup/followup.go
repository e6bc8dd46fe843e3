// Package followup holds the follow-up's activity: it reads a closed
// incident's report from Temporal and asks each filed action item's
// tracker (a GitHub issue or a Jira issue) whether it is done.
package followup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/lifecycle/jira"
	"github.com/datasev/datasev/workflows"
	wfollowup "github.com/datasev/datasev/workflows/followup"
)

// Activities reads states. Each tracker is optional: an item whose
// tracker is not configured keeps an empty state ("unknown").
type Activities struct {
	// Client reads the closed incident's report.
	Client client.Client
	// GitHub reads GitHub issues; nil when GitHub is not configured.
	GitHub *github.Client
	// Jira reads Jira issues; nil when Jira is not configured.
	Jira *jira.Filer
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

// Register registers States under wfollowup.StatesActivityName.
func Register(w worker.ActivityRegistry, a *Activities) {
	w.RegisterActivityWithOptions(a.States, activity.RegisterOptions{Name: wfollowup.StatesActivityName})
}

// States returns the closed incident's report with each filed item's
// state read from its tracker. An incident that is not closed is refused:
// its action items are still being written.
func (a *Activities) States(ctx context.Context, in wfollowup.Input) (workflows.Report, error) {
	v, err := a.Client.QueryWorkflow(ctx, in.IncidentID, in.RunID, workflows.QueryReport)
	if err != nil {
		return workflows.Report{}, fmt.Errorf("read the report of %s: %w", in.IncidentID, err)
	}
	var r workflows.Report
	if err := v.Get(&r); err != nil {
		return workflows.Report{}, fmt.Errorf("decode the report of %s: %w", in.IncidentID, err)
	}
	if r.State != workflows.Closed {
		return workflows.Report{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s is %s, not closed: its action items are followed up after closure", in.IncidentID, r.State), "NotClosed", nil)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	for i := range r.Closure.ActionItems {
		it := &r.Closure.ActionItems[i]
		if it.Issue == "" {
			continue
		}
		done, status, err := a.state(ctx, it.Issue)
		if err != nil {
			// One item's tracker failing leaves that item unknown; a
			// rate limit or outage fails the attempt, to be retried.
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) && !ae.NonRetryable() {
				return workflows.Report{}, err
			}
			var ge *github.ErrorResponse
			if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode >= 500 {
				return workflows.Report{}, err
			}
			it.Status = "unknown: " + trim(err.Error(), 200)
			continue
		}
		if status == "" {
			continue
		}
		it.State, it.Status, it.CheckedAt = workflows.ItemOpen, status, now().UTC()
		if done {
			it.State = workflows.ItemDone
		}
	}
	return r, nil
}

// state asks the item's tracker; status "" means no configured tracker
// knows the URL.
func (a *Activities) state(ctx context.Context, issue string) (done bool, status string, err error) {
	if a.Jira != nil {
		done, status, ok, err := a.Jira.State(ctx, issue)
		if ok {
			return done, status, err
		}
	}
	if a.GitHub != nil {
		owner, repo, n, ok := githubIssue(a.GitHub, issue)
		if !ok {
			return false, "", nil
		}
		is, _, err := a.GitHub.Issues.Get(ctx, owner, repo, n)
		if err != nil {
			return false, "", fmt.Errorf("read %s/%s#%d: %w", owner, repo, n, err)
		}
		// An issue closed as "not planned" is not done.
		done := is.GetState() == "closed" && is.GetStateReason() != "not_planned"
		status := is.GetState()
		if r := is.GetStateReason(); r != "" && is.GetState() == "closed" {
			status += " (" + r + ")"
		}
		return done, status, nil
	}
	return false, "", nil
}

// githubIssue reads owner, repository and number from an issue's web
// address on the client's GitHub (github.com, or the Enterprise host the
// client talks to).
func githubIssue(gh *github.Client, issue string) (owner, repo string, n int, ok bool) {
	u, err := url.Parse(issue)
	if err != nil || u.Host == "" {
		return "", "", 0, false
	}
	host := "github.com"
	if gh.BaseURL != nil && gh.BaseURL.Host != "api.github.com" {
		host = gh.BaseURL.Host
	}
	if u.Host != host {
		return "", "", 0, false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 4 || parts[2] != "issues" || parts[0] == "" || parts[1] == "" {
		return "", "", 0, false
	}
	n, err = strconv.Atoi(parts[3])
	if err != nil || n <= 0 {
		return "", "", 0, false
	}
	return parts[0], parts[1], n, true
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
