// Package statuspage is the Liaison's public status page: a small typed
// client over net/http for Atlassian Statuspage's REST API v1
// (https://api.statuspage.io/v1, "Authorization: OAuth <api key>"), and the
// two acts the workflow runs after the Liaison or the Commander approved
// the public wording: Publish (create the incident's public incident, or
// update the one it already created) and Resolve.
//
// Publish is idempotent: each public incident carries the datasev incident
// ID in its metadata ({"datasev": {"incident": "<id>"}}), and Publish looks
// for it among the page's unresolved incidents before creating one, so a
// retried or replayed Publish updates instead of creating a second.
//
// Errors are typed for Temporal: 401, 403, 404, 422 and other client
// errors are non-retryable and carry the API's message; 420 and 429 (rate
// limited) and 5xx are retryable, with Retry-After as the next retry delay.
// The API key comes from the environment or a file, never from inputs.
package statuspage

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
	// EnvAPIKey is the Statuspage API key.
	EnvAPIKey = "DATASEV_STATUSPAGE_API_KEY"
	// EnvAPIKeyFile names a file holding the API key; it wins over
	// EnvAPIKey.
	EnvAPIKeyFile = "DATASEV_STATUSPAGE_API_KEY_FILE"
	// EnvPageID is the status page's ID.
	EnvPageID = "DATASEV_STATUSPAGE_PAGE_ID"
	// EnvAPIURL overrides the API's base URL; for the sptest stand-in and
	// the demo only.
	EnvAPIURL = "DATASEV_STATUSPAGE_API_URL"
	// EnvComponents maps services to component IDs:
	// "orders=8kbf7d35c070,billing=vtnh60py4yd7".
	EnvComponents = "DATASEV_STATUSPAGE_COMPONENTS"
)

// DefaultBaseURL is Statuspage's API.
const DefaultBaseURL = "https://api.statuspage.io/v1"

// Incident statuses.
const (
	Investigating = "investigating"
	Identified    = "identified"
	Monitoring    = "monitoring"
	Resolved      = "resolved"
)

// Component statuses.
const (
	Operational         = "operational"
	DegradedPerformance = "degraded_performance"
	PartialOutage       = "partial_outage"
	MajorOutage         = "major_outage"
	UnderMaintenance    = "under_maintenance"
)

// IncidentStatuses lists the statuses of a realtime incident.
var IncidentStatuses = []string{Investigating, Identified, Monitoring, Resolved}

// ComponentStatuses lists the statuses of a component.
var ComponentStatuses = []string{Operational, DegradedPerformance, PartialOutage, MajorOutage, UnderMaintenance}

// Types of the application errors.
const (
	// NotConfiguredType: the worker has no API key or page ID.
	NotConfiguredType = "StatuspageNotConfigured"
	// BadRequestType: the request cannot work as written (a bad status,
	// an unknown service); checked before calling the API.
	BadRequestType = "StatuspageBadRequest"
	// AuthType: the API refused the key (401) or its permissions (403).
	AuthType = "StatuspageAuth"
	// NotFoundType: the page, incident or component does not exist (404).
	NotFoundType = "StatuspageNotFound"
	// InvalidType: the API refused the request's content (422, other 4xx).
	InvalidType = "StatuspageInvalid"
	// RateLimitedType: 420 or 429; retried after Retry-After.
	RateLimitedType = "StatuspageRateLimited"
	// ServerType: 5xx or a network error; retried.
	ServerType = "StatuspageUnavailable"
)

// Config is how the worker reaches its status page.
type Config struct {
	// APIKey authenticates as "Authorization: OAuth <key>".
	APIKey string
	// PageID is the status page's ID.
	PageID string
	// BaseURL is the API's base URL; "" for DefaultBaseURL.
	BaseURL string
	// Components maps a service name to its component ID.
	Components map[string]string
	// HTTPClient sends the requests; nil for one with a 30s timeout.
	HTTPClient *http.Client
}

// Configured reports whether a key and a page are set.
func (c Config) Configured() bool { return c.APIKey != "" && c.PageID != "" }

