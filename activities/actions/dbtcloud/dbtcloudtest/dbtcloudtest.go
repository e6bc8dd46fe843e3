// Package dbtcloudtest is a stand-in for dbt Cloud's Administrative API
// v2: an HTTP server on 127.0.0.1 that answers the endpoints datasev's
// dbt Cloud client uses with the documented shapes, so the client runs
// unmodified in tests and in the dev stack.
//
// It serves, under /api/v2/accounts/{account_id}:
//
//   - POST jobs/{job_id}/run/ ({"cause"} required, as dbt Cloud requires
//     it) → the new run, status 1 (queued);
//   - POST jobs/{job_id}/rerun/ → when the job's latest run errored, a new
//     run that resumes from the failed step (Run.RetriedFrom); otherwise a
//     new run, as dbt Cloud documents;
//   - GET runs/{run_id}/ → the run; with Options.AutoAdvance each read moves
//     it one step: queued → starting → running → success (or error when
//     the job is set to fail with FailJob);
//   - GET runs/?job_definition_id=&order_by=-id&limit=&include_related= →
//     the job's runs, newest first (the trigger, with its cause, only when
//     include_related names it);
//   - GET jobs/{job_id}/ → the job.
//
// Every answer is the envelope {"status": {"code", "is_success",
// "user_message", "developer_message"}, "data": …}. Requests must carry
// "Authorization: Token <token>" (or Bearer); others get 401. Unknown
// accounts, jobs and runs get 404. Fail makes the next requests of a route
// answer a status (429 with Retry-After, 5xx); LoseNextAnswer carries out
// the next request of a route and then drops the connection, as a lost
// answer.
//
// It is never part of a production path: the worker talks to it only when
// configured with its loopback address (see Env).
package dbtcloudtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/datasev/datasev/activities/support/loopback"
)

// DefaultToken is the service token the server accepts by default.
const DefaultToken = "dbtcloudtest-token"

// Options configure a Server.
type Options struct {
	// Token is the accepted service token (default DefaultToken).
	Token string
	// AutoAdvance moves a run one step each time it is read.
	AutoAdvance bool
	// Now is the clock for timestamps (default time.Now).
	Now func() time.Time
}

// Run is a run as the stand-in holds it, for assertions.
type Run struct {
	ID, AccountID, JobID int64
	Status               int
	Cause                string
	// RetriedFrom is the failed run a rerun resumed from (0 for none).
	RetriedFrom int64
}

// Request is one request the server received (credentials not kept).
type Request struct {
	Method, Path, Query string
	// Route is the request's route, e.g. "POST jobs/run".
	Route string
	// Body is the decoded JSON body, nil when none.
	Body map[string]any
}

type job struct {
	account, id int64
	name        string
	fail        bool
}

type fault struct {
	status     int
	retryAfter string
	lose       bool
}

// Server is a running stand-in.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port.
	URL string

	opts Options
	srv  *http.Server

	mu     sync.Mutex
	jobs   map[[2]int64]*job
	runs   map[int64]*Run
	nextID int64
	reqs   []Request
	faults map[string][]fault
}

// New starts a server on 127.0.0.1. It panics if it cannot listen.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := loopback.Listen("")
	if err != nil {
		panic(fmt.Sprintf("dbtcloudtest: %v", err))
	}
	s := &Server{URL: "http://" + ln.Addr().String(), opts: opts,
		jobs: map[[2]int64]*job{}, runs: map[int64]*Run{}, nextID: 70000000, faults: map[string][]fault{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Env points datasev's dbt Cloud configuration at this server.
func (s *Server) Env() map[string]string {
	return map[string]string{"DATASEV_DBTCLOUD_URL": s.URL, "DATASEV_DBTCLOUD_TOKEN": s.opts.Token}
}

// SeedJob adds a job to an account.
func (s *Server) SeedJob(account, id int64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[[2]int64{account, id}] = &job{account: account, id: id, name: name}
}

// SeedRun adds a finished or running run of a job with a status, and
// returns its ID.
func (s *Server) SeedRun(account, jobID int64, status int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newRun(account, jobID, status, "seeded", 0).ID
}

// FailJob makes the job's next runs end in error (fail true) or success.
func (s *Server) FailJob(account, id int64, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[[2]int64{account, id}].fail = fail
}

// SetStatus sets a run's status.
func (s *Server) SetStatus(id int64, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[id].Status = status
}

// Fail makes the next n requests of route (e.g. "POST jobs/run", "GET
// runs/get") answer status, with a Retry-After header when retryAfter is
// not empty.
func (s *Server) Fail(route string, n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[route] = append(s.faults[route], fault{status: status, retryAfter: retryAfter})
	}
}

// LoseNextAnswer carries out the next request of route and drops the
// connection instead of answering.
func (s *Server) LoseNextAnswer(route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], fault{lose: true})
}

