package ghact_test

import (
	"strings"
	"testing"
	"time"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/support/actiontest"
)

const (
	ordersV1 = "select id, amount\nfrom {{ ref('stg_orders') }}\nwhere status = 'paid'\n"
	ordersV2 = "select id, amount * 100 as amount\nfrom {{ ref('stg_orders') }}\nwhere status = 'paid'\n"
)

// history: init, the bad commit to orders.sql, then an unrelated change.
func history(f *fixture) (bad string) {
	f.commit("Ann", "init", 10*time.Hour, map[string]string{
		"models/marts/orders.sql": ordersV1, "models/marts/customers.sql": "select 1\n", "README.md": "dbt\n"})
	bad = f.commit("Bo", "orders: amounts in cents\n\nWe switch to cents.", 5*time.Hour, map[string]string{
		"models/marts/orders.sql": ordersV2, "models/marts/orders.yml": "version: 2\n"})
	f.commit("Cy", "customers: add region", 2*time.Hour, map[string]string{"models/marts/customers.sql": "select 1, region\n"})
	return bad
}

func TestRevertOpensPullRequest(t *testing.T) {
	f := newFixture(t)
	bad := history(f)
	baseBefore, _ := f.srv.BranchHead(repo, "main")

	res := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad[:10]})
	branch := "datasev/revert-inc-42-" + bad[:7]
	want(t, res.Output, "ok", true)
	want(t, res.Output, "branch", branch)
	want(t, res.Output, "already_open", false)
	if got := strs(t, res.Output["files"]); strings.Join(got, ",") != "models/marts/orders.sql,models/marts/orders.yml" {
		t.Errorf("files %v", got)
	}

	prs := f.srv.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("pull requests %+v", prs)
	}
	pr := prs[0]
	want(t, res.Output, "pr_number", pr.Number)
	if pr.Head != branch || pr.Base != "main" || pr.State != "open" || pr.Title != `Revert "orders: amounts in cents"` {
		t.Errorf("pull request %+v", pr)
	}
	if !strings.Contains(pr.Body, "inc-42") || !strings.Contains(pr.Body, "revert") || !strings.Contains(pr.Body, bad) {
		t.Errorf("body does not name the incident, step and commit: %q", pr.Body)
	}
	// The branch's tree: the reverted files at their pre-commit content,
	// the later unrelated change kept.
	files := f.srv.Files(repo, branch)
	if files["models/marts/orders.sql"] != ordersV1 {
		t.Errorf("orders.sql on the branch = %q", files["models/marts/orders.sql"])
	}
	if _, ok := files["models/marts/orders.yml"]; ok {
		t.Error("orders.yml, added by the reverted commit, is still there")
	}
	if files["models/marts/customers.sql"] != "select 1, region\n" || files["README.md"] != "dbt\n" {
		t.Errorf("unrelated files changed: %v", files)
	}
	// One clean commit on top of base's head, with git's revert message.
	c, _ := f.srv.CommitOf(repo, pr.HeadSHA)
	want(t, res.Output, "revert_sha", c.SHA)
	if len(c.Parents) != 1 || c.Parents[0] != baseBefore {
		t.Errorf("revert commit parents %v, want [%s]", c.Parents, baseBefore)
	}
	wantMsg := "Revert \"orders: amounts in cents\"\n\nThis reverts commit " + bad + ".\n\nIncident: inc-42"
	if c.Message != wantMsg {
		t.Errorf("message %q, want %q", c.Message, wantMsg)
	}
	if head, _ := f.srv.BranchHead(repo, "main"); head != baseBefore {
		t.Error("the base branch moved")
	}
}

func TestRevertIsIdempotent(t *testing.T) {
	f := newFixture(t)
	bad := history(f)
	first := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	writes := f.srv.Writes()
	second := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	want(t, second.Output, "already_open", true)
	want(t, second.Output, "pr_state", "open")
	want(t, second.Output, "pr_number", int(first.Output["pr_number"].(float64)))
	if n := len(f.srv.PullRequests(repo)); n != 1 {
		t.Errorf("%d pull requests, want 1", n)
	}
	if f.srv.Writes() != writes {
		t.Errorf("the second call wrote %d times", f.srv.Writes()-writes)
	}
}

func TestRevertAfterCrashBeforePullRequest(t *testing.T) {
	f := newFixture(t)
	bad := history(f)
	branch := "datasev/revert-inc-42-" + bad[:7]
	// An earlier attempt created the branch (with junk) and died.
	f.srv.Commit(repo, branch, "datasev", "half done", map[string]string{"junk.txt": "x\n"}, now.Add(-time.Hour))

	res := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	want(t, res.Output, "already_open", false)
	if n := len(f.srv.PullRequests(repo)); n != 1 {
		t.Fatalf("%d pull requests", n)
	}
	files := f.srv.Files(repo, branch)
	if _, ok := files["junk.txt"]; ok || files["models/marts/orders.sql"] != ordersV1 {
		t.Errorf("branch not redone from base: %v", files)
	}
	again := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	want(t, again.Output, "already_open", true)
	if n := len(f.srv.PullRequests(repo)); n != 1 {
		t.Fatalf("%d pull requests after a retry", n)
	}
}

