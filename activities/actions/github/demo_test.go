package ghact_test

import (
	"strings"
	"testing"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
)

// The dbt-model-regression runbook's GitHub steps against the demo repo:
// recent commits under models/, revert the top one, merge the revert.
func TestDbtRegressionFlowOnDemoRepo(t *testing.T) {
	srv := ghtest.New()
	t.Cleanup(srv.Close)
	bad := srv.SeedDbtDemo(now)
	f := fixtureFor(t, srv, srv.Env(), 0)

	rc := f.mustRun(t, ghact.RecentCommitsName, map[string]any{
		"repo": ghtest.DemoRepo, "branch": "", "paths": []any{"models/"}, "since": "72h", "limit": 5})
	want(t, rc.Output, "top_sha", bad)
	want(t, rc.Output, "count", 2)

	rv := f.mustRun(t, ghact.RevertCommitName, map[string]any{
		"repo": ghtest.DemoRepo, "sha": rc.Output["top_sha"], "base": rc.Output["branch"]})
	mg := f.mustRun(t, ghact.MergePullRequestName, map[string]any{
		"repo": ghtest.DemoRepo, "number": rv.Output["pr_number"], "sha": rv.Output["revert_sha"]})
	want(t, mg.Output, "merged", true)
	files := srv.Files(ghtest.DemoRepo, "main")
	if strings.Contains(files["models/marts/orders.sql"], "* 100") || files["macros/cents_to_dollars.sql"] == "" {
		t.Errorf("main after the merge: %v", files)
	}
}
