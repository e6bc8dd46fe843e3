// Package core holds the core runbook actions, useful on their own before
// any integration: core.http checks an HTTP endpoint, core.page pages a
// person through the notifier, core.wait pauses the runbook on a durable
// timer.
//
// Each action is a spec (HTTPSpec, PageSpec, WaitSpec), an input struct and,
// unless it is a timer, a method with the signature actions.Typed takes. The
// actions package registers them; this package does not import it.
package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// HTTPName is core.http's action name.
const HTTPName = "core.http"

// Bounds of core.http.
const (
	// MaxBodyRead is how much of a response body is read and checked.
	MaxBodyRead = 1 << 20
	// MaxOutputBody bounds the body kept in the step's output (and so in
	// the workflow's history).
	MaxOutputBody = 16 << 10
	// DefaultHTTPTimeout bounds a request when the step gives no timeout.
	DefaultHTTPTimeout = 10 * time.Second
	// maxRedirects bounds the same-host redirects followed.
	maxRedirects = 10
)

// Error types of core.http's non-retryable errors.
const (
	// BadRequestType: the url, method or expect cannot work as written.
	BadRequestType = "BadRequest"
	// RedirectRefusedType: the server redirected to another host.
	RedirectRefusedType = "RedirectRefused"
)

// HTTPSpec is core.http's spec; actions.Typed adds its inputs from
// HTTPInput.
func HTTPSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: HTTPName,
		Description: "GET (or HEAD) a URL and check the answer: the status, and optionally a CEL condition " +
			"over status, body (parsed when the response is JSON) and headers. A failed check is not an error: " +
			"output ok is false, so a verify step can try again. Follows redirects only on the same host.",
		Outputs: []string{"status", "ok", "reason", "body", "truncated", "elapsed_ms"},
	}
}

// HTTPInput is core.http's inputs.
type HTTPInput struct {
	URL          string            `json:"url" datasev:"required" desc:"http or https URL to request; no credentials in it"`
	Method       string            `json:"method" desc:"GET (default) or HEAD"`
	ExpectStatus int               `json:"expect_status" desc:"the status the check expects (default 200)"`
	Expect       string            `json:"expect" desc:"CEL condition that must also hold, over status (int), body (parsed JSON, else a string) and headers (lower-case names), e.g. body.state == \"success\""`
	Timeout      runbooks.Duration `json:"timeout" desc:"bound on the request (default 10s)"`
}

// HTTP carries out core.http.
type HTTP struct {
	client  *http.Client
	targets *target.Policy
}

// NewHTTP returns core.http using a copy of c that follows redirects only
// on the same host and scheme (https never drops to http), and only to
// URLs the target policy allows. A nil c means a client with no timeout of
// its own beyond each step's.
//
// Every connection goes through a dialer whose Control checks the
// resolved address against targets (nil: no policy): loopback, link-local
// and cloud metadata addresses are refused unless
// targets.http.allow_addresses names them. The client's transport is
// copied (an *http.Transport's settings are kept; any other RoundTripper
// is replaced, since its connections could not be checked), and proxies
// are not used: a proxy would resolve the name where it cannot be checked.
func NewHTTP(c *http.Client, targets *target.Policy) *HTTP {
	var cc http.Client
	if c != nil {
		cc = *c
	}
	base, ok := cc.Transport.(*http.Transport)
	if !ok || base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	tr := base.Clone()
	tr.Proxy = nil
	tr.DialContext = targets.Dialer(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.DialTLSContext = nil
	tr.DialTLS = nil //nolint:staticcheck // cleared so that every connection goes through DialContext
	tr.Dial = nil    //nolint:staticcheck // as above
	cc.Transport = tr
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := sameHostRedirect(req, via); err != nil {
			return err
		}
		if err := targets.URL(req.URL); err != nil {
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) {
				err = errors.New(ae.Message())
			}
			return &redirectError{from: via[0].URL, to: req.URL, policy: err}
		}
		return nil
	}
	return &HTTP{client: &cc, targets: targets}
}

// redirectError is a redirect refused by sameHostRedirect, or by the
// target policy.
type redirectError struct {
	from, to *url.URL
	policy   error
}

func (e *redirectError) Error() string {
	if e.policy != nil {
		return fmt.Sprintf("refused redirect to %s: %v", e.to.Redacted(), e.policy)
	}
	return fmt.Sprintf("refused redirect from %s://%s to %s://%s: core.http follows redirects only on the same host; point url at the final address",
		e.from.Scheme, e.from.Host, e.to.Scheme, e.to.Host)
}

func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	from := via[0].URL
	if !strings.EqualFold(req.URL.Host, from.Host) || (req.URL.Scheme != from.Scheme && from.Scheme == "https") ||
		req.URL.User != nil {
		return &redirectError{from: from, to: req.URL}
	}
	return nil
}

