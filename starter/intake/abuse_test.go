package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
)

// readSpy is a request body that records whether anyone read it.
type readSpy struct {
	r    io.Reader
	read atomic.Bool
}

func (s *readSpy) Read(p []byte) (int, error) { s.read.Store(true); return s.r.Read(p) }

// do sends one request with exact headers (no Content-Type unless given)
// and reports whether the body was read.
func do(t *testing.T, h http.Handler, path string, body []byte, hdr map[string]string) (reply, bool) {
	t.Helper()
	spy := &readSpy{r: bytes.NewReader(body)}
	req := httptest.NewRequest(http.MethodPost, path, spy)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := reply{code: rec.Code, body: rec.Body.String()}
	var e struct{ Error string }
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	out.err = e.Error
	return out, spy.read.Load()
}

func withJSON(h map[string]string) map[string]string {
	out := map[string]string{"Content-Type": "application/json"}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// TestSignatureHeaderBounds: X-PagerDuty-Signature is bounded in bytes and
// entries, and refused before the body is read or any HMAC computed; a
// malformed entry is skipped, so the good one of a rotation still passes.
func TestSignatureHeaderBounds(t *testing.T) {
	h := newHandler(t, testAuth)
	body := []byte(pdPayload("ev-b", "incident.acknowledged", "PB1")) // valid, raises nothing: 202 without Temporal
	good := "v1=" + intake.Sign(pdSecret, body)
	wrong := "v1=" + intake.Sign("nope", body)
	many := strings.TrimSuffix(strings.Repeat(wrong+",", intake.MaxSignatures+1), ",")
	huge := strings.TrimSuffix(strings.Repeat(wrong+",", 15000), ",") // ~1 MiB: minutes of HMACs before
	cases := []struct {
		name     string
		sig      string
		code     int
		errHas   string
		readBody bool
	}{
		{"nine entries", many, 400, "X-PagerDuty-Signature: 9 entries, at most 8", false},
		{"a 1 MiB header", huge, 400, "bytes, at most 1024", false},
		{"not hex", "v1=zz", 401, "no v1=<64 hex digits> entry", false},
		{"wrong scheme", "v0=" + intake.Sign(pdSecret, body), 401, "bad signature", false},
		{"short digest", "v1=00", 401, "bad signature", false},
		{"wrong key", wrong, 401, "bad signature", true},
		{"malformed entries skipped, the good one passes", "v1=zz, v9=1, " + wrong + ", " + good, 202, "", true},
		{"eight entries, one good", strings.Repeat(wrong+",", 7) + good, 202, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			r, read := do(t, h, "/alerts/pagerduty", body, withJSON(map[string]string{"X-PagerDuty-Signature": c.sig}))
			if r.code != c.code || !strings.Contains(r.err, c.errHas) {
				t.Errorf("got %d %s, want %d containing %q", r.code, r.body, c.code, c.errHas)
			}
			if read != c.readBody {
				t.Errorf("body read: %v, want %v", read, c.readBody)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	// dbt Cloud's signature header is bounded too.
	dbt := []byte(dbtPayload("e", "job.run.started", "1", "2", "Running"))
	r, read := do(t, h, "/alerts/dbt-cloud", dbt, withJSON(map[string]string{"Authorization": strings.Repeat("a", 2000)}))
	if r.code != 400 || !strings.Contains(r.err, "Authorization: 2000 bytes, at most 1024") || read {
		t.Errorf("dbt 2000-byte signature: %d %s (body read %v)", r.code, r.body, read)
	}
}

// TestBodyReadAfterCredentials: a request without the right bearer token is
// refused without reading its body.
func TestBodyReadAfterCredentials(t *testing.T) {
	h := newHandler(t, testAuth)
	body := []byte(`{"title":"x","dedupe_key":"k"}`)
	for _, c := range []struct {
		name, path string
		hdr        map[string]string
	}{
		{"generic, no token", "/alerts", nil},
		{"generic, wrong token", "/alerts", bearer("nope")},
		{"alertmanager, wrong token", "/alerts/alertmanager", bearer(genToken)},
		{"dbt, no signature", "/alerts/dbt-cloud", nil},
		{"pagerduty, no signature", "/alerts/pagerduty", nil},
	} {
		r, read := do(t, h, c.path, body, withJSON(c.hdr))
		if r.code != 401 || read {
			t.Errorf("%s: %d %s, body read %v; want 401 unread", c.name, r.code, r.body, read)
		}
	}
}

// TestContentType: only JSON bodies are taken.
func TestContentType(t *testing.T) {
	h := newHandler(t, testAuth)
	body := []byte(dbtPayload("e", "job.run.started", "1", "2", "Running")) // raises nothing: 202 without Temporal
	sig := intake.Sign(dbtSecret, body)
	for ct, want := range map[string]int{
		"":                                  415,
		"text/plain":                        415,
		"application/x-www-form-urlencoded": 415, // what curl -d sends
		"multipart/form-data; boundary=x":   415,
		"application/json;;":                415,
		"application/json":                  202,
		"application/json; charset=utf-8":   202,
		"Application/JSON":                  202,
		"application/vnd.api+json":          202,
	} {
		hdr := map[string]string{"Authorization": sig}
		if ct != "" {
			hdr["Content-Type"] = ct
		}
		r, read := do(t, h, "/alerts/dbt-cloud", body, hdr)
		if r.code != want {
			t.Errorf("Content-Type %q: %d %s, want %d", ct, r.code, r.body, want)
		}
		if want == 415 && (!strings.Contains(r.err, "application/json") || read) {
			t.Errorf("Content-Type %q: message %q, body read %v", ct, r.err, read)
		}
	}
}

// TestReadyzSaysNoMore: /readyz answers anyone, so it names no address and
// echoes no error.
func TestReadyzSaysNoMore(t *testing.T) {
	down, err := intake.New(offlineClient(t), testRoster(t), nil, testAuth, nil, intake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	down.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz: %d", rec.Code)
	}
	for _, leak := range []string{"127.0.0.1", ":1", "dial", "connection", "rpc", "temporal:"} {
		if strings.Contains(rec.Body.String(), leak) {
			t.Errorf("readyz answers %s: it has %q", rec.Body, leak)
		}
	}
}

// TestFieldBounds: every free-form field has a bound, and the answer names
// the field and the bound. Nothing is declared (the offline client would
// answer 503 if anything were).
func TestFieldBounds(t *testing.T) {
	h := newHandlerOpts(t, testAuth, intake.Options{})
	x := func(n int) string { return strings.Repeat("x", n) }
	gen := func(extra string) string { return `{"title":"t","dedupe_key":"k"` + extra + `}` }
	labels := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"l%d":"v"`, i)
		}
		return `,"labels":{` + b.String() + `}`
	}
	amOne := func(fp, extraLabels, annotations string) string {
		return `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"` + extraLabels + `},"annotations":{` + annotations + `},"startsAt":"2026-11-25T08:00:00Z","fingerprint":"` + fp + `"}]}`
	}
	var ann strings.Builder
	for i := range 65 {
		if i > 0 {
			ann.WriteString(",")
		}
		fmt.Fprintf(&ann, `"a%d":"v"`, i)
	}
	dbtBig := dbtPayload("e", "job.run.errored", "1", x(100), "Errored")
	pdBig := pdPayload(x(100), "incident.triggered", "P1")
	cases := []struct {
		name, path, body string
		code             int
		errHas           string
	}{
		{"label value 1 MiB", "/alerts", gen(`,"labels":{"dag":"` + x(1<<20-200) + `"}`), 400, `labels["dag"]: value of 1048376 bytes, at most 1024`},
		{"label value 2000 bytes", "/alerts", gen(`,"labels":{"dag":"` + x(2000) + `"}`), 400, `labels["dag"]: value of 2000 bytes, at most 1024`},
		{"label name 200 bytes", "/alerts", gen(`,"labels":{"` + x(200) + `":"v"}`), 400, `a label name of 200 bytes ("xxxxxxxxxxxxxxxx"…), at most 128`},
		{"65 labels", "/alerts", gen(labels(65)), 400, "labels: more than 64"},
		{"service", "/alerts", gen(`,"service":"` + x(300) + `"`), 400, "service: 300 bytes, at most 256"},
		{"dataset", "/alerts", gen(`,"dataset":"` + x(600) + `"`), 400, "dataset: 600 bytes, at most 512"},
		{"source", "/alerts", gen(`,"source":"` + x(100) + `"`), 400, `field "source": 100 bytes, at most 64`},
		{"id", "/alerts", gen(`,"id":"` + x(300) + `"`), 400, "id: 300 bytes, at most 200"},
		{"dedupe key", "/alerts", `{"title":"t","dedupe_key":"` + x(193) + `"}`, 400, `field "dedupe_key": 193 bytes, at most 192 (the intake puts it under "generic:")`},
		{"title", "/alerts", `{"title":"` + x(301) + `","dedupe_key":"k"}`, 400, "title: longer than 300 bytes"},
		{"description", "/alerts", gen(`,"description":"` + x(4001) + `"`), 400, "description: longer than 4000 bytes"},
		{"severity echo", "/alerts", gen(`,"severity":"` + x(10000) + `"`), 400, `field "severity"`},
		{"alertmanager fingerprint", "/alerts/alertmanager", amOne(x(100), "", ""), 400, "alerts[0].fingerprint: 100 bytes, at most 64"},
		{"alertmanager 65 annotations", "/alerts/alertmanager", amOne("f", "", ann.String()), 400, "alerts[0].annotations: 65 annotations, at most 64"},
		{"alertmanager 65 labels", "/alerts/alertmanager", amOne("f", strings.TrimSuffix(strings.Replace(labels(64), `"labels":{`, "", 1), "}"), ""), 400, "alerts[0].labels: 65 labels, at most 64"},
		{"alertmanager label value", "/alerts/alertmanager", amOne("f", `,"dataset":"`+x(5000)+`"`, ""), 400, "dataset: 5000 bytes, at most 512"},
		{"alertmanager label value 2", "/alerts/alertmanager", amOne("f", `,"team":"`+x(5000)+`"`, ""), 400, `labels["team"]: value of 5000 bytes, at most 1024`},
		{"dbt run ID", "/alerts/dbt-cloud", dbtBig, 400, `field "data.runId": 100 bytes, at most 64`},
		{"pagerduty event ID", "/alerts/pagerduty", pdBig, 400, `field "event.id": 100 bytes, at most 64`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := []byte(c.body)
			var hdr map[string]string
			switch c.path {
			case "/alerts":
				hdr = bearer(genToken)
			case "/alerts/alertmanager":
				hdr = bearer(amToken)
			case "/alerts/dbt-cloud":
				hdr = dbtSig(b)
			case "/alerts/pagerduty":
				hdr = pdSig(b)
			}
			r := post(t, h, c.path, b, hdr)
			if r.code != c.code || !strings.Contains(r.err, c.errHas) {
				t.Errorf("got %d %.300s, want %d containing %q", r.code, r.body, c.code, c.errHas)
			}
		})
	}
}

// amAlerts is an Alertmanager delivery of n distinct firing alerts.
func amAlerts(prefix string, n int) string {
	alerts := make([]string, n)
	for i := range alerts {
		alerts[i] = fmt.Sprintf(`{"status":"firing","labels":{"alertname":"Storm","i":"%d"},"annotations":{},"startsAt":"2026-11-25T08:00:00Z","fingerprint":"%s%d"}`, i, prefix, i)
	}
	return `{"version":"4","status":"firing","alerts":[` + strings.Join(alerts, ",") + `]}`
}

// TestAlertsPerDelivery: a delivery over the bound is refused whole, naming
// the bound; nothing is declared (the offline client would answer 503).
func TestAlertsPerDelivery(t *testing.T) {
	h := newHandler(t, testAuth)
	r := post(t, h, "/alerts/alertmanager", []byte(amAlerts("f", 5000)), bearer(amToken))
	if r.code != 413 || !strings.Contains(r.err, "5000 alerts in one delivery, at most 500 (DATASEV_INTAKE_MAX_ALERTS); nothing was declared") {
		t.Errorf("5,000 alerts: %d %s", r.code, r.body)
	}
	small := newHandlerOpts(t, testAuth, intake.Options{Limits: intake.Limits{MaxAlerts: 3}})
	if r := post(t, small, "/alerts/alertmanager", []byte(amAlerts("f", 4)), bearer(amToken)); r.code != 413 || !strings.Contains(r.err, "4 alerts in one delivery, at most 3") {
		t.Errorf("4 alerts, bound 3: %d %s", r.code, r.body)
	}
	if n := h.Metrics().Rejections(intake.SourceAlertmanager, "too_many_alerts"); n != 1 {
		t.Errorf("too_many_alerts rejections: %d", n)
	}
}

func TestLimitsFromEnv(t *testing.T) {
	env := map[string]string{
		intake.EnvMaxAlerts: "100", intake.EnvNewIncidentsPerMinute: "2.5", intake.EnvNewIncidentBurst: "7", intake.EnvReplayWindow: "5m",
		intake.EnvStorm: "Throttle",
	}
	l, err := intake.LimitsFromEnv(func(k string) string { return env[k] })
	if err != nil || l != (intake.Limits{MaxAlerts: 100, NewIncidentsPerMinute: 2.5, NewIncidentBurst: 7, ReplayWindow: 5 * time.Minute, Storm: intake.StormThrottle}) {
		t.Errorf("%+v %v", l, err)
	}
	env = map[string]string{intake.EnvMaxAlerts: "-1", intake.EnvReplayWindow: "ten minutes", intake.EnvStorm: "drop"}
	if _, err := intake.LimitsFromEnv(func(k string) string { return env[k] }); err == nil ||
		!strings.Contains(err.Error(), intake.EnvMaxAlerts) || !strings.Contains(err.Error(), intake.EnvReplayWindow) ||
		!strings.Contains(err.Error(), intake.EnvStorm+`="drop": want join`) {
		t.Errorf("bad values: %v", err)
	}
}

// TestReplayWindow: a signed dbt Cloud or PagerDuty delivery whose own
// timestamp is outside the window is refused, whatever its signature.
func TestReplayWindow(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	h := newHandlerOpts(t, testAuth, intake.Options{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	dbt := []byte(dbtPayload("e", "job.run.started", "1", "2", "Running")) // raises nothing: 202 without Temporal
	pd := []byte(pdPayload("e", "incident.acknowledged", "P1"))
	send := func() (reply, reply) {
		return post(t, h, "/alerts/dbt-cloud", dbt, dbtSig(dbt)), post(t, h, "/alerts/pagerduty", pd, pdSig(pd))
	}
	if d, p := send(); d.code != 202 || p.code != 202 {
		t.Fatalf("fresh: %d %s / %d %s", d.code, d.body, p.code, p.body)
	}
	now.Add(int64(11 * time.Minute))
	d, p := send()
	if d.code != 401 || !strings.Contains(d.err, "stale delivery: timestamp") || !strings.Contains(d.err, "beyond the 10m0s replay window (DATASEV_INTAKE_REPLAY_WINDOW)") {
		t.Errorf("dbt 11 minutes later: %d %s", d.code, d.body)
	}
	if p.code != 401 || !strings.Contains(p.err, "stale delivery: event.occurred_at") {
		t.Errorf("pagerduty 11 minutes later: %d %s", p.code, p.body)
	}
	now.Add(-int64(22 * time.Minute))
	if d, _ := send(); d.code != 401 || !strings.Contains(d.err, "delivery from the future") {
		t.Errorf("dbt 11 minutes early: %d %s", d.code, d.body)
	}
	// The window needs the timestamp: a signed body without one is refused.
	noTS := []byte(strings.Replace(string(dbt), `"timestamp"`, `"timestamp_"`, 1))
	if r := post(t, h, "/alerts/dbt-cloud", noTS, dbtSig(noTS)); r.code != 400 || !strings.Contains(r.err, `field "timestamp": required`) {
		t.Errorf("no timestamp: %d %s", r.code, r.body)
	}
	badTS := []byte(strings.Replace(string(pd), `"occurred_at": "`, `"occurred_at": "yesterday`, 1))
	if r := post(t, h, "/alerts/pagerduty", badTS, pdSig(badTS)); r.code != 400 || !strings.Contains(r.err, "is not an RFC 3339 time") {
		t.Errorf("bad timestamp: %d %s", r.code, r.body)
	}
	if n := h.Metrics().Rejections(intake.SourcePagerDuty, "stale"); n != 2 {
		t.Errorf("stale rejections: %d", n)
	}
}

// TestReplayAfterClosure: a captured PagerDuty trigger, replayed once its
// incident has closed and the window has passed, opens nothing.
func TestReplayAfterClosure(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	h := newHandlerOpts(t, testAuth, intake.Options{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	inc := "PR" + uniq()
	id := workflows.WorkflowID("pagerduty:" + inc)
	trig := []byte(pdPayload("01EV"+inc, "incident.triggered", inc))
	r := post(t, h, "/alerts/pagerduty", trig, pdSig(trig))
	if r.code != 202 || len(r.resp.Incidents) != 1 || r.resp.Incidents[0].ID != id {
		t.Fatalf("trigger: %d %s", r.code, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Closed (how it closed does not matter here).
	if err := tc.TerminateWorkflow(ctx, id, "", "test: the incident is over"); err != nil {
		t.Fatal(err)
	}
	now.Add(int64(31 * time.Minute))
	r = post(t, h, "/alerts/pagerduty", trig, pdSig(trig))
	if r.code != 401 || !strings.Contains(r.err, "stale delivery") {
		t.Errorf("replay after closure: %d %s, want 401 stale", r.code, r.body)
	}
	desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Errorf("after the replay the latest run is %s, want the terminated one (no new run)", st)
	}
}

// TestNewIncidentRate: new incidents per source are limited; in throttle
// mode the answer is 429 with Retry-After, listing what was declared and what was not; repeats
// that join an open incident, and recoveries, still pass.
func TestNewIncidentRate(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	h := newHandlerOpts(t, testAuth, intake.Options{Limits: intake.Limits{NewIncidentBurst: 2, NewIncidentsPerMinute: 1, Storm: intake.StormThrottle}})
	u := "r" + uniq() + "-"
	storm := []byte(amAlerts(u, 4))
	r := post(t, h, "/alerts/alertmanager", storm, bearer(amToken))
	if r.code != http.StatusTooManyRequests {
		t.Fatalf("4 new alerts, burst 2: %d %s, want 429", r.code, r.body)
	}
	var got intake.Throttled
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Incidents) != 2 || len(got.Throttled) != 2 || got.Throttled[0] != "alertmanager:Storm:"+u+"2" ||
		!strings.Contains(got.Error, "2 of 4 alerts would open new incidents beyond the alertmanager source's rate (1 a minute, burst 2") {
		t.Errorf("answer: %s", r.body)
	}
	ra := r.hdr.Get("Retry-After")
	if n, err := strconv.Atoi(ra); err != nil || n < 1 || n > 60 {
		t.Errorf("Retry-After %q", ra)
	}
	for _, k := range got.Throttled {
		var nf *serviceerror.NotFound
		if _, err := tc.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(k), ""); !errors.As(err, &nf) {
			t.Errorf("%s was throttled but exists (%v)", k, err)
		}
	}
	// The same delivery again: the two open incidents are joined (never
	// limited), the other two are still over the rate.
	r = post(t, h, "/alerts/alertmanager", storm, bearer(amToken))
	if r.code != 429 || !strings.Contains(r.body, `"joined":true`) {
		t.Errorf("redelivery: %d %s", r.code, r.body)
	}
	// Only the opened ones: 202.
	opened := []byte(amAlerts(u, 2))
	if r := post(t, h, "/alerts/alertmanager", opened, bearer(amToken)); r.code != 202 || len(r.resp.Incidents) != 2 || !r.resp.Incidents[0].Joined {
		t.Errorf("repeats of open incidents: %d %s, want 202 joined", r.code, r.body)
	}
	// Another source has its own bucket.
	k := "rate-" + uniq()
	if r := post(t, h, "/alerts", []byte(`{"title":"t","dedupe_key":"`+k+`"}`), bearer(genToken)); r.code != 202 {
		t.Errorf("generic after alertmanager's burst: %d %s", r.code, r.body)
	}
	if n := h.Metrics().Incidents(intake.SourceAlertmanager, "throttled"); n != 4 {
		t.Errorf("throttled: %d, want 4", n)
	}
}

// TestKeysScopedBySource: the generic endpoint addresses only generic:
// keys, so its token cannot resolve (or flood) another source's incident,
// nor take another workflow's ID.
func TestKeysScopedBySource(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	h := newHandler(t, testAuth)
	inc := "PS" + uniq()
	pdID := workflows.WorkflowID("pagerduty:" + inc)
	trig := []byte(pdPayload("01EV"+inc, "incident.triggered", inc))
	if r := post(t, h, "/alerts/pagerduty", trig, pdSig(trig)); r.code != 202 || r.resp.Incidents[0].ID != pdID {
		t.Fatalf("trigger: %d %s", r.code, r.body)
	}
	// A generic-token holder tries to resolve it.
	r := post(t, h, "/alerts", []byte(`{"title":"fixed","dedupe_key":"pagerduty:`+inc+`","status":"resolved"}`), bearer(genToken))
	if r.code != 202 || len(r.resp.Incidents) != 1 || r.resp.Incidents[0].ID != workflows.WorkflowID("generic:pagerduty:"+inc) || !r.resp.Incidents[0].Ignored {
		t.Errorf("generic resolve of a pagerduty key: %d %s, want it under generic: and ignored", r.code, r.body)
	}
	// ... or to send as PagerDuty.
	if r := post(t, h, "/alerts", []byte(`{"title":"fixed","dedupe_key":"x","source":"pagerduty"}`), bearer(genToken)); r.code != 400 || !strings.Contains(r.err, `field "source": "pagerduty" is another front door's name`) {
		t.Errorf("generic as pagerduty: %d %s", r.code, r.body)
	}
	// ... or to take the incident's runbook child ID.
	if r := post(t, h, "/alerts", []byte(`{"title":"t","dedupe_key":"pagerduty:`+inc+`/runbook"}`), bearer(genToken)); r.code != 400 || !strings.Contains(r.err, `dedupe_key: "/" at byte`) {
		t.Errorf("a /runbook key: %d %s", r.code, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	time.Sleep(300 * time.Millisecond)
	st := status(t, pdID)
	if st.AlertStatus == workflows.Recovered {
		t.Errorf("the pagerduty incident took the generic resolve: %+v", st.AlertStatus)
	}
	signals := 0
	it := tc.GetWorkflowHistory(ctx, pdID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			signals++
		}
	}
	if signals != 1 {
		t.Errorf("the pagerduty incident got %d signals, want 1 (its own trigger)", signals)
	}
}
