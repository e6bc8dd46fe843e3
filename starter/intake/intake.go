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
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/datasev/datasev/activities/support/secret"
	"github.com/datasev/datasev/runbooks"
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
	// PagerDutyKeyFile is the intake's private key for signing the
	// acknowledgements made in PagerDuty (EnvPagerDutyKeyFile); "" for none.
	PagerDutyKeyFile string
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
	errs := secret.FromEnvAll(getenv,
		secret.Field{Name: EnvAlertmanagerToken, Dst: &a.AlertmanagerToken},
		secret.Field{Name: EnvGenericToken, Dst: &a.GenericToken},
		secret.Field{Name: EnvDBTCloudSecret, Dst: &a.DBTCloudSecret},
		secret.Field{Name: EnvPagerDutySecret, Dst: &a.PagerDutySecret},
	)
	a.PagerDutyKeyFile = strings.TrimSpace(getenv(EnvPagerDutyKeyFile))
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
	// Limits bound deliveries, new incidents and replays.
	Limits Limits
	// Now is the clock for the replay window and the rate limits; nil means
	// time.Now.
	Now func() time.Time
	// PagerDutySigner signs the acknowledgements made in PagerDuty as the
	// front door service "pagerduty" (see pagerduty_ack.go); nil loads
	// Auth.PagerDutyKeyFile, and without one they are sent unsigned.
	PagerDutySigner *incidents.Signer
}

