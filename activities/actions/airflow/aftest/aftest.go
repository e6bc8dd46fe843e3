// Package aftest is a stand-in for Airflow's stable REST API: an HTTP
// server on 127.0.0.1 that follows the wire contract of API v1 (Airflow 2)
// and v2 (Airflow 3) for the endpoints datasev uses, with a small simulated
// scheduler, so that datasev's Airflow client runs unmodified in tests and
// in the one-command demo.
//
// It serves, under /api/v1 and/or /api/v2 (Options.Version):
//
//   - GET version (public);
//   - GET dags/{dag_id} (dag_id, is_paused, is_active, …);
//   - GET dags/{dag_id}/dagRuns (limit/offset with total_entries, order_by
//     ±execution_date/±run_after/±start_date, execution_date_gte (v1),
//     logical_date_gte and run_after_gte (v2), start_date_gte);
//   - POST dags/{dag_id}/dagRuns (409 when the run ID exists; v2 requires
//     logical_date, may be null, and refuses unknown fields with 422);
//   - GET dags/{dag_id}/dagRuns/{dag_run_id};
//   - GET dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances (state=…
//     repeated, limit/offset);
//   - POST dags/{dag_id}/clearTaskInstances (dry_run and only_failed
//     default to true as in Airflow; v1 answers references, v2 full task
//     instances).
//
// Authentication: v1 takes basic auth or the static bearer token and
// answers 401 with a problem+json body; v2 takes a JWT from POST
// /auth/token ({"username","password"} → 201 {"access_token"}) or the
// static token, and answers 401 {"detail": ...}. ExpireTokens invalidates
// every JWT issued so far. Errors are v1 problem+json
// {"detail","status","title","type"} or v2 {"detail": ...}.
//
// The scheduler moves runs queued → running → success (or failed, with
// FailTasks) one step per Advance, or one step per GET of the run with
// Options.AutoAdvance. Nothing depends on the wall clock but timestamps.
//
// It is never part of a production path: the worker talks to it only when
// configured with its loopback address (see Env).
package aftest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Version is "v1", "v2" or "" for both.
	Version string
	// Username and Password are the one API user (default admin/admin).
	Username, Password string
	// Token is a static bearer token accepted by both APIs ("" for none).
	Token string
	// AutoAdvance moves a run one step each time it is read with GET
	// dags/{dag_id}/dagRuns/{dag_run_id}.
	AutoAdvance bool
	// MaxPageLimit caps limit, as Airflow's maximum_page_limit (default 100).
	MaxPageLimit int
	// Now is the clock for timestamps (default time.Now).
	Now func() time.Time
}

// Request is one request the server received. Credentials are not kept.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Body is the decoded JSON body (nil when none or not JSON).
	Body map[string]any
	// Auth is how the request authenticated: "basic", "bearer", "jwt",
	// "none" or "refused".
	Auth string
}

// RunState is a run as the stand-in holds it, for assertions.
type RunState struct {
	DAGID, RunID, State string
	// Tasks maps task IDs to states ("" for none).
	Tasks map[string]string
	// Conf is the run's conf.
	Conf map[string]any
	// Tries maps task IDs to try numbers.
	Tries map[string]int
}

type dag struct {
	id        string
	paused    bool
	tasks     []string // in dependency order: each task is downstream of the ones before it
	failTasks map[string]bool
}

type task struct {
	state string // "" = none
	try   int
	start *time.Time
	end   *time.Time
}

type run struct {
	dagID, runID, state, runType string
	logical                      *time.Time
	runAfter                     time.Time
	queued                       time.Time
	start, end                   *time.Time
	conf                         map[string]any
	tasks                        map[string]*task
	seq                          int
}

type fault struct {
	status     int
	retryAfter string
}

// Server is a running stand-in.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port.
	URL string

	opts Options
	ln   net.Listener
	srv  *http.Server
	key  []byte

	mu        sync.Mutex
	dags      map[string]*dag
	runs      map[string]map[string]*run
	seq       int
	reqs      []Request
	faults    []fault
	tokenGen  int
	issued    int
	expireAll bool
}

