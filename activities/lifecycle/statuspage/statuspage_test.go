package statuspage_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/lifecycle/statuspage"
	"github.com/datasev/datasev/activities/lifecycle/statuspage/sptest"
	"github.com/datasev/datasev/workflows"
)

const (
	key  = "sp-key-123"
	page = "pg1"
)

type fixture struct {
	srv    *sptest.Server
	c      *statuspage.Client
	orders string
	api    string
}

func setup(t testing.TB) fixture {
	t.Helper()
	srv := sptest.Start(key, page)
	t.Cleanup(srv.Close)
	orders := srv.AddComponent("Orders dashboard", statuspage.Operational)
	api := srv.AddComponent("Public API", statuspage.Operational)
	c := statuspage.New(statuspage.Config{APIKey: key, PageID: page, BaseURL: srv.URL,
		Components: map[string]string{"orders": orders}})
	return fixture{srv: srv, c: c, orders: orders, api: api}
}

func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a Temporal application error", err, err)
	}
	return ae
}

func TestPublishCreatesThenUpdates(t *testing.T) {
	f := setup(t)
	first, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{
		Incident: "am-orders-stale", Name: "Delayed order figures", Status: statuspage.Investigating,
		Body: "Order figures on the dashboard are delayed.", Components: map[string]string{"orders": statuspage.DegradedPerformance},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.ID == "" || !strings.HasPrefix(first.URL, "https://stspg.io/") || first.Status != statuspage.Investigating {
		t.Errorf("first publish %+v", first)
	}
	if c, _ := f.srv.Component(f.orders); c.Status != statuspage.DegradedPerformance {
		t.Errorf("orders component %q, want degraded_performance", c.Status)
	}
	// Another incident's public incident and one made by hand must not be touched.
	f.srv.AddIncident("Scheduled work", statuspage.Investigating, nil)
	if _, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "other", Name: "Other", Status: statuspage.Identified}); err != nil {
		t.Fatal(err)
	}

	second, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{
		Incident: "am-orders-stale", Status: statuspage.Identified, Body: "We found the cause and are reverting it.",
		Components: map[string]string{"orders": statuspage.PartialOutage, f.api: statuspage.DegradedPerformance},
	})
	if err != nil {
		t.Fatal(err)
	}
	if second.Created || second.ID != first.ID || second.Updates != 2 || second.Status != statuspage.Identified {
		t.Errorf("second publish %+v, want an update of %s", second, first.ID)
	}
	var mine []sptest.Incident
	for _, inc := range f.srv.Incidents() {
		if inc.Metadata["datasev"]["incident"] == "am-orders-stale" {
			mine = append(mine, inc)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d public incidents for am-orders-stale, want 1", len(mine))
	}
	inc := mine[0]
	if inc.Name != "Delayed order figures" || inc.Impact != "major" || len(inc.Components) != 2 {
		t.Errorf("incident %+v", inc)
	}
	if inc.IncidentUpdates[0].Body != "We found the cause and are reverting it." || inc.IncidentUpdates[1].Status != statuspage.Investigating {
		t.Errorf("updates %+v", inc.IncidentUpdates)
	}
	if got := f.srv.Requests(); got[0] != "GET /v1/pages/pg1/incidents/unresolved" || got[1] != "POST /v1/pages/pg1/incidents" {
		t.Errorf("requests %v", got)
	}
}

func TestResolve(t *testing.T) {
	f := setup(t)
	pub, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{
		Incident: "inc-9", Name: "API errors", Status: statuspage.Investigating,
		Components: map[string]string{f.api: statuspage.MajorOutage},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.c.Resolve(t.Context(), "inc-9", "All systems are back to normal.")
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != pub.ID || res.Status != statuspage.Resolved {
		t.Errorf("resolve %+v", res)
	}
	if c, _ := f.srv.Component(f.api); c.Status != statuspage.Operational {
		t.Errorf("component %q after resolve, want operational", c.Status)
	}
	inc := f.srv.Incidents()[0]
	if inc.ResolvedAt == nil || inc.Impact != "none" || inc.IncidentUpdates[0].Body != "All systems are back to normal." {
		t.Errorf("incident %+v", inc)
	}
	// A retried Resolve finds nothing left to resolve.
	again, err := f.c.Resolve(t.Context(), "inc-9", "All systems are back to normal.")
	if err != nil || again.ID != "" {
		t.Errorf("second resolve %+v %v", again, err)
	}
	// A new publish after resolution opens a new public incident.
	next, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "inc-9", Name: "API errors again", Status: statuspage.Investigating})
	if err != nil || !next.Created || next.ID == pub.ID {
		t.Errorf("publish after resolve %+v %v", next, err)
	}
}

