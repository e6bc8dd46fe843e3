package ghact_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/runbooks"
)

// BenchmarkRecentCommits ranks 40 matching commits (of 200) on three paths
// through go-github and the stand-in over loopback HTTP.
func BenchmarkRecentCommits(b *testing.B) {
	f := newFixture(b)
	for i := range 200 {
		p := fmt.Sprintf("models/other/m%d.sql", i%7)
		if i%5 == 0 {
			p = fmt.Sprintf("models/marts/m%d.sql", i%3)
		}
		f.commit("Bo", fmt.Sprintf("change %d", i), time.Duration(200-i)*10*time.Minute, map[string]string{p: strings.Repeat("x\n", i%13+1)})
	}
	in := ghact.RecentCommitsInput{Repo: repo, Branch: "main", Paths: []string{"models/marts/m0.sql", "models/marts/m1.sql", "models/marts"},
		Since: runbooks.Duration(72 * time.Hour), Limit: 10}
	ctx := b.Context()
	b.ResetTimer()
	for b.Loop() {
		res, err := f.actions.RecentCommits(ctx, runbooks.ActionRequest{Incident: "i"}, in)
		if err != nil || res.Output["count"] != 10 {
			b.Fatal(err, res.Output["count"])
		}
	}
}

// BenchmarkRevertCommit opens one revert pull request per iteration (a new
// incident each time, so none is found already open).
func BenchmarkRevertCommit(b *testing.B) {
	f := newFixture(b)
	f.commit("Ann", "init", 10*time.Hour, map[string]string{"models/marts/orders.sql": ordersV1, "README.md": "r\n"})
	bad := f.commit("Bo", "orders: cents", 5*time.Hour, map[string]string{"models/marts/orders.sql": ordersV2})
	f.commit("Cy", "docs", 2*time.Hour, map[string]string{"README.md": "r2\n"})
	ctx := b.Context()
	i := 0
	b.ResetTimer()
	for b.Loop() {
		i++
		res, err := f.actions.RevertCommit(ctx, runbooks.ActionRequest{Incident: fmt.Sprintf("inc-%d", i), Step: "revert"},
			ghact.RevertCommitInput{Repo: repo, SHA: bad})
		if err != nil || res.Output["ok"] != true {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevertDryRun plans a revert without writing.
func BenchmarkRevertDryRun(b *testing.B) {
	f := newFixture(b)
	f.commit("Ann", "init", 10*time.Hour, map[string]string{"models/marts/orders.sql": ordersV1})
	bad := f.commit("Bo", "orders: cents", 5*time.Hour, map[string]string{"models/marts/orders.sql": ordersV2})
	ctx := b.Context()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.actions.RevertCommit(ctx, runbooks.ActionRequest{Incident: "inc", DryRun: true},
			ghact.RevertCommitInput{Repo: repo, SHA: bad}); err != nil {
			b.Fatal(err)
		}
	}
}
