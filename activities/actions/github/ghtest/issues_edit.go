package ghtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxIssueBody is the longest issue (or comment) body GitHub accepts, in
// characters; a longer one is refused with 422.
const MaxIssueBody = 65536

// LoseResponse makes the next n requests to route (as Count names it, e.g.
// "POST /repos/{owner}/{repo}/issues") be carried out but their answers
// lost: the server closes the connection without answering, as when a
// network drops a response. The client sees a transport error although the
// write happened.
func (s *Server) LoseResponse(route string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lose == nil {
		s.lose = map[string]int{}
	}
	s.lose[route] += n
}

// takeLost reports whether this request's answer is to be lost, and
// counts it (the lock is held).
func (s *Server) takeLost(route string) bool {
	if s.lose[route] <= 0 {
		return false
	}
	s.lose[route]--
	return true
}

// dropConnection closes the connection under w without an answer; where
// it cannot (no hijacking), it answers 502 as a gateway would.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	writeError(w, http.StatusBadGateway, "Server Error")
}

// discard is where a lost request's answer goes.
func discard() http.ResponseWriter { return httptest.NewRecorder() }

// bodyTooLong answers 422 as GitHub does when an issue body exceeds
// MaxIssueBody characters, and reports whether it did.
func bodyTooLong(w http.ResponseWriter, body string) bool {
	if utf8.RuneCountInString(body) <= MaxIssueBody {
		return false
	}
	writeJSON(w, http.StatusUnprocessableEntity, apiError{
		Message: "Validation Failed", DocumentationURL: DocsURL, Status: "422",
		Errors: []map[string]any{{"resource": "Issue", "field": "body", "code": "custom",
			"message": fmt.Sprintf("body is too long (maximum is %d characters)", MaxIssueBody)}},
	})
	return true
}

// editIssue serves PATCH /repos/{owner}/{repo}/issues/{number}: title,
// body, state (open or closed), state_reason (completed, not_planned or
// reopened; taken only with a change of state), labels (names or
// {"name"} objects; replacing the set). Other fields (assignees,
// milestone) are accepted and ignored. Absent fields are left as they are.
func (c *call) editIssue(r *repo, is *issue) {
	var in map[string]json.RawMessage
	if !c.decode(&in) {
		return
	}
	str := func(k string) (v string, set, null, ok bool) {
		raw, present := in[k]
		if !present {
			return "", false, false, true
		}
		if string(raw) == "null" {
			return "", true, true, true
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", true, false, false
		}
		return v, true, false, true
	}
	title, titleSet, titleNull, ok := str("title")
	if !ok {
		// GitHub takes a number as the title too.
		var n json.Number
		if err := json.Unmarshal(in["title"], &n); err != nil {
			unprocessable(c.w, "Invalid request.\n\nFor 'properties/title', "+string(in["title"])+" is not a string or integer.", "Issue", "title", "invalid")
			return
		}
		title = n.String()
	}
	if titleSet && (titleNull || strings.TrimSpace(title) == "") {
		unprocessable(c.w, "Validation Failed", "Issue", "title", "missing_field")
		return
	}
	body, bodySet, _, ok := str("body")
	if !ok {
		unprocessable(c.w, "Invalid request.\n\nFor 'properties/body', "+string(in["body"])+" is not a string or null.", "Issue", "body", "invalid")
		return
	}
	if bodySet && bodyTooLong(c.w, body) {
		return
	}
	state, stateSet, _, ok := str("state")
	if !ok || stateSet && state != "open" && state != "closed" {
		unprocessable(c.w, "Validation Failed", "Issue", "state", "invalid")
		return
	}
	reason, _, _, ok := str("state_reason")
	if !ok || reason != "" && reason != "completed" && reason != "not_planned" && reason != "reopened" {
		unprocessable(c.w, "Validation Failed", "Issue", "state_reason", "invalid")
		return
	}
	var labels []string
	labelsSet := false
	if raw, present := in["labels"]; present {
		labelsSet = true
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			unprocessable(c.w, "Validation Failed", "Issue", "labels", "invalid")
			return
		}
		for _, it := range items {
			var name string
			if json.Unmarshal(it, &name) != nil {
				var obj struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(it, &obj) != nil || obj.Name == "" {
					unprocessable(c.w, "Validation Failed", "Label", "name", "invalid")
					return
				}
				name = obj.Name
			}
			labels = append(labels, name)
		}
	}
	// Every check passed: apply.
	if titleSet {
		is.title = title
	}
	if bodySet {
		is.body = body
	}
	if labelsSet {
		is.labels = labels
	}
	if stateSet && state != is.state {
		is.state = state
		if state == "closed" {
			is.closed = c.s.now().UTC()
			if reason == "" || reason == "reopened" {
				reason = "completed"
			}
			is.stateReason = reason
		} else {
			is.closed = time.Time{}
			is.stateReason = "reopened"
		}
	}
	writeJSON(c.w, http.StatusOK, c.issueJSON(r, is))
}

// nullable is s, or JSON null when s is empty.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
