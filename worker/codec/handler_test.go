package codec_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/datasev/datasev/worker/codec"
)

const (
	testToken = "codec-token-4f1e"
	uiOrigin  = "http://127.0.0.1:8233"
)

// codecServer serves Handler(kr, opts) on 127.0.0.1 and captures its log.
func codecServer(t *testing.T, kr *codec.Keyring, opts codec.HandlerOptions) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	srv := httptest.NewServer(codec.Handler(kr, opts))
	t.Cleanup(srv.Close)
	return srv, &logs
}

// remote is the SDK's remote codec client against srv, sending header
// lines as given.
func remote(srv *httptest.Server, headers map[string]string) converter.PayloadCodec {
	return converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL,
		Client:   *srv.Client(),
		ModifyRequest: func(r *http.Request) error {
			for k, v := range headers {
				r.Header.Set(k, v)
			}
			return nil
		},
	})
}

func post(t *testing.T, srv *httptest.Server, path string, headers map[string]string, body string) *http.Response {
	t.Helper()
	return do(t, srv, http.MethodPost, path, headers, body)
}

func do(t *testing.T, srv *httptest.Server, method, path string, headers map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func sealed(t *testing.T, kr *codec.Keyring, values ...any) []*commonpb.Payload {
	t.Helper()
	ps, err := codec.DataConverter(kr).ToPayloads(values...)
	if err != nil {
		t.Fatal(err)
	}
	return ps.Payloads
}

func TestHandlerDecodeRoundTripViaRemoteCodec(t *testing.T) {
	kr, _ := keyring(t, "k1")
	srv, _ := codecServer(t, kr, codec.HandlerOptions{AuthToken: testToken})
	rc := remote(srv, map[string]string{"Authorization": "Bearer " + testToken})

	enc := sealed(t, kr, "orders-etl failed", map[string]int{"rows": 42})
	dec, err := rc.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	var m map[string]int
	if err := converter.GetDefaultDataConverter().FromPayloads(&commonpb.Payloads{Payloads: dec}, &s, &m); err != nil {
		t.Fatal(err)
	}
	if s != "orders-etl failed" || m["rows"] != 42 {
		t.Fatalf("decoded %q %v", s, m)
	}

	// /encode: the UI encodes signal inputs it sends.
	plain, _ := converter.GetDefaultDataConverter().ToPayload("approve")
	renc, err := rc.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if string(renc[0].Metadata[codec.MetadataKeyID]) != "k1" {
		t.Fatalf("remote encode metadata %v", renc[0].Metadata)
	}
	back, err := codec.NewCodec(kr).Decode(renc)
	if err != nil || !proto.Equal(back[0], plain) {
		t.Fatalf("remote-encoded payload decodes to %v, %v", back, err)
	}

	// The CLI's --codec-endpoint may carry a path, e.g. /codec/{namespace}.
	prefixed := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec/default",
		Client:   *srv.Client(),
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+testToken)
			return nil
		},
	})
	if dec, err := prefixed.Decode(enc); err != nil || !proto.Equal(dec[0], mustDecode(t, kr, enc)[0]) {
		t.Fatalf("decode under a path prefix: %v", err)
	}

	// A payload sealed with a key the endpoint lacks: 400 naming the key.
	other, _ := keyring(t, "elsewhere")
	_, err = rc.Decode(sealed(t, other, "x"))
	if err == nil || !strings.Contains(err.Error(), `payload encrypted with key "elsewhere", which this keyring does not hold`) {
		t.Fatalf("err %v; want unknown key named", err)
	}
}

