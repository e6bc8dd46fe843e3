package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

func TestLibraryAlertsMatchTheLibrary(t *testing.T) {
	set, err := cli.LoadRunbookSet(func(string) string { return "" }, io.Discard, "")
	if err != nil {
		t.Fatalf("runbook set: %v", err)
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
		choice, err := cli.ChooseRunbook(set, "", a)
		if err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		if choice.Runbook == nil || choice.Runbook.Name != want[i] {
			t.Errorf("alert %d (%s): runbook %v, want %s", i, a.Labels["alertname"], choice, want[i])
		}
	}
}

// keepProcessEnv restores, after the test, the variables the stand-ins'
// configuration sets in the process environment when they are unset.
func keepProcessEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED", "SNOWFLAKE_DISABLE_PLATFORM_DETECTION"} {
		prev, ok := os.LookupEnv(k)
		t.Setenv(k, prev)
		if !ok {
			os.Unsetenv(k)
		}
	}
}

// startTestStandIns starts the stand-ins for a roster of two, stopped at
// cleanup.
func startTestStandIns(t *testing.T) *standIns {
	t.Helper()
	keepProcessEnv(t)
	r := oncall.Roster{People: []oncall.Person{{ID: "alice", Slack: "U01ALICE"}, {ID: "bob"}}}
	s, err := startStandIns(time.Now(), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// testWorkerConfig is dev's worker configuration for the stand-ins over
// the user's settings in user, with dev's files in a scratch directory and
// the sample roster.
func testWorkerConfig(t *testing.T, s *standIns, user map[string]string) workerSetup {
	t.Helper()
	e, err := newEnv(func(k string) string { return user[k] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	forced := map[string]string{"DATASEV_ROSTER": filepath.Join("..", "..", "runbooks", "roster.yaml")}
	w, err := loadWorkerConfig(e.getenv, s, devDefaults(t.TempDir()), forced)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// With nothing configured, every integration talks to its stand-in on
// 127.0.0.1, and the demo may run.
func TestStandInsConfigureTheWorker(t *testing.T) {
	s := startTestStandIns(t)
	w := testWorkerConfig(t, s, nil)
	cfg := w.cfg
	for name, url := range map[string]string{"github": cfg.GitHub.APIURL, "airflow": cfg.Airflow.URL, "slack": cfg.Slack.APIURL, "s3": cfg.S3.Endpoint} {
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Errorf("%s URL %q, want the stand-in on 127.0.0.1", name, url)
		}
	}
	if !cfg.GitHub.Configured() || !cfg.Slack.Configured() || !cfg.S3.UsePathStyle {
		t.Errorf("worker config: GitHub %v, Slack %v, S3 path style %v; want all three", cfg.GitHub.Configured(), cfg.Slack.Configured(), cfg.S3.UsePathStyle)
	}
	if cfg.Snowflake.Account == "" || cfg.Snowflake.Host != "127.0.0.1" {
		t.Errorf("snowflake config %+v, want the stand-in at 127.0.0.1", cfg.Snowflake)
	}
	if cfg.ConsumerChannels["finance"] != "#finance-data" {
		t.Errorf("consumer channels %v, want the demo's", cfg.ConsumerChannels)
	}
	if cfg.SealKey == nil || cfg.Postmortem.Dir == "" || cfg.StopTimeout != 5*time.Second {
		t.Errorf("dev's defaults: seal key %v, postmortems %q, stop timeout %s", cfg.SealKey != nil, cfg.Postmortem.Dir, cfg.StopTimeout)
	}
	if got := strings.Join(sortedNames(w.standIn), ","); got != "airflow,github,pagerduty,s3,slack,snowflake" {
		t.Errorf("stand-ins %s, want all six", got)
	}
	if ok, why := w.demoReady(); !ok {
		t.Errorf("demo not ready with nothing configured: %s", why)
	}
	if _, ok := s.github.File("acme/analytics", "main", "target/manifest.json"); !ok {
		t.Error("the demo repository has no manifest")
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

// The demo casts from whoever is on duty: it must work at every hour.
func TestCastAtEveryHour(t *testing.T) {
	r, err := oncall.Load(filepath.Join("..", "..", "runbooks", "roster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	for h := range 24 {
		cast, err := pickCast(r, time.Date(2026, 7, 1, h, 30, 0, 0, loc))
		if err != nil {
			t.Fatalf("%02d:30: %v", h, err)
		}
		if cast.commander == "" || cast.commander == cast.sme {
			t.Errorf("%02d:30: commander %q, SME %q", h, cast.commander, cast.sme)
		}
	}
}
