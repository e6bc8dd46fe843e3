package slackapp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// socketScript plays Slack's side of a Socket Mode connection: hello, then
// each envelope in turn, reading the app's ack after each. It pings every
// 200 ms as Slack does, so the client sees a live connection.
func socketScript(envelopes []map[string]any, acks chan<- map[string]any) func(*websocket.Conn) {
	return func(conn *websocket.Conn) {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					_ = conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
				}
			}
		}()
		hello := map[string]any{"type": "hello", "num_connections": 1,
			"connection_info": map[string]any{"app_id": "A0APP"},
			"debug_info":      map[string]any{"host": "applink-test", "approximate_connection_time": 18060}}
		if err := conn.WriteJSON(hello); err != nil {
			return
		}
		for _, env := range envelopes {
			if err := conn.WriteJSON(env); err != nil {
				return
			}
			var ack map[string]any
			if err := conn.ReadJSON(&ack); err != nil {
				return
			}
			acks <- ack
		}
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}
}

func TestSocketMode(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, func(c *Config) { c.AppToken = appToken; c.SigningSecret = ""; c.APIURL = slk.SocketAPIURL() })

	// With Temporal, the command acts on a real incident; without, it asks
	// for help. Either way the answer comes back in the ack's payload.
	text, want := "help", "/incident declare <title>"
	var id string
	if tc != nil {
		key := "slack-socket-" + uniq()
		id = workflows.WorkflowID(key)
		if _, err := incidents.Declare(t.Context(), tc, incidents.DeclareRequest{
			Alert: workflows.Alert{Source: "test", Title: "socket", DedupeKey: key}, Roster: testRoster(t),
		}); err != nil {
			t.Fatal(err)
		}
		text, want = "@"+key+" note seen over the socket", "added"
	}
	cmdURL, clickURL := slk.responseURL(), slk.responseURL()
	cmd := map[string]any{
		"token": "deprecated", "team_id": testTeamID, "team_domain": "acme", "channel_id": otherChannel,
		"channel_name": "general", "user_id": slackCarol, "user_name": "carol", "command": "/incident",
		"text": text, "api_app_id": "A0APP", "is_enterprise_install": "false",
		"response_url": cmdURL, "trigger_id": "trig-sock-" + uniq(),
	}
	var click map[string]any
	if err := json.Unmarshal(blockActions(slackNobody, "trig-sock-click-"+uniq(), clickURL, slackact.DenyActionID, `{"incident":"incident-x","approval":"a1"}`), &click); err != nil {
		t.Fatal(err)
	}
	acks := make(chan map[string]any, 4)
	slk.mu.Lock()
	slk.onSocket = socketScript([]map[string]any{
		{"envelope_id": "env-cmd", "type": "slash_commands", "payload": cmd, "accepts_response_payload": true},
		{"envelope_id": "env-click", "type": "interactive", "payload": click, "accepts_response_payload": false},
	}, acks)
	slk.mu.Unlock()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- h.RunSocketMode(ctx) }()

	next := func() map[string]any {
		select {
		case a := <-acks:
			return a
		case err := <-errc:
			t.Fatalf("RunSocketMode ended: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("no ack")
		}
		return nil
	}
	ack := next()
	payload, _ := ack["payload"].(map[string]any)
	if ack["envelope_id"] != "env-cmd" || payload == nil || !strings.Contains(payload["text"].(string), want) {
		t.Fatalf("command ack %v, want text containing %q", ack, want)
	}
	ack = next()
	if ack["envelope_id"] != "env-click" || ack["payload"] != nil {
		t.Fatalf("click ack %v", ack)
	}
	got := slk.waitPosted(t, clickURL, 1)[0]
	if !strings.Contains(got["text"].(string), "not on the datasev roster (Slack user U0NOBODY)") || got["replace_original"] != false {
		t.Fatalf("click reply %v", got)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("RunSocketMode after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RunSocketMode did not stop")
	}
	if id != "" {
		tl, err := incidents.Timeline(t.Context(), tc, id)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range tl {
			found = found || (e.Via == Via && e.Who == "carol" && strings.Contains(e.What, "seen over the socket"))
		}
		if !found {
			t.Fatalf("no note via slack in %+v", tl)
		}
	}
}

func TestSocketModeBadToken(t *testing.T) {
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, func(c *Config) { c.AppToken = "xapp-wrong"; c.APIURL = slk.SocketAPIURL() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := h.RunSocketMode(ctx)
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("err = %v, want invalid_auth", err)
	}
	h2 := newTestHandler(t, slk, nil)
	if err := h2.RunSocketMode(ctx); err == nil || !strings.Contains(err.Error(), EnvAppToken) {
		t.Fatalf("no app token: %v", err)
	}
}
