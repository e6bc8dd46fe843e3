package realsrv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/dev/realsrv"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

const amToken = "am-real-token"

// delivery is one webhook request Alertmanager made to the intake, and the
// intake's answer.
type delivery struct {
	payload intake.AlertmanagerPayload
	code    int
	body    string
	resp    intake.Response
}

// firing counts the payload's alerts with status firing, resolved the
// others.
func (d delivery) counts() (firing, resolved int) {
	for _, a := range d.payload.Alerts {
		if a.Status == "firing" {
			firing++
		} else {
			resolved++
		}
	}
	return firing, resolved
}

// result is the intake's answer for the payload's alert with label
// instance=inst.
func (d delivery) result(t *testing.T, inst string) intake.Result {
	t.Helper()
	if len(d.resp.Incidents) != len(d.payload.Alerts) {
		t.Fatalf("delivery of %d alerts answered %d %s", len(d.payload.Alerts), d.code, d.body)
	}
	for i, a := range d.payload.Alerts {
		if a.Labels["instance"] == inst {
			return d.resp.Incidents[i]
		}
	}
	t.Fatalf("no alert of instance %s in the delivery: %+v", inst, d.payload.Alerts)
	return intake.Result{}
}

// recorder serves the intake's handler and keeps every delivery.
type recorder struct {
	h  http.Handler
	mu sync.Mutex
	ds []delivery
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	rc.h.ServeHTTP(rec, r)
	d := delivery{code: rec.Code, body: rec.Body.String()}
	_ = json.Unmarshal(body, &d.payload)
	if rec.Code == http.StatusAccepted {
		_ = json.Unmarshal(rec.Body.Bytes(), &d.resp)
	}
	rc.mu.Lock()
	rc.ds = append(rc.ds, d)
	rc.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (rc *recorder) all() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.ds...)
}