func TestHandlerRefusesWithoutTheToken(t *testing.T) {
	kr, _ := keyring(t, "k1")
	srv, logs := codecServer(t, kr, codec.HandlerOptions{AuthToken: testToken})
	body := `{"payloads":[]}`
	for name, auth := range map[string]string{
		"none":       "",
		"wrong":      "Bearer not-the-token",
		"prefix":     "Bearer " + testToken[:len(testToken)-1],
		"basic":      "Basic " + testToken,
		"bare token": testToken,
	} {
		t.Run(name, func(t *testing.T) {
			h := map[string]string{"Content-Type": "application/json"}
			if auth != "" {
				h["Authorization"] = auth
			}
			resp := post(t, srv, "/decode", h, body)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d; want 401", resp.StatusCode)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// The SDK's client sees the refusal as an error too.
	if _, err := remote(srv, nil).Decode(sealed(t, kr, "x")); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("remote codec without token: %v; want Unauthorized", err)
	}
	if strings.Contains(logs.String(), testToken) || strings.Contains(logs.String(), "not-the-token") {
		t.Fatalf("log shows a token: %s", logs)
	}
	resp := post(t, srv, "/decode", map[string]string{"Authorization": "bearer " + testToken}, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("right token (lower-case scheme): status %d; want 200", resp.StatusCode)
	}
}

func TestHandlerFailsClosedWithoutCredentials(t *testing.T) {
	kr, _ := keyring(t, "k1")
	srv, _ := codecServer(t, kr, codec.HandlerOptions{})
	if resp := post(t, srv, "/decode", nil, `{"payloads":[]}`); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no auth configured: status %d; want 401", resp.StatusCode)
	}
	open, _ := codecServer(t, kr, codec.HandlerOptions{AllowUnauthenticated: true})
	if _, err := remote(open, nil).Decode(sealed(t, kr, "x")); err != nil {
		t.Fatalf("AllowUnauthenticated: %v", err)
	}
}

func TestHandlerAuthorizeForwardedUIToken(t *testing.T) {
	kr, _ := keyring(t, "k1")
	var seen []string
	srv, _ := codecServer(t, kr, codec.HandlerOptions{
		AuthToken: testToken,
		Authorize: func(r *http.Request, bearer string) error {
			seen = append(seen, bearer)
			if bearer == "ui-user-access-token" {
				return nil
			}
			return errors.New("token not issued by our identity provider")
		},
	})
	if _, err := remote(srv, map[string]string{"Authorization": "Bearer ui-user-access-token"}).Decode(sealed(t, kr, "x")); err != nil {
		t.Fatalf("UI token: %v", err)
	}
	if _, err := remote(srv, map[string]string{"Authorization": "Bearer " + testToken}).Decode(sealed(t, kr, "x")); err != nil {
		t.Fatalf("static token alongside Authorize: %v", err)
	}
	if resp := post(t, srv, "/decode", map[string]string{"Authorization": "Bearer forged"}, `{"payloads":[]}`); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged token: status %d; want 401", resp.StatusCode)
	}
	if len(seen) != 2 || seen[0] != "ui-user-access-token" || seen[1] != "forged" {
		t.Fatalf("Authorize saw %q; want the UI token then the forged one (not the static token)", seen)
	}
}

