package ghact_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/support/actiontest"
)

func TestRecentCommitsRanksExactRecentLarge(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", 100*time.Hour, map[string]string{"models/marts/orders.sql": "a\n", "models/marts/other.sql": "o\n"})
	// In the window: a small, older exact match; a recent directory-only
	// match; a large, recent exact match; an unrelated commit.
	f.commit("Bo", "orders: tweak", 60*time.Hour, map[string]string{"models/marts/orders.sql": "b\n"})
	f.commit("Cy", "other: rename", 2*time.Hour, map[string]string{"models/marts/other.sql": "o2\n"})
	big := f.commit("Di", "orders: rewrite\n\nlong story", 3*time.Hour, map[string]string{"models/marts/orders.sql": strings.Repeat("line\n", 50)})
	f.commit("Ed", "docs", time.Hour, map[string]string{"README.md": "r\n"})

	res := f.mustRun(t, ghact.RecentCommitsName, map[string]any{
		"repo": repo, "paths": []any{"models/marts/orders.sql", "models/marts"}, "since": "72h"})
	want(t, res.Output, "ok", true)
	want(t, res.Output, "count", 3)
	want(t, res.Output, "top_sha", big)
	want(t, res.Output, "top_message", "orders: rewrite")
	want(t, res.Output, "top_author", "Di")
	want(t, res.Output, "branch", "main")
	list := res.Output["commits"].([]any)
	var order []string
	for _, c := range list {
		order = append(order, c.(map[string]any)["message"].(string))
	}
	if strings.Join(order, " | ") != "orders: rewrite | orders: tweak | other: rename" {
		t.Errorf("ranking %v", order)
	}
	top := list[0].(map[string]any)
	if top["short_sha"] != big[:7] || top["additions"].(float64) != 50 || top["deletions"].(float64) != 1 ||
		top["date"] != now.Add(-3*time.Hour).Format(time.RFC3339) || !strings.Contains(top["url"].(string), big) {
		t.Errorf("top commit %v", top)
	}
	// 4 (exact) + 2*(1-3/72) + log10(52)/3
	if s := top["score"].(float64); s != 6.49 {
		t.Errorf("top score %v", s)
	}
	if !strings.Contains(res.Detail, "| 1 | [`"+big[:7]+"`]") {
		t.Errorf("detail table:\n%s", res.Detail)
	}
}

func TestRecentCommitsPaginates(t *testing.T) {
	f := newFixture(t)
	f = fixtureFor(t, f.srv, f.srv.Env(), 4)
	for i := range 11 {
		f.commit("Bo", fmt.Sprintf("change %d", i), time.Duration(30-i)*time.Hour, map[string]string{
			"models/x.sql": strings.Repeat("x\n", i+1)})
	}
	res := f.mustRun(t, ghact.RecentCommitsName, map[string]any{"repo": repo, "branch": "main", "paths": []any{"models"}, "limit": 20})
	want(t, res.Output, "count", 11)
	want(t, res.Output, "candidates", 11)
	if n := f.srv.Count("GET /repos/{owner}/{repo}/commits"); n != 3 {
		t.Errorf("%d list requests, want 3 pages of 4", n)
	}
	if n := f.srv.Count("GET /repos/{owner}/{repo}/commits/{sha}"); n != 11 {
		t.Errorf("%d commit requests, want 11", n)
	}
	if n := f.srv.Count("GET /repos/{owner}/{repo}"); n != 0 {
		t.Errorf("branch given, yet the repository was read %d times", n)
	}
	want(t, res.Output, "top_message", "change 10")
}

func TestRecentCommitsNoneInWindow(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "old", 100*time.Hour, map[string]string{"models/x.sql": "x\n"})
	res := f.mustRun(t, ghact.RecentCommitsName, map[string]any{"repo": repo, "paths": []any{"models/x.sql"}, "since": "24h"})
	want(t, res.Output, "ok", false)
	want(t, res.Output, "count", 0)
	want(t, res.Output, "top_sha", "")
	if !strings.Contains(res.Summary, "no commits touching models/x.sql") {
		t.Errorf("summary %q", res.Summary)
	}
}

func TestRecentCommitsInputs(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", time.Hour, map[string]string{"a": "a\n"})
	_, err := f.run(t, ghact.RecentCommitsName, map[string]any{"repo": repo, "limit": 500})
	actiontest.NonRetryable(t, err, ghact.BadRequestType, "limit 500")
	_, err = f.run(t, ghact.RecentCommitsName, map[string]any{"repo": "analytics"})
	actiontest.NonRetryable(t, err, ghact.BadRequestType, "owner/name")
	_, err = f.run(t, ghact.RecentCommitsName, map[string]any{"repo": repo, "branch": "nope"})
	actiontest.NonRetryable(t, err, ghact.NotFoundType, "list commits of acme/analytics on nope")
}