// Check requests the URL and checks the answer.
func (h *HTTP) Check(ctx context.Context, _ runbooks.ActionRequest, in HTTPInput) (runbooks.ActionResult, error) {
	c, err := h.newCheck(in)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	r, err := h.fetch(ctx, c, in.URL)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	body, isJSON := parseBody(r.resp.Header.Get("Content-Type"), r.raw, r.truncated)

	ok, reason := true, ""
	if r.resp.StatusCode != c.want {
		ok, reason = false, fmt.Sprintf("status %d, want %d", r.resp.StatusCode, c.want)
	} else if c.prg != nil {
		ok, reason = evalExpect(ctx, c.prg, in.Expect, r.resp, body)
	}

	outBody, outTruncated := boundBody(body, isJSON, r.raw)
	out := map[string]any{
		"status":     r.resp.StatusCode,
		"ok":         ok,
		"body":       outBody,
		"truncated":  r.truncated || outTruncated,
		"elapsed_ms": r.elapsed.Milliseconds(),
	}
	verdict := "ok"
	if !ok {
		out["reason"] = reason
		verdict = "not ok: " + reason
	}
	res := runbooks.ActionResult{
		Output:  out,
		Summary: fmt.Sprintf("%s %s %s → %d %s (%s)", HTTPName, c.method, c.u.Redacted(), r.resp.StatusCode, verdict, roundMillis(r.elapsed)),
	}
	if !ok {
		res.Detail = detail(in, c.want, r.resp.StatusCode, reason, r.raw)
	}
	return res, nil
}

// httpCheck is core.http's inputs, checked and defaulted.
type httpCheck struct {
	method  string
	u       *url.URL
	want    int
	prg     cel.Program // nil without expect
	timeout time.Duration
}

// newCheck checks in (method, URL, expect_status, expect, then the target
// policy) and applies the defaults: GET, status 200, DefaultHTTPTimeout.
func (h *HTTP) newCheck(in HTTPInput) (httpCheck, error) {
	c := httpCheck{method: strings.ToUpper(strings.TrimSpace(in.Method))}
	if c.method == "" {
		c.method = http.MethodGet
	}
	if c.method != http.MethodGet && c.method != http.MethodHead {
		return c, badRequest("method %q: core.http only checks, with GET or HEAD", in.Method)
	}
	var err error
	if c.u, err = checkURL(in.URL); err != nil {
		return c, err
	}
	c.want = in.ExpectStatus
	if c.want == 0 {
		c.want = http.StatusOK
	}
	if c.want < 100 || c.want > 599 {
		return c, badRequest("expect_status %d: not an HTTP status", in.ExpectStatus)
	}
	if in.Expect != "" {
		if c.prg, err = compileExpect(in.Expect); err != nil {
			return c, badRequest("expect: %v", err)
		}
	}
	c.timeout = in.Timeout.Std()
	if c.timeout <= 0 {
		c.timeout = DefaultHTTPTimeout
	}
	if err := h.targets.URL(c.u); err != nil {
		return c, prefixErr(err)
	}
	return c, nil
}

// fetched is a response with its body read (at most MaxBodyRead bytes).
type fetched struct {
	resp      *http.Response // its body is read and closed
	raw       []byte
	truncated bool
	elapsed   time.Duration
}

// fetch sends the request, within the check's timeout, and reads the
// body. rawURL is the URL as the step wrote it, for errors.
func (h *HTTP) fetch(ctx context.Context, c httpCheck, rawURL string) (fetched, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, c.method, c.u.String(), nil)
	if err != nil {
		return fetched{}, badRequest("url %q: %v", rawURL, err)
	}
	req.Header.Set("User-Agent", "datasev core.http")
	req.Header.Set("Accept", "application/json, */*;q=0.5")
	start := time.Now()
	resp, err := h.client.Do(req)
	if err != nil {
		return fetched{}, requestError(c, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyRead+1))
	r := fetched{resp: resp, raw: raw, elapsed: time.Since(start)}
	if err != nil {
		return fetched{}, fmt.Errorf("%s %s %s: reading the body: %w", HTTPName, c.method, c.u.Redacted(), unwrapURLError(err))
	}
	if r.truncated = len(raw) > MaxBodyRead; r.truncated {
		r.raw = raw[:MaxBodyRead]
	}
	return r, nil
}

// requestError classifies a failed request: a refused redirect or address
// is not retried; transport errors (refused, reset, timed out) are.
func requestError(c httpCheck, err error) error {
	var re *redirectError
	if errors.As(err, &re) {
		typ := RedirectRefusedType
		if re.policy != nil {
			typ = target.RefusedType
		}
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s %s %s: %v", HTTPName, c.method, c.u.Redacted(), re), typ, nil)
	}
	if ae, ok := target.IsAddressError(err); ok {
		// Refused at dial time, before any byte was sent.
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s %s %s: %v", HTTPName, c.method, c.u.Redacted(), ae), target.RefusedType, nil)
	}
	// Transport errors (refused, reset, timed out) are retried.
	return fmt.Errorf("%s %s %s: %w", HTTPName, c.method, c.u.Redacted(), unwrapURLError(err))
}