// ConfigFromEnv reads the DATASEV_STATUSPAGE_* variables through getenv.
// With neither key nor page set it returns a Config that is not
// Configured and no error; with only one of them, an error.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{PageID: get(EnvPageID), BaseURL: get(EnvAPIURL)}
	key, err := secret.FromEnv(getenv, EnvAPIKey)
	if err != nil {
		return Config{}, err
	}
	cfg.APIKey = strings.TrimSpace(key)
	if cfg.APIKey == "" && cfg.PageID == "" {
		return Config{}, nil
	}
	if cfg.APIKey == "" {
		return Config{}, fmt.Errorf("statuspage: %s is set but neither %s nor %s", EnvPageID, EnvAPIKey, EnvAPIKeyFile)
	}
	if cfg.PageID == "" {
		return Config{}, fmt.Errorf("statuspage: an API key is set but %s is not", EnvPageID)
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("statuspage: %s=%q: want an http or https URL", EnvAPIURL, cfg.BaseURL)
		}
		if u.User != nil {
			return Config{}, fmt.Errorf("statuspage: %s: no credentials in the URL", EnvAPIURL)
		}
	}
	if v := get(EnvComponents); v != "" {
		cfg.Components = map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			pair = strings.TrimSpace(pair)
			if pair == "" {
				continue
			}
			svc, id, ok := strings.Cut(pair, "=")
			svc, id = strings.TrimSpace(svc), strings.TrimSpace(id)
			if !ok || svc == "" || id == "" {
				return Config{}, fmt.Errorf("statuspage: %s: %q: want service=component_id", EnvComponents, pair)
			}
			cfg.Components[svc] = id
		}
	}
	return cfg, nil
}

// Client calls the Statuspage API for one page.
type Client struct {
	cfg  Config
	base string
	http *http.Client
}

// New returns a client for cfg. A cfg that is not Configured gives a
// client whose calls fail, non-retryably, as not configured.
func New(cfg Config) *Client {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, base: base, http: hc}
}

