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
)

// Tokens the stand-in accepts.
const (
	botToken = "xoxb-test-bot"
	appToken = "xapp-test-app"
)

// slackStandIn is a local server that follows the parts of Slack's contract
// the intake uses: the Web API's conversations.info and apps.connections.open
// (form or JSON POST, bearer token, {"ok":…} bodies), the response_url sink
// (POST /response/{id}, JSON message, 200 "ok"), and a Socket Mode websocket
// whose script a test supplies.
type slackStandIn struct {
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	purposes  map[string]string // channel ID → purpose
	infoCalls int
	responses map[string][]map[string]any // response id → posted messages
	next      int
	onSocket  func(*websocket.Conn)
}

func newSlackStandIn(t testing.TB) *slackStandIn {
	t.Helper()
	s := &slackStandIn{purposes: map[string]string{}, responses: map[string][]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/conversations.info", s.conversationsInfo)
	mux.HandleFunc("POST /api/apps.connections.open", s.connectionsOpen)
	mux.HandleFunc("POST /response/{id}", s.response)
	mux.HandleFunc("GET /socket", s.socket)
	s.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// APIURL is the Web API base for DATASEV_SLACK_API_URL.
func (s *slackStandIn) APIURL() string { return s.URL + "/api/" }

// setPurpose makes channel exist with this purpose.
func (s *slackStandIn) setPurpose(channel, purpose string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purposes[channel] = purpose
}

func (s *slackStandIn) infoCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.infoCalls
}

// responseURL returns a fresh response_url.
func (s *slackStandIn) responseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return fmt.Sprintf("%s/response/r%d", s.URL, s.next)
}

// posted returns what was posted to a response_url so far.
func (s *slackStandIn) posted(responseURL string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := responseURL[strings.LastIndex(responseURL, "/")+1:]
	return append([]map[string]any(nil), s.responses[id]...)
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

func bearerOK(r *http.Request, want string) bool {
	if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return got == want
	}
	return r.PostFormValue("token") == want
}

func apiJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *slackStandIn) conversationsInfo(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !bearerOK(r, botToken) {
		apiJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	ch := r.PostForm.Get("channel")
	s.mu.Lock()
	s.infoCalls++
	purpose, ok := s.purposes[ch]
	s.mu.Unlock()
	if ch == "" {
		apiJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	if !ok {
		apiJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	apiJSON(w, map[string]any{"ok": true, "channel": map[string]any{
		"id": ch, "name": "chan-" + strings.ToLower(ch), "is_channel": true,
		"purpose": map[string]any{"value": purpose, "creator": "U0BOT", "last_set": 1700000000},
		"topic":   map[string]any{"value": "", "creator": "", "last_set": 0},
	}})
}

func (s *slackStandIn) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	if !bearerOK(r, appToken) {
		apiJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	u, _ := url.Parse(s.URL)
	apiJSON(w, map[string]any{"ok": true, "url": "ws://" + u.Host + "/socket?ticket=t1"})
}

func (s *slackStandIn) response(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.responses[r.PathValue("id")] = append(s.responses[r.PathValue("id")], m)
	s.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
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
