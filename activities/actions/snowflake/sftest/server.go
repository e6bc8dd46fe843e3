// Package sftest is a stand-in for Snowflake: an HTTP server on 127.0.0.1
// that speaks the parts of Snowflake's REST protocol the real gosnowflake
// driver uses, so that the driver runs unmodified against fixture data in
// tests and in the one-command demo.
//
// It implements, with the request and response shapes of gosnowflake
// v1.19.1:
//
//   - POST /session/v1/login-request: password (LOGIN_NAME, PASSWORD) and
//     key-pair (AUTHENTICATOR SNOWFLAKE_JWT, TOKEN) logins; the answer
//     carries the session and master tokens, the session's role, warehouse,
//     database and schema (from the roleName, warehouse, databaseName and
//     schemaName URL parameters) and session parameters (TIMEZONE …);
//   - POST /queries/v1/query-request: the JSON body (sqlText, bindings
//     "1", "2", … with type and value, parameters such as QUERY_TAG),
//     answered by the test's Handler as a JSON rowset with rowtype
//     metadata (queryResultFormat "json"), or as a failure (success false,
//     code, data.sqlState). ALTER SESSION SET/UNSET is handled by the server
//     itself;
//   - session expiry: after ExpireSessions a request with the old token is
//     answered with code 390112, and the driver renews the session through
//     POST /session/token-request (with the master token) and repeats the
//     request; after ExpireMasterTokens the renewal fails with 390114;
//   - POST /session?delete=true (logout), /session/heartbeat,
//     /queries/v1/abort-request and /telemetry/send.
//
// Only the JSON result format is spoken: the driver must ask for it with
// the session parameter GO_QUERY_RESULT_FORMAT=json (DriverConfig and
// the datasev Snowflake config do), or the query fails with code 000002.
//
// Every request, login and statement is recorded for assertions; secrets
// (passwords, tokens) are checked, never recorded.
//
// The stand-in is never part of a production path: the worker talks to it
// only when configured with its loopback address (see Env).
package sftest

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snowflakedb/gosnowflake"

	"github.com/datasev/datasev/activities/support/loopback"
)

// Defaults of Options.
const (
	DefaultAccount  = "SFTEST"
	DefaultUser     = "DATASEV"
	DefaultPassword = "sftest-password"
	DefaultTimeZone = "UTC"
)

// Session-level error codes the server answers with.
const (
	CodeSessionExpired     = "390112"
	CodeSessionGone        = "390111"
	CodeMasterTokenExpired = "390114"
	CodeBadCredentials     = "390100"
	CodeInvalidJWT         = "390144"
	CodeNoFixture          = "000002"
)

// Options configure a Server.
type Options struct {
	// Addr is the address to listen on; "" is 127.0.0.1 on a free port.
	// Only loopback addresses are accepted.
	Addr string
	// Account, User and Password are the credentials the server accepts
	// (defaults DefaultAccount, DefaultUser, DefaultPassword).
	Account, User, Password string
	// PublicKey, when set, is the user's registered key: key-pair logins
	// must be signed with its private key and name its fingerprint. When
	// nil, any JWT whose header and claims look right is accepted.
	PublicKey *rsa.PublicKey
	// TimeZone is the session's TIMEZONE parameter (default UTC): the
	// driver reads TIMESTAMP_LTZ values in it.
	TimeZone string
	// Handler answers queries; see Handler. It may be set later with
	// OnQuery.
	Handler Handler
}

// Server is the Snowflake stand-in.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
	done     chan struct{}

	mu        sync.Mutex
	handler   Handler
	sessions  map[string]*session // by session token
	masters   map[string]*session // by master token
	nextID    int64
	nextQuery int64
	requests  []Request
	logins    []Login
	queries   []Query
	failures  map[string][]int // path → HTTP statuses to answer next
	tasks     map[string]*taskState
	taskCalls []TaskCall
}

type session struct {
	id            int64
	token         string
	master        string
	info          Session
	params        map[string]any // session parameters, upper-case names
	expired       bool           // the session token is expired (390112)
	masterExpired bool
	closed        bool
	staleTokens   map[string]bool
}

