// Package slackapp is datasev's Slack front door: the /incident slash
// command and the Approve / Deny buttons of approval requests.
//
// Routes (Handler is an http.Handler):
//
//	POST /slack/commands      the /incident slash command (form-encoded)
//	POST /slack/interactions  block_actions from the approval buttons (form field payload)
//	POST /slack/events        Events API: the incident channel's messages and pins (events.go)
//
// Every request must carry Slack's v0 signature (X-Slack-Signature over
// "v0:<X-Slack-Request-Timestamp>:<body>" under the signing secret) with a
// timestamp within five minutes of now, either way; anything else is 401
// and changes nothing.
//
// The Slack user who runs a command or clicks a button must be on the
// on-call roster (oncall.Person.Slack); their roster person is the act's
// author, and every act is an Update with Via "slack" and an ID derived
// from Slack's trigger_id, so a redelivered request is answered again but
// applied once. A command's incident is the one named with @<id or dedupe
// key>, else the one whose channel it runs in (the channel purpose written
// by slackact.Purpose, read with conversations.info).
//
// Slack wants an answer within 3 s: the handler waits up to Config.AckWait
// for the incident's answer, and otherwise answers "working on it…" and
// posts the outcome to the request's response_url later.
//
// With an app-level token, RunSocketMode receives the same commands and
// button clicks over a Socket Mode websocket instead (no public URL
// needed); they go through the same code.
package slackapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// MaxBodyBytes is the largest request body accepted; larger is 413.
const MaxBodyBytes = 1 << 20

// Via is the act source recorded in the timeline for acts from Slack.
const Via = "slack"

// Deps are what the handler works with.
type Deps struct {
	// Temporal is the client acts and declarations go through. Required.
	Temporal client.Client
	// Roster is the on-call roster: declared incidents take their roles from
	// it, and Slack users map to its people. Required.
	Roster oncall.Roster
	// Runbooks is the runbook set declared incidents are matched against;
	// nil runs no runbook.
	Runbooks *runbooks.Set
	// WorkflowOptions tune declared incidents' timers.
	WorkflowOptions workflows.Options
	// TaskQueue is the workers' task queue for declared incidents; empty
	// means workflows.TaskQueue.
	TaskQueue string
	// Logger logs; nil discards.
	Logger *slog.Logger
	// HTTPClient posts to response_urls and calls the Web API; nil means a
	// client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Signer signs acts as service ServiceName; nil means Config.KeyFile's
	// key, or none (deciding acts from Slack are then refused).
	Signer *incidents.Signer
	// Events tune the channel log (POST /slack/events; events.go).
	Events EventOptions
}

// Handler serves the Slack routes and, optionally, Socket Mode.
type Handler struct {
	cfg       Config
	c         client.Client
	roster    oncall.Roster
	set       *runbooks.Set
	wfOpts    workflows.Options
	taskQueue string
	log       *slog.Logger
	http      *http.Client
	now       func() time.Time
	loc       *time.Location
	api       *slack.Client // nil without a bot token
	mux       *http.ServeMux
	signer    *incidents.Signer // nil: acts go unsigned

	channels sync.Map // channel ID → incident workflow ID
	wg       sync.WaitGroup
	ev       *eventLog // the channel log (events.go)
}

// New returns the Slack handler. The roster must be valid.
func New(cfg Config, deps Deps) (*Handler, error) {
	if deps.Temporal == nil {
		return nil, errors.New("slackapp: nil Temporal client")
	}
	if err := deps.Roster.Validate(); err != nil {
		return nil, fmt.Errorf("slackapp: roster: %w", err)
	}
	loc, err := time.LoadLocation(deps.Roster.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("slackapp: roster time zone: %w", err)
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.ActTimeout <= 0 {
		cfg.ActTimeout = 30 * time.Second
	}
	h := &Handler{
		cfg: cfg, c: deps.Temporal, roster: deps.Roster, set: deps.Runbooks, wfOpts: deps.WorkflowOptions, taskQueue: deps.TaskQueue,
		log: deps.Logger, http: deps.HTTPClient, now: deps.Now, loc: loc, mux: http.NewServeMux(),
		ev: newEventLog(deps.Events),
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.http == nil {
		h.http = &http.Client{Timeout: 10 * time.Second}
	}
	if h.now == nil {
		h.now = time.Now
	}
	if err := h.setupSigner(cfg, deps); err != nil {
		return nil, err
	}
	if cfg.BotToken != "" {
		h.api = slack.New(cfg.BotToken, h.slackOptions()...)
	}
	h.mux.HandleFunc("POST /slack/commands", h.serveCommand)
	h.mux.HandleFunc("POST /slack/interactions", h.serveInteraction)
	h.mux.HandleFunc("POST /slack/events", h.serveEvents)
	return h, nil
}

func (h *Handler) slackOptions() []slack.Option {
	opts := []slack.Option{slack.OptionHTTPClient(h.http)}
	if u := h.cfg.apiURL(); u != "" {
		opts = append(opts, slack.OptionAPIURL(u))
	}
	if h.cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(h.cfg.AppToken))
	}
	return opts
}

