package ghact_test

import (
	"maps"
	"testing"
	"time"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/activities/support/target"
)

// requests is how many requests the stand-in has served in all.
func requests(f *fixture) int {
	n := 0
	for v := range maps.Values(f.srv.Counts()) {
		n += v
	}
	return n
}

func TestRemediationsRefuseWithoutPolicy(t *testing.T) {
	f := newFixture(t)
	bad := history(f)
	f.env = register(f.actions.WithTargets(nil))
	before := requests(f)
	for action, with := range map[string]map[string]any{
		ghact.RevertCommitName:     {"repo": repo, "sha": bad},
		ghact.MergePullRequestName: {"repo": repo, "number": 1},
		ghact.CommentName:          {"repo": repo, "number": 1, "body": "x"},
		ghact.CreateIssueName:      {"repo": repo, "title": "x"},
	} {
		_, err := f.run(t, action, with)
		actiontest.NonRetryable(t, err, target.NoPolicyType,
			action+": target policy: "+action+" changes the outside world and the worker has no target policy",
			"targets.github.repositories", "DATASEV_TARGETS_*")
	}
	if n := requests(f) - before; n != 0 || f.srv.Writes() != 0 {
		t.Fatalf("%d requests, %d writes reached GitHub", n, f.srv.Writes())
	}
	// A diagnostic read still runs.
	res := f.mustRun(t, ghact.RecentCommitsName, map[string]any{"repo": repo, "since": "24h"})
	want(t, res.Output, "count", 3)
}

func TestRepositoriesOutsidePolicyAreRefused(t *testing.T) {
	f := newFixture(t)
	history(f)
	f.srv.CreateRepo("evil/x", "main")
	evil := f.srv.Commit("evil/x", "main", "Eve", "init", map[string]string{"a": "1\n"}, now.Add(-time.Hour))
	f.srv.Commit("evil/x", "main", "Eve", "more", map[string]string{"a": "2\n"}, now.Add(-time.Minute))
	f.env = register(f.actions.WithTargets(policy(t, map[string]string{target.KeyGitHubRepositories: "acme/analytics"})))
	before := requests(f)
	for action, with := range map[string]map[string]any{
		ghact.RevertCommitName:     {"repo": "evil/x", "sha": evil},
		ghact.MergePullRequestName: {"repo": "evil/x", "number": 1},
		ghact.CommentName:          {"repo": "Evil/X", "number": 1, "body": "x"},
		ghact.CreateIssueName:      {"repo": "evil/x.git", "title": "x"},
		ghact.RecentCommitsName:    {"repo": "evil/x"},
	} {
		_, err := f.run(t, action, with)
		actiontest.NonRetryable(t, err, target.RefusedType, action+": target policy: repository ", " is not in targets.github.repositories")
	}
	if n := requests(f) - before; n != 0 || f.srv.Writes() != 0 {
		t.Fatalf("%d requests, %d writes reached GitHub", n, f.srv.Writes())
	}
	_, err := f.run(t, ghact.RevertCommitName, map[string]any{"repo": "evil/x", "sha": evil})
	actiontest.NonRetryable(t, err, target.RefusedType, `github.revert_commit: target policy: repository "evil/x" is not in targets.github.repositories`)
}

func TestBaseBranchesOutsidePolicyAreRefused(t *testing.T) {
	f := newFixture(t)
	history(f)
	fix := f.srv.Commit(repo, "release", "Dee", "release: hotfix", map[string]string{"models/marts/orders.sql": "select 3\n"}, now.Add(-time.Hour))

	// A pull request into release, opened while release was allowed.
	res := f.mustRun(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": fix, "base": "release"})
	number := res.Output["pr_number"]

	// Without targets.github.base_branches only the default branch is.
	f.env = register(f.actions.WithTargets(policy(t, map[string]string{target.KeyGitHubRepositories: repo})))
	writes := f.srv.Writes()
	_, err := f.run(t, ghact.RevertCommitName, map[string]any{"repo": repo, "sha": fix, "base": "release"})
	actiontest.NonRetryable(t, err, target.RefusedType, `github.revert_commit: target policy: base branch "release" of acme/analytics is not its default branch "main"`, "targets.github.base_branches")
	_, err = f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": number})
	actiontest.NonRetryable(t, err, target.RefusedType, `github.merge_pull_request: target policy: base branch "release" of acme/analytics`)

	f.env = register(f.actions.WithTargets(policy(t, map[string]string{target.KeyGitHubRepositories: repo, target.KeyGitHubBaseBranches: "main"})))
	_, err = f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": number})
	actiontest.NonRetryable(t, err, target.RefusedType, `base branch "release" of acme/analytics is not in targets.github.base_branches`)
	if f.srv.Writes() != writes {
		t.Fatalf("%d writes reached GitHub", f.srv.Writes()-writes)
	}
	if head, _ := f.srv.BranchHead(repo, "release"); head != fix {
		t.Fatal("release moved")
	}
}