// Request is one HTTP request the server received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Time   time.Time
}

// Login is one login attempt.
type Login struct {
	// Account, User and Authenticator are what the driver sent
	// (ACCOUNT_NAME, LOGIN_NAME or the JWT's subject, AUTHENTICATOR;
	// "" means password).
	Account, User, Authenticator string
	// Role, Warehouse, Database and Schema are the URL parameters.
	Role, Warehouse, Database, Schema string
	// SessionParameters are the SESSION_PARAMETERS the driver sent.
	SessionParameters map[string]any
	// ClientAppID and ClientAppVersion identify the driver.
	ClientAppID, ClientAppVersion string
	// Application is CLIENT_ENVIRONMENT.APPLICATION.
	Application string
	// Platform is CLIENT_ENVIRONMENT.PLATFORM: the driver's cloud platform
	// detection; ["disabled"] when SNOWFLAKE_DISABLE_PLATFORM_DETECTION is
	// set, as it must be here.
	Platform []string
	// JWTClaims are the key-pair login's claims.
	JWTClaims map[string]any
	// OK is true when the login succeeded; Code and Message say why not.
	OK            bool
	Code, Message string
}

// New starts a server. It also sets SNOWFLAKE_DISABLE_PLATFORM_DETECTION
// in this process (see DisableDriverProbes).
func New(opts Options) (*Server, error) {
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.TimeZone == "" {
		opts.TimeZone = DefaultTimeZone
	}
	if _, err := time.LoadLocation(opts.TimeZone); err != nil {
		return nil, fmt.Errorf("sftest: time zone %q: %w", opts.TimeZone, err)
	}
	ln, err := loopback.Listen(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("sftest: %w", err)
	}
	DisableDriverProbes()
	s := &Server{
		opts:     opts,
		listener: ln,
		done:     make(chan struct{}),
		handler:  opts.Handler,
		sessions: map[string]*session{},
		masters:  map[string]*session{},
		failures: map[string][]int{},
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// DisableDriverProbes sets SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true in
// this process, so that gosnowflake does not probe cloud metadata
// addresses (169.254.169.254, metadata.google.internal, AWS STS) when it
// first connects. It must run before the first connection of the
// process: the driver detects once.
func DisableDriverProbes() {
	_ = os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
}

// Close stops the server.
func (s *Server) Close() {
	_ = s.http.Close()
	<-s.done
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Host is the server's IP address.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port is the server's port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Account, User and Password are the credentials the server accepts.
func (s *Server) Account() string  { return s.opts.Account }
func (s *Server) User() string     { return s.opts.User }
func (s *Server) Password() string { return s.opts.Password }

// OnQuery sets the handler that answers queries.
func (s *Server) OnQuery(h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// DriverConfig is a gosnowflake configuration for this server with
// password authentication: plain HTTP to 127.0.0.1, JSON results,
// telemetry and OCSP off, one driver-level retry.
func (s *Server) DriverConfig() gosnowflake.Config {
	jsonFormat := "json"
	return gosnowflake.Config{
		Account:           s.opts.Account,
		User:              s.opts.User,
		Password:          s.opts.Password,
		Host:              s.Host(),
		Port:              s.Port(),
		Protocol:          "http",
		DisableTelemetry:  true,
		DisableOCSPChecks: true,
		MaxRetryCount:     1,
		LoginTimeout:      10 * time.Second,
		Params:            map[string]*string{"GO_QUERY_RESULT_FORMAT": &jsonFormat},
	}
}

// Env is the environment that points datasev's Snowflake configuration
// (activities/actions/snowflake.LoadConfig) at this server with password
// authentication, plus SNOWFLAKE_DISABLE_PLATFORM_DETECTION for a worker
// started as another process. Role, warehouse and database are the demo's.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"DATASEV_SNOWFLAKE_ACCOUNT":            s.opts.Account,
		"DATASEV_SNOWFLAKE_USER":               s.opts.User,
		"DATASEV_SNOWFLAKE_PASSWORD":           s.opts.Password,
		"DATASEV_SNOWFLAKE_ROLE":               "DATASEV_READONLY",
		"DATASEV_SNOWFLAKE_WAREHOUSE":          "DIAG_WH",
		"DATASEV_SNOWFLAKE_DATABASE":           "ANALYTICS",
		"DATASEV_SNOWFLAKE_HOST":               s.Host(),
		"DATASEV_SNOWFLAKE_PORT":               strconv.Itoa(s.Port()),
		"DATASEV_SNOWFLAKE_PROTOCOL":           "http",
		"DATASEV_SNOWFLAKE_MAX_RETRIES":        "1",
		"SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
	}
}

// Requests returns every HTTP request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Logins returns every login attempt so far.
func (s *Server) Logins() []Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Login(nil), s.logins...)
}

