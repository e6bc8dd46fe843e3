package intake_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/intake"
)

// TestRejections needs no Temporal: every request is refused before
// Declare.
func TestRejections(t *testing.T) {
	h := newHandler(t, testAuth)
	open := newHandler(t, intake.Auth{}) // nothing configured, not insecure
	valid := `{"title":"x","dedupe_key":"k"}`
	dbtBody := []byte(dbtPayload("evt-1", "job.run.errored", "42", "9001", "Errored"))
	pdBody := []byte(pdPayload("ev-1", "incident.triggered", "PINC1"))
	big := `{"title":"` + strings.Repeat("a", intake.MaxBodyBytes) + `","dedupe_key":"k"}`
	cases := []struct {
		name   string
		h      http.Handler
		path   string
		body   string
		hdr    map[string]string
		code   int
		errHas string
	}{
		{"generic no token", h, "/alerts", valid, nil, 401, "Bearer"},
		{"generic wrong token", h, "/alerts", valid, bearer("nope"), 401, "wrong bearer token"},
		{"generic not configured", open, "/alerts", valid, bearer("anything"), 401, "no token configured"},
		{"generic unknown field", h, "/alerts", `{"title":"x","dedupe_key":"k","titel":"y"}`, bearer(genToken), 400, `unknown field "titel"`},
		{"generic malformed", h, "/alerts", "{\"title\":\"x\",\n \"dedupe_key\": k}", bearer(genToken), 400, "line 2"},
		{"generic truncated", h, "/alerts", `{"title":"x"`, bearer(genToken), 400, "unexpected end"},
		{"generic trailing data", h, "/alerts", valid + `{}`, bearer(genToken), 400, "data after the object"},
		{"generic empty", h, "/alerts", ``, bearer(genToken), 400, "empty body"},
		{"generic wrong type", h, "/alerts", `{"title":"x","dedupe_key":"k","labels":{"a":1}}`, bearer(genToken), 400, `want a string, got number`}, // Go 1.27 names the field "labels.a", 1.26 "labels"
		{"generic array", h, "/alerts", `[1]`, bearer(genToken), 400, "want an object"},
		{"generic missing title", h, "/alerts", `{"dedupe_key":"k"}`, bearer(genToken), 400, "title: required"},
		{"generic bad key", h, "/alerts", `{"title":"x","dedupe_key":"a b"}`, bearer(genToken), 400, `dedupe_key: " " at byte 1 is not allowed`},
		{"generic bad severity", h, "/alerts", `{"title":"x","dedupe_key":"k","severity":"SEV9"}`, bearer(genToken), 400, `"severity"`},
		{"generic bad status", h, "/alerts", `{"title":"x","dedupe_key":"k","status":"open"}`, bearer(genToken), 400, "status"},
		{"generic oversized", h, "/alerts", big, bearer(genToken), 413, "larger than"},
		{"alertmanager no token", h, "/alerts/alertmanager", amPayload("firing", amAlert("firing", "fp1", "Down", "critical")), nil, 401, "Bearer"},
		{"alertmanager wrong token", h, "/alerts/alertmanager", amPayload("firing", amAlert("firing", "fp1", "Down", "critical")), bearer(genToken), 401, "wrong"},
		{"alertmanager version 3", h, "/alerts/alertmanager", strings.Replace(amPayload("firing", amAlert("firing", "fp1", "Down", "critical")), `"version": "4"`, `"version": "3"`, 1), bearer(amToken), 400, `"version"`},
		{"alertmanager no alerts", h, "/alerts/alertmanager", amPayload("firing"), bearer(amToken), 400, `"alerts"`},
		{"alertmanager no title", h, "/alerts/alertmanager", amPayload("firing", `{"status":"firing","labels":{},"annotations":{},"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"ab"}`), bearer(amToken), 400, "title: required"},
		{"alertmanager oversized", h, "/alerts/alertmanager", big, bearer(amToken), 413, "larger than"},
		{"dbt missing signature", h, "/alerts/dbt-cloud", string(dbtBody), nil, 401, "missing"},
		{"dbt bad signature", h, "/alerts/dbt-cloud", string(dbtBody), map[string]string{"Authorization": intake.Sign("other", dbtBody)}, 401, "bad signature"},
		{"dbt signature of another body", h, "/alerts/dbt-cloud", string(dbtBody), map[string]string{"Authorization": intake.Sign(dbtSecret, append(dbtBody, ' '))}, 401, "bad signature"},
		{"dbt not configured", open, "/alerts/dbt-cloud", string(dbtBody), map[string]string{"Authorization": intake.Sign(dbtSecret, dbtBody)}, 401, "no signing secret"},
		{"dbt malformed", h, "/alerts/dbt-cloud", `{"eventType":`, map[string]string{"Authorization": intake.Sign(dbtSecret, []byte(`{"eventType":`))}, 400, "malformed"},
		{"pagerduty missing signature", h, "/alerts/pagerduty", string(pdBody), nil, 401, "missing"},
		{"pagerduty bad signature", h, "/alerts/pagerduty", string(pdBody), map[string]string{"X-PagerDuty-Signature": "v1=" + intake.Sign("other", pdBody)}, 401, "bad signature"},
		{"pagerduty wrong scheme", h, "/alerts/pagerduty", string(pdBody), map[string]string{"X-PagerDuty-Signature": "v0=" + intake.Sign(pdSecret, pdBody)}, 401, "bad signature"},
		{"pagerduty not hex", h, "/alerts/pagerduty", string(pdBody), map[string]string{"X-PagerDuty-Signature": "v1=zz"}, 401, "bad signature"},
		{"pagerduty oversized", h, "/alerts/pagerduty", big, map[string]string{"X-PagerDuty-Signature": "v1=" + strings.Repeat("0", 64)}, 413, "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := post(t, c.h, c.path, []byte(c.body), c.hdr)
			if r.code != c.code || !strings.Contains(r.err, c.errHas) {
				t.Errorf("got %d %s, want %d containing %q", r.code, r.body, c.code, c.errHas)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`datasev_intake_requests_total{source="generic",code="401"} 2`,
		`datasev_intake_rejections_total{source="generic",reason="bad_token"} 1`,
		`datasev_intake_rejections_total{source="pagerduty",reason="bad_signature"} 3`,
		`datasev_intake_rejections_total{source="alertmanager",reason="too_large"} 1`,
		`datasev_intake_requests_total{source="dbt_cloud",code="401"} 3`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, rec.Body.String())
		}
	}
}

