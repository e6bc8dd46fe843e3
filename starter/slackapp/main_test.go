package slackapp

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datasev/datasev/worker/service/servicetest"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows/oncall"
)

// One dev server and one worker serve the whole package; -short runs the
// tests that need no Temporal.
var (
	srv *devstack.Server
	tc  client.Client
)

func TestMain(m *testing.M) {
	os.Exit(devstack.RunTests(m, func(s *devstack.Server) (func(), error) {
		srv, tc = s, s.Client()
		return servicetest.Start(tc, service.Config{}, nil)
	}))
}

func needTemporal(t *testing.T) {
	t.Helper()
	if tc == nil {
		t.Skip("needs the dev server (not with -short)")
	}
}

// Slack user IDs of the roster's people.
const (
	slackAlice   = "U0ALICE"
	slackBob     = "U0BOB"
	slackCarol   = "U0CAROL"
	slackErin    = "U0ERIN"
	slackNobody  = "U0NOBODY"
	signingKey   = "test-signing-secret"
	testTeamID   = "T0TEAM"
	otherChannel = "C0GENERAL"
)

// The keys of the tests: the Slack app's service key, which the roster
// trusts to vouch for Slack users, and erin's own, for acts she sends with
// the CLI.
var (
	appSigner  = newSigner(func(k ed25519.PrivateKey) *incidents.Signer { return incidents.NewServiceSigner(ServiceName, k) })
	erinSigner = newSigner(incidents.NewSigner)
)

func newSigner(f func(ed25519.PrivateKey) *incidents.Signer) *incidents.Signer {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	return f(k)
}

// testRoster has one 24-hour shift whose boundary is twelve hours away:
// alice commands, bob is secondary, carol scribes, dave liaises, erin is
// the SME. Its trust is the default (no deciding act unsigned) with the
// Slack app's key listed as service slack.
func testRoster(t testing.TB) oncall.Roster {
	t.Helper()
	at := fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)
	r := oncall.Roster{
		Team: "slack-team", TimeZone: "UTC",
		People: []oncall.Person{
			{ID: "alice", Name: "Alice", Slack: slackAlice}, {ID: "bob", Name: "Bob", Slack: slackBob},
			{ID: "carol", Slack: slackCarol}, {ID: "dave"}, {ID: "erin", Name: "Erin", Slack: slackErin, Keys: []string{erinSigner.PublicKey()}},
		},
		Shifts: []oncall.Shift{{Name: "all", Start: at, End: at, Commander: "alice", Secondary: "bob", Scribe: "carol", Liaison: "dave", SMEs: []string{"erin"}}},
		Trust:  oncall.Trust{Services: []oncall.Service{{Name: ServiceName, Key: appSigner.PublicKey(), Claims: []string{"slack"}}}},
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

// offlineClient is a lazy client to nowhere, for tests that never reach
// Temporal.
func offlineClient(t testing.TB) client.Client {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newTestHandler builds a handler against Temporal (or nowhere, with
// -short) and the Slack stand-in, signing with the app's key.
func newTestHandler(t testing.TB, slk *slackStandIn, tweak func(*Config)) *Handler {
	t.Helper()
	return newTestHandlerSigning(t, slk, appSigner, tweak)
}

// newTestHandlerSigning is newTestHandler with the signer given (nil: the
// app has no key).
func newTestHandlerSigning(t testing.TB, slk *slackStandIn, signer *incidents.Signer, tweak func(*Config)) *Handler {
	t.Helper()
	c := tc
	if c == nil {
		c = offlineClient(t)
	}
	cfg := Config{SigningSecret: signingKey, BotToken: botToken, APIURL: slk.APIURL(), AckWait: 20 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := New(cfg, Deps{Temporal: c, Roster: testRoster(t), Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

var seq atomic.Int64

// uniq returns a token no other test (or earlier run) uses.
func uniq() string { return fmt.Sprintf("%d-%d", time.Now().UnixNano()%1e9, seq.Add(1)) }

// sign returns Slack's headers for body signed at ts under secret.
func sign(secret string, ts time.Time, body []byte) map[string]string {
	s := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:", s)
	m.Write(body)
	return map[string]string{
		"X-Slack-Request-Timestamp": s,
		"X-Slack-Signature":         "v0=" + hex.EncodeToString(m.Sum(nil)),
	}
}

// slashForm is a slash command request body, as Slack sends it.
func slashForm(user, channel, text, trigger, responseURL string) []byte {
	v := url.Values{
		"token": {"deprecated"}, "team_id": {testTeamID}, "team_domain": {"acme"},
		"channel_id": {channel}, "channel_name": {"somewhere"}, "user_id": {user}, "user_name": {user},
		"command": {"/incident"}, "text": {text}, "api_app_id": {"A0APP"}, "is_enterprise_install": {"false"},
		"response_url": {responseURL}, "trigger_id": {trigger},
	}
	return []byte(v.Encode())
}

type answer struct {
	code int
	raw  string
	msg  map[string]any
}

func (a answer) text() string { s, _ := a.msg["text"].(string); return s }
func (a answer) responseType() string {
	s, _ := a.msg["response_type"].(string)
	return s
}

// post sends a request to the handler.
func post(t testing.TB, h http.Handler, path string, body []byte, hdr map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{code: rec.Code, raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.msg); err != nil {
			t.Fatalf("%d body %q: %v", rec.Code, a.raw, err)
		}
	}
	return a
}

// slash sends a signed /incident and returns the outcome: the immediate
// answer, or the message posted to the response_url after "working on it…".
func slash(t testing.TB, h http.Handler, slk *slackStandIn, user, channel, text, trigger string) answer {
	t.Helper()
	ru := slk.responseURL()
	body := slashForm(user, channel, text, trigger, ru)
	a := post(t, h, "/slack/commands", body, sign(signingKey, time.Now(), body))
	if a.code != http.StatusOK {
		t.Fatalf("/incident %s: %d %s", text, a.code, a.raw)
	}
	if strings.HasPrefix(a.text(), "working on it") {
		a = answer{code: a.code, msg: slk.waitPosted(t, ru, 1)[0]}
	}
	t.Logf("/incident %s → [%s] %s", text, a.responseType(), a.text())
	return a
}

// interactionForm is an interaction request body: the payload JSON in the
// form field "payload", as Slack posts it.
func interactionForm(payload []byte) []byte {
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
