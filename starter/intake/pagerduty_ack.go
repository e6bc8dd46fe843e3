package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdkey"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// Acknowledgements made in PagerDuty. The worker's PagerDuty backend
// raises each page as a PagerDuty alert whose dedup key (the PagerDuty
// incident's incident_key) is pdkey's "datasev:<incident>:<page>". A v3
// webhook about such an incident is not a new alert:
//
//   - incident.acknowledged by a PagerDuty user the roster maps
//     (people[].pagerduty) becomes the acknowledge act on the datasev
//     incident, by that person, signed by the intake as the front door
//     service "pagerduty" vouching for "pagerduty:<user ID>" (the roster's
//     trust.services must list the intake's key with claims [pagerduty]);
//   - incident.resolved by a mapped user becomes a note in the incident's
//     timeline: resolving in PagerDuty never resolves the datasev incident;
//   - every other event about it (triggered, escalated, …), an agent that
//     is not a mapped user (an integration, datasev's own resolve), or a key
//     that names no incident is answered 202 and changes nothing.
//
// PagerDuty's signature is checked first, as for every delivery, and the
// replay window applies to event.occurred_at. The act's ID is the
// event's, so a redelivery is applied once.
const (
	// PagerDutyServiceName is the service the intake signs these acts as
	// ("service:pagerduty") and the roster lists its key under.
	PagerDutyServiceName = "pagerduty"
	// PagerDutyClaimPrefix starts the identity it vouches for.
	PagerDutyClaimPrefix = "pagerduty:"
	// EnvPagerDutyKeyFile names the intake's private key file for
	// signing them (datasev keygen writes one).
	EnvPagerDutyKeyFile = "DATASEV_INTAKE_PAGERDUTY_KEY_FILE"
	// ViaPagerDuty is the acts' Via.
	ViaPagerDuty = "pagerduty"
	// maxPDUserIDLen bounds a PagerDuty user ID.
	maxPDUserIDLen = 32
)

// PagerDutyOutcome is the 202 answer to a webhook about a PagerDuty
// incident datasev raised.
type PagerDutyOutcome struct {
	// Incident is the datasev incident's workflow ID, when the key names
	// one.
	Incident string `json:"incident,omitempty"`
	// Outcome is acknowledged, noted, refused (the incident said no) or
	// ignored.
	Outcome string `json:"outcome"`
	// Message says why, in a sentence.
	Message string `json:"message"`
}