// Queries returns every statement executed so far (not those refused for
// an expired or unknown session).
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// Reset forgets the recorded requests, logins and queries; sessions stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.logins, s.queries = nil, nil, nil
}

// ExpireSessions expires every open session's token: the next request
// with it is answered with 390112, and the driver renews the session.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		ss.expired = true
	}
}

// ExpireMasterTokens expires every open session's token and master token:
// the driver's renewal fails with 390114 and a new login is needed.
func (s *Server) ExpireMasterTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		ss.expired = true
		ss.masterExpired = true
	}
}

// FailNext answers the next len(statuses) requests to path (e.g.
// /queries/v1/query-request) with those HTTP statuses and an empty body,
// as a failing load balancer would.
func (s *Server) FailNext(path string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[path] = append(s.failures[path], statuses...)
}

// Paths of Snowflake's REST API that the server answers.
const (
	LoginPath     = "/session/v1/login-request"
	QueryPath     = "/queries/v1/query-request"
	TokenPath     = "/session/token-request"
	SessionPath   = "/session"
	HeartbeatPath = "/session/heartbeat"
	AbortPath     = "/queries/v1/abort-request"
	TelemetryPath = "/telemetry/send"
)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Time: time.Now()})
	if st := s.failures[r.URL.Path]; len(st) > 0 {
		s.failures[r.URL.Path] = st[1:]
		s.mu.Unlock()
		w.WriteHeader(st[0])
		return
	}
	s.mu.Unlock()

	if r.Method != http.MethodPost {
		http.Error(w, "sftest: POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := readBody(r)
	if err != nil {
		http.Error(w, "sftest: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case LoginPath:
		s.login(w, r, body)
	case QueryPath:
		s.query(w, r, body)
	case TokenPath:
		s.renew(w, r, body)
	case SessionPath:
		s.logout(w, r)
	case HeartbeatPath:
		s.heartbeat(w, r)
	case AbortPath, TelemetryPath:
		writeJSON(w, map[string]any{"data": nil, "code": nil, "message": nil, "success": true})
	default:
		http.NotFound(w, r)
	}
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = io.LimitReader(r.Body, 64<<20)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		rd = gz
	}
	return io.ReadAll(rd)
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, "sftest: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

func failure(code, message string, data any) map[string]any {
	return map[string]any{"data": data, "code": code, "message": message, "success": false, "headers": nil}
}

func randomToken(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// loginRequest is the body of a login request.
type loginRequest struct {
	Data loginData `json:"data"`
}

// loginData is a login request's data.
type loginData struct {
	ClientAppID       string         `json:"CLIENT_APP_ID"`
	ClientAppVersion  string         `json:"CLIENT_APP_VERSION"`
	AccountName       string         `json:"ACCOUNT_NAME"`
	LoginName         string         `json:"LOGIN_NAME"`
	Password          string         `json:"PASSWORD"`
	Authenticator     string         `json:"AUTHENTICATOR"`
	Token             string         `json:"TOKEN"`
	SessionParameters map[string]any `json:"SESSION_PARAMETERS"`
	ClientEnvironment struct {
		Application string   `json:"APPLICATION"`
		Platform    []string `json:"PLATFORM"`
	} `json:"CLIENT_ENVIRONMENT"`
}

// login checks a login request (account, then credentials), records it
// and, when it succeeds, opens a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request, body []byte) {
	var req loginRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "sftest: login body: "+err.Error(), http.StatusBadRequest)
		return
	}
	d := req.Data
	q := r.URL.Query()
	lg := Login{
		Account:           d.AccountName,
		User:              d.LoginName,
		Authenticator:     d.Authenticator,
		Role:              q.Get("roleName"),
		Warehouse:         q.Get("warehouse"),
		Database:          q.Get("databaseName"),
		Schema:            q.Get("schemaName"),
		SessionParameters: d.SessionParameters,
		ClientAppID:       d.ClientAppID,
		ClientAppVersion:  d.ClientAppVersion,
		Application:       d.ClientEnvironment.Application,
		Platform:          d.ClientEnvironment.Platform,
	}
	if !strings.EqualFold(d.AccountName, s.opts.Account) {
		// Snowflake answers a wrong account at the HTTP level: the host
		// names another account.
		lg.Code, lg.Message = "403", "unknown account"
		s.recordLogin(lg)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if code, msg := s.authenticate(&lg, d); code != "" {
		lg.Code, lg.Message = code, msg
		s.recordLogin(lg)
		writeJSON(w, failure(code, msg, nil))
		return
	}
	lg.OK = true
	writeJSON(w, s.openSession(lg, d.SessionParameters))
}

// authenticate checks the credentials of d's authenticator (a JWT, whose
// claims and user it records in lg, or a password) and returns Snowflake's
// error code and message when they are wrong, "" when they are right.
func (s *Server) authenticate(lg *Login, d loginData) (code, msg string) {
	switch {
	case strings.EqualFold(d.Authenticator, "SNOWFLAKE_JWT"):
		claims, err := s.checkJWT(d.Token)
		lg.JWTClaims = claims
		if sub, ok := claims["sub"].(string); ok {
			if _, user, ok := strings.Cut(sub, "."); ok {
				lg.User = user
			}
		}
		if err != nil {
			return CodeInvalidJWT, "JWT token is invalid. [" + err.Error() + "]"
		}
	case d.Authenticator == "" || strings.EqualFold(d.Authenticator, "SNOWFLAKE"):
		if !strings.EqualFold(d.LoginName, s.opts.User) || d.Password != s.opts.Password {
			return CodeBadCredentials, "Incorrect username or password was specified."
		}
	default:
		return "390101", "sftest: authenticator " + d.Authenticator + " is not supported"
	}
	return "", ""
}

// openSession opens a session for a successful login, records the login
// and returns the login response.
func (s *Server) openSession(lg Login, params map[string]any) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	ss := &session{
		id:     1000 + s.nextID,
		token:  randomToken("sftest-session-"),
		master: randomToken("sftest-master-"),
		info: Session{
			User:      strings.ToUpper(lg.User),
			Role:      strings.ToUpper(lg.Role),
			Warehouse: strings.ToUpper(lg.Warehouse),
			Database:  strings.ToUpper(lg.Database),
			Schema:    strings.ToUpper(lg.Schema),
		},
		params:      map[string]any{"TIMEZONE": s.opts.TimeZone},
		staleTokens: map[string]bool{},
	}
	ss.info.ID = ss.id
	for k, v := range params {
		ss.params[strings.ToUpper(k)] = v
	}
	s.sessions[ss.token] = ss
	s.masters[ss.master] = ss
	s.logins = append(s.logins, lg)
	return map[string]any{
		"data": map[string]any{
			"masterToken":               ss.master,
			"token":                     ss.token,
			"validityInSeconds":         3600,
			"masterValidityInSeconds":   14400,
			"displayUserName":           ss.info.User,
			"serverVersion":             "sftest",
			"firstLogin":                false,
			"remMeToken":                nil,
			"remMeValidityInSeconds":    0,
			"healthCheckInterval":       45,
			"newClientForUpgrade":       nil,
			"sessionId":                 ss.id,
			"parameters":                s.paramList(ss),
			"sessionInfo":               sessionInfo(ss.info),
			"idToken":                   nil,
			"idTokenValidityInSeconds":  0,
			"responseData":              nil,
			"mfaToken":                  nil,
			"mfaTokenValidityInSeconds": 0,
		},
		"code":    nil,
		"message": nil,
		"success": true,
	}
}