// New starts a server on 127.0.0.1:0. It panics if it cannot listen.
func New(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts a server on 127.0.0.1:0.
func Start(opts Options) (*Server, error) {
	if opts.Username == "" {
		opts.Username, opts.Password = "admin", "admin"
	}
	if opts.MaxPageLimit <= 0 {
		opts.MaxPageLimit = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch opts.Version {
	case "", "v1", "v2":
	default:
		return nil, fmt.Errorf("aftest: version %q: want v1, v2 or empty for both", opts.Version)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("aftest: listen: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &Server{
		URL: "http://" + ln.Addr().String(), opts: opts, ln: ln, key: key,
		dags: map[string]*dag{}, runs: map[string]map[string]*run{},
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// Env is the environment that points datasev's Airflow configuration at
// this server with the username and password.
func (s *Server) Env() map[string]string {
	api := s.opts.Version
	if api == "" {
		api = "auto"
	}
	return map[string]string{
		"DATASEV_AIRFLOW_URL":      s.URL,
		"DATASEV_AIRFLOW_API":      api,
		"DATASEV_AIRFLOW_USERNAME": s.opts.Username,
		"DATASEV_AIRFLOW_PASSWORD": s.opts.Password,
	}
}

// SeedDAG adds (or replaces the settings of) a DAG whose tasks run in the
// given order, each downstream of the ones before it.
func (s *Server) SeedDAG(dagID string, paused bool, tasks ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dags[dagID]
	if d == nil {
		d = &dag{id: dagID, failTasks: map[string]bool{}}
		s.dags[dagID] = d
		s.runs[dagID] = map[string]*run{}
	}
	d.paused = paused
	if len(tasks) > 0 {
		d.tasks = slices.Clone(tasks)
	}
}

// FailTasks makes the named tasks fail the next times they run (their
// downstream tasks become upstream_failed); no names: every task succeeds.
func (s *Server) FailTasks(dagID string, tasks ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dags[dagID]; d != nil {
		d.failTasks = map[string]bool{}
		for _, t := range tasks {
			d.failTasks[t] = true
		}
	}
}

// SeedRun adds a run with the given task states ("" or "none" for none).
// Its state follows from them: failed if any task failed or is
// upstream_failed, success if all succeeded or were skipped, queued if
// none has a state, running otherwise. An unknown DAG is created unpaused
// with the tasks in name order. The run started an hour before now.
func (s *Server) SeedRun(dagID, runID string, taskStates map[string]string) {
	s.SeedRunAt(dagID, runID, s.opts.Now().Add(-time.Hour), taskStates)
}

// SeedRunAt is SeedRun with the run's logical date and start.
func (s *Server) SeedRunAt(dagID, runID string, at time.Time, taskStates map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dags[dagID]
	if d == nil {
		names := make([]string, 0, len(taskStates))
		for t := range taskStates {
			names = append(names, t)
		}
		sort.Strings(names)
		d = &dag{id: dagID, tasks: names, failTasks: map[string]bool{}}
		s.dags[dagID] = d
		s.runs[dagID] = map[string]*run{}
	}
	for t := range taskStates {
		if !slices.Contains(d.tasks, t) {
			d.tasks = append(d.tasks, t)
		}
	}
	at = at.UTC()
	s.seq++
	r := &run{dagID: dagID, runID: runID, runType: "scheduled", logical: &at, runAfter: at, queued: at,
		conf: map[string]any{}, tasks: map[string]*task{}, seq: s.seq}
	if strings.HasPrefix(runID, "manual__") {
		r.runType = "manual"
	}
	for _, t := range d.tasks {
		st := taskStates[t]
		if st == "none" {
			st = ""
		}
		tk := &task{state: st}
		if st != "" {
			tk.try = 1
			start := at
			tk.start = &start
			if terminalTask(st) {
				end := at.Add(time.Duration(len(t)) * time.Minute)
				tk.end = &end
			}
		}
		r.tasks[t] = tk
	}
	r.state = deriveState(r)
	if r.state != "queued" {
		start := at
		r.start = &start
	}
	if r.state == "success" || r.state == "failed" {
		end := at.Add(30 * time.Minute)
		r.end = &end
	}
	s.runs[dagID][runID] = r
}

func terminalTask(st string) bool {
	switch st {
	case "success", "failed", "upstream_failed", "skipped", "removed":
		return true
	}
	return false
}

func deriveState(r *run) string {
	any, all := false, true
	for _, t := range r.tasks {
		switch t.state {
		case "failed", "upstream_failed":
			return "failed"
		case "":
			all = false
		case "success", "skipped", "removed":
			any = true
		default:
			any, all = true, false
		}
	}
	switch {
	case all && any:
		return "success"
	case !any:
		return "queued"
	}
	return "running"
}

// Advance moves every unfinished run one step: queued → running → success
// or failed (tasks named by FailTasks fail, their downstream tasks become
// upstream_failed).
func (s *Server) Advance() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, runs := range s.runs {
		for _, r := range runs {
			s.step(r)
		}
	}
}

func (s *Server) step(r *run) {
	now := s.opts.Now().UTC()
	d := s.dags[r.dagID]
	switch r.state {
	case "queued":
		r.state = "running"
		r.start, r.end = &now, nil
		for _, name := range d.tasks {
			if t := r.tasks[name]; t.state == "" {
				t.state = "queued"
			}
		}
	case "running":
		failed := false
		for _, name := range d.tasks {
			t := r.tasks[name]
			if terminalTask(t.state) && t.state != "upstream_failed" {
				if t.state == "failed" {
					failed = true
				}
				continue
			}
			start, end := now, now
			switch {
			case failed:
				t.state = "upstream_failed"
				t.start, t.end = nil, &end
				continue
			case d.failTasks[name]:
				t.state = "failed"
				failed = true
			default:
				t.state = "success"
			}
			t.try++
			t.start, t.end = &start, &end
		}
		r.state = "success"
		if failed {
			r.state = "failed"
		}
		r.end = &now
	}
}

// Run returns a run's state.
func (s *Server) Run(dagID, runID string) (RunState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runs[dagID][runID]
	if r == nil {
		return RunState{}, false
	}
	rs := RunState{DAGID: dagID, RunID: runID, State: r.state, Tasks: map[string]string{}, Tries: map[string]int{}, Conf: r.conf}
	for name, t := range r.tasks {
		rs.Tasks[name] = t.state
		rs.Tries[name] = t.try
	}
	return rs, true
}

// Runs lists a DAG's run IDs in creation order.
func (s *Server) Runs(dagID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rs []*run
	for _, r := range s.runs[dagID] {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].seq < rs[j].seq })
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.runID
	}
	return ids
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// RequestsTo returns the requests with the method whose path ends with
// suffix.
func (s *Server) RequestsTo(method, suffix string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// FailNext answers the next n requests (any path) with status, and a
// Retry-After header when retryAfter is not "".
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status, retryAfter})
	}
}

