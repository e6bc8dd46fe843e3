// Package sptest is a local stand-in for Atlassian Statuspage's REST API
// v1, for tests and the demo: it checks "Authorization: OAuth <key>",
// serves one page's incidents and components with the API's JSON shapes
// (incident_updates, shortlink, impact, metadata), validates status enums
// (422 {"error": …}), paginates the unresolved list (page, per_page), and
// can inject faults (rate limits with Retry-After, 5xx). It listens on
// 127.0.0.1 only and is never a production path.
package sptest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Valid statuses, as the API has them.
var (
	incidentStatuses  = []string{"investigating", "identified", "monitoring", "resolved"}
	componentStatuses = []string{"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
)

// Component is a component as the server holds it.
type Component struct {
	ID        string    `json:"id"`
	PageID    string    `json:"page_id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Position  int       `json:"position"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AffectedComponent records a component's change on an update.
type AffectedComponent struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

// Update is one incident update.
type Update struct {
	ID                   string              `json:"id"`
	IncidentID           string              `json:"incident_id"`
	Status               string              `json:"status"`
	Body                 string              `json:"body"`
	CreatedAt            time.Time           `json:"created_at"`
	DisplayAt            time.Time           `json:"display_at"`
	DeliverNotifications bool                `json:"deliver_notifications"`
	AffectedComponents   []AffectedComponent `json:"affected_components"`
}

// Incident is an incident as the server holds it.
type Incident struct {
	ID              string                    `json:"id"`
	PageID          string                    `json:"page_id"`
	Name            string                    `json:"name"`
	Status          string                    `json:"status"`
	Impact          string                    `json:"impact"`
	Shortlink       string                    `json:"shortlink"`
	CreatedAt       time.Time                 `json:"created_at"`
	UpdatedAt       time.Time                 `json:"updated_at"`
	MonitoringAt    *time.Time                `json:"monitoring_at"`
	ResolvedAt      *time.Time                `json:"resolved_at"`
	IncidentUpdates []Update                  `json:"incident_updates"`
	Components      []Component               `json:"components"`
	Metadata        map[string]map[string]any `json:"metadata"`
}

// Fault is an injected answer.
type Fault struct {
	// Status is the HTTP status, e.g. 429, 420, 503.
	Status int
	// RetryAfter is the Retry-After header's value; "" for none.
	RetryAfter string
	// Body is the answer's body; "" for {"error": "<status text>"}.
	Body string
}

// Server is the running stand-in.
type Server struct {
	// URL is the API's base URL, ending in /v1.
	URL string
	// APIKey is the key the server accepts.
	APIKey string
	// PageID is the page the server serves.
	PageID string

	hs *httptest.Server

	mu         sync.Mutex
	seq        int
	incidents  []*Incident
	components []*Component
	faults     []Fault
	requests   []string
	now        func() time.Time
}

// Start starts a server for page pageID that accepts apiKey.
func Start(apiKey, pageID string) *Server {
	s := &Server{APIKey: apiKey, PageID: pageID, now: func() time.Time { return time.Now().UTC().Truncate(time.Second) }}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL + "/v1"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// AddComponent adds a component and returns its ID.
func (s *Server) AddComponent(name, status string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	c := &Component{ID: s.id("c"), PageID: s.PageID, Name: name, Status: status, Position: len(s.components) + 1, CreatedAt: now, UpdatedAt: now}
	s.components = append(s.components, c)
	return c.ID
}

// AddIncident seeds an incident (e.g. one created by hand on the page)
// and returns its ID.
func (s *Server) AddIncident(name, status string, metadata map[string]map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc := s.newIncident(name, metadata)
	s.apply(inc, status, "", nil, true)
	return inc.ID
}

// Incidents returns copies of all incidents, oldest first.
func (s *Server) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Incident, 0, len(s.incidents))
	for _, inc := range s.incidents {
		out = append(out, s.view(inc))
	}
	return out
}

// Component returns a copy of component id.
func (s *Server) Component(id string) (Component, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.components {
		if c.ID == id {
			return *c, true
		}
	}
	return Component{}, false
}

// Requests returns "METHOD path" of every request received, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// FailNext makes the next requests answer with faults, one each, in order.
func (s *Server) FailNext(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

func (s *Server) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%011d", prefix, s.seq)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg any) {
	writeJSON(w, status, map[string]any{"error": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, f.Body)
			return
		}
		text := http.StatusText(f.Status)
		if f.Status == 420 {
			text = "Enhance your calm"
		}
		fail(w, f.Status, text)
		return
	}
	if r.Header.Get("Authorization") != "OAuth "+s.APIKey {
		fail(w, http.StatusUnauthorized, "Could not authenticate")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1"), "/"), "/")
	if len(parts) < 3 || parts[0] != "pages" || !strings.HasPrefix(r.URL.Path, "/v1/") {
		fail(w, http.StatusNotFound, "The requested resource could not be found.")
		return
	}
	if parts[1] != s.PageID {
		fail(w, http.StatusNotFound, "The requested resource could not be found.")
		return
	}
	switch {
	case parts[2] == "incidents" && len(parts) == 3 && r.Method == http.MethodPost:
		s.createIncident(w, r)
	case parts[2] == "incidents" && len(parts) == 3 && r.Method == http.MethodGet:
		s.list(w, r, func(*Incident) bool { return true })
	case parts[2] == "incidents" && len(parts) == 4 && parts[3] == "unresolved" && r.Method == http.MethodGet:
		s.list(w, r, func(inc *Incident) bool { return inc.Status != "resolved" })
	case parts[2] == "incidents" && len(parts) == 4 && r.Method == http.MethodGet:
		if inc := s.incident(parts[3]); inc != nil {
			writeJSON(w, http.StatusOK, s.view(inc))
		} else {
			fail(w, http.StatusNotFound, "The requested resource could not be found.")
		}
	case parts[2] == "incidents" && len(parts) == 4 && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		s.updateIncident(w, r, parts[3])
	case parts[2] == "components" && len(parts) == 3 && r.Method == http.MethodGet:
		out := make([]Component, 0, len(s.components))
		for _, c := range s.components {
			out = append(out, *c)
		}
		writeJSON(w, http.StatusOK, out)
	case parts[2] == "components" && len(parts) == 4 && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		s.updateComponent(w, r, parts[3])
	default:
		fail(w, http.StatusNotFound, "The requested resource could not be found.")
	}
}

type incidentBody struct {
	Incident *struct {
		Name                 *string                   `json:"name"`
		Status               string                    `json:"status"`
		Body                 string                    `json:"body"`
		ComponentIDs         []string                  `json:"component_ids"`
		Components           map[string]string         `json:"components"`
		Metadata             map[string]map[string]any `json:"metadata"`
		DeliverNotifications *bool                     `json:"deliver_notifications"`
	} `json:"incident"`
}

func (s *Server) decodeIncident(w http.ResponseWriter, r *http.Request) (*incidentBody, bool) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return nil, false
	}
	var b incidentBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Incident == nil {
		fail(w, http.StatusBadRequest, "Request body must be a JSON object with an incident")
		return nil, false
	}
	in := b.Incident
	var errs []string
	if in.Status != "" && !slices.Contains(incidentStatuses, in.Status) {
		errs = append(errs, "Status is not included in the list")
	}
	for id, st := range in.Components {
		if s.component(id) == nil {
			errs = append(errs, "Component "+id+" does not exist")
		} else if !slices.Contains(componentStatuses, st) {
			errs = append(errs, "Component status "+st+" is not included in the list")
		}
	}
	for _, id := range in.ComponentIDs {
		if s.component(id) == nil {
			errs = append(errs, "Component "+id+" does not exist")
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		if len(errs) == 1 {
			fail(w, http.StatusUnprocessableEntity, errs[0])
		} else {
			fail(w, http.StatusUnprocessableEntity, errs)
		}
		return nil, false
	}
	return &b, true
}

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) {
	b, ok := s.decodeIncident(w, r)
	if !ok {
		return
	}
	in := b.Incident
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		fail(w, http.StatusUnprocessableEntity, "Name can't be blank")
		return
	}
	status := in.Status
	if status == "" {
		status = "investigating"
	}
	inc := s.newIncident(*in.Name, in.Metadata)
	s.apply(inc, status, in.Body, in.Components, in.DeliverNotifications == nil || *in.DeliverNotifications)
	s.attach(inc, in.ComponentIDs, in.Components)
	writeJSON(w, http.StatusCreated, s.view(inc))
}

