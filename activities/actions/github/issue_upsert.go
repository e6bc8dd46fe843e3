package ghact

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v57/github"
)

// UpsertIssueName names UpsertIssue in its errors. It is not a runbook
// action: the incident document calls it directly.
const UpsertIssueName = "github.upsert_issue"

// maxUpsertPages bounds the search for the issue carrying an upsert's
// marker (100 issues a page, newest first).
const maxUpsertPages = 20

// UpsertIssueInput is one issue kept in step with a rendering.
type UpsertIssueInput struct {
	// Repo is the repository as owner/name.
	Repo string
	// Marker is a hidden HTML comment ("<!-- ... -->") that identifies the
	// issue: it is appended to the body, and the issue whose body contains
	// it is the one updated. Required.
	Marker string
	// Title and Body are the issue's whole title and text (Markdown),
	// without the marker.
	Title string
	Body  string
	// Labels are set when the issue is created, and filter the search for
	// it; an existing issue's labels are left as people set them.
	Labels []string
	// Closed closes the issue (as completed); false reopens a closed one.
	Closed bool
	// Number, when not 0, is the issue believed to carry Marker (from an
	// earlier result): it is read first and, if its body has the marker,
	// the search is skipped.
	Number int
}

// UpsertIssueResult says which issue carries the marker now.
type UpsertIssueResult struct {
	// Number and URL (html_url) name the issue.
	Number int
	URL    string
	// Created is true when this call opened the issue; Updated when it
	// changed an existing one's title, body or state.
	Created bool
	Updated bool
}

// UpsertIssue makes exactly one issue in in.Repo carry in.Marker with
// in.Title, in.Body (followed by the marker) and the state in.Closed asks
// for: it finds the issue by its marker (open or closed, pull requests
// excluded), opens it when there is none, and otherwise edits only what
// differs; an issue already as asked is not written to. A retry after a
// lost answer finds the issue the first attempt opened. Errors are
// classified as Classify does (404, 401, 403 and 422 non-retryable with
// GitHub's message, rate limits retryable after the wait GitHub asked).
func (a *Actions) UpsertIssue(ctx context.Context, in UpsertIssueInput) (UpsertIssueResult, error) {
	const name = UpsertIssueName
	if err := a.ready(name); err != nil {
		return UpsertIssueResult{}, err
	}
	owner, repo, err := splitRepo(name, in.Repo)
	if err != nil {
		return UpsertIssueResult{}, err
	}
	full := owner + "/" + repo
	marker := strings.TrimSpace(in.Marker)
	if !strings.HasPrefix(marker, "<!--") || !strings.HasSuffix(marker, "-->") || strings.Contains(marker, "\n") {
		return UpsertIssueResult{}, badRequest(name, "marker %q: want a one-line HTML comment <!-- ... -->", in.Marker)
	}
	if strings.TrimSpace(in.Title) == "" {
		return UpsertIssueResult{}, badRequest(name, "an issue in %s needs a title", full)
	}
	body := strings.TrimRight(in.Body, "\n") + "\n\n" + marker
	found, err := a.findMarked(ctx, owner, repo, in, marker)
	if err != nil {
		return UpsertIssueResult{}, err
	}
	if found == nil {
		labels := in.Labels
		if labels == nil {
			labels = []string{}
		}
		req := &github.IssueRequest{Title: github.String(in.Title), Body: &body, Labels: &labels}
		i, _, err := a.c.Issues.Create(ctx, owner, repo, req)
		if err != nil {
			return UpsertIssueResult{}, Classify(name, "open an issue in "+full, err)
		}
		res := UpsertIssueResult{Number: i.GetNumber(), URL: i.GetHTMLURL(), Created: true}
		if in.Closed {
			// An issue is opened open: close it in a second request.
			if _, _, err := a.c.Issues.Edit(ctx, owner, repo, res.Number, closeRequest(true)); err != nil {
				return UpsertIssueResult{}, Classify(name, fmt.Sprintf("close issue #%d of %s", res.Number, full), err)
			}
		}
		return res, nil
	}
	res := UpsertIssueResult{Number: found.GetNumber(), URL: found.GetHTMLURL()}
	req := &github.IssueRequest{}
	changed := false
	if found.GetTitle() != in.Title {
		req.Title = github.String(in.Title)
		changed = true
	}
	if found.GetBody() != body {
		req.Body = &body
		changed = true
	}
	if closed := found.GetState() == "closed"; closed != in.Closed {
		c := closeRequest(in.Closed)
		req.State, req.StateReason = c.State, c.StateReason
		changed = true
	}
	if !changed {
		return res, nil
	}
	i, _, err := a.c.Issues.Edit(ctx, owner, repo, res.Number, req)
	if err != nil {
		return UpsertIssueResult{}, Classify(name, fmt.Sprintf("edit issue #%d of %s", res.Number, full), err)
	}
	res.Updated = true
	if u := i.GetHTMLURL(); u != "" {
		res.URL = u
	}
	return res, nil
}

// closeRequest closes (as completed) or reopens an issue.
func closeRequest(closed bool) *github.IssueRequest {
	if closed {
		return &github.IssueRequest{State: github.String("closed"), StateReason: github.String("completed")}
	}
	return &github.IssueRequest{State: github.String("open")}
}

// findMarked returns the issue whose body contains marker, or nil: the
// hinted number first, then the repository's issues (all states, filtered
// by in.Labels), newest first.
func (a *Actions) findMarked(ctx context.Context, owner, repo string, in UpsertIssueInput, marker string) (*github.Issue, error) {
	const name = UpsertIssueName
	full := owner + "/" + repo
	if in.Number > 0 {
		i, _, err := a.c.Issues.Get(ctx, owner, repo, in.Number)
		switch {
		case err == nil:
			if !i.IsPullRequest() && hasMarkerLine(i.GetBody(), marker) {
				return i, nil
			}
		case statusOf(err) == 404 || statusOf(err) == 410:
			// Deleted or transferred: search instead. A missing
			// repository fails the search with its own 404.
		default:
			return nil, Classify(name, fmt.Sprintf("read issue #%d of %s", in.Number, full), err)
		}
	}
	i, err := a.findIssue(ctx, owner, repo, in.Labels, maxUpsertPages, func(body string) bool { return hasMarkerLine(body, marker) })
	if err != nil {
		return nil, Classify(name, "list issues of "+full, err)
	}
	return i, nil
}

// hasMarkerLine reports whether body carries marker as a line of its own,
// as UpsertIssue writes it: a marker quoted inside a line (another
// incident's, in a code span of alert text) does not make the issue that
// incident's, while text a person adds after it does not lose it.
func hasMarkerLine(body, marker string) bool {
	for line := range strings.SplitSeq(body, "\n") {
		if strings.TrimSpace(line) == marker {
			return true
		}
	}
	return false
}
