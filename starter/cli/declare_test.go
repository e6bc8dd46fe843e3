package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// TestDeclareRunbooks covers declare's runbook choice before it dials: the
// server address is closed, so a declare that gets as far as dialling
// fails with "cannot reach Temporal".
func TestDeclareRunbooks(t *testing.T) {
	addr := closedPort(t)
	base := map[string]string{
		"TEMPORAL_ADDRESS":     addr,
		EnvRoster:              filepath.Join("..", "..", "runbooks", "roster.yaml"),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	declare := []string{"declare", "--title", "orders load failing", "--key", "orders", "--label", "alertname=SnowflakeLoadFailed"}

	// A valid set gets as far as dialling.
	if code, _, errs := runCLI(t, base, declare...); code != 1 || !strings.Contains(errs, "cannot reach Temporal at "+addr) {
		t.Errorf("valid set: exit %d %s", code, errs)
	}
	// An unknown --runbook is refused with the names there are.
	code, _, errs := runCLI(t, base, append(declare, "--runbook", "nope")...)
	if code != 1 || !strings.Contains(errs, `no runbook "nope"; there are: `) || !strings.Contains(errs, "snowflake-load-failed") {
		t.Errorf("unknown runbook: exit %d %s", code, errs)
	}
	// A missing directory.
	missing := filepath.Join(t.TempDir(), "nowhere")
	if code, _, errs := runCLI(t, base, append(declare, "--runbooks", missing)...); code != 1 || !strings.Contains(errs, "runbook directory") {
		t.Errorf("missing dir: exit %d %s", code, errs)
	}

	// An invalid runbook, from --runbooks or $DATASEV_RUNBOOKS: every
	// problem printed with its position, exit 1, nothing declared.
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", `name: bad
description: A runbook calling an action nobody registered
owner: data-platform
match:
  labels: {alertname: Nothing}
steps:
  - id: x
    check:
      action: nosuch.action
`)
	for name, run := range map[string]func() (int, string, string){
		"flag": func() (int, string, string) { return runCLI(t, base, append(declare, "--runbooks", dir)...) },
		"env":  func() (int, string, string) { return runCLI(t, with(EnvRunbooks, dir), declare...) },
	} {
		code, out, errs := run()
		if code != 1 || !strings.Contains(errs, bad+":9:") || !strings.Contains(errs, "nosuch.action") ||
			!strings.Contains(errs, "the runbooks are invalid") || strings.Contains(errs, "cannot reach Temporal") {
			t.Errorf("%s: exit %d\n%s%s", name, code, out, errs)
		}
	}
	// The flag wins over the environment.
	if code, _, errs := runCLI(t, with(EnvRunbooks, dir), append(declare, "--runbooks", t.TempDir())...); code != 1 || !strings.Contains(errs, "cannot reach Temporal") {
		t.Errorf("flag over env: exit %d %s", code, errs)
	}
}

func TestChooseRunbook(t *testing.T) {
	set, err := runbooks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	alert := workflows.Alert{Source: "alertmanager", Title: "t", DedupeKey: "k", Labels: map[string]string{"alertname": "SnowflakeLoadFailed"}}
	if err := alert.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := ChooseRunbook(set, "", alert)
	if err != nil || c.Runbook == nil || c.Runbook.Name != "snowflake-load-failed" {
		t.Fatalf("matched: %+v %v", c, err)
	}
	if got := c.String(); got != "runbook snowflake-load-failed (matched the alert: alertname=SnowflakeLoadFailed)" {
		t.Errorf("matched: %q", got)
	}
	c, err = ChooseRunbook(set, "s3-partition-missing", alert)
	if err != nil || c.String() != "runbook s3-partition-missing (named with --runbook)" {
		t.Errorf("named: %q %v", c, err)
	}
	alert.Labels = map[string]string{"alertname": "SomethingElse"}
	c, err = ChooseRunbook(set, "", alert)
	if err != nil || c.Runbook != nil || !strings.HasPrefix(c.String(), "no runbook matched") {
		t.Errorf("none: %q %v", c, err)
	}
}

func TestPrintDeclared(t *testing.T) {
	set, err := runbooks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := set.Get("snowflake-load-failed")
	choice := RunbookChoice{Runbook: rb, Why: "named with --runbook"}
	for _, tc := range []struct {
		d          incidents.Declared
		want, miss string
	}{
		{incidents.Declared{WorkflowID: "incident-k", RunID: "r1", Commander: "alice"}, "declared incident incident-k (run r1); Commander alice\nrunbook snowflake-load-failed (named with --runbook)\n", ""},
		{incidents.Declared{WorkflowID: "incident-k", RunID: "r1", Joined: true}, "joined open incident incident-k (run r1)\nit keeps the runbook it was declared with", "snowflake-load-failed"},
		{incidents.Declared{WorkflowID: "incident-k", Ignored: true}, "no open incident incident-k", "runbook"},
	} {
		var b bytes.Buffer
		printDeclared(&b, tc.d, choice)
		if !strings.Contains(b.String(), tc.want) || (tc.miss != "" && strings.Contains(b.String(), tc.miss)) {
			t.Errorf("%+v:\n%s", tc.d, b.String())
		}
	}
}