func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request, id string) {
	inc := s.incident(id)
	if inc == nil {
		fail(w, http.StatusNotFound, "The requested resource could not be found.")
		return
	}
	b, ok := s.decodeIncident(w, r)
	if !ok {
		return
	}
	in := b.Incident
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			fail(w, http.StatusUnprocessableEntity, "Name can't be blank")
			return
		}
		inc.Name = *in.Name
	}
	for k, v := range in.Metadata {
		if inc.Metadata == nil {
			inc.Metadata = map[string]map[string]any{}
		}
		inc.Metadata[k] = v
	}
	status := in.Status
	if status == "" {
		status = inc.Status
	}
	s.attach(inc, in.ComponentIDs, in.Components)
	s.apply(inc, status, in.Body, in.Components, in.DeliverNotifications == nil || *in.DeliverNotifications)
	writeJSON(w, http.StatusOK, s.view(inc))
}

func (s *Server) updateComponent(w http.ResponseWriter, r *http.Request, id string) {
	c := s.component(id)
	if c == nil {
		fail(w, http.StatusNotFound, "The requested resource could not be found.")
		return
	}
	var b struct {
		Component *struct {
			Status string `json:"status"`
			Name   string `json:"name"`
		} `json:"component"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Component == nil {
		fail(w, http.StatusBadRequest, "Request body must be a JSON object with a component")
		return
	}
	if b.Component.Status != "" {
		if !slices.Contains(componentStatuses, b.Component.Status) {
			fail(w, http.StatusUnprocessableEntity, "Status is not included in the list")
			return
		}
		c.Status = b.Component.Status
	}
	if b.Component.Name != "" {
		c.Name = b.Component.Name
	}
	c.UpdatedAt = s.now()
	writeJSON(w, http.StatusOK, *c)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, keep func(*Incident) bool) {
	page, perPage := 1, 100
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(w, http.StatusBadRequest, "page must be a positive integer")
			return
		}
		page = n
	}
	if v := r.URL.Query().Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fail(w, http.StatusBadRequest, "per_page must be between 1 and 100")
			return
		}
		perPage = n
	}
	// Newest first, as the API lists them.
	var all []Incident
	for i := len(s.incidents) - 1; i >= 0; i-- {
		if keep(s.incidents[i]) {
			all = append(all, s.view(s.incidents[i]))
		}
	}
	from := min((page-1)*perPage, len(all))
	to := min(from+perPage, len(all))
	writeJSON(w, http.StatusOK, append([]Incident{}, all[from:to]...))
}

func (s *Server) newIncident(name string, metadata map[string]map[string]any) *Incident {
	now := s.now()
	inc := &Incident{ID: s.id("i"), PageID: s.PageID, Name: name, CreatedAt: now, UpdatedAt: now, Metadata: metadata, Impact: "none"}
	inc.Shortlink = "https://stspg.io/" + inc.ID[len(inc.ID)-6:]
	s.incidents = append(s.incidents, inc)
	return inc
}

// attach adds components to the incident's list.
func (s *Server) attach(inc *Incident, ids []string, statuses map[string]string) {
	all := slices.Clone(ids)
	for id := range statuses {
		all = append(all, id)
	}
	sort.Strings(all)
	for _, id := range all {
		if !slices.ContainsFunc(inc.Components, func(c Component) bool { return c.ID == id }) {
			if c := s.component(id); c != nil {
				inc.Components = append(inc.Components, Component{ID: id})
			}
		}
	}
}

// apply records an update: status, body, component changes, impact.
func (s *Server) apply(inc *Incident, status, body string, comps map[string]string, notify bool) {
	now := s.now()
	u := Update{ID: s.id("u"), IncidentID: inc.ID, Status: status, Body: body, CreatedAt: now, DisplayAt: now,
		DeliverNotifications: notify, AffectedComponents: []AffectedComponent{}}
	ids := make([]string, 0, len(comps))
	for id := range comps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := s.component(id)
		if c == nil {
			continue
		}
		u.AffectedComponents = append(u.AffectedComponents, AffectedComponent{Code: id, Name: c.Name, OldStatus: c.Status, NewStatus: comps[id]})
		c.Status = comps[id]
		c.UpdatedAt = now
	}
	inc.Status = status
	inc.UpdatedAt = now
	switch status {
	case "monitoring":
		inc.MonitoringAt = &now
	case "resolved":
		inc.ResolvedAt = &now
	}
	// Newest update first, as the API lists them.
	inc.IncidentUpdates = append([]Update{u}, inc.IncidentUpdates...)
	inc.Impact = "none"
	rank := map[string]int{"degraded_performance": 1, "partial_outage": 2, "major_outage": 3}
	worst := 0
	for _, ic := range inc.Components {
		if c := s.component(ic.ID); c != nil {
			worst = max(worst, rank[c.Status])
		}
	}
	inc.Impact = []string{"none", "minor", "major", "critical"}[worst]
}

func (s *Server) view(inc *Incident) Incident {
	out := *inc
	out.IncidentUpdates = slices.Clone(inc.IncidentUpdates)
	if out.IncidentUpdates == nil {
		out.IncidentUpdates = []Update{}
	}
	out.Components = make([]Component, 0, len(inc.Components))
	for _, ic := range inc.Components {
		if c := s.component(ic.ID); c != nil {
			out.Components = append(out.Components, *c)
		}
	}
	if out.Metadata == nil {
		out.Metadata = map[string]map[string]any{}
	}
	return out
}

func (s *Server) incident(id string) *Incident {
	for _, inc := range s.incidents {
		if inc.ID == id {
			return inc
		}
	}
	return nil
}

func (s *Server) component(id string) *Component {
	for _, c := range s.components {
		if c.ID == id {
			return c
		}
	}
	return nil
}
