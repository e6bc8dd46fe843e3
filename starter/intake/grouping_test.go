package intake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
)

// groupedSet is a runbook set of one runbook for alertname, grouping as
// groupBy (YAML) says; its one step waits, so nothing runs outside.
func groupedSet(t *testing.T, alertname, groupBy string) *runbooks.Set {
	t.Helper()
	src := fmt.Sprintf("name: grouped\ndescription: d\nowner: o\nmatch:\n  labels: {alertname: %s}\n%s\nsteps:\n  - {id: wait, check: {action: core.wait, with: {duration: 1h}}}\n", alertname, groupBy)
	set, err := runbooks.LoadLayers(runbooks.Layer{FS: fstest.MapFS{"grouped.yaml": &fstest.MapFile{Data: []byte(src)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runbooks.Validate(set, nil); err != nil {
		t.Fatal(err)
	}
	return set
}

func groupedHandler(t *testing.T, set *runbooks.Set, opts intake.Options) *intake.Handler {
	t.Helper()
	opts.UIURL = "http://127.0.0.1:8233"
	h, err := intake.New(tc, testRoster(t), set, testAuth, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// amDelivery is an Alertmanager delivery of groupKey with one alert per
// fingerprint, its dataset label datasets[i] (none when "-").
func amDelivery(groupKey, alertname, status string, fps, datasets []string) []byte {
	alerts := make([]string, len(fps))
	for i, fp := range fps {
		ds := ""
		if datasets != nil && datasets[i] != "-" {
			v, _ := json.Marshal(datasets[i])
			ds = `,"dataset":` + string(v)
		}
		alerts[i] = fmt.Sprintf(`{"status":%q,"labels":{"alertname":%q,"i":"%d"%s},"annotations":{"summary":"load %d"},"startsAt":"2026-11-25T08:00:00Z","fingerprint":%q}`,
			status, alertname, i, ds, i, fp)
	}
	return []byte(fmt.Sprintf(`{"version":"4","groupKey":%q,"status":%q,"alerts":[%s]}`, groupKey, status, strings.Join(alerts, ",")))
}

// signalled returns the alerts signalled to the latest run of id.
func signalled(t *testing.T, id string) []workflows.Alert {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []workflows.Alert
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		attrs := ev.GetWorkflowExecutionSignaledEventAttributes()
		if attrs == nil || attrs.GetSignalName() != workflows.SignalAlert {
			continue
		}
		var a workflows.Alert
		if err := json.Unmarshal(attrs.GetInput().GetPayloads()[0].GetData(), &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// TestGroupByLabels: a runbook grouping by dataset opens one incident per
// dataset value; each alert is a distinct member carrying its own key; a
// recovery goes to its group's incident; an alert without the label groups
// under the empty value.
func TestGroupByLabels(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	u := uniq()
	name := "GroupedLoad" + strings.ReplaceAll(u, "-", "")
	h := groupedHandler(t, groupedSet(t, name, "group_by:\n  labels: [dataset]"), intake.Options{})
	fps := []string{"a" + u, "b" + u, "c" + u, "d" + u, "e" + u, "f" + u}
	ds := []string{"orders" + u, "events" + u, "orders" + u, "events" + u, "orders" + u, "events" + u}
	r := post(t, h, "/alerts/alertmanager", amDelivery("{}:{}", name, "firing", fps, ds), bearer(amToken))
	if r.code != http.StatusAccepted || len(r.resp.Incidents) != 6 {
		t.Fatalf("6 alerts: %d %s", r.code, r.body)
	}
	ids, members := map[string]bool{}, map[string]bool{}
	for i, res := range r.resp.Incidents {
		ids[res.ID] = true
		members[res.Member] = true
		if want := "alertmanager:" + name + ":" + fps[i]; res.Member != want || res.Group != "labels dataset="+ds[i] || res.Storm {
			t.Errorf("alert %d: member %q group %q storm %v; want member %q, group labels dataset=%s", i, res.Member, res.Group, res.Storm, want, ds[i])
		}
		if !strings.HasPrefix(res.ID, workflows.WorkflowID("group:alertmanager:grouped:")) {
			t.Errorf("alert %d: incident %s, want a group key", i, res.ID)
		}
	}
	if len(ids) != 2 || len(members) != 6 {
		t.Fatalf("%d incidents, %d members; want 2 incidents (one per dataset), 6 distinct members", len(ids), len(members))
	}
	orders := r.resp.Incidents[0].ID
	if r.resp.Incidents[2].ID != orders || r.resp.Incidents[1].ID == orders {
		t.Errorf("orders alerts in %s and %s, events in %s", orders, r.resp.Incidents[2].ID, r.resp.Incidents[1].ID)
	}
	// One member recovers: its recovery goes to its group's incident.
	rec := post(t, h, "/alerts/alertmanager", amDelivery("{}:{}", name, "resolved", fps[:1], ds[:1]), bearer(amToken))
	if rec.code != 202 || rec.resp.Incidents[0].ID != orders || !rec.resp.Incidents[0].Joined || rec.resp.Incidents[0].Member != "alertmanager:"+name+":"+fps[0] {
		t.Errorf("recovery: %d %s, want it joined to %s as its member", rec.code, rec.body, orders)
	}
	// A signal that arrives while a workflow task runs is buffered by the
	// server and joins the history when the task completes.
	var last workflows.Alert
	waitFor(t, func() bool {
		got := signalled(t, orders)
		last = got[len(got)-1]
		return last.Status == workflows.Recovered
	}, "the recovery in the orders incident's history")
	if last.Status != workflows.Recovered || last.Member != "alertmanager:"+name+":"+fps[0] || last.DedupeKey == last.Member {
		t.Errorf("the orders incident's last alert: %+v", last)
	}
	// Without the label: the empty value's group, its own incident.
	nolabel := post(t, h, "/alerts/alertmanager", amDelivery("{}:{}", name, "firing", []string{"g" + u}, []string{"-"}), bearer(amToken))
	if nolabel.code != 202 || ids[nolabel.resp.Incidents[0].ID] || nolabel.resp.Incidents[0].Group != "labels dataset=" {
		t.Errorf("no dataset label: %d %s", nolabel.code, nolabel.body)
	}
	// A value as long as the intake takes (dataset is also the alert's
	// dataset field, 512 bytes), full of control characters: still a valid
	// key within the bound, and a printable group.
	hostile := strings.ToValidUTF8((u + strings.Repeat("\x00\n\u202e\u0085/|é", 200))[:incidents.MaxDatasetLen], "")
	hr := post(t, h, "/alerts/alertmanager", amDelivery("{}:{}", name, "firing", []string{"h" + u}, []string{hostile}), bearer(amToken))
	if hr.code != 202 {
		t.Fatalf("hostile dataset: %d %s", hr.code, hr.body)
	}
	res := hr.resp.Incidents[0]
	key := strings.TrimPrefix(res.ID, workflows.WorkflowIDPrefix)
	if err := incidents.CheckDedupeKey(key); err != nil || len(res.Group) > workflows.MaxTitleLen || strings.ContainsAny(res.Group, "\x00\n") {
		t.Errorf("hostile dataset: key %q (%v), group %q", key, err, res.Group)
	}
}

// TestGroupByAlertmanagerGroup: one incident per Alertmanager groupKey;
// another delivery of the same group joins it.
func TestGroupByAlertmanagerGroup(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	u := uniq()
	name := "AMGrouped" + strings.ReplaceAll(u, "-", "")
	h := groupedHandler(t, groupedSet(t, name, "group_by: alertmanager_group"), intake.Options{})
	keyA := `{}/{team="data"}:{dataset="orders` + u + `"}`
	keyB := `{}/{team="data"}:{dataset="events` + u + `"}`
	incidentOf := func(groupKey string, fps ...string) string {
		t.Helper()
		r := post(t, h, "/alerts/alertmanager", amDelivery(groupKey, name, "firing", fps, nil), bearer(amToken))
		if r.code != 202 || len(r.resp.Incidents) != len(fps) {
			t.Fatalf("%s: %d %s", groupKey, r.code, r.body)
		}
		id := r.resp.Incidents[0].ID
		for i, res := range r.resp.Incidents {
			if res.ID != id || res.Member != "alertmanager:"+name+":"+fps[i] || !strings.HasPrefix(res.Group, "alertmanager group ") {
				t.Errorf("%s alert %d: %+v, want incident %s", groupKey, i, res, id)
			}
		}
		return id
	}
	a := incidentOf(keyA, "a1"+u, "a2"+u, "a3"+u)
	b := incidentOf(keyB, "b1"+u, "b2"+u)
	if a == b || !strings.HasPrefix(a, workflows.WorkflowID("amgroup:grouped:")) {
		t.Errorf("groups A %s and B %s: want two amgroup incidents", a, b)
	}
	if again := incidentOf(keyA, "a4"+u); again != a {
		t.Errorf("group A again: %s, want %s", again, a)
	}
	// The same alert through the generic endpoint has no groupKey: its own
	// incident, not the Alertmanager group's.
	g := post(t, h, "/alerts", []byte(`{"title":"t","dedupe_key":"am-`+u+`","labels":{"alertname":"`+name+`"}}`), bearer(genToken))
	if g.code != 202 || g.resp.Incidents[0].ID != workflows.WorkflowID("generic:am-"+u) || g.resp.Incidents[0].Member != "" {
		t.Errorf("generic alert matching the runbook: %d %s, want its own incident", g.code, g.body)
	}
}

// TestStormJoin: beyond its burst a source's alerts join one alert storm
// incident instead of being refused; in throttle mode they are refused
// with 429. Recoveries of stormed alerts go to the storm incident.
func TestStormJoin(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	u := "st" + uniq() + "-"
	limits := intake.Limits{NewIncidentBurst: 2, NewIncidentsPerMinute: 1}
	h := groupedHandler(t, nil, intake.Options{Limits: limits})
	r := post(t, h, "/alerts/alertmanager", []byte(amAlerts(u, 10)), bearer(amToken))
	if r.code != http.StatusAccepted || len(r.resp.Incidents) != 10 {
		t.Fatalf("10 new alerts, burst 2, join mode: %d %s, want 202", r.code, r.body)
	}
	stormID := workflows.WorkflowID(incidents.StormKey(intake.SourceAlertmanager))
	ids := map[string]int{}
	for i, res := range r.resp.Incidents {
		ids[res.ID]++
		own := fmt.Sprintf("alertmanager:Storm:%s%d", u, i)
		switch {
		case i < 2 && (res.ID != workflows.WorkflowID(own) || res.Storm || res.Member != ""):
			t.Errorf("alert %d within the burst: %+v, want its own incident", i, res)
		case i >= 2 && (res.ID != stormID || !res.Storm || res.Member != own || res.Group != incidents.GroupStorm):
			t.Errorf("alert %d beyond the burst: %+v, want the storm incident %s", i, res, stormID)
		}
	}
	if len(ids) != 3 || ids[stormID] != 8 {
		t.Errorf("incidents %v: want 2 own and 1 storm incident holding 8", ids)
	}
	// Signals that arrive while a workflow task runs join the history when
	// it completes.
	members := map[string]bool{}
	waitFor(t, func() bool {
		for _, a := range signalled(t, stormID) {
			if strings.HasPrefix(a.Member, "alertmanager:Storm:"+u) && a.Group == incidents.GroupStorm {
				members[a.Member] = true
			}
		}
		return len(members) >= 8
	}, "8 members in the storm incident's history")
	if len(members) != 8 {
		t.Errorf("the storm incident got %d of this test's members, want 8", len(members))
	}
	st := status(t, stormID)
	if st.Title != incidents.StormTitle(intake.SourceAlertmanager) || st.Runbook != "" {
		t.Errorf("storm incident: title %q runbook %q", st.Title, st.Runbook)
	}
	if n := h.Metrics().Incidents(intake.SourceAlertmanager, "storm"); n != 8 {
		t.Errorf("storm-routed alerts counted: %d, want 8", n)
	}
	if n := h.Metrics().Requests(intake.SourceAlertmanager, 429); n != 0 {
		t.Errorf("429 answers in join mode: %d", n)
	}
	// Recoveries: a stormed alert's goes to the storm incident; one whose
	// own incident runs goes there.
	rec := strings.ReplaceAll(amAlerts(u, 10), `"status":"firing"`, `"status":"resolved"`)
	rr := post(t, h, "/alerts/alertmanager", []byte(rec), bearer(amToken))
	if rr.code != 202 {
		t.Fatalf("recoveries: %d %s", rr.code, rr.body)
	}
	for i, res := range rr.resp.Incidents {
		if stormed := i >= 2; res.Storm != stormed || (stormed && res.ID != stormID) || (!stormed && res.ID == stormID) || !res.Joined {
			t.Errorf("recovery %d: %+v (stormed %v)", i, res, stormed)
		}
	}

	// Throttle mode: the same is refused beyond the burst.
	limits.Storm = intake.StormThrottle
	th := groupedHandler(t, nil, intake.Options{Limits: limits})
	v := "th" + uniq() + "-"
	tr := post(t, th, "/alerts/alertmanager", []byte(amAlerts(v, 10)), bearer(amToken))
	var got intake.Throttled
	if err := json.Unmarshal([]byte(tr.body), &got); err != nil {
		t.Fatal(err)
	}
	if tr.code != http.StatusTooManyRequests || len(got.Incidents) != 2 || len(got.Throttled) != 8 {
		t.Errorf("throttle mode: %d %s, want 429 with 2 declared and 8 throttled", tr.code, tr.body)
	}
	if n := th.Metrics().Incidents(intake.SourceAlertmanager, "storm"); n != 0 {
		t.Errorf("throttle mode counted %d storm alerts", n)
	}
}

// TestMemberCannotBeForged: a generic sender cannot choose the member or
// group its alert joins as: the fields are refused by the strict decoder,
// and nothing is declared.
func TestMemberCannotBeForged(t *testing.T) {
	needTemporal(t)
	t.Parallel()
	h := newHandler(t, testAuth)
	k := "forge-" + uniq()
	for _, field := range []string{`"member":"alertmanager:Storm:x"`, `"group":"alert storm"`} {
		r := post(t, h, "/alerts", []byte(`{"title":"t","dedupe_key":"`+k+`",`+field+`}`), bearer(genToken))
		if r.code != http.StatusBadRequest || !strings.Contains(r.err, "unknown field") {
			t.Errorf("%s: %d %s, want 400 unknown field", field, r.code, r.body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tc.DescribeWorkflowExecution(ctx, workflows.WorkflowID("generic:"+k), ""); err == nil {
		t.Errorf("a forged alert opened %s", k)
	}
	// Without them the alert is its own, as always.
	r := post(t, h, "/alerts", []byte(`{"title":"t","dedupe_key":"`+k+`"}`), bearer(genToken))
	if r.code != 202 || r.resp.Incidents[0].Member != "" || r.resp.Incidents[0].Group != "" {
		t.Errorf("plain alert: %d %s", r.code, r.body)
	}
}
