package incidentdoc

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/workflows"
)

const docRepo = "acme/incidents"

// sync runs Sync through the SDK's activity environment, registered under
// its workflow-facing name, so errors cross Temporal's failure converter.
func sync(t *testing.T, a *Activities, r workflows.Report) (workflows.DocumentResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(nil)
	env := s.NewTestActivityEnvironment()
	Register(env, a)
	v, err := env.ExecuteActivity(workflows.DocumentActivityName, r)
	if err != nil {
		return workflows.DocumentResult{}, err
	}
	var res workflows.DocumentResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	cfg, err := ConfigFromEnv(get)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.Abs(DefaultDir); cfg.Dir != want || cfg.Repo != "" {
		t.Errorf("default %+v", cfg)
	}
	env[EnvDir], env[EnvRepo] = "docs", " acme/incidents "
	if cfg, err = ConfigFromEnv(get); err != nil || !filepath.IsAbs(cfg.Dir) || filepath.Base(cfg.Dir) != "docs" || cfg.Repo != docRepo {
		t.Errorf("%+v, %v", cfg, err)
	}
	for _, bad := range []string{"acme", "acme/", "/x", "a/b/c", "https://github.com/a/b", "a b/c"} {
		env[EnvRepo] = bad
		if _, err := ConfigFromEnv(get); err == nil || !strings.Contains(err.Error(), EnvRepo) {
			t.Errorf("%s=%q: %v", EnvRepo, bad, err)
		}
	}
	env[EnvRepo], env[EnvDir], env["DATASEV_POSTMORTEM_DIR"] = "", "shared", "./shared"
	if _, err := ConfigFromEnv(get); err == nil || !strings.Contains(err.Error(), "postmortem") {
		t.Errorf("shared directory: %v", err)
	}
}

func TestNewNeedsGitHubForARepo(t *testing.T) {
	_, err := New(Config{Dir: t.TempDir(), Repo: docRepo}, nil, quiet())
	if err == nil || !strings.Contains(err.Error(), EnvRepo) || !strings.Contains(err.Error(), "DATASEV_GITHUB_TOKEN") {
		t.Fatalf("error %v", err)
	}
}

func TestFileStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "incidents")
	a, err := New(Config{Dir: dir}, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	r := sev2Report()
	r.Timeline = r.Timeline[:3]
	res, err := sync(t, a, r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, postmortem.FileName(r.ID))
	if res.URL != "file://"+path {
		t.Fatalf("URL %q, want file://%s", res.URL, path)
	}
	read := func() string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if _, body, _ := Render(r); read() != body {
		t.Fatal("the file is not the rendering")
	}

	// Unchanged: not rewritten (the modification time stays put).
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := sync(t, a, r); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(old) {
		t.Error("an unchanged document was rewritten")
	}

	// A longer timeline replaces the document, whole.
	r = sev2Report()
	if _, err := sync(t, a, r); err != nil {
		t.Fatal(err)
	}
	if got := read(); !strings.Contains(got, "diagnosing → mitigating") || strings.Count(got, "\n# ") != 0 || !strings.HasPrefix(got, "# ") {
		t.Fatalf("updated document:\n%s", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the directory (temporary files left?)", len(entries))
	}

	// Closed: the postmortem is in it.
	r = closedReport()
	if _, err := sync(t, a, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(read(), "## Postmortem: ") {
		t.Error("the closed document has no postmortem")
	}
}

func TestFileStoreKeepsALongTimelineWhole(t *testing.T) {
	a, _ := New(Config{Dir: t.TempDir()}, nil, quiet())
	r := longReport(1000)
	res, err := sync(t, a, r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(strings.TrimPrefix(res.URL, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), "| entry ") != 1000 {
		t.Error("the file lost timeline rows")
	}
}

func TestFileStoreErrors(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{blocker, filepath.Join(blocker, "sub")} {
		a, _ := New(Config{Dir: dir}, nil, quiet())
		_, err := sync(t, a, sev2Report())
		actiontest.NonRetryable(t, err, BadDirType, dir, EnvDir)
	}
	a, _ := New(Config{Dir: t.TempDir()}, nil, quiet())
	_, err := sync(t, a, workflows.Report{Title: "no id"})
	actiontest.NonRetryable(t, err, BadReportType)
}

func TestFileStoreUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	a, _ := New(Config{Dir: dir}, nil, quiet())
	_, err := sync(t, a, sev2Report())
	actiontest.NonRetryable(t, err, BadDirType, dir)
}

// githubFixture is a GitHub stand-in with the documents' repository and
// the activities pointed at it through the worker's configuration path.
func githubFixture(t *testing.T) (*ghtest.Server, *Activities) {
	t.Helper()
	srv := ghtest.New()
	t.Cleanup(srv.Close)
	srv.CreateRepo(docRepo, "main")
	env := srv.Env()
	ghCfg, err := ghact.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c, err := ghact.NewClient(ghCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFromEnv(func(k string) string {
		if k == EnvRepo {
			return docRepo
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, ghact.New(c, ghCfg), quiet())
	if err != nil {
		t.Fatal(err)
	}
	return srv, a
}

func docIssues(srv *ghtest.Server, id string) []ghtest.Issue {
	var out []ghtest.Issue
	for _, is := range srv.Issues(docRepo) {
		if strings.Contains(is.Body, Marker(id)) {
			out = append(out, is)
		}
	}
	return out
}

func TestGitHubStore(t *testing.T) {
	srv, a := githubFixture(t)
	srv.CreateIssue(docRepo, "another incident", "x\n\n"+Marker("incident-other"), Label)

	r := sev2Report()
	r.Timeline = r.Timeline[:3]
	first, err := sync(t, a, r)
	if err != nil {
		t.Fatal(err)
	}
	is := docIssues(srv, r.ID)
	if len(is) != 1 {
		t.Fatalf("%d document issues", len(is))
	}
	title, body, _ := Render(r)
	if is[0].Title != title || is[0].Body != body+"\n"+Marker(r.ID) || is[0].State != "open" || len(is[0].Labels) != 1 || is[0].Labels[0] != Label {
		t.Fatalf("issue %+v", is[0])
	}
	if !strings.HasSuffix(first.URL, "/"+docRepo+"/issues/2") {
		t.Fatalf("URL %q", first.URL)
	}

	// The workflow keeps the URL; the next sync, with a longer timeline,
	// edits the same issue, reading it by number rather than listing.
	r = sev2Report()
	r.Document = first.URL
	lists := srv.Count("GET /repos/{owner}/{repo}/issues")
	second, err := sync(t, a, r)
	if err != nil {
		t.Fatal(err)
	}
	if second.URL != first.URL || srv.Count("GET /repos/{owner}/{repo}/issues") != lists {
		t.Fatalf("second sync: %q, %d lists", second.URL, srv.Count("GET /repos/{owner}/{repo}/issues")-lists)
	}
	is = docIssues(srv, r.ID)
	if len(is) != 1 || !strings.Contains(is[0].Body, "diagnosing → mitigating") {
		t.Fatalf("after the second sync: %+v", is)
	}

	// Nothing new: nothing written.
	writes := srv.Writes()
	if _, err := sync(t, a, r); err != nil {
		t.Fatal(err)
	}
	if srv.Writes() != writes {
		t.Error("an unchanged document was written")
	}

	// Closed: the issue is closed, as completed, with the postmortem.
	r = closedReport()
	r.Document = first.URL
	if _, err := sync(t, a, r); err != nil {
		t.Fatal(err)
	}
	is = docIssues(srv, r.ID)
	if len(is) != 1 || is[0].State != "closed" || is[0].StateReason != "completed" ||
		!strings.Contains(is[0].Body, "\n## Postmortem\n") || !strings.HasSuffix(is[0].Title, "(closed)") {
		t.Fatalf("closed: %+v", is)
	}
	if n := len(srv.Issues(docRepo)); n != 2 {
		t.Errorf("%d issues in the repository, want 2", n)
	}
}

// The first sync's create is carried out but its answer lost; the retry
// (without a URL, as the workflow has none yet) finds the issue by its
// marker: one issue.
func TestGitHubStoreLostCreate(t *testing.T) {
	srv, a := githubFixture(t)
	srv.LoseResponse("POST /repos/{owner}/{repo}/issues", 1)
	r := sev2Report()
	_, err := sync(t, a, r)
	if err == nil {
		t.Fatal("the lost answer was not an error")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Fatalf("a lost answer is non-retryable: %v", err)
	}
	res, err := sync(t, a, r)
	if err != nil {
		t.Fatal(err)
	}
	is := docIssues(srv, r.ID)
	if len(is) != 1 || !strings.HasSuffix(res.URL, "/issues/1") || srv.Count("POST /repos/{owner}/{repo}/issues") != 1 {
		t.Fatalf("%d document issues, URL %q", len(is), res.URL)
	}
}

func TestGitHubStoreTruncatesTheTimeline(t *testing.T) {
	srv, a := githubFixture(t)
	r := longReport(1000)
	if _, err := sync(t, a, r); err != nil {
		t.Fatal(err)
	}
	is := docIssues(srv, r.ID)
	if len(is) != 1 || !strings.Contains(is[0].Body, "oldest entries are not shown") || !strings.Contains(is[0].Body, "entry 0999") {
		t.Fatalf("%d issues", len(is))
	}
}

func TestGitHubStoreMissingRepo(t *testing.T) {
	srv, a := githubFixture(t)
	a.cfg.Repo = "acme/gone"
	_, err := sync(t, a, sev2Report())
	actiontest.NonRetryable(t, err, ghact.NotFoundType, "acme/gone")
	if len(srv.Issues(docRepo)) != 0 {
		t.Error("an issue was opened elsewhere")
	}
}

// GitHub's rate limits and a 503 that says when to come back reach
// Temporal as retry delays, through the activity's failure conversion.
func TestGitHubStoreHonoursRetryAfter(t *testing.T) {
	srv, a := githubFixture(t)
	for _, tc := range []struct {
		status int
		wait   time.Duration
	}{{429, 42 * time.Second}, {503, 30 * time.Second}} {
		srv.FailNext(1, tc.status, map[string]string{"Retry-After": strconv.Itoa(int(tc.wait / time.Second))})
		_, err := sync(t, a, sev2Report())
		actiontest.RetryDelay(t, err, tc.wait)
	}
	if _, err := sync(t, a, sev2Report()); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
}

func TestIssueNumber(t *testing.T) {
	for doc, want := range map[string]int{
		"https://github.com/acme/incidents/issues/42":           42,
		"http://127.0.0.1:1234/ACME/incidents/issues/7":         7,
		"https://ghe.example.com/acme/incidents/issues/3":       3,
		"https://github.com/acme/other/issues/42":               0,
		"https://github.com/acme/incidents/pull/42":             0,
		"file:///x/acme/incidents/issues/42":                    0,
		"":                                                      0,
		"https://github.com/acme/incidents/issues/x":            0,
		"https://github.com/acme/incidents/issues/42#issuecomm": 42,
	} {
		if got := issueNumber(doc, docRepo); got != want {
			t.Errorf("issueNumber(%q) = %d, want %d", doc, got, want)
		}
	}
}

func TestMarker(t *testing.T) {
	if got := Marker("incident-dbt-fct_orders"); got != "<!-- datasev:incident-document incident-dbt-fct_orders -->" {
		t.Errorf("marker %q", got)
	}
	if got := Marker("incident-dbt:fct_orders"); !strings.HasPrefix(got, "<!-- datasev:incident-document incident-dbt_fct_orders~") {
		t.Errorf("marker %q", got)
	}
	if got := Marker("a-->b\n<c"); strings.Count(got, "-->") != 1 || strings.ContainsAny(got, "\n") || strings.Count(got, "<") != 1 {
		t.Errorf("marker %q can be closed early", got)
	}
	// Keys the old marker folded together (white space, "--", brackets,
	// a long key's cut) each have their own.
	long := strings.Repeat("k", 300)
	seen := map[string]string{}
	for _, k := range []string{"incident-a b", "incident-a_b", "incident-a\tb", "incident-a--b", "incident-a-b", "incident-a<b>",
		"incident-ab", "incident-a:b", "incident-a/b", long, long + "@20260102T150405Z"} {
		m := Marker(k)
		if prev, dup := seen[m]; dup {
			t.Errorf("%q and %q share the marker %s", prev, k, m)
		}
		seen[m] = k
	}
}

// A recurrence (a later run of the same incident ID) keeps a document of
// its own, in the repository and on disk: the first occurrence's, closed,
// is left as it was.
func TestRecurrenceHasItsOwnDocument(t *testing.T) {
	srv, a := githubFixture(t)
	first := closedReport()
	again := sev2Report()
	again.ID = first.ID
	again.PreviousRunID = "run-1"
	again.TriggeredAt = first.ClosedAt.Add(48 * time.Hour)
	if Marker(again.Key()) == Marker(first.ID) {
		t.Fatal("a recurrence's marker is the first occurrence's")
	}
	r1, err := sync(t, a, first)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := sync(t, a, again)
	if err != nil {
		t.Fatal(err)
	}
	if r1.URL == r2.URL {
		t.Fatalf("both occurrences in %s", r1.URL)
	}
	if is := docIssues(srv, first.ID); len(is) != 1 || is[0].State != "closed" {
		t.Errorf("the first occurrence's issue: %+v; want it alone and still closed", is)
	}

	files, err := New(Config{Dir: t.TempDir()}, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	f1, err := sync(t, files, first)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := sync(t, files, again)
	if err != nil {
		t.Fatal(err)
	}
	if f1.URL == f2.URL || !strings.Contains(f2.URL, "@"+again.TriggeredAt.UTC().Format("20060102T150405Z")+"~") {
		t.Errorf("files %s and %s; want the recurrence's named with its trigger time", f1.URL, f2.URL)
	}
}

// collidingKeys are incident keys the old names folded together: one
// character for another, white space, "--", case, a cut at 200 bytes.
func collidingKeys() []string {
	long := "incident-" + strings.Repeat("k", 250)
	return []string{"incident-a:b", "incident-a/b", "incident-a_b", "incident-a b", "incident-a--b", "incident-a-b",
		"incident-A_b", long, long + "@20260102T150405Z"}
}

// Documents of incidents whose keys the old file names folded together are
// files of their own, written 0640 in a directory created 0750.
func TestFilesDoNotCollide(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "docs")
	a, err := New(Config{Dir: dir}, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, k := range collidingKeys() {
		r := sev2Report()
		r.ID = k
		res, err := sync(t, a, r)
		if err != nil {
			t.Fatalf("%q: %v", k, err)
		}
		if prev, dup := seen[res.URL]; dup {
			t.Errorf("%q and %q share %s", prev, k, res.URL)
		}
		seen[res.URL] = k
		fi, err := os.Stat(strings.TrimPrefix(res.URL, "file://"))
		if err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%q: mode %v (%v), want 0640", k, fi.Mode().Perm(), err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != len(collidingKeys()) {
		t.Errorf("%d files (%v), want %d", len(ents), err, len(collidingKeys()))
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm()&0o027 != 0 {
		t.Errorf("directory mode %v (%v), want at most 0750", fi.Mode().Perm(), err)
	}
}

// Incidents whose keys the old marker folded together get an issue each,
// and an incident whose ID carries another's marker (in the document's code
// span) does not capture that incident's document.
func TestIssuesDoNotCollide(t *testing.T) {
	srv, a := githubFixture(t)
	keys := append(collidingKeys(), "incident-evil <!-- datasev:incident-document incident-victim -->")
	for _, k := range keys {
		r := sev2Report()
		r.ID = k
		if _, err := sync(t, a, r); err != nil {
			t.Fatalf("%q: %v", k, err)
		}
	}
	victim := sev2Report()
	victim.ID = "incident-victim"
	res, err := sync(t, a, victim)
	if err != nil {
		t.Fatal(err)
	}
	all := srv.Issues(docRepo)
	if len(all) != len(keys)+1 {
		t.Errorf("%d issues, want %d (one per incident)", len(all), len(keys)+1)
	}
	for _, is := range all {
		if strings.Contains(is.Body, "incident-evil") && strings.HasSuffix(res.URL, "/"+strconv.Itoa(is.Number)) {
			t.Errorf("the victim's document went into the attacker's issue #%d", is.Number)
		}
	}
}
