package slackapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// newEventsHandler is newTestHandler with the channel log's options and,
// when now is set, a clock.
func newEventsHandler(t testing.TB, slk *slackStandIn, opts EventOptions, now func() time.Time, tweak func(*Config)) *Handler {
	t.Helper()
	c := tc
	if c == nil {
		c = offlineClient(t)
	}
	cfg := Config{SigningSecret: signingKey, BotToken: botToken, APIURL: slk.APIURL(), AckWait: 20 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := New(cfg, Deps{Temporal: c, Roster: testRoster(t), Signer: appSigner, Events: opts, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// slackTS returns a message ts no other test uses.
func slackTS() string {
	return fmt.Sprintf("%d.%06d", time.Now().Unix(), seq.Add(1)%1e6)
}

// callback is an event_callback envelope around inner, as Slack sends it.
func callback(t testing.TB, eventID string, inner map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"token": "deprecated", "team_id": testTeamID, "api_app_id": "A0APP", "type": "event_callback",
		"event_id": eventID, "event_time": time.Now().Unix(), "event": inner,
		"authorizations": []map[string]any{{"team_id": testTeamID, "user_id": "U0DATASEVBOT", "is_bot": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// msgEvent is a message event in channel.
func msgEvent(channel, user, text, ts string) map[string]any {
	return map[string]any{"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts, "channel_type": "channel"}
}

// sendEvent posts a signed event and returns the status code.
func sendEvent(t testing.TB, h http.Handler, body []byte, hdr map[string]string) int {
	t.Helper()
	if hdr == nil {
		hdr = sign(signingKey, time.Now(), body)
	}
	hdr["Content-Type"] = "application/json"
	return post(t, h, "/slack/events", body, hdr).code
}

// The Events API route is signed and verified as the slash commands are:
// a bad signature, a stale timestamp or an oversized body is refused
// before anything is counted or queued; Slack's URL check is answered.
func TestEventsRefusedRequests(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newEventsHandler(t, slk, EventOptions{}, nil, nil)
	body := callback(t, "Ev-"+uniq(), msgEvent("C0EVREF", slackAlice, "hello", slackTS()))

	if code := sendEvent(t, h, body, sign("not-the-secret", time.Now(), body)); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d", code)
	}
	if code := sendEvent(t, h, body, sign(signingKey, time.Now().Add(-6*time.Minute), body)); code != http.StatusUnauthorized {
		t.Errorf("stale timestamp: %d", code)
	}
	tampered := []byte(strings.Replace(string(body), "hello", "HELLO", 1))
	if code := sendEvent(t, h, tampered, sign(signingKey, time.Now(), body)); code != http.StatusUnauthorized {
		t.Errorf("altered body: %d", code)
	}
	big := callback(t, "Ev-"+uniq(), msgEvent("C0EVREF", slackAlice, strings.Repeat("x", MaxEventBodyBytes), slackTS()))
	if code := sendEvent(t, h, big, nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", code)
	}
	h.waitEvents()
	if st := h.EventStats(); st != (EventStats{}) {
		t.Errorf("refused requests were counted: %+v", st)
	}
	if slk.infoCount() != 0 {
		t.Errorf("refused requests looked up %d channels", slk.infoCount())
	}

	check := []byte(`{"token":"deprecated","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	a := post(t, h, "/slack/events", check, sign(signingKey, time.Now(), check))
	if a.code != http.StatusOK || a.msg["challenge"] != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification: %d %s", a.code, a.raw)
	}
	if a := post(t, h, "/slack/events", check, nil); a.code != http.StatusUnauthorized {
		t.Errorf("unsigned url_verification: %d", a.code)
	}
}

// Bots (the app's own posts among them), other subtypes, unchanged edits
// and other reactions are ignored; a retried event_id is dropped; a
// channel that is no incident's is looked up once and then remembered.
// None of it reaches Temporal (the handler here has none).
func TestEventsIgnoredAndDuplicates(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newEventsHandler(t, slk, EventOptions{}, nil, nil)
	const ch = "C0NOTINC"
	slk.setPurpose(ch, "where the team chats")
	ts := slackTS()
	ignored := []map[string]any{
		{"type": "message", "channel": ch, "bot_id": "B0DATASEV", "text": "incident opened", "ts": slackTS()},
		{"type": "message", "subtype": "bot_message", "channel": ch, "username": "monitor", "text": "alert", "ts": slackTS()},
		{"type": "message", "channel": ch, "user": slackAlice, "app_id": "A0OTHER", "bot_id": "B0OTHER", "text": "posted by an app", "ts": slackTS()},
		{"type": "message", "subtype": "channel_join", "channel": ch, "user": slackAlice, "text": "<@U0ALICE> has joined the channel", "ts": slackTS()},
		{"type": "message", "subtype": "message_changed", "channel": ch, "ts": slackTS(),
			"message":          map[string]any{"type": "message", "user": slackAlice, "text": "see https://x", "ts": ts},
			"previous_message": map[string]any{"type": "message", "user": slackAlice, "text": "see https://x", "ts": ts}},
		{"type": "message", "subtype": "message_changed", "channel": ch, "ts": slackTS(),
			"message": map[string]any{"type": "message", "bot_id": "B0DATASEV", "text": "approved", "ts": ts, "edited": map[string]any{"ts": slackTS()}}},
		{"type": "reaction_added", "user": slackAlice, "reaction": "eyes", "item": map[string]any{"type": "message", "channel": ch, "ts": ts}},
		{"type": "reaction_added", "user": slackAlice, "reaction": "pushpin", "item": map[string]any{"type": "file", "file": "F0"}},
		{"type": "message", "channel": ch, "user": slackAlice, "text": "   ", "ts": slackTS()},
		{"type": "app_mention", "channel": ch, "user": slackAlice, "text": "<@U0DATASEVBOT> hi", "ts": slackTS()},
	}
	for i, ev := range ignored {
		if code := sendEvent(t, h, callback(t, "Ev-"+uniq(), ev), nil); code != http.StatusOK {
			t.Errorf("ignored event %d: %d", i, code)
		}
	}
	h.waitEvents()
	if st := h.EventStats(); st.Ignored != int64(len(ignored)) || st.UnknownChannel != 0 || slk.infoCount() != 0 {
		t.Fatalf("after %d ignored events: %+v, %d lookups", len(ignored), st, slk.infoCount())
	}

	// A person's message in a channel that is no incident's: looked up
	// once; Slack's retry of it is dropped by its event_id; another message
	// there is answered from the cache.
	id := "Ev-" + uniq()
	body := callback(t, id, msgEvent(ch, slackAlice, "lunch?", slackTS()))
	for i := range 3 {
		hdr := sign(signingKey, time.Now(), body)
		if i > 0 {
			hdr["X-Slack-Retry-Num"] = fmt.Sprint(i)
			hdr["X-Slack-Retry-Reason"] = "http_timeout"
		}
		if code := sendEvent(t, h, body, hdr); code != http.StatusOK {
			t.Fatalf("delivery %d: %d", i, code)
		}
	}
	if code := sendEvent(t, h, callback(t, "Ev-"+uniq(), msgEvent(ch, slackBob, "yes", slackTS())), nil); code != http.StatusOK {
		t.Fatal(code)
	}
	h.waitEvents()
	st := h.EventStats()
	if st.Duplicates != 2 || st.UnknownChannel != 2 || st.Recorded != 0 || st.Refused != 0 || slk.infoCount() != 1 {
		t.Fatalf("stats %+v, %d conversations.info calls; want 2 duplicates, 2 unknown-channel, 1 lookup", st, slk.infoCount())
	}
}

// Each channel's events are bounded by a token bucket: the excess is
// answered 200 at once (Slack must not retry it), counted and dropped; the
// bucket refills with time. Another channel has its own.
func TestEventsRateBound(t *testing.T) {
	slk := newSlackStandIn(t)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	h := newEventsHandler(t, slk, EventOptions{RatePerMinute: 6, Burst: 3}, now, nil)
	send := func(ch string) {
		t.Helper()
		body := callback(t, "Ev-"+uniq(), msgEvent(ch, slackAlice, "flood", slackTS()))
		if code := sendEvent(t, h, body, sign(signingKey, now(), body)); code != http.StatusOK {
			t.Fatalf("%s: %d", ch, code)
		}
	}
	for range 5 {
		send("C0FLOOD")
	}
	send("C0QUIET")
	h.waitEvents()
	if st := h.EventStats(); st.RateDropped != 2 || st.UnknownChannel != 4 {
		t.Fatalf("after 5 events in one channel and 1 in another (burst 3): %+v", st)
	}
	mu.Lock()
	clock = clock.Add(10 * time.Second) // one token at 6 a minute
	mu.Unlock()
	send("C0FLOOD")
	send("C0FLOOD")
	h.waitEvents()
	if st := h.EventStats(); st.RateDropped != 3 || st.UnknownChannel != 5 {
		t.Fatalf("after the refill: %+v", st)
	}
}

// A message longer than the bound is cut on a character boundary and
// marked.
func TestEventsTextBound(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newEventsHandler(t, slk, EventOptions{MaxText: 10}, nil, nil)
	raw, _ := json.Marshal(msgEvent("C0X", slackAlice, "ab&lt;cdéééééé", "1.2"))
	ce, why := h.classify(raw)
	if why != "" || ce.msg.Text != "ab<cdé…" || !ce.msg.Truncated || len(ce.msg.Text) > 10 {
		t.Fatalf("classify: %q %+v", why, ce.msg)
	}
	raw, _ = json.Marshal(msgEvent("C0X", slackAlice, strings.Repeat("x", 3*workflows.MaxTextLen), "1.2"))
	h = newEventsHandler(t, slk, EventOptions{}, nil, nil)
	if ce, _ := h.classify(raw); len(ce.msg.Text) > workflows.MaxTextLen || !ce.msg.Truncated {
		t.Fatalf("default bound: %d bytes", len(ce.msg.Text))
	}
}

// declareWithChannel opens an incident and gives it a channel whose
// purpose names it, as the notifier does.
func declareWithChannel(t *testing.T, slk *slackStandIn, channel string) string {
	t.Helper()
	key := "slack-events-" + uniq()
	if _, err := incidents.Declare(t.Context(), tc, incidents.DeclareRequest{
		Alert: workflows.Alert{Source: "test", Title: "orders late", DedupeKey: key}, Roster: testRoster(t),
	}); err != nil {
		t.Fatal(err)
	}
	id := workflows.WorkflowID(key)
	slk.setPurpose(channel, slackact.Purpose(id, "orders late"))
	return id
}

func channelLog(t *testing.T, id string) []workflows.TimelineEntry {
	t.Helper()
	tl, err := incidents.Timeline(t.Context(), tc, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []workflows.TimelineEntry
	for _, e := range tl {
		if e.Kind == workflows.KindChannel || e.Ref != "" {
			out = append(out, e)
		}
	}
	return out
}

// Signed events from an incident's channel reach its timeline: a person's
// message as theirs, vouched for by the app; a thread reply; someone off
// the roster by Slack ID; an edit; a pushpin makes the edited message a
// finding. Slack's retries and a second delivery under another event_id
// change nothing, and neither do forged events or bots.
func TestEventsReachTheTimeline(t *testing.T) {
	needTemporal(t)
	slk := newSlackStandIn(t)
	h := newEventsHandler(t, slk, EventOptions{}, nil, nil)
	const ch = "C0EVINC"
	id := declareWithChannel(t, slk, ch)

	ts1, ts2, ts3 := slackTS(), slackTS(), slackTS()
	first := callback(t, "Ev-"+uniq(), msgEvent(ch, slackAlice, "loads are 2h late &amp; counting", ts1))
	events := [][]byte{
		first,
		callback(t, "Ev-"+uniq(), map[string]any{"type": "message", "channel": ch, "user": slackErin, "text": "3 models downstream", "ts": ts2, "thread_ts": ts1}),
		callback(t, "Ev-"+uniq(), msgEvent(ch, slackNobody, "finance here: dashboard empty", ts3)),
		callback(t, "Ev-"+uniq(), map[string]any{"type": "message", "channel": ch, "bot_id": "B0DATASEV", "text": "incident document: …", "ts": slackTS()}),
		callback(t, "Ev-"+uniq(), map[string]any{"type": "message", "subtype": "message_changed", "channel": ch, "ts": slackTS(),
			"message":          map[string]any{"type": "message", "user": slackAlice, "text": "loads are 2h late: the landing files never came", "ts": ts1, "edited": map[string]any{"user": slackAlice, "ts": slackTS()}},
			"previous_message": map[string]any{"type": "message", "user": slackAlice, "text": "loads are 2h late &amp; counting", "ts": ts1}}),
	}
	for i, b := range events {
		if code := sendEvent(t, h, b, nil); code != http.StatusOK {
			t.Fatalf("event %d: %d", i, code)
		}
	}
	h.waitEvents()
	pin := callback(t, "Ev-"+uniq(), map[string]any{"type": "reaction_added", "user": slackErin, "reaction": "pushpin", "item_user": slackAlice,
		"item": map[string]any{"type": "message", "channel": ch, "ts": ts1}, "event_ts": slackTS()})
	if code := sendEvent(t, h, pin, nil); code != http.StatusOK {
		t.Fatalf("pin: %d", code)
	}
	h.waitEvents()

	log := channelLog(t, id)
	want := []struct{ who, what, verified string }{
		{"alice", "said: loads are 2h late & counting", "slack:U0ALICE via slack"},
		{"erin", "replied in thread: 3 models downstream", "slack:U0ERIN via slack"},
		{"slack:U0NOBODY", "said: finance here: dashboard empty", "slack:U0NOBODY via slack (not on the roster)"},
		{"alice", "edited: loads are 2h late: the landing files never came", "slack:U0ALICE via slack"},
		{"alice", "finding: loads are 2h late: the landing files never came", ""},
	}
	if len(log) != len(want) {
		t.Fatalf("channel log: %+v\nstats %+v", log, h.EventStats())
	}
	for i, w := range want {
		if e := log[i]; e.Who != w.who || e.What != w.what || e.Verified != w.verified || e.Via != Via {
			t.Errorf("entry %d: %+v, want %+v", i, e, w)
		}
	}
	st, err := incidents.Status(t.Context(), tc, id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.LastFindings); n == 0 || st.LastFindings[n-1] != "alice: loads are 2h late: the landing files never came" {
		t.Errorf("findings %q", st.LastFindings)
	}

	// Slack's retry (same event_id), the same message under a new
	// event_id, a forged event and a stale one: nothing changes.
	hdr := sign(signingKey, time.Now(), first)
	hdr["X-Slack-Retry-Num"] = "1"
	sendEvent(t, h, first, hdr)
	sendEvent(t, h, callback(t, "Ev-"+uniq(), msgEvent(ch, slackAlice, "loads are 2h late &amp; counting", ts1)), nil)
	forged := callback(t, "Ev-"+uniq(), msgEvent(ch, slackAlice, "resolve it, all fine", slackTS()))
	if code := sendEvent(t, h, forged, sign("guessed-secret", time.Now(), forged)); code != http.StatusUnauthorized {
		t.Errorf("forged: %d", code)
	}
	if code := sendEvent(t, h, forged, sign(signingKey, time.Now().Add(-10*time.Minute), forged)); code != http.StatusUnauthorized {
		t.Errorf("replayed: %d", code)
	}
	h.waitEvents()
	if again := channelLog(t, id); len(again) != len(want) {
		t.Errorf("after a retry, a redelivery and forged events: %d entries, want %d", len(again), len(want))
	}
	if s := h.EventStats(); s.Duplicates != 1 || s.Recorded != int64(len(want))+1 || s.Refused != 0 {
		t.Errorf("stats %+v", s)
	}
}

// Without the app's key the incident refuses the relayed messages: nothing
// is recorded.
func TestEventsNeedTheAppsKey(t *testing.T) {
	needTemporal(t)
	slk := newSlackStandIn(t)
	h, err := New(Config{SigningSecret: signingKey, BotToken: botToken, APIURL: slk.APIURL()}, Deps{Temporal: tc, Roster: testRoster(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	const ch = "C0EVNOKEY"
	id := declareWithChannel(t, slk, ch)
	if code := sendEvent(t, h, callback(t, "Ev-"+uniq(), msgEvent(ch, slackAlice, "unsigned", slackTS())), nil); code != http.StatusOK {
		t.Fatal(code)
	}
	h.waitEvents()
	if log := channelLog(t, id); len(log) != 0 || h.EventStats().Refused != 1 {
		t.Fatalf("unsigned relay recorded: %+v, %+v", log, h.EventStats())
	}
}

// Over Socket Mode, events_api envelopes are acknowledged at once and go
// the same way: with Temporal into the incident's timeline; without, to a
// channel that is no incident's.
func TestSocketModeEvents(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newEventsHandler(t, slk, EventOptions{}, nil, func(c *Config) { c.AppToken = appToken; c.SigningSecret = ""; c.APIURL = slk.SocketAPIURL() })
	const ch = "C0EVSOCK"
	var id string
	if tc != nil {
		id = declareWithChannel(t, slk, ch)
		// The Socket Mode stand-in serves no conversations.info (the HTTP
		// tests look channels up): remember the channel's incident.
		h.ev.cache[ch] = channelIncident{id: id, exp: time.Now().Add(time.Hour)}
	}
	var payload map[string]any
	if err := json.Unmarshal(callback(t, "Ev-"+uniq(), msgEvent(ch, slackCarol, "said over the socket", slackTS())), &payload); err != nil {
		t.Fatal(err)
	}
	var bot map[string]any
	if err := json.Unmarshal(callback(t, "Ev-"+uniq(), map[string]any{"type": "message", "channel": ch, "bot_id": "B0", "text": "bot", "ts": slackTS()}), &bot); err != nil {
		t.Fatal(err)
	}
	acks := make(chan map[string]any, 4)
	slk.mu.Lock()
	slk.onSocket = socketScript([]map[string]any{
		{"envelope_id": "env-ev1", "type": "events_api", "payload": payload, "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": ""},
		{"envelope_id": "env-ev2", "type": "events_api", "payload": bot, "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": ""},
	}, acks)
	slk.mu.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- h.RunSocketMode(ctx) }()
	for _, want := range []string{"env-ev1", "env-ev2"} {
		select {
		case a := <-acks:
			if a["envelope_id"] != want {
				t.Fatalf("ack %v, want %s", a, want)
			}
		case err := <-errc:
			t.Fatalf("RunSocketMode ended: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("no ack")
		}
	}
	// The ack goes before the event is handled: wait for both to be taken.
	deadline := time.Now().Add(30 * time.Second)
	for h.EventStats().Received < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	h.waitEvents()
	st := h.EventStats()
	if st.Received != 2 || st.Ignored != 1 {
		t.Fatalf("stats %+v", st)
	}
	if id == "" {
		if st.UnknownChannel != 1 {
			t.Fatalf("without Temporal: %+v", st)
		}
		return
	}
	log := channelLog(t, id)
	if len(log) != 1 || log[0].Who != "carol" || log[0].What != "said: said over the socket" || st.Recorded != 1 {
		t.Fatalf("channel log %+v, stats %+v", log, st)
	}
}

// The manifest subscribes to the events the channel log takes, at the
// route this handler serves, with the scopes they need.
func TestManifestEvents(t *testing.T) {
	b, err := os.ReadFile("manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				RequestURL string   `yaml:"request_url"`
				BotEvents  []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest.yaml: %v", err)
	}
	if u, err := url.Parse(m.Settings.Events.RequestURL); err != nil || u.Path != "/slack/events" {
		t.Errorf("event request_url %q: want …/slack/events", m.Settings.Events.RequestURL)
	}
	// message.channels needs channels:history, message.groups
	// groups:history, reaction_added reactions:read.
	for _, ev := range []string{"message.channels", "message.groups", "reaction_added"} {
		if !slices.Contains(m.Settings.Events.BotEvents, ev) {
			t.Errorf("bot events %v lack %s", m.Settings.Events.BotEvents, ev)
		}
	}
	for _, scope := range []string{"channels:history", "groups:history", "reactions:read"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("bot scopes %v lack %s", m.OAuth.Scopes.Bot, scope)
		}
	}
}
