// Package slacktest is an in-process stand-in for Slack's Web API, for tests
// and the one-command demo. It speaks the wire contract of the methods
// datasev uses (POST /api/<method> with form-encoded or JSON bodies, a bot
// token in the form or an Authorization: Bearer header, {"ok":true,...} and
// {"ok":false,"error":"..."} answers, cursor pagination, HTTP 429 with
// Retry-After), so that slack-go runs unmodified against it with
// slack.OptionAPIURL(server.URL + "/api/").
//
// Methods served: auth.test, conversations.create, conversations.list,
// conversations.info, conversations.join, conversations.invite,
// conversations.setPurpose, conversations.open, conversations.archive,
// conversations.unarchive, conversations.history (history.go),
// chat.postMessage, chat.update and users.info.
// It also serves POST /response/{id} as a response_url sink that records
// what is posted to it (ResponseURL, ResponseURLPosts).
//
// Beyond the API, the caller can seed users and channels, read back
// channels, members and messages (blocks decoded by slack-go), count calls
// per method and inject faults (rate limits, Slack errors, 5xx).
//
// It is a stand-in, never a production path: the worker talks to it only
// when it is configured with its address (see Env).
package slacktest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/datasev/datasev/activities/support/loopback"
)

// Identity of the stand-in's workspace and bot.
const (
	// Token is the one bot token the server accepts.
	Token = "xoxb-datasev-test-token"
	// TeamID is the workspace's ID.
	TeamID = "T0DATASEV"
	// BotUserID is the bot's user ID: the member auth.test names and the
	// creator of the channels it creates.
	BotUserID = "U0DATASEVBOT"
	// BotID is the bot's bot ID.
	BotID = "B0DATASEV"
)

// Environment variables Env sets; activities/notifiers/slack reads the same names.
const (
	EnvBotToken = "DATASEV_SLACK_BOT_TOKEN"
	EnvAPIURL   = "DATASEV_SLACK_API_URL"
)

// User is a workspace member.
type User struct {
	// ID is the user ID, e.g. U012ABC.
	ID string
	// Name is the handle.
	Name string
	// RealName is the display name.
	RealName string
	// Email is the profile email.
	Email string
	// IsBot marks bot users.
	IsBot bool
	// Deleted marks deactivated users.
	Deleted bool
}

// Channel is a conversation as the server holds it.
type Channel struct {
	// ID is the conversation ID (C… for channels, D… for DMs).
	ID string
	// Name is the channel's name; "" for DMs.
	Name string
	// IsPrivate marks private channels.
	IsPrivate bool
	// IsArchived marks archived channels.
	IsArchived bool
	// IsIM marks direct messages; User is the other party.
	IsIM bool
	// User is the DM's other party.
	User string
	// Creator is the user that created it.
	Creator string
	// Purpose is the channel's purpose.
	Purpose string
	// Members are the member user IDs, in the order they joined.
	Members []string
}

// Message is a message posted through chat.postMessage (and perhaps
// changed by chat.update).
type Message struct {
	// Channel is the conversation it was posted in.
	Channel string
	// TS is its timestamp, which identifies it within the channel.
	TS string
	// User is the poster (the bot).
	User string
	// Text is the text (the fallback when there are blocks).
	Text string
	// Blocks are its Block Kit blocks, decoded by slack-go.
	Blocks []slack.Block
	// RawBlocks is the blocks JSON exactly as posted; nil when none.
	RawBlocks json.RawMessage
	// Metadata is the metadata JSON as posted; nil when none.
	Metadata json.RawMessage
	// Params are all the parameters posted, as strings (JSON-valued
	// parameters as their JSON text).
	Params map[string]string
	// Edits counts the chat.update calls that changed it.
	Edits int
}

