package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.temporal.io/sdk/client"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/workflows"
)

// The channel log: Slack Events API events (POST /slack/events, or
// events_api envelopes over Socket Mode) from an incident's channel reach
// its timeline.
//
//   - message (subscription message.channels; thread replies included): a
//     channel_message act, posted; message_changed whose text changed: edited
//     (a new entry with the new text); message_deleted: deleted (an entry
//     saying so; the original entry stays: it was said in the channel).
//   - reaction_added with EventOptions.FindingReaction (default pushpin) on
//     a message: a channel_pin act, which makes that message a finding.
//     reaction_removed changes nothing: a finding stays one.
//   - Ignored: bots and the app's own posts (bot_id, app_id, subtype
//     bot_message), other subtypes (joins, topic changes…), edits that keep
//     the text (link unfurls), other reactions, non-message items, channels
//     that are no incident's.
//
// The channel's incident is read from the channel's purpose (written by the
// notifier, slackact.Purpose) with conversations.info, cached for
// EventOptions.CacheTTL (a channel that is no incident's for
// NegativeTTL). The author acts as their roster person, or, off the roster,
// as "slack:<user ID>"; the app signs the act as service slack vouching for
// that Slack user, and the incident records it deciding nothing.
//
// Slack wants an answer within 3 s and retries otherwise, so the request
// is answered as soon as the event is checked and queued: duplicates (by
// event_id: Slack's retries) are dropped, each channel has a token bucket
// (RatePerMinute, Burst) and a bounded queue, and what exceeds them is
// dropped and counted (EventStats), never waited for. The acts themselves
// are idempotent by message ts.

// MaxEventBodyBytes is the largest Events API request body accepted; larger
// is 413 and changes nothing.
const MaxEventBodyBytes = 256 << 10

// truncatedMark ends a message text cut to EventOptions.MaxText.
const truncatedMark = "…"

// Defaults of EventOptions.
const (
	DefaultFindingReaction = "pushpin"
	DefaultRatePerMinute   = 30
	DefaultBurst           = 20
	DefaultCacheTTL        = 2 * time.Minute
	DefaultNegativeTTL     = time.Minute
	defaultMaxQueued       = 64
	maxChannels            = 4096
)

// EventOptions tune the channel log. Zero values take the defaults.
type EventOptions struct {
	// FindingReaction is the reaction (its name, without colons) that
	// makes a message a finding; default pushpin.
	FindingReaction string
	// RatePerMinute and Burst bound the events taken per channel (a token
	// bucket); the excess is dropped and counted. Defaults 30 and 20.
	RatePerMinute, Burst int
	// MaxText bounds a message's text in bytes; longer is cut, marked
	// with "…". Default and most workflows.MaxTextLen.
	MaxText int
	// MaxQueued bounds the events waiting per channel; default 64.
	MaxQueued int
	// CacheTTL is how long a channel's incident is remembered; NegativeTTL
	// how long a channel that is no incident's is. Defaults 2m and 1m.
	CacheTTL, NegativeTTL time.Duration
}

