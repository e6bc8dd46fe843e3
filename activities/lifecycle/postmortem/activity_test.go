package postmortem

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/workflows"
)

// run executes WritePostmortem through the SDK's activity environment,
// registered under its workflow-facing name.
func run(t *testing.T, a *Activities, r workflows.Report) (string, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	Register(env, a)
	v, err := env.ExecuteActivity(workflows.PostmortemActivityName, r)
	if err != nil {
		return "", err
	}
	var path string
	if err := v.Get(&path); err != nil {
		t.Fatal(err)
	}
	return path, nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestWritePostmortem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "postmortems")
	a := New(Config{Dir: dir}, quiet())
	r := fullReport()
	path, err := run(t, a, r)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, FileName(r.ID)); path != want || !strings.HasPrefix(filepath.Base(path), "incident-dbt_fct_orders~") {
		t.Errorf("path %q, want %q", path, want)
	}
	// Written 0640 in directories created 0750: the postmortem holds the
	// incident's whole record, for its owner and group only.
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("postmortem mode %v (%v), want 0640", fi.Mode().Perm(), err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o027 != 0 {
			t.Errorf("directory %s mode %v (%v), want at most 0750", d, fi.Mode().Perm(), err)
		}
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != Render(r) {
		t.Error("the file is not the rendered report")
	}

	// A retry (the same report through a JSON round trip, as Temporal
	// delivers it) writes the same bytes, and leaves no temporary files.
	again, err := run(t, a, r)
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if again != path || string(second) != string(first) {
		t.Errorf("second call wrote %q (%d bytes), first %q (%d bytes)", again, len(second), path, len(first))
	}
	// A changed report replaces the file.
	r.Closure.RootCause = "something else"
	if _, err := run(t, a, r); err != nil {
		t.Fatal(err)
	}
	third, _ := os.ReadFile(path)
	if !strings.Contains(string(third), "something else") {
		t.Error("a changed report did not replace the file")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v, want only the postmortem", names)
	}
}

func TestWritePostmortemBadDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		_, err := run(t, New(Config{Dir: dir}, quiet()), minimalReport())
		if err == nil {
			t.Fatalf("dir %q: no error", dir)
		}
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) {
			t.Fatalf("dir %q: %T %v, want an application error", dir, err, err)
		}
		if !ae.NonRetryable() || ae.Type() != BadDirType {
			t.Errorf("dir %q: non-retryable %v type %q, want non-retryable %q", dir, ae.NonRetryable(), ae.Type(), BadDirType)
		}
		if !strings.Contains(err.Error(), dir) {
			t.Errorf("error does not name the dir %q: %v", dir, err)
		}
	}
}

func TestWritePostmortemNoID(t *testing.T) {
	r := minimalReport()
	r.ID = " "
	_, err := run(t, New(Config{Dir: t.TempDir()}, quiet()), r)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != BadReportType {
		t.Fatalf("got %v, want a non-retryable %s", err, BadReportType)
	}
}

func TestFileName(t *testing.T) {
	for id, want := range map[string]string{
		"incident-orders":             "incident-orders.md",
		"incident-a_b.c@d":            "incident-a_b.c@d.md",
		"incident-a/b:c d":            "incident-a_b_c_d~",
		"../../etc/passwd":            "_.._etc_passwd~",
		"":                            "incident~",
		"incident-ümlaut":             "incident-_mlaut~",
		"incident-Orders":             "incident-Orders~",
		"incident-a--b":               "incident-a-b~",
		"incident-x@20260102T150405Z": "incident-x@20260102T150405Z~",
		strings.Repeat("x", 300):      strings.Repeat("x", maxNameLen-1-nameHashLen) + "~",
	} {
		got := FileName(id)
		if strings.HasSuffix(want, ".md") && got != want || !strings.HasSuffix(want, ".md") &&
			(!strings.HasPrefix(got, want) || len(got) != len(want)+nameHashLen+len(".md")) {
			t.Errorf("FileName(%q) = %q, want %q", id, got, want)
		}
		if strings.ContainsAny(got, "/\\:<> \t\n") || strings.Contains(got, "--") || len(got) > maxNameLen+len(".md") {
			t.Errorf("FileName(%q) = %q: not a safe name", id, got)
		}
	}
}

// Keys that the old names folded together (a character replaced by '_',
// case, a cut at 200 bytes) each get a file and a marker of their own.
func TestFileNameIsInjective(t *testing.T) {
	long := "incident-" + strings.Repeat("k", 250)
	keys := []string{
		"incident-a:b", "incident-a/b", "incident-a_b", "incident-a b", "incident-a\\b", "incident-a__b", "incident-a-b",
		"incident-a--b", "incident-A_b", "incident-a_B", "incident-a_b~0123456789abcdef", ".incident-a_b", "_incident-a_b",
		long, long + "@20260102T150405Z", long + "x", long[:maxNameLen], long[:maxNameLen+1], "", "incident", "incident~",
	}
	seen := map[string]string{}
	for _, k := range keys {
		n := strings.ToLower(FileName(k)) // case-insensitive file systems too
		if prev, dup := seen[n]; dup {
			t.Errorf("%q and %q share %s", prev, k, n)
		}
		seen[n] = k
	}
}

func TestConfigFromEnv(t *testing.T) {
	cfg, err := ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, DefaultDir); cfg.Dir != want {
		t.Errorf("default dir %q, want %q", cfg.Dir, want)
	}
	cfg, err = ConfigFromEnv(func(k string) string {
		if k == EnvDir {
			return " /srv/pm "
		}
		return ""
	})
	if err != nil || cfg.Dir != "/srv/pm" {
		t.Errorf("got %q, %v; want /srv/pm", cfg.Dir, err)
	}
}

// A recurrence's postmortem is written beside the first occurrence's, not
// over it.
func TestWritePostmortemRecurrence(t *testing.T) {
	dir := t.TempDir()
	a := New(Config{Dir: dir}, quiet())
	first := fullReport()
	again := fullReport()
	again.PreviousRunID = "run-1"
	again.TriggeredAt = again.TriggeredAt.Add(72 * time.Hour)
	again.Title = "fct_orders revenue off again"
	p1, err := run(t, a, first)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := run(t, a, again)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, FileName("incident-dbt:fct_orders@20260305T224105Z")); p2 != want || p1 == p2 ||
		!strings.Contains(p2, "incident-dbt_fct_orders@20260305T224105Z~") {
		t.Fatalf("paths %q and %q; want the recurrence at %q", p1, p2, want)
	}
	b1, err := os.ReadFile(p1)
	if err != nil {
		t.Fatal(err)
	}
	if string(b1) != Render(first) {
		t.Error("the recurrence overwrote the first occurrence's postmortem")
	}
}
