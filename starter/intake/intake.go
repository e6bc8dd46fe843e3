package intake

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/secret"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// MaxBodyBytes is the largest request body accepted; larger is 413.
const MaxBodyBytes = 1 << 20

// Sources, as named in metrics and in the alerts' source field.
const (
	SourceAlertmanager = "alertmanager"
	SourceDBTCloud     = "dbt_cloud"
	SourcePagerDuty    = "pagerduty"
	SourceGeneric      = "generic"
)

// Auth holds each source's secret. Empty means not configured: the source
// is refused unless Insecure is set.
type Auth struct {
	AlertmanagerToken string // bearer token
	GenericToken      string // bearer token
	DBTCloudSecret    string // HMAC-SHA256 key
	PagerDutySecret   string // HMAC-SHA256 key
	// Insecure accepts unauthenticated requests for sources with no
	// secret configured. Development only.
	Insecure bool
}

// Environment variables AuthFromEnv reads; each also has a _FILE form.
const (
	EnvAlertmanagerToken = "DATASEV_INTAKE_ALERTMANAGER_TOKEN"
	EnvGenericToken      = "DATASEV_INTAKE_GENERIC_TOKEN"
	EnvDBTCloudSecret    = "DATASEV_INTAKE_DBT_CLOUD_SECRET"
	EnvPagerDutySecret   = "DATASEV_INTAKE_PAGERDUTY_SECRET"
)

// AuthFromEnv reads the secrets: NAME, else the file NAME_FILE names
// (trailing newline trimmed). Setting both is an error.
func AuthFromEnv(getenv func(string) string) (Auth, error) {
	var a Auth
	var errs []error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{EnvAlertmanagerToken, &a.AlertmanagerToken},
		{EnvGenericToken, &a.GenericToken},
		{EnvDBTCloudSecret, &a.DBTCloudSecret},
		{EnvPagerDutySecret, &a.PagerDutySecret},
	} {
		v, err := secret.FromEnv(getenv, f.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*f.dst = v
	}
	return a, errors.Join(errs...)
}

// Options tune the handler. Zero values take the defaults.
type Options struct {
	// UIURL is the Temporal Web UI's base URL for the ui_url links; empty
	// leaves them out.
	UIURL string
	// Namespace is the Temporal namespace, for the links; default "default".
	Namespace string
	// DeclareTimeout bounds each Declare; default 15s.
	DeclareTimeout time.Duration
	// WorkflowOptions tune the incidents' timers.
	WorkflowOptions workflows.Options
	// TaskQueue is the workers' task queue; empty means workflows.TaskQueue.
	TaskQueue string
}

// Handler is the intake's http.Handler.
type Handler struct {
	c       client.Client
	roster  oncall.Roster
	set     *runbooks.Set
	auth    Auth
	log     *slog.Logger
	opts    Options
	metrics *Metrics
	mux     *http.ServeMux
}

