// Package airflow holds the Airflow runbook actions and the small typed
// client they share.
//
// The client speaks Airflow's stable REST API: v1 (Airflow 2, under
// /api/v1, basic auth or a bearer token, errors as problem+json
// {"detail","status","title","type"}) and v2 (Airflow 3, under /api/v2,
// a JWT from POST /auth/token, FastAPI errors {"detail": ...}, request
// bodies validated strictly). It detects the version when asked to.
//
// The actions (airflow.failed_tasks, airflow.clear_tasks,
// airflow.trigger_dag, airflow.wait_dag_run) are specs, input structs and
// methods of Actions with the signature actions.Typed takes; the actions
// package registers them. Errors are typed for Temporal: refused
// credentials, unknown DAGs and runs and refused requests are non-retryable;
// throttling, 5xx and network errors are retryable, honouring Retry-After.
package airflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/retryafter"
	"github.com/datasev/datasev/activities/support/secret"
)

// Environment variables read by ConfigFromEnv.
const (
	// EnvURL is Airflow's base URL, e.g. http://127.0.0.1:8080 (the API
	// lives under /api/v1 or /api/v2 below it). Unset: not configured.
	EnvURL = "DATASEV_AIRFLOW_URL"
	// EnvAPI is v1, v2 or auto (the default): auto asks GET /api/v2/version
	// then GET /api/v1/version.
	EnvAPI = "DATASEV_AIRFLOW_API"
	// EnvUsername and EnvPassword are the API user's credentials: basic
	// auth for v1, exchanged for a JWT at POST /auth/token for v2.
	EnvUsername = "DATASEV_AIRFLOW_USERNAME"
	// EnvPassword is the API user's password (or EnvPasswordFile).
	EnvPassword = "DATASEV_AIRFLOW_PASSWORD"
	// EnvPasswordFile names a file holding the password.
	EnvPasswordFile = "DATASEV_AIRFLOW_PASSWORD_FILE"
	// EnvToken is a static bearer token (v1 or v2), used instead of the
	// username and password.
	EnvToken = "DATASEV_AIRFLOW_TOKEN"
	// EnvTokenFile names a file holding the static bearer token.
	EnvTokenFile = "DATASEV_AIRFLOW_TOKEN_FILE"
)

// API versions.
const (
	APIv1   = "v1"
	APIv2   = "v2"
	APIAuto = "auto"
)

// Types of the client's non-retryable errors.
const (
	// CredentialsType: Airflow refused the worker's credentials (401/403).
	CredentialsType = "AirflowCredentialsRefused"
	// NotFoundType: the DAG, run or endpoint does not exist (404).
	NotFoundType = "AirflowNotFound"
	// BadRequestType: Airflow refused the request as written (400/422), or
	// the action's inputs cannot work.
	BadRequestType = "AirflowBadRequest"
	// ConflictType: the object exists already (409).
	ConflictType = "AirflowConflict"
	// ClientErrorType: another 4xx answer a retry would not change.
	ClientErrorType = "AirflowClientError"
	// NotConfiguredType: the worker has no Airflow client.
	NotConfiguredType = "NotConfigured"
	// PausedType: the DAG is paused; datasev does not unpause it.
	PausedType = "AirflowDAGPaused"
)

// Types of the client's retryable errors.
const (
	// ThrottledType: 429 Too Many Requests.
	ThrottledType = "AirflowThrottled"
	// UnavailableType: a 5xx answer.
	UnavailableType = "AirflowUnavailable"
)

// Config is how the worker reaches Airflow. Secrets come from the
// environment or files (ConfigFromEnv), never from runbook inputs.
type Config struct {
	// URL is the base URL (scheme and host, maybe a path prefix).
	URL string
	// API is APIv1, APIv2 or APIAuto ("" means auto).
	API string
	// Username and Password authenticate (basic for v1, JWT for v2).
	Username string
	// Password is Username's password.
	Password string
	// Token is a static bearer token; it wins over Username/Password.
	Token string
}

