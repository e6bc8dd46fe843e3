package slackapp

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		EnvSigningSecret + "_FILE": secretFile,
		EnvBotToken:                "xoxb-1",
		EnvAppToken:                "xapp-1",
		EnvAPIURL:                  "http://127.0.0.1:9/api",
	}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.SigningSecret != "from-file" || c.BotToken != "xoxb-1" || c.AppToken != "xapp-1" || c.apiURL() != "http://127.0.0.1:9/api/" {
		t.Fatalf("config %+v", c)
	}
	if !c.Enabled() {
		t.Fatal("not enabled")
	}
	for name, bad := range map[string]map[string]string{
		"both forms":       {EnvBotToken: "a", EnvBotToken + "_FILE": secretFile},
		"missing file":     {EnvSigningSecret + "_FILE": filepath.Join(dir, "nope")},
		"bot token as app": {EnvAppToken: "xoxb-1"},
		"api url":          {EnvAPIURL: "127.0.0.1:9"},
	} {
		if _, err := ConfigFromEnv(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if c, err := ConfigFromEnv(func(string) string { return "" }); err != nil || c.Enabled() {
		t.Fatalf("empty env: %+v %v", c, err)
	}
}

// TestUnknownUser: a Slack user who is not on the roster is told how to get
// added, and nothing is sent to Temporal (the offline client would fail).
func TestUnknownUser(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, nil)
	for _, text := range []string{"ack", "@some-key resolve", "declare Something broke sev2", "status"} {
		a := slash(t, h, slk, slackNobody, otherChannel, text, "trig-"+uniq())
		want := "you are not on the datasev roster (Slack user U0NOBODY): ask your admin to add `slack: U0NOBODY`"
		if a.text() != want || a.responseType() != "ephemeral" {
			t.Errorf("%q: %s %q", text, a.responseType(), a.text())
		}
	}
	if n := slk.infoCount(); n != 0 {
		t.Errorf("conversations.info called %d times for an unknown user", n)
	}
	// A click from an unknown user: an ephemeral reply, the buttons stay.
	ru := slk.responseURL()
	body := interactionForm(blockActions(slackNobody, "trig-"+uniq(), ru, slackact.ApproveActionID, `{"incident":"incident-x","approval":"a1"}`))
	if a := post(t, h, "/slack/interactions", body, sign(signingKey, time.Now(), body)); a.code != http.StatusOK {
		t.Fatalf("click: %d %s", a.code, a.raw)
	}
	got := slk.waitPosted(t, ru, 1)[0]
	if !strings.Contains(got["text"].(string), "not on the datasev roster (Slack user U0NOBODY)") || got["replace_original"] != false || got["response_type"] != "ephemeral" {
		t.Fatalf("click reply %v", got)
	}
}

func TestHelpUsageAndIncidentLookup(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, nil)
	a := slash(t, h, slk, slackAlice, otherChannel, "", "trig-"+uniq())
	if !strings.Contains(a.text(), "/incident declare <title> [sev1..sev5]") || a.responseType() != "ephemeral" {
		t.Fatalf("help: %v", a.msg)
	}
	a = slash(t, h, slk, slackAlice, otherChannel, "deny revert-1", "trig-"+uniq())
	if !strings.Contains(a.text(), "say why you deny it") || !strings.Contains(a.text(), "Usage: `/incident [@<incident>] deny <approval-id> <reason>`") {
		t.Fatalf("usage: %q", a.text())
	}
	// Not an incident channel: conversations.info says so.
	slk.setPurpose("C0PLAIN", "where we talk about lunch")
	a = slash(t, h, slk, slackAlice, "C0PLAIN", "ack", "trig-"+uniq())
	if !strings.Contains(a.text(), "not an incident's channel") || !strings.Contains(a.text(), "/incident @<incident id or dedupe key> ack") {
		t.Fatalf("plain channel: %q", a.text())
	}
	a = slash(t, h, slk, slackAlice, "C0MISSING", "status", "trig-"+uniq())
	if !strings.Contains(a.text(), "channel_not_found") || !strings.Contains(a.text(), "/incident @<incident id or dedupe key> status") {
		t.Fatalf("unknown channel: %q", a.text())
	}
	// Slack failing: the answer says what happened and how to go on.
	slk.Fail(slacktest.Fault{Method: "conversations.info", Error: "internal_error"})
	a = slash(t, h, slk, slackAlice, "C0OTHER", "ack", "trig-"+uniq())
	if !strings.Contains(a.text(), "could not read this channel's purpose") || !strings.Contains(a.text(), "internal_error") {
		t.Fatalf("Slack failing: %q", a.text())
	}
	if n := slk.infoCount(); n != 3 {
		t.Fatalf("conversations.info called %d times, want 3", n)
	}
	// Slack's certificate check is answered 200 with nothing.
	body := []byte("ssl_check=1&token=deprecated")
	if a := post(t, h, "/slack/commands", body, sign(signingKey, time.Now(), body)); a.code != http.StatusOK || a.raw != "" {
		t.Fatalf("ssl_check: %d %q", a.code, a.raw)
	}
	// Without a bot token the channel cannot be read: the answer says so.
	h2 := newTestHandler(t, slk, func(c *Config) { c.BotToken = "" })
	a = slash(t, h2, slk, slackAlice, "C0PLAIN", "ack", "trig-"+uniq())
	if !strings.Contains(a.text(), EnvBotToken) {
		t.Fatalf("no bot token: %q", a.text())
	}
	// A bad bot token: Slack's error is shown.
	h3 := newTestHandler(t, slk, func(c *Config) { c.BotToken = "xoxb-wrong" })
	a = slash(t, h3, slk, slackAlice, "C0PLAIN", "ack", "trig-"+uniq())
	if !strings.Contains(a.text(), "invalid_auth") {
		t.Fatalf("bad bot token: %q", a.text())
	}
}

