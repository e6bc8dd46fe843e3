package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdkey"
	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdtest"
)

// The demo acknowledges the incident's own page in PagerDuty: the open
// alert whose dedup key names the incident, the Commander's when there
// are several; never another incident's, nor one already acknowledged.
func TestIncidentPage(t *testing.T) {
	pd := pdtest.New()
	t.Cleanup(pd.Close)
	const incident = "incident-orders-load-1"
	trigger := func(key, to string) {
		t.Helper()
		ev := map[string]any{
			"routing_key": pdtest.RoutingKey, "event_action": "trigger", "dedup_key": key,
			"payload": map[string]any{"summary": "orders", "source": "datasev", "severity": "error", "custom_details": map[string]any{"to": to}},
		}
		b, _ := json.Marshal(ev)
		resp, err := http.Post(pd.URL+"/v2/enqueue", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("trigger %s: %s", key, resp.Status)
		}
	}

	if _, ok := incidentPage(pd, incident, "grace"); ok {
		t.Fatal("a page found in an empty stand-in")
	}
	other := pdkey.Make("incident-other", pdkey.PageID("o"))
	trigger(other, "grace")
	if a, ok := incidentPage(pd, incident, "grace"); ok {
		t.Fatalf("another incident's page %q taken for %s", a.DedupKey, incident)
	}
	sme := pdkey.Make(incident, pdkey.PageID("sme"))
	commander := pdkey.Make(incident, pdkey.PageID("commander"))
	trigger(sme, "frank")
	if a, ok := incidentPage(pd, incident, "grace"); !ok || a.DedupKey != sme {
		t.Errorf("with only the SME's page: %q %v, want %q", a.DedupKey, ok, sme)
	}
	trigger(commander, "grace")
	if a, ok := incidentPage(pd, incident, "grace"); !ok || a.DedupKey != commander {
		t.Errorf("got %q %v, want the Commander's page %q", a.DedupKey, ok, commander)
	}
	// Acknowledged already (no webhook is set: the stand-in still marks
	// it), it is not acknowledged again.
	_, _ = pd.Acknowledge(t.Context(), commander, "PGRACE1")
	if a, ok := incidentPage(pd, incident, "grace"); !ok || a.DedupKey != sme {
		t.Errorf("after the Commander's page was acknowledged: %q %v, want the open %q", a.DedupKey, ok, sme)
	}
}