// Handler is the intake's http.Handler.
type Handler struct {
	c        client.Client
	roster   oncall.Roster
	set      *runbooks.Set
	auth     Auth
	log      *slog.Logger
	opts     Options
	metrics  *Metrics
	mux      *http.ServeMux
	limiters *limiters
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Limits = opts.Limits.withDefaults()
	h := &Handler{c: c, roster: roster, set: set, auth: auth, log: logger, opts: opts, metrics: NewMetrics(), mux: http.NewServeMux(),
		limiters: &limiters{limits: opts.Limits, m: map[string]*rate.Limiter{}}}
	if err := h.setupPagerDutySigner(); err != nil {
		return nil, err
	}
	h.mux.HandleFunc("POST /alerts/alertmanager", h.source(SourceAlertmanager, h.bearer(func() string { return auth.AlertmanagerToken }), parseAlertmanager))
	h.mux.HandleFunc("POST /alerts/dbt-cloud", h.source(SourceDBTCloud, h.signed(func() string { return auth.DBTCloudSecret }, dbtSignatures), parseDBTCloud))
	h.mux.HandleFunc("POST /alerts/pagerduty", h.pagerDutySource(h.signed(func() string { return auth.PagerDutySecret }, pagerDutySignatures)))
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

// ready answers whether Temporal answers. /readyz needs no credentials, so
// the answer carries no error text (addresses, TLS or auth details); the
// log has it.
func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := h.c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		h.log.Warn("intake: readyz: Temporal health check failed", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "Temporal does not answer (see the intake's log)"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// rejection is why a request is refused: the reason for the metrics, the
// status code, and the message for the sender.
type rejection struct {
	reason string
	code   int
	err    error
}

func reject(reason string, code int, format string, args ...any) *rejection {
	return &rejection{reason: reason, code: code, err: fmt.Errorf(format, args...)}
}

// authCheck checks a request's credentials in two steps: head on the
// headers alone, before the body is read (a bearer token entirely; a
// signature header's presence and shape, returning its decoded digests),
// then body, for signed sources, over the raw body with those digests.
type authCheck struct {
	head func(r *http.Request) (digests [][]byte, rej *rejection)
	body func(digests [][]byte, body []byte) *rejection
}

// parsed is what a parser found in a verified body.
type parsed struct {
	// alerts to declare; none for a valid event that raises nothing
	// (acknowledged, ignored).
	alerts []workflows.Alert
	// signedField and signedAt are the payload's own timestamp, for the
	// replay window (dbt Cloud, PagerDuty); empty for other sources.
	signedField, signedAt string
	// amGroupKey is an Alertmanager delivery's groupKey, for runbooks that
	// group by it; empty for other sources. It is never an alert field, so
	// no other sender can claim an Alertmanager group.
	amGroupKey string
}

// parser turns a verified body into alerts.
type parser func(body []byte) (parsed, error)

// Rejection reasons, as in the metrics.
const (
	reasonNoSecret      = "not_configured"
	reasonMissingCreds  = "missing_credentials"
	reasonBadToken      = "bad_token"
	reasonBadSignature  = "bad_signature"
	reasonBadHeader     = "bad_header"
	reasonMediaType     = "unsupported_media_type"
	reasonTooLarge      = "too_large"
	reasonTooMany       = "too_many_alerts"
	reasonBadBody       = "bad_body"
	reasonStale         = "stale"
	reasonInvalid       = "invalid_alert"
	reasonThrottled     = "throttled"
	reasonUnavailable   = "temporal_unavailable"
	reasonDeclareFailed = "declare_failed"
)

func (h *Handler) bearer(secret func() string) authCheck {
	return authCheck{head: func(r *http.Request) ([][]byte, *rejection) {
		want := secret()
		if want == "" {
			if h.auth.Insecure {
				return nil, nil
			}
			return nil, reject(reasonNoSecret, http.StatusUnauthorized, "this source has no token configured; the intake refuses it (set its DATASEV_INTAKE_* secret)")
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			return nil, reject(reasonMissingCreds, http.StatusUnauthorized, "missing Authorization: Bearer token")
		}
		// Compare digests, so neither the content nor the length leaks.
		g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
		if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
			return nil, reject(reasonBadToken, http.StatusUnauthorized, "wrong bearer token")
		}
		return nil, nil
	}}
}

// signed checks an HMAC-SHA256 signature of the body: digests reads the
// candidate signatures from the headers (bounded, decoded, malformed ones
// skipped); the HMAC is computed once and compared with each in constant
// time.
func (h *Handler) signed(secret func() string, digests func(r *http.Request) ([][]byte, *rejection)) authCheck {
	return authCheck{
		head: func(r *http.Request) ([][]byte, *rejection) {
			if secret() == "" {
				if h.auth.Insecure {
					return nil, nil
				}
				return nil, reject(reasonNoSecret, http.StatusUnauthorized, "this source has no signing secret configured; the intake refuses it (set its DATASEV_INTAKE_* secret)")
			}
			return digests(r)
		},
		body: func(sigs [][]byte, body []byte) *rejection {
			key := secret()
			if key == "" {
				return nil // insecure, checked in head
			}
			m := hmac.New(sha256.New, []byte(key))
			m.Write(body)
			want := m.Sum(nil)
			ok := false
			for _, s := range sigs {
				if hmac.Equal(s, want) {
					ok = true // no early exit: the time does not say which matched
				}
			}
			if !ok {
				return reject(reasonBadSignature, http.StatusUnauthorized, "bad signature")
			}
			return nil
		},
	}
}

// Sign returns the hex HMAC-SHA256 of body under key, as dbt Cloud and
// PagerDuty compute it.
func Sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// decodeDigest decodes a hex HMAC-SHA256, or reports false.
func decodeDigest(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 2*sha256.Size {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// signatureHeader returns the signature header name, refusing a request
// without it (missing says so) or with more than MaxSignatureHeaderLen
// bytes of it.
func signatureHeader(r *http.Request, name, missing string) (string, *rejection) {
	h := r.Header.Get(name)
	switch {
	case h == "":
		return "", reject(reasonMissingCreds, http.StatusUnauthorized, "%s", missing)
	case len(h) > MaxSignatureHeaderLen:
		return "", reject(reasonBadHeader, http.StatusBadRequest, "%s: %d bytes, at most %d", name, len(h), MaxSignatureHeaderLen)
	}
	return h, nil
}

// dbtSignatures reads dbt Cloud's Authorization header: the hex
// HMAC-SHA256 of the raw body keyed with the webhook's secret.
func dbtSignatures(r *http.Request) ([][]byte, *rejection) {
	sig, rej := signatureHeader(r, "Authorization", "missing Authorization signature")
	if rej != nil {
		return nil, rej
	}
	d, ok := decodeDigest(sig)
	if !ok {
		return nil, reject(reasonBadSignature, http.StatusUnauthorized, "bad signature: Authorization is not a hex HMAC-SHA256 (%d hex digits)", 2*sha256.Size)
	}
	return [][]byte{d}, nil
}

// pagerDutySignatures reads X-PagerDuty-Signature: comma-separated
// "v1=<hex HMAC-SHA256>" (two while a secret is rotated). At most
// MaxSignatureHeaderLen bytes and MaxSignatures entries; entries of
// another scheme or not 64 hex digits are skipped.
func pagerDutySignatures(r *http.Request) ([][]byte, *rejection) {
	h, rej := signatureHeader(r, "X-PagerDuty-Signature", "missing X-PagerDuty-Signature")
	if rej != nil {
		return nil, rej
	}
	if n := strings.Count(h, ",") + 1; n > MaxSignatures {
		return nil, reject(reasonBadHeader, http.StatusBadRequest, "X-PagerDuty-Signature: %d entries, at most %d", n, MaxSignatures)
	}
	var out [][]byte
	for _, s := range strings.Split(h, ",") {
		if v, found := strings.CutPrefix(strings.TrimSpace(s), "v1="); found {
			if d, ok := decodeDigest(v); ok {
				out = append(out, d)
			}
		}
	}
	if len(out) == 0 {
		return nil, reject(reasonBadSignature, http.StatusUnauthorized, "bad signature: X-PagerDuty-Signature has no v1=<%d hex digits> entry", 2*sha256.Size)
	}
	return out, nil
}

// checkJSON requires a JSON media type: application/json, or any
// application/*+json.
func checkJSON(r *http.Request) *rejection {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return reject(reasonMediaType, http.StatusUnsupportedMediaType, "missing Content-Type: send application/json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return reject(reasonMediaType, http.StatusUnsupportedMediaType, "Content-Type %q: send application/json", truncate(ct, 64))
	}
	return nil
}

// Result is one alert's outcome in the 202 answer. An alert that went to
// an incident grouping several alerts carries its own key as member and
// the group; storm is true when it joined its source's alert storm
// incident (beyond the source's rate of new incidents, see Limits.Storm).
type Result struct {
	ID      string `json:"id"`
	RunID   string `json:"run_id,omitempty"`
	Joined  bool   `json:"joined"`
	Ignored bool   `json:"ignored,omitempty"`
	AlertID string `json:"alert_id"`
	UIURL   string `json:"ui_url,omitempty"`
	Member  string `json:"member,omitempty"`
	Group   string `json:"group,omitempty"`
	Storm   bool   `json:"storm,omitempty"`
}

// Response is the 202 answer.
type Response struct {
	Incidents []Result `json:"incidents"`
}

// Throttled is the 429 answer: what was done, and the dedupe keys of the
// alerts that would have opened new incidents beyond the source's rate.
type Throttled struct {
	Error     string   `json:"error"`
	Incidents []Result `json:"incidents"`
	Throttled []string `json:"throttled"`
}

func (h *Handler) source(src string, auth authCheck, parse parser) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() { h.metrics.request(src, rec.code) }()
		h.serve(rec, r, src, auth, parse)
	}
}

func (h *Handler) reject(w http.ResponseWriter, src string, rej *rejection) {
	h.metrics.rejection(src, rej.reason)
	h.log.Info("intake: rejected", "source", src, "reason", rej.reason, "code", rej.code, "error", rej.err)
	writeJSON(w, rej.code, map[string]string{"error": rej.err.Error()})
}

// serve answers one delivery. Order matters: the media type and the
// headers' credentials are checked before the body is read; the body is
// read (at most MaxBodyBytes), its signature checked, parsed, its signed
// timestamp checked against the replay window, the alert count and every
// alert checked; only then is anything declared.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, src string, auth authCheck, parse parser) {
	body, rej := readAuthenticated(w, r, auth)
	if rej != nil {
		h.reject(w, src, rej)
		return
	}
	h.serveBody(w, r, src, body, parse)
}

