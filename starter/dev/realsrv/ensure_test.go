package realsrv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check accepts only a binary whose build info names the pinned package,
// module and version: the test binary itself is none of the tools.
func TestCheckRefusesOtherBuilds(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	err = Alertmanager.check(self)
	if err == nil || !strings.Contains(err.Error(), Alertmanager.Package) || !strings.Contains(err.Error(), Alertmanager.Version) {
		t.Errorf("check(test binary) = %v, want an error naming %s", err, Alertmanager.Target())
	}
	missing := filepath.Join(t.TempDir(), "alertmanager")
	if err := Alertmanager.check(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("check(missing file) = %v, want an error naming %s", err, missing)
	}
}

func TestWebhookRouteConfigNamesOnlyItsURL(t *testing.T) {
	cfg := WebhookRoute{URL: "http://127.0.0.1:1234/alerts/alertmanager", Token: "tok", GroupBy: []string{"alertname"}}.Config()
	for _, want := range []string{`url: "http://127.0.0.1:1234/alerts/alertmanager"`, `credentials: "tok"`, `group_by: ["alertname"]`, "send_resolved: true"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config has no %q:\n%s", want, cfg)
		}
	}
	if n := strings.Count(cfg, "://"); n != 1 {
		t.Errorf("config names %d URLs, want only the webhook's:\n%s", n, cfg)
	}
}

func TestHasLabels(t *testing.T) {
	series := `alertmanager_notifications_failed_total{integration="webhook",reason="other"}`
	if !hasLabels(series, map[string]string{"integration": "webhook"}) {
		t.Error("integration=webhook not found")
	}
	if hasLabels(`m{xintegration="webhook"}`, map[string]string{"integration": "webhook"}) {
		t.Error("xintegration matched integration")
	}
	if hasLabels(series, map[string]string{"integration": "email"}) {
		t.Error("integration=email matched")
	}
}
