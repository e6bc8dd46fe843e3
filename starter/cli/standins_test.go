package cli

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

func TestLibraryAlertsMatchTheLibrary(t *testing.T) {
	set, err := loadRunbookSet(&env{getenv: func(string) string { return "" }}, "")
	if err != nil {
		t.Skipf("runbook set: %v", err)
	}
	want := []string{"snowflake-load-failed", "s3-partition-missing"}
	alerts := libraryAlerts(time.Now())
	if len(alerts) != len(want) {
		t.Fatalf("%d alerts, want %d", len(alerts), len(want))
	}
	for i, a := range alerts {
		if err := a.Validate(); err != nil {
			t.Errorf("alert %d: %v", i, err)
		}
		choice, err := chooseRunbook(set, "", a)
		if err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		if choice.runbook == nil || choice.runbook.Name != want[i] {
			t.Errorf("alert %d (%s): runbook %v, want %s", i, a.Labels["alertname"], choice, want[i])
		}
	}
}

func TestStandInsConfigureTheWorker(t *testing.T) {
	// startStandIns sets the SDKs' variables when unset: restore them after.
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED", "SNOWFLAKE_DISABLE_PLATFORM_DETECTION"} {
		prev, ok := os.LookupEnv(k)
		t.Setenv(k, prev)
		if !ok {
			os.Unsetenv(k)
		}
	}
	r := oncall.Roster{People: []oncall.Person{{ID: "alice", Slack: "U01ALICE"}, {ID: "bob"}}}
	s, err := startStandIns(time.Now(), r)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := s.workerConfig()
	for name, url := range map[string]string{"github": cfg.GitHub.APIURL, "airflow": cfg.Airflow.URL, "slack": cfg.Slack.APIURL} {
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Errorf("%s URL %q, want the stand-in on 127.0.0.1", name, url)
		}
	}
	if !cfg.GitHub.Configured() || !cfg.Slack.Configured() || cfg.Roster == nil {
		t.Errorf("worker config: GitHub %v, Slack %v, roster %v; want all three", cfg.GitHub.Configured(), cfg.Slack.Configured(), cfg.Roster != nil)
	}
	if _, ok := s.github.File("acme/analytics", "main", "target/manifest.json"); !ok {
		t.Error("the demo repository has no manifest")
	}
	if !strings.HasPrefix(s.s3.Endpoint, "http://127.0.0.1:") || !s.s3.UsePathStyle {
		t.Errorf("s3 config %+v, want the stand-in's endpoint, path style", s.s3)
	}
	if s.snowflake.Account == "" || s.snowflake.Host != "127.0.0.1" {
		t.Errorf("snowflake config %+v, want the stand-in at 127.0.0.1", s.snowflake)
	}
}

func TestVerifying(t *testing.T) {
	rb := func(kind, what string) workflows.TimelineEntry {
		return workflows.TimelineEntry{Who: "runbook x", Kind: kind, What: what}
	}
	tl := []workflows.TimelineEntry{rb("", "runbook x started"), rb(workflows.KindNotify, "paged erin: y")}
	if verifying(tl) {
		t.Error("verifying before any step after the page")
	}
	if !verifying(append(tl, rb("", "verify fresh_again waiting"))) {
		t.Error("not verifying after a step after the page")
	}
}