// String describes cfg without its secrets.
func (c Config) String() string {
	auth := "none"
	switch {
	case c.Token != "":
		auth = "token"
	case c.Username != "":
		auth = "user " + c.Username
	}
	api := c.API
	if api == "" {
		api = APIAuto
	}
	return fmt.Sprintf("airflow %s (api %s, auth %s)", c.URL, api, auth)
}

// ConfigFromEnv reads the DATASEV_AIRFLOW_* variables through getenv. The
// _FILE variants are read from disk (trailing newlines trimmed). An unset
// URL gives a zero Config: not configured.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		URL:      strings.TrimSpace(getenv(EnvURL)),
		API:      strings.ToLower(strings.TrimSpace(getenv(EnvAPI))),
		Username: strings.TrimSpace(getenv(EnvUsername)),
	}
	if cfg.URL == "" {
		return Config{}, nil
	}
	var err error
	if cfg.Password, err = secret.FromEnv(getenv, EnvPassword); err != nil {
		return Config{}, err
	}
	if cfg.Token, err = secret.FromEnv(getenv, EnvToken); err != nil {
		return Config{}, err
	}
	cfg.Token = strings.TrimSpace(cfg.Token)
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c Config) validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		return fmt.Errorf("%s=%q: %w", EnvURL, c.URL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s=%q: want an http or https URL", EnvURL, c.URL)
	case u.Host == "":
		return fmt.Errorf("%s=%q: no host", EnvURL, c.URL)
	case u.User != nil:
		return fmt.Errorf("%s: no credentials in the URL; use %s/%s or %s", EnvURL, EnvUsername, EnvPassword, EnvToken)
	}
	switch c.API {
	case "", APIAuto, APIv1, APIv2:
	default:
		return fmt.Errorf("%s=%q: want v1, v2 or auto", EnvAPI, c.API)
	}
	if c.Username != "" && c.Password == "" && c.Token == "" {
		return fmt.Errorf("%s is set but neither %s nor %s is", EnvUsername, EnvPassword, EnvPasswordFile)
	}
	return nil
}

// Client is a small typed client for Airflow's stable REST API, v1 or v2.
// It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string // URL without trailing slash
	hc   *http.Client

	mu  sync.Mutex
	api string // resolved APIv1 or APIv2; "" until detected
	jwt string // v2 access token from /auth/token
}

// NewClient builds a client from cfg; hc nil means a client with a 30s
// timeout. It contacts nothing: the API version (when auto) is detected at
// the first call.
func NewClient(cfg Config, hc *http.Client) (*Client, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, fmt.Errorf("airflow: %s is not set", EnvURL)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("airflow: %w", err)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), hc: hc}
	if cfg.API == APIv1 || cfg.API == APIv2 {
		c.api = cfg.API
	}
	return c, nil
}

// APIError is an error answer from Airflow. The client's errors wrap it
// (errors.As finds it) inside a Temporal application error.
type APIError struct {
	// Method and Path say which request failed.
	Method, Path string
	// Status is the HTTP status.
	Status int
	// Title is problem+json's title (v1); "" in v2.
	Title string
	// Detail is the server's detail: a string, or compact JSON when the
	// server sent an object or a list (FastAPI validation errors).
	Detail string
	// RetryAfter is the parsed Retry-After header, 0 when absent.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("airflow: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Title != "" && e.Title != http.StatusText(e.Status) {
		msg += ": " + e.Title
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// StatusOf returns the HTTP status of an Airflow error answer in err's
// chain, 0 when there is none.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// Version is GET /api/vN/version's answer.
type Version struct {
	// Version is Airflow's version, e.g. 2.10.4 or 3.0.2.
	Version string `json:"version"`
	// GitVersion is the build's git revision, when the server tells.
	GitVersion string `json:"git_version"`
	// API is the REST API version the client speaks, v1 or v2.
	API string `json:"-"`
}

// API returns the REST API version the client speaks, detecting it when
// configured as auto: GET /api/v2/version, then GET /api/v1/version.
func (c *Client) API(ctx context.Context) (string, error) {
	c.mu.Lock()
	api := c.api
	c.mu.Unlock()
	if api != "" {
		return api, nil
	}
	for _, v := range []string{APIv2, APIv1} {
		var ver Version
		err := c.do(ctx, v, false, http.MethodGet, "/api/"+v+"/version", nil, nil, &ver)
		if err == nil || StatusOf(err) == http.StatusUnauthorized || StatusOf(err) == http.StatusForbidden {
			c.mu.Lock()
			c.api = v
			c.mu.Unlock()
			return v, nil
		}
		if s := StatusOf(err); s != http.StatusNotFound && s != http.StatusMethodNotAllowed {
			return "", classify(err)
		}
	}
	return "", temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("airflow: %s answers neither /api/v2/version nor /api/v1/version; is %s Airflow's base URL?", c.base, EnvURL),
		NotFoundType, nil)
}

