package intake_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
)

// step is one delivery to the real handler and what the answer must say.
type step struct {
	name    string
	path    string
	body    string
	hdr     func(body []byte) map[string]string
	code    int
	results []want         // one per alert of the delivery
	counts  map[string]int // incident workflow ID → alert count after the step
}

type want struct {
	id      string
	joined  bool
	ignored bool
}

func dbtSig(b []byte) map[string]string {
	return map[string]string{"Authorization": intake.Sign(dbtSecret, b)}
}
func pdSig(b []byte) map[string]string {
	// Two signatures, as during a secret rotation: one stale, one good.
	return map[string]string{"X-PagerDuty-Signature": "v1=" + intake.Sign("old-secret", b) + ", v1=" + intake.Sign(pdSecret, b)}
}
func amAuth([]byte) map[string]string  { return bearer(amToken) }
func genAuth([]byte) map[string]string { return bearer(genToken) }

func runSteps(t *testing.T, h http.Handler, steps []step) {
	t.Helper()
	for _, s := range steps {
		r := post(t, h, s.path, []byte(s.body), s.hdr([]byte(s.body)))
		if r.code != s.code {
			t.Fatalf("%s: %d %s, want %d", s.name, r.code, r.body, s.code)
		}
		if len(r.resp.Incidents) != len(s.results) {
			t.Fatalf("%s: %d results %s, want %d", s.name, len(r.resp.Incidents), r.body, len(s.results))
		}
		for i, w := range s.results {
			got := r.resp.Incidents[i]
			if got.ID != w.id || got.Joined != w.joined || got.Ignored != w.ignored {
				t.Errorf("%s: result %d = %+v, want %+v", s.name, i, got, w)
			}
			if !w.ignored && (got.RunID == "" || !strings.Contains(got.UIURL, "/workflows/"+got.ID+"/"+got.RunID)) {
				t.Errorf("%s: result %d lacks run ID or UI link: %+v", s.name, i, got)
			}
		}
		for id, n := range s.counts {
			if got := alertCount(t, id, n); got != n {
				t.Errorf("%s: %s has %d alerts, want %d", s.name, id, got, n)
			}
		}
	}
}

func TestAlertmanager(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	h := newHandler(t, testAuth)
	u := uniq()
	fpA, fpB := "a"+u, "b"+u
	idA := workflows.WorkflowID("alertmanager:OrdersLoaderDown:" + fpA)
	idB := workflows.WorkflowID("alertmanager:OrdersLoaderDown:" + fpB)
	firing := amPayload("firing", amAlert("firing", fpA, "OrdersLoaderDown", "critical"), amAlert("firing", fpB, "OrdersLoaderDown", "warning"))
	runSteps(t, h, []step{
		{"two alerts open two incidents", "/alerts/alertmanager", firing, amAuth, 202,
			[]want{{id: idA}, {id: idB}}, map[string]int{idA: 1, idB: 1}},
		{"redelivery counts once", "/alerts/alertmanager", firing, amAuth, 202,
			[]want{{id: idA, joined: true}, {id: idB, joined: true}}, map[string]int{idA: 1, idB: 1}},
		{"resolved signals the incident", "/alerts/alertmanager", amPayload("resolved", amAlert("resolved", fpA, "OrdersLoaderDown", "critical")), amAuth, 202,
			[]want{{id: idA, joined: true}}, nil},
	})
	st := status(t, idA)
	if st.Severity != workflows.SEV2 || st.Service != "orders-loader" || st.Dataset != "raw.orders" || st.Title != "OrdersLoaderDown on loader-1" {
		t.Errorf("incident A: severity %s service %q dataset %q title %q; want SEV2 orders-loader raw.orders", st.Severity, st.Service, st.Dataset, st.Title)
	}
	if st := status(t, idB); st.Severity != workflows.SEV4 {
		t.Errorf("incident B severity %s, want SEV4 (warning)", st.Severity)
	}
	if st.AlertStatus != workflows.Recovered {
		// The resolution may still be on its way; wait for it.
		waitFor(t, func() bool { return status(t, idA).AlertStatus == workflows.Recovered }, "incident A to see the resolution")
	}
	if n := h.Metrics().Incidents(intake.SourceAlertmanager, "started"); n != 2 {
		t.Errorf("started %d, want 2", n)
	}
}