// pdRaisedPayload is what the ack path reads of a v3 webhook.
type pdRaisedPayload struct {
	Event struct {
		ID         string `json:"id"`
		EventType  string `json:"event_type"`
		OccurredAt string `json:"occurred_at"`
		Agent      *struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"agent"`
		Data struct {
			ID          string `json:"id"`
			Number      int    `json:"number"`
			HTMLURL     string `json:"html_url"`
			IncidentKey string `json:"incident_key"`
		} `json:"data"`
	} `json:"event"`
}

// setupPagerDutySigner picks the signer of the PagerDuty acts and says at
// startup what the incidents will make of them.
func (h *Handler) setupPagerDutySigner() error {
	s := h.opts.PagerDutySigner
	if s == nil && h.auth.PagerDutyKeyFile != "" {
		var err error
		if s, err = incidents.LoadServiceSigner(PagerDutyServiceName, h.auth.PagerDutyKeyFile); err != nil {
			return fmt.Errorf("intake: %s: %w", EnvPagerDutyKeyFile, err)
		}
	}
	if s != nil && s.Service() != PagerDutyServiceName {
		return fmt.Errorf("intake: the PagerDuty signer is %s, not service %s", s, PagerDutyServiceName)
	}
	h.opts.PagerDutySigner = s
	if h.auth.PagerDutySecret == "" {
		return nil // PagerDuty is not a source here
	}
	svc, listed := h.roster.Trust.ServiceByName(PagerDutyServiceName)
	switch {
	case s == nil:
		h.log.Info("intake: no PagerDuty signing key: acknowledgements made in PagerDuty go unsigned, and the incidents refuse them unless the roster's trust.unsigned takes acknowledge (set " + EnvPagerDutyKeyFile + ")")
	case !listed:
		h.log.Warn("intake: the roster does not list the PagerDuty key: the incidents refuse acknowledgements made in PagerDuty until it does",
			"add_to_roster", fmt.Sprintf("trust: {services: [{name: %s, key: %s, claims: [pagerduty]}]}", PagerDutyServiceName, s.PublicKey()))
	case svc.Key != s.PublicKey() && !containsKey(svc.Keys, s.PublicKey()):
		h.log.Warn("intake: the roster lists another key for service pagerduty: the incidents refuse acknowledgements made in PagerDuty until the two match",
			"roster_key", svc.Key, "intake_key", s.PublicKey())
	}
	return nil
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// pagerDutySource serves POST /alerts/pagerduty: a webhook about a
// PagerDuty incident datasev raised goes to the ack path, any other to the
// alert path (parsePagerDuty).
func (h *Handler) pagerDutySource(auth authCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() { h.metrics.request(SourcePagerDuty, rec.code) }()
		body, rej := readAuthenticated(rec, r, auth)
		if rej != nil {
			h.reject(rec, SourcePagerDuty, rej)
			return
		}
		var p pdRaisedPayload
		if json.Unmarshal(body, &p) != nil || !pdkey.Raised(p.Event.Data.IncidentKey) {
			h.serveBody(rec, r, SourcePagerDuty, body, parsePagerDuty)
			return
		}
		h.pagerDutyRaised(r.Context(), rec, p)
	}
}

// pagerDutyRaised answers a webhook about a PagerDuty incident datasev
// raised.
func (h *Handler) pagerDutyRaised(ctx context.Context, w http.ResponseWriter, p pdRaisedPayload) {
	e := p.Event
	for _, c := range []struct{ field, v string }{{"event.id", e.ID}, {"event.event_type", e.EventType}} {
		if err := checkVendorID(c.field, c.v); err != nil {
			h.reject(w, SourcePagerDuty, &rejection{reasonBadBody, http.StatusBadRequest, err})
			return
		}
	}
	if err := checkFresh("event.occurred_at", e.OccurredAt, h.opts.Now().UTC(), h.opts.Limits.ReplayWindow); err != nil {
		var se *staleError
		if errors.As(err, &se) {
			h.reject(w, SourcePagerDuty, &rejection{reasonStale, http.StatusUnauthorized, err})
		} else {
			h.reject(w, SourcePagerDuty, &rejection{reasonBadBody, http.StatusBadRequest, err})
		}
		return
	}
	key := e.Data.IncidentKey
	if len(key) > pdkey.MaxLen {
		h.reject(w, SourcePagerDuty, reject(reasonBadBody, http.StatusBadRequest, "field \"event.data.incident_key\": %d bytes, at most %d", len(key), pdkey.MaxLen))
		return
	}
	ignored := func(incident, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		h.log.Info("intake: pagerduty event about a datasev page changes nothing", "event", e.ID, "event_type", e.EventType, "incident", incident, "why", msg)
		writeJSON(w, http.StatusAccepted, PagerDutyOutcome{Incident: incident, Outcome: "ignored", Message: msg})
	}
	var actName string
	switch e.EventType {
	case "incident.acknowledged":
		actName = workflows.ActAcknowledge
	case "incident.resolved":
		actName = workflows.ActAddNote
	default:
		ignored("", "%s about a PagerDuty incident datasev raised: only incident.acknowledged and incident.resolved are taken from it", truncate(e.EventType, 64))
		return
	}
	incident, _, ok := pdkey.Parse(key)
	if !ok {
		ignored("", "incident_key %q names no datasev incident", truncate(key, 64))
		return
	}
	if e.Agent == nil || (e.Agent.Type != "user_reference" && e.Agent.Type != "user") {
		ignored(incident, "%s not by a PagerDuty user", e.EventType)
		return
	}
	user := e.Agent.ID
	if user == "" || len(user) > maxPDUserIDLen {
		ignored(incident, "agent.id: want a PagerDuty user ID of 1 to %d characters", maxPDUserIDLen)
		return
	}
	person, ok := h.roster.PersonByPagerDuty(user)
	if !ok {
		ignored(incident, "PagerDuty user %s is not on the roster (people[].pagerduty)", truncate(user, maxPDUserIDLen))
		return
	}
	where := fmt.Sprintf("PagerDuty incident #%d (%s)", e.Data.Number, truncate(e.Data.ID, maxVendorIDLen))
	act := workflows.Act{By: person.ID, Via: ViaPagerDuty, ID: "pagerduty:" + e.ID}
	outcome := "acknowledged"
	if actName == workflows.ActAcknowledge {
		act.Reason = "acknowledged in " + where
	} else {
		outcome = "noted"
		act.Note = "Resolved in " + where + " by " + person.ID + ". This does not resolve the incident: its Commander resolves it here."
	}
	var s *incidents.Signer
	if h.opts.PagerDutySigner != nil {
		s = h.opts.PagerDutySigner.For(PagerDutyClaimPrefix + user)
	}
	actx, cancel := context.WithTimeout(ctx, h.opts.DeclareTimeout)
	defer cancel()
	res, err := incidents.ActSigned(actx, h.c, s, incident, actName, act)
	var rej *incidents.RejectedError
	var nf *incidents.NotFoundError
	var closed *incidents.ClosedError
	switch {
	case err == nil:
		h.log.Info("intake: pagerduty "+outcome, "incident", incident, "by", person.ID, "pagerduty_user", user, "event", e.ID)
		writeJSON(w, http.StatusAccepted, PagerDutyOutcome{Incident: incident, Outcome: outcome, Message: res.Message})
	case errors.As(err, &rej):
		h.log.Info("intake: pagerduty act refused by the incident", "incident", incident, "act", actName, "by", person.ID, "why", rej.Message)
		writeJSON(w, http.StatusAccepted, PagerDutyOutcome{Incident: incident, Outcome: "refused", Message: rej.Message})
	case errors.As(err, &nf), errors.As(err, &closed):
		ignored(incident, "%s", err.Error())
	default:
		h.log.Warn("intake: pagerduty act not delivered; PagerDuty retries the webhook", "incident", incident, "error", err)
		h.reject(w, SourcePagerDuty, reject(reasonUnavailable, http.StatusServiceUnavailable, "the incident could not be reached: %s", strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
}
