// Package dbtcloud holds the dbt Cloud runbook actions — dbtcloud.rerun_job
// (trigger a job run) and dbtcloud.retry_run (retry a failed run from the
// point of failure) — and the small client of dbt Cloud's Administrative
// API v2 they share.
//
// The client speaks what dbt Cloud's API v2 documentation states:
//
//   - POST /api/v2/accounts/{account_id}/jobs/{job_id}/run/ with
//     {"cause": …} triggers a run and answers the run;
//   - POST /api/v2/accounts/{account_id}/jobs/{job_id}/rerun/ retries the
//     job's failed run from the point of failure (when the job's latest run
//     did not fail, dbt Cloud triggers a new run instead) and answers the
//     new run;
//   - GET /api/v2/accounts/{account_id}/runs/{run_id}/ reads a run;
//   - GET /api/v2/accounts/{account_id}/runs/?job_definition_id=…&order_by=-id&limit=…
//     lists a job's latest runs (include_related=["trigger"] adds each
//     run's trigger and its cause);
//   - GET /api/v2/accounts/{account_id}/jobs/{job_id}/ reads a job.
//
// Every answer is the envelope {"status": {"code", "is_success",
// "user_message", "developer_message"}, "data": …}. A run's status is a
// number: 1 queued, 2 starting, 3 running, 10 success, 20 error, 30
// cancelled. Requests authenticate with "Authorization: Token <token>" (a
// service token). The base URL is configurable: https://cloud.getdbt.com
// by default, a regional or single-tenant host (e.g.
// https://emea.dbt.com), or the stand-in (dbtcloudtest).
//
// Errors are typed for Temporal: refused credentials, unknown jobs and
// runs and refused requests are non-retryable; 429 and 5xx answers and
// network errors are retryable, after the Retry-After the server asked for
// (bounded).
package dbtcloud

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
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/retryafter"
	"github.com/datasev/datasev/activities/support/secret"
)

// Environment variables read by ConfigFromEnv.
const (
	// EnvURL is dbt Cloud's base URL (default DefaultURL): the access URL
	// of the account's region or tenant.
	EnvURL = "DATASEV_DBTCLOUD_URL"
	// EnvToken is the service token (or EnvTokenFile, a file holding it).
	// Unset: dbt Cloud is not configured.
	EnvToken = "DATASEV_DBTCLOUD_TOKEN"
	// EnvTokenFile names a file holding the service token.
	EnvTokenFile = EnvToken + secret.FileSuffix
)

// DefaultURL is dbt Cloud's multi-tenant US access URL.
const DefaultURL = "https://cloud.getdbt.com"

// Run statuses, as dbt Cloud's API v2 numbers them.
const (
	StatusQueued    = 1
	StatusStarting  = 2
	StatusRunning   = 3
	StatusSuccess   = 10
	StatusError     = 20
	StatusCancelled = 30
)

// StatusName names a run status ("queued", …, "error").
func StatusName(s int) string {
	switch s {
	case StatusQueued:
		return "queued"
	case StatusStarting:
		return "starting"
	case StatusRunning:
		return "running"
	case StatusSuccess:
		return "success"
	case StatusError:
		return "error"
	case StatusCancelled:
		return "cancelled"
	}
	return fmt.Sprintf("status %d", s)
}

// Types of the client's non-retryable errors.
const (
	// CredentialsType: dbt Cloud refused the token (401/403).
	CredentialsType = "DBTCloudCredentialsRefused"
	// NotFoundType: the account, job or run does not exist (404).
	NotFoundType = "DBTCloudNotFound"
	// BadRequestType: dbt Cloud refused the request (400/409/422), or the
	// action's inputs cannot work.
	BadRequestType = "DBTCloudBadRequest"
	// ClientErrorType: another 4xx answer a retry would not change.
	ClientErrorType = "DBTCloudClientError"
	// NotConfiguredType: the worker has no dbt Cloud client.
	NotConfiguredType = "NotConfigured"
	// NotRetryableRunType: the run named is not a failed run of the job,
	// so there is nothing to retry.
	NotRetryableRunType = "DBTCloudRunNotFailed"
)

// Types of the client's retryable errors.
const (
	// ThrottledType: 429 Too Many Requests.
	ThrottledType = "DBTCloudThrottled"
	// UnavailableType: a 5xx answer.
	UnavailableType = "DBTCloudUnavailable"
)

// MaxRetryDelay caps the retry delay taken from a Retry-After header.
const MaxRetryDelay = 10 * time.Minute

// Config is how the worker reaches dbt Cloud. The token comes from the
// environment or a file, never from runbook inputs.
type Config struct {
	// URL is the base URL (scheme and host).
	URL string
	// Token is the service token.
	Token string
}