// ExpireTokens invalidates every JWT issued so far, as if they expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenGen++
}

// RefuseTokens makes every JWT, even a new one, count as expired (on) or
// not (off): a client that refreshes forever would loop.
func (s *Server) RefuseTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireAll = on
}

// TokensIssued counts the JWTs issued by POST /auth/token.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// ---- HTTP ----

type apiReq struct {
	w    http.ResponseWriter
	r    *http.Request
	api  string
	body map[string]any
	raw  []byte
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var raw []byte
	var body map[string]any
	if r.Body != nil {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20))
		raw = buf.Bytes()
		if len(raw) > 0 {
			_ = json.Unmarshal(raw, &body)
		}
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body}
	if rec.Path == "/auth/token" {
		rec.Body = nil // it holds the password
	}

	api := ""
	rest := ""
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/"):
		api, rest = "v1", strings.TrimPrefix(r.URL.Path, "/api/v1")
	case strings.HasPrefix(r.URL.Path, "/api/v2/"):
		api, rest = "v2", strings.TrimPrefix(r.URL.Path, "/api/v2")
	}
	if s.opts.Version != "" && api != "" && api != s.opts.Version {
		api = ""
	}
	a := &apiReq{w: w, r: r, api: api, body: body, raw: raw}

	s.mu.Lock()
	var f *fault
	if len(s.faults) > 0 {
		f = &s.faults[0]
		s.faults = s.faults[1:]
	}
	s.mu.Unlock()

	if f != nil {
		rec.Auth = "none"
		s.record(rec)
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		s.fail(a, f.status, http.StatusText(f.status), "injected fault")
		return
	}

	if r.URL.Path == "/auth/token" && s.opts.Version != "v1" {
		rec.Auth = "none"
		s.record(rec)
		s.authToken(a)
		return
	}
	if api == "" {
		rec.Auth = "none"
		s.record(rec)
		if s.opts.Version == "v1" || strings.HasPrefix(r.URL.Path, "/api/v1") {
			a.api = "v1"
		} else {
			a.api = "v2"
		}
		s.fail(a, http.StatusNotFound, "Not Found", "The requested URL was not found on the server.")
		return
	}
	if rest == "/version" && r.Method == http.MethodGet {
		rec.Auth = "none"
		s.record(rec)
		v := "2.10.5"
		if api == "v2" {
			v = "3.0.6"
		}
		writeJSON(w, http.StatusOK, map[string]any{"version": v, "git_version": nil})
		return
	}
	var refusal string
	rec.Auth, refusal = s.authenticate(a)
	s.record(rec)
	if rec.Auth == "refused" {
		switch {
		case api == "v1":
			s.fail(a, http.StatusUnauthorized, "Unauthorized", nil)
		case refusal == "Invalid JWT token":
			s.fail(a, http.StatusForbidden, "", refusal)
		default:
			s.fail(a, http.StatusUnauthorized, "", refusal)
		}
		return
	}
	s.route(a, rest)
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
}

var (
	reDAG       = regexp.MustCompile(`^/dags/([^/]+)$`)
	reRuns      = regexp.MustCompile(`^/dags/([^/]+)/dagRuns$`)
	reRun       = regexp.MustCompile(`^/dags/([^/]+)/dagRuns/([^/]+)$`)
	reTIs       = regexp.MustCompile(`^/dags/([^/]+)/dagRuns/([^/]+)/taskInstances$`)
	reClear     = regexp.MustCompile(`^/dags/([^/]+)/clearTaskInstances$`)
	runIDRegexp = regexp.MustCompile(`^[A-Za-z0-9_.~:+-]+$`)
)

func (s *Server) route(a *apiReq, rest string) {
	// Match on the escaped path so that IDs keep their characters.
	esc := a.r.URL.EscapedPath()
	esc = esc[len("/api/"+a.api):]
	unesc := func(v string) string {
		u, err := url.PathUnescape(v)
		if err != nil {
			return v
		}
		return u
	}
	m := a.r.Method
	switch {
	case reDAG.MatchString(esc) && m == http.MethodGet:
		s.getDAG(a, unesc(reDAG.FindStringSubmatch(esc)[1]))
	case reRuns.MatchString(esc) && m == http.MethodGet:
		s.listRuns(a, unesc(reRuns.FindStringSubmatch(esc)[1]))
	case reRuns.MatchString(esc) && m == http.MethodPost:
		s.trigger(a, unesc(reRuns.FindStringSubmatch(esc)[1]))
	case reRun.MatchString(esc) && m == http.MethodGet:
		g := reRun.FindStringSubmatch(esc)
		s.getRun(a, unesc(g[1]), unesc(g[2]))
	case reTIs.MatchString(esc) && m == http.MethodGet:
		g := reTIs.FindStringSubmatch(esc)
		s.listTIs(a, unesc(g[1]), unesc(g[2]))
	case reClear.MatchString(esc) && m == http.MethodPost:
		s.clear(a, unesc(reClear.FindStringSubmatch(esc)[1]))
	default:
		_ = rest
		s.fail(a, http.StatusNotFound, "Not Found", "The requested URL was not found on the server.")
	}
}