func (o EventOptions) withDefaults() EventOptions {
	if o.FindingReaction == "" {
		o.FindingReaction = DefaultFindingReaction
	}
	o.FindingReaction = strings.Trim(o.FindingReaction, ":")
	if o.RatePerMinute <= 0 {
		o.RatePerMinute = DefaultRatePerMinute
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxText <= 0 || o.MaxText > workflows.MaxTextLen {
		o.MaxText = workflows.MaxTextLen
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = defaultMaxQueued
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = DefaultNegativeTTL
	}
	return o
}

// EventStats counts what became of the Events API events received.
type EventStats struct {
	// Received counts the event callbacks taken (signed, or over Socket
	// Mode).
	Received int64
	// Duplicates were dropped by event_id (Slack's retries).
	Duplicates int64
	// Ignored were not for the channel log (bots, other subtypes and
	// reactions, unchanged edits).
	Ignored int64
	// RateDropped exceeded their channel's rate; QueueDropped found its
	// queue full.
	RateDropped, QueueDropped int64
	// UnknownChannel came from a channel that is no incident's.
	UnknownChannel int64
	// Recorded were taken by the incident; Refused were not (closed
	// incident, a pin of a message not in the log…).
	Recorded, Refused int64
}

// channelEvent is one event for the channel log.
type channelEvent struct {
	name string // workflows.ActChannelMessage or ActChannelPin
	msg  workflows.ChannelMessage
}

// eventLog is the channel log's state in the handler.
type eventLog struct {
	opts EventOptions

	mu      sync.Mutex
	seen    map[string]time.Time // event_id → when first seen
	buckets map[string]*bucket   // channel → its token bucket
	lanes   map[string][]channelEvent
	cache   map[string]channelIncident
	busy    sync.WaitGroup // lanes running

	received, duplicates, ignored, rateDropped, queueDropped, unknown, recorded, refused atomic.Int64
}

type bucket struct {
	tokens float64
	at     time.Time
}

type channelIncident struct {
	id  string // "" for no incident
	exp time.Time
}

// seenWindow is how long an event_id is remembered: Slack retries three
// times within about five minutes.
const seenWindow = 10 * time.Minute

func newEventLog(o EventOptions) *eventLog {
	return &eventLog{opts: o.withDefaults(), seen: map[string]time.Time{}, buckets: map[string]*bucket{},
		lanes: map[string][]channelEvent{}, cache: map[string]channelIncident{}}
}

// EventStats returns the channel log's counters.
func (h *Handler) EventStats() EventStats {
	e := h.ev
	return EventStats{
		Received: e.received.Load(), Duplicates: e.duplicates.Load(), Ignored: e.ignored.Load(),
		RateDropped: e.rateDropped.Load(), QueueDropped: e.queueDropped.Load(), UnknownChannel: e.unknown.Load(),
		Recorded: e.recorded.Load(), Refused: e.refused.Load(),
	}
}

// serveEvents serves POST /slack/events: signed as the slash commands are
// (401 otherwise), at most MaxEventBodyBytes (413).
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body larger than %d bytes", MaxEventBodyBytes)})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading body: " + err.Error()})
		return
	}
	if why := verify(r.Header, body, h.cfg.SigningSecret, h.now()); why != "" {
		h.log.Warn("slack: request refused", "path", r.URL.Path, "reason", why, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "slack signature check failed: " + why})
		return
	}
	var env struct {
		Type      string          `json:"type"`
		Challenge string          `json:"challenge"`
		EventID   string          `json:"event_id"`
		Event     json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed event: " + err.Error()})
		return
	}
	switch env.Type {
	case "url_verification":
		writeJSON(w, http.StatusOK, map[string]string{"challenge": env.Challenge})
		return
	case "event_callback":
		h.receiveEvent(env.EventID, env.Event, r.Header.Get("X-Slack-Retry-Num"))
	}
	w.WriteHeader(http.StatusOK)
}

// socketEventsAPI acknowledges an events_api envelope at once and takes its
// event as the HTTP route does (Slack authenticated the websocket).
func (h *Handler) socketEventsAPI(ctx context.Context, sm *socketmode.Client, req *socketmode.Request) {
	if req == nil {
		return
	}
	if err := sm.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		h.log.Error("slack: socket mode ack failed", "error", err)
	}
	var env struct {
		Type    string          `json:"type"`
		EventID string          `json:"event_id"`
		Event   json.RawMessage `json:"event"`
	}
	if len(req.Payload) > MaxEventBodyBytes || json.Unmarshal(req.Payload, &env) != nil || env.Type != "event_callback" {
		h.ev.received.Add(1)
		h.ev.ignored.Add(1)
		return
	}
	retry := ""
	if req.RetryAttempt > 0 {
		retry = fmt.Sprint(req.RetryAttempt)
	}
	h.receiveEvent(env.EventID, env.Event, retry)
}

// receiveEvent checks and queues one event; it never waits for the
// incident.
func (h *Handler) receiveEvent(eventID string, raw json.RawMessage, retry string) {
	e := h.ev
	e.received.Add(1)
	ce, why := h.classify(raw)
	if why != "" {
		e.ignored.Add(1)
		h.log.Debug("slack: event ignored", "event_id", eventID, "reason", why)
		return
	}
	now := h.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if eventID != "" {
		if _, dup := e.seen[eventID]; dup {
			e.duplicates.Add(1)
			h.log.Debug("slack: duplicate event dropped", "event_id", eventID, "retry", retry)
			return
		}
		e.rememberLocked(eventID, now)
	}
	ch := ce.msg.Channel
	if !e.allowLocked(ch, now) {
		if n := e.rateDropped.Add(1); n == 1 || n%100 == 0 {
			h.log.Warn("slack: channel events over the rate, dropped", "channel", ch, "rate_per_minute", e.opts.RatePerMinute, "dropped_total", n)
		}
		return
	}
	q := e.lanes[ch]
	if len(q) >= e.opts.MaxQueued || (q == nil && len(e.lanes) >= maxChannels) {
		if n := e.queueDropped.Add(1); n == 1 || n%100 == 0 {
			h.log.Warn("slack: channel event queue full, dropped", "channel", ch, "dropped_total", n)
		}
		return
	}
	e.lanes[ch] = append(q, ce)
	if q == nil {
		e.busy.Add(1)
		h.wg.Add(1)
		go h.runLane(ch)
	}
}