// ServeHTTP serves POST /slack/commands and POST /slack/interactions.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close waits for outcomes still being delivered to response_urls. Call it
// once the HTTP server and RunSocketMode have stopped.
func (h *Handler) Close() { h.wg.Wait() }

// readVerified reads the body and checks its signature. On failure it has
// answered and returns false.
func (h *Handler) readVerified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)})
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading body: " + err.Error()})
		return nil, false
	}
	if why := verify(r.Header, body, h.cfg.SigningSecret, h.now()); why != "" {
		h.log.Warn("slack: request refused", "path", r.URL.Path, "reason", why, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "slack signature check failed: " + why})
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

func (h *Handler) serveCommand(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.readVerified(w, r); !ok {
		return
	}
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed slash command: " + err.Error()})
		return
	}
	if r.PostForm.Get("ssl_check") == "1" {
		// Slack checking the certificate: nothing to do.
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, http.StatusOK, h.answerCommand(sc))
}

func (h *Handler) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.readVerified(w, r); !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed interaction: " + err.Error()})
		return
	}
	p, err := decodeInteraction([]byte(r.PostForm.Get("payload")))
	if err != nil && !errors.Is(err, errNotOurs) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed interaction payload: " + err.Error()})
		return
	}
	h.startPress(p, err)
	w.WriteHeader(http.StatusOK)
}

// answerCommand runs a slash command and returns the immediate answer:
// the outcome if it comes within AckWait, else "working on it…" with the
// outcome posted to the response_url once it comes.
func (h *Handler) answerCommand(sc slack.SlashCommand) *slack.WebhookMessage {
	done := make(chan *slack.WebhookMessage, 1)
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ActTimeout)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer cancel()
		done <- h.runCommand(ctx, sc)
	}()
	timer := time.NewTimer(h.cfg.AckWait)
	defer timer.Stop()
	select {
	case m := <-done:
		return m
	case <-timer.C:
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		m := <-done
		h.respond(sc.ResponseURL, m)
	}()
	return ephemeral("working on it… the outcome will follow here.")
}

// respond posts a message to a response_url.
func (h *Handler) respond(responseURL string, m *slack.WebhookMessage) {
	if responseURL == "" {
		h.log.Warn("slack: no response_url to deliver the outcome to", "text", m.Text)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, h.http, m); err != nil {
		h.log.Error("slack: posting to response_url failed", "error", err)
	}
}

func ephemeral(text string) *slack.WebhookMessage {
	return &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text}
}

func visible(text string) *slack.WebhookMessage {
	return &slack.WebhookMessage{ResponseType: slack.ResponseTypeInChannel, Text: text}
}

// notOnRoster is the answer to a Slack user the roster does not know.
func notOnRoster(slackUser string) *slack.WebhookMessage {
	return ephemeral(fmt.Sprintf("you are not on the datasev roster (Slack user %s): ask your admin to add `slack: %s`", slackUser, slackUser))
}

// actID is a stable act ID from Slack's trigger_id, so a redelivered
// request is applied once. Empty without a trigger_id (the act gets a
// random one).
func actID(triggerID string) string {
	if triggerID == "" {
		return ""
	}
	return "slack-" + triggerID
}

