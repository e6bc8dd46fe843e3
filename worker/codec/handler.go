package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/sdk/converter"

	"github.com/datasev/datasev/activities/support/secret"
)

// Environment variables HandlerOptionsFromEnv reads.
const (
	// EnvAuthToken is the bearer token codec clients (the CLI's
	// --codec-auth "Bearer …") must send.
	EnvAuthToken = "DATASEV_CODEC_AUTH_TOKEN"
	// EnvAuthTokenFile names a file holding the token instead.
	EnvAuthTokenFile = "DATASEV_CODEC_AUTH_TOKEN_FILE"
	// EnvCORSOrigins is a comma-separated list of browser origins allowed
	// to call the endpoint, e.g. http://127.0.0.1:8233 (the Temporal UI).
	EnvCORSOrigins = "DATASEV_CODEC_CORS_ORIGINS"
	// EnvNamespaces is a comma-separated list of namespaces whose payloads
	// the endpoint serves (checked against X-Namespace); unset for any.
	EnvNamespaces = "DATASEV_CODEC_NAMESPACES"
	// EnvAllowUnauthenticated, when true, serves requests without any
	// credentials: only for a loopback dev stack, where the dev server's
	// UI has no way to send a token.
	EnvAllowUnauthenticated = "DATASEV_CODEC_ALLOW_UNAUTHENTICATED"
)

// DefaultMaxBodyBytes bounds a request body when HandlerOptions leaves
// MaxBodyBytes at zero.
const DefaultMaxBodyBytes = 16 << 20

// HandlerOptions configures Handler. With neither AuthToken nor Authorize
// set and AllowUnauthenticated false, every request is refused (401).
type HandlerOptions struct {
	// AuthToken is the bearer token clients must send as
	// "Authorization: Bearer <token>"; compared in constant time.
	AuthToken string
	// Authorize, when set, is asked about requests that do not carry
	// AuthToken — e.g. to verify the access token the Temporal UI
	// forwards (codec.passAccessToken). bearer is the token after
	// "Bearer " ("" when absent); a nil error admits the request.
	Authorize func(r *http.Request, bearer string) error
	// AllowUnauthenticated admits requests without credentials when
	// neither AuthToken nor Authorize is set. Loopback dev stacks only.
	AllowUnauthenticated bool
	// AllowedOrigins are the browser origins (scheme://host:port) allowed
	// by CORS, e.g. the Temporal UI's http://127.0.0.1:8233. A request
	// with an Origin not listed is refused (403).
	AllowedOrigins []string
	// Namespaces, when not empty, are the only values of X-Namespace
	// served; requests without the header or with another are refused
	// (403).
	Namespaces []string
	// MaxBodyBytes bounds request bodies; 0 for DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger records refused requests (never tokens or payloads); nil
	// for slog.Default().
	Logger *slog.Logger
}

