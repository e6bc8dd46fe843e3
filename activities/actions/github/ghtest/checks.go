package ghtest

import (
	"fmt"
	"net/http"
	"sort"
)

// Commit statuses and check runs, and the required checks of a protected
// branch (Protection.RequiredChecks):
//
//   - GET /repos/{o}/{r}/commits/{ref}/status answers the combined status
//     (state success, pending or failure; statuses with context and state);
//   - GET /repos/{o}/{r}/commits/{ref}/check-runs answers {total_count,
//     check_runs: [{name, status, conclusion, head_sha}]};
//   - GET /repos/{o}/{r}/branches/{b}/protection/required_status_checks
//     answers {strict, contexts, checks: [{context}]} (404 when none), and
//     GET /repos/{o}/{r}/branches/{b} carries protection.required_status_checks
//     {contexts, checks: [{context}]};
//   - PUT /repos/{o}/{r}/pulls/{n}/merge answers 405 "Required status check
//     "<name>" is expected." while a required check has not passed on the
//     pull request's head, as GitHub does.

// checkRun is a check run of a commit; pending reads are how many more
// reads of the commit's check runs it stays in_progress for.
type checkRun struct {
	name, conclusion string
	pendingReads     int
}

// SetStatus sets a commit status (state success, pending, failure or
// error) of context on sha.
func (s *Server) SetStatus(fullName, sha, context, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statuses == nil {
		s.statuses = map[string]map[string]string{}
	}
	k := fullName + "@" + sha
	if s.statuses[k] == nil {
		s.statuses[k] = map[string]string{}
	}
	s.statuses[k][context] = state
}

// SetCheckRun adds (or replaces) a check run named name on sha that stays
// in_progress for the next pendingReads reads of the commit's check runs,
// then completes with conclusion (success, failure, neutral, skipped,
// cancelled, timed_out, action_required).
func (s *Server) SetCheckRun(fullName, sha, name, conclusion string, pendingReads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checkRuns == nil {
		s.checkRuns = map[string][]*checkRun{}
	}
	k := fullName + "@" + sha
	for _, c := range s.checkRuns[k] {
		if c.name == name {
			c.conclusion, c.pendingReads = conclusion, pendingReads
			return
		}
	}
	s.checkRuns[k] = append(s.checkRuns[k], &checkRun{name: name, conclusion: conclusion, pendingReads: pendingReads})
}

// checkStates maps every status context and check run name of sha to
// "success", "pending" or "failure" (the caller holds s.mu). read counts a
// read of the check runs.
func (s *Server) checkStates(fullName, sha string, read bool) map[string]string {
	out := map[string]string{}
	k := fullName + "@" + sha
	for ctx, st := range s.statuses[k] {
		switch st {
		case "success":
			out[ctx] = "success"
		case "pending":
			out[ctx] = "pending"
		default:
			out[ctx] = "failure"
		}
	}
	for _, c := range s.checkRuns[k] {
		switch {
		case c.pendingReads > 0:
			out[c.name] = "pending"
		case c.conclusion == "success" || c.conclusion == "neutral" || c.conclusion == "skipped":
			out[c.name] = "success"
		default:
			out[c.name] = "failure"
		}
		if read && c.pendingReads > 0 {
			c.pendingReads--
		}
	}
	return out
}

// requiredBlocking is the first required check of branch that has not
// passed on sha, with GitHub's 405 message; "" when none (the caller
// holds s.mu).
func (s *Server) requiredBlocking(r *repo, branch, sha string) string {
	p, ok := r.protection[branch]
	if !ok || len(p.RequiredChecks) == 0 {
		return ""
	}
	states := s.checkStates(r.fullName(), sha, false)
	for _, name := range p.RequiredChecks {
		if states[name] != "success" {
			return fmt.Sprintf("Required status check %q is expected.", name)
		}
	}
	return ""
}

// combinedStatus serves GET /commits/{ref}/status.
func (c *call) combinedStatus(r *repo, sha string) {
	k := r.fullName() + "@" + sha
	var names []string
	for ctx := range c.s.statuses[k] {
		names = append(names, ctx)
	}
	sort.Strings(names)
	state := "success"
	statuses := []any{}
	for _, n := range names {
		st := c.s.statuses[k][n]
		statuses = append(statuses, map[string]any{"context": n, "state": st})
		switch {
		case st == "failure" || st == "error":
			state = "failure"
		case st == "pending" && state != "failure":
			state = "pending"
		}
	}
	if len(names) == 0 {
		state = "pending"
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"state": state, "sha": sha, "total_count": len(names), "statuses": statuses})
}

// checkRuns serves GET /commits/{ref}/check-runs.
func (c *call) checkRuns(r *repo, sha string) {
	k := r.fullName() + "@" + sha
	runs := []any{}
	for _, cr := range c.s.checkRuns[k] {
		status, conclusion := "completed", any(cr.conclusion)
		if cr.pendingReads > 0 {
			status, conclusion = "in_progress", nil
		}
		runs = append(runs, map[string]any{"name": cr.name, "status": status, "conclusion": conclusion, "head_sha": sha})
	}
	c.s.checkStates(r.fullName(), sha, true)
	writeJSON(c.w, http.StatusOK, map[string]any{"total_count": len(runs), "check_runs": runs})
}

// requiredChecksJSON is a branch's protection.required_status_checks.
func requiredChecksJSON(p Protection) map[string]any {
	checks := []any{}
	for _, n := range p.RequiredChecks {
		checks = append(checks, map[string]any{"context": n, "app_id": nil})
	}
	return map[string]any{"enforcement_level": "non_admins", "contexts": append([]string{}, p.RequiredChecks...), "checks": checks}
}

// requiredStatusChecks serves GET
// /branches/{b}/protection/required_status_checks: 404 when the branch
// requires none.
func (c *call) requiredStatusChecks(r *repo, name string) {
	p, ok := r.protection[name]
	if _, exists := r.refs["refs/heads/"+name]; !exists || !ok || len(p.RequiredChecks) == 0 {
		writeError(c.w, http.StatusNotFound, "Required status checks not enabled")
		return
	}
	out := requiredChecksJSON(p)
	out["strict"] = false
	out["url"] = c.repoURL(r) + "/branches/" + name + "/protection/required_status_checks"
	writeJSON(c.w, http.StatusOK, out)
}