func (s *Server) recordLogin(lg Login) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins = append(s.logins, lg)
}

func sessionInfo(in Session) map[string]any {
	return map[string]any{
		"databaseName":  nullable(in.Database),
		"schemaName":    nullable(in.Schema),
		"warehouseName": nullable(in.Warehouse),
		"roleName":      nullable(in.Role),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// paramList is the session's parameters as the responses list them. The
// caller holds s.mu.
func (s *Server) paramList(ss *session) []map[string]any {
	params := map[string]any{
		"CLIENT_SESSION_KEEP_ALIVE":             false,
		"CLIENT_RESULT_COLUMN_CASE_INSENSITIVE": false,
		"CLIENT_TIMESTAMP_TYPE_MAPPING":         "TIMESTAMP_LTZ",
		"AUTOCOMMIT":                            true,
	}
	for k, v := range ss.params {
		if k == "QUERY_TAG" || k == "CLIENT_VALIDATE_DEFAULT_PARAMETERS" {
			continue
		}
		params[k] = v
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]map[string]any, len(names))
	for i, k := range names {
		out[i] = map[string]any{"name": k, "value": params[k]}
	}
	return out
}

// authToken is the token of an Authorization: Snowflake Token="…" header.
func authToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = `Snowflake Token="`
	if !strings.HasPrefix(h, prefix) || !strings.HasSuffix(h, `"`) {
		return ""
	}
	return h[len(prefix) : len(h)-1]
}

