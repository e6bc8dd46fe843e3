package pdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/support/loopback"
)

// The stand-in refuses what PagerDuty documents as invalid, in its error
// object's shape.
func TestEnqueueRefusesInvalidEvents(t *testing.T) {
	s := New()
	defer s.Close()
	for name, c := range map[string]struct {
		body string
		want string
	}{
		"short routing key": {`{"routing_key":"x","event_action":"trigger","payload":{"summary":"s","source":"d","severity":"error"}}`, "'routing_key' must be 32 characters"},
		"long summary":      {`{"routing_key":"` + RoutingKey + `","event_action":"trigger","payload":{"summary":"` + strings.Repeat("s", 1025) + `","source":"d","severity":"error"}}`, "longer than 1024"},
		"bad severity":      {`{"routing_key":"` + RoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"d","severity":"sev1"}}`, "'payload.severity'"},
		"resolve no key":    {`{"routing_key":"` + RoutingKey + `","event_action":"resolve"}`, "'dedup_key' is missing"},
		"bad action":        {`{"routing_key":"` + RoutingKey + `","event_action":"snooze","dedup_key":"k"}`, "'event_action'"},
		"long dedup key":    {`{"routing_key":"` + RoutingKey + `","event_action":"resolve","dedup_key":"` + strings.Repeat("k", 256) + `"}`, "longer than 255"},
	} {
		resp, err := http.Post(s.URL+"/v2/enqueue", "application/json", bytes.NewBufferString(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || e.Status != "invalid event" || !strings.Contains(strings.Join(e.Errors, ";"), c.want) {
			t.Errorf("%s: %d %+v, want 400 naming %q", name, resp.StatusCode, e, c.want)
		}
	}
	if len(s.Events()) != 0 || s.Refused(400) != 6 {
		t.Errorf("accepted %d, refused %d", len(s.Events()), s.Refused(400))
	}
}

// Acknowledge sends a v3 webhook signed with the secret, naming the alert's
// dedup key and the user.
func TestAcknowledgeSendsASignedWebhook(t *testing.T) {
	s := New()
	defer s.Close()
	var got []byte
	var sig string
	hook := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		got, sig = buf.Bytes(), r.Header.Get("X-PagerDuty-Signature")
		w.WriteHeader(http.StatusAccepted)
	})}
	ln, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hook.Serve(ln) }()
	defer hook.Close()
	s.SetWebhook("http://"+ln.Addr().String()+"/alerts/pagerduty", "sekret")
	body := `{"routing_key":"` + RoutingKey + `","event_action":"trigger","dedup_key":"datasev:i:0123456789abcdef","payload":{"summary":"s","source":"d","severity":"error"}}`
	if resp, err := http.Post(s.URL+"/v2/enqueue", "application/json", bytes.NewBufferString(body)); err != nil || resp.StatusCode != 202 {
		t.Fatalf("trigger: %v %v", resp, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.Acknowledge(ctx, "datasev:i:0123456789abcdef", "PALICE01")
	if err != nil || d.Status != 202 {
		t.Fatalf("acknowledge: %+v %v", d, err)
	}
	if sig != Sign("sekret", got) {
		t.Errorf("signature %q is not the body's", sig)
	}
	var wh struct {
		Event struct {
			EventType string `json:"event_type"`
			Agent     struct{ ID, Type string }
			Data      struct {
				IncidentKey string `json:"incident_key"`
			}
		}
	}
	if err := json.Unmarshal(got, &wh); err != nil || wh.Event.EventType != "incident.acknowledged" ||
		wh.Event.Data.IncidentKey != "datasev:i:0123456789abcdef" || wh.Event.Agent.ID != "PALICE01" || wh.Event.Agent.Type != "user_reference" {
		t.Errorf("webhook %s: %+v %v", got, wh, err)
	}
	if a := s.Alerts(); len(a) != 1 || a[0].Status != "acknowledged" {
		t.Errorf("alerts: %+v", a)
	}
}

func listen() (net.Listener, error) { return loopback.Listen("") }
