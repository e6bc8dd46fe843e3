// Package pdtest is an in-process stand-in for PagerDuty, for tests and
// the one-command demo. It serves the Events API v2 (POST /v2/enqueue) as
// PagerDuty documents it: 202 {"status":"success","message":"Event
// processed","dedup_key":…} for a valid event, 400 {"status":"invalid
// event","message":"Event object is invalid","errors":[…]} for an invalid
// one (routing_key of 32 characters, event_action trigger, acknowledge or
// resolve, dedup_key at most 255 characters and required to acknowledge
// or resolve, a trigger's payload with summary of at most 1024
// characters, source and severity critical, error, warning or info), and
// 429 when a routing key sends more than its limit a minute (RateLimit)
// or a fault asks for it (Fail).
//
// Events with the same routing and dedup key make one alert, as in
// PagerDuty: a repeated trigger of an open alert changes nothing. Each
// alert becomes an incident with its own ID (Q…); Acknowledge and Resolve
// act on it as a PagerDuty user would, and send the v3 webhook
// (incident.acknowledged, incident.resolved) signed with X-PagerDuty-
// Signature to the URL SetWebhook names, as a PagerDuty webhook
// subscription does.
//
// It is a stand-in, never a production path: the worker talks to it only
// when it is configured with its address (Env).
package pdtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/datasev/datasev/activities/support/loopback"
)

// Environment variables Env sets; activities/notifiers/pagerduty reads
// the same names.
const (
	EnvRoutingKey = "DATASEV_PAGERDUTY_ROUTING_KEY"
	EnvEventsURL  = "DATASEV_PAGERDUTY_EVENTS_URL"
)

// RoutingKey is a routing key of the right form for tests.
const RoutingKey = "R0UTINGKEYDATASEVSTANDIN00000001"

// Event is one event the server accepted, in order.
type Event struct {
	RoutingKey string          `json:"routing_key"`
	Action     string          `json:"event_action"`
	DedupKey   string          `json:"dedup_key"`
	Client     string          `json:"client"`
	Payload    *Payload        `json:"payload"`
	Links      json.RawMessage `json:"links"`
}

// Payload is a trigger's payload.
type Payload struct {
	Summary   string         `json:"summary"`
	Source    string         `json:"source"`
	Severity  string         `json:"severity"`
	Component string         `json:"component"`
	Class     string         `json:"class"`
	Details   map[string]any `json:"custom_details"`
}

// Alert is one alert: the events of one routing and dedup key.
type Alert struct {
	// Incident is the PagerDuty incident's ID, Q….
	Incident string
	// Number is the incident's number.
	Number int
	// RoutingKey and DedupKey identify it.
	RoutingKey, DedupKey string
	// Summary is the first trigger's.
	Summary string
	// Status is triggered, acknowledged or resolved.
	Status string
	// Triggers counts the trigger events it took (a repeat while open is
	// folded into it).
	Triggers int
}

// Fault answers the next Times events with Status (429, 400, 500), with a
// Retry-After of RetryAfter when set.
type Fault struct {
	Status     int
	Times      int
	RetryAfter time.Duration
}

// Server is a running stand-in.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port: the Events API's.
	URL string

	ln  net.Listener
	srv *http.Server

	mu        sync.Mutex
	events    []Event
	alerts    map[string]*Alert // routing key + "\x00" + dedup key
	order     []string
	refused   map[int]int
	faults    []Fault
	limit     int
	window    map[string][]time.Time
	seq       int
	webhook   string
	secret    string
	hc        *http.Client
	delivered []Delivery
}

// Delivery is one webhook the server sent, and the intake's answer.
type Delivery struct {
	EventType string
	Incident  string
	Status    int
	Body      string
}

// New starts a server on 127.0.0.1 on a free port. It panics when it
// cannot listen, as httptest.NewServer does.
func New() *Server {
	s, err := Start("")
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts a server on addr, a loopback host:port ("" for 127.0.0.1
// on a free port).
func Start(addr string) (*Server, error) {
	ln, err := loopback.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("pdtest: %w", err)
	}
	s := &Server{
		URL:     "http://" + ln.Addr().String(),
		ln:      ln,
		alerts:  map[string]*Alert{},
		refused: map[int]int{},
		window:  map[string][]time.Time{},
		hc:      &http.Client{Timeout: 30 * time.Second},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/enqueue", s.enqueue)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Env is the worker's configuration for this server: RoutingKey as the
// default key, and the server's URL.
func (s *Server) Env() map[string]string {
	return map[string]string{EnvRoutingKey: RoutingKey, EnvEventsURL: s.URL}
}

// Fail queues a fault for the next events.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// RateLimit answers 429 to a routing key's events beyond perMinute in
// the last minute; 0 for no limit (the default).
func (s *Server) RateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = perMinute
}

// SetWebhook makes Acknowledge and Resolve send v3 webhooks to url, signed
// with secret.
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook, s.secret = url, secret
}

// Events returns the accepted events, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Alerts returns the alerts, in the order they were first triggered.
func (s *Server) Alerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alert, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.alerts[k])
	}
	return out
}