func TestDBTCloud(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	h := newHandler(t, testAuth)
	job := "job" + uniq()
	id := workflows.WorkflowID("dbt_cloud:job:" + job)
	errored := dbtPayload("wev_1", "job.run.errored", job, "7001", "Errored")
	runSteps(t, h, []step{
		{"started is ignored", "/alerts/dbt-cloud", dbtPayload("wev_0", "job.run.started", job, "7001", "Running"), dbtSig, 202, nil, nil},
		{"errored opens the incident", "/alerts/dbt-cloud", errored, dbtSig, 202, []want{{id: id}}, map[string]int{id: 1}},
		{"replayed delivery counts once", "/alerts/dbt-cloud", errored, dbtSig, 202, []want{{id: id, joined: true}}, map[string]int{id: 1}},
		{"completed (errored) of the same run counts once", "/alerts/dbt-cloud", dbtPayload("wev_2", "job.run.completed", job, "7001", "Errored"), dbtSig, 202,
			[]want{{id: id, joined: true}}, map[string]int{id: 1}},
		{"the next failed run is a second alert", "/alerts/dbt-cloud", dbtPayload("wev_3", "job.run.errored", job, "7002", "Errored"), dbtSig, 202,
			[]want{{id: id, joined: true}}, map[string]int{id: 2}},
		{"a successful run resolves", "/alerts/dbt-cloud", dbtPayload("wev_4", "job.run.completed", job, "7003", "Success"), dbtSig, 202,
			[]want{{id: id, joined: true}}, nil},
	})
	waitFor(t, func() bool { return status(t, id).AlertStatus == workflows.Recovered }, "the resolution")
	// A success for a job with no open incident opens nothing.
	other := "job" + uniq()
	runSteps(t, h, []step{{"success with nothing open", "/alerts/dbt-cloud", dbtPayload("wev_5", "job.run.completed", other, "1", "Success"), dbtSig, 202,
		[]want{{id: workflows.WorkflowID("dbt_cloud:job:" + other), ignored: true}}, nil}})
}

func TestPagerDuty(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	h := newHandler(t, testAuth)
	inc := "P" + uniq()
	id := workflows.WorkflowID("pagerduty:" + inc)
	trig := pdPayload("01EV"+inc, "incident.triggered", inc)
	runSteps(t, h, []step{
		{"triggered opens", "/alerts/pagerduty", trig, pdSig, 202, []want{{id: id}}, map[string]int{id: 1}},
		{"replay counts once", "/alerts/pagerduty", trig, pdSig, 202, []want{{id: id, joined: true}}, map[string]int{id: 1}},
		{"acknowledged is ignored", "/alerts/pagerduty", pdPayload("02EV"+inc, "incident.acknowledged", inc), pdSig, 202, nil, nil},
		{"resolved signals", "/alerts/pagerduty", pdPayload("03EV"+inc, "incident.resolved", inc), pdSig, 202, []want{{id: id, joined: true}}, nil},
	})
	st := status(t, id)
	if st.Severity != workflows.SEV2 || st.Service != "Data warehouse" || st.Title != "Warehouse freshness SLA missed" {
		t.Errorf("severity %s service %q title %q", st.Severity, st.Service, st.Title)
	}
	waitFor(t, func() bool { return status(t, id).AlertStatus == workflows.Recovered }, "the resolution")
}

func TestGeneric(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	h := newHandler(t, testAuth)
	key := "airflow:orders_daily:" + uniq()
	id := workflows.WorkflowID("generic:" + key) // the generic source's keys are its own
	body := `{"id": "try-1", "title": "orders_daily load failed", "dedupe_key": "` + key + `", "severity": "critical",
	  "source": "airflow", "service": "orders", "dataset": "analytics.orders_daily", "labels": {"dag": "orders_daily"},
	  "description": "task load_orders failed after 3 tries"}`
	runSteps(t, h, []step{
		{"declares", "/alerts", body, genAuth, 202, []want{{id: id}}, map[string]int{id: 1}},
		{"retried POST counts once", "/alerts", body, genAuth, 202, []want{{id: id, joined: true}}, map[string]int{id: 1}},
		{"another delivery counts", "/alerts", strings.Replace(body, "try-1", "try-2", 1), genAuth, 202, []want{{id: id, joined: true}}, map[string]int{id: 2}},
		{"resolved", "/alerts", `{"title": "orders_daily recovered", "dedupe_key": "` + key + `", "status": "resolved"}`, genAuth, 202, []want{{id: id, joined: true}}, nil},
	})
	st := status(t, id)
	if st.Severity != workflows.SEV2 || st.Service != "orders" || st.Dataset != "analytics.orders_daily" {
		t.Errorf("severity %s service %q dataset %q", st.Severity, st.Service, st.Dataset)
	}
	// Insecure mode accepts a source with no secret, and only then.
	dev := newHandler(t, intake.Auth{Insecure: true, GenericToken: genToken})
	k2 := "script:" + uniq()
	if r := post(t, dev, "/alerts", []byte(`{"title":"t","dedupe_key":"`+k2+`"}`), nil); r.code != 401 {
		t.Errorf("insecure mode with a token configured, no token: %d, want 401", r.code)
	}
	if r := post(t, dev, "/alerts/alertmanager", []byte(amPayload("firing", amAlert("firing", "z"+uniq(), "X", ""))), nil); r.code != 202 {
		t.Errorf("insecure mode, unconfigured source: %d %s, want 202", r.code, r.body)
	}
}
