// Package jira files an incident's action items as Jira Cloud issues
// (REST API v3) and reads their state back: one issue per item, found again
// by a label that names the incident and the item, so a retried or replayed
// filing never opens a second issue.
//
// The client is a small one of our own: the maintained Go Jira clients are
// not available to this build, and the four calls it makes (create an
// issue, search by JQL, read an issue's status, read the server's identity)
// are plain JSON over HTTPS.
package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/retryafter"
	"github.com/datasev/datasev/activities/support/secret"
)

// The environment variables the worker reads (docs/configuration.md).
const (
	// EnvURL is the site, https://<your-site>.atlassian.net.
	EnvURL = "DATASEV_JIRA_URL"
	// EnvEmail is the account an API token belongs to (basic auth).
	EnvEmail = "DATASEV_JIRA_EMAIL"
	// EnvAPIToken is the API token (or EnvAPIToken+"_FILE" naming a file).
	EnvAPIToken = "DATASEV_JIRA_API_TOKEN"
	// EnvOAuthToken is an OAuth 2.0 access token, used instead of an
	// e-mail and API token (or EnvOAuthToken+"_FILE").
	EnvOAuthToken = "DATASEV_JIRA_OAUTH_TOKEN"
	// EnvProject is the key of the project action items are filed in.
	EnvProject = "DATASEV_JIRA_PROJECT"
	// EnvIssueType is the issue type's name; default "Task".
	EnvIssueType = "DATASEV_JIRA_ISSUE_TYPE"
)

// DefaultIssueType is the issue type when EnvIssueType is unset.
const DefaultIssueType = "Task"

// Error types of the Temporal application errors the client returns.
const (
	NotConfiguredType = "JiraNotConfigured"
	AuthType          = "JiraAuth"
	NotFoundType      = "JiraNotFound"
	InvalidType       = "JiraInvalid"
	RateLimitedType   = "JiraRateLimited"
	ServerType        = "JiraServer"
)

// MaxRetryDelay caps the retry delay a Retry-After header asks for.
const MaxRetryDelay = 10 * time.Minute

// maxAnswer bounds the bytes read from one answer.
const maxAnswer = 4 << 20

// Config is where and as whom action items are filed.
type Config struct {
	// URL is the site's base URL.
	URL string
	// Email and APIToken authenticate with basic auth.
	Email, APIToken string
	// OAuthToken authenticates with a bearer token instead.
	OAuthToken string
	// Project is the project key ("DATA").
	Project string
	// IssueType is the issue type's name.
	IssueType string
}

// Configured reports whether filing in Jira is configured.
func (c Config) Configured() bool { return c.URL != "" && c.Project != "" }

