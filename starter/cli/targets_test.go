package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// A runbook whose steps name targets literally: validate checks them
// against the target policy.
const literalTargets = `name: literal-targets
description: Names its targets in the runbook
owner: data-platform
match:
  labels: {alertname: LiteralTargetsTest}
steps:
  - id: meta
    check:
      action: core.http
      with: {url: "http://169.254.169.254/latest/meta-data/"}
  - id: commits
    check:
      action: github.recent_commits
      with: {repo: evil/x}
  - id: ok_commits
    check:
      action: github.recent_commits
      with: {repo: acme/analytics}
  - id: from_alert
    check:
      action: github.recent_commits
      with: {repo: "${ alert.labels.repo }"}
  - id: impact
    check:
      action: lineage.downstream
      with: {manifest: /etc/passwd, node: orders}
  - id: rerun
    remediate:
      action: airflow.trigger_dag
      with: {dag_id: payroll}
      approval: {role: commander, timeout: 30m, on_timeout: deny}
`

func TestRunbooksValidateFlagsLiteralTargetsOutsideThePolicy(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "literal.yaml", literalTargets)
	env := map[string]string{
		"DATASEV_TARGETS_GITHUB_REPOSITORIES": "acme/analytics",
		"DATASEV_TARGETS_AIRFLOW_DAGS":        "orders_*",
		"DATASEV_TARGETS_HTTP_HOSTS":          "status.example.com",
	}
	code, out, errs := runCLI(t, env, "runbooks", "validate", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		file + `:7:5: runbook literal-targets, step meta: target policy: address 169.254.169.254:80 is cloud metadata`,
		file + `:11:5: runbook literal-targets, step commits: target policy: repository "evil/x" is not in targets.github.repositories`,
		`step impact: target policy: manifest path "/etc/passwd" is not in targets.lineage.paths, which is empty`,
		`step rerun: target policy: DAG "payroll" is not in targets.airflow.dags`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output misses %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"step ok_commits", "step from_alert"} {
		if strings.Contains(out, not) {
			t.Errorf("output flags %s:\n%s", not, out)
		}
	}
	if !strings.Contains(errs, "4 problem(s) in the runbooks") {
		t.Errorf("stderr: %s", errs)
	}

	// Without a policy only core.http's default refusal applies, and
	// validate says the remediations will refuse to run.
	code, out, errs = runCLI(t, nil, "runbooks", "validate", dir)
	if code != 1 || !strings.Contains(out, "remediation step(s) will refuse to run") ||
		!strings.Contains(out, "step meta: target policy: address 169.254.169.254:80 is cloud metadata") || strings.Contains(out, "step commits") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestConfigCheckPrintsTheTargetPolicy(t *testing.T) {
	file := writeTemp(t, "datasev.yaml", `
targets:
  github: {repositories: [acme/analytics], base_branches: [main]}
  airflow: {dags: ["orders_*"]}
  http: {hosts: [status.example.com], allow_addresses: ["127.0.0.1:8080"]}
`)
	code, out, errs := runCheck(t, map[string]string{"DATASEV_CONFIG": file}, "config", "check")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"targets    ok       targets.github.repositories acme/analytics",
		"targets    ok       targets.airflow.dags orders_*",
		"targets    ok       targets.s3.buckets (nothing allowed)",
		"targets    ok       targets.http.allow_addresses 127.0.0.1:8080",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output misses %q:\n%s", want, out)
		}
	}
	code, out, _ = runCheck(t, map[string]string{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml")}, "config", "check")
	if l := checkOf(out, "targets"); !strings.Contains(l, "off      no target policy: remediations refuse to run") {
		t.Errorf("no policy: %q (exit %d)\n%s", l, code, out)
	}
	code, out, _ = runCheck(t, map[string]string{"DATASEV_TARGETS_HTTP_ALLOW_ADDRESSES": "everything"}, "config", "check")
	if l := checkOf(out, "targets"); code == 0 || !strings.Contains(l, "error    target policy: targets.http.allow_addresses") {
		t.Errorf("bad policy: %q (exit %d)\n%s", l, code, out)
	}
}
