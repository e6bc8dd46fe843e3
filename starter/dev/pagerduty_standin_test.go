package main

import (
	"context"
	"strings"
	"testing"

	pagerdutyact "github.com/datasev/datasev/activities/notifiers/pagerduty"
	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdtest"
	"github.com/datasev/datasev/workflows"
)

// With nothing configured, the worker pages through the PagerDuty
// stand-in: a page sent through the configured backend lands there.
func TestPagerDutyStandInTakesThePages(t *testing.T) {
	s := startTestStandIns(t)
	cfg := testWorkerConfig(t, s, nil).cfg
	if !cfg.PagerDuty.Configured() || !strings.HasPrefix(cfg.PagerDuty.EventsURL, "http://127.0.0.1:") {
		t.Fatalf("pagerduty config %s at %q, want the stand-in on 127.0.0.1", cfg.PagerDuty, cfg.PagerDuty.EventsURL)
	}
	b, err := pagerdutyact.New(cfg.PagerDuty, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := workflows.Notification{Kind: workflows.NotifyPage, Incident: "incident-dev", Severity: "SEV2", To: "alice", Subject: "acknowledge: orders late"}
	if err := b.Deliver(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got := s.pagerduty.DistinctDedupKeys(); got != 1 {
		t.Errorf("the stand-in holds %d alerts, want the page's", got)
	}
	// A user's own routing key makes PagerDuty theirs.
	w := testWorkerConfig(t, s, map[string]string{pagerdutyact.EnvRoutingKey: pdtest.RoutingKey})
	if w.standIn["pagerduty"] || w.cfg.PagerDuty.EventsURL != "" {
		t.Errorf("with the user's routing key, the stand-in still plays PagerDuty (%q)", w.cfg.PagerDuty.EventsURL)
	}
}