// ConfigFromEnv reads the configuration through getenv. With neither the
// URL nor the project set, Jira is off and the zero Config is returned.
// Errors name the variable, never a secret.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{URL: strings.TrimRight(get(EnvURL), "/"), Email: get(EnvEmail), Project: get(EnvProject), IssueType: get(EnvIssueType)}
	var errs []error
	errs = append(errs, secret.FromEnvAll(getenv,
		secret.Field{Name: EnvAPIToken, Dst: &cfg.APIToken},
		secret.Field{Name: EnvOAuthToken, Dst: &cfg.OAuthToken})...)
	cfg.APIToken, cfg.OAuthToken = strings.TrimSpace(cfg.APIToken), strings.TrimSpace(cfg.OAuthToken)
	if cfg.URL == "" && cfg.Project == "" {
		if cfg.APIToken != "" || cfg.OAuthToken != "" || cfg.Email != "" {
			errs = append(errs, fmt.Errorf("jira: credentials are set but %s and %s are not", EnvURL, EnvProject))
		}
		return Config{}, errors.Join(errs...)
	}
	if cfg.URL == "" {
		errs = append(errs, fmt.Errorf("jira: %s is set but %s is not", EnvProject, EnvURL))
	} else if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		errs = append(errs, fmt.Errorf("jira: %s=%q: want the site's https URL, without credentials or query (https://acme.atlassian.net)", EnvURL, cfg.URL))
	}
	if cfg.Project == "" {
		errs = append(errs, fmt.Errorf("jira: %s is set but %s is not", EnvURL, EnvProject))
	} else if !validProjectKey(cfg.Project) {
		errs = append(errs, fmt.Errorf("jira: %s=%q: want a project key (an uppercase letter, then uppercase letters, digits or _, at most 32)", EnvProject, cfg.Project))
	}
	switch {
	case cfg.OAuthToken != "" && (cfg.APIToken != "" || cfg.Email != ""):
		errs = append(errs, fmt.Errorf("jira: set either %s or %s with %s, not both", EnvOAuthToken, EnvEmail, EnvAPIToken))
	case cfg.OAuthToken == "" && (cfg.APIToken == "" || cfg.Email == ""):
		errs = append(errs, fmt.Errorf("jira: set %s and %s (or %s_FILE), or %s", EnvEmail, EnvAPIToken, EnvAPIToken, EnvOAuthToken))
	}
	if cfg.IssueType == "" {
		cfg.IssueType = DefaultIssueType
	} else if len(cfg.IssueType) > 64 || strings.ContainsAny(cfg.IssueType, "\"\r\n") {
		errs = append(errs, fmt.Errorf("jira: %s: at most 64 characters, no quotes or line breaks", EnvIssueType))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func validProjectKey(k string) bool {
	if len(k) == 0 || len(k) > 32 || k[0] < 'A' || k[0] > 'Z' {
		return false
	}
	for _, c := range k {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Client talks to one Jira Cloud site.
type Client struct {
	cfg  Config
	http *http.Client
}

// New returns a client; hc nil uses a client with a 30 s timeout.
func New(cfg Config, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, http: hc}
}

// Issue is a Jira issue as the client sees it.
type Issue struct {
	// Key is the issue key, "DATA-12".
	Key string
	// URL is where people open it: <site>/browse/<key>.
	URL string
	// Done reports whether its status is in the "done" category.
	Done bool
	// Status is the status's name ("In Progress").
	Status string
}

// APIError is an answer other than 2xx.
type APIError struct {
	Method, Path string
	StatusCode   int
	// Message joins Jira's errorMessages and field errors.
	Message string
	// RetryAfter is the Retry-After header's delay; 0 when absent.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("jira %s %s: %d: %s", e.Method, e.Path, e.StatusCode, msg)
}

// adf is the Atlassian Document Format body of a description: one
// paragraph a line of text.
func adf(text string) map[string]any {
	var paras []any
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		paras = append(paras, map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": line}}})
	}
	return map[string]any{"type": "doc", "version": 1, "content": paras}
}

// Create opens an issue in the configured project.
func (c *Client) Create(ctx context.Context, summary, description string, labels []string) (Issue, error) {
	in := map[string]any{"fields": map[string]any{
		"project":     map[string]string{"key": c.cfg.Project},
		"issuetype":   map[string]string{"name": c.cfg.IssueType},
		"summary":     summary,
		"description": adf(description),
		"labels":      labels,
	}}
	var out struct {
		Key string `json:"key"`
	}
	if err := c.do(ctx, http.MethodPost, "/rest/api/3/issue", in, &out); err != nil {
		return Issue{}, err
	}
	if out.Key == "" {
		return Issue{}, temporal.NewApplicationError("jira POST /rest/api/3/issue: the answer names no issue key", ServerType)
	}
	return Issue{Key: out.Key, URL: c.browse(out.Key)}, nil
}

// FindByLabel returns the project's issue carrying label, if one does.
// Jira's search reads an index that can lag a creation by seconds; the
// filer covers that window with the key it records before it returns.
func (c *Client) FindByLabel(ctx context.Context, label string) (Issue, bool, error) {
	in := map[string]any{
		"jql":        fmt.Sprintf("project = %q AND labels = %q ORDER BY created ASC", c.cfg.Project, label),
		"fields":     []string{"status"},
		"maxResults": 2,
	}
	var out searchAnswer
	if err := c.do(ctx, http.MethodPost, "/rest/api/3/search/jql", in, &out); err != nil {
		return Issue{}, false, err
	}
	if len(out.Issues) == 0 {
		return Issue{}, false, nil
	}
	return out.Issues[0].issue(c), true, nil
}

// Get reads an issue's status.
func (c *Client) Get(ctx context.Context, key string) (Issue, error) {
	if !validIssueKey(key) {
		return Issue{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("jira: %q is not an issue key", key), InvalidType, nil)
	}
	var out searchIssue
	if err := c.do(ctx, http.MethodGet, "/rest/api/3/issue/"+url.PathEscape(key)+"?fields=status", nil, &out); err != nil {
		return Issue{}, err
	}
	return out.issue(c), nil
}

type searchAnswer struct {
	Issues []searchIssue `json:"issues"`
}

type searchIssue struct {
	Key    string `json:"key"`
	Fields struct {
		Status struct {
			Name           string `json:"name"`
			StatusCategory struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
	} `json:"fields"`
}

func (s searchIssue) issue(c *Client) Issue {
	return Issue{Key: s.Key, URL: c.browse(s.Key), Status: s.Fields.Status.Name, Done: s.Fields.Status.StatusCategory.Key == "done"}
}

func (c *Client) browse(key string) string { return c.cfg.URL + "/browse/" + url.PathEscape(key) }

// KeyFromURL returns the issue key of a browse URL on this site ("" when the
// URL is not one).
func (c *Client) KeyFromURL(u string) string {
	key, ok := strings.CutPrefix(u, c.cfg.URL+"/browse/")
	if !ok || !validIssueKey(key) {
		return ""
	}
	return key
}

func validIssueKey(k string) bool {
	p, n, ok := strings.Cut(k, "-")
	if !ok || !validProjectKey(p) || n == "" || len(n) > 12 {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// do sends one request and decodes a 2xx answer into out; other answers
// become Temporal application errors: 429 and 5xx retryable (after
// Retry-After, capped), 401/403/404/400 not.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	if c == nil || !c.cfg.Configured() {
		return temporal.NewNonRetryableApplicationError("jira: not configured; set "+EnvURL+" and "+EnvProject, NotConfiguredType, nil)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return temporal.NewNonRetryableApplicationError("jira: encode request: "+err.Error(), InvalidType, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.URL+path, body)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("jira: "+err.Error(), InvalidType, err)
	}
	if c.cfg.OAuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.OAuthToken)
	} else {
		req.SetBasicAuth(c.cfg.Email, c.cfg.APIToken)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "datasev")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	short := strings.SplitN(path, "?", 2)[0]
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("jira %s %s: %w", method, short, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return temporal.NewApplicationError(fmt.Sprintf("jira %s %s: %v", method, short, err), ServerType)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return temporal.NewApplicationError(fmt.Sprintf("jira %s %s: read answer: %v", method, short, err), ServerType)
	}
	if resp.StatusCode/100 != 2 {
		return classify(&APIError{Method: method, Path: short, StatusCode: resp.StatusCode,
			Message: errorMessage(raw), RetryAfter: retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())})
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return temporal.NewApplicationError(fmt.Sprintf("jira %s %s: decode answer: %v", method, short, err), ServerType)
	}
	return nil
}