// New returns the intake handler. The roster must be valid; set may be nil
// (incidents run no runbook).
func New(c client.Client, roster oncall.Roster, set *runbooks.Set, auth Auth, logger *slog.Logger, opts Options) (*Handler, error) {
	if c == nil {
		return nil, errors.New("intake: nil Temporal client")
	}
	if err := roster.Validate(); err != nil {
		return nil, fmt.Errorf("intake: roster: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.DeclareTimeout <= 0 {
		opts.DeclareTimeout = 15 * time.Second
	}
	h := &Handler{c: c, roster: roster, set: set, auth: auth, log: logger, opts: opts, metrics: NewMetrics(), mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /alerts/alertmanager", h.source(SourceAlertmanager, h.bearer(func() string { return auth.AlertmanagerToken }), parseAlertmanager))
	h.mux.HandleFunc("POST /alerts/dbt-cloud", h.source(SourceDBTCloud, h.hmacAuth(func() string { return auth.DBTCloudSecret }, verifyDBTCloud), parseDBTCloud))
	h.mux.HandleFunc("POST /alerts/pagerduty", h.source(SourcePagerDuty, h.hmacAuth(func() string { return auth.PagerDutySecret }, verifyPagerDuty), parsePagerDuty))
	h.mux.HandleFunc("POST /alerts", h.source(SourceGeneric, h.bearer(func() string { return auth.GenericToken }), parseGeneric))
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	h.mux.HandleFunc("GET /readyz", h.ready)
	h.mux.Handle("GET /metrics", h.metrics)
	return h, nil
}

// Metrics returns the handler's metrics.
func (h *Handler) Metrics() *Metrics { return h.metrics }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := h.c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "temporal: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// authFunc checks a request's credentials against its raw body; it returns
// a rejection reason, or "" when the request is authentic.
type authFunc func(r *http.Request, body []byte) (reason string, err error)

// parser turns a verified body into alerts. A nil slice with no error is a
// valid event that raises nothing (acknowledged, ignored).
type parser func(body []byte) ([]workflows.Alert, error)

// Rejection reasons, as in the metrics.
const (
	reasonNoSecret      = "not_configured"
	reasonMissingCreds  = "missing_credentials"
	reasonBadToken      = "bad_token"
	reasonBadSignature  = "bad_signature"
	reasonTooLarge      = "too_large"
	reasonBadBody       = "bad_body"
	reasonInvalid       = "invalid_alert"
	reasonUnavailable   = "temporal_unavailable"
	reasonDeclareFailed = "declare_failed"
)

func (h *Handler) bearer(secret func() string) authFunc {
	return func(r *http.Request, _ []byte) (string, error) {
		want := secret()
		if want == "" {
			if h.auth.Insecure {
				return "", nil
			}
			return reasonNoSecret, errors.New("this source has no token configured; the intake refuses it (set its DATASEV_INTAKE_* secret)")
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			return reasonMissingCreds, errors.New("missing Authorization: Bearer token")
		}
		// Compare digests, so neither the content nor the length leaks.
		g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
		if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
			return reasonBadToken, errors.New("wrong bearer token")
		}
		return "", nil
	}
}

func (h *Handler) hmacAuth(secret func() string, verify func(r *http.Request, body []byte, key string) (string, error)) authFunc {
	return func(r *http.Request, body []byte) (string, error) {
		key := secret()
		if key == "" {
			if h.auth.Insecure {
				return "", nil
			}
			return reasonNoSecret, errors.New("this source has no signing secret configured; the intake refuses it (set its DATASEV_INTAKE_* secret)")
		}
		return verify(r, body, key)
	}
}

// Sign returns the hex HMAC-SHA256 of body under key, as dbt Cloud and
// PagerDuty compute it.
func Sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func hmacEqual(key string, body []byte, gotHex string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(gotHex))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// verifyDBTCloud checks dbt Cloud's Authorization header: the hex
// HMAC-SHA256 of the raw body keyed with the webhook's secret.
func verifyDBTCloud(r *http.Request, body []byte, key string) (string, error) {
	sig := r.Header.Get("Authorization")
	if sig == "" {
		return reasonMissingCreds, errors.New("missing Authorization signature")
	}
	if !hmacEqual(key, body, sig) {
		return reasonBadSignature, errors.New("bad signature")
	}
	return "", nil
}

// verifyPagerDuty checks X-PagerDuty-Signature: one or more comma-separated
// "v1=<hex HMAC-SHA256>" (several while a secret is rotated); one match is
// enough.
func verifyPagerDuty(r *http.Request, body []byte, key string) (string, error) {
	h := r.Header.Get("X-PagerDuty-Signature")
	if h == "" {
		return reasonMissingCreds, errors.New("missing X-PagerDuty-Signature")
	}
	ok := false
	for _, s := range strings.Split(h, ",") {
		if v, found := strings.CutPrefix(strings.TrimSpace(s), "v1="); found && hmacEqual(key, body, v) {
			ok = true // no early exit: the time does not say which matched
		}
	}
	if !ok {
		return reasonBadSignature, errors.New("bad signature")
	}
	return "", nil
}

// Result is one alert's outcome in the 202 answer.
type Result struct {
	ID      string `json:"id"`
	RunID   string `json:"run_id,omitempty"`
	Joined  bool   `json:"joined"`
	Ignored bool   `json:"ignored,omitempty"`
	AlertID string `json:"alert_id"`
	UIURL   string `json:"ui_url,omitempty"`
}

// Response is the 202 answer.
type Response struct {
	Incidents []Result `json:"incidents"`
}

func (h *Handler) source(src string, auth authFunc, parse parser) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() { h.metrics.request(src, rec.code) }()
		h.serve(rec, r, src, auth, parse)
	}
}