func TestSetComponent(t *testing.T) {
	f := setup(t)
	c, err := f.c.SetComponent(t.Context(), "orders", statuspage.UnderMaintenance)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != f.orders || c.Status != statuspage.UnderMaintenance {
		t.Errorf("component %+v", c)
	}
	if got, _ := f.srv.Component(f.orders); got.Status != statuspage.UnderMaintenance {
		t.Errorf("server has %q", got.Status)
	}
	_, err = f.c.UpdateComponent(t.Context(), "nope", statuspage.Operational)
	if ae := appErr(t, err); !ae.NonRetryable() || ae.Type() != statuspage.NotFoundType {
		t.Errorf("unknown component: %v", err)
	}
}

func TestUnresolvedPaginates(t *testing.T) {
	f := setup(t)
	for range 130 {
		f.srv.AddIncident("x", statuspage.Investigating, nil)
	}
	f.srv.AddIncident("old", statuspage.Resolved, nil)
	got, err := f.c.UnresolvedIncidents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 130 {
		t.Errorf("%d unresolved, want 130", len(got))
	}
	// The marker is found past the first page.
	f.srv.AddIncident("mine", statuspage.Investigating, map[string]map[string]any{"datasev": {"incident": "deep"}})
	for range 120 {
		f.srv.AddIncident("x", statuspage.Investigating, nil)
	}
	res, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "deep", Status: statuspage.Monitoring})
	if err != nil || res.Created || res.Status != statuspage.Monitoring {
		t.Errorf("publish %+v %v", res, err)
	}
}

func TestUnauthorizedIsNonRetryable(t *testing.T) {
	f := setup(t)
	c := statuspage.New(statuspage.Config{APIKey: "wrong", PageID: page, BaseURL: f.srv.URL})
	_, err := c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "i", Name: "n", Status: statuspage.Investigating})
	ae := appErr(t, err)
	if !ae.NonRetryable() || ae.Type() != statuspage.AuthType || !strings.Contains(err.Error(), "Could not authenticate") {
		t.Errorf("error %v: non-retryable %v type %q", err, ae.NonRetryable(), ae.Type())
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the key: %v", err)
	}
	var apiErr *statuspage.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("no APIError 401 in %v", err)
	}
}