// wait returns the deliveries once n of them (counted from index from)
// satisfy match, failing the test after a minute; it also returns the
// index past the last one matched.
func (rc *recorder) wait(t *testing.T, am *realsrv.AlertmanagerServer, from, n int, what string, match func(delivery) bool) (delivery, int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ds := rc.all()
		seen := 0
		for i := from; i < len(ds); i++ {
			if match(ds[i]) {
				seen++
				if seen == n {
					return ds[i], i + 1
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; deliveries so far:\n%s\nAlertmanager's log:\n%s", what, describe(ds), am.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describe(ds []delivery) string {
	var b strings.Builder
	for i, d := range ds {
		f, r := d.counts()
		fmt.Fprintf(&b, "  #%d status=%s firing=%d resolved=%d -> %d %s\n", i, d.payload.Status, f, r, d.code, strings.TrimSpace(d.body))
	}
	return b.String()
}

// intakeRoster has one 24-hour shift whose boundary is twelve hours away.
func intakeRoster(t *testing.T) oncall.Roster {
	t.Helper()
	at := fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)
	r := oncall.Roster{
		Team: "realsrv-team", TimeZone: "UTC",
		People: []oncall.Person{{ID: "alice"}, {ID: "bob"}, {ID: "carol"}, {ID: "dave"}},
		Shifts: []oncall.Shift{{Name: "all", Start: at, End: at, Commander: "alice", Secondary: "bob", Scribe: "carol", Liaison: "dave"}},
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

func incidentStatus(t *testing.T, id string) workflows.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		t.Fatalf("status of %s: %v", id, err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		t.Fatalf("status of %s: %v", id, err)
	}
	return st
}

// waitAlertStatus waits until incident id's alert status is want, and
// returns its status.
func waitAlertStatus(t *testing.T, id string, want workflows.AlertStatus) workflows.Status {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st := incidentStatus(t, id)
		if st.AlertStatus == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident %s: alert status %q, want %q (state %s, %d alerts)", id, st.AlertStatus, want, st.State, st.AlertCount)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAlertmanagerDeliversToIntake runs a real Alertmanager whose webhook
// receiver posts to the intake's real handler, pushes alerts to it through
// its API v2 as Prometheus does, and checks what the intake made of each
// delivery: a firing alert opens an incident; Alertmanager's repeat
// notifications join it and are not counted again (same alert ID); a
// second series joining the group is delivered with the first, which joins
// its incident again while the new series (another fingerprint, another
// dedupe key) opens its own; resolving both sends a resolved delivery that
// marks both incidents' alerts resolved without opening or closing any.
// Every delivery is answered 202, and Alertmanager counts no failed
// webhook notification.
func TestAlertmanagerDeliversToIntake(t *testing.T) {
	exe := ensure(t, realsrv.Alertmanager)
	if tc == nil {
		t.Fatal("no Temporal dev server (TestMain did not start one)")
	}
	h, err := intake.New(tc, intakeRoster(t), nil, intake.Auth{AlertmanagerToken: amToken}, nil, intake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rc := &recorder{h: h}
	web := httptest.NewServer(rc) // 127.0.0.1
	defer web.Close()

	route := realsrv.WebhookRoute{
		URL: web.URL + "/alerts/alertmanager", Token: amToken,
		GroupBy:   []string{"alertname"},
		GroupWait: time.Second, GroupInterval: 2 * time.Second, RepeatInterval: 3 * time.Second,
		MaxAlerts: intake.DefaultMaxAlerts,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	am, err := realsrv.StartAlertmanager(ctx, exe, t.TempDir(), route.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer am.Stop()

	name := fmt.Sprintf("DatasevRealAM%d", time.Now().UnixNano())
	alert := func(inst string) realsrv.PostableAlert {
		return realsrv.PostableAlert{
			Labels: map[string]string{"alertname": name, "instance": inst, "job": "orders-loader",
				"severity": "critical", "dataset": "raw.orders"},
			Annotations:  map[string]string{"summary": "orders loader down on " + inst},
			GeneratorURL: "http://127.0.0.1:9090/graph",
		}
	}
	push := func(as ...realsrv.PostableAlert) {
		t.Helper()
		if err := am.PushAlerts(ctx, as...); err != nil {
			t.Fatal(err)
		}
	}
	only := func(firing, resolved int) func(delivery) bool {
		return func(d delivery) bool {
			f, r := d.counts()
			return f == firing && r == resolved
		}
	}

	// Firing: one alert, one new incident.
	push(alert("loader-1"))
	first, next := rc.wait(t, am, 0, 1, "the first delivery", only(1, 0))
	if first.payload.Version != "4" || first.payload.Receiver != "datasev" || first.payload.GroupLabels["alertname"] != name || first.payload.Status != "firing" {
		t.Errorf("first delivery: version %q receiver %q group labels %v status %q", first.payload.Version, first.payload.Receiver, first.payload.GroupLabels, first.payload.Status)
	}
	r1 := first.result(t, "loader-1")
	if r1.Joined || r1.Ignored || r1.ID == "" {
		t.Fatalf("first delivery: %+v, want a new incident", r1)
	}
	startsAt1 := first.payload.Alerts[0].StartsAt

	// Repeats: Prometheus resends the alert, Alertmanager repeats its
	// notification after repeat_interval; each joins the same run with the
	// same alert ID.
	push(alert("loader-1"))
	rep, next := rc.wait(t, am, next, 1, "a repeat notification", only(1, 0))
	if r := rep.result(t, "loader-1"); !r.Joined || r.ID != r1.ID || r.RunID != r1.RunID || r.AlertID != r1.AlertID {
		t.Errorf("repeat: %+v, want a join of %s run %s with alert ID %s", r, r1.ID, r1.RunID, r1.AlertID)
	}

	// A growing group: a second series joins the group and the group is
	// delivered again with both.
	push(alert("loader-1"), alert("loader-2"))
	grown, next := rc.wait(t, am, next, 1, "the grown group", only(2, 0))
	if r := grown.result(t, "loader-1"); !r.Joined || r.ID != r1.ID || r.RunID != r1.RunID || r.AlertID != r1.AlertID {
		t.Errorf("grown group, first series: %+v, want a join of %s run %s with alert ID %s", r, r1.ID, r1.RunID, r1.AlertID)
	}
	r2 := grown.result(t, "loader-2")
	if r2.Joined || r2.Ignored || r2.ID == r1.ID {
		t.Errorf("grown group, second series: %+v, want a new incident other than %s", r2, r1.ID)
	}
	var startsAt2 time.Time
	for _, a := range grown.payload.Alerts {
		if a.Labels["instance"] == "loader-2" {
			startsAt2 = a.StartsAt
		}
	}
	// And repeated with both.
	rep2, next := rc.wait(t, am, next, 1, "a repeat of the grown group", only(2, 0))
	for _, inst := range []string{"loader-1", "loader-2"} {
		if r := rep2.result(t, inst); !r.Joined {
			t.Errorf("repeat of the grown group, %s: %+v, want a join", inst, r)
		}
	}

	// Resolution: endsAt in the past (startsAt as Alertmanager has it, so
	// the update merges with the firing alert).
	past := time.Now().Add(-time.Second)
	a1, a2 := alert("loader-1"), alert("loader-2")
	a1.StartsAt, a1.EndsAt = startsAt1, past
	a2.StartsAt, a2.EndsAt = startsAt2, past
	push(a1, a2)
	res, _ := rc.wait(t, am, next, 1, "the resolved delivery", only(0, 2))
	if res.payload.Status != "resolved" {
		t.Errorf("resolved delivery: status %q, want resolved", res.payload.Status)
	}
	for _, c := range []struct {
		inst string
		id   string
	}{{"loader-1", r1.ID}, {"loader-2", r2.ID}} {
		r := res.result(t, c.inst)
		if !r.Joined || r.Ignored || r.ID != c.id {
			t.Errorf("resolution of %s: %+v, want a join of %s", c.inst, r, c.id)
		}
		// The recovery is the last signal sent, so once it shows every
		// earlier one has been applied: one alert counted for all the
		// repeats, and the incident stays open (recovery never closes).
		st := waitAlertStatus(t, c.id, workflows.Recovered)
		if st.AlertCount != 1 {
			t.Errorf("incident %s: %d alerts counted, want 1 (repeats are not counted again)", c.id, st.AlertCount)
		}
		if st.State == workflows.Closed || st.State == workflows.Resolved {
			t.Errorf("incident %s: state %s after the source's recovery, want it still open", c.id, st.State)
		}
	}

	ds := rc.all()
	for i, d := range ds {
		if d.code != http.StatusAccepted {
			t.Errorf("delivery #%d answered %d %s, want 202", i, d.code, d.body)
		}
	}
	m := h.Metrics()
	if got := m.Incidents(intake.SourceAlertmanager, "started"); got != 2 {
		t.Errorf("intake: %d incidents started, want 2", got)
	}
	if got := m.Incidents(intake.SourceAlertmanager, "ignored"); got != 0 {
		t.Errorf("intake: %d alerts ignored, want 0", got)
	}
	failed, found, err := am.Metric(ctx, "alertmanager_notifications_failed_total", map[string]string{"integration": "webhook"})
	if err != nil {
		t.Fatal(err)
	}
	if !found || failed != 0 {
		t.Errorf("alertmanager_notifications_failed_total{integration=\"webhook\"}: %v (found %v), want 0\n%s", failed, found, am.Log())
	}
	sent, found, err := am.Metric(ctx, "alertmanager_notifications_total", map[string]string{"integration": "webhook"})
	if err != nil {
		t.Fatal(err)
	}
	if !found || int(sent) < len(ds) {
		t.Errorf("alertmanager_notifications_total{integration=\"webhook\"}: %v (found %v), want at least the %d deliveries seen", sent, found, len(ds))
	}
}