// ResponseURLPost is one JSON body posted to a response_url.
type ResponseURLPost struct {
	// ID is the {id} of the /response/{id} path.
	ID string
	// Body is the JSON posted.
	Body json.RawMessage
	// Text, ResponseType, ReplaceOriginal and DeleteOriginal are read from
	// the body.
	Text            string
	ResponseType    string
	ReplaceOriginal bool
	DeleteOriginal  bool
	// Blocks are the body's blocks, decoded by slack-go.
	Blocks []slack.Block
}

// Fault makes the server answer calls of a method with a failure instead
// of doing them.
type Fault struct {
	// Method is the Web API method, e.g. "chat.postMessage"; "" for all.
	Method string
	// Status is the HTTP status: 429 answers with Retry-After, 5xx with
	// an HTML body. 0 (or 200) answers 200 {"ok":false,"error":Error}.
	Status int
	// RetryAfter is the Retry-After of a 429, in whole seconds (default 1).
	RetryAfter time.Duration
	// Error is the Slack error code of a 200 failure, e.g. "invalid_auth".
	Error string
	// Needed is the scope a missing_scope failure names.
	Needed string
	// Times is how many calls fail; 0 means one.
	Times int
}

type channel struct {
	Channel
	created int64
}

// Server is a running Slack Web API stand-in.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port. The Web API lives under
	// URL + "/api/".
	URL string

	ln  net.Listener
	srv *http.Server

	mu        sync.Mutex
	token     string
	users     map[string]User
	channels  map[string]*channel
	order     []string // channel IDs, creation order
	ims       map[string]string
	messages  map[string][]*Message
	responses []ResponseURLPost
	calls     map[string]int
	faults    []Fault
	observers []func(Post)
	seq       int
	tsSeq     int64
	epoch     int64
}

// New starts a server on 127.0.0.1 on a free port. It panics when it
// cannot listen, as httptest.NewServer does.
func New() *Server {
	s, err := Start("")
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts a server on addr, a loopback host:port ("" for
// 127.0.0.1 on a free port).
func Start(addr string) (*Server, error) {
	ln, err := loopback.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("slacktest: %w", err)
	}
	s := &Server{
		URL:      "http://" + ln.Addr().String(),
		ln:       ln,
		token:    Token,
		users:    map[string]User{BotUserID: {ID: BotUserID, Name: "datasev", RealName: "datasev", IsBot: true}},
		channels: map[string]*channel{},
		ims:      map[string]string{},
		messages: map[string][]*Message{},
		calls:    map[string]int{},
		epoch:    time.Now().Unix(),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.serveAPI)
	mux.HandleFunc("GET /api/{method}", s.serveAPI)
	mux.HandleFunc("POST /response/{id}", s.serveResponseURL)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// APIURL is the base URL to give slack.OptionAPIURL: URL + "/api/".
func (s *Server) APIURL() string { return s.URL + "/api/" }

// Env returns the environment that points datasev's Slack backend at this
// server: the bot token and the API URL.
func (s *Server) Env() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{EnvBotToken: s.token, EnvAPIURL: s.APIURL()}
}

// AddUser seeds a workspace member.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddChannel seeds a channel (as if someone else, or an earlier run,
// created it) and returns its ID. c.ID may be empty; c.Members may name
// BotUserID to make the bot a member.
func (s *Server) AddChannel(c Channel) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.newID("C")
	}
	if c.Creator == "" {
		c.Creator = "U0SOMEONE"
	}
	c.Members = append([]string(nil), c.Members...)
	s.channels[c.ID] = &channel{Channel: c, created: s.epoch}
	s.order = append(s.order, c.ID)
	if c.IsIM {
		s.ims[c.User] = c.ID
	}
	return c.ID
}

// Fail makes the next calls of f.Method fail as f says.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// RateLimit makes the next times calls of method answer HTTP 429 with
// Retry-After: retryAfter.
func (s *Server) RateLimit(method string, retryAfter time.Duration, times int) {
	s.Fail(Fault{Method: method, Status: http.StatusTooManyRequests, RetryAfter: retryAfter, Times: times})
}