var sessionExpiredData = map[string]any{"nextAction": "RETRY_LOGIN", "authnMethod": "TOKEN"}

// sessionFor finds the live session of a request's token, or writes the
// failure the driver reacts to and returns nil.
func (s *Server) sessionFor(w http.ResponseWriter, r *http.Request) *session {
	tok := authToken(r)
	s.mu.Lock()
	ss := s.sessions[tok]
	switch {
	case ss == nil || ss.closed:
		s.mu.Unlock()
		writeJSON(w, failure(CodeSessionGone, "Session no longer exists.  New login required to access the service.", nil))
		return nil
	case ss.expired:
		s.mu.Unlock()
		writeJSON(w, failure(CodeSessionExpired, "Session token expired", sessionExpiredData))
		return nil
	}
	s.mu.Unlock()
	return ss
}

// queryRequest is the body of a query request.
type queryRequest struct {
	SQLText      string         `json:"sqlText"`
	AsyncExec    bool           `json:"asyncExec"`
	SequenceID   uint64         `json:"sequenceId"`
	IsInternal   bool           `json:"isInternal"`
	DescribeOnly bool           `json:"describeOnly"`
	Parameters   map[string]any `json:"parameters"`
	Bindings     map[string]struct {
		Type  string  `json:"type"`
		Value *string `json:"value"`
	} `json:"bindings"`
	BindStage string `json:"bindStage"`
}

const statementTypeSelect = 0x1000

var (
	alterSessionSet   = regexp.MustCompile(`(?is)^\s*ALTER\s+SESSION\s+SET\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*;?\s*$`)
	alterSessionUnset = regexp.MustCompile(`(?is)^\s*ALTER\s+SESSION\s+UNSET\s+([A-Za-z_][A-Za-z0-9_]*)\s*;?\s*$`)
	selectOne         = regexp.MustCompile(`(?is)^\s*SELECT\s+1\s*;?\s*$`)
)