// runCommand does what a slash command asks and says how it went.
func (h *Handler) runCommand(ctx context.Context, sc slack.SlashCommand) *slack.WebhookMessage {
	cmd, err := parseCommand(sc.Text)
	if err != nil {
		return ephemeral(err.Error())
	}
	if cmd.name == subHelp {
		return ephemeral(helpText())
	}
	person, ok := h.roster.PersonBySlack(sc.UserID)
	if !ok {
		return notOnRoster(sc.UserID)
	}
	if cmd.name == subDeclare {
		return h.declare(ctx, sc, cmd, person)
	}
	id, problem := h.incidentFor(ctx, cmd, sc.ChannelID)
	if problem != "" {
		return ephemeral(problem)
	}
	if cmd.name == subStatus {
		st, err := incidents.Status(ctx, h.c, id)
		if err != nil {
			return ephemeral(errorText(err))
		}
		return ephemeral(formatStatus(st))
	}
	act := workflows.Act{By: person.ID, Via: Via, ID: actID(sc.TriggerID), Reason: cmd.reason}
	var name string
	switch cmd.name {
	case subAck:
		name = workflows.ActAcknowledge
	case subRole:
		name, act.Role, act.Person = workflows.ActAssignRole, cmd.role, cmd.person
		if cmd.slackUser {
			p, ok := h.roster.PersonBySlack(cmd.person)
			if !ok {
				return ephemeral(fmt.Sprintf("<@%s> is not on the datasev roster: ask your admin to add `slack: %s` to their entry", cmd.person, cmd.person))
			}
			act.Person = p.ID
		}
	case subSev:
		name, act.Severity = workflows.ActSetSeverity, cmd.severity
	case subNote:
		name, act.Note = workflows.ActAddNote, cmd.note
	case subRootCause:
		name, act.Note = workflows.ActRootCause, cmd.note
	case subFactor:
		name, act.Note = workflows.ActContributingFactor, cmd.note
	case subAction:
		name, act.Note = workflows.ActActionItem, cmd.note
	case subUpdate:
		name, act.Note = workflows.ActPostUpdate, cmd.note
	case subPublish:
		name, act.Note, act.Action = workflows.ActPublishStatus, cmd.note, cmd.status
	case subApprove:
		name, act.Approval = workflows.ActApprove, cmd.approval
	case subDeny:
		name, act.Approval = workflows.ActDeny, cmd.approval
	case subResolve:
		name = workflows.ActResolve
	case subHandoff:
		name = workflows.ActAcceptHandoff
	case subSplit:
		name, act.Member = workflows.ActSplit, cmd.member
	case subRelate:
		name, act.Other = workflows.ActRelate, cmd.other
	case subMerge:
		name, act.Other = workflows.ActMerge, cmd.other
	case subPauseAuto:
		name = workflows.ActPauseAuto
	case subResumeAuto:
		name = workflows.ActResumeAuto
	default:
		return ephemeral(helpText())
	}
	res, err := h.act(ctx, sc.UserID, id, name, act)
	if err != nil {
		h.log.Info("slack: act refused", "incident", id, "act", name, "by", person.ID, "error", err)
		return ephemeral(errorText(err))
	}
	h.log.Info("slack: act", "incident", id, "act", name, "by", person.ID, "state", res.State)
	text := slackact.Escape(fmt.Sprintf("%s (%s): %s", displayName(person), id, res.Message))
	if inChannel(cmd.name) {
		return visible(text)
	}
	return ephemeral(text)
}

// declare opens an incident from Slack.
func (h *Handler) declare(ctx context.Context, sc slack.SlashCommand, cmd command, person oncall.Person) *slack.WebhookMessage {
	now := h.now()
	alert := workflows.Alert{
		ID:          actID(sc.TriggerID),
		Source:      "slack",
		Title:       cmd.title,
		Description: fmt.Sprintf("declared in Slack by %s", displayName(person)),
		DedupeKey:   dedupeKey(sc, now),
		Severity:    cmd.severity,
		Labels:      map[string]string{"slack_user": sc.UserID, "declared_by": person.ID},
		ReceivedAt:  now.UTC(),
	}
	if sc.ChannelID != "" {
		alert.Labels["slack_channel"] = sc.ChannelID
	}
	d, err := incidents.Declare(ctx, h.c, incidents.DeclareRequest{
		Alert: alert, Runbooks: h.set, Roster: h.roster, Options: h.wfOpts, Now: now, TaskQueue: h.taskQueue,
	})
	if err != nil {
		h.log.Error("slack: declare failed", "dedupe_key", alert.DedupeKey, "error", err)
		return ephemeral(errorText(err))
	}
	h.log.Info("slack: declared", "incident", d.WorkflowID, "by", person.ID, "joined", d.Joined)
	sev := cmd.severity
	if sev == "" {
		sev = "default severity"
	}
	key := strings.TrimPrefix(d.WorkflowID, workflows.WorkflowIDPrefix)
	if d.Joined {
		// The same request again (Slack or a proxy redelivered it).
		return visible(slackact.Escape(fmt.Sprintf("*%s* is already declared: incident `%s`, Commander %s.", cmd.title, d.WorkflowID, d.Commander)))
	}
	return visible(slackact.Escape(fmt.Sprintf("%s declared *%s* (%s): incident `%s`, Commander %s. Act on it with `/incident @%s <subcommand>` or in its channel.",
		displayName(person), cmd.title, sev, d.WorkflowID, d.Commander, key)))
}