// Channels returns the channels (not DMs), in creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, id := range s.order {
		if c := s.channels[id]; !c.IsIM {
			out = append(out, c.copy())
		}
	}
	return out
}

// Channel returns one conversation by ID.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return c.copy(), true
}

// ChannelByName returns the channel named name.
func (s *Server) ChannelByName(name string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byName(name); c != nil {
		return c.copy(), true
	}
	return Channel{}, false
}

// IM returns the ID of the DM conversation with user, if one was opened.
func (s *Server) IM(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ims[user]
	return id, ok
}

// Members returns the member user IDs of a conversation.
func (s *Server) Members(channelID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelID]; ok {
		return append([]string(nil), c.Members...)
	}
	return nil
}

// Messages returns the messages of a conversation, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channelID]))
	for _, m := range s.messages[channelID] {
		cp := *m
		cp.Blocks = append([]slack.Block(nil), m.Blocks...)
		out = append(out, cp)
	}
	return out
}

// ResponseURL returns a response_url that records what is posted to it
// under id.
func (s *Server) ResponseURL(id string) string { return s.URL + "/response/" + url.PathEscape(id) }

// ResponseURLPosts returns the bodies posted to response URLs, in order.
func (s *Server) ResponseURLPosts() []ResponseURLPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ResponseURLPost(nil), s.responses...)
}

// Calls returns how many calls of method the server answered (faults
// included).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (c *channel) copy() Channel {
	cp := c.Channel
	cp.Members = append([]string(nil), c.Members...)
	return cp
}

func (c *channel) isMember(user string) bool {
	for _, m := range c.Members {
		if m == user {
			return true
		}
	}
	return false
}

func (s *Server) newID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%08X", prefix, s.seq)
}

func (s *Server) nextTS() string {
	s.tsSeq++
	return fmt.Sprintf("%d.%06d", s.epoch+s.tsSeq/1000000, s.tsSeq%1000000)
}

func (s *Server) byName(name string) *channel {
	for _, id := range s.order {
		if c := s.channels[id]; !c.IsIM && c.Name == name {
			return c
		}
	}
	return nil
}

// params are a call's parameters, from a form or a JSON object.
type params map[string]string

func readParams(r *http.Request) (params, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	p := params{}
	if r.Method == http.MethodGet {
		for k, v := range r.URL.Query() {
			p[k] = v[0]
		}
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	switch ct {
	case "application/json":
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, err
		}
		for k, raw := range obj {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				p[k] = s
			} else {
				p[k] = string(raw)
			}
		}
	default:
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range vals {
			p[k] = v[0]
		}
	}
	for k, v := range r.URL.Query() {
		if _, ok := p[k]; !ok {
			p[k] = v[0]
		}
	}
	return p, nil
}

type obj = map[string]any

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// slackErr is a method's failure: {"ok":false,"error":code} plus extras.
type slackErr struct {
	code  string
	extra obj
}

func (e *slackErr) Error() string { return e.code }