// Version asks Airflow its version.
func (c *Client) Version(ctx context.Context) (Version, error) {
	api, err := c.API(ctx)
	if err != nil {
		return Version{}, err
	}
	var v Version
	if err := c.call(ctx, http.MethodGet, "/version", nil, nil, &v); err != nil {
		return Version{}, err
	}
	v.API = api
	return v, nil
}

// DAG is the part of a DAG the actions read.
type DAG struct {
	DAGID    string `json:"dag_id"`
	IsPaused bool   `json:"is_paused"`
	IsActive *bool  `json:"is_active,omitempty"`
}

// GetDAG reads one DAG (is_paused).
func (c *Client) GetDAG(ctx context.Context, dagID string) (DAG, error) {
	var d DAG
	err := c.call(ctx, http.MethodGet, "/dags/"+url.PathEscape(dagID), nil, nil, &d)
	return d, notFound(err, "DAG %q", dagID)
}

// DAGRun is a DAG run, the same in v1 and v2 for the fields read here
// (v1's execution_date fills LogicalDate when logical_date is absent).
type DAGRun struct {
	DAGID       string         `json:"dag_id"`
	RunID       string         `json:"dag_run_id"`
	State       string         `json:"state"`
	RunType     string         `json:"run_type"`
	LogicalDate *time.Time     `json:"logical_date"`
	StartDate   *time.Time     `json:"start_date"`
	EndDate     *time.Time     `json:"end_date"`
	RunAfter    *time.Time     `json:"run_after,omitempty"`
	Conf        map[string]any `json:"conf"`
	// ExecutionDate is v1's older name of LogicalDate.
	ExecutionDate *time.Time `json:"execution_date,omitempty"`
}

// Terminal reports whether the run has finished.
func (r DAGRun) Terminal() bool { return r.State == "success" || r.State == "failed" }

// GetDAGRun reads one DAG run.
func (c *Client) GetDAGRun(ctx context.Context, dagID, runID string) (DAGRun, error) {
	var r DAGRun
	err := c.call(ctx, http.MethodGet, "/dags/"+url.PathEscape(dagID)+"/dagRuns/"+url.PathEscape(runID), nil, nil, &r)
	if err != nil {
		return DAGRun{}, notFound(err, "DAG run %q of DAG %q", runID, dagID)
	}
	r.fill()
	return r, nil
}

func (r *DAGRun) fill() {
	if r.LogicalDate == nil {
		r.LogicalDate = r.ExecutionDate
	}
}

// MaxListed bounds how many items a listing reads (pages of PageSize).
const (
	MaxListed = 1000
	PageSize  = 100
)

