package ghact

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v57/github"

	"github.com/datasev/datasev/runbooks"
)

// Action names.
const (
	// CommentName is github.comment's action name.
	CommentName = "github.comment"
	// CreateIssueName is github.create_issue's action name.
	CreateIssueName = "github.create_issue"
)

// maxMarkerPages bounds the search for an earlier comment or issue.
const maxMarkerPages = 10

// Marker is the hidden HTML comment that makes a step's comment or issue
// findable again: <!-- datasev:<incident>:<step> -->.
func Marker(incident, step string) string {
	clean := strings.NewReplacer("--", "-", ">", "", "\n", " ")
	return "<!-- datasev:" + clean.Replace(incident) + ":" + clean.Replace(step) + " -->"
}

// CommentSpec is github.comment's spec.
func CommentSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: CommentName,
		Description: "Comment on an issue or pull request. Idempotent: the body carries a hidden marker naming the " +
			"incident and step, and an earlier comment with it is returned instead of posting again.",
		Outputs: []string{"ok", "number", "url", "id", "created"},
		DryRun:  true,
		Changes: true,
	}
}

// CommentInput is github.comment's inputs.
type CommentInput struct {
	Repo   string `json:"repo" datasev:"required" desc:"repository as owner/name"`
	Number int    `json:"number" datasev:"required" desc:"issue or pull request number"`
	Body   string `json:"body" datasev:"required" desc:"comment text (Markdown)"`
}

// Comment comments on an issue or pull request once per incident step.
func (a *Actions) Comment(ctx context.Context, req runbooks.ActionRequest, in CommentInput) (runbooks.ActionResult, error) {
	const name = CommentName
	owner, repo, err := a.repo(name, in.Repo, true)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	if in.Number <= 0 {
		return runbooks.ActionResult{}, badRequest(name, "number %d: want an issue or pull request number", in.Number)
	}
	what := fmt.Sprintf("#%d of %s/%s", in.Number, owner, repo)
	marker := Marker(req.Incident, req.Step)
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var earlier *github.IssueComment
	err = eachItem(maxMarkerPages, func(page int) ([]*github.IssueComment, *github.Response, error) {
		opts.Page = page
		return a.c.Issues.ListComments(ctx, owner, repo, in.Number, opts)
	}, func(c *github.IssueComment) bool {
		if strings.Contains(c.GetBody(), marker) {
			earlier = c
		}
		return earlier != nil
	})
	if err != nil {
		return runbooks.ActionResult{}, Classify(name, "list comments of "+what, err)
	}
	if c := earlier; c != nil {
		return runbooks.ActionResult{
			Output:  map[string]any{"ok": true, "number": in.Number, "url": c.GetHTMLURL(), "id": c.GetID(), "created": false},
			Summary: fmt.Sprintf("%s %s: already commented (%s)", name, what, c.GetHTMLURL()),
		}, nil
	}
	if req.DryRun {
		return runbooks.ActionResult{
			Output:  map[string]any{"ok": true, "number": in.Number, "url": "", "id": 0, "created": false},
			Summary: fmt.Sprintf("%s %s: would comment (%d characters)", name, what, len(in.Body)),
			Detail:  "Would comment on " + what + ":\n\n" + quote(in.Body),
		}, nil
	}
	c, _, err := a.c.Issues.CreateComment(ctx, owner, repo, in.Number, &github.IssueComment{Body: github.String(in.Body + "\n\n" + marker)})
	if err != nil {
		return runbooks.ActionResult{}, Classify(name, "comment on "+what, err)
	}
	return runbooks.ActionResult{
		Output:  map[string]any{"ok": true, "number": in.Number, "url": c.GetHTMLURL(), "id": c.GetID(), "created": true},
		Summary: fmt.Sprintf("%s %s: commented (%s)", name, what, c.GetHTMLURL()),
	}, nil
}

// CreateIssueSpec is github.create_issue's spec.
func CreateIssueSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: CreateIssueName,
		Description: "Open an issue (e.g. a postmortem action item). Idempotent: the body carries a hidden marker naming " +
			"the incident and step, and an earlier issue with it (open or closed) is returned instead of opening another.",
		Outputs: []string{"ok", "number", "url", "created"},
		DryRun:  true,
		Changes: true,
	}
}

// CreateIssueInput is github.create_issue's inputs.
type CreateIssueInput struct {
	Repo   string   `json:"repo" datasev:"required" desc:"repository as owner/name"`
	Title  string   `json:"title" datasev:"required" desc:"issue title"`
	Body   string   `json:"body" desc:"issue text (Markdown)"`
	Labels []string `json:"labels" desc:"labels to set, e.g. [incident, data-quality]"`
}

// CreateIssue opens an issue once per incident step.
func (a *Actions) CreateIssue(ctx context.Context, req runbooks.ActionRequest, in CreateIssueInput) (runbooks.ActionResult, error) {
	const name = CreateIssueName
	owner, repo, err := a.repo(name, in.Repo, true)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	full := owner + "/" + repo
	marker := Marker(req.Incident, req.Step)
	earlier, err := a.findIssue(ctx, owner, repo, in.Labels, maxMarkerPages, func(body string) bool { return strings.Contains(body, marker) })
	if err != nil {
		return runbooks.ActionResult{}, Classify(name, "list issues of "+full, err)
	}
	if i := earlier; i != nil {
		return runbooks.ActionResult{
			Output:  map[string]any{"ok": true, "number": i.GetNumber(), "url": i.GetHTMLURL(), "created": false},
			Summary: fmt.Sprintf("%s %s: issue #%d already open for this step (%s)", name, full, i.GetNumber(), i.GetState()),
		}, nil
	}
	if req.DryRun {
		return runbooks.ActionResult{
			Output:  map[string]any{"ok": true, "number": 0, "url": "", "created": false},
			Summary: fmt.Sprintf("%s %s: would open %q", name, full, in.Title),
			Detail:  fmt.Sprintf("Would open an issue in `%s`: **%s** (labels: %s)\n\n%s", full, cell(in.Title), strings.Join(in.Labels, ", "), quote(in.Body)),
		}, nil
	}
	body := strings.TrimSpace(in.Body + "\n\n" + marker)
	labels := in.Labels
	if labels == nil {
		labels = []string{}
	}
	i, _, err := a.c.Issues.Create(ctx, owner, repo, &github.IssueRequest{Title: github.String(in.Title), Body: &body, Labels: &labels})
	if err != nil {
		return runbooks.ActionResult{}, Classify(name, "open an issue in "+full, err)
	}
	return runbooks.ActionResult{
		Output:  map[string]any{"ok": true, "number": i.GetNumber(), "url": i.GetHTMLURL(), "created": true},
		Summary: fmt.Sprintf("%s %s: opened issue #%d %q", name, full, i.GetNumber(), in.Title),
	}, nil
}

// quote renders text as a Markdown block quote.
func quote(s string) string {
	if s == "" {
		return "> (empty)\n"
	}
	return "> " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n> ") + "\n"
}