// rememberLocked remembers an event_id, forgetting those past seenWindow
// once the memory is large.
func (e *eventLog) rememberLocked(id string, now time.Time) {
	if len(e.seen) >= 4*maxChannels {
		for k, at := range e.seen {
			if now.Sub(at) > seenWindow {
				delete(e.seen, k)
			}
		}
		if len(e.seen) >= 4*maxChannels {
			clear(e.seen) // a flood within the window: forget rather than grow
		}
	}
	e.seen[id] = now
}

// allowLocked takes a token from the channel's bucket.
func (e *eventLog) allowLocked(ch string, now time.Time) bool {
	b := e.buckets[ch]
	if b == nil {
		if len(e.buckets) >= maxChannels {
			for k, o := range e.buckets { // forget the idle (full) buckets
				if o.tokens+now.Sub(o.at).Minutes()*float64(e.opts.RatePerMinute) >= float64(e.opts.Burst) {
					delete(e.buckets, k)
				}
			}
			if len(e.buckets) >= maxChannels {
				return false
			}
		}
		b = &bucket{tokens: float64(e.opts.Burst), at: now}
		e.buckets[ch] = b
	}
	b.tokens = min(float64(e.opts.Burst), b.tokens+now.Sub(b.at).Minutes()*float64(e.opts.RatePerMinute))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// runLane sends one channel's queued events in order, then ends.
func (h *Handler) runLane(ch string) {
	e := h.ev
	defer h.wg.Done()
	defer e.busy.Done()
	for {
		e.mu.Lock()
		q := e.lanes[ch]
		if len(q) == 0 {
			delete(e.lanes, ch)
			e.mu.Unlock()
			return
		}
		ce := q[0]
		e.lanes[ch] = q[1:]
		e.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ActTimeout)
		h.record(ctx, ce)
		cancel()
	}
}

// waitEvents waits until every queued event was handled (tests).
func (h *Handler) waitEvents() { h.ev.busy.Wait() }

// record sends one event to its channel's incident.
func (h *Handler) record(ctx context.Context, ce channelEvent) {
	e := h.ev
	m := ce.msg
	id, ok := h.channelIncident(ctx, m.Channel)
	if !ok {
		e.unknown.Add(1)
		return
	}
	by := ClaimPrefix + m.User
	if p, ok := h.roster.PersonBySlack(m.User); ok {
		by = p.ID
	}
	act := workflows.Act{By: by, Via: Via, ID: m.ActID(), Channel: &m}
	if h.signer != nil {
		if err := h.signer.For(ClaimPrefix+m.User).Sign(id, ce.name, &act); err != nil {
			e.refused.Add(1)
			h.log.Error("slack: signing a channel act failed", "incident", id, "error", err)
			return
		}
	}
	res, err := h.sendChannelAct(ctx, id, ce.name, act)
	if err != nil {
		e.refused.Add(1)
		h.log.Info("slack: channel event not recorded", "incident", id, "act", ce.name, "event", m.Event, "ts", m.TS, "by", by, "error", err)
		return
	}
	e.recorded.Add(1)
	h.log.Debug("slack: channel event recorded", "incident", id, "act", ce.name, "event", m.Event, "ts", m.TS, "by", by, "result", res.Message)
}

// sendChannelAct sends a channel act as an Update (the incidents package
// sends only the acts people run; this is the app's own) and waits for the
// answer. The update ID is the act's, so a resend applies once.
func (h *Handler) sendChannelAct(ctx context.Context, id, name string, act workflows.Act) (workflows.ActResult, error) {
	handle, err := h.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateID: act.ID, UpdateName: name, Args: []any{act}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return workflows.ActResult{}, fmt.Errorf("%s to %s: %w", name, id, err)
	}
	var res workflows.ActResult
	if err := handle.Get(ctx, &res); err != nil {
		return workflows.ActResult{}, fmt.Errorf("%s to %s: %w", name, id, err)
	}
	return res, nil
}

// channelIncident returns the incident whose channel ch is, from the cache
// or the channel's purpose.
func (h *Handler) channelIncident(ctx context.Context, ch string) (string, bool) {
	e := h.ev
	now := h.now()
	e.mu.Lock()
	c, hit := e.cache[ch]
	e.mu.Unlock()
	if hit && now.Before(c.exp) {
		return c.id, c.id != ""
	}
	if h.api == nil {
		h.log.Warn("slack: a channel event needs the bot token to find the channel's incident (" + EnvBotToken + "); dropped")
		return "", false
	}
	id, ttl := "", e.opts.NegativeTTL
	info, err := h.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: ch})
	switch {
	case err != nil:
		h.log.Warn("slack: conversations.info failed", "channel", ch, "error", err)
	default:
		if v, ok := slackact.IncidentFromPurpose(info.Purpose.Value); ok {
			id, ttl = v, e.opts.CacheTTL
		}
	}
	e.mu.Lock()
	if len(e.cache) >= maxChannels {
		clear(e.cache)
	}
	e.cache[ch] = channelIncident{id: id, exp: now.Add(ttl)}
	e.mu.Unlock()
	return id, id != ""
}

