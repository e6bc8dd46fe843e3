package service_test

import (
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/worker/service/servicetest"
)

func TestLoadConfigReadsTheTargetPolicy(t *testing.T) {
	cfg, err := service.LoadConfig(getenv(map[string]string{
		"DATASEV_TARGETS_GITHUB_REPOSITORIES": "acme/analytics",
		"DATASEV_TARGETS_AIRFLOW_DAGS":        "daily_*",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Targets.Configured() || cfg.Targets.Repository("acme/analytics") != nil || cfg.Targets.Repository("evil/x") == nil {
		t.Fatalf("policy %v", cfg.Targets)
	}
	_, err = service.LoadConfig(getenv(map[string]string{"DATASEV_TARGETS_GITHUB_REPOSITORIES": "no-slash"}))
	if err == nil || !strings.Contains(err.Error(), "targets.github.repositories (DATASEV_TARGETS_GITHUB_REPOSITORIES)") {
		t.Fatalf("bad entry: %v", err)
	}
	cfg, err = service.LoadConfig(getenv(nil))
	if err != nil || cfg.Targets.Configured() {
		t.Fatalf("no variable: %v %v", cfg.Targets, err)
	}
}

func TestServicetestTargetsAllowLoopbackStandIns(t *testing.T) {
	p := servicetest.Targets()
	if err := p.Remediation("github.revert_commit"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{p.Repository("acme/analytics"), p.DAG("orders"), p.LineageGitHub("acme", "analytics", "target/manifest.json")} {
		if err != nil {
			t.Error(err)
		}
	}
	if p.List(target.KeyHTTPAllowAddresses) == nil {
		t.Error("no loopback allowed")
	}
}
