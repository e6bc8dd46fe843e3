package main

import (
	"net/netip"
	"net/url"
	"testing"
)

// With nothing configured, the worker gets a target policy that allows
// exactly its stand-ins' data.
func TestStandInsTargetPolicy(t *testing.T) {
	s := startTestStandIns(t)
	p := testWorkerConfig(t, s, nil).cfg.Targets
	if err := p.Remediation("github.revert_commit"); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"repo":     p.Repository("acme/analytics"),
		"base":     p.BaseBranch("acme/analytics", "main", "main"),
		"dag":      p.DAG("dbt_analytics"),
		"bucket":   p.Bucket("lake"),
		"database": p.Database("ANALYTICS"),
		"manifest": p.LineageGitHub("acme", "analytics", "target/manifest.json"),
	} {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	health, _ := url.Parse(s.loader.HealthURL())
	if err := p.URL(health); err != nil {
		t.Errorf("loader health: %v", err)
	}
	if err := p.CheckAddr(netip.MustParseAddrPort(health.Host)); err != nil {
		t.Errorf("loader address: %v", err)
	}
	for what, err := range map[string]error{
		"other repo":        p.Repository("evil/x"),
		"other branch":      p.BaseBranch("acme/analytics", "release", "main"),
		"other dag":         p.DAG("payroll"),
		"other bucket":      p.Bucket("secrets"),
		"other database":    p.Database("SNOWFLAKE"),
		"local manifest":    p.LineageFile("/etc/passwd"),
		"temporal":          p.CheckAddr(netip.MustParseAddrPort("127.0.0.1:7233")),
		"metadata":          p.CheckAddr(netip.MustParseAddrPort("169.254.169.254:80")),
		"other loader path": p.URL(&url.URL{Scheme: "http", Host: health.Host, Path: "/admin"}),
	} {
		if err == nil {
			t.Errorf("%s allowed", what)
		}
	}
}