// slackEvent is the part of an Events API inner event the channel log
// reads.
type slackEvent struct {
	Type     string `json:"type"`
	Subtype  string `json:"subtype"`
	Channel  string `json:"channel"`
	User     string `json:"user"`
	Text     string `json:"text"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
	BotID    string `json:"bot_id"`
	AppID    string `json:"app_id"`
	Edited   *struct {
		TS string `json:"ts"`
	} `json:"edited"`
	Message         *slackEvent `json:"message"`
	PreviousMessage *slackEvent `json:"previous_message"`
	DeletedTS       string      `json:"deleted_ts"`
	Reaction        string      `json:"reaction"`
	Item            struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	} `json:"item"`
}

func (m *slackEvent) fromBot() bool {
	return m.BotID != "" || m.AppID != "" || m.Subtype == "bot_message"
}

// textSubtypes are the message subtypes people post text with.
var textSubtypes = map[string]bool{"": true, "thread_broadcast": true, "file_share": true, "me_message": true}

// classify turns an inner event into a channel event, or says why it is
// not one.
func (h *Handler) classify(raw json.RawMessage) (channelEvent, string) {
	var ev slackEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return channelEvent{}, "malformed event: " + err.Error()
	}
	var ce channelEvent
	m := &ce.msg
	switch {
	case ev.Type == "reaction_added":
		if ev.Reaction != h.ev.opts.FindingReaction || ev.Item.Type != "message" {
			return ce, "not the finding reaction on a message"
		}
		ce.name = workflows.ActChannelPin
		*m = workflows.ChannelMessage{Event: workflows.ChannelPinned, Channel: ev.Item.Channel, TS: ev.Item.TS, User: ev.User}
	case ev.Type != "message":
		return ce, "event type " + ev.Type
	case ev.fromBot():
		return ce, "a bot's message"
	case ev.Subtype == "message_changed":
		n, p := ev.Message, ev.PreviousMessage
		switch {
		case n == nil || n.fromBot():
			return ce, "a bot's message changed"
		case n.Edited == nil || p != nil && p.Text == n.Text:
			return ce, "changed without an edit of its text"
		}
		ce.name = workflows.ActChannelMessage
		*m = workflows.ChannelMessage{Event: workflows.ChannelEdited, Channel: ev.Channel, TS: n.TS, ThreadTS: n.ThreadTS, EditTS: n.Edited.TS, User: n.User}
		h.setText(m, n.Text)
	case ev.Subtype == "message_deleted":
		p := ev.PreviousMessage
		if p == nil || p.fromBot() {
			return ce, "a bot's message deleted"
		}
		ce.name = workflows.ActChannelMessage
		*m = workflows.ChannelMessage{Event: workflows.ChannelDeleted, Channel: ev.Channel, TS: ev.DeletedTS, ThreadTS: p.ThreadTS, User: p.User}
	case !textSubtypes[ev.Subtype]:
		return ce, "message subtype " + ev.Subtype
	default:
		ce.name = workflows.ActChannelMessage
		*m = workflows.ChannelMessage{Event: workflows.ChannelPosted, Channel: ev.Channel, TS: ev.TS, ThreadTS: ev.ThreadTS, User: ev.User}
		text := ev.Text
		if strings.TrimSpace(text) == "" && ev.Subtype == "file_share" {
			text = "[shared a file]"
		}
		h.setText(m, text)
	}
	if m.ThreadTS == m.TS {
		m.ThreadTS = "" // a thread's parent
	}
	switch {
	case m.Channel == "" || m.TS == "" || m.User == "":
		return ce, "no channel, ts or user"
	case (m.Event == workflows.ChannelPosted || m.Event == workflows.ChannelEdited) && strings.TrimSpace(m.Text) == "":
		return ce, "no text"
	}
	return ce, ""
}

// slackUnescape undoes Slack's escaping of &, < and > in message text.
var slackUnescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// setText sets a message's text, unescaped and cut to MaxText bytes (on a
// character boundary, marked).
func (h *Handler) setText(m *workflows.ChannelMessage, text string) {
	text = slackUnescape.Replace(text)
	if max := h.ev.opts.MaxText; len(text) > max {
		cut := max - len(truncatedMark)
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text, m.Truncated = text[:cut]+truncatedMark, true
	}
	m.Text = text
}
