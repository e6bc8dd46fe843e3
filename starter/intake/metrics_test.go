package intake

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Another front-door route (the Slack app's) counted under its own source,
// by status code, and shown on /metrics.
func TestCountOtherRoutes(t *testing.T) {
	m := NewMetrics()
	slack := m.Count("slack", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slack/commands" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		http.Error(w, "bad signature", http.StatusUnauthorized)
	}))
	for _, p := range []string{"/slack/commands", "/slack/commands", "/slack/interactions"} {
		slack.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, p, nil))
	}
	if ok, bad := m.Requests("slack", 200), m.Requests("slack", 401); ok != 2 || bad != 1 {
		t.Errorf("slack requests: %d ok, %d unauthorized; want 2 and 1", ok, bad)
	}
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`datasev_intake_requests_total{source="slack",code="200"} 2`,
		`datasev_intake_requests_total{source="slack",code="401"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, rec.Body.String())
		}
	}
}