// Runs lists the runs of a job, oldest first.
func (s *Server) Runs(account, jobID int64) []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Run
	for _, r := range s.runs {
		if r.AccountID == account && r.JobID == jobID {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Requests lists the requests received.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count counts the requests of a route.
func (s *Server) Count(route string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Route == route {
			n++
		}
	}
	return n
}

func (s *Server) newRun(account, jobID int64, status int, cause string, from int64) *Run {
	s.nextID++
	r := &Run{ID: s.nextID, AccountID: account, JobID: jobID, Status: status, Cause: cause, RetriedFrom: from}
	s.runs[r.ID] = r
	return r
}

func (s *Server) runJSON(r *Run, withTrigger bool) map[string]any {
	humanized := map[int]string{1: "Queued", 2: "Starting", 3: "Running", 10: "Success", 20: "Error", 30: "Cancelled"}[r.Status]
	complete := r.Status == 10 || r.Status == 20 || r.Status == 30
	var msg any
	if r.Status == 20 {
		msg = "Database Error in model orders (models/marts/orders.sql)"
	}
	out := map[string]any{
		"id": r.ID, "account_id": r.AccountID, "job_definition_id": r.JobID, "job_id": r.JobID, "status": r.Status,
		"status_humanized": humanized, "status_message": msg, "in_progress": !complete, "is_complete": complete,
		"is_success": r.Status == 10, "is_error": r.Status == 20, "is_cancelled": r.Status == 30,
		"href":       fmt.Sprintf("%s/deploy/%d/projects/1/runs/%d/", s.URL, r.AccountID, r.ID),
		"created_at": s.opts.Now().UTC().Format("2006-01-02 15:04:05.000000+00:00"), "finished_at": nil,
		"duration": "00:00:12", "trigger_id": r.ID + 1000,
	}
	if withTrigger {
		out["trigger"] = map[string]any{"id": r.ID + 1000, "cause": r.Cause}
	}
	return out
}

func write(w http.ResponseWriter, code int, data any, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if msg == "" {
		msg = "Success!"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status": map[string]any{"code": code, "is_success": code < 300, "user_message": msg, "developer_message": ""},
		"data":   data,
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	route := routeOf(r.Method, segs)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Route: route}
	if r.Body != nil {
		var body map[string]any
		if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body) == nil {
			req.Body = body
		}
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	var f *fault
	if q := s.faults[route]; len(q) > 0 {
		f = &q[0]
		s.faults[route] = q[1:]
	}
	s.mu.Unlock()

	auth := r.Header.Get("Authorization")
	if auth != "Token "+s.opts.Token && auth != "Bearer "+s.opts.Token {
		write(w, http.StatusUnauthorized, nil, "Invalid token.")
		return
	}
	if f != nil && !f.lose {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		write(w, f.status, nil, http.StatusText(f.status))
		return
	}
	if route == "" {
		write(w, http.StatusNotFound, nil, "Not found.")
		return
	}
	account, err := strconv.ParseInt(segs[3], 10, 64)
	if err != nil {
		write(w, http.StatusNotFound, nil, "Not found.")
		return
	}
	code, data, msg := s.handle(route, account, segs, r, req.Body)
	if f != nil && f.lose {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	write(w, code, data, msg)
}

// routeOf names a request's route: api/v2/accounts/{id}/… .
func routeOf(method string, segs []string) string {
	if len(segs) < 5 || segs[0] != "api" || segs[1] != "v2" || segs[2] != "accounts" {
		return ""
	}
	rest := segs[4:]
	switch {
	case method == http.MethodPost && len(rest) == 3 && rest[0] == "jobs" && rest[2] == "run":
		return "POST jobs/run"
	case method == http.MethodPost && len(rest) == 3 && rest[0] == "jobs" && rest[2] == "rerun":
		return "POST jobs/rerun"
	case method == http.MethodGet && len(rest) == 2 && rest[0] == "jobs":
		return "GET jobs/get"
	case method == http.MethodGet && len(rest) == 2 && rest[0] == "runs":
		return "GET runs/get"
	case method == http.MethodGet && len(rest) == 1 && rest[0] == "runs":
		return "GET runs/list"
	}
	return ""
}

func (s *Server) handle(route string, account int64, segs []string, r *http.Request, body map[string]any) (int, any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	jobOf := func(seg string) *job {
		id, err := strconv.ParseInt(seg, 10, 64)
		if err != nil {
			return nil
		}
		return s.jobs[[2]int64{account, id}]
	}
	switch route {
	case "POST jobs/run":
		j := jobOf(segs[5])
		if j == nil {
			return http.StatusNotFound, nil, "Job not found."
		}
		cause, _ := body["cause"].(string)
		if strings.TrimSpace(cause) == "" {
			return http.StatusBadRequest, nil, "cause: This field is required."
		}
		return http.StatusOK, s.runJSON(s.newRun(account, j.id, 1, cause, 0), false), ""
	case "POST jobs/rerun":
		j := jobOf(segs[5])
		if j == nil {
			return http.StatusNotFound, nil, "Job not found."
		}
		var latest *Run
		for _, x := range s.runs {
			if x.AccountID == account && x.JobID == j.id && (latest == nil || x.ID > latest.ID) {
				latest = x
			}
		}
		from := int64(0)
		if latest != nil && latest.Status == 20 {
			from = latest.ID
		}
		return http.StatusOK, s.runJSON(s.newRun(account, j.id, 1, "Retried from run", from), false), ""
	case "GET jobs/get":
		j := jobOf(segs[5])
		if j == nil {
			return http.StatusNotFound, nil, "Job not found."
		}
		return http.StatusOK, map[string]any{"id": j.id, "account_id": j.account, "name": j.name, "state": 1}, ""
	case "GET runs/get":
		id, _ := strconv.ParseInt(segs[5], 10, 64)
		x := s.runs[id]
		if x == nil || x.AccountID != account {
			return http.StatusNotFound, nil, "Run not found."
		}
		out := s.runJSON(x, false)
		if s.opts.AutoAdvance {
			s.advance(x)
		}
		return http.StatusOK, out, ""
	case "GET runs/list":
		q := r.URL.Query()
		jobID, _ := strconv.ParseInt(q.Get("job_definition_id"), 10, 64)
		limit, _ := strconv.Atoi(q.Get("limit"))
		if limit <= 0 || limit > 100 {
			limit = 100
		}
		var rs []*Run
		for _, x := range s.runs {
			if x.AccountID == account && (jobID == 0 || x.JobID == jobID) {
				rs = append(rs, x)
			}
		}
		desc := q.Get("order_by") == "-id"
		sort.Slice(rs, func(i, j int) bool {
			if desc {
				return rs[i].ID > rs[j].ID
			}
			return rs[i].ID < rs[j].ID
		})
		if len(rs) > limit {
			rs = rs[:limit]
		}
		withTrigger := strings.Contains(q.Get("include_related"), "trigger")
		out := []any{}
		for _, x := range rs {
			out = append(out, s.runJSON(x, withTrigger))
		}
		return http.StatusOK, out, ""
	}
	return http.StatusNotFound, nil, "Not found."
}

// advance moves a run one step (the caller holds s.mu).
func (s *Server) advance(r *Run) {
	switch r.Status {
	case 1:
		r.Status = 2
	case 2:
		r.Status = 3
	case 3:
		r.Status = 10
		if j := s.jobs[[2]int64{r.AccountID, r.JobID}]; j != nil && j.fail {
			r.Status = 20
		}
	}
}