// Component is a status page component.
type Component struct {
	ID          string    `json:"id"`
	PageID      string    `json:"page_id,omitempty"`
	GroupID     string    `json:"group_id,omitempty"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Status      string    `json:"status"`
	Position    int       `json:"position,omitempty"`
	Showcase    bool      `json:"showcase,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// AffectedComponent is a component's change recorded on an update.
type AffectedComponent struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

// IncidentUpdate is one published update of an incident.
type IncidentUpdate struct {
	ID                 string              `json:"id"`
	IncidentID         string              `json:"incident_id"`
	Status             string              `json:"status"`
	Body               string              `json:"body"`
	CreatedAt          time.Time           `json:"created_at,omitzero"`
	DisplayAt          time.Time           `json:"display_at,omitzero"`
	AffectedComponents []AffectedComponent `json:"affected_components,omitempty"`
}

// Incident is a status page incident.
type Incident struct {
	ID              string           `json:"id"`
	PageID          string           `json:"page_id"`
	Name            string           `json:"name"`
	Status          string           `json:"status"`
	Impact          string           `json:"impact"`
	Shortlink       string           `json:"shortlink"`
	CreatedAt       time.Time        `json:"created_at,omitzero"`
	UpdatedAt       time.Time        `json:"updated_at,omitzero"`
	MonitoringAt    *time.Time       `json:"monitoring_at"`
	ResolvedAt      *time.Time       `json:"resolved_at"`
	IncidentUpdates []IncidentUpdate `json:"incident_updates"`
	Components      []Component      `json:"components"`
	// Metadata is the incident's metadata; its top-level values are
	// objects (the API requires it), kept loose here so that an odd one
	// does not break decoding.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// IncidentInput is the body of a create or update: {"incident": {...}}.
// Empty fields are left out.
type IncidentInput struct {
	Name         string                    `json:"name,omitempty"`
	Status       string                    `json:"status,omitempty"`
	Body         string                    `json:"body,omitempty"`
	ComponentIDs []string                  `json:"component_ids,omitempty"`
	Components   map[string]string         `json:"components,omitempty"`
	Metadata     map[string]map[string]any `json:"metadata,omitempty"`
	// DeliverNotifications tells subscribers; nil for the API's default
	// (true).
	DeliverNotifications *bool `json:"deliver_notifications,omitempty"`
}

// APIError is an error answer of the API.
type APIError struct {
	// Method and Path name the request.
	Method, Path string
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the API's error message.
	Message string
	// RetryAfter is the Retry-After header's delay; 0 when absent.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("statuspage %s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// CreateIncident creates an incident.
func (c *Client) CreateIncident(ctx context.Context, in IncidentInput) (Incident, error) {
	var out Incident
	err := c.do(ctx, http.MethodPost, c.pagePath("incidents"), map[string]any{"incident": in}, &out)
	return out, err
}

// UpdateIncident updates incident id.
func (c *Client) UpdateIncident(ctx context.Context, id string, in IncidentInput) (Incident, error) {
	var out Incident
	err := c.do(ctx, http.MethodPatch, c.pagePath("incidents", id), map[string]any{"incident": in}, &out)
	return out, err
}

// GetIncident reads incident id.
func (c *Client) GetIncident(ctx context.Context, id string) (Incident, error) {
	var out Incident
	err := c.do(ctx, http.MethodGet, c.pagePath("incidents", id), nil, &out)
	return out, err
}

// UnresolvedIncidents lists the page's unresolved incidents, all pages of
// them.
func (c *Client) UnresolvedIncidents(ctx context.Context) ([]Incident, error) {
	const perPage = 100
	var all []Incident
	for page := 1; page <= 50; page++ {
		var batch []Incident
		p := c.pagePath("incidents", "unresolved") + "?page=" + strconv.Itoa(page) + "&per_page=" + strconv.Itoa(perPage)
		if err := c.do(ctx, http.MethodGet, p, nil, &batch); err != nil {
			return nil, err
		}
		all = append(all, batch...)
		if len(batch) < perPage {
			break
		}
	}
	return all, nil
}

// UpdateComponent sets a component's status.
func (c *Client) UpdateComponent(ctx context.Context, id, status string) (Component, error) {
	var out Component
	body := map[string]any{"component": map[string]string{"status": status}}
	err := c.do(ctx, http.MethodPatch, c.pagePath("components", id), body, &out)
	return out, err
}

// Components lists the page's components.
func (c *Client) Components(ctx context.Context) ([]Component, error) {
	var out []Component
	err := c.do(ctx, http.MethodGet, c.pagePath("components")+"?per_page=100", nil, &out)
	return out, err
}

func (c *Client) pagePath(parts ...string) string {
	p := "/pages/" + url.PathEscape(c.cfg.PageID)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

func (c *Client) ready() error {
	if c == nil || !c.cfg.Configured() {
		return temporal.NewNonRetryableApplicationError(
			"statuspage: the worker has no status page configured; set "+EnvAPIKey+" (or "+EnvAPIKeyFile+") and "+EnvPageID,
			NotConfiguredType, nil)
	}
	return nil
}

// do sends one request and decodes a 2xx answer into out; other answers
// become typed errors.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	if err := c.ready(); err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return temporal.NewNonRetryableApplicationError("statuspage: encode request: "+err.Error(), BadRequestType, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("statuspage: "+err.Error(), BadRequestType, err)
	}
	req.Header.Set("Authorization", "OAuth "+c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "datasev")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("statuspage %s %s: %w", method, path, ctx.Err())
		}
		return temporal.NewApplicationError(fmt.Sprintf("statuspage %s %s: %v", method, path, redact(err)), ServerType, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return temporal.NewApplicationError(fmt.Sprintf("statuspage %s %s: read answer: %v", method, path, err), ServerType, err)
	}
	if resp.StatusCode/100 != 2 {
		return classify(&APIError{
			Method: method, Path: strings.SplitN(path, "?", 2)[0], StatusCode: resp.StatusCode,
			Message: errorMessage(raw), RetryAfter: retryafter.Parse(resp.Header.Get("Retry-After"), time.Now()),
		})
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return temporal.NewApplicationError(fmt.Sprintf("statuspage %s %s: decode answer: %v", method, path, err), ServerType, err)
	}
	return nil
}

// redact hides the request URL's query from transport errors (it never
// carries the key, which travels in a header, but stays short).
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// MaxRetryDelay caps the retry delay taken from a Retry-After header.
const MaxRetryDelay = 10 * time.Minute

// classify turns an APIError into a Temporal application error.
func classify(e *APIError) error {
	switch {
	case e.StatusCode == 420 || e.StatusCode == http.StatusTooManyRequests:
		return temporal.NewApplicationErrorWithOptions(e.Error(), RateLimitedType,
			temporal.ApplicationErrorOptions{Cause: e, NextRetryDelay: min(e.RetryAfter, MaxRetryDelay)})
	case e.StatusCode >= 500:
		return temporal.NewApplicationErrorWithOptions(e.Error(), ServerType,
			temporal.ApplicationErrorOptions{Cause: e, NextRetryDelay: min(e.RetryAfter, MaxRetryDelay)})
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return temporal.NewNonRetryableApplicationError(e.Error()+" (check "+EnvAPIKey+" and its page permissions)", AuthType, e)
	case e.StatusCode == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError(e.Error(), NotFoundType, e)
	case e.StatusCode == http.StatusRequestTimeout:
		return temporal.NewApplicationError(e.Error(), ServerType, e)
	default:
		return temporal.NewNonRetryableApplicationError(e.Error(), InvalidType, e)
	}
}

// errorMessage reads the API's error body: {"error": "…"},
// {"error": ["…", "…"]} or {"message": "…"}; else the raw text.
func errorMessage(raw []byte) string {
	var body struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil {
		var s string
		var list []string
		switch {
		case json.Unmarshal(body.Error, &s) == nil && s != "":
			return s
		case json.Unmarshal(body.Error, &list) == nil && len(list) > 0:
			return strings.Join(list, "; ")
		case body.Message != "":
			return body.Message
		}
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		s = "(no message)"
	}
	return s
}