func fail(code string) *slackErr { return &slackErr{code: code} }

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	p, err := readParams(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	if f, ok := s.takeFault(method); ok {
		switch {
		case f.Status == http.StatusTooManyRequests:
			secs := int(f.RetryAfter / time.Second)
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeJSON(w, http.StatusTooManyRequests, obj{"ok": false, "error": "ratelimited"})
		case f.Status >= 500:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, "<html><body>Slack is having trouble</body></html>")
		default:
			resp := obj{"ok": false, "error": f.Error}
			if f.Needed != "" {
				resp["needed"] = f.Needed
				resp["provided"] = "chat:write"
			}
			writeJSON(w, http.StatusOK, resp)
		}
		return
	}
	if err != nil {
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := p["token"]
	if h := r.Header.Get("Authorization"); h != "" {
		bearer, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			writeJSON(w, http.StatusOK, obj{"ok": false, "error": "invalid_auth"})
			return
		}
		token = bearer
	}
	switch {
	case token == "":
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": "not_authed"})
		return
	case token != s.token:
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": "invalid_auth"})
		return
	}
	h, ok := s.handlers()[method]
	if !ok {
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": "unknown_method"})
		return
	}
	resp, herr := h(p)
	if herr != nil {
		var se *slackErr
		if !errors.As(herr, &se) {
			se = fail("internal_error")
		}
		out := obj{"ok": false, "error": se.code}
		for k, v := range se.extra {
			out[k] = v
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if resp == nil {
		resp = obj{}
	}
	resp["ok"] = true
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) takeFault(method string) (Fault, bool) {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Method != "" && f.Method != method {
			continue
		}
		got := *f
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return got, true
	}
	return Fault{}, false
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil || !json.Valid(body) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	var msg struct {
		Text            string          `json:"text"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
		Blocks          json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	post := ResponseURLPost{
		ID: r.PathValue("id"), Body: body, Text: msg.Text, ResponseType: msg.ResponseType,
		ReplaceOriginal: msg.ReplaceOriginal, DeleteOriginal: msg.DeleteOriginal,
	}
	if len(msg.Blocks) > 0 && string(msg.Blocks) != "null" {
		var bl slack.Blocks
		if err := json.Unmarshal(msg.Blocks, &bl); err != nil {
			http.Error(w, "invalid_blocks", http.StatusBadRequest)
			return
		}
		post.Blocks = bl.BlockSet
	}
	s.mu.Lock()
	s.responses = append(s.responses, post)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, obj{"ok": true})
}

type handler func(p params) (obj, error)

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"auth.test":                s.authTest,
		"conversations.create":     s.create,
		"conversations.list":       s.list,
		"conversations.info":       s.info,
		"conversations.join":       s.join,
		"conversations.invite":     s.invite,
		"conversations.setPurpose": s.setPurpose,
		"conversations.open":       s.open,
		"conversations.archive":    s.archive,
		"conversations.unarchive":  s.unarchive,
		"conversations.history":    s.history,
		"chat.postMessage":         s.postMessage,
		"chat.update":              s.update,
		"users.info":               s.userInfo,
	}
}

func (s *Server) authTest(params) (obj, error) {
	return obj{
		"url": "https://datasev-test.slack.com/", "team": "datasev test", "user": "datasev",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID,
	}, nil
}

// channelJSON is a conversation as Slack's conversation object, seen by
// the bot.
func (c *channel) json() obj {
	o := obj{
		"id": c.ID, "created": c.created, "is_archived": c.IsArchived,
		"is_private": c.IsPrivate, "is_im": c.IsIM, "is_member": c.isMember(BotUserID),
		"context_team_id": TeamID,
	}
	if c.IsIM {
		o["user"] = c.User
		o["is_open"] = true
		return o
	}
	o["name"] = c.Name
	o["name_normalized"] = c.Name
	o["is_channel"] = !c.IsPrivate
	o["is_group"] = c.IsPrivate
	o["creator"] = c.Creator
	o["num_members"] = len(c.Members)
	o["purpose"] = obj{"value": c.Purpose, "creator": c.Creator, "last_set": c.created}
	o["topic"] = obj{"value": "", "creator": "", "last_set": 0}
	return o
}

// validateName applies Slack's channel name rules.
func validateName(name string) error {
	if name == "" {
		return fail("invalid_name_required")
	}
	if len(name) > 80 {
		return fail("invalid_name_maxlength")
	}
	punct := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			punct = false
		case r == '-' || r == '_':
		default:
			return fail("invalid_name_specials")
		}
	}
	if punct {
		return fail("invalid_name_punctuation")
	}
	return nil
}

func (s *Server) create(p params) (obj, error) {
	name := p["name"]
	if err := validateName(name); err != nil {
		return nil, err
	}
	if s.byName(name) != nil {
		return nil, fail("name_taken")
	}
	c := &channel{Channel: Channel{
		ID: s.newID("C"), Name: name, IsPrivate: p["is_private"] == "true",
		Creator: BotUserID, Members: []string{BotUserID},
	}, created: s.epoch + int64(s.seq)}
	s.channels[c.ID] = c
	s.order = append(s.order, c.ID)
	return obj{"channel": c.json()}, nil
}

// visible reports whether the bot can see a conversation: public channels
// always, private channels and DMs only as a member.
func (c *channel) visible() bool {
	return !(c.IsPrivate || c.IsIM) || c.isMember(BotUserID)
}

func (s *Server) list(p params) (obj, error) {
	types := map[string]bool{}
	for _, t := range strings.Split(p["types"], ",") {
		if t = strings.TrimSpace(t); t != "" {
			types[t] = true
		}
	}
	if len(types) == 0 {
		types["public_channel"] = true
	}
	for t := range types {
		switch t {
		case "public_channel", "private_channel", "im", "mpim":
		default:
			return nil, fail("invalid_types")
		}
	}
	limit, start, err := page(p, "offset:", 1000)
	if err != nil {
		return nil, err
	}
	excl := p["exclude_archived"] == "true" || p["exclude_archived"] == "1"
	var matched []*channel
	for _, id := range s.order {
		c := s.channels[id]
		kind := "public_channel"
		switch {
		case c.IsIM:
			kind = "im"
		case c.IsPrivate:
			kind = "private_channel"
		}
		if !types[kind] || !c.visible() || (excl && c.IsArchived) {
			continue
		}
		matched = append(matched, c)
	}
	if start > len(matched) {
		start = len(matched)
	}
	end := min(start+limit, len(matched))
	chans := make([]obj, 0, end-start)
	for _, c := range matched[start:end] {
		chans = append(chans, c.json())
	}
	next := ""
	if end < len(matched) {
		next = cursor("offset:", end)
	}
	return obj{"channels": chans, "response_metadata": obj{"next_cursor": next}}, nil
}

// page reads a paginated method's limit (default 100, at most max) and
// cursor (an offset after prefix, in base64, as cursor writes it), refusing
// them with invalid_limit and invalid_cursor as Slack does.
func page(p params, prefix string, max int) (limit, start int, err error) {
	limit = 100
	if v := p["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fail("invalid_limit")
		}
		if n > 0 {
			limit = min(n, max)
		}
	}
	if cur := p["cursor"]; cur != "" {
		raw, err := base64.StdEncoding.DecodeString(cur)
		n, ok := strings.CutPrefix(string(raw), prefix)
		off, err2 := strconv.Atoi(n)
		if err != nil || !ok || err2 != nil || off < 0 {
			return 0, 0, fail("invalid_cursor")
		}
		start = off
	}
	return limit, start, nil
}

// cursor is the next_cursor of a page that ends before offset end.
func cursor(prefix string, end int) string {
	return base64.StdEncoding.EncodeToString([]byte(prefix + strconv.Itoa(end)))
}

// lookup finds a conversation the bot can see.
func (s *Server) lookup(id string) (*channel, error) {
	c, ok := s.channels[id]
	if !ok || !c.visible() {
		return nil, fail("channel_not_found")
	}
	return c, nil
}

// lookupMember finds a conversation the bot can write in: one it can see,
// not archived (is_archived), that it is a member of (not_in_channel).
func (s *Server) lookupMember(id string) (*channel, error) {
	c, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	switch {
	case c.IsArchived:
		return nil, fail("is_archived")
	case !c.isMember(BotUserID):
		return nil, fail("not_in_channel")
	}
	return c, nil
}

func (s *Server) info(p params) (obj, error) {
	c, err := s.lookup(p["channel"])
	if err != nil {
		return nil, err
	}
	return obj{"channel": c.json()}, nil
}

func (s *Server) join(p params) (obj, error) {
	c, err := s.lookup(p["channel"])
	if err != nil {
		return nil, err
	}
	switch {
	case c.IsIM || c.IsPrivate:
		return nil, fail("method_not_supported_for_channel_type")
	case c.IsArchived:
		return nil, fail("is_archived")
	}
	if c.isMember(BotUserID) {
		return obj{"channel": c.json(), "warning": "already_in_channel",
			"response_metadata": obj{"warnings": []string{"already_in_channel"}}}, nil
	}
	c.Members = append(c.Members, BotUserID)
	return obj{"channel": c.json()}, nil
}

func (s *Server) invite(p params) (obj, error) {
	c, err := s.lookup(p["channel"])
	if err != nil {
		return nil, err
	}
	switch {
	case c.IsIM:
		return nil, fail("method_not_supported_for_channel_type")
	case c.IsArchived:
		return nil, fail("is_archived")
	case !c.isMember(BotUserID):
		return nil, fail("not_in_channel")
	}
	var users []string
	for _, u := range strings.Split(p["users"], ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return nil, fail("no_user")
	}
	var add []string
	for _, u := range users {
		usr, ok := s.users[u]
		switch {
		case u == BotUserID:
			return nil, fail("cant_invite_self")
		case !ok:
			return nil, &slackErr{code: "user_not_found", extra: obj{"errors": []obj{{"user": u, "ok": false, "error": "user_not_found"}}}}
		case usr.Deleted:
			return nil, fail("user_is_restricted")
		case c.isMember(u):
			return nil, &slackErr{code: "already_in_channel", extra: obj{"errors": []obj{{"user": u, "ok": false, "error": "already_in_channel"}}}}
		}
		add = append(add, u)
	}
	c.Members = append(c.Members, add...)
	return obj{"channel": c.json()}, nil
}

func (s *Server) setPurpose(p params) (obj, error) {
	c, err := s.lookupMember(p["channel"])
	if err != nil {
		return nil, err
	}
	if len(p["purpose"]) > 250 {
		return nil, fail("too_long")
	}
	c.Purpose = p["purpose"]
	return obj{"channel": c.json(), "purpose": c.Purpose}, nil
}

func (s *Server) open(p params) (obj, error) {
	if id := p["channel"]; id != "" {
		c, err := s.lookup(id)
		if err != nil {
			return nil, err
		}
		return obj{"channel": c.json(), "already_open": true}, nil
	}
	users := strings.Split(p["users"], ",")
	if p["users"] == "" {
		return nil, fail("users_list_not_supplied")
	}
	if len(users) > 1 {
		return nil, fail("not_enough_users") // group DMs are not served
	}
	u, ok := s.users[users[0]]
	if !ok || u.Deleted {
		return nil, fail("user_not_found")
	}
	if id, ok := s.ims[u.ID]; ok {
		return obj{"channel": s.channels[id].json(), "already_open": true, "no_op": true}, nil
	}
	c := &channel{Channel: Channel{ID: s.newID("D"), IsIM: true, User: u.ID, Creator: BotUserID,
		Members: []string{BotUserID, u.ID}}, created: s.epoch}
	s.channels[c.ID] = c
	s.order = append(s.order, c.ID)
	s.ims[u.ID] = c.ID
	return obj{"channel": c.json()}, nil
}

func (s *Server) archive(p params) (obj, error) {
	c, err := s.lookup(p["channel"])
	if err != nil {
		return nil, err
	}
	if c.IsIM {
		return nil, fail("method_not_supported_for_channel_type")
	}
	if c.IsArchived {
		return nil, fail("already_archived")
	}
	c.IsArchived = true
	return nil, nil
}

func (s *Server) unarchive(p params) (obj, error) {
	c, err := s.lookup(p["channel"])
	if err != nil {
		return nil, err
	}
	if !c.IsArchived {
		return nil, fail("not_archived")
	}
	c.IsArchived = false
	return nil, nil
}

// decodeBlocks checks a blocks parameter the way Slack does (a JSON array
// of known blocks, at most 50, section text at most 3000 characters).
func decodeBlocks(raw string) ([]slack.Block, error) {
	if raw == "" {
		return nil, nil
	}
	var bl slack.Blocks
	if err := json.Unmarshal([]byte(raw), &bl); err != nil {
		return nil, fail("invalid_blocks_format")
	}
	if len(bl.BlockSet) > 50 {
		return nil, fail("invalid_blocks")
	}
	for _, b := range bl.BlockSet {
		switch b := b.(type) {
		case *slack.UnknownBlock:
			return nil, fail("invalid_blocks")
		case *slack.SectionBlock:
			if b.Text != nil && (len([]rune(b.Text.Text)) > 3000 || b.Text.Text == "") {
				return nil, fail("invalid_blocks")
			}
		case *slack.ActionBlock:
			if b.Elements == nil || len(b.Elements.ElementSet) == 0 || len(b.Elements.ElementSet) > 25 {
				return nil, fail("invalid_blocks")
			}
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && len(btn.Value) > 2000 {
					return nil, fail("invalid_blocks")
				}
			}
		}
	}
	return bl.BlockSet, nil
}

func (s *Server) postMessage(p params) (obj, error) {
	c, err := s.lookupMember(p["channel"])
	if err != nil {
		return nil, err
	}
	switch {
	case p["text"] == "" && p["blocks"] == "" && p["attachments"] == "":
		return nil, fail("no_text")
	case len(p["text"]) > 40000:
		return nil, fail("msg_too_long")
	}
	blocks, err := decodeBlocks(p["blocks"])
	if err != nil {
		return nil, err
	}
	m := &Message{Channel: c.ID, TS: s.nextTS(), User: BotUserID, Text: p["text"], Blocks: blocks, Params: map[string]string(p)}
	delete(m.Params, "token")
	if p["blocks"] != "" {
		m.RawBlocks = json.RawMessage(p["blocks"])
	}
	if p["metadata"] != "" {
		m.Metadata = json.RawMessage(p["metadata"])
	}
	s.messages[c.ID] = append(s.messages[c.ID], m)
	s.notify(c, m)
	return obj{"channel": c.ID, "ts": m.TS, "message": messageJSON(m)}, nil
}

func messageJSON(m *Message) obj {
	o := obj{"type": "message", "user": m.User, "bot_id": BotID, "text": m.Text, "ts": m.TS}
	if m.RawBlocks != nil {
		o["blocks"] = m.RawBlocks
	}
	return o
}

func (s *Server) update(p params) (obj, error) {
	c, err := s.lookup(p["channel"])
	if err != nil {
		return nil, err
	}
	if c.IsArchived {
		return nil, fail("is_archived")
	}
	var m *Message
	for _, x := range s.messages[c.ID] {
		if x.TS == p["ts"] {
			m = x
		}
	}
	if m == nil {
		return nil, fail("message_not_found")
	}
	if m.User != BotUserID {
		return nil, fail("cant_update_message")
	}
	if _, ok := p["blocks"]; ok {
		blocks, err := decodeBlocks(p["blocks"])
		if err != nil {
			return nil, err
		}
		m.Blocks = blocks
		m.RawBlocks = nil
		if p["blocks"] != "" {
			m.RawBlocks = json.RawMessage(p["blocks"])
		}
	}
	if t, ok := p["text"]; ok {
		m.Text = t
	}
	m.Edits++
	return obj{"channel": c.ID, "ts": m.TS, "text": m.Text, "message": messageJSON(m)}, nil
}

func (s *Server) userInfo(p params) (obj, error) {
	u, ok := s.users[p["user"]]
	if !ok {
		return nil, fail("user_not_found")
	}
	return obj{"user": obj{
		"id": u.ID, "team_id": TeamID, "name": u.Name, "real_name": u.RealName, "deleted": u.Deleted,
		"is_bot": u.IsBot, "profile": obj{"real_name": u.RealName, "display_name": u.Name, "email": u.Email},
	}}, nil
}
