// Package jiratest is a stand-in for the parts of Jira Cloud's REST API v3
// the jira package uses: create an issue, search by JQL (project and label
// only), read an issue's status. It checks what Jira checks that matters to
// the client (authentication, the project, the issue type, the summary's
// length, labels without spaces) and answers with Jira's error collection.
// Faults: a status to answer the next requests with (429 with Retry-After,
// 503), a created issue whose answer is lost (the connection drops after
// the issue exists), and a search index that lags creations.
//
// It is test code: the shipped binaries never link it.
package jiratest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Server is a running stand-in.
type Server struct {
	*httptest.Server
	// Email and Token are the basic-auth credentials it accepts.
	Email, Token string
	// Project is the one project key it has.
	Project string

	mu        sync.Mutex
	issues    []*issue
	fail      []fault
	dropNext  int
	lag       int
	creates   int
	searches  int
	issueType []string
}

type issue struct {
	key, summary string
	labels       []string
	done         bool
	status       string
	visibleAfter int // the search count from which it shows in searches
	description  any
}

type fault struct {
	status     int
	retryAfter string
}

// New starts a stand-in on 127.0.0.1 with project DATA, issue types Task
// and Bug, and credentials ops@example.com / token.
func New() *Server {
	s := &Server{Email: "ops@example.com", Token: "jira-test-token", Project: "DATA", issueType: []string{"Task", "Bug"}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// FailNext answers the next n requests with status (and Retry-After when
// retryAfter is not empty).
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, fault{status, retryAfter})
	}
}

// DropNextCreateAnswer makes the next n creations happen but their answers
// lost: the connection closes without a response.
func (s *Server) DropNextCreateAnswer(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropNext += n
}

// IndexLag hides each new issue from the next n searches, as Jira's search
// index does for a moment after a creation.
func (s *Server) IndexLag(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = n
}

// Creates is how many issues were created.
func (s *Server) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

// Issue is a created issue as a test sees it.
type Issue struct {
	Key, Summary string
	Labels       []string
	Done         bool
	// Description is the description's text, paragraphs joined by "\n".
	Description string
}

// Issues returns the created issues in order.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	for _, is := range s.issues {
		out = append(out, Issue{Key: is.key, Summary: is.summary, Labels: slices.Clone(is.labels), Done: is.done, Description: adfText(is.description)})
	}
	return out
}