// errorMessage reads Jira's error collection ({"errorMessages": [..],
// "errors": {field: message}}), bounded.
func errorMessage(raw []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	parts := e.ErrorMessages
	for _, f := range slices.Sorted(maps.Keys(e.Errors)) {
		parts = append(parts, f+": "+e.Errors[f])
	}
	msg := strings.Join(parts, "; ")
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return msg
}

func classify(e *APIError) error {
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		return temporal.NewApplicationErrorWithOptions(e.Error(), RateLimitedType,
			temporal.ApplicationErrorOptions{Cause: e, NextRetryDelay: min(e.RetryAfter, MaxRetryDelay)})
	case e.StatusCode >= 500:
		return temporal.NewApplicationErrorWithOptions(e.Error(), ServerType,
			temporal.ApplicationErrorOptions{Cause: e, NextRetryDelay: min(e.RetryAfter, MaxRetryDelay)})
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return temporal.NewNonRetryableApplicationError(e.Error()+" (check "+EnvEmail+"/"+EnvAPIToken+" or "+EnvOAuthToken+", and the account's permission to create issues in the project)", AuthType, e)
	case e.StatusCode == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError(e.Error(), NotFoundType, e)
	default:
		return temporal.NewNonRetryableApplicationError(e.Error(), InvalidType, e)
	}
}
