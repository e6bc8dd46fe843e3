package slackapp

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
)

// Tokens the stand-ins accept.
const (
	botToken = slacktest.Token
	appToken = "xapp-test-app"
)

// slackStandIn is Slack's side for these tests: the shared Web API
// stand-in (slacktest: conversations.info and the response_url sink) and,
// for Socket Mode, a local server speaking apps.connections.open (bearer
// app token, {"ok":true,"url":"ws://…"}) and the websocket, whose script a
// test supplies.
type slackStandIn struct {
	*slacktest.Server
	sock *httptest.Server

	mu       sync.Mutex
	next     int
	onSocket func(*websocket.Conn)
}

func newSlackStandIn(t testing.TB) *slackStandIn {
	t.Helper()
	s := &slackStandIn{Server: slacktest.New()}
	t.Cleanup(s.Server.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/apps.connections.open", s.connectionsOpen)
	mux.HandleFunc("GET /socket", s.socket)
	s.sock = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(s.sock.Close)
	return s
}

// SocketAPIURL is the Web API base of the Socket Mode server.
func (s *slackStandIn) SocketAPIURL() string { return s.sock.URL + "/api/" }

// setPurpose makes channel exist with this purpose.
func (s *slackStandIn) setPurpose(channel, purpose string) {
	s.AddChannel(slacktest.Channel{ID: channel, Name: "chan-" + strings.ToLower(channel), Purpose: purpose, Members: []string{slacktest.BotUserID}})
}

func (s *slackStandIn) infoCount() int { return s.Calls("conversations.info") }

// responseURL returns a fresh response_url.
func (s *slackStandIn) responseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return s.ResponseURL(fmt.Sprintf("r%d", s.next))
}

// posted returns the JSON bodies posted to a response_url so far.
func (s *slackStandIn) posted(responseURL string) []map[string]any {
	id := responseURL[strings.LastIndex(responseURL, "/")+1:]
	var out []map[string]any
	for _, p := range s.ResponseURLPosts() {
		if p.ID != id {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(p.Body, &m); err != nil {
			panic(err) // the sink accepts valid JSON only
		}
		out = append(out, m)
	}
	return out
}

// waitPosted waits until n messages were posted to responseURL.
func (s *slackStandIn) waitPosted(t testing.TB, responseURL string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := s.posted(responseURL)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d messages posted, want %d", responseURL, len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func apiJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// connectionsOpen is apps.connections.open: the app-level token as a
// bearer token, a ws:// URL on the same loopback server.
func (s *slackStandIn) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	if got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); got != appToken {
		apiJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	u, _ := url.Parse(s.sock.URL)
	apiJSON(w, map[string]any{"ok": true, "url": "ws://" + u.Host + "/socket?ticket=t1"})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *slackStandIn) socket(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("ticket") == "" {
		http.Error(w, "no ticket", http.StatusUnauthorized)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	s.mu.Lock()
	script := s.onSocket
	s.mu.Unlock()
	if script != nil {
		script(conn)
	}
}