// Resolve moves an issue to a status in the "done" category.
func (s *Server) Resolve(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.issues {
		if is.key == key {
			is.done, is.status = true, "Done"
			return true
		}
	}
	return false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if len(s.fail) > 0 {
		f := s.fail[0]
		s.fail = s.fail[1:]
		s.mu.Unlock()
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		writeErr(w, f.status, []string{http.StatusText(f.status)}, nil)
		return
	}
	s.mu.Unlock()
	if !s.authorized(r) {
		writeErr(w, http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/rest/api/3/issue":
		s.create(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/rest/api/3/search/jql":
		s.search(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/rest/api/3/issue/"):
		s.get(w, r, strings.TrimPrefix(r.URL.Path, "/rest/api/3/issue/"))
	default:
		writeErr(w, http.StatusNotFound, []string{"no such resource: " + r.Method + " " + r.URL.Path}, nil)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == s.Email && p == s.Token
}

func writeErr(w http.ResponseWriter, status int, msgs []string, fields map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if msgs == nil {
		msgs = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errorMessages": msgs, "errors": fields})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Fields struct {
			Project struct {
				Key string `json:"key"`
			} `json:"project"`
			IssueType struct {
				Name string `json:"name"`
			} `json:"issuetype"`
			Summary     string   `json:"summary"`
			Description any      `json:"description"`
			Labels      []string `json:"labels"`
		} `json:"fields"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		writeErr(w, http.StatusBadRequest, []string{"invalid request payload: " + err.Error()}, nil)
		return
	}
	f := in.Fields
	errs := map[string]string{}
	if f.Project.Key != s.Project {
		errs["project"] = "valid project is required"
	}
	if !slices.Contains(s.issueType, f.IssueType.Name) {
		errs["issuetype"] = "The issue type selected is invalid."
	}
	switch {
	case strings.TrimSpace(f.Summary) == "":
		errs["summary"] = "You must specify a summary of the issue."
	case len([]rune(f.Summary)) > 255:
		errs["summary"] = "Summary must be less than 255 characters."
	case strings.ContainsAny(f.Summary, "\r\n"):
		errs["summary"] = "Field 'summary' cannot contain newline characters."
	}
	for _, l := range f.Labels {
		if l == "" || strings.ContainsAny(l, " \t") || len(l) > 255 {
			errs["labels"] = "Labels cannot contain spaces."
		}
	}
	if d, ok := f.Description.(map[string]any); f.Description != nil && (!ok || d["type"] != "doc") {
		errs["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)."
	}
	if len(errs) > 0 {
		writeErr(w, http.StatusBadRequest, nil, errs)
		return
	}
	s.mu.Lock()
	s.creates++
	n := len(s.issues) + 1
	is := &issue{key: fmt.Sprintf("%s-%d", s.Project, n), summary: f.Summary, labels: f.Labels, status: "To Do", visibleAfter: s.searches + s.lag, description: f.Description}
	s.issues = append(s.issues, is)
	drop := s.dropNext > 0
	if drop {
		s.dropNext--
	}
	s.mu.Unlock()
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": strconv.Itoa(10000 + n), "key": is.key, "self": s.URL + "/rest/api/3/issue/" + strconv.Itoa(10000+n)})
}

// jqlProjectLabel is the one JQL shape the stand-in answers.
var jqlProjectLabel = regexp.MustCompile(`^project = "([A-Z][A-Z0-9_]*)" AND labels = "([^"\\]+)"( ORDER BY created ASC)?$`)

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var in struct {
		JQL        string   `json:"jql"`
		Fields     []string `json:"fields"`
		MaxResults int      `json:"maxResults"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		writeErr(w, http.StatusBadRequest, []string{"invalid request payload: " + err.Error()}, nil)
		return
	}
	m := jqlProjectLabel.FindStringSubmatch(in.JQL)
	if m == nil {
		writeErr(w, http.StatusBadRequest, []string{"Error in the JQL Query: the stand-in answers only project = \"KEY\" AND labels = \"label\""}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searches++
	if m[1] != s.Project {
		writeErr(w, http.StatusBadRequest, []string{fmt.Sprintf("The value '%s' does not exist for the field 'project'.", m[1])}, nil)
		return
	}
	var out []any
	for _, is := range s.issues {
		if slices.Contains(is.labels, m[2]) && s.searches > is.visibleAfter {
			out = append(out, s.view(is))
		}
	}
	if in.MaxResults > 0 && len(out) > in.MaxResults {
		out = out[:in.MaxResults]
	}
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"issues": out})
}

func (s *Server) view(is *issue) map[string]any {
	cat := map[string]string{"key": "new", "name": "To Do"}
	if is.done {
		cat = map[string]string{"key": "done", "name": "Done"}
	}
	return map[string]any{"id": strings.TrimPrefix(is.key, s.Project+"-"), "key": is.key,
		"fields": map[string]any{"status": map[string]any{"name": is.status, "statusCategory": cat}}}
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.issues {
		if is.key == key {
			writeJSON(w, http.StatusOK, s.view(is))
			return
		}
	}
	writeErr(w, http.StatusNotFound, []string{"Issue does not exist or you do not have permission to see it."}, nil)
}

// adfText flattens an Atlassian Document Format body's text nodes, one
// line a paragraph.
func adfText(v any) string {
	d, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	var lines []string
	paras, _ := d["content"].([]any)
	for _, p := range paras {
		pm, _ := p.(map[string]any)
		nodes, _ := pm["content"].([]any)
		var line strings.Builder
		for _, n := range nodes {
			nm, _ := n.(map[string]any)
			if t, ok := nm["text"].(string); ok {
				line.WriteString(t)
			}
		}
		lines = append(lines, line.String())
	}
	return strings.Join(lines, "\n")
}