// ListDAGRuns lists the DAG's runs since a moment (v1: execution_date_gte,
// v2: run_after_gte), newest first, at most max (MaxListed when max <= 0).
// truncated is true when more runs matched.
func (c *Client) ListDAGRuns(ctx context.Context, dagID string, since time.Time, max int) (runs []DAGRun, truncated bool, err error) {
	api, err := c.API(ctx)
	if err != nil {
		return nil, false, err
	}
	q := url.Values{}
	if api == APIv1 {
		q.Set("order_by", "-execution_date")
		if !since.IsZero() {
			q.Set("execution_date_gte", since.UTC().Format(time.RFC3339))
		}
	} else {
		q.Set("order_by", "-run_after")
		if !since.IsZero() {
			q.Set("run_after_gte", since.UTC().Format(time.RFC3339))
		}
	}
	runs, truncated, err = paginate[DAGRun](ctx, c, "/dags/"+url.PathEscape(dagID)+"/dagRuns", q, max, "dag_runs")
	if err != nil {
		return nil, false, notFound(err, "DAG %q", dagID)
	}
	for i := range runs {
		runs[i].fill()
	}
	return runs, truncated, nil
}

// TaskInstance is the part of a task instance the actions read.
type TaskInstance struct {
	DAGID     string     `json:"dag_id"`
	RunID     string     `json:"dag_run_id"`
	TaskID    string     `json:"task_id"`
	MapIndex  int        `json:"map_index"`
	State     *string    `json:"state"`
	TryNumber int        `json:"try_number"`
	StartDate *time.Time `json:"start_date"`
	EndDate   *time.Time `json:"end_date"`
	Duration  *float64   `json:"duration"`
}

// StateName is the task's state, "none" when Airflow has none (null).
func (t TaskInstance) StateName() string {
	if t.State == nil || *t.State == "" {
		return "none"
	}
	return *t.State
}

// ListTaskInstances lists a run's task instances, only those in states
// when any are given, at most MaxListed; truncated is true when more
// matched.
func (c *Client) ListTaskInstances(ctx context.Context, dagID, runID string, states []string) (tis []TaskInstance, truncated bool, err error) {
	q := url.Values{}
	for _, s := range states {
		q.Add("state", s)
	}
	tis, truncated, err = paginate[TaskInstance](ctx, c, "/dags/"+url.PathEscape(dagID)+"/dagRuns/"+url.PathEscape(runID)+"/taskInstances",
		q, MaxListed, "task_instances")
	if err != nil {
		return nil, false, notFound(err, "DAG run %q of DAG %q", runID, dagID)
	}
	return tis, truncated, nil
}

// paginate reads pages of PageSize with limit/offset until total_entries,
// an empty page or max items. key names the list in the answer. Each page
// decodes into fresh values, so items of earlier pages are never touched.
func paginate[T any](ctx context.Context, c *Client, path string, q url.Values, max int, key string) ([]T, bool, error) {
	if max <= 0 || max > MaxListed {
		max = MaxListed
	}
	var all []T
	for offset := 0; ; {
		q.Set("limit", strconv.Itoa(PageSize))
		q.Set("offset", strconv.Itoa(offset))
		var page map[string]json.RawMessage
		if err := c.call(ctx, http.MethodGet, path, q, nil, &page); err != nil {
			return nil, false, err
		}
		var got []T
		var total int
		if err := json.Unmarshal(page[key], &got); err != nil {
			return nil, false, fmt.Errorf("airflow: GET %s: decode %s: %w", path, key, err)
		}
		if raw, ok := page["total_entries"]; ok {
			if err := json.Unmarshal(raw, &total); err != nil {
				return nil, false, fmt.Errorf("airflow: GET %s: decode total_entries: %w", path, err)
			}
		}
		all = append(all, got...)
		offset += len(got)
		if len(all) >= max {
			return all[:max], total > max, nil
		}
		if len(got) == 0 || offset >= total {
			return all, false, nil
		}
	}
}

