package slackapp

import (
	"net/http"
	"strings"
	"testing"
	"time"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

func TestVerify(t *testing.T) {
	// slack-go also checks the timestamp against the real clock, so the
	// requests are signed relative to it.
	now := time.Now()
	body := []byte("command=%2Fincident&text=ack")
	good := sign(signingKey, now, body)
	hdr := func(m map[string]string) http.Header {
		h := http.Header{}
		for k, v := range m {
			h.Set(k, v)
		}
		return h
	}
	with := func(m map[string]string, k, v string) http.Header {
		h := hdr(m)
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	tests := []struct {
		name   string
		h      http.Header
		body   []byte
		secret string
		want   string // substring of the reason; "" means authentic
	}{
		{"good", hdr(good), body, signingKey, ""},
		{"good, 4 minutes old", hdr(sign(signingKey, now.Add(-4*time.Minute), body)), body, signingKey, ""},
		{"good, 4 minutes ahead", hdr(sign(signingKey, now.Add(4*time.Minute), body)), body, signingKey, ""},
		{"wrong secret", hdr(sign("other-secret", now, body)), body, signingKey, "does not match"},
		{"body altered", hdr(good), []byte("command=%2Fincident&text=resolve"), signingKey, "does not match"},
		{"stale", hdr(sign(signingKey, now.Add(-6*time.Minute), body)), body, signingKey, "more than 5 minutes"},
		{"future", hdr(sign(signingKey, now.Add(6*time.Minute), body)), body, signingKey, "more than 5 minutes"},
		{"missing signature", with(good, "X-Slack-Signature", ""), body, signingKey, "missing X-Slack-Signature"},
		{"missing timestamp", with(good, "X-Slack-Request-Timestamp", ""), body, signingKey, "missing X-Slack-Signature or X-Slack-Request-Timestamp"},
		{"timestamp not a number", with(good, "X-Slack-Request-Timestamp", "yesterday"), body, signingKey, "not a Unix time"},
		{"signature without v0", with(good, "X-Slack-Signature", strings.TrimPrefix(good["X-Slack-Signature"], "v0=")), body, signingKey, "malformed"},
		{"signature not hex", with(good, "X-Slack-Signature", "v0=zz"), body, signingKey, "malformed"},
		{"no secret configured", hdr(good), body, "", "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, verify(tt.h, tt.body, tt.secret, now), tt.want)
		})
	}
}

func check(t *testing.T, got, want string) {
	t.Helper()
	if want == "" {
		if got != "" {
			t.Fatalf("refused: %s", got)
		}
		return
	}
	if !strings.Contains(got, want) {
		t.Fatalf("reason %q, want it to contain %q", got, want)
	}
}

// TestUnsignedRequestsChangeNothing sends every kind of badly signed
// request, for a command and for a button click, and checks each is 401
// with a clear body and that nothing reached the incident or Slack.
func TestUnsignedRequestsChangeNothing(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, nil)
	ctx := t.Context()

	key := "slack-unsigned-" + uniq()
	id := workflows.WorkflowID(key)
	if tc != nil {
		if _, err := incidents.Declare(ctx, tc, incidents.DeclareRequest{
			Alert:  workflows.Alert{Source: "test", Title: "unsigned", DedupeKey: key},
			Roster: testRoster(t),
		}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	ru := slk.responseURL()
	cmdBody := slashForm(slackAlice, otherChannel, "@"+key+" ack", "trig-"+uniq(), ru)
	clickBody := interactionForm(blockActions(slackAlice, "trig-"+uniq(), ru, slackact.ApproveActionID, `{"incident":"`+id+`","approval":"a1"}`))
	for _, body := range [][]byte{cmdBody, clickBody} {
		path := "/slack/commands"
		if &body[0] == &clickBody[0] {
			path = "/slack/interactions"
		}
		good := sign(signingKey, now, body)
		for name, hdr := range map[string]map[string]string{
			"bad signature":     sign("not-the-secret", now, body),
			"stale timestamp":   sign(signingKey, now.Add(-10*time.Minute), body),
			"future timestamp":  sign(signingKey, now.Add(10*time.Minute), body),
			"missing headers":   nil,
			"missing signature": {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]},
			"missing timestamp": {"X-Slack-Signature": good["X-Slack-Signature"]},
		} {
			a := post(t, h, path, body, hdr)
			if a.code != http.StatusUnauthorized {
				t.Errorf("%s %s: %d %s, want 401", path, name, a.code, a.raw)
				continue
			}
			if e, _ := a.msg["error"].(string); !strings.HasPrefix(e, "slack signature check failed: ") {
				t.Errorf("%s %s: body %s", path, name, a.raw)
			}
		}
	}
	// Altered after signing: the signature was for another text.
	signed := sign(signingKey, now, cmdBody)
	altered := slashForm(slackAlice, otherChannel, "@"+key+" resolve", "trig-"+uniq(), ru)
	if a := post(t, h, "/slack/commands", altered, signed); a.code != http.StatusUnauthorized {
		t.Errorf("altered body: %d %s", a.code, a.raw)
	}
	h.Close()
	if got := slk.posted(ru); len(got) != 0 {
		t.Fatalf("response_url got %v", got)
	}
	if tc == nil {
		return
	}
	st, err := incidents.Status(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != workflows.Triggered {
		t.Fatalf("state %s after unsigned requests, want triggered", st.State)
	}
	tl, err := incidents.Timeline(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tl {
		if e.Via == Via {
			t.Fatalf("timeline has a Slack entry: %+v", e)
		}
	}
	// The same request, signed, does act: the checks above could fail.
	a := post(t, h, "/slack/commands", cmdBody, sign(signingKey, time.Now(), cmdBody))
	if a.code != http.StatusOK || !strings.Contains(a.text(), "acknowledged") {
		t.Fatalf("signed ack: %d %s", a.code, a.raw)
	}
}