func TestRateLimitedIsRetryableWithDelay(t *testing.T) {
	f := setup(t)
	for _, code := range []int{429, 420} {
		f.srv.FailNext(sptest.Fault{Status: code, RetryAfter: "7"})
		_, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "i", Name: "n", Status: statuspage.Investigating})
		ae := appErr(t, err)
		if ae.NonRetryable() || ae.Type() != statuspage.RateLimitedType || ae.NextRetryDelay() != 7*time.Second {
			t.Errorf("%d: error %v: non-retryable %v type %q delay %v", code, err, ae.NonRetryable(), ae.Type(), ae.NextRetryDelay())
		}
	}
	// A Retry-After of a day is capped.
	f.srv.FailNext(sptest.Fault{Status: 429, RetryAfter: "86400"})
	_, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "i", Name: "n", Status: statuspage.Investigating})
	if ae := appErr(t, err); ae.NextRetryDelay() != statuspage.MaxRetryDelay {
		t.Errorf("Retry-After 86400: delay %v, want the cap %v", ae.NextRetryDelay(), statuspage.MaxRetryDelay)
	}
	date := time.Now().Add(90 * time.Second).UTC().Format(http1123)
	f.srv.FailNext(sptest.Fault{Status: 503, RetryAfter: date, Body: "<html>down</html>"})
	_, err = f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "i", Name: "n", Status: statuspage.Investigating})
	ae := appErr(t, err)
	if ae.NonRetryable() || ae.Type() != statuspage.ServerType || ae.NextRetryDelay() < 60*time.Second || ae.NextRetryDelay() > 90*time.Second {
		t.Errorf("503: error %v: non-retryable %v delay %v", err, ae.NonRetryable(), ae.NextRetryDelay())
	}
	// Then the retry goes through, and creates exactly one incident.
	if _, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "i", Name: "n", Status: statuspage.Investigating}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Incidents()); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestInvalidStatusIs422NonRetryable(t *testing.T) {
	f := setup(t)
	// Through the low-level client the API itself answers 422.
	_, err := f.c.CreateIncident(t.Context(), statuspage.IncidentInput{Name: "n", Status: "on_fire"})
	ae := appErr(t, err)
	if !ae.NonRetryable() || ae.Type() != statuspage.InvalidType || !strings.Contains(err.Error(), "Status is not included in the list") {
		t.Errorf("error %v: non-retryable %v type %q", err, ae.NonRetryable(), ae.Type())
	}
	_, err = f.c.CreateIncident(t.Context(), statuspage.IncidentInput{Name: "n", Status: "on_fire",
		Components: map[string]string{"missing": statuspage.Operational}})
	if !strings.Contains(err.Error(), "Component missing does not exist; Status is not included in the list") {
		t.Errorf("list-shaped error body: %v", err)
	}
	// Publish checks before calling.
	before := len(f.srv.Requests())
	for _, req := range []workflows.StatuspagePublishRequest{
		{Incident: "i", Name: "n", Status: "on_fire"},
		{Incident: "i", Name: "n", Status: statuspage.Investigating, Components: map[string]string{"orders": "broken"}},
		{Incident: "", Name: "n", Status: statuspage.Investigating},
	} {
		_, err := f.c.Publish(t.Context(), req)
		if ae := appErr(t, err); !ae.NonRetryable() || ae.Type() != statuspage.BadRequestType {
			t.Errorf("%+v: %v", req, err)
		}
	}
	if after := len(f.srv.Requests()); after != before {
		t.Errorf("bad requests reached the API (%d calls)", after-before)
	}
	// A new incident needs a name: checked after finding none.
	_, err = f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "new", Status: statuspage.Investigating})
	if ae := appErr(t, err); ae.Type() != statuspage.BadRequestType {
		t.Errorf("no name: %v", err)
	}
	// An unknown page is a 404.
	c := statuspage.New(statuspage.Config{APIKey: key, PageID: "other", BaseURL: f.srv.URL})
	_, err = c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "i", Name: "n", Status: statuspage.Investigating})
	if ae := appErr(t, err); !ae.NonRetryable() || ae.Type() != statuspage.NotFoundType {
		t.Errorf("unknown page: %v", err)
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	f := setup(t)
	f.srv.Close()
	_, err := f.c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "i", Name: "n", Status: statuspage.Investigating})
	if ae := appErr(t, err); ae.NonRetryable() || ae.Type() != statuspage.ServerType {
		t.Errorf("error %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	c := statuspage.New(statuspage.Config{})
	_, err := c.Publish(t.Context(), workflows.StatuspagePublishRequest{Incident: "i", Name: "n", Status: statuspage.Investigating})
	if ae := appErr(t, err); !ae.NonRetryable() || ae.Type() != statuspage.NotConfiguredType {
		t.Errorf("error %v", err)
	}
	var nilc *statuspage.Client
	if _, err := nilc.Resolve(t.Context(), "i", ""); appErr(t, err).Type() != statuspage.NotConfiguredType {
		t.Errorf("nil client: %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := statuspage.ConfigFromEnv(env(nil))
	if err != nil || cfg.Configured() {
		t.Fatalf("empty: %+v %v", cfg, err)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = statuspage.ConfigFromEnv(env(map[string]string{
		statuspage.EnvAPIKeyFile: keyFile, statuspage.EnvPageID: "pg",
		statuspage.EnvComponents: "orders=c1, billing = c2,", statuspage.EnvAPIURL: "http://127.0.0.1:1/v1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := statuspage.ConfigFromEnv(env(map[string]string{statuspage.EnvAPIKey: "k", statuspage.EnvAPIKeyFile: keyFile, statuspage.EnvPageID: "pg"})); err == nil ||
		!strings.Contains(err.Error(), "both set") {
		t.Errorf("key and key file both set: %v, want an error", err)
	}
	if cfg.APIKey != "from-file" || cfg.PageID != "pg" || cfg.Components["orders"] != "c1" || cfg.Components["billing"] != "c2" || !cfg.Configured() {
		t.Errorf("config %+v", cfg)
	}
	for name, m := range map[string]map[string]string{
		"key without page": {statuspage.EnvAPIKey: "k"},
		"page without key": {statuspage.EnvPageID: "p"},
		"bad url":          {statuspage.EnvAPIKey: "k", statuspage.EnvPageID: "p", statuspage.EnvAPIURL: "ftp://x"},
		"bad mapping":      {statuspage.EnvAPIKey: "k", statuspage.EnvPageID: "p", statuspage.EnvComponents: "orders"},
	} {
		if _, err := statuspage.ConfigFromEnv(env(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkPublishUpdate(b *testing.B) {
	f := setup(b)
	req := workflows.StatuspagePublishRequest{Incident: "bench", Name: "n", Status: statuspage.Investigating,
		Components: map[string]string{"orders": statuspage.PartialOutage}}
	if _, err := f.c.Publish(b.Context(), req); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := f.c.Publish(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestActivities(t *testing.T) {
	f := setup(t)
	a := &statuspage.Activities{Client: f.c}
	pub, err := a.StatuspagePublish(t.Context(), workflows.StatuspagePublishRequest{Incident: "x", Name: "n", Status: statuspage.Investigating})
	if err != nil || !pub.Created {
		t.Fatalf("%+v %v", pub, err)
	}
	res, err := a.StatuspageResolve(t.Context(), workflows.StatuspageResolveRequest{Incident: "x", Body: "fixed"})
	if err != nil || res.ID != pub.ID || res.Status != statuspage.Resolved {
		t.Fatalf("%+v %v", res, err)
	}
	if out := statuspage.Output(res); out["id"] != pub.ID || out["created"] != false {
		t.Errorf("output %v", out)
	}
	var none statuspage.Activities
	if _, err := none.StatuspagePublish(t.Context(), workflows.StatuspagePublishRequest{Incident: "x", Name: "n", Status: statuspage.Investigating}); appErr(t, err).Type() != statuspage.NotConfiguredType {
		t.Errorf("no client: %v", err)
	}
}
