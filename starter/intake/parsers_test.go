package intake

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

func TestSeverityWord(t *testing.T) {
	for in, want := range map[string]workflows.Severity{
		"sev1": workflows.SEV1, "SEV5": workflows.SEV5, "2": workflows.SEV2,
		"critical": workflows.SEV2, "Page": workflows.SEV2,
		"error": workflows.SEV3, "high": workflows.SEV3,
		"warning": workflows.SEV4, "warn": workflows.SEV4,
		"info": workflows.SEV5, "none": workflows.SEV5,
		"": "", "bogus": "", "sev9": "",
	} {
		if got := severityWord(in); got != want {
			t.Errorf("severityWord(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAlertmanagerMapping(t *testing.T) {
	body := `{"version":"4","status":"firing","alerts":[
	  {"status":"firing","labels":{"alertname":"Disk Full","instance":"db-1","severity":"critical"},"annotations":{},"startsAt":"2026-11-25T08:00:00Z","fingerprint":""},
	  {"status":"resolved","labels":{"severity":"critical","instance":"db-1","alertname":"Disk Full"},"annotations":{"summary":"Disk full on db-1"},"startsAt":"2026-11-25T08:00:00Z","fingerprint":""}]}`
	p, err := parseAlertmanager([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	as := p.alerts
	a, b := as[0], as[1]
	if a.DedupeKey != b.DedupeKey || !strings.HasPrefix(a.DedupeKey, "alertmanager:Disk_Full:") {
		t.Errorf("dedupe keys %q, %q: want equal, from the label set", a.DedupeKey, b.DedupeKey)
	}
	if a.ID == b.ID {
		t.Errorf("firing and resolved share alert ID %q", a.ID)
	}
	if a.Title != "Disk Full" || b.Title != "Disk full on db-1" || a.Severity != workflows.SEV2 || b.Status != workflows.Recovered {
		t.Errorf("got %+v / %+v", a, b)
	}
	for _, x := range as {
		if err := x.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestDBTCloudMapping(t *testing.T) {
	cases := []struct {
		event, status string
		want          workflows.AlertStatus // "" → nothing raised
	}{
		{"job.run.errored", "Errored", workflows.Firing},
		{"job.run.completed", "Errored", workflows.Firing},
		{"job.run.completed", "Success", workflows.Recovered},
		{"job.run.completed", "Cancelled", ""},
		{"job.run.started", "Running", ""},
	}
	for _, c := range cases {
		body := `{"eventType":"` + c.event + `","data":{"jobId":123,"runId":"456","runStatus":"` + c.status + `"}}`
		p, err := parseDBTCloud([]byte(body))
		as := p.alerts
		if err != nil {
			t.Fatalf("%s/%s: %v", c.event, c.status, err)
		}
		if c.want == "" {
			if len(as) != 0 {
				t.Errorf("%s/%s raised %+v", c.event, c.status, as)
			}
			continue
		}
		if len(as) != 1 || as[0].Status != c.want || as[0].DedupeKey != "dbt_cloud:job:123" || as[0].ID != "dbt_cloud:run:456:"+string(c.want) {
			t.Errorf("%s/%s: %+v", c.event, c.status, as)
		}
	}
}

// checkParsed holds for whatever a parser returns: keys built from a
// monitor's names pass the one key check every front door shares, and
// start with the source's own prefix.
func checkParsed(t *testing.T, p parsed, err error, prefix string) {
	if err != nil {
		return
	}
	for _, a := range p.alerts {
		if strings.IndexFunc(a.DedupeKey, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Errorf("dedupe key %q has whitespace", a.DedupeKey)
		}
		if err := incidents.CheckDedupeKey(a.DedupeKey); err != nil {
			t.Errorf("dedupe key %q: %v", a.DedupeKey, err)
		}
		if !strings.HasPrefix(a.DedupeKey, prefix) {
			t.Errorf("dedupe key %q is not under %q", a.DedupeKey, prefix)
		}
		if len(a.Title) > workflows.MaxTitleLen || len(a.DedupeKey) > workflows.MaxDedupeKeyLen {
			t.Errorf("oversized title or key: %q %q", a.Title, a.DedupeKey)
		}
	}
}

func FuzzParseGeneric(f *testing.F) {
	f.Add([]byte(`{"title":"t","dedupe_key":"k","severity":"critical","labels":{"a":"b"}}`))
	f.Add([]byte(`{"title":1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseGeneric(b)
		if err == nil && len(p.alerts) != 1 {
			t.Errorf("%d alerts", len(p.alerts))
		}
		checkParsed(t, p, err, "generic:")
	})
}

func FuzzParseAlertmanager(f *testing.F) {
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A b\n"},"annotations":{"summary":"s"},"startsAt":"2026-11-25T08:00:00Z","fingerprint":"f p"}]}`))
	f.Add([]byte(`{"alerts":[{"status":"resolved","labels":{}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseAlertmanager(b)
		checkParsed(t, p, err, "alertmanager:")
	})
}

func FuzzParseDBTCloud(f *testing.F) {
	f.Add([]byte(`{"eventType":"job.run.errored","data":{"jobId":"1 2","runId":3,"jobName":"x"}}`))
	f.Add([]byte(`{"eventType":"job.run.completed","data":{"jobId":"1","runId":"2","runStatus":"Success"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseDBTCloud(b)
		checkParsed(t, p, err, "dbt_cloud:job:")
	})
}

func FuzzParsePagerDuty(f *testing.F) {
	f.Add([]byte(`{"event":{"id":"e","event_type":"incident.triggered","data":{"id":"P 1","title":"t","priority":{"summary":"P1"}}}}`))
	f.Add([]byte(`{"event":{"id":"e","event_type":"incident.resolved","data":{"id":"P1","urgency":"low"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePagerDuty(b)
		checkParsed(t, p, err, "pagerduty:")
	})
}

// TestAlertmanagerGroupKey: the delivery's groupKey travels beside the
// alerts, never as a label (an alert with the full 64 labels keeps them
// all, none added), and the generic endpoint has no way to give one.
func TestAlertmanagerGroupKey(t *testing.T) {
	labels := make([]string, workflows.MaxLabels)
	for i := range labels {
		labels[i] = fmt.Sprintf(`"l%02d":"v"`, i)
	}
	body := `{"version":"4","groupKey":"{}/{team=\"data\"}:{dataset=\"orders\"}","status":"firing","alerts":[
	  {"status":"firing","labels":{` + strings.Join(labels, ",") + `},"annotations":{},"startsAt":"2026-11-25T08:00:00Z","fingerprint":"abc"}]}`
	p, err := parseAlertmanager([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.amGroupKey != `{}/{team="data"}:{dataset="orders"}` {
		t.Errorf("group key %q", p.amGroupKey)
	}
	if a := p.alerts[0]; len(a.Labels) != workflows.MaxLabels || a.Member != "" || a.Group != "" {
		t.Errorf("alert: %d labels, member %q, group %q; want its own 64 labels and no member", len(a.Labels), a.Member, a.Group)
	}
	for _, body := range []string{`{"title":"t","dedupe_key":"k","member":"alertmanager:x:1"}`, `{"title":"t","dedupe_key":"k","group":"alert storm"}`, `{"title":"t","dedupe_key":"k","groupKey":"{}"}`} {
		if _, err := parseGeneric([]byte(body)); err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("generic %s: %v, want unknown field", body, err)
		}
	}
	g, err := parseGeneric([]byte(`{"title":"t","dedupe_key":"k"}`))
	if err != nil || g.amGroupKey != "" {
		t.Errorf("generic: %+v %v", g, err)
	}
}