// DistinctDedupKeys counts the dedup keys ever triggered: the pages
// PagerDuty would have made.
func (s *Server) DistinctDedupKeys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// Refused counts the events answered with status (400, 429, 500).
func (s *Server) Refused(status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused[status]
}

// Deliveries returns the webhooks sent, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.delivered...)
}

type apiError struct {
	Status  string   `json:"status"`
	Message string   `json:"message"`
	Errors  []string `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 512<<10))
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "Event object is invalid", "body larger than 512 KB")
		return
	}
	s.mu.Lock()
	if len(s.faults) > 0 {
		f := &s.faults[0]
		f.Times--
		fault := *f
		if f.Times <= 0 {
			s.faults = s.faults[1:]
		}
		s.mu.Unlock()
		if fault.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((fault.RetryAfter+time.Second-1)/time.Second)))
		}
		s.refuse(w, fault.Status, http.StatusText(fault.Status), "")
		return
	}
	s.mu.Unlock()

	var ev Event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		s.refuse(w, http.StatusBadRequest, "Event object is invalid", "Malformed JSON: "+err.Error())
		return
	}
	if errs := check(ev); len(errs) > 0 {
		s.refuse(w, http.StatusBadRequest, "Event object is invalid", errs...)
		return
	}

	s.mu.Lock()
	if s.limit > 0 {
		now := time.Now()
		recent := s.window[ev.RoutingKey][:0]
		for _, t := range s.window[ev.RoutingKey] {
			if now.Sub(t) < time.Minute {
				recent = append(recent, t)
			}
		}
		if len(recent) >= s.limit {
			s.window[ev.RoutingKey] = recent
			s.refused[http.StatusTooManyRequests]++
			s.mu.Unlock()
			writeJSON(w, http.StatusTooManyRequests, apiError{Status: "throttle event", Message: "Requests for this service are arriving too quickly. Please retry later."})
			return
		}
		s.window[ev.RoutingKey] = append(recent, now)
	}
	if ev.DedupKey == "" {
		s.seq++
		ev.DedupKey = fmt.Sprintf("pdtest-%d", s.seq)
	}
	s.events = append(s.events, ev)
	k := ev.RoutingKey + "\x00" + ev.DedupKey
	a := s.alerts[k]
	switch ev.Action {
	case "trigger":
		if a == nil {
			s.seq++
			a = &Alert{Incident: fmt.Sprintf("Q%07d", s.seq), Number: len(s.order) + 1, RoutingKey: ev.RoutingKey, DedupKey: ev.DedupKey, Summary: ev.Payload.Summary}
			s.alerts[k] = a
			s.order = append(s.order, k)
		}
		if a.Status == "" || a.Status == "resolved" {
			a.Status = "triggered"
		}
		a.Triggers++
	case "acknowledge":
		if a != nil && a.Status == "triggered" {
			a.Status = "acknowledged"
		}
	case "resolve":
		if a != nil {
			a.Status = "resolved"
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func (s *Server) refuse(w http.ResponseWriter, status int, message string, errs ...string) {
	s.mu.Lock()
	s.refused[status]++
	s.mu.Unlock()
	st := "invalid event"
	switch {
	case status == http.StatusTooManyRequests:
		st = "throttle event"
	case status >= 500:
		st = "error"
	}
	var list []string
	for _, e := range errs {
		if e != "" {
			list = append(list, e)
		}
	}
	writeJSON(w, status, apiError{Status: st, Message: message, Errors: list})
}

// check lists what makes ev invalid, in PagerDuty's words where known.
func check(ev Event) []string {
	var errs []string
	if len(ev.RoutingKey) != 32 {
		errs = append(errs, "'routing_key' must be 32 characters")
	}
	switch ev.Action {
	case "trigger":
		p := ev.Payload
		if p == nil {
			errs = append(errs, "'payload' is missing or blank")
			break
		}
		switch {
		case p.Summary == "":
			errs = append(errs, "'payload.summary' is missing or blank")
		case len([]rune(p.Summary)) > 1024:
			errs = append(errs, "'payload.summary' is longer than 1024 characters")
		}
		if p.Source == "" {
			errs = append(errs, "'payload.source' is missing or blank")
		}
		switch p.Severity {
		case "critical", "error", "warning", "info":
		default:
			errs = append(errs, "'payload.severity' must be one of critical, error, warning or info")
		}
	case "acknowledge", "resolve":
		if ev.DedupKey == "" {
			errs = append(errs, "'dedup_key' is missing or blank")
		}
	default:
		errs = append(errs, "'event_action' must be one of trigger, acknowledge or resolve")
	}
	if len(ev.DedupKey) > 255 {
		errs = append(errs, "'dedup_key' is longer than 255 characters")
	}
	return errs
}

// Acknowledge acknowledges the alert of dedupKey as the PagerDuty user
// userID and sends the incident.acknowledged webhook; it returns the
// intake's answer.
func (s *Server) Acknowledge(ctx context.Context, dedupKey, userID string) (Delivery, error) {
	return s.act(ctx, dedupKey, userID, "acknowledged")
}

// Resolve resolves the alert of dedupKey as the PagerDuty user userID and
// sends the incident.resolved webhook.
func (s *Server) Resolve(ctx context.Context, dedupKey, userID string) (Delivery, error) {
	return s.act(ctx, dedupKey, userID, "resolved")
}

func (s *Server) act(ctx context.Context, dedupKey, userID, status string) (Delivery, error) {
	s.mu.Lock()
	var a *Alert
	for _, k := range s.order {
		if s.alerts[k].DedupKey == dedupKey {
			a = s.alerts[k]
		}
	}
	if a == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("pdtest: no alert with dedup key %q", dedupKey)
	}
	a.Status = status
	inc := *a
	url, secret := s.webhook, s.secret
	s.seq++
	eventID := fmt.Sprintf("01PDTEST%08d", s.seq)
	s.mu.Unlock()
	if url == "" {
		return Delivery{}, fmt.Errorf("pdtest: no webhook URL (SetWebhook)")
	}
	body := Webhook(eventID, "incident."+status, time.Now(), inc, userID)
	d, err := Send(ctx, s.hc, url, secret, body)
	d.EventType, d.Incident = "incident."+status, inc.Incident
	s.mu.Lock()
	s.delivered = append(s.delivered, d)
	s.mu.Unlock()
	return d, err
}

// Webhook is the body of a v3 webhook of eventType about the alert's
// incident, by the PagerDuty user userID ("" for no agent), as PagerDuty
// sends it.
func Webhook(eventID, eventType string, at time.Time, a Alert, userID string) []byte {
	status := "triggered"
	switch eventType {
	case "incident.acknowledged":
		status = "acknowledged"
	case "incident.resolved":
		status = "resolved"
	}
	ev := map[string]any{
		"id":            eventID,
		"event_type":    eventType,
		"resource_type": "incident",
		"occurred_at":   at.UTC().Format(time.RFC3339Nano),
		"data": map[string]any{
			"id":           a.Incident,
			"type":         "incident",
			"self":         "https://api.pagerduty.com/incidents/" + a.Incident,
			"html_url":     "https://datasev-standin.pagerduty.com/incidents/" + a.Incident,
			"number":       a.Number,
			"status":       status,
			"incident_key": a.DedupKey,
			"title":        a.Summary,
			"urgency":      "high",
			"service":      map[string]any{"id": "PSTANDIN", "type": "service_reference", "summary": "datasev"},
		},
	}
	if userID != "" {
		ev["agent"] = map[string]any{"id": userID, "type": "user_reference", "summary": "user " + userID,
			"html_url": "https://datasev-standin.pagerduty.com/users/" + userID}
	}
	b, _ := json.Marshal(map[string]any{"event": ev})
	return b
}

// Sign is the X-PagerDuty-Signature of body under secret: "v1=" and the
// hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Send posts a webhook body to url, signed with secret ("" for unsigned),
// and returns the answer.
func Send(ctx context.Context, hc *http.Client, url, secret string, body []byte) (Delivery, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Delivery{}, fmt.Errorf("pdtest: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	if secret != "" {
		req.Header.Set("X-PagerDuty-Signature", Sign(secret, body))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Delivery{}, fmt.Errorf("pdtest: webhook to %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return Delivery{Status: resp.StatusCode, Body: string(b)}, nil
}
