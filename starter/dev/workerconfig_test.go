package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/actions/s3/s3test"
)

// An integration the user configured is theirs: none of its stand-in's
// settings apply, the others stay stand-ins, the worker has the user's
// target policy or none (dev allows no remediation on a system of the
// user's by itself), and the demo stays off.
func TestYourIntegrationsWin(t *testing.T) {
	s := startTestStandIns(t)
	yours := s3test.New()
	t.Cleanup(yours.Close)
	w := testWorkerConfig(t, s, map[string]string{
		"DATASEV_S3_ENDPOINT": yours.URL,
		"DATASEV_AIRFLOW_URL": "http://127.0.0.1:9/",
	})
	if w.cfg.S3.Endpoint != yours.URL || w.cfg.S3.Region != "" {
		t.Errorf("s3 %+v, want your endpoint and none of the stand-in's settings", w.cfg.S3)
	}
	if w.cfg.Airflow.URL != "http://127.0.0.1:9/" || w.cfg.Airflow.Username != "" {
		t.Errorf("airflow %s, want yours without the stand-in's user", w.cfg.Airflow)
	}
	if !strings.HasPrefix(w.cfg.GitHub.APIURL, "http://127.0.0.1:") || !w.standIn["github"] {
		t.Errorf("github %q, want the stand-in still", w.cfg.GitHub.APIURL)
	}
	if got := strings.Join(w.yours, "; "); got != "s3 (DATASEV_S3_ENDPOINT); airflow (DATASEV_AIRFLOW_URL)" {
		t.Errorf("yours: %q", got)
	}
	if w.cfg.Targets.Configured() {
		t.Errorf("target policy %s, want none (yours is unset)", w.cfg.Targets)
	}
	if ok, why := w.demoReady(); ok || !strings.Contains(why, "DATASEV_S3_ENDPOINT") {
		t.Errorf("demo ready %v (%s), want off, naming DATASEV_S3_ENDPOINT", ok, why)
	}
}

// A target policy of the user's replaces the stand-ins' one.
func TestYourTargetPolicyWins(t *testing.T) {
	s := startTestStandIns(t)
	w := testWorkerConfig(t, s, map[string]string{"DATASEV_TARGETS_S3_BUCKETS": "mine"})
	if err := w.cfg.Targets.Bucket("mine"); err != nil {
		t.Errorf("your bucket: %v", err)
	}
	if err := w.cfg.Targets.Bucket(s3test.DemoBucket); err == nil {
		t.Error("the stand-in's bucket is allowed beside your policy")
	}
	if !w.standIn["s3"] || !w.yourTargets {
		t.Errorf("s3 stand-in %v, your targets %v", w.standIn["s3"], w.yourTargets)
	}
	if ok, why := w.demoReady(); ok || !strings.Contains(why, "target policy") {
		t.Errorf("demo ready %v (%s), want off, naming the target policy", ok, why)
	}
}

// The DATASEV_CONFIG file configures dev's worker as it does the worker
// binary's: its worker section's s3_endpoint makes S3 the user's.
func TestConfigFileConfiguresTheWorker(t *testing.T) {
	s := startTestStandIns(t)
	file := filepath.Join(t.TempDir(), "datasev.yaml")
	if err := os.WriteFile(file, []byte("worker:\n  s3_endpoint: http://127.0.0.1:9\n  task_queue: dev-q\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := testWorkerConfig(t, s, map[string]string{"DATASEV_CONFIG": file})
	if w.cfg.S3.Endpoint != "http://127.0.0.1:9" || w.standIn["s3"] {
		t.Errorf("s3 endpoint %q (stand-in %v), want the file's", w.cfg.S3.Endpoint, w.standIn["s3"])
	}
	if w.cfg.TaskQueue != "dev-q" {
		t.Errorf("task queue %q, want the file's dev-q", w.cfg.TaskQueue)
	}
}

// Email has no stand-in: configured, it is the user's and keeps the demo
// (which would page through it) off; the stand-ins still play the rest.
func TestYourEmailStopsTheDemo(t *testing.T) {
	s := startTestStandIns(t)
	w := testWorkerConfig(t, s, map[string]string{"DATASEV_SMTP_HOST": "127.0.0.1", "DATASEV_SMTP_FROM": "datasev@example.com"})
	if !w.cfg.Email.Configured() || len(w.standIn) != 6 {
		t.Errorf("email configured %v, %d stand-ins; want yours and all six", w.cfg.Email.Configured(), len(w.standIn))
	}
	if ok, why := w.demoReady(); ok || !strings.Contains(why, "email (DATASEV_SMTP_HOST)") {
		t.Errorf("demo ready %v (%s), want off, naming DATASEV_SMTP_HOST", ok, why)
	}
	if w.cfg.Targets.Configured() {
		t.Errorf("target policy %s with your email configured, want none", w.cfg.Targets)
	}
}
