package config

import (
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/support/target"
)

func TestTargetsSectionNestsListsIntoThePolicy(t *testing.T) {
	p := write(t, `
targets:
  github:
    repositories: [acme/analytics, "acme/dbt-*"]
    base_branches: [main]
  airflow: {dags: ["daily_*"]}
  http:
    hosts:
      - status.example.com
    allow_addresses: 127.0.0.1:8080
  lineage_s3: [lake/dbt/]
`)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	getenv := f.Getenv(noEnv)
	if got := getenv("DATASEV_TARGETS_GITHUB_REPOSITORIES"); got != "acme/analytics,acme/dbt-*" {
		t.Errorf("repositories %q", got)
	}
	pol, err := target.FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := pol.Repository("acme/dbt-core"); err != nil {
		t.Error(err)
	}
	if err := pol.Repository("evil/x"); err == nil {
		t.Error("evil/x allowed")
	}
	if got := pol.List(target.KeyLineageS3); len(got) != 1 || got[0] != "lake/dbt/" {
		t.Errorf("lineage s3 %v", got)
	}
	// Every policy key is a known variable the file may set.
	for _, k := range target.Keys {
		if !IsKnown(target.Env(k)) {
			t.Errorf("%s (%s) is not in Known", k, target.Env(k))
		}
	}
}

func TestTargetsSectionErrors(t *testing.T) {
	_, err := Load(write(t, `
targets:
  github:
    repos: [acme/x]
  airflow:
    dags: {a: b}
`))
	for _, want := range []string{"unknown key targets.github_repos", "targets.airflow_dags: want a list of strings"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
