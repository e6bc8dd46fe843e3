// Package pdresttest is a stand-in for PagerDuty's REST API v2 on-calls
// endpoint (GET /oncalls), for tests and the dev stack: the documented
// query (escalation_policy_ids[], schedule_ids[], since, until, limit,
// offset), the response shape (oncalls[] with user, schedule,
// escalation_policy, escalation_level, start, end; limit, offset, more),
// token authentication ("Authorization: Token token=…", 401 otherwise) and
// rate limiting (429 with Retry-After). It is separate from the PagerDuty
// Events stand-in: this one speaks the REST API.
package pdresttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"
)

// OnCall is one on-call entry the stand-in serves.
type OnCall struct {
	User             string
	EscalationPolicy string
	Schedule         string // "" for a level with no schedule (a user on the rule)
	Level            uint
	Start, End       time.Time // zero: permanent
}

// Server is the stand-in.
type Server struct {
	*httptest.Server
	// Token is the API token it accepts.
	Token string

	mu       sync.Mutex
	oncalls  []OnCall
	limited  int    // answer this many requests with 429
	after    string // their Retry-After
	requests []string
}

// New starts a stand-in accepting token.
func New(token string) *Server {
	s := &Server{Token: token}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Set replaces the on-call entries.
func (s *Server) Set(oc ...OnCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oncalls = slices.Clone(oc)
}

// RateLimit answers the next n requests with 429 and Retry-After after.
func (s *Server) RateLimit(n int, after string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited, s.after = n, after
}

// Requests returns the query strings of the requests served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "code": code}})
}

type ref struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary,omitempty"`
}

type entry struct {
	User             ref     `json:"user"`
	Schedule         *ref    `json:"schedule"`
	EscalationPolicy ref     `json:"escalation_policy"`
	EscalationLevel  uint    `json:"escalation_level"`
	Start            *string `json:"start"`
	End              *string `json:"end"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.URL.RawQuery)
	if r.Method != http.MethodGet || r.URL.Path != "/oncalls" {
		apiError(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	if r.Header.Get("Authorization") != "Token token="+s.Token {
		apiError(w, http.StatusUnauthorized, 2006, "Unauthenticated")
		return
	}
	if s.limited > 0 {
		s.limited--
		w.Header().Set("Retry-After", s.after)
		apiError(w, http.StatusTooManyRequests, 2020, "Rate Limit Exceeded")
		return
	}
	q := r.URL.Query()
	policies, schedules := q["escalation_policy_ids[]"], q["schedule_ids[]"]
	since, err1 := time.Parse(time.RFC3339, q.Get("since"))
	until, err2 := time.Parse(time.RFC3339, q.Get("until"))
	if err1 != nil || err2 != nil || !since.Before(until) {
		apiError(w, http.StatusBadRequest, 2001, "Invalid Input Provided: since and until")
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 25
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	var match []entry
	for _, oc := range s.oncalls {
		if len(policies) > 0 && !slices.Contains(policies, oc.EscalationPolicy) {
			continue
		}
		if len(schedules) > 0 && !slices.Contains(schedules, oc.Schedule) {
			continue
		}
		if !oc.End.IsZero() && !oc.End.After(since) || !oc.Start.IsZero() && !oc.Start.Before(until) {
			continue
		}
		e := entry{User: ref{ID: oc.User, Type: "user_reference"}, EscalationPolicy: ref{ID: oc.EscalationPolicy, Type: "escalation_policy_reference"}, EscalationLevel: oc.Level}
		if oc.Schedule != "" {
			e.Schedule = &ref{ID: oc.Schedule, Type: "schedule_reference"}
		}
		if !oc.Start.IsZero() {
			v := oc.Start.UTC().Format(time.RFC3339)
			e.Start = &v
		}
		if !oc.End.IsZero() {
			v := oc.End.UTC().Format(time.RFC3339)
			e.End = &v
		}
		match = append(match, e)
	}
	page := []entry{}
	if offset < len(match) {
		page = match[offset:min(offset+limit, len(match))]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"oncalls": page, "limit": limit, "offset": offset, "more": offset+len(page) < len(match), "total": nil,
	})
}