// serveBody answers a delivery whose body serve read and authenticated.
func (h *Handler) serveBody(w http.ResponseWriter, r *http.Request, src string, body []byte, parse parser) {
	p, err := parse(body)
	if err != nil {
		h.reject(w, src, &rejection{reasonBadBody, http.StatusBadRequest, err})
		return
	}
	now := h.opts.Now().UTC()
	if rej := h.checkParsed(p, now); rej != nil {
		h.reject(w, src, rej)
		return
	}
	d, rej := h.declareAll(r.Context(), src, p, now)
	if rej != nil {
		h.reject(w, src, rej)
		return
	}
	if len(d.throttled) > 0 {
		h.writeThrottled(w, src, d, len(p.alerts))
		return
	}
	writeJSON(w, http.StatusAccepted, d.resp)
}

// readAuthenticated checks the media type and the headers' credentials,
// then reads the body (at most MaxBodyBytes) and checks its signature.
func readAuthenticated(w http.ResponseWriter, r *http.Request, auth authCheck) ([]byte, *rejection) {
	if rej := checkJSON(r); rej != nil {
		return nil, rej
	}
	digests, rej := auth.head(r)
	if rej != nil {
		return nil, rej
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, reject(reasonTooLarge, http.StatusRequestEntityTooLarge, "body larger than %d bytes", MaxBodyBytes)
		}
		return nil, reject(reasonBadBody, http.StatusBadRequest, "reading body: %v", err)
	}
	if auth.body != nil {
		if rej := auth.body(digests, body); rej != nil {
			return nil, rej
		}
	}
	return body, nil
}