// TriggerDAGRun creates a run of the DAG with the given run ID (never
// empty: the caller chooses it, for idempotency), conf and logical date
// (nil: none in v2, now in v1). A run ID in use is a ConflictType error
// with status 409 (StatusOf); the caller decides what that means.
func (c *Client) TriggerDAGRun(ctx context.Context, dagID, runID string, conf map[string]any, logicalDate *time.Time) (DAGRun, error) {
	api, err := c.API(ctx)
	if err != nil {
		return DAGRun{}, err
	}
	if conf == nil {
		conf = map[string]any{}
	}
	var ld *string
	if logicalDate != nil {
		s := logicalDate.UTC().Format(time.RFC3339Nano)
		ld = &s
	}
	var body any
	if api == APIv2 {
		// TriggerDAGRunPostBody: logical_date is required (nullable) and
		// unknown fields are refused with 422.
		body = struct {
			DAGRunID    string         `json:"dag_run_id"`
			LogicalDate *string        `json:"logical_date"`
			Conf        map[string]any `json:"conf"`
		}{runID, ld, conf}
	} else {
		body = struct {
			DAGRunID    string         `json:"dag_run_id"`
			LogicalDate *string        `json:"logical_date,omitempty"`
			Conf        map[string]any `json:"conf"`
		}{runID, ld, conf}
	}
	var r DAGRun
	if err := c.call(ctx, http.MethodPost, "/dags/"+url.PathEscape(dagID)+"/dagRuns", nil, body, &r); err != nil {
		return DAGRun{}, notFound(err, "DAG %q", dagID)
	}
	r.fill()
	return r, nil
}

// ClearTaskInstances is the body of POST /dags/{dag_id}/clearTaskInstances,
// with the fields both v1 and v2 accept. Every boolean is sent
// explicitly: Airflow defaults dry_run and only_failed to true, so leaving
// one out would mean something else than its Go zero value.
type ClearTaskInstances struct {
	DryRun            bool     `json:"dry_run"`
	DAGRunID          string   `json:"dag_run_id,omitempty"`
	TaskIDs           []string `json:"task_ids,omitempty"`
	OnlyFailed        bool     `json:"only_failed"`
	OnlyRunning       bool     `json:"only_running"`
	IncludeUpstream   bool     `json:"include_upstream"`
	IncludeDownstream bool     `json:"include_downstream"`
	IncludeFuture     bool     `json:"include_future"`
	IncludePast       bool     `json:"include_past"`
	ResetDAGRuns      bool     `json:"reset_dag_runs"`
}

// ClearTaskInstances clears (or, with DryRun, lists what it would clear)
// task instances of the DAG. v1 answers task instance references (no
// state); v2 answers full task instances.
func (c *Client) ClearTaskInstances(ctx context.Context, dagID string, body ClearTaskInstances) ([]TaskInstance, error) {
	var out struct {
		TaskInstances []TaskInstance `json:"task_instances"`
	}
	if err := c.call(ctx, http.MethodPost, "/dags/"+url.PathEscape(dagID)+"/clearTaskInstances", nil, body, &out); err != nil {
		if body.DAGRunID != "" {
			return nil, notFound(err, "DAG run %q of DAG %q", body.DAGRunID, dagID)
		}
		return nil, notFound(err, "DAG %q", dagID)
	}
	return out.TaskInstances, nil
}

// notFound rewrites a 404 into a non-retryable error naming what is
// missing; other errors pass through.
func notFound(err error, format string, args ...any) error {
	if err == nil || StatusOf(err) != http.StatusNotFound {
		return err
	}
	var ae *APIError
	errors.As(err, &ae)
	msg := "airflow: " + fmt.Sprintf(format, args...) + " not found"
	return temporal.NewNonRetryableApplicationError(msg, NotFoundType, ae)
}

// call sends a request to the resolved API's path (below /api/vN).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	api, err := c.API(ctx)
	if err != nil {
		return err
	}
	p := "/api/" + api + path
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	err = c.do(ctx, api, true, method, p, nil, body, out)
	var te *tokenError
	if api == APIv2 && StatusOf(err) == http.StatusUnauthorized && c.usesJWT() && !errors.As(err, &te) {
		// The JWT may have expired: get a new one, once.
		c.mu.Lock()
		c.jwt = ""
		c.mu.Unlock()
		err = c.do(ctx, api, true, method, p, nil, body, out)
	}
	return classify(err)
}

func (c *Client) usesJWT() bool { return c.cfg.Token == "" && c.cfg.Username != "" }