func TestHealth(t *testing.T) {
	h := newHandler(t, testAuth)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("healthz %d", rec.Code)
	}
	down, err := intake.New(offlineClient(t), testRoster(t), nil, testAuth, nil, intake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	down.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz without Temporal: %d %s, want 503", rec.Code, rec.Body)
	}
	if tc != nil {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != 200 {
			t.Errorf("readyz with Temporal: %d %s", rec.Code, rec.Body)
		}
	}
}

func TestAuthFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/secret"
	if err := writeFile(file, "from-file\n"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		intake.EnvGenericToken:              "gen",
		intake.EnvPagerDutySecret + "_FILE": file,
	}
	a, err := intake.AuthFromEnv(func(k string) string { return env[k] })
	if err != nil || a.GenericToken != "gen" || a.PagerDutySecret != "from-file" || a.DBTCloudSecret != "" {
		t.Errorf("got %+v, %v", a, err)
	}
	env[intake.EnvPagerDutySecret] = "both"
	if _, err := intake.AuthFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("both NAME and NAME_FILE set: no error")
	}
}

// --- payloads, shaped as the vendors document them ---

func amAlert(status, fp, name, severity string) string {
	ends := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		ends = "2026-11-25T08:10:00Z"
	}
	return fmt.Sprintf(`{
      "status": %q,
      "labels": {"alertname": %q, "instance": "loader-1:9100", "job": "orders-loader", "severity": %q, "dataset": "raw.orders"},
      "annotations": {"summary": "%s on loader-1", "description": "The orders loader has failed 3 times.", "runbook_url": "https://wiki.example/orders"},
      "startsAt": "2026-11-25T08:00:00.123Z",
      "endsAt": %q,
      "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up%%3D%%3D0",
      "fingerprint": %q
    }`, status, name, severity, name, ends, fp)
}

func amPayload(status string, alerts ...string) string {
	return fmt.Sprintf(`{
  "version": "4",
  "groupKey": "{}:{alertname=\"OrdersLoaderDown\"}",
  "truncatedAlerts": 0,
  "status": %q,
  "receiver": "datasev",
  "groupLabels": {"alertname": "OrdersLoaderDown"},
  "commonLabels": {"job": "orders-loader"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager.example:9093",
  "alerts": [%s]
}`, status, strings.Join(alerts, ","))
}

func dbtPayload(eventID, eventType, jobID, runID, runStatus string) string {
	return fmt.Sprintf(`{
  "accountId": 1,
  "webhooksID": "wsu_12345abcde",
  "eventId": %q,
  "timestamp": %q,
  "eventType": %q,
  "webhookName": "datasev",
  "data": {
    "jobId": %q,
    "jobName": "Nightly build",
    "runId": %q,
    "environmentId": "1234",
    "environmentName": "Production",
    "dbtVersion": "1.9.0",
    "projectName": "analytics",
    "projectId": "167194",
    "runStatus": %q,
    "runStatusCode": 20,
    "runStatusMessage": "None",
    "runReason": "Kicked off by the schedule",
    "runStartedAt": "2026-11-25T07:59:10Z",
    "runErroredAt": "2026-11-25T08:00:14Z"
  }
}`, eventID, time.Now().UTC().Format(time.RFC3339Nano), eventType, jobID, runID, runStatus)
}

func pdPayload(eventID, eventType, incID string) string {
	status := "triggered"
	if eventType == "incident.resolved" {
		status = "resolved"
	}
	return fmt.Sprintf(`{
  "event": {
    "id": %q,
    "event_type": %q,
    "resource_type": "incident",
    "occurred_at": %q,
    "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV", "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Tenex Engineer", "type": "user_reference"},
    "client": null,
    "data": {
      "id": %q,
      "type": "incident",
      "self": "https://api.pagerduty.com/incidents/%s",
      "html_url": "https://acme.pagerduty.com/incidents/%s",
      "number": 2,
      "status": %q,
      "incident_key": "d3640fbd41094207a1c11e58e46b1662",
      "created_at": "2026-11-25T07:59:00Z",
      "title": "Warehouse freshness SLA missed",
      "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH", "id": "PF9KMXH", "self": "https://api.pagerduty.com/services/PF9KMXH", "summary": "Data warehouse", "type": "service_reference"},
      "assignees": [],
      "escalation_policy": {"id": "PJEHN3A", "summary": "Data on-call", "type": "escalation_policy_reference"},
      "teams": [],
      "priority": {"id": "PSO75BM", "summary": "P2", "type": "priority_reference"},
      "urgency": "high",
      "conference_bridge": null,
      "resolve_reason": null
    }
  }
}`, eventID, eventType, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), incID, incID, incID, status)
}