// HandlerOptionsFromEnv reads the DATASEV_CODEC_* handler variables through
// getenv. Authorize, MaxBodyBytes and Logger are left for the caller.
func HandlerOptionsFromEnv(getenv func(string) string) (HandlerOptions, error) {
	var o HandlerOptions
	tok, err := secret.FromEnv(getenv, EnvAuthToken)
	if err != nil {
		return o, err
	}
	o.AuthToken = strings.TrimSpace(tok)
	o.AllowedOrigins = splitList(getenv(EnvCORSOrigins))
	for _, origin := range o.AllowedOrigins {
		if _, err := normalizeOrigin(origin); err != nil {
			return o, fmt.Errorf("%s: %w", EnvCORSOrigins, err)
		}
	}
	o.Namespaces = splitList(getenv(EnvNamespaces))
	if v := getenv(EnvAllowUnauthenticated); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("%s=%q: want true or false", EnvAllowUnauthenticated, v)
		}
		o.AllowUnauthenticated = b
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// normalizeOrigin lower-cases an origin and drops a trailing slash; it must
// be scheme://host[:port] with no path.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(o), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port], e.g. http://127.0.0.1:8233", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Handler returns the codec HTTP endpoint: the SDK's remote codec handler
// (converter.NewPayloadCodecHTTPHandler: POST …/encode and …/decode with
// {"payloads":[...]}) over NewCodec(k), behind CORS, auth and namespace
// checks. CORS preflights (OPTIONS) from allowed origins are answered
// without credentials, as browsers send none. With a nil keyring every
// request gets 503.
func Handler(k *Keyring, opts HandlerOptions) http.Handler {
	h := &handler{opts: opts, log: opts.Logger, origins: map[string]bool{}}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.opts.MaxBodyBytes <= 0 {
		h.opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for _, o := range opts.AllowedOrigins {
		n, err := normalizeOrigin(o)
		if err != nil {
			h.log.Warn("codec endpoint: ignoring allowed origin", "err", err)
			continue
		}
		h.origins[n] = true
	}
	if opts.AuthToken != "" {
		sum := sha256.Sum256([]byte(opts.AuthToken))
		h.tokenSum = sum[:]
	}
	if k != nil {
		h.next = converter.NewPayloadCodecHTTPHandler(NewCodec(k))
	}
	if h.tokenSum == nil && opts.Authorize == nil && !opts.AllowUnauthenticated {
		h.log.Warn("codec endpoint: no auth token or authorizer configured; refusing every request (set " + EnvAuthToken + ")")
	}
	return h
}

type handler struct {
	opts     HandlerOptions
	log      *slog.Logger
	origins  map[string]bool
	tokenSum []byte // SHA-256 of the token: compared in constant time
	next     http.Handler
}

// allowHeaders are the request headers the Temporal UI and CLI send.
const allowHeaders = "Content-Type, Authorization, X-Namespace"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" {
		n, err := normalizeOrigin(origin)
		if err != nil || !h.origins[n] {
			h.refuse(w, r, http.StatusForbidden, "origin not allowed", "origin", origin)
			return
		}
		// The matching origin, never "*": the UI may send credentials.
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", allowHeaders)
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "codec endpoint: use POST /encode or POST /decode", http.StatusMethodNotAllowed)
		return
	}
	if err := h.authenticate(r); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="datasev-codec"`)
		h.refuse(w, r, http.StatusUnauthorized, err.Error())
		return
	}
	if len(h.opts.Namespaces) > 0 {
		ns := r.Header.Get("X-Namespace")
		if !slices.Contains(h.opts.Namespaces, ns) {
			h.refuse(w, r, http.StatusForbidden, "namespace not served", "namespace", ns)
			return
		}
	}
	if h.next == nil {
		http.Error(w, "codec endpoint: payload encryption is not configured (no keyring)", http.StatusServiceUnavailable)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	h.next.ServeHTTP(w, r)
}

// authenticate admits a request carrying the token, or one Authorize
// accepts, or any when unauthenticated access is allowed.
func (h *handler) authenticate(r *http.Request) error {
	bearer, hasBearer := bearerToken(r.Header.Get("Authorization"))
	if h.tokenSum != nil && hasBearer {
		sum := sha256.Sum256([]byte(bearer))
		if subtle.ConstantTimeCompare(sum[:], h.tokenSum) == 1 {
			return nil
		}
	}
	if h.opts.Authorize != nil {
		if err := h.opts.Authorize(r, bearer); err != nil {
			return fmt.Errorf("authorization refused: %w", err)
		}
		return nil
	}
	if h.tokenSum != nil {
		if !hasBearer {
			return errors.New("missing bearer token")
		}
		return errors.New("wrong bearer token")
	}
	if h.opts.AllowUnauthenticated {
		return nil
	}
	return errors.New("codec endpoint has no credentials configured")
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive.
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// refuse answers with status and logs why, without credentials.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason string, attrs ...any) {
	h.log.Warn("codec endpoint: refused request",
		append([]any{"status", status, "reason", reason, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr}, attrs...)...)
	http.Error(w, "codec endpoint: "+reason, status)
}