// ---- auth ----

// authenticate says how a request authenticated, or "refused" with
// Airflow 3's reason: "Not authenticated" (no credentials, 401), "Token
// Expired" (401) or "Invalid JWT token" (403).
func (s *Server) authenticate(a *apiReq) (auth, refusal string) {
	h := a.r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		if s.opts.Token != "" && hmac.Equal([]byte(tok), []byte(s.opts.Token)) {
			return "bearer", ""
		}
		if a.api == "v2" {
			switch s.checkJWT(tok) {
			case jwtValid:
				return "jwt", ""
			case jwtExpired:
				return "refused", "Token Expired"
			}
		}
		return "refused", "Invalid JWT token"
	}
	if a.api == "v1" {
		if u, p, ok := a.r.BasicAuth(); ok && u == s.opts.Username && p == s.opts.Password {
			return "basic", ""
		}
	}
	return "refused", "Not authenticated"
}

func (s *Server) authToken(a *apiReq) {
	a.api = "v2"
	if a.r.Method != http.MethodPost {
		writeJSON(a.w, http.StatusMethodNotAllowed, map[string]any{"detail": "Method Not Allowed"})
		return
	}
	var creds struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	dec := json.NewDecoder(bytes.NewReader(a.raw))
	if err := dec.Decode(&creds); err != nil || creds.Username == "" {
		s.validation(a, []map[string]any{{"type": "missing", "loc": []any{"body", "username"}, "msg": "Field required", "input": a.body}})
		return
	}
	if creds.Username != s.opts.Username || creds.Password != s.opts.Password {
		writeJSON(a.w, http.StatusUnauthorized, map[string]any{"detail": "Invalid credentials"})
		return
	}
	s.mu.Lock()
	gen := s.tokenGen
	s.issued++
	s.mu.Unlock()
	writeJSON(a.w, http.StatusCreated, map[string]any{"access_token": s.signJWT(creds.Username, gen)})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signJWT issues an HS256 JWT whose "gen" claim ties it to the current
// token generation.
func (s *Server) signJWT(user string, gen int) string {
	hdr := b64([]byte(`{"alg":"HS256","typ":"JWT"}`))
	now := s.opts.Now().Unix()
	claims, _ := json.Marshal(map[string]any{"sub": user, "iat": now, "nbf": now, "exp": now + 86400, "gen": gen, "aud": "apache-airflow"})
	msg := hdr + "." + b64(claims)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(msg))
	return msg + "." + b64(mac.Sum(nil))
}

const (
	jwtInvalid = iota
	jwtExpired
	jwtValid
)