func TestHandlerCORS(t *testing.T) {
	kr, _ := keyring(t, "k1")
	srv, _ := codecServer(t, kr, codec.HandlerOptions{AuthToken: testToken, AllowedOrigins: []string{uiOrigin + "/", "https://temporal.example.com"}})

	preflight := do(t, srv, http.MethodOptions, "/decode", map[string]string{
		"Origin":                         uiOrigin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "content-type,x-namespace,authorization",
	}, "")
	if preflight.StatusCode != http.StatusNoContent && preflight.StatusCode != http.StatusOK {
		t.Fatalf("preflight status %d; want 204 (no credentials needed)", preflight.StatusCode)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      uiOrigin,
		"Access-Control-Allow-Methods":     "POST",
		"Access-Control-Allow-Credentials": "true",
	}
	for k, v := range want {
		if got := preflight.Header.Get(k); got != v {
			t.Errorf("preflight %s = %q; want %q", k, got, v)
		}
	}
	allowed := strings.ToLower(preflight.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"content-type", "authorization", "x-namespace"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, h)
		}
	}

	// The actual request from the UI carries the origin back.
	resp := post(t, srv, "/decode", map[string]string{"Origin": uiOrigin, "Authorization": "Bearer " + testToken, "Content-Type": "application/json"}, `{"payloads":[]}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != uiOrigin {
		t.Fatalf("CORS POST: status %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	// A 401 is readable by the UI too (so it can say why).
	resp = post(t, srv, "/decode", map[string]string{"Origin": uiOrigin}, `{"payloads":[]}`)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != uiOrigin {
		t.Fatalf("CORS POST without token: status %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	for _, evil := range []string{"http://evil.example", "http://127.0.0.1:9999", "null"} {
		resp := do(t, srv, http.MethodOptions, "/decode", map[string]string{"Origin": evil, "Access-Control-Request-Method": "POST"}, "")
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from %s: status %d, ACAO %q; want 403 and none", evil, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		resp = post(t, srv, "/decode", map[string]string{"Origin": evil, "Authorization": "Bearer " + testToken}, `{"payloads":[]}`)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST from %s: status %d; want 403", evil, resp.StatusCode)
		}
	}
}

func TestHandlerNamespaceCheck(t *testing.T) {
	kr, _ := keyring(t, "k1")
	srv, _ := codecServer(t, kr, codec.HandlerOptions{AuthToken: testToken, Namespaces: []string{"datasev"}})
	auth := "Bearer " + testToken
	for ns, want := range map[string]int{"datasev": http.StatusOK, "other": http.StatusForbidden, "": http.StatusForbidden} {
		h := map[string]string{"Authorization": auth}
		if ns != "" {
			h["X-Namespace"] = ns
		}
		if resp := post(t, srv, "/decode", h, `{"payloads":[]}`); resp.StatusCode != want {
			t.Errorf("X-Namespace %q: status %d; want %d", ns, resp.StatusCode, want)
		}
	}
}

func TestHandlerMethodsLimitsAndNoKeyring(t *testing.T) {
	kr, _ := keyring(t, "k1")
	srv, _ := codecServer(t, kr, codec.HandlerOptions{AuthToken: testToken, MaxBodyBytes: 1024})
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	if resp := do(t, srv, http.MethodGet, "/decode", auth, ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d; want 405", resp.StatusCode)
	}
	if resp := post(t, srv, "/other", auth, `{"payloads":[]}`); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST /other: status %d; want 404", resp.StatusCode)
	}
	big := `{"payloads":[{"data":"` + strings.Repeat("A", 4096) + `"}]}`
	if resp := post(t, srv, "/decode", auth, big); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("oversized body: status %d; want 400", resp.StatusCode)
	}
	if resp := post(t, srv, "/decode", auth, `not json`); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad json: status %d; want 400", resp.StatusCode)
	}

	none, _ := codecServer(t, nil, codec.HandlerOptions{AuthToken: testToken})
	resp := post(t, none, "/decode", auth, `{"payloads":[]}`)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "not configured") {
		t.Fatalf("no keyring: status %d %q; want 503 not configured", resp.StatusCode, b)
	}
}

func TestHandlerOptionsFromEnv(t *testing.T) {
	tokFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(tokFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := codec.HandlerOptionsFromEnv(env(map[string]string{
		codec.EnvAuthTokenFile:        tokFile,
		codec.EnvCORSOrigins:          " http://127.0.0.1:8233, https://ui.example.com ",
		codec.EnvNamespaces:           "default,datasev",
		codec.EnvAllowUnauthenticated: "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if o.AuthToken != testToken || len(o.AllowedOrigins) != 2 || o.AllowedOrigins[1] != "https://ui.example.com" ||
		len(o.Namespaces) != 2 || o.AllowUnauthenticated {
		t.Fatalf("options %+v", o)
	}
	o, err = codec.HandlerOptionsFromEnv(env(map[string]string{codec.EnvAuthToken: testToken, codec.EnvAllowUnauthenticated: "true"}))
	if err != nil || o.AuthToken != testToken || !o.AllowUnauthenticated {
		t.Fatalf("options %+v, %v", o, err)
	}
	for name, m := range map[string]map[string]string{
		"both tokens":  {codec.EnvAuthToken: "a", codec.EnvAuthTokenFile: tokFile},
		"missing file": {codec.EnvAuthTokenFile: filepath.Join(t.TempDir(), "none")},
		"empty file":   {codec.EnvAuthTokenFile: writeFile(t, "\n")},
		"bad origin":   {codec.EnvCORSOrigins: "127.0.0.1:8233"},
		"origin path":  {codec.EnvCORSOrigins: "http://127.0.0.1:8233/ui"},
		"bad bool":     {codec.EnvAllowUnauthenticated: "yes please"},
	} {
		if _, err := codec.HandlerOptionsFromEnv(env(m)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func mustDecode(t *testing.T, kr *codec.Keyring, ps []*commonpb.Payload) []*commonpb.Payload {
	t.Helper()
	dec, err := codec.NewCodec(kr).Decode(ps)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}
