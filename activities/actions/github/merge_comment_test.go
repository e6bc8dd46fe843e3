package ghact_test

import (
	"strings"
	"testing"
	"time"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/runbooks"
)

// openRevertPR opens the revert pull request of history's bad commit.
func openRevertPR(t *testing.T, f *fixture) (number int, bad string) {
	t.Helper()
	bad = history(f)
	res := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	return int(res.Output["pr_number"].(float64)), bad
}

func TestMergePullRequest(t *testing.T) {
	f := newFixture(t)
	n, bad := openRevertPR(t, f)
	before, _ := f.srv.BranchHead(repo, "main")

	writes := f.srv.Writes()
	dry := f.dryRun(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n})
	want(t, dry.Output, "ok", true)
	want(t, dry.Output, "mergeable_state", "clean")
	want(t, dry.Output, "method", "squash")
	if !strings.Contains(dry.Detail, "Revert") || f.srv.Writes() != writes {
		t.Errorf("dry run: %d writes; detail %s", f.srv.Writes()-writes, dry.Detail)
	}
	if head, _ := f.srv.BranchHead(repo, "main"); head != before {
		t.Fatal("dry run merged")
	}

	_, err := f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n, "sha": "0000000"})
	actiontest.NonRetryable(t, err, ghact.ConflictType, "moved")

	res := f.mustRun(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n})
	want(t, res.Output, "merged", true)
	want(t, res.Output, "already_merged", false)
	head, _ := f.srv.BranchHead(repo, "main")
	want(t, res.Output, "sha", head)
	if v, _ := f.srv.File(repo, "main", "models/marts/orders.sql"); v != ordersV1 {
		t.Errorf("orders.sql on main after the merge: %q", v)
	}
	c, _ := f.srv.CommitOf(repo, head)
	if len(c.Parents) != 1 || c.Parents[0] != before {
		t.Errorf("squash commit parents %v", c.Parents)
	}

	again := f.mustRun(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n})
	want(t, again.Output, "already_merged", true)
	want(t, again.Output, "sha", head)
	if h, _ := f.srv.BranchHead(repo, "main"); h != head {
		t.Error("merged twice")
	}
	// The revert, asked again after its pull request merged, finds it.
	rev := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	want(t, rev.Output, "already_open", true)
	want(t, rev.Output, "pr_state", "merged")
}

func TestMergePullRequestRefusals(t *testing.T) {
	f := newFixture(t)
	n, _ := openRevertPR(t, f)
	_, err := f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n, "method": "octopus"})
	actiontest.NonRetryable(t, err, ghact.BadRequestType, "octopus")
	f.srv.Protect(repo, "main", ghtest.Protection{RequiredApprovingReviews: 1})
	dry := f.dryRun(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n})
	want(t, dry.Output, "mergeable_state", "blocked")
	_, err = f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n, "method": "merge"})
	actiontest.NonRetryable(t, err, ghact.ConflictType, "approving review")
	if prs := f.srv.PullRequests(repo); prs[0].Merged {
		t.Error("merged despite the protection")
	}
}

func TestCommentOncePerStep(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", time.Hour, map[string]string{"a": "a\n"})
	n := f.srv.CreateIssue(repo, "orders broken", "")
	with := map[string]any{"repo": repo, "number": n, "body": "Reverting abc1234."}

	dry := f.dryRun(t, ghact.CommentName, with)
	want(t, dry.Output, "created", false)
	if len(f.srv.Comments(repo, n)) != 0 {
		t.Fatal("dry run commented")
	}
	first := f.mustRun(t, ghact.CommentName, with)
	want(t, first.Output, "created", true)
	second := f.mustRun(t, ghact.CommentName, with)
	want(t, second.Output, "created", false)
	want(t, second.Output, "url", first.Output["url"])
	comments := f.srv.Comments(repo, n)
	if len(comments) != 1 || !strings.Contains(comments[0], ghact.Marker("inc-42", "revert")) || !strings.HasPrefix(comments[0], "Reverting abc1234.") {
		t.Fatalf("comments %q", comments)
	}
	// Another step of the same incident comments again.
	res, err := f.runReq(t, ghact.CommentName, runbooks.ActionRequest{Incident: "inc-42", Step: "notify", With: with})
	if err != nil {
		t.Fatal(err)
	}
	want(t, res.Output, "created", true)
	_, err = f.run(t, ghact.CommentName, map[string]any{"repo": repo, "number": 404, "body": "x"})
	actiontest.NonRetryable(t, err, ghact.NotFoundType, "#404 of acme/analytics")
}

func TestCommentFindsMarkerOnLaterPage(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", time.Hour, map[string]string{"a": "a\n"})
	n := f.srv.CreateIssue(repo, "busy", "")
	for range 120 {
		f.srv.AddComment(repo, n, "someone", "noise")
	}
	first := f.mustRun(t, ghact.CommentName, map[string]any{"repo": repo, "number": n, "body": "ours"})
	want(t, first.Output, "created", true)
	lists := f.srv.Count("GET /repos/{owner}/{repo}/issues/{number}/comments")
	res := f.mustRun(t, ghact.CommentName, map[string]any{"repo": repo, "number": n, "body": "ours"})
	want(t, res.Output, "created", false)
	if got := f.srv.Count("GET /repos/{owner}/{repo}/issues/{number}/comments") - lists; got != 2 {
		t.Errorf("%d comment pages read, want 2", got)
	}
	if len(f.srv.Comments(repo, n)) != 121 {
		t.Errorf("%d comments", len(f.srv.Comments(repo, n)))
	}
}

func TestCreateIssueOncePerStep(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", time.Hour, map[string]string{"a": "a\n"})
	f.srv.CreateIssue(repo, "unrelated", "body", "incident")
	with := map[string]any{"repo": repo, "title": "Add a test for orders amounts", "body": "From inc-42.", "labels": []any{"incident", "postmortem"}}
	dry := f.dryRun(t, ghact.CreateIssueName, with)
	want(t, dry.Output, "created", false)
	if !strings.Contains(dry.Detail, "Add a test for orders amounts") || len(f.srv.Issues(repo)) != 1 {
		t.Fatalf("dry run: %s", dry.Detail)
	}
	first := f.mustRun(t, ghact.CreateIssueName, with)
	want(t, first.Output, "created", true)
	second := f.mustRun(t, ghact.CreateIssueName, with)
	want(t, second.Output, "created", false)
	want(t, second.Output, "number", int(first.Output["number"].(float64)))
	issues := f.srv.Issues(repo)
	if len(issues) != 2 {
		t.Fatalf("issues %+v", issues)
	}
	is := issues[1]
	if is.Title != "Add a test for orders amounts" || strings.Join(is.Labels, ",") != "incident,postmortem" ||
		!strings.Contains(is.Body, ghact.Marker("inc-42", "revert")) {
		t.Errorf("issue %+v", is)
	}
}

func TestMarkerCannotCloseTheComment(t *testing.T) {
	if m := ghact.Marker("a-->b", "c>d"); strings.Count(m, "-->") != 1 || !strings.HasSuffix(m, "-->") {
		t.Errorf("marker %q", m)
	}
}