// dedupeKey names an incident declared in Slack: derived from the
// trigger_id, so a redelivered declare joins the incident it opened.
func dedupeKey(sc slack.SlashCommand, now time.Time) string {
	seed := sc.TriggerID
	if seed == "" {
		seed = fmt.Sprintf("%s|%s|%s|%d", sc.UserID, sc.ChannelID, sc.Text, now.UnixNano())
	}
	sum := sha256.Sum256([]byte(sc.TeamID + "|" + seed))
	return "slack-" + hex.EncodeToString(sum[:])[:12]
}

// incidentFor finds the incident a command is about: the one it names, or
// the one of the channel it runs in. problem says why there is none.
func (h *Handler) incidentFor(ctx context.Context, cmd command, channelID string) (id, problem string) {
	if cmd.target != "" {
		return incidents.ResolveID(ctx, h.c, cmd.target), ""
	}
	how := fmt.Sprintf("name the incident: `/incident @<incident id or dedupe key> %s`", cmd.name)
	if v, ok := h.channels.Load(channelID); ok {
		return v.(string), ""
	}
	if h.api == nil || channelID == "" {
		return "", "which incident? " + how + " (finding it from the channel needs the bot token, " + EnvBotToken + ")"
	}
	ch, err := h.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
	if err != nil {
		h.log.Warn("slack: conversations.info failed", "channel", channelID, "error", err)
		return "", fmt.Sprintf("could not read this channel's purpose (%v); %s", err, how)
	}
	id, ok := slackact.IncidentFromPurpose(ch.Purpose.Value)
	if !ok {
		return "", "this channel is not an incident's channel; " + how
	}
	h.channels.Store(channelID, id)
	return id, ""
}

// errorText turns an error from the incidents API into a reply.
func errorText(err error) string {
	var rej *incidents.RejectedError
	var nf *incidents.NotFoundError
	var closed *incidents.ClosedError
	var ve *incidents.ValidationError
	var ua *incidents.UnreachableError
	var na *incidents.NoAnswerError
	switch {
	case errors.As(err, &rej):
		return "Not done: " + rej.Message
	case errors.As(err, &nf):
		return fmt.Sprintf("there is no incident %q; check the ID or dedupe key", nf.WorkflowID)
	case errors.As(err, &closed):
		return closed.Error()
	case errors.As(err, &ve):
		return ve.Error()
	case errors.As(err, &ua):
		return "datasev cannot reach Temporal right now; nothing was done. Try again shortly."
	case errors.As(err, &na):
		return na.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "the incident did not answer in time; the act may still apply. Check with `/incident status`."
	}
	return "something went wrong: " + err.Error()
}

func displayName(p oncall.Person) string {
	if p.Name != "" {
		return p.Name
	}
	return p.ID
}

// formatStatus renders an incident's status for Slack, escaped: alert text
// in it (title, findings) mentions no one.
func formatStatus(st workflows.Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* `%s`\n", st.Title, st.ID)
	fmt.Fprintf(&b, "State: *%s* · %s (%s) · alerts: %d\n", st.State, st.Severity, st.SeverityMeaning, st.AlertCount)
	roles := []string{"Commander: " + orNone(st.Roles.Commander)}
	if st.Roles.Scribe != "" {
		roles = append(roles, "Scribe: "+st.Roles.Scribe)
	}
	if st.Roles.Liaison != "" {
		roles = append(roles, "Liaison: "+st.Roles.Liaison)
	}
	if len(st.Roles.SMEs) > 0 {
		roles = append(roles, "SMEs: "+strings.Join(st.Roles.SMEs, ", "))
	}
	b.WriteString(strings.Join(roles, " · ") + "\n")
	if st.Runbook != "" {
		fmt.Fprintf(&b, "Runbook: %s %s\n", st.Runbook, st.RunbookStatus)
	}
	for _, ap := range st.PendingApprovals {
		fmt.Fprintf(&b, "Pending approval `%s`: %s (the %s decides)\n", ap.ID, ap.Action, ap.Approver)
		for _, c := range ap.Covers {
			fmt.Fprintf(&b, "    also runs step `%s`: %s (%s)\n", c.Step, c.Action, c.Inputs)
		}
	}
	if st.Handoff != nil {
		fmt.Fprintf(&b, "Handoff pending: %s → %s\n", st.Handoff.From, st.Handoff.To)
	}
	for _, f := range st.LastFindings {
		fmt.Fprintf(&b, "• %s\n", f)
	}
	if st.Document != "" {
		fmt.Fprintf(&b, "Incident document: %s\n", st.Document)
	}
	return slackact.Escape(strings.TrimRight(b.String(), "\n"))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