// String describes c without its token.
func (c Config) String() string { return "dbt Cloud " + c.URL }

// Configured reports whether c names a token.
func (c Config) Configured() bool { return c.Token != "" }

// ConfigFromEnv reads DATASEV_DBTCLOUD_* through getenv. Without a token
// it returns a zero Config: not configured.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	tok, err := secret.FromEnv(getenv, EnvToken)
	if err != nil {
		return Config{}, err
	}
	tok = strings.TrimSpace(tok)
	u := strings.TrimSpace(getenv(EnvURL))
	if tok == "" {
		if u != "" {
			return Config{}, fmt.Errorf("%s is set but neither %s nor %s is", EnvURL, EnvToken, EnvTokenFile)
		}
		return Config{}, nil
	}
	if u == "" {
		u = DefaultURL
	}
	cfg := Config{URL: u, Token: tok}
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
		return fmt.Errorf("%s=%q: want an https URL such as %s", EnvURL, c.URL, DefaultURL)
	case u.Host == "":
		return fmt.Errorf("%s=%q: no host", EnvURL, c.URL)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%s=%q: want scheme and host only (no credentials, query or fragment)", EnvURL, c.URL)
	case strings.Trim(u.Path, "/") != "":
		return fmt.Errorf("%s=%q: want the access URL without a path (the client adds /api/v2/…)", EnvURL, c.URL)
	}
	return nil
}

// Client is a small client of dbt Cloud's Administrative API v2. It is
// safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	hc   *http.Client
	now  func() time.Time
}

// NewClient builds a client from cfg; hc nil means a client with a 30s
// timeout. It contacts nothing.
func NewClient(cfg Config, hc *http.Client) (*Client, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("dbtcloud: %s is not set", EnvToken)
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dbtcloud: %w", err)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), hc: hc, now: time.Now}, nil
}

// Base is the client's base URL.
func (c *Client) Base() string { return c.base }

// Run is the part of a dbt Cloud run the actions read.
type Run struct {
	ID              int64    `json:"id"`
	AccountID       int64    `json:"account_id"`
	JobDefinitionID int64    `json:"job_definition_id"`
	Status          int      `json:"status"`
	StatusHumanized string   `json:"status_humanized"`
	StatusMessage   *string  `json:"status_message"`
	Href            string   `json:"href"`
	InProgress      bool     `json:"in_progress"`
	IsComplete      bool     `json:"is_complete"`
	CreatedAt       string   `json:"created_at"`
	FinishedAt      *string  `json:"finished_at"`
	Duration        string   `json:"duration"`
	Trigger         *Trigger `json:"trigger"`
}

// Trigger is a run's trigger (include_related=["trigger"]).
type Trigger struct {
	ID    int64  `json:"id"`
	Cause string `json:"cause"`
}

// Terminal reports whether the run has finished: success, error or
// cancelled.
func (r Run) Terminal() bool {
	return r.Status == StatusSuccess || r.Status == StatusError || r.Status == StatusCancelled
}

