package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows/oncall"
)

// runCLI runs the command line with env vars envs.
func runCLI(t *testing.T, envs map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, func(k string) string { return envs[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunbooksValidateLibrary validates the embedded library against the
// real action registry: what the worker will load.
func TestRunbooksValidateLibrary(t *testing.T) {
	code, out, errs := runCLI(t, nil, "runbooks", "validate")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, name := range []string{"snowflake-load-failed", "dbt-model-regression", "s3-partition-missing"} {
		if !strings.Contains(out, name) {
			t.Errorf("validate output misses %s:\n%s", name, out)
		}
	}
	// The dev demo's runbook is not in the library: only dev loads it.
	if strings.Contains(out, "demo-orders-load") {
		t.Errorf("validate lists the demo's runbook:\n%s", out)
	}
	// The repository's library directory, given as DIR, overrides the
	// embedded copies (they are the same files here).
	code, out, errs = runCLI(t, nil, "runbooks", "validate", filepath.Join("..", "..", "runbooks", "library"))
	if code != 0 || !strings.Contains(out, "note: ") || !strings.Contains(out, "overrides embedded:snowflake-load-failed.yaml") {
		t.Fatalf("validate DIR: exit %d\n%s%s", code, out, errs)
	}
}

func TestRunbooksValidateProblems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad.yaml", `name: bad
description: A broken runbook
owner: data-platform
match:
  labels: {alertname: SnowflakeLoadFailed}
steps:
  - id: check
    when: alert.lables.x == "y"
    check:
      action: core.http
      with: {url: 5}
`)
	writeFile(t, dir, "broken.yaml", "name: [\n")
	code, out, errs := runCLI(t, nil, "runbooks", "validate", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.yaml")
	for _, want := range []string{
		bad + `:8:17: when: alert has no field "lables"`,
		bad + ":11:19: step check: input url: want string, got int 5",
		// Same labels as an embedded runbook: ambiguous.
		bad + `:5:3: match overlaps runbook "snowflake-load-failed" (embedded:snowflake-load-failed.yaml:`,
		`embedded:snowflake-load-failed.yaml:19:3: match overlaps runbook "bad" (` + bad + ":5:3)",
		filepath.Join(dir, "broken.yaml") + ":1:7: sequence end token",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output misses %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "5 problem(s) in the runbooks") {
		t.Errorf("stderr: %s", errs)
	}
	// $DATASEV_RUNBOOKS is the default directory.
	if code, _, _ := runCLI(t, map[string]string{EnvRunbooks: dir}, "runbooks", "validate"); code != 1 {
		t.Errorf("validate with %s: exit %d, want 1", EnvRunbooks, code)
	}
}

// TestRunbooksValidateRepositoryDir validates the repository's runbooks/
// directory, as someone trying the command would: the sample roster that
// lives there is checked as a roster, not reported as a broken runbook, and
// the output says the directory itself holds no runbook.
func TestRunbooksValidateRepositoryDir(t *testing.T) {
	dir := filepath.Join("..", "..", "runbooks")
	roster, err := oncall.Load(filepath.Join(dir, "roster.yaml"))
	if err != nil {
		t.Fatalf("the sample roster: %v", err)
	}
	code, out, errs := runCLI(t, nil, "runbooks", "validate", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		fmt.Sprintf("%s: roster OK: %d people, %d shifts", filepath.Join(dir, "roster.yaml"), len(roster.People), len(roster.Shifts)),
		"note: " + dir + " holds no runbook file (*.yaml or *.yml at its top level): only the embedded library's runbooks were checked",
		"ok: 4 runbook(s) valid",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output misses %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "unknown field") {
		t.Errorf("the roster is read as a runbook:\n%s", out)
	}
}

// TestRunbooksValidateOtherYAML: in an operator's directory, YAML that is
// not a runbook is skipped with a note, a broken roster fails validate
// with the roster's errors, and a YAML mistake in a runbook is reported on
// the line to edit.
func TestRunbooksValidateOtherYAML(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "deploy.yaml", "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n")
	code, out, errs := runCLI(t, nil, "runbooks", "validate", dir)
	if code != 0 || !strings.Contains(out, "note: "+filepath.Join(dir, "deploy.yaml")+" is not a runbook (its top-level keys are apiVersion, kind; a runbook's are name, description, owner, match and steps): skipped") {
		t.Errorf("other YAML: exit %d\n%s%s", code, out, errs)
	}

	writeFile(t, dir, "roster.yaml", "team: data\ntimezone: Mars/Olympus\npeople: [{id: ana}]\nshifts: [{name: all, start: \"00:00\", end: \"00:00\", commander: bob}]\n")
	code, out, errs = runCLI(t, nil, "runbooks", "validate", dir)
	roster := filepath.Join(dir, "roster.yaml")
	if code != 1 || !strings.Contains(out, roster+": not a runbook but an on-call roster, and the roster is invalid:\n  ") ||
		!strings.Contains(out, "Mars/Olympus") || !strings.Contains(out, "bob") || !strings.Contains(errs, "roster "+roster+" is invalid") {
		t.Errorf("invalid roster: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "ok: 4 runbook(s) valid") {
		t.Errorf("the runbooks are valid, and the output should say so:\n%s", out)
	}

	// Line 8's key is indented more than line 7's: the parser reported
	// the value on line 7 (7:13).
	writeFile(t, dir, "roster.yaml", "team: data\ntimezone: UTC\npeople: [{id: ana}]\nshifts: [{name: all, start: \"00:00\", end: \"00:00\", commander: ana}]\n")
	writeFile(t, dir, "indented.yaml", `name: indented
description: A key indented too far
owner: data-platform
match:
  labels: {alertname: Indented}
  sources: [cli]
  priority: 10
    service: orders
steps:
  - id: wait
    check: {action: core.wait, with: {duration: 1m}}
`)
	code, out, errs = runCLI(t, nil, "runbooks", "validate", dir)
	want := filepath.Join(dir, "indented.yaml") + `:8:5: mapping value is not allowed in this context: "service" is indented more than the key above it, so YAML reads it as more of the value "10" on line 7`
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, roster+": roster OK: 1 people, 1 shifts") || !strings.Contains(errs, "1 problem(s) in the runbooks") {
		t.Errorf("over-indented key: exit %d, want 1 and %q\n%s%s", code, want, out, errs)
	}
}

func TestRunbooksListShow(t *testing.T) {
	code, out, errs := runCLI(t, nil, "runbooks", "list")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "alertname=SnowflakeLoadFailed") || !strings.Contains(out, "embedded:s3-partition-missing.yaml") {
		t.Fatalf("list: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "runbooks", "show", "snowflake-load-failed")
	if code != 0 {
		t.Fatalf("show: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"match: alertname=SnowflakeLoadFailed (priority 0)", "1. diagnose: parallel", "1. copy_history: check snowflake.copy_history", "until: output.ok (every 5m0s, deadline 4h0m0s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("show misses %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, nil, "runbooks", "show", "snowflake-load-failed", "--json")
	var rb runbooks.Runbook
	if code != 0 || json.Unmarshal([]byte(out), &rb) != nil || rb.Name != "snowflake-load-failed" || rb.Steps[0].Pos.Line == 0 {
		t.Errorf("show --json: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, nil, "runbooks", "show", "nope"); code != 1 || !strings.Contains(errs, `no runbook "nope"; there are: dbt-cloud-job-failed, dbt-model-regression`) {
		t.Errorf("show nope: exit %d %s", code, errs)
	}
}

func TestRunbooksTest(t *testing.T) {
	// The dev demo's runbook, as an operator's directory would add it: it
	// is not in the library.
	demo := map[string]string{EnvRunbooks: filepath.Join("..", "dev", "devstack", "runbooks")}
	dir := t.TempDir()
	alert := writeFile(t, dir, "alert.json", `{"source": "alertmanager", "title": "Orders load failed", "dedupe_key": "orders",
		"labels": {"alertname": "OrdersLoadFailed", "dag": "load_orders", "health_url": "http://127.0.0.1:1/health"}}`)
	code, out, errs := runCLI(t, demo, "runbooks", "test", "demo-orders-load", "--alert", alert)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"Nothing is called and nothing changes",
		"treated as unknown",
		"match: this alert matches demo-orders-load",
		"1. health: check core.http — runs: yes (its condition is true for this alert)",
		`url: "http://127.0.0.1:1/health"`,
		"expect_status: 200",
		`message: "Orders load failed (DAG load_orders): please take a look"`,
		"detail: <unknown until earlier steps run>",
		"3. recovered: verify core.http — runs: yes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output misses %q:\n%s", want, out)
		}
	}
	// Another runbook: it does not match, and says which would.
	code, out, _ = runCLI(t, demo, "runbooks", "test", "s3-partition-missing", "--alert", alert)
	if code != 0 || !strings.Contains(out, `does NOT match s3-partition-missing: label alertname is "OrdersLoadFailed", want "S3PartitionMissing"`) ||
		!strings.Contains(out, "would pick demo-orders-load") || !strings.Contains(out, "1. latest: check s3.latest_partition") {
		t.Errorf("non-matching runbook: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, demo, "runbooks", "test", "demo-orders-load", "--alert", alert, "--json")
	var plan []runbooks.Planned
	if code != 0 || json.Unmarshal([]byte(out), &plan) != nil || len(plan) != 3 || plan[1].With["detail"] != "<unknown until earlier steps run>" {
		t.Errorf("--json: exit %d\n%s", code, out)
	}
	// A bare alert needs no source or dedupe key for a dry run.
	bare := writeFile(t, dir, "bare.json", `{"title": "t", "labels": {"alertname": "OrdersLoadFailed"}}`)
	code, out, _ = runCLI(t, demo, "runbooks", "test", "demo-orders-load", "--alert", bare)
	if code != 0 || !strings.Contains(out, "1. health: check core.http — runs: no (its condition is false for this alert)") {
		t.Errorf("bare alert: exit %d\n%s", code, out)
	}
	bad := writeFile(t, dir, "bad.json", `{"title": "t", "lables": {}}`)
	if code, _, errs := runCLI(t, demo, "runbooks", "test", "demo-orders-load", "--alert", bad); code != 1 || !strings.Contains(errs, `unknown field "lables"`) {
		t.Errorf("bad alert: exit %d %s", code, errs)
	}
}

func TestRunbooksUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"runbooks"}, 2, "want a subcommand"},
		{[]string{"runbooks", "frob"}, 2, `unknown subcommand "frob"`},
		{[]string{"runbooks", "test", "snowflake-load-failed"}, 2, "--alert FILE.json required"},
		{[]string{"runbooks", "show"}, 2, "one runbook name"},
		{[]string{"runbooks", "validate", "a", "b"}, 2, "at most one directory"},
		{[]string{"runbooks", "validate", "/nonexistent"}, 1, "runbook directory"},
		{[]string{"runbooks", "help"}, 0, "dry run"},
	} {
		code, _, errs := runCLI(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.stderr)
		}
	}
	code, out, _ := runCLI(t, nil, "runbooks", "actions")
	if code != 0 || !strings.Contains(out, "core.wait (carried out by the workflow, no activity)") || !strings.Contains(out, "- url (string, required)") {
		t.Errorf("actions: exit %d\n%s", code, out)
	}
}