func TestRequestLimits(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, nil)
	big := []byte("text=" + strings.Repeat("a", MaxBodyBytes))
	if a := post(t, h, "/slack/commands", big, sign(signingKey, time.Now(), big)); a.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("big body: %d", a.code)
	}
	body := []byte("payload=%7B")
	if a := post(t, h, "/slack/interactions", body, sign(signingKey, time.Now(), body)); a.code != http.StatusBadRequest {
		t.Fatalf("broken payload: %d %s", a.code, a.raw)
	}
	// A click on some other button is acknowledged and ignored.
	ru := slk.responseURL()
	body = interactionForm(blockActions(slackAlice, "t", ru, "other_button", `{}`))
	if a := post(t, h, "/slack/interactions", body, sign(signingKey, time.Now(), body)); a.code != http.StatusOK {
		t.Fatalf("other button: %d %s", a.code, a.raw)
	}
	h.Close()
	if got := slk.posted(ru); len(got) != 0 {
		t.Fatalf("other button got a reply: %v", got)
	}
	req, _ := http.NewRequest(http.MethodGet, "/slack/commands", nil)
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	if rec.code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.code)
	}
}

type recorder struct {
	header http.Header
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(code int)        { r.code = code }

// TestPauseAndResumeAuto: pause-auto and resume-auto reach the incident as
// the Commander's pause_auto and resume_auto acts, signed by the app for the
// Slack user; the workflow's checks answer (a second pause, a pause by
// someone who is not the Commander) and nothing else changes.
func TestPauseAndResumeAuto(t *testing.T) {
	needTemporal(t)
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, nil)
	id, key := declareForTrust(t)

	a := slash(t, h, slk, slackAlice, otherChannel, "@"+key+" resume-auto", "trig-"+uniq())
	if a.text() != "Not done: automatic approvals are not paused in "+id+"; nothing to resume" {
		t.Fatalf("resume before a pause: %v", a.msg)
	}
	a = slash(t, h, slk, slackBob, otherChannel, "@"+key+" pause-auto", "trig-"+uniq())
	if !strings.HasPrefix(a.text(), "Not done: only the Commander (alice) can pause automatic approvals") || a.responseType() != "ephemeral" {
		t.Fatalf("pause by bob: %v", a.msg)
	}
	a = slash(t, h, slk, slackAlice, otherChannel, "@"+key+" pause-auto the policy keeps retrying a bad fix", "trig-"+uniq())
	if a.text() != "Alice ("+id+"): automatic approvals paused" || a.responseType() != "in_channel" {
		t.Fatalf("pause: %v", a.msg)
	}
	a = slash(t, h, slk, slackAlice, otherChannel, "@"+key+" pause-auto", "trig-"+uniq())
	if !strings.HasPrefix(a.text(), "Not done: automatic approvals are already paused in "+id+" (by alice at ") {
		t.Fatalf("second pause: %v", a.msg)
	}
	a = slash(t, h, slk, slackAlice, otherChannel, "@"+key+" resume-auto fix is in", "trig-"+uniq())
	if a.text() != "Alice ("+id+"): automatic approvals resumed" || a.responseType() != "in_channel" {
		t.Fatalf("resume: %v", a.msg)
	}
	tl, err := incidents.Timeline(t.Context(), tc, id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tl {
		if e.Kind != workflows.KindAct {
			continue
		}
		if e.Who != "alice" || e.Via != Via || e.Verified != "slack:"+slackAlice+" via "+ServiceName {
			t.Errorf("act entry %+v: want alice via slack, vouched for by the app", e)
		}
		got = append(got, e.What+" | "+e.Why)
	}
	want := []string{
		"paused automatic approvals: every remediation asks a person until resume_auto | the policy keeps retrying a bad fix",
		"resumed automatic approvals by runbook policies | fix is in",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("acts in the timeline:\n%q\nwant\n%q", got, want)
	}
}