// Job is the part of a dbt Cloud job the actions read.
type Job struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"account_id"`
	Name      string `json:"name"`
	State     int    `json:"state"`
}

// APIError is an error answer from dbt Cloud. The client's errors wrap
// it (errors.As finds it) inside a Temporal application error.
type APIError struct {
	// Method and Path say which request failed.
	Method, Path string
	// Status is the HTTP status.
	Status int
	// UserMessage and DeveloperMessage are the envelope's messages.
	UserMessage, DeveloperMessage string
	// RetryAfter is the parsed Retry-After header, 0 when absent.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("dbt Cloud: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.UserMessage != "" {
		msg += ": " + e.UserMessage
	}
	if e.DeveloperMessage != "" && e.DeveloperMessage != e.UserMessage {
		msg += " (" + e.DeveloperMessage + ")"
	}
	return msg
}

// StatusOf returns the HTTP status of a dbt Cloud error answer in err's
// chain, 0 when there is none.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// envelope is every answer's shape.
type envelope struct {
	Status struct {
		Code             int    `json:"code"`
		IsSuccess        bool   `json:"is_success"`
		UserMessage      string `json:"user_message"`
		DeveloperMessage string `json:"developer_message"`
	} `json:"status"`
	Data json.RawMessage `json:"data"`
}

func acct(account int64) string { return "/api/v2/accounts/" + strconv.FormatInt(account, 10) }

// TriggerRun triggers a run of a job with cause.
func (c *Client) TriggerRun(ctx context.Context, account, job int64, cause string) (Run, error) {
	var r Run
	err := c.call(ctx, http.MethodPost, acct(account)+"/jobs/"+strconv.FormatInt(job, 10)+"/run/", map[string]any{"cause": cause}, &r)
	return r, err
}

// RerunJob retries the job's failed run from the point of failure (dbt
// Cloud triggers a new run when its latest run did not fail).
func (c *Client) RerunJob(ctx context.Context, account, job int64) (Run, error) {
	var r Run
	err := c.call(ctx, http.MethodPost, acct(account)+"/jobs/"+strconv.FormatInt(job, 10)+"/rerun/", nil, &r)
	return r, err
}

// GetRun reads a run.
func (c *Client) GetRun(ctx context.Context, account, run int64) (Run, error) {
	var r Run
	err := c.call(ctx, http.MethodGet, acct(account)+"/runs/"+strconv.FormatInt(run, 10)+"/", nil, &r)
	return r, err
}

// GetJob reads a job.
func (c *Client) GetJob(ctx context.Context, account, job int64) (Job, error) {
	var j Job
	err := c.call(ctx, http.MethodGet, acct(account)+"/jobs/"+strconv.FormatInt(job, 10)+"/", nil, &j)
	return j, err
}

// LatestRuns lists a job's latest runs, newest first, at most limit, each
// with its trigger.
func (c *Client) LatestRuns(ctx context.Context, account, job int64, limit int) ([]Run, error) {
	q := url.Values{}
	q.Set("job_definition_id", strconv.FormatInt(job, 10))
	q.Set("order_by", "-id")
	q.Set("limit", strconv.Itoa(limit))
	q.Set("include_related", `["trigger"]`)
	var rs []Run
	err := c.call(ctx, http.MethodGet, acct(account)+"/runs/?"+q.Encode(), nil, &rs)
	return rs, err
}

// call sends one request and decodes the envelope's data into out; errors
// are classified for Temporal.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	return classify(c.do(ctx, method, path, body, out))
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	p, _, _ := strings.Cut(path, "?")
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("dbt Cloud: encode %s %s: %w", method, p, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("dbt Cloud: %s %s: %w", method, p, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Token "+c.cfg.Token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("dbt Cloud: %s %s: %w", method, p, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("dbt Cloud: %s %s: read answer: %w", method, p, err)
	}
	var env envelope
	decErr := json.Unmarshal(raw, &env)
	if resp.StatusCode >= 300 {
		e := &APIError{Method: method, Path: p, Status: resp.StatusCode,
			RetryAfter: retryafter.Parse(resp.Header.Get("Retry-After"), c.now())}
		if decErr == nil {
			e.UserMessage, e.DeveloperMessage = env.Status.UserMessage, env.Status.DeveloperMessage
		} else if s := strings.TrimSpace(string(raw)); s != "" && len(s) < 300 {
			e.UserMessage = s
		}
		return e
	}
	if decErr != nil {
		return fmt.Errorf("dbt Cloud: %s %s: decode answer: %w", method, p, decErr)
	}
	if out == nil {
		return nil
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return fmt.Errorf("dbt Cloud: %s %s: the answer has no data", method, p)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("dbt Cloud: %s %s: decode data: %w", method, p, err)
	}
	return nil
}

// classify turns an *APIError into the Temporal error its status calls
// for; other errors (transport, cancellation) stay retryable as they are.
func classify(err error) error {
	var ae *APIError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	delay := func() time.Duration {
		if ae.RetryAfter <= 0 {
			return 0
		}
		return retryafter.Bound(ae.RetryAfter, time.Second, MaxRetryDelay)
	}
	switch s := ae.Status; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("dbt Cloud refused the token (%d); check %s/%s and the token's permissions (job admin or developer)", s, EnvToken, EnvTokenFile),
			CredentialsType, ae)
	case s == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError("dbt Cloud: not found", NotFoundType, ae)
	case s == http.StatusBadRequest || s == http.StatusConflict || s == http.StatusUnprocessableEntity:
		return temporal.NewNonRetryableApplicationError("dbt Cloud: request refused", BadRequestType, ae)
	case s == http.StatusTooManyRequests:
		return temporal.NewApplicationErrorWithOptions("dbt Cloud: throttled (429)", ThrottledType,
			temporal.ApplicationErrorOptions{NextRetryDelay: delay(), Cause: ae})
	case s >= 500:
		return temporal.NewApplicationErrorWithOptions("dbt Cloud: unavailable", UnavailableType,
			temporal.ApplicationErrorOptions{NextRetryDelay: delay(), Cause: ae})
	case s == http.StatusRequestTimeout:
		return fmt.Errorf("dbt Cloud: %w", ae)
	}
	return temporal.NewNonRetryableApplicationError("dbt Cloud: request refused", ClientErrorType, ae)
}
