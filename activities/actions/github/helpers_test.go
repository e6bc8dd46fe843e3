package ghact_test

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// now is the tests' clock; commits are placed relative to it.
var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const repo = "acme/analytics"

// fixture is a GitHub stand-in, go-github pointed at it through the
// worker's configuration path, and the actions registered in Temporal's
// activity test environment.
type fixture struct {
	srv     *ghtest.Server
	env     *testsuite.TestActivityEnvironment
	actions *ghact.Actions
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	srv := ghtest.New()
	t.Cleanup(srv.Close)
	srv.CreateRepo(repo, "main")
	return fixtureFor(t, srv, srv.Env(), 0)
}

func fixtureFor(t testing.TB, srv *ghtest.Server, env map[string]string, pageSize int) *fixture {
	t.Helper()
	cfg, err := ghact.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c, err := ghact.NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := ghact.New(c, cfg).WithClock(func() time.Time { return now }).WithPageSize(pageSize).
		WithTargets(policy(t, map[string]string{target.KeyGitHubRepositories: "*", target.KeyGitHubBaseBranches: "*"}))
	return &fixture{srv: srv, env: register(a), actions: a}
}

// policy parses a target policy.
func policy(t testing.TB, lists map[string]string) *target.Policy {
	t.Helper()
	p, err := target.Parse(lists)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// register registers the GitHub actions the way the worker's registry does.
func register(a *ghact.Actions) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	e := s.NewTestActivityEnvironment()
	r := actions.NewRegistry()
	r.Add(
		actions.Typed(ghact.RecentCommitsSpec(), a.RecentCommits),
		actions.Typed(ghact.RevertCommitSpec(), a.RevertCommit),
		actions.Typed(ghact.MergePullRequestSpec(), a.MergePullRequest),
		actions.Typed(ghact.CommentSpec(), a.Comment),
		actions.Typed(ghact.CreateIssueSpec(), a.CreateIssue),
	)
	r.RegisterWith(e)
	return e
}

func (f *fixture) run(t testing.TB, action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	return f.runReq(t, action, runbooks.ActionRequest{Incident: "inc-42", Runbook: "dbt-model-broken", Step: "revert", With: with})
}

func (f *fixture) dryRun(t testing.TB, action string, with map[string]any) runbooks.ActionResult {
	t.Helper()
	res, err := f.runReq(t, action, runbooks.ActionRequest{Incident: "inc-42", Runbook: "dbt-model-broken", Step: "revert", With: with, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) runReq(t testing.TB, action string, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
	t.Helper()
	val, err := f.env.ExecuteActivity(action, req)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func (f *fixture) mustRun(t testing.TB, action string, with map[string]any) runbooks.ActionResult {
	t.Helper()
	res, err := f.run(t, action, with)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return res
}

// commit commits on main at now minus ago.
func (f *fixture) commit(author, msg string, ago time.Duration, files map[string]string) string {
	return f.srv.Commit(repo, "main", author, msg, files, now.Add(-ago))
}

// appError returns err's application error.
func appError(t testing.TB, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("want an application error, got %v", err)
	}
	return appErr
}

func want(t testing.TB, out map[string]any, key string, v any) {
	t.Helper()
	got, ok := out[key]
	if !ok {
		t.Fatalf("output has no %q: %v", key, out)
	}
	if f, isNum := got.(float64); isNum {
		if n, ok := v.(int); ok {
			v = float64(n)
		}
		if f != v {
			t.Errorf("output %q = %v, want %v", key, got, v)
		}
		return
	}
	if got != v {
		t.Errorf("output %q = %v (%T), want %v", key, got, got, v)
	}
}

func strs(t testing.TB, v any) []string {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%v (%T) is not a list", v, v)
	}
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}