// checkJWT verifies a token's signature and its generation: a token of an
// older generation (before ExpireTokens) has expired.
func (s *Server) checkJWT(tok string) int {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return jwtInvalid
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return jwtInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return jwtInvalid
	}
	var c struct {
		Gen int `json:"gen"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return jwtInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Gen != s.tokenGen || s.expireAll {
		return jwtExpired
	}
	return jwtValid
}

// ---- errors ----

// fail writes an error answer in the API's shape: problem+json for v1,
// {"detail": ...} for v2.
func (s *Server) fail(a *apiReq, status int, title string, detail any) {
	if a.api == "v1" {
		a.w.Header().Set("Content-Type", "application/problem+json")
		a.w.WriteHeader(status)
		_ = json.NewEncoder(a.w).Encode(map[string]any{
			"detail": detail, "status": status, "title": title,
			"type": "https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/" + errorKind(status),
		})
		return
	}
	if detail == nil {
		detail = title
	}
	writeJSON(a.w, status, map[string]any{"detail": detail})
}

func errorKind(status int) string {
	switch status {
	case 400:
		return "BadRequest"
	case 401:
		return "Unauthenticated"
	case 403:
		return "PermissionDenied"
	case 404:
		return "NotFound"
	case 409:
		return "AlreadyExists"
	}
	return "Unknown"
}

// validation answers 422 with FastAPI's validation error list (v2) or 400
// (v1).
func (s *Server) validation(a *apiReq, errs []map[string]any) {
	if a.api == "v1" {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = fmt.Sprintf("%v: %v", e["loc"], e["msg"])
		}
		s.fail(a, http.StatusBadRequest, "Bad Request", strings.Join(msgs, "; "))
		return
	}
	writeJSON(a.w, http.StatusUnprocessableEntity, map[string]any{"detail": errs})
}

// strictBody checks a v2 body against the model's fields: unknown fields
// are refused (extra="forbid") and required ones must be present.
func (s *Server) strictBody(a *apiReq, allowed, required []string) bool {
	if a.api != "v2" {
		return true
	}
	if a.body == nil && len(bytes.TrimSpace(a.raw)) > 0 {
		s.validation(a, []map[string]any{{"type": "model_attributes_type", "loc": []any{"body"}, "msg": "Input should be a valid dictionary or object to extract fields from", "input": string(a.raw)}})
		return false
	}
	var errs []map[string]any
	keys := make([]string, 0, len(a.body))
	for k := range a.body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			errs = append(errs, map[string]any{"type": "extra_forbidden", "loc": []any{"body", k}, "msg": "Extra inputs are not permitted", "input": a.body[k]})
		}
	}
	for _, k := range required {
		if _, ok := a.body[k]; !ok {
			errs = append(errs, map[string]any{"type": "missing", "loc": []any{"body", k}, "msg": "Field required", "input": a.body})
		}
	}
	if len(errs) > 0 {
		s.validation(a, errs)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ---- resources ----

func ts(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

func (s *Server) dagJSON(a *apiReq, d *dag) map[string]any {
	m := map[string]any{
		"dag_id": d.id, "is_paused": d.paused, "is_active": true, "fileloc": "/opt/airflow/dags/" + d.id + ".py",
		"owners": []string{"data"}, "description": nil, "tags": []any{}, "timetable_description": "At 00:00",
		"max_active_runs": 16, "has_import_errors": false,
	}
	if a.api == "v2" {
		m["dag_display_name"] = d.id
		delete(m, "is_active")
		m["is_stale"] = false
		m["bundle_name"] = "dags-folder"
	} else {
		m["root_dag_id"] = nil
		m["is_subdag"] = false
		m["schedule_interval"] = map[string]any{"__type": "CronExpression", "value": "0 0 * * *"}
	}
	return m
}

func (s *Server) runJSON(a *apiReq, r *run) map[string]any {
	m := map[string]any{
		"dag_run_id": r.runID, "dag_id": r.dagID, "logical_date": ts(r.logical),
		"start_date": ts(r.start), "end_date": ts(r.end), "state": r.state, "run_type": r.runType,
		"conf": r.conf, "note": nil, "last_scheduling_decision": nil,
		"data_interval_start": ts(r.logical), "data_interval_end": ts(r.logical),
	}
	if a.api == "v1" {
		m["execution_date"] = ts(r.logical)
		m["external_trigger"] = r.runType == "manual"
	} else {
		ra, q := r.runAfter, r.queued
		m["run_after"] = ts(&ra)
		m["queued_at"] = ts(&q)
		m["triggered_by"] = "rest_api"
		m["dag_versions"] = []any{}
		m["bundle_version"] = nil
		m["dag_display_name"] = r.dagID
		var dur any
		if r.start != nil && r.end != nil {
			dur = r.end.Sub(*r.start).Seconds()
		}
		m["duration"] = dur
	}
	return m
}

func (s *Server) tiJSON(a *apiReq, r *run, name string) map[string]any {
	t := r.tasks[name]
	var state any
	if t.state != "" {
		state = t.state
	}
	var dur any
	if t.start != nil && t.end != nil {
		dur = t.end.Sub(*t.start).Seconds()
	}
	m := map[string]any{
		"task_id": name, "dag_id": r.dagID, "dag_run_id": r.runID, "map_index": -1,
		"start_date": ts(t.start), "end_date": ts(t.end), "duration": dur, "state": state,
		"try_number": t.try, "max_tries": 1, "hostname": "", "pool": "default_pool", "pool_slots": 1,
		"queue": "default", "priority_weight": 1, "operator": "PythonOperator", "queued_when": nil, "pid": nil,
		"executor_config": "{}", "note": nil, "rendered_map_index": nil,
	}
	if a.api == "v1" {
		m["execution_date"] = ts(r.logical)
		m["unixname"] = "airflow"
	} else {
		m["id"] = fmt.Sprintf("%08x-0000-7000-8000-%012x", r.seq, len(name))
		m["logical_date"] = ts(r.logical)
		m["run_after"] = ts(&r.runAfter)
		m["task_display_name"] = name
		m["executor"] = nil
	}
	return m
}

func (s *Server) dagNotFound(a *apiReq, dagID string) {
	if a.api == "v1" {
		s.fail(a, http.StatusNotFound, "DAG not found", fmt.Sprintf("DAG with dag_id: '%s' not found", dagID))
		return
	}
	s.fail(a, http.StatusNotFound, "", fmt.Sprintf("The Dag with ID: `%s` was not found", dagID))
}

func (s *Server) runNotFound(a *apiReq, dagID, runID string) {
	if a.api == "v1" {
		s.fail(a, http.StatusNotFound, "DAGRun not found", fmt.Sprintf("DAGRun with DAG ID: '%s' and DagRun ID: '%s' not found", dagID, runID))
		return
	}
	s.fail(a, http.StatusNotFound, "", fmt.Sprintf("The DagRun with dag_id: `%s` and run_id: `%s` was not found", dagID, runID))
}

// findDAG returns dagID's DAG, or answers 404 as Airflow does and returns
// nil. The caller holds s.mu.
func (s *Server) findDAG(a *apiReq, dagID string) *dag {
	d := s.dags[dagID]
	if d == nil {
		s.dagNotFound(a, dagID)
	}
	return d
}

// findRun returns dagID's DAG and its run runID, or answers 404 (for the
// DAG or the run) as Airflow does and returns nils. The caller holds s.mu.
func (s *Server) findRun(a *apiReq, dagID, runID string) (*dag, *run) {
	d := s.findDAG(a, dagID)
	if d == nil {
		return nil, nil
	}
	r := s.runs[dagID][runID]
	if r == nil {
		s.runNotFound(a, dagID, runID)
		return nil, nil
	}
	return d, r
}

func (s *Server) page(a *apiReq) (limit, offset int, ok bool) {
	if limit, ok = s.queryCount(a, "limit", 100); !ok {
		return 0, 0, false
	}
	limit = min(limit, s.opts.MaxPageLimit)
	if offset, ok = s.queryCount(a, "offset", 0); !ok {
		return 0, 0, false
	}
	return limit, offset, true
}

// queryCount reads the query parameter name as a count (an integer, 0 or
// more), def when it is absent; otherwise it answers 400 as Airflow does
// and returns false.
func (s *Server) queryCount(a *apiReq, name string, def int) (int, bool) {
	v := a.r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		s.badQuery(a, name, v)
		return 0, false
	}
	return n, true
}

func (s *Server) badQuery(a *apiReq, name, v string) {
	if a.api == "v1" {
		s.fail(a, http.StatusBadRequest, "Bad Request", fmt.Sprintf("'%s' is not a valid value for %s", v, name))
		return
	}
	s.validation(a, []map[string]any{{"type": "int_parsing", "loc": []any{"query", name}, "msg": "Input should be a valid integer", "input": v}})
}

func (s *Server) getDAG(a *apiReq, dagID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.findDAG(a, dagID)
	if d == nil {
		return
	}
	writeJSON(a.w, http.StatusOK, s.dagJSON(a, d))
}

func parseTime(a *apiReq, name string) (*time.Time, bool) {
	v := a.r.URL.Query().Get(name)
	if v == "" {
		return nil, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, false
	}
	return &t, true
}

func (s *Server) listRuns(a *apiReq, dagID string) {
	limit, offset, ok := s.page(a)
	if !ok {
		return
	}
	filters := map[string]func(r *run) *time.Time{
		"start_date_gte": func(r *run) *time.Time { return r.start },
	}
	if a.api == "v1" {
		filters["execution_date_gte"] = func(r *run) *time.Time { return r.logical }
	} else {
		filters["logical_date_gte"] = func(r *run) *time.Time { return r.logical }
		filters["run_after_gte"] = func(r *run) *time.Time { return &r.runAfter }
	}
	bounds := map[string]*time.Time{}
	for name := range filters {
		t, ok := parseTime(a, name)
		if !ok {
			s.badQuery(a, name, a.r.URL.Query().Get(name))
			return
		}
		if t != nil {
			bounds[name] = t
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findDAG(a, dagID) == nil {
		return
	}
	var rs []*run
	for _, r := range s.runs[dagID] {
		keep := true
		for name, b := range bounds {
			if t := filters[name](r); t == nil || t.Before(*b) {
				keep = false
			}
		}
		if keep {
			rs = append(rs, r)
		}
	}
	order := a.r.URL.Query().Get("order_by")
	desc := strings.HasPrefix(order, "-")
	key := func(r *run) time.Time {
		switch strings.TrimPrefix(order, "-") {
		case "start_date":
			if r.start != nil {
				return *r.start
			}
			return time.Time{}
		case "run_after":
			return r.runAfter
		}
		if r.logical != nil {
			return *r.logical
		}
		return r.runAfter
	}
	sort.SliceStable(rs, func(i, j int) bool {
		ki, kj := key(rs[i]), key(rs[j])
		if ki.Equal(kj) {
			return rs[i].seq < rs[j].seq
		}
		if desc {
			return ki.After(kj)
		}
		return ki.Before(kj)
	})
	total := len(rs)
	out := []any{}
	for i := offset; i < len(rs) && i < offset+limit; i++ {
		out = append(out, s.runJSON(a, rs[i]))
	}
	writeJSON(a.w, http.StatusOK, map[string]any{"dag_runs": out, "total_entries": total})
}

func (s *Server) getRun(a *apiReq, dagID, runID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r := s.findRun(a, dagID, runID)
	if r == nil {
		return
	}
	out := s.runJSON(a, r)
	if s.opts.AutoAdvance {
		s.step(r)
	}
	writeJSON(a.w, http.StatusOK, out)
}

func (s *Server) trigger(a *apiReq, dagID string) {
	allowed := []string{"dag_run_id", "logical_date", "conf", "note", "data_interval_start", "data_interval_end", "run_after", "partition_key", "bundle_version"}
	required := []string{"logical_date"}
	if a.api == "v1" {
		allowed = []string{"dag_run_id", "logical_date", "execution_date", "conf", "note", "data_interval_start", "data_interval_end"}
		required = nil
	}
	if !s.strictBody(a, allowed, required) {
		return
	}
	var body struct {
		DAGRunID    *string        `json:"dag_run_id"`
		LogicalDate *string        `json:"logical_date"`
		Conf        map[string]any `json:"conf"`
	}
	if err := json.Unmarshal(a.raw, &body); err != nil {
		s.fail(a, http.StatusBadRequest, "Bad Request", err.Error())
		return
	}
	now := s.opts.Now().UTC()
	var logical *time.Time
	if body.LogicalDate != nil {
		t, err := time.Parse(time.RFC3339Nano, *body.LogicalDate)
		if err != nil {
			if a.api == "v1" {
				s.fail(a, http.StatusBadRequest, "Bad Request", fmt.Sprintf("{'logical_date': ['Not a valid datetime.']}"))
			} else {
				s.validation(a, []map[string]any{{"type": "datetime_from_date_parsing", "loc": []any{"body", "logical_date"}, "msg": "Input should be a valid datetime", "input": *body.LogicalDate}})
			}
			return
		}
		t = t.UTC()
		logical = &t
	} else if a.api == "v1" {
		logical = &now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.findDAG(a, dagID)
	if d == nil {
		return
	}
	runID := ""
	if body.DAGRunID != nil {
		runID = *body.DAGRunID
	}
	if runID == "" {
		stamp := now
		if logical != nil {
			stamp = *logical
		}
		runID = "manual__" + stamp.Format("2006-01-02T15:04:05.000000+00:00")
	}
	if !runIDRegexp.MatchString(runID) || len(runID) > 250 {
		s.fail(a, http.StatusBadRequest, "Bad Request", fmt.Sprintf("The run_id provided '%s' does not match regex pattern '%s'", runID, runIDRegexp.String()))
		return
	}
	if s.runs[dagID][runID] != nil {
		if a.api == "v1" {
			s.fail(a, http.StatusConflict, "Conflict", fmt.Sprintf("DAGRun with DAG ID: '%s' and DAGRun ID: '%s' already exists", dagID, runID))
		} else {
			s.fail(a, http.StatusConflict, "", map[string]any{
				"reason":     "Unique constraint violation",
				"statement":  "INSERT INTO dag_run (dag_id, run_id, ...) VALUES (?, ?, ...)",
				"orig_error": "UNIQUE constraint failed: dag_run.dag_id, dag_run.run_id",
			})
		}
		return
	}
	if logical != nil {
		for _, r := range s.runs[dagID] {
			if r.logical != nil && r.logical.Equal(*logical) {
				if a.api == "v1" {
					s.fail(a, http.StatusConflict, "Conflict", fmt.Sprintf("DAGRun with DAG ID: '%s' and DAGRun logical date: '%s' already exists", dagID, logical.Format(time.RFC3339)))
				} else {
					s.fail(a, http.StatusConflict, "", map[string]any{"reason": "Unique constraint violation", "orig_error": "UNIQUE constraint failed: dag_run.dag_id, dag_run.logical_date"})
				}
				return
			}
		}
	}
	conf := body.Conf
	if conf == nil {
		conf = map[string]any{}
	}
	s.seq++
	r := &run{dagID: dagID, runID: runID, state: "queued", runType: "manual", logical: logical, runAfter: now, queued: now,
		conf: conf, tasks: map[string]*task{}, seq: s.seq}
	for _, t := range d.tasks {
		r.tasks[t] = &task{}
	}
	s.runs[dagID][runID] = r
	writeJSON(a.w, http.StatusOK, s.runJSON(a, r))
}

func (s *Server) listTIs(a *apiReq, dagID, runID string) {
	limit, offset, ok := s.page(a)
	if !ok {
		return
	}
	states := a.r.URL.Query()["state"]
	s.mu.Lock()
	defer s.mu.Unlock()
	d, r := s.findRun(a, dagID, runID)
	if r == nil {
		return
	}
	var names []string
	for _, name := range d.tasks {
		st := r.tasks[name].state
		if st == "" {
			st = "none"
		}
		if len(states) == 0 || slices.Contains(states, st) || (st == "none" && slices.Contains(states, "")) {
			names = append(names, name)
		}
	}
	out := []any{}
	for i := offset; i < len(names) && i < offset+limit; i++ {
		out = append(out, s.tiJSON(a, r, names[i]))
	}
	writeJSON(a.w, http.StatusOK, map[string]any{"task_instances": out, "total_entries": len(names)})
}

// clear answers a DAG's clearTaskInstances: it lists, and unless it is a
// dry run clears, the task instances in scope.
func (s *Server) clear(a *apiReq, dagID string) {
	body, ok := s.clearBody(a)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.findDAG(a, dagID)
	if d == nil {
		return
	}
	runs, ok := s.clearRuns(a, dagID, body.DAGRunID)
	if !ok {
		return
	}
	inScope := body.scope(d)
	for _, id := range body.TaskIDs {
		if !slices.Contains(d.tasks, id) {
			s.fail(a, http.StatusBadRequest, "Bad Request", fmt.Sprintf("Task '%s' not found in DAG '%s'", id, dagID))
			return
		}
	}
	out := []any{}
	for _, r := range runs {
		out = s.clearRun(a, dagID, d, r, body, inScope, out)
	}
	resp := map[string]any{"task_instances": out}
	if a.api == "v2" {
		resp["total_entries"] = len(out)
	}
	writeJSON(a.w, http.StatusOK, resp)
}

// clearRequest is the body of a clear request, with Airflow's defaults
// (dry run, only failed tasks, reset the runs) applied.
type clearRequest struct {
	DryRun            *bool    `json:"dry_run"`
	OnlyFailed        *bool    `json:"only_failed"`
	OnlyRunning       bool     `json:"only_running"`
	ResetDAGRuns      *bool    `json:"reset_dag_runs"`
	TaskIDs           []string `json:"task_ids"`
	DAGRunID          *string  `json:"dag_run_id"`
	IncludeUpstream   bool     `json:"include_upstream"`
	IncludeDownstream bool     `json:"include_downstream"`

	dryRun, onlyFailed, reset bool
}

// clearBody checks and decodes a clear request's body; when it fails, it
// has answered the request.
func (s *Server) clearBody(a *apiReq) (clearRequest, bool) {
	allowed := []string{"dry_run", "start_date", "end_date", "only_failed", "only_running", "reset_dag_runs", "task_ids",
		"dag_run_id", "include_upstream", "include_downstream", "include_future", "include_past", "run_on_latest_version", "prevent_running_task"}
	var body clearRequest
	if !s.strictBody(a, allowed, nil) {
		return body, false
	}
	if err := json.Unmarshal(a.raw, &body); err != nil {
		s.fail(a, http.StatusBadRequest, "Bad Request", err.Error())
		return body, false
	}
	body.dryRun, body.onlyFailed, body.reset = true, true, true // Airflow's defaults
	if body.DryRun != nil {
		body.dryRun = *body.DryRun
	}
	if body.OnlyFailed != nil {
		body.onlyFailed = *body.OnlyFailed
	}
	if body.ResetDAGRuns != nil {
		body.reset = *body.ResetDAGRuns
	}
	return body, true
}

// clearRuns is the runs a clear covers: the one named, or every run of the
// DAG in the order they were made. When the named run is missing, it has
// answered the request. The caller holds s.mu.
func (s *Server) clearRuns(a *apiReq, dagID string, runID *string) ([]*run, bool) {
	if runID != nil {
		_, r := s.findRun(a, dagID, *runID)
		if r == nil {
			return nil, false
		}
		return []*run{r}, true
	}
	var runs []*run
	for _, r := range s.runs[dagID] {
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].seq < runs[j].seq })
	return runs, true
}

// scope is the tasks in scope: task_ids (all when absent), widened up- or
// downstream along the DAG's order.
func (body clearRequest) scope(d *dag) map[string]bool {
	inScope := map[string]bool{}
	for i, name := range d.tasks {
		if len(body.TaskIDs) == 0 || slices.Contains(body.TaskIDs, name) {
			inScope[name] = true
			if body.IncludeDownstream {
				for _, n := range d.tasks[i+1:] {
					inScope[n] = true
				}
			}
			if body.IncludeUpstream {
				for _, n := range d.tasks[:i] {
					inScope[n] = true
				}
			}
		}
	}
	return inScope
}

// clearRun appends to out the task instances of r the clear covers and,
// unless it is a dry run, clears them (and queues r again when asked to
// reset runs). The caller holds s.mu.
func (s *Server) clearRun(a *apiReq, dagID string, d *dag, r *run, body clearRequest, inScope map[string]bool, out []any) []any {
	touched := false
	for _, name := range d.tasks {
		t := r.tasks[name]
		if !inScope[name] {
			continue
		}
		if body.onlyFailed && t.state != "failed" && t.state != "upstream_failed" {
			continue
		}
		if body.OnlyRunning && t.state != "running" {
			continue
		}
		if a.api == "v1" {
			out = append(out, map[string]any{"task_id": name, "dag_id": dagID, "dag_run_id": r.runID, "execution_date": ts(r.logical)})
		} else {
			out = append(out, s.tiJSON(a, r, name))
		}
		if !body.dryRun {
			t.state, t.start, t.end = "", nil, nil
			touched = true
		}
	}
	if touched && body.reset {
		r.state, r.end = "queued", nil
	}
	return out
}

// Demo names what SeedDemo seeds.
const (
	// DemoDAG is the demo's DAG: extract_orders → load_orders → dbt_run →
	// publish_dashboard.
	DemoDAG = "daily_orders"
	// DemoFailedRun is the demo's failed run: load_orders failed, the
	// tasks after it are upstream_failed.
	DemoFailedRun = "scheduled__demo"
	// DemoPausedDAG is a paused DAG, to show that datasev refuses to
	// trigger it.
	DemoPausedDAG = "weekly_backfill"
)

// SeedDemo seeds the one-command demo's Airflow: DemoDAG with a successful
// run two days ago and DemoFailedRun an hour ago, and the paused
// DemoPausedDAG. Clearing the failed run's tasks lets the scheduler
// (Advance or AutoAdvance) re-run them to success.
func (s *Server) SeedDemo() {
	now := s.opts.Now()
	s.SeedDAG(DemoDAG, false, "extract_orders", "load_orders", "dbt_run", "publish_dashboard")
	s.SeedRunAt(DemoDAG, "scheduled__previous", now.Add(-49*time.Hour), map[string]string{
		"extract_orders": "success", "load_orders": "success", "dbt_run": "success", "publish_dashboard": "success",
	})
	s.SeedRunAt(DemoDAG, DemoFailedRun, now.Add(-time.Hour), map[string]string{
		"extract_orders": "success", "load_orders": "failed", "dbt_run": "upstream_failed", "publish_dashboard": "upstream_failed",
	})
	s.SeedDAG(DemoPausedDAG, true, "backfill")
}