// do sends one request; auth adds the credentials the API takes. Errors
// are *APIError for error answers, wrapped transport errors otherwise.
func (c *Client) do(ctx context.Context, api string, auth bool, method, path string, hdr http.Header, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("airflow: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("airflow: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if auth {
		if err := c.authorize(ctx, api, req); err != nil {
			return err
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("airflow: %s %s: %w", method, pathOnly(path), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("airflow: %s %s: read answer: %w", method, pathOnly(path), err)
	}
	if resp.StatusCode >= 300 {
		return apiError(method, pathOnly(path), resp, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("airflow: %s %s: decode answer: %w", method, pathOnly(path), err)
	}
	return nil
}

func pathOnly(p string) string {
	path, _, _ := strings.Cut(p, "?")
	return path
}

// authorize sets the Authorization header: the static token, basic auth
// (v1) or the cached JWT (v2, fetched from /auth/token when missing).
func (c *Client) authorize(ctx context.Context, api string, req *http.Request) error {
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.Username == "":
	case api == APIv1:
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	default:
		tok, err := c.token(ctx)
		if err != nil {
			return &tokenError{err}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

// tokenError is a failure to get a JWT: a refresh would fail the same way.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// token returns the cached v2 JWT, fetching one when there is none.
func (c *Client) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.jwt
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	creds := struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}{c.cfg.Username, c.cfg.Password}
	if err := c.do(ctx, APIv2, false, http.MethodPost, "/auth/token", nil, creds, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("airflow: POST /auth/token: no access_token in the answer")
	}
	c.mu.Lock()
	c.jwt = out.AccessToken
	c.mu.Unlock()
	return out.AccessToken, nil
}

// apiError reads an error answer: problem+json (v1) or FastAPI's
// {"detail": ...} (v2).
func apiError(method, path string, resp *http.Response, raw []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: resp.StatusCode, RetryAfter: retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())}
	var body struct {
		Title  string          `json:"title"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &body) == nil {
		e.Title = body.Title
		var s string
		switch {
		case len(body.Detail) == 0 || string(body.Detail) == "null":
		case json.Unmarshal(body.Detail, &s) == nil:
			e.Detail = s
		default:
			var buf bytes.Buffer
			if json.Compact(&buf, body.Detail) == nil {
				e.Detail = buf.String()
			}
		}
	} else if s := strings.TrimSpace(string(raw)); s != "" && len(s) < 300 {
		e.Detail = s
	}
	return e
}

// MaxRetryDelay caps the retry delay taken from a Retry-After header, so
// that a server asking for hours does not park a runbook step that long.
const MaxRetryDelay = 10 * time.Minute

// classify turns an *APIError into the Temporal error its status calls
// for; other errors (transport, cancellation) stay retryable as they are.
func classify(err error) error {
	var ae *APIError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err // already classified
	}
	switch s := ae.Status; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("airflow: credentials refused; check %s/%s or %s", EnvUsername, EnvPassword, EnvToken),
			CredentialsType, ae)
	case s == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError("airflow: not found", NotFoundType, ae)
	case s == http.StatusConflict:
		return temporal.NewNonRetryableApplicationError("airflow: conflict", ConflictType, ae)
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		return temporal.NewNonRetryableApplicationError("airflow: request refused", BadRequestType, ae)
	case s == http.StatusTooManyRequests:
		return temporal.NewApplicationErrorWithOptions("airflow: throttled", ThrottledType,
			temporal.ApplicationErrorOptions{NextRetryDelay: min(ae.RetryAfter, MaxRetryDelay), Cause: ae})
	case s >= 500:
		return temporal.NewApplicationErrorWithOptions("airflow: unavailable", UnavailableType,
			temporal.ApplicationErrorOptions{NextRetryDelay: min(ae.RetryAfter, MaxRetryDelay), Cause: ae})
	case s == http.StatusRequestTimeout:
		return fmt.Errorf("airflow: %w", ae)
	}
	return temporal.NewNonRetryableApplicationError("airflow: request refused", ClientErrorType, ae)
}