// checkParsed checks a parsed delivery before anything is declared: its
// signed timestamp against the replay window, the alert count and every
// alert (stamped received at now).
func (h *Handler) checkParsed(p parsed, now time.Time) *rejection {
	if p.signedField != "" {
		if err := checkFresh(p.signedField, p.signedAt, now, h.opts.Limits.ReplayWindow); err != nil {
			var se *staleError
			if errors.As(err, &se) {
				return &rejection{reasonStale, http.StatusUnauthorized, err}
			}
			return &rejection{reasonBadBody, http.StatusBadRequest, err}
		}
	}
	alerts := p.alerts
	if limit := h.opts.Limits.MaxAlerts; len(alerts) > limit {
		return reject(reasonTooMany, http.StatusRequestEntityTooLarge,
			"%d alerts in one delivery, at most %d (%s); nothing was declared — split the delivery (Alertmanager: max_alerts: %d)", len(alerts), limit, EnvMaxAlerts, limit)
	}
	for i := range alerts {
		alerts[i].ReceivedAt = now
		check := alerts[i]
		err := check.Validate()
		if err == nil {
			err = incidents.CheckAlert(check)
		}
		if err != nil {
			prefix := ""
			if len(alerts) > 1 {
				prefix = fmt.Sprintf("alert %d: ", i)
			}
			return reject(reasonInvalid, http.StatusBadRequest, "%sinvalid alert: %s", prefix, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	return nil
}

// declared is what declaring a delivery's alerts did: the incidents
// declared or joined, and the dedupe keys of those the source's rate held
// back, to retry after retryAfter.
type declared struct {
	resp       Response
	throttled  []string
	retryAfter time.Duration
}

// turnstile lets alert i of a delivery take its turn once every earlier
// alert has taken its own (been admitted, throttled, or declared without
// asking).
type turnstile struct {
	mu     sync.Mutex
	cond   *sync.Cond
	passed []bool
	next   int // every alert before next has passed
}

func newTurnstile(n int) *turnstile {
	t := &turnstile{passed: make([]bool, n)}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// wait blocks until every alert before i has passed.
func (t *turnstile) wait(i int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.next < i {
		t.cond.Wait()
	}
}

// pass marks alert i as past its turn; passing twice is harmless.
func (t *turnstile) pass(i int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.passed[i] = true
	for t.next < len(t.passed) && t.passed[t.next] {
		t.next++
	}
	t.cond.Broadcast()
}

// declareConcurrency bounds the alerts of one delivery declared at once:
// an Alertmanager group of 100 alerts is declared in about a tenth of the
// time it takes one by one, inside the sender's webhook timeout.
const declareConcurrency = 8

// declareAll declares a delivery's alerts, up to declareConcurrency at
// once; alerts bound for the same incident (the same dedupe key, or the
// same group) are declared one after another, in the delivery's order (a firing alert and its recovery keep their order),
// the rate of new incidents admits them in the delivery's order (the first
// ones open incidents, later ones are throttled or join the storm), and the
// answer lists them in the delivery's order. A throttled alert is
// left out and the others go on; any other failure stops the delivery
// (alerts already declared stay declared; the first failure in the
// delivery's order is the answer).
func (h *Handler) declareAll(ctx context.Context, src string, p parsed, now time.Time) (declared, *rejection) {
	out := declared{resp: Response{Incidents: []Result{}}}
	admit := h.limiters.admit(src, h.opts.Now)
	storm := ""
	if h.opts.Limits.Storm == StormJoin {
		storm = src
	}
	type outcome struct {
		d    incidents.Declared
		err  error
		done bool
	}
	results := make([]outcome, len(p.alerts))
	// One chain per incident the alerts would go to (a group's alerts
	// share one), in the order they first appear.
	var chains [][]int
	byKey := map[string]int{}
	for i, a := range p.alerts {
		key := incidents.IncidentKey(incidents.DeclareRequest{Alert: a, Runbooks: h.set, AlertmanagerGroupKey: p.amGroupKey})
		c, ok := byKey[key]
		if !ok {
			c = len(chains)
			byKey[key] = c
			chains = append(chains, nil)
		}
		chains[c] = append(chains[c], i)
	}
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	sem := make(chan struct{}, declareConcurrency)
	turns := newTurnstile(len(p.alerts))
	var wg sync.WaitGroup
	for _, chain := range chains {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, i := range chain {
				if cctx.Err() != nil {
					for _, j := range chain {
						turns.pass(j)
					}
					return
				}
				a := p.alerts[i]
				// Member and Group are Declare's to set; no sender chooses them.
				a.Member, a.Group = "", ""
				// Admission waits for every earlier alert's turn, without
				// holding a slot meanwhile.
				ordered := func() error {
					<-sem
					turns.wait(i)
					sem <- struct{}{}
					defer turns.pass(i)
					return admit()
				}
				dctx, cancel := context.WithTimeout(cctx, h.opts.DeclareTimeout)
				d, err := incidents.Declare(dctx, h.c, incidents.DeclareRequest{
					Alert: a, Runbooks: h.set, Roster: h.roster, Options: h.opts.WorkflowOptions, Now: now, TaskQueue: h.opts.TaskQueue,
					Admit: ordered, Storm: storm, AlertmanagerGroupKey: p.amGroupKey,
				})
				cancel()
				turns.pass(i)
				results[i] = outcome{d: d, err: err, done: true}
				var te *throttledError
				if err != nil && !errors.As(err, &te) {
					stop()
					for _, j := range chain {
						turns.pass(j)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, a := range p.alerts {
		r := results[i]
		if !r.done {
			continue // not tried: an earlier failure stopped the delivery
		}
		if r.err != nil {
			var te *throttledError
			if errors.As(r.err, &te) {
				// Nothing started for this alert; the others go on (joins
				// are never limited), and the answer says which to retry.
				h.metrics.incident(src, "throttled")
				out.throttled = append(out.throttled, a.DedupeKey)
				out.retryAfter = max(out.retryAfter, te.retryAfter)
				continue
			}
			if errors.Is(r.err, context.Canceled) && ctx.Err() == nil {
				continue // stopped by another alert's failure, reported below
			}
			return out, h.declareFailed(src, a, r.err)
		}
		out.resp.Incidents = append(out.resp.Incidents, h.declaredResult(src, a, r.d))
	}
	for i, a := range p.alerts {
		if r := results[i]; r.err != nil && errors.Is(r.err, context.Canceled) && ctx.Err() == nil {
			return out, h.declareFailed(src, a, r.err)
		}
	}
	return out, nil
}

// declareFailed is the rejection for a failed declaration other than a
// throttled one.
func (h *Handler) declareFailed(src string, a workflows.Alert, err error) *rejection {
	var ve *incidents.ValidationError
	if errors.As(err, &ve) {
		return &rejection{reasonInvalid, http.StatusBadRequest, err}
	}
	// Alerts already declared stay declared; the sender retries the
	// whole delivery and the alert IDs keep the retry from counting
	// them twice.
	h.log.Error("intake: declare failed", "source", src, "dedupe_key", a.DedupeKey, "error", err)
	var ue *incidents.UnreachableError
	if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
		return reject(reasonUnavailable, http.StatusServiceUnavailable, "declaring %q: %w", a.DedupeKey, err)
	}
	return reject(reasonDeclareFailed, http.StatusInternalServerError, "declaring %q: %w", a.DedupeKey, err)
}

// declaredResult counts and logs a declared alert and returns its answer.
func (h *Handler) declaredResult(src string, a workflows.Alert, d incidents.Declared) Result {
	res := Result{ID: d.WorkflowID, RunID: d.RunID, Joined: d.Joined, Ignored: d.Ignored, AlertID: d.AlertID,
		Member: d.Member, Group: d.Group, Storm: d.Storm}
	if h.opts.UIURL != "" && !d.Ignored {
		res.UIURL = incidents.WorkflowURL(h.opts.UIURL, h.opts.Namespace, d.WorkflowID, d.RunID)
	}
	switch {
	case d.Storm:
		h.metrics.incident(src, "storm")
	case d.Ignored:
		h.metrics.incident(src, "ignored")
	case d.Joined:
		h.metrics.incident(src, "joined")
	default:
		h.metrics.incident(src, "started")
	}
	h.log.Info("intake: alert", "source", src, "workflow_id", d.WorkflowID, "run_id", d.RunID, "joined", d.Joined, "ignored", d.Ignored, "storm", d.Storm, "status", a.Status)
	return res
}

// writeThrottled answers 429: what was declared, and which of the n
// alerts to retry when.
func (h *Handler) writeThrottled(w http.ResponseWriter, src string, d declared, n int) {
	l := h.opts.Limits
	msg := fmt.Sprintf("%d of %d alerts would open new incidents beyond the %s source's rate (%g a minute, burst %d; %s, %s); they were not declared, the others were: retry them after %ds",
		len(d.throttled), n, src, l.NewIncidentsPerMinute, l.NewIncidentBurst, EnvNewIncidentsPerMinute, EnvNewIncidentBurst, retryAfterSeconds(d.retryAfter))
	h.metrics.rejection(src, reasonThrottled)
	h.log.Warn("intake: throttled", "source", src, "throttled", len(d.throttled), "alerts", n, "retry_after", d.retryAfter)
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(d.retryAfter)))
	writeJSON(w, http.StatusTooManyRequests, Throttled{Error: msg, Incidents: d.resp.Incidents, Throttled: d.throttled})
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