func TestRevertRefusesLaterChangeToSameFile(t *testing.T) {
	f := newFixture(t)
	bad := history(f)
	f.commit("Di", "orders: fix typo", time.Hour, map[string]string{"models/marts/orders.sql": ordersV2 + "-- ok\n"})
	_, err := f.run(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	actiontest.NonRetryable(t, err, ghact.RevertRefusedType, "models/marts/orders.sql changed on main after "+bad[:7], "a human must revert")
	if f.srv.Writes() != 0 || len(f.srv.PullRequests(repo)) != 0 {
		t.Error("a refused revert wrote")
	}
	res := f.dryRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	want(t, res.Output, "ok", false)
	if !strings.Contains(res.Detail, "Would refuse") || !strings.Contains(res.Output["refused"].(string), "changed on main") {
		t.Errorf("dry run does not show the refusal: %s", res.Detail)
	}
}

func TestRevertRefusesLockedBranch(t *testing.T) {
	f := newFixture(t)
	bad := history(f)
	f.srv.Protect(repo, "main", ghtest.Protection{LockBranch: true})
	_, err := f.run(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	actiontest.NonRetryable(t, err, ghact.RevertRefusedType, "main is locked")
	// Required reviews alone do not stop a pull request.
	f.srv.Protect(repo, "main", ghtest.Protection{RequiredApprovingReviews: 1})
	res := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	want(t, res.Output, "ok", true)
}

func TestRevertMergeCommit(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", 10*time.Hour, map[string]string{"models/a.sql": "a\n"})
	f.srv.Commit(repo, "feature", "Bo", "add b", map[string]string{"models/b.sql": "b\n"}, now.Add(-8*time.Hour))
	f.commit("Cy", "main work", 7*time.Hour, map[string]string{"README.md": "r\n"})
	merge := f.srv.MergeCommit(repo, "main", "feature", "Bo", "Merge pull request #7 from acme/feature", now.Add(-6*time.Hour))
	f.commit("Di", "later", 5*time.Hour, map[string]string{"models/a.sql": "a2\n"})

	_, err := f.run(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": merge})
	actiontest.NonRetryable(t, err, ghact.RevertRefusedType, "merge commit", "parent")
	_, err = f.run(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": merge, "parent": 3})
	actiontest.NonRetryable(t, err, ghact.BadRequestType, "has 2 parent")

	res := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": merge, "parent": 1})
	files := f.srv.Files(repo, res.Output["branch"].(string))
	if _, ok := files["models/b.sql"]; ok || files["models/a.sql"] != "a2\n" || files["README.md"] != "r\n" {
		t.Errorf("branch after reverting the merge: %v", files)
	}
	if got := strs(t, res.Output["files"]); len(got) != 1 || got[0] != "models/b.sql" {
		t.Errorf("files %v", got)
	}
}

func TestRevertMergeConflictRefuses(t *testing.T) {
	f := newFixture(t)
	bad := history(f)
	// The base moves between the check and the merge; GitHub answers 409.
	f.srv.FailRoute("POST /repos/{owner}/{repo}/merges", 1, ghtest.Fault{Status: 409, Message: "Merge conflict"})
	_, err := f.run(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	actiontest.NonRetryable(t, err, ghact.RevertRefusedType, "merge conflict", "a human must revert")
	if _, ok := f.srv.BranchHead(repo, "datasev/revert-inc-42-"+bad[:7]); ok {
		t.Error("the revert branch was left behind")
	}
	if len(f.srv.PullRequests(repo)) != 0 {
		t.Error("a pull request was opened")
	}
}

func TestRevertDryRunWritesNothing(t *testing.T) {
	f := newFixture(t)
	bad := history(f)
	res := f.dryRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": bad})
	if f.srv.Writes() != 0 {
		t.Fatalf("dry run wrote %d times: %v", f.srv.Writes(), f.srv.Counts())
	}
	want(t, res.Output, "ok", true)
	want(t, res.Output, "pr_number", 0)
	for _, s := range []string{"models/marts/orders.sql", "-select id, amount\n+select id, amount * 100 as amount", "```diff"} {
		if !strings.Contains(res.Detail, s) {
			t.Errorf("detail lacks %q:\n%s", s, res.Detail)
		}
	}
	if !strings.Contains(res.Summary, "would revert") {
		t.Errorf("summary %q", res.Summary)
	}
}

func TestRevertBadInputs(t *testing.T) {
	f := newFixture(t)
	history(f)
	_, err := f.run(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": "not-a-sha"})
	actiontest.NonRetryable(t, err, ghact.BadRequestType, "not-a-sha")
	_, err = f.run(t, ghact.RevertCommitName, map[string]any{"repo": "https://github.com/acme/analytics", "sha": "abcdef0"})
	actiontest.NonRetryable(t, err, ghact.BadRequestType, "owner/name")
	_, err = f.run(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": "abcdef0123"})
	actiontest.NonRetryable(t, err, ghact.UnprocessableType, "abcdef0123", repo)
	_, err = f.run(t, ghact.RevertCommitName, map[string]any{"repo": "acme/nope", "sha": "abcdef0123"})
	actiontest.NonRetryable(t, err, ghact.NotFoundType, "acme/nope")
}
