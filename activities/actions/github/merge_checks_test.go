package ghact_test

import (
	"strings"
	"testing"
	"time"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/support/actiontest"
)

// prHead is the head SHA of pull request n.
func prHead(t *testing.T, f *fixture, n int) string {
	t.Helper()
	for _, pr := range f.srv.PullRequests(repo) {
		if pr.Number == n {
			return pr.HeadSHA
		}
	}
	t.Fatalf("no pull request #%d", n)
	return ""
}

// The stand-in answers 405 while a required check has not passed, as
// GitHub does; the action waits for the checks, then merges.
func TestMergeWaitsForRequiredChecks(t *testing.T) {
	f := newFixture(t)
	n, _ := openRevertPR(t, f)
	head := prHead(t, f, n)
	f.srv.Protect(repo, "main", ghtest.Protection{RequiredChecks: []string{"ci/build", "dbt-test"}})
	f.srv.SetStatus(repo, head, "ci/build", "pending")
	f.srv.SetCheckRun(repo, head, "dbt-test", "success", 2)

	// Without waiting, GitHub's 405 is the step's error.
	_, err := f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n, "wait_for_checks": false})
	actiontest.NonRetryable(t, err, ghact.ConflictType, `Required status check "ci/build" is expected`)

	// The dry run says what blocks.
	dry := f.dryRun(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n})
	if c, _ := dry.Output["checks"].(string); c != "pending: ci/build, dbt-test" {
		t.Errorf("dry run checks %q", dry.Output["checks"])
	}

	// ci/build passes now; dbt-test completes after two more reads.
	f.srv.SetStatus(repo, head, "ci/build", "success")
	res := f.mustRun(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n, "checks_poll": "1ms"})
	want(t, res.Output, "merged", true)
	want(t, res.Output, "checks", "passed: ci/build, dbt-test")
	if got := f.srv.Count("GET /repos/{owner}/{repo}/commits/{sha}/check-runs"); got < 3 {
		t.Errorf("%d check-run reads, want the wait to have polled", got)
	}
}

// A required check the branch protection does not show (e.g. a token that
// may not read protection) is learned from the merge's 405 and waited for.
func TestMerge405NamesTheCheckToWaitFor(t *testing.T) {
	f := newFixture(t)
	n, _ := openRevertPR(t, f)
	head := prHead(t, f, n)
	f.srv.Protect(repo, "main", ghtest.Protection{RequiredChecks: []string{"ci/build"}})
	f.srv.FailRoute("GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks", 1, ghtest.Fault{Status: 403, Message: "Resource not accessible by integration"})
	f.srv.SetCheckRun(repo, head, "ci/build", "success", 1)
	res := f.mustRun(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n, "checks_poll": "1ms"})
	want(t, res.Output, "merged", true)
	if got := f.srv.Count("PUT /repos/{owner}/{repo}/pulls/{number}/merge"); got != 2 {
		t.Errorf("%d merge attempts, want 405 then the merge", got)
	}
}

func TestMergeRequiredCheckFailed(t *testing.T) {
	f := newFixture(t)
	n, _ := openRevertPR(t, f)
	head := prHead(t, f, n)
	f.srv.Protect(repo, "main", ghtest.Protection{RequiredChecks: []string{"ci/build", "dbt-test"}})
	f.srv.SetStatus(repo, head, "ci/build", "success")
	f.srv.SetCheckRun(repo, head, "dbt-test", "failure", 0)
	_, err := f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n, "checks_poll": "1ms"})
	actiontest.NonRetryable(t, err, ghact.ChecksBlockedType, "required check(s) failed", "dbt-test", "passed: ci/build")
	if got := f.srv.Count("PUT /repos/{owner}/{repo}/pulls/{number}/merge"); got != 0 {
		t.Errorf("%d merge attempts after a failed check", got)
	}
}

// A wait whose deadline (counted from the first attempt, kept in the
// heartbeat) has passed fails naming the pending checks.
func TestMergeChecksTimeout(t *testing.T) {
	f := newFixture(t)
	n, _ := openRevertPR(t, f)
	f.srv.Protect(repo, "main", ghtest.Protection{RequiredChecks: []string{"ci/build"}})
	f.env.SetHeartbeatDetails(ghact.ChecksProgress{Started: now.Add(-time.Hour), Polls: 100, Pending: []string{"ci/build"}})
	_, err := f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": n, "checks_timeout": "30m"})
	actiontest.NonRetryable(t, err, ghact.ChecksBlockedType, "still pending", "after 30m0s", "ci/build")
	if !strings.Contains(err.Error(), "pull request #") {
		t.Errorf("error %q does not say which pull request", err)
	}
}
