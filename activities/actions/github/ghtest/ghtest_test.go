package ghtest_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v57/github"

	"github.com/datasev/datasev/activities/actions/github/ghtest"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func client(t *testing.T, s *ghtest.Server) *github.Client {
	t.Helper()
	c, err := github.NewClient(nil).WithAuthToken(s.Token).WithEnterpriseURLs(s.URL, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func seeded(t *testing.T) *ghtest.Server {
	t.Helper()
	s := ghtest.New()
	t.Cleanup(s.Close)
	s.CreateRepo("acme/dbt", "main")
	s.Commit("acme/dbt", "main", "Ann", "init", map[string]string{"models/a.sql": "select 1\n", "README.md": "hi\n"}, t0)
	return s
}

func TestBlobSHAIsGits(t *testing.T) {
	s := seeded(t)
	c := client(t, s)
	fc, _, _, err := c.Repositories.GetContents(t.Context(), "acme", "dbt", "README.md", nil)
	if err != nil {
		t.Fatal(err)
	}
	// git hash-object of "hi\n".
	if fc.GetSHA() != "45b983be36b73c0788dc9cbcb76cbb80fc7bb057" {
		t.Fatalf("blob sha %s", fc.GetSHA())
	}
	got, err := fc.GetContent()
	if err != nil || got != "hi\n" {
		t.Fatalf("content %q %v", got, err)
	}
	rc, _, err := c.Repositories.DownloadContents(t.Context(), "acme", "dbt", "models/a.sql", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "select 1\n" {
		t.Fatalf("download %q", b)
	}
	_, dir, _, err := c.Repositories.GetContents(t.Context(), "acme", "dbt", "", nil)
	if err != nil || len(dir) != 2 || dir[0].GetType() != "file" || dir[1].GetType() != "dir" || dir[1].GetName() != "models" {
		t.Fatalf("root listing %v %v", dir, err)
	}
}

func TestRawMediaType(t *testing.T) {
	s := seeded(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"repos/acme/dbt/contents/models/a.sql?ref=main", nil)
	req.Header.Set("Authorization", "token "+s.Token)
	req.Header.Set("Accept", "application/vnd.github.raw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "select 1\n" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
}

func TestErrorsAndAuth(t *testing.T) {
	s := seeded(t)
	c := client(t, s)
	_, _, err := c.Repositories.Get(t.Context(), "acme", "nope")
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 404 || er.Message != "Not Found" {
		t.Fatalf("unknown repo: %v", err)
	}
	bad, _ := github.NewClient(nil).WithAuthToken("wrong").WithEnterpriseURLs(s.URL, s.URL)
	_, _, err = bad.Repositories.Get(t.Context(), "acme", "dbt")
	if !errors.As(err, &er) || er.Response.StatusCode != 401 || er.Message != "Bad credentials" {
		t.Fatalf("bad token: %v", err)
	}
	_, _, err = c.PullRequests.Create(t.Context(), "acme", "dbt", &github.NewPullRequest{Title: github.String("x"), Head: github.String("main"), Base: github.String("main")})
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || len(er.Errors) != 1 {
		t.Fatalf("422: %v", err)
	}
}

func TestPaginationLinks(t *testing.T) {
	s := seeded(t)
	for i := range 7 {
		s.Commit("acme/dbt", "main", "Bo", "change", map[string]string{"models/a.sql": strings.Repeat("x\n", i+2)}, t0.Add(time.Duration(i+1)*time.Hour))
	}
	c := client(t, s)
	opts := &github.CommitsListOptions{Path: "models/a.sql", ListOptions: github.ListOptions{PerPage: 3}}
	var all []*github.RepositoryCommit
	pages := 0
	for {
		cs, resp, err := c.Repositories.ListCommits(t.Context(), "acme", "dbt", opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, cs...)
		if pages == 1 && (resp.LastPage != 3 || resp.NextPage != 2) {
			t.Fatalf("links: next %d last %d", resp.NextPage, resp.LastPage)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 3 || len(all) != 8 || all[0].GetCommit().GetMessage() != "change" || all[7].GetCommit().GetMessage() != "init" {
		t.Fatalf("pages %d commits %d", pages, len(all))
	}
	if s.Count("GET /repos/{owner}/{repo}/commits") != 3 {
		t.Fatalf("count %v", s.Counts())
	}
	rc, _, err := c.Repositories.GetCommit(t.Context(), "acme", "dbt", all[0].GetSHA(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Files) != 1 || rc.Files[0].GetStatus() != "modified" || rc.Files[0].GetAdditions() != 1 ||
		!strings.Contains(rc.Files[0].GetPatch(), "@@ -5,3 +5,4 @@\n x\n x\n x\n+x") {
		t.Fatalf("files %+v", rc.Files)
	}
}

func TestMergesAndPulls(t *testing.T) {
	s := seeded(t)
	c := client(t, s)
	ctx := t.Context()
	s.Commit("acme/dbt", "feature", "Cy", "feature", map[string]string{"models/b.sql": "select 2\n"}, t0.Add(time.Hour))
	s.Commit("acme/dbt", "main", "Ann", "main moves", map[string]string{"README.md": "hello\n"}, t0.Add(2*time.Hour))
	pr, _, err := c.PullRequests.Create(ctx, "acme", "dbt", &github.NewPullRequest{Title: github.String("Add b"), Head: github.String("acme:feature"), Base: github.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := c.PullRequests.Get(ctx, "acme", "dbt", pr.GetNumber())
	if err != nil || !got.GetMergeable() || got.GetMergeableState() != "clean" {
		t.Fatalf("pr %v %v", got, err)
	}
	if _, _, err := c.PullRequests.Merge(ctx, "acme", "dbt", pr.GetNumber(), "", &github.PullRequestOptions{SHA: strings.Repeat("0", 40)}); !isStatus(err, 409) {
		t.Fatalf("stale sha: %v", err)
	}
	res, _, err := c.PullRequests.Merge(ctx, "acme", "dbt", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: "squash"})
	if err != nil || !res.GetMerged() {
		t.Fatal(err)
	}
	if v, ok := s.File("acme/dbt", "main", "models/b.sql"); !ok || v != "select 2\n" {
		t.Fatal("squash did not land")
	}
	if v, _ := s.File("acme/dbt", "main", "README.md"); v != "hello\n" {
		t.Fatal("squash lost main's change")
	}
	if _, _, err := c.PullRequests.Merge(ctx, "acme", "dbt", pr.GetNumber(), "", nil); !isStatus(err, 405) {
		t.Fatalf("merged twice: %v", err)
	}
	// Conflicting merge through the merges API.
	s.Commit("acme/dbt", "x", "Di", "x", map[string]string{"README.md": "x\n"}, t0.Add(3*time.Hour))
	s.Commit("acme/dbt", "main", "Ann", "y", map[string]string{"README.md": "y\n"}, t0.Add(4*time.Hour))
	_, _, err = c.Repositories.Merge(ctx, "acme", "dbt", &github.RepositoryMergeRequest{Base: github.String("main"), Head: github.String("x")})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 409 || er.Message != "Merge conflict" {
		t.Fatalf("conflict: %v", err)
	}
	_, resp, err := c.Repositories.Merge(ctx, "acme", "dbt", &github.RepositoryMergeRequest{Base: github.String("main"), Head: github.String("main")})
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("nothing to merge: %v", err)
	}
	s.Protect("acme/dbt", "main", ghtest.Protection{LockBranch: true})
	p, _, err := c.Repositories.GetBranchProtection(ctx, "acme", "dbt", "main")
	if err != nil || !p.GetLockBranch().GetEnabled() {
		t.Fatalf("protection %v %v", p, err)
	}
	if _, _, err := c.Repositories.GetBranchProtection(ctx, "acme", "dbt", "x"); !errors.Is(err, github.ErrBranchNotProtected) {
		t.Fatalf("unprotected: %v", err)
	}
}

func TestGitDataAPI(t *testing.T) {
	s := seeded(t)
	c := client(t, s)
	ctx := t.Context()
	ref, _, err := c.Git.GetRef(ctx, "acme", "dbt", "heads/main")
	if err != nil {
		t.Fatal(err)
	}
	head, _, err := c.Git.GetCommit(ctx, "acme", "dbt", ref.GetObject().GetSHA())
	if err != nil {
		t.Fatal(err)
	}
	tree, _, err := c.Git.CreateTree(ctx, "acme", "dbt", head.GetTree().GetSHA(), []*github.TreeEntry{
		{Path: github.String("models/a.sql"), Mode: github.String("100644"), Type: github.String("blob")}, // delete
		{Path: github.String("new.txt"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("n\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	cm, _, err := c.Git.CreateCommit(ctx, "acme", "dbt", &github.Commit{Message: github.String("m"), Tree: tree, Parents: []*github.Commit{head}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Git.CreateRef(ctx, "acme", "dbt", &github.Reference{Ref: github.String("refs/heads/datasev/x"), Object: &github.GitObject{SHA: cm.SHA}}); err != nil {
		t.Fatal(err)
	}
	files := s.Files("acme/dbt", "datasev/x")
	if _, ok := files["models/a.sql"]; ok || files["new.txt"] != "n\n" || files["README.md"] != "hi\n" {
		t.Fatalf("files %v", files)
	}
	br, _, err := c.Repositories.GetBranch(ctx, "acme", "dbt", "datasev/x", 0)
	if err != nil || br.GetCommit().GetSHA() != cm.GetSHA() {
		t.Fatalf("branch %v %v", br, err)
	}
	refs, _, err := c.Git.ListMatchingRefs(ctx, "acme", "dbt", &github.ReferenceListOptions{Ref: "heads/datasev/"})
	if err != nil || len(refs) != 1 {
		t.Fatalf("matching %v %v", refs, err)
	}
	if _, err := c.Git.DeleteRef(ctx, "acme", "dbt", "heads/datasev/x"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Git.GetRef(ctx, "acme", "dbt", "heads/datasev/x"); !isStatus(err, 404) {
		t.Fatalf("deleted ref: %v", err)
	}
	full, _, err := c.Git.GetTree(ctx, "acme", "dbt", tree.GetSHA(), true)
	if err != nil || len(full.Entries) != 2 {
		t.Fatalf("tree %v %v", full, err)
	}
}

func TestFaults(t *testing.T) {
	s := seeded(t)
	c := client(t, s)
	reset := time.Now().Add(time.Minute).Unix()
	s.FailNext(1, 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": jsonNum(reset)})
	_, _, err := c.Repositories.Get(t.Context(), "acme", "dbt")
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Reset.Unix() != reset {
		t.Fatalf("rate limit: %v", err)
	}
	c = client(t, s)
	s.FailNext(1, 403, map[string]string{"Retry-After": "30"})
	_, _, err = c.Repositories.Get(t.Context(), "acme", "dbt")
	var ab *github.AbuseRateLimitError
	if !errors.As(err, &ab) || ab.GetRetryAfter() != 30*time.Second {
		t.Fatalf("secondary: %v", err)
	}
	c = client(t, s) // go-github refuses locally until the limit passes
	if _, _, err := c.Repositories.Get(t.Context(), "acme", "dbt"); err != nil {
		t.Fatal(err)
	}
}

func TestAppAuth(t *testing.T) {
	s := seeded(t)
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.AppPrivateKey)})
	tr, err := ghinstallation.New(http.DefaultTransport, s.AppID, s.InstallationID, key)
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(s.URL, "/")
	c, _ := github.NewClient(&http.Client{Transport: tr}).WithEnterpriseURLs(s.URL, s.URL)
	if _, _, err := c.Repositories.Get(t.Context(), "acme", "dbt"); err != nil {
		t.Fatal(err)
	}
	wrong, _ := ghinstallation.New(http.DefaultTransport, s.AppID+1, s.InstallationID, key)
	wrong.BaseURL = tr.BaseURL
	c2, _ := github.NewClient(&http.Client{Transport: wrong}).WithEnterpriseURLs(s.URL, s.URL)
	if _, _, err := c2.Repositories.Get(context.Background(), "acme", "dbt"); err == nil {
		t.Fatal("a JWT of another app was accepted")
	}
}

func isStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == code
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// The merge base is the nearest common ancestor by history, whatever the
// commit dates say.
func TestMergeBaseIgnoresDates(t *testing.T) {
	s := ghtest.New()
	t.Cleanup(s.Close)
	s.CreateRepo("acme/x", "main")
	s.Commit("acme/x", "main", "A", "a", map[string]string{"f": "1\n"}, t0.Add(5*time.Hour))
	s.Commit("acme/x", "main", "B", "b (dated earlier)", map[string]string{"f": "2\n"}, t0)
	s.Commit("acme/x", "topic", "X", "x", map[string]string{"g": "g\n"}, t0.Add(time.Hour))
	s.Commit("acme/x", "main", "C", "c", map[string]string{"f": "3\n"}, t0.Add(6*time.Hour))
	c := client(t, s)
	if _, _, err := c.Repositories.Merge(t.Context(), "acme", "x", &github.RepositoryMergeRequest{Base: github.String("main"), Head: github.String("topic")}); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.File("acme/x", "main", "f"); f != "3\n" {
		t.Errorf("f = %q", f)
	}
	if g, _ := s.File("acme/x", "main", "g"); g != "g\n" {
		t.Errorf("g = %q", g)
	}
}

func TestSeedDbtDemo(t *testing.T) {
	s := ghtest.New()
	t.Cleanup(s.Close)
	bad := s.SeedDbtDemo(time.Now())
	c := client(t, s)
	cs, _, err := c.Repositories.ListCommits(t.Context(), "acme", "analytics", &github.CommitsListOptions{Path: "models/marts/orders.sql"})
	if err != nil || len(cs) != 2 || cs[0].GetSHA() != bad {
		t.Fatalf("orders history %v %v", cs, err)
	}
	if v, _ := s.File(ghtest.DemoRepo, "main", "models/marts/orders.sql"); !strings.Contains(v, "amount * 100") {
		t.Errorf("orders.sql %q", v)
	}
}