func (s *Server) query(w http.ResponseWriter, r *http.Request, body []byte) {
	ss := s.sessionFor(w, r)
	if ss == nil {
		return
	}
	var req queryRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "sftest: query body: "+err.Error(), http.StatusBadRequest)
		return
	}
	q := Query{
		SQL:        req.SQLText,
		Parameters: req.Parameters,
		RequestID:  r.URL.Query().Get("requestId"),
		Describe:   req.DescribeOnly,
	}
	names := make([]string, 0, len(req.Bindings))
	for k := range req.Bindings {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		a, errA := strconv.Atoi(names[i])
		b, errB := strconv.Atoi(names[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return names[i] < names[j]
	})
	for _, k := range names {
		b := req.Bindings[k]
		q.Bindings = append(q.Bindings, Binding{Name: k, Type: b.Type, Value: b.Value})
	}

	s.mu.Lock()
	s.nextQuery++
	q.QueryID = fmt.Sprintf("01bd%04x-0000-5a1f-0000-%012x", ss.id%0x10000, s.nextQuery)
	q.Session = ss.info
	if tag, ok := req.Parameters["QUERY_TAG"].(string); ok {
		q.QueryTag = tag
	} else if tag, ok := ss.params["QUERY_TAG"].(string); ok {
		q.QueryTag = tag
	}
	jsonResults := strings.EqualFold(fmt.Sprint(ss.params["GO_QUERY_RESULT_FORMAT"]), "json")
	s.queries = append(s.queries, q)
	h := s.handler
	s.mu.Unlock()

	var res Result
	switch {
	case req.BindStage != "":
		res = Fail(CodeNoFixture, "0A000", "sftest: array binds through a stage are not supported")
	case alterSessionSet.MatchString(q.SQL):
		res = s.alterSession(ss, q)
	case alterSessionUnset.MatchString(q.SQL):
		m := alterSessionUnset.FindStringSubmatch(q.SQL)
		s.mu.Lock()
		delete(ss.params, strings.ToUpper(m[1]))
		s.mu.Unlock()
		res = statusResult()
	case !jsonResults:
		res = Fail(CodeNoFixture, "0A000", "sftest answers JSON result sets only: set the session parameter GO_QUERY_RESULT_FORMAT=json")
	default:
		if r, ok := s.taskStatement(q); ok {
			res = r
			break
		}
		if h != nil {
			res = callHandler(h, q)
		}
		if res.IsZero() {
			if selectOne.MatchString(q.SQL) {
				res = Rows([]Column{{Name: "1", Type: "fixed", Precision: 1}}, []any{1})
			} else {
				res = Fail(CodeNoFixture, "XX000", "sftest: no fixture answers this statement: "+q.SQL)
			}
		}
	}
	s.writeResult(w, ss, q, res)
}

func callHandler(h Handler, q Query) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Fail(CodeNoFixture, "XX000", fmt.Sprintf("sftest: handler panicked: %v", p))
		}
	}()
	return h(q)
}

func statusResult() Result {
	return Rows([]Column{{Name: "status", Type: "text", Length: 16777216}}, []any{"Statement executed successfully."})
}

func (s *Server) alterSession(ss *session, q Query) Result {
	m := alterSessionSet.FindStringSubmatch(q.SQL)
	name, raw := strings.ToUpper(m[1]), m[2]
	var val any
	switch {
	case raw == "?":
		if len(q.Bindings) == 0 {
			return SyntaxError("?")
		}
		val = q.Bindings[0].Go()
	case len(raw) >= 2 && raw[0] == '\'' && raw[len(raw)-1] == '\'':
		val = strings.ReplaceAll(raw[1:len(raw)-1], "''", "'")
	case strings.EqualFold(raw, "true"), strings.EqualFold(raw, "false"):
		val = strings.EqualFold(raw, "true")
	default:
		if i, err := strconv.ParseInt(raw, 10, 64); err == nil {
			val = i
		} else {
			val = raw
		}
	}
	s.mu.Lock()
	ss.params[name] = val
	s.mu.Unlock()
	return statusResult()
}