func (h *Handler) reject(w http.ResponseWriter, src, reason string, code int, err error) {
	h.metrics.rejection(src, reason)
	h.log.Info("intake: rejected", "source", src, "reason", reason, "code", code, "error", err)
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, src string, auth authFunc, parse parser) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.reject(w, src, reasonTooLarge, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", MaxBodyBytes))
			return
		}
		h.reject(w, src, reasonBadBody, http.StatusBadRequest, fmt.Errorf("reading body: %w", err))
		return
	}
	if reason, err := auth(r, body); reason != "" {
		h.reject(w, src, reason, http.StatusUnauthorized, err)
		return
	}
	alerts, err := parse(body)
	if err != nil {
		h.reject(w, src, reasonBadBody, http.StatusBadRequest, err)
		return
	}
	now := time.Now().UTC()
	for i := range alerts {
		alerts[i].ReceivedAt = now
		check := alerts[i]
		if err := check.Validate(); err != nil {
			prefix := ""
			if len(alerts) > 1 {
				prefix = fmt.Sprintf("alert %d: ", i)
			}
			h.reject(w, src, reasonInvalid, http.StatusBadRequest, fmt.Errorf("%sinvalid alert: %s", prefix, strings.ReplaceAll(err.Error(), "\n", "; ")))
			return
		}
	}
	resp := Response{Incidents: []Result{}}
	for _, a := range alerts {
		ctx, cancel := context.WithTimeout(r.Context(), h.opts.DeclareTimeout)
		d, err := incidents.Declare(ctx, h.c, incidents.DeclareRequest{
			Alert: a, Runbooks: h.set, Roster: h.roster, Options: h.opts.WorkflowOptions, Now: now, TaskQueue: h.opts.TaskQueue,
		})
		cancel()
		if err != nil {
			var ve *incidents.ValidationError
			if errors.As(err, &ve) {
				h.reject(w, src, reasonInvalid, http.StatusBadRequest, err)
				return
			}
			// Alerts already declared stay declared; the sender retries the
			// whole delivery and the alert IDs keep the retry from counting
			// them twice.
			h.log.Error("intake: declare failed", "source", src, "dedupe_key", a.DedupeKey, "error", err)
			var ue *incidents.UnreachableError
			if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
				h.reject(w, src, reasonUnavailable, http.StatusServiceUnavailable, fmt.Errorf("declaring %q: %w", a.DedupeKey, err))
			} else {
				h.reject(w, src, reasonDeclareFailed, http.StatusInternalServerError, fmt.Errorf("declaring %q: %w", a.DedupeKey, err))
			}
			return
		}
		res := Result{ID: d.WorkflowID, RunID: d.RunID, Joined: d.Joined, Ignored: d.Ignored, AlertID: d.AlertID}
		if h.opts.UIURL != "" && !d.Ignored {
			res.UIURL = devstack.WorkflowURL(h.opts.UIURL, h.opts.Namespace, d.WorkflowID, d.RunID)
		}
		switch {
		case d.Ignored:
			h.metrics.incident(src, "ignored")
		case d.Joined:
			h.metrics.incident(src, "joined")
		default:
			h.metrics.incident(src, "started")
		}
		h.log.Info("intake: alert", "source", src, "workflow_id", d.WorkflowID, "run_id", d.RunID, "joined", d.Joined, "ignored", d.Ignored, "status", a.Status)
		resp.Incidents = append(resp.Incidents, res)
	}
	writeJSON(w, http.StatusAccepted, resp)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