// prefixErr puts the action's name in front of a policy refusal.
func prefixErr(err error) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return temporal.NewNonRetryableApplicationError(HTTPName+": "+ae.Message(), ae.Type(), nil)
	}
	return err
}

func badRequest(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(HTTPName+": "+fmt.Sprintf(format, args...), BadRequestType, nil)
}

func checkURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return nil, badRequest("url %q: %v", s, unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, badRequest("url %q: scheme %q; want http or https", s, u.Scheme)
	}
	if u.Host == "" {
		return nil, badRequest("url %q: no host", s)
	}
	if u.User != nil {
		return nil, badRequest("url %s: carries credentials; secrets never go into runbooks or workflow history", u.Redacted())
	}
	return u, nil
}

// unwrapURLError drops *url.Error's "Get \"…\":" prefix: callers name the
// URL themselves.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func roundMillis(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// isJSONType reports whether a Content-Type is JSON (application/json or
// any +json type).
func isJSONType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// parseBody parses a JSON response into maps, lists, strings, bools, nil,
// int64 (whole numbers) and float64; anything else, or a body cut short,
// is a string.
func parseBody(contentType string, raw []byte, truncated bool) (any, bool) {
	if !truncated && isJSONType(contentType) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil && dec.InputOffset() > 0 {
			if _, err := dec.Token(); err == io.EOF {
				return numbers(v), true
			}
		}
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD"), false
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// boundBody returns the body as the output keeps it: parsed JSON when it
// encodes within MaxOutputBody, else text cut to MaxOutputBody.
func boundBody(body any, isJSON bool, raw []byte) (any, bool) {
	if isJSON {
		if b, err := json.Marshal(body); err == nil && len(b) <= MaxOutputBody {
			return body, false
		}
		return cut(strings.ToValidUTF8(string(raw), "\uFFFD"), MaxOutputBody)
	}
	return cut(body.(string), MaxOutputBody)
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// detail is the Markdown shown in the timeline for a failed check.
func detail(in HTTPInput, want, got int, reason string, raw []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Check failed**: %s\n\n", reason)
	fmt.Fprintf(&b, "- expected status: %d (got %d)\n", want, got)
	if in.Expect != "" {
		fmt.Fprintf(&b, "- expect: `%s`\n", in.Expect)
	}
	if len(raw) > 0 {
		excerpt, more := cut(strings.ToValidUTF8(string(raw), "\uFFFD"), 1024)
		excerpt = strings.ReplaceAll(excerpt, "```", "`\u200b``")
		if more {
			excerpt += "\n…"
		}
		fmt.Fprintf(&b, "\nBody:\n```\n%s\n```\n", excerpt)
	}
	return b.String()
}

// expectEnv is the CEL environment of core.http's expect.
var expectEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("status", cel.IntType),
		cel.Variable("body", cel.DynType),
		cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
		ext.Strings(),
	)
})

// CompileExpect checks a core.http expect condition the way the action
// will compile it, so the runbook validator can refuse a bad one before it
// runs. The condition sees status (int), body (dyn) and headers
// (map(string, string), lower-case names) and must be a bool.
func CompileExpect(expr string) error {
	_, err := compileExpect(expr)
	return err
}

func compileExpect(expr string) (cel.Program, error) {
	env, err := expectEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if t := ast.OutputType(); !t.IsAssignableType(cel.BoolType) && t != cel.DynType {
		return nil, fmt.Errorf("%q is a %s, want a bool condition", expr, t)
	}
	return env.Program(ast,
		cel.CostLimit(10_000_000),
		cel.InterruptCheckFrequency(1000),
	)
}

// evalExpect evaluates expect. An error (a missing key in a body that has
// another shape, say) fails the check rather than the activity: the
// service may answer differently once it recovers.
func evalExpect(ctx context.Context, prg cel.Program, expr string, resp *http.Response, body any) (bool, string) {
	headers := make(map[string]string, len(resp.Header))
	for k, vs := range resp.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	val, _, err := prg.ContextEval(ctx, map[string]any{
		"status":  int64(resp.StatusCode),
		"body":    body,
		"headers": headers,
	})
	if err != nil {
		return false, fmt.Sprintf("expect %s: %v", expr, err)
	}
	b, isBool := val.Value().(bool)
	switch {
	case !isBool:
		return false, fmt.Sprintf("expect %s gave %v, not a bool", expr, val.Value())
	case !b:
		return false, fmt.Sprintf("expect %s is false", expr)
	}
	return true, ""
}