func (s *Server) writeResult(w http.ResponseWriter, ss *session, q Query, res Result) {
	if res.Err != nil {
		writeJSON(w, failure(res.Err.Code, res.Err.Message, map[string]any{
			"internalError": false,
			"errorCode":     res.Err.Code,
			"age":           0,
			"sqlState":      res.Err.SQLState,
			"queryId":       q.QueryID,
			"line":          -1,
			"pos":           -1,
			"type":          "COMPILATION",
		}))
		return
	}
	rowtype := make([]map[string]any, len(res.Columns))
	for i, c := range res.Columns {
		rowtype[i] = map[string]any{
			"name":       c.Name,
			"database":   "",
			"schema":     "",
			"table":      "",
			"nullable":   c.Nullable,
			"length":     nullableInt(c.Length),
			"type":       c.Type,
			"scale":      c.Scale,
			"precision":  c.Precision,
			"byteLength": nullableInt(c.Length * 4),
			"collation":  nil,
		}
	}
	if len(rowtype) == 0 {
		writeJSON(w, failure(CodeNoFixture, "sftest: a result needs at least one column", nil))
		return
	}
	rowset := make([][]*string, 0, len(res.Rows))
	for i, row := range res.Rows {
		enc, err := encodeRow(res.Columns, row)
		if err != nil {
			writeJSON(w, failure(CodeNoFixture, fmt.Sprintf("sftest: fixture row %d: %v", i, err), nil))
			return
		}
		rowset = append(rowset, enc)
	}
	s.mu.Lock()
	params := s.paramList(ss)
	info := ss.info
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"data": map[string]any{
			"parameters":         params,
			"rowtype":            rowtype,
			"rowset":             rowset,
			"total":              len(rowset),
			"returned":           len(rowset),
			"queryId":            q.QueryID,
			"databaseProvider":   nil,
			"finalDatabaseName":  nullable(info.Database),
			"finalSchemaName":    nullable(info.Schema),
			"finalWarehouseName": nullable(info.Warehouse),
			"finalRoleName":      nullable(info.Role),
			"numberOfBinds":      len(q.Bindings),
			"arrayBindSupported": false,
			"statementTypeId":    statementTypeSelect,
			"version":            1,
			"sendResultTime":     time.Now().UnixMilli(),
			"queryResultFormat":  "json",
		},
		"code":    nil,
		"message": nil,
		"success": true,
	})
}

func nullableInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// renew answers POST /session/token-request.
func (s *Server) renew(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		OldSessionToken string `json:"oldSessionToken"`
		RequestType     string `json:"requestType"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "sftest: token request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	master := authToken(r)
	s.mu.Lock()
	ss := s.masters[master]
	switch {
	case ss == nil || ss.closed:
		s.mu.Unlock()
		writeJSON(w, failure(CodeSessionGone, "Session no longer exists.  New login required to access the service.", nil))
		return
	case ss.masterExpired:
		s.mu.Unlock()
		writeJSON(w, failure(CodeMasterTokenExpired, "Authentication token has expired.  The user must authenticate again.", nil))
		return
	case !strings.EqualFold(req.RequestType, "RENEW") || (req.OldSessionToken != ss.token && !ss.staleTokens[req.OldSessionToken]):
		s.mu.Unlock()
		writeJSON(w, failure("390113", "sftest: token request names a token of another session", nil))
		return
	}
	if req.OldSessionToken == ss.token {
		delete(s.sessions, ss.token)
		ss.staleTokens[ss.token] = true
		ss.token = randomToken("sftest-session-")
		ss.expired = false
		s.sessions[ss.token] = ss
	}
	resp := map[string]any{
		"data": map[string]any{
			"sessionToken":        ss.token,
			"validityInSecondsST": 3600,
			"masterToken":         ss.master,
			"validityInSecondsMT": 14400,
			"sessionId":           ss.id,
		},
		"code": nil, "message": nil, "success": true,
	}
	s.mu.Unlock()
	writeJSON(w, resp)
}

// logout answers POST /session?delete=true.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("delete") != "true" {
		http.Error(w, "sftest: /session takes delete=true", http.StatusBadRequest)
		return
	}
	tok := authToken(r)
	s.mu.Lock()
	ss := s.sessions[tok]
	if ss == nil {
		s.mu.Unlock()
		writeJSON(w, failure(CodeSessionGone, "Session no longer exists.", nil))
		return
	}
	ss.closed = true
	delete(s.sessions, ss.token)
	delete(s.masters, ss.master)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"data": nil, "code": nil, "message": nil, "success": true})
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	if s.sessionFor(w, r) == nil {
		return
	}
	writeJSON(w, map[string]any{"data": nil, "code": nil, "message": nil, "success": true})
}

// OpenSessions counts the sessions logged in and not logged out.
func (s *Server) OpenSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
