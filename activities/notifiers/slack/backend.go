package slackact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/activities/support/secret"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// Environment variables read by ConfigFromEnv.
const (
	// EnvBotToken is the bot token (xoxb-…).
	EnvBotToken = "DATASEV_SLACK_BOT_TOKEN"
	// EnvBotTokenFile names a file holding the bot token, for secrets
	// mounted as files. Set one of EnvBotToken and EnvBotTokenFile.
	EnvBotTokenFile = "DATASEV_SLACK_BOT_TOKEN_FILE"
	// EnvAPIURL overrides Slack's Web API base URL; for the stand-in in
	// tests and the demo only.
	EnvAPIURL = "DATASEV_SLACK_API_URL"
	// EnvBroadcastChannel is a channel ID where new incidents are
	// announced. Optional.
	EnvBroadcastChannel = "DATASEV_SLACK_BROADCAST_CHANNEL"
	// EnvChannelPrivate is true to create incident channels as private
	// channels.
	EnvChannelPrivate = "DATASEV_SLACK_CHANNEL_PRIVATE"
)

// Config is how the backend reaches Slack.
type Config struct {
	// Token is the bot token. Empty means Slack is not configured.
	Token string
	// APIURL is the Web API base URL ending in "/"; "" for Slack's.
	APIURL string
	// BroadcastChannel is a channel ID where new incidents are announced;
	// "" for none.
	BroadcastChannel string
	// PrivateChannels creates incident channels as private channels.
	PrivateChannels bool
	// HTTPClient is the HTTP client; nil for one with a 30s timeout.
	HTTPClient *http.Client
}

// Configured reports whether a token is set. Without one the worker keeps
// its log backend.
func (c Config) Configured() bool { return c.Token != "" }

// ConfigFromEnv reads the DATASEV_SLACK_* variables through getenv. The
// token comes from EnvBotToken or the file EnvBotTokenFile names, never
// from workflow inputs. No token is not an error: Configured is false.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		APIURL:           strings.TrimSpace(getenv(EnvAPIURL)),
		BroadcastChannel: strings.TrimSpace(getenv(EnvBroadcastChannel)),
	}
	tok, err := secret.FromEnv(getenv, EnvBotToken)
	if err != nil {
		return Config{}, err
	}
	cfg.Token = strings.TrimSpace(tok)
	if cfg.Token != "" && (!strings.HasPrefix(cfg.Token, "xox") || strings.ContainsAny(cfg.Token, " \t\n")) {
		return Config{}, fmt.Errorf("the Slack bot token does not look like a token (want xoxb-…)")
	}
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("%s=%q: want an http or https URL", EnvAPIURL, cfg.APIURL)
		}
		if u.User != nil {
			return Config{}, fmt.Errorf("%s: no credentials in the URL", EnvAPIURL)
		}
		if !strings.HasSuffix(cfg.APIURL, "/") {
			cfg.APIURL += "/"
		}
	}
	if v := strings.TrimSpace(getenv(EnvChannelPrivate)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: want true or false", EnvChannelPrivate, v)
		}
		cfg.PrivateChannels = b
	}
	return cfg, nil
}

// MetadataEventType is the event_type of the metadata on the messages the
// backend posts in incident channels; the payload names the incident, the
// notification's kind and its delivery key.
const MetadataEventType = "datasev_notification"

// Bounds of the backend's in-memory state.
const (
	channelCacheSize = 1024
	recentSize       = 8192
	recentTTL        = 6 * time.Hour
	listPageSize     = 200
)

// Backend delivers notifications to Slack: a channel per incident, created
// on the incident's first notification, where every notification is
// posted; pages also mention the person and reach them by DM, and approval
// pages carry Approve and Deny buttons. It implements notify.Backend.
//
// Channels: the first notification creates ChannelName(incident) (private
// when configured), sets its purpose with Purpose and invites the paged
// person. When the name is taken (a retry after a crash, another worker,
// a person) the backend finds the channel with conversations.list and
// joins it. An archived channel of that name is unarchived, so the
// incident keeps one history; only when Slack refuses to unarchive it does
// the backend use a suffixed name (…-2, …-3). The incident→channel map is
// cached in memory (bounded).
//
// Idempotency: Temporal may retry Deliver. Each part of a delivery (the
// channel post, the broadcast, the DM) is remembered in memory under a
// stable key, the activity's run and activity ID (or, outside an
// activity, a hash of the notification), so a retry does not post a part
// twice. The memory is per process: a retry after the worker itself died
// may post a message twice. That is accepted: a duplicate post is better
// than a lost page.
type Backend struct {
	api    *slack.Client
	cfg    Config
	roster oncall.Roster
	log    *slog.Logger

	locks keyedMutex

	mu       sync.Mutex
	channels map[string]*incidentChannel // by incident ID
	chOrder  []string
	recent   map[string]time.Time
	recOrder []string
	now      func() time.Time
}

type incidentChannel struct {
	id        string
	name      string
	created   bool // by this backend: announce it
	announced bool
	invited   map[string]bool
}

// NewBackend returns the Slack backend for cfg, mapping roster people to
// Slack users. It fails when cfg has no token; contacting Slack waits for
// the first delivery. logger may be nil.
func NewBackend(cfg Config, roster oncall.Roster, logger *slog.Logger) (*Backend, error) {
	if !cfg.Configured() {
		return nil, fmt.Errorf("slack backend: no bot token (%s or %s)", EnvBotToken, EnvBotTokenFile)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	opts := []slack.Option{slack.OptionHTTPClient(hc)}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	return &Backend{
		api:      slack.New(cfg.Token, opts...),
		cfg:      cfg,
		roster:   roster,
		log:      logger,
		channels: map[string]*incidentChannel{},
		recent:   map[string]time.Time{},
		now:      time.Now,
	}, nil
}

// Name returns "slack".
func (b *Backend) Name() string { return "slack" }

// Client returns the slack-go client the backend uses, for callers that
// share it (the Slack intake's replies).
func (b *Backend) Client() *slack.Client {
	if b == nil {
		return nil
	}
	return b.api
}

// Deliver posts n in the incident's channel (creating it on first use);
// a page also mentions the person there and, when the roster has their
// Slack ID, sends them the same message by DM.
func (b *Backend) Deliver(ctx context.Context, n workflows.Notification) error {
	if b == nil || b.api == nil {
		return temporal.NewNonRetryableApplicationError(
			"slack: the worker has no Slack client; set "+EnvBotToken+" or "+EnvBotTokenFile, NotConfiguredType, nil)
	}
	if err := checkNotification(n); err != nil {
		return err
	}
	var person oncall.Person
	if n.To != "" {
		p, ok := b.roster.Person(n.To)
		if !ok {
			p = oncall.Person{ID: n.To}
		}
		person = p
	}
	mention := ""
	if n.Kind == workflows.NotifyPage || n.To != "" {
		switch {
		case person.Slack != "":
			mention = "<@" + person.Slack + ">"
		case person.Name != "":
			mention = "*" + escape(person.Name) + "*"
		case person.ID != "":
			mention = "*" + escape(person.ID) + "*"
		}
	}
	msg, err := compose(n, mention)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("slack: "+err.Error(), BadRequestType, err)
	}
	key := deliveryKey(ctx, n)

	ch, err := b.postInChannel(ctx, n, person, key, msg)
	if err != nil {
		return err
	}
	if err := b.announce(ctx, n, ch); err != nil {
		return err
	}
	if n.Kind == workflows.NotifyPage && person.Slack != "" && !b.seen(key+"#dm") {
		if err := b.directMessage(ctx, person.Slack, ch, msg); err != nil {
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != BadRequestType {
				return err
			}
			// A DM Slack refuses for good (unknown user, a bot): the
			// channel post with the mention stands.
			b.log.WarnContext(ctx, "slack: page not sent by DM", slog.String("user", person.Slack), slog.String("error", err.Error()))
		}
		b.remember(key + "#dm")
	}
	return nil
}

func checkNotification(n workflows.Notification) error {
	bad := func(format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError("slack: "+fmt.Sprintf(format, args...), BadRequestType, nil)
	}
	switch {
	case strings.TrimSpace(n.Incident) == "":
		return bad("notification has no incident")
	case kindEmoji[n.Kind] == "":
		return bad("unknown notification kind %q", n.Kind)
	case n.Approval != nil && strings.TrimSpace(n.Approval.ID) == "":
		return bad("approval without an ID on incident %s", n.Incident)
	}
	return nil
}

// deliveryKey identifies one delivery across Temporal's retries: a hash
// of the notification, prefixed inside an activity by the activity's
// workflow, run and activity ID, which its retries share (so a re-page
// with the same text, a new activity, is delivered again).
func deliveryKey(ctx context.Context, n workflows.Notification) string {
	b, _ := json.Marshal(n)
	sum := sha256.Sum256(b)
	key := "msg/" + hex.EncodeToString(sum[:16])
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		key = "act/" + info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID + "/" + key
	}
	return key
}

// postInChannel posts msg in the incident's channel, once per key, and
// returns the channel. A channel gone (not found, archived, bot removed)
// since it was cached is resolved again, once.
func (b *Backend) postInChannel(ctx context.Context, n workflows.Notification, person oncall.Person, key string, msg message) (*incidentChannel, error) {
	for attempt := 0; ; attempt++ {
		ch, err := b.channel(ctx, n)
		if err != nil {
			return nil, err
		}
		if n.Kind == workflows.NotifyPage && person.Slack != "" {
			err = b.invite(ctx, ch, person.Slack)
		}
		if err == nil {
			if b.seen(key + "#channel") {
				return ch, nil
			}
			opts := append(msg.options(), slack.MsgOptionMetadata(slack.SlackMetadata{
				EventType:    MetadataEventType,
				EventPayload: map[string]any{"incident": n.Incident, "kind": string(n.Kind), "key": key},
			}))
			_, _, err = b.api.PostMessageContext(ctx, ch.id, opts...)
			if err == nil {
				b.remember(key + "#channel")
				return ch, nil
			}
		}
		if attempt == 0 && isCode(err, "channel_not_found", "is_archived", "not_in_channel") {
			b.log.WarnContext(ctx, "slack: incident channel gone, resolving it again",
				slog.String("incident", n.Incident), slog.String("channel", ch.id), slog.String("error", err.Error()))
			b.forget(n.Incident)
			continue
		}
		return nil, classify(methodOf(err, "chat.postMessage"), err)
	}
}

// methodErr names the method behind an error the caller classifies.
type methodErr struct {
	method string
	err    error
}

func (e *methodErr) Error() string { return e.err.Error() }
func (e *methodErr) Unwrap() error { return e.err }

func methodOf(err error, fallback string) string {
	var me *methodErr
	if errors.As(err, &me) {
		return me.method
	}
	return fallback
}

// announce posts a new incident's channel in the broadcast channel, once.
func (b *Backend) announce(ctx context.Context, n workflows.Notification, ch *incidentChannel) error {
	if b.cfg.BroadcastChannel == "" {
		return nil
	}
	b.mu.Lock()
	due := ch.created && !ch.announced
	b.mu.Unlock()
	if !due {
		return nil
	}
	text := fmt.Sprintf(":rotating_light: New incident <#%s>: %s", ch.id, escape(oneLine(n.Subject)))
	if n.Severity != "" {
		text = fmt.Sprintf(":rotating_light: New %s incident <#%s>: %s", escape(n.Severity), ch.id, escape(oneLine(n.Subject)))
	}
	_, _, err := b.api.PostMessageContext(ctx, b.cfg.BroadcastChannel,
		slack.MsgOptionText(mdtext.Truncate(text, SectionLimit), false),
		slack.MsgOptionBlocks(section(mdtext.Truncate(text, SectionLimit), "")),
		slack.MsgOptionDisableLinkUnfurl())
	if err != nil {
		return classify("chat.postMessage", fmt.Errorf("broadcast channel %s: %w", b.cfg.BroadcastChannel, err))
	}
	b.mu.Lock()
	ch.announced = true
	b.mu.Unlock()
	return nil
}

// directMessage sends msg to a user by DM, with a link to the channel.
func (b *Backend) directMessage(ctx context.Context, user string, ch *incidentChannel, msg message) error {
	im, _, _, err := b.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return classify("conversations.open", fmt.Errorf("DM to %s: %w", user, err))
	}
	if im == nil || im.ID == "" {
		return fmt.Errorf("slack conversations.open: DM to %s: no channel in the answer", user)
	}
	blocks := append([]slack.Block(nil), msg.blocks...)
	blocks = append(blocks, slack.NewContextBlock("",
		mrkdwnText("Incident channel: <#"+ch.id+">")))
	if len(blocks) > maxBlocks {
		blocks = blocks[:len(blocks)-1]
	}
	dm := message{text: msg.text, blocks: blocks}
	if _, _, err := b.api.PostMessageContext(ctx, im.ID, dm.options()...); err != nil {
		return classify("chat.postMessage", fmt.Errorf("DM to %s: %w", user, err))
	}
	return nil
}

// invite adds a user to the channel once; "already in" is success.
func (b *Backend) invite(ctx context.Context, ch *incidentChannel, user string) error {
	b.mu.Lock()
	done := ch.invited[user]
	b.mu.Unlock()
	if done {
		return nil
	}
	_, err := b.api.InviteUsersToConversationContext(ctx, ch.id, user)
	if err != nil && !isCode(err, "already_in_channel", "cant_invite_self") {
		if isCode(err, "channel_not_found", "is_archived", "not_in_channel") {
			return err // the caller resolves the channel again
		}
		if isCode(err, "user_not_found", "user_is_restricted", "user_is_ultra_restricted", "cant_invite", "user_is_bot", "not_allowed") {
			// The roster's Slack ID is wrong or the user cannot join: the
			// page still goes out, naming them.
			b.log.WarnContext(ctx, "slack: cannot invite the paged person to the incident channel",
				slog.String("user", user), slog.String("channel", ch.id), slog.String("error", err.Error()))
		} else {
			return &methodErr{method: "conversations.invite", err: fmt.Errorf("invite %s to #%s: %w", user, ch.name, err)}
		}
	}
	b.mu.Lock()
	ch.invited[user] = true
	b.mu.Unlock()
	return nil
}

// channel returns the incident's channel from the cache, or creates or
// finds it.
func (b *Backend) channel(ctx context.Context, n workflows.Notification) (*incidentChannel, error) {
	b.mu.Lock()
	ch := b.channels[n.Incident]
	b.mu.Unlock()
	if ch != nil {
		return ch, nil
	}
	unlock := b.locks.lock(n.Incident)
	defer unlock()
	b.mu.Lock()
	ch = b.channels[n.Incident]
	b.mu.Unlock()
	if ch != nil {
		return ch, nil
	}
	ch, err := b.resolve(ctx, n)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.channels[n.Incident]; !ok {
		b.chOrder = append(b.chOrder, n.Incident)
		for len(b.chOrder) > channelCacheSize {
			delete(b.channels, b.chOrder[0])
			b.chOrder = b.chOrder[1:]
		}
	}
	b.channels[n.Incident] = ch
	return ch, nil
}

func (b *Backend) forget(incident string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.channels, incident)
}

// errUnarchiveRefused says an archived channel holds the name and Slack
// would not unarchive it.
var errUnarchiveRefused = errors.New("archived channel cannot be unarchived")

// resolve creates the incident's channel or finds the existing one.
func (b *Backend) resolve(ctx context.Context, n workflows.Notification) (*incidentChannel, error) {
	base := ChannelName(n.Incident)
	for i := 1; i <= 5; i++ {
		name := base
		if i > 1 {
			suffix := "-" + strconv.Itoa(i)
			name = strings.TrimRight(base[:min(len(base), maxChannelName-len(suffix))], "-") + suffix
		}
		ch, err := b.createOrFind(ctx, n, name)
		if errors.Is(err, errUnarchiveRefused) {
			b.log.WarnContext(ctx, "slack: archived channel holds the incident's name; trying a suffixed name",
				slog.String("incident", n.Incident), slog.String("name", name), slog.String("error", err.Error()))
			continue
		}
		return ch, err
	}
	return nil, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("slack: no usable channel name for incident %s (#%s and its suffixed forms are archived and cannot be unarchived)", n.Incident, base),
		ChannelType, nil)
}

func (b *Backend) createOrFind(ctx context.Context, n workflows.Notification, name string) (*incidentChannel, error) {
	title := oneLine(n.Subject)
	created, err := b.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: b.cfg.PrivateChannels})
	if err == nil {
		ch := &incidentChannel{id: created.ID, name: name, created: true, invited: map[string]bool{}}
		if _, err := b.api.SetPurposeOfConversationContext(ctx, ch.id, Purpose(n.Incident, title)); err != nil {
			// The channel exists now; a retry finds it through name_taken
			// and sets the purpose then.
			return nil, classify("conversations.setPurpose", fmt.Errorf("channel #%s: %w", name, err))
		}
		b.log.InfoContext(ctx, "slack: incident channel created",
			slog.String("incident", n.Incident), slog.String("channel", ch.id), slog.String("name", name))
		return ch, nil
	}
	if !isCode(err, "name_taken") {
		return nil, classify("conversations.create", fmt.Errorf("channel #%s: %w", name, err))
	}
	found, err := b.find(ctx, name, true)
	if err != nil {
		return nil, err
	}
	if found == nil {
		if found, err = b.find(ctx, name, false); err != nil {
			return nil, err
		}
	}
	if found == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("slack: channel name #%s (incident %s) is taken by a channel the bot cannot see, likely a private channel it is not in; invite the bot to #%s or rename that channel",
				name, n.Incident, name), ChannelType, nil)
	}
	if found.IsArchived {
		if err := b.api.UnArchiveConversationContext(ctx, found.ID); err != nil && !isCode(err, "not_archived") {
			if isCode(err, "invalid_auth", "not_authed", "missing_scope", "account_inactive", "token_revoked") || slackCode(err) == "" {
				return nil, classify("conversations.unarchive", fmt.Errorf("channel #%s: %w", name, err))
			}
			return nil, fmt.Errorf("channel #%s: %w: %w", name, errUnarchiveRefused, err)
		}
		b.log.InfoContext(ctx, "slack: incident channel unarchived", slog.String("incident", n.Incident), slog.String("channel", found.ID))
	}
	if !found.IsMember {
		if found.IsPrivate {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("slack: private channel #%s (incident %s) exists but the bot is not a member; invite the bot to it", name, n.Incident),
				ChannelType, nil)
		}
		if _, _, _, err := b.api.JoinConversationContext(ctx, found.ID); err != nil {
			return nil, classify("conversations.join", fmt.Errorf("channel #%s: %w", name, err))
		}
	}
	if id, ok := IncidentFromPurpose(found.Purpose.Value); !ok || id != n.Incident {
		if _, err := b.api.SetPurposeOfConversationContext(ctx, found.ID, Purpose(n.Incident, title)); err != nil {
			return nil, classify("conversations.setPurpose", fmt.Errorf("channel #%s: %w", name, err))
		}
	}
	b.log.InfoContext(ctx, "slack: incident channel found", slog.String("incident", n.Incident), slog.String("channel", found.ID))
	return &incidentChannel{id: found.ID, name: name, invited: map[string]bool{}}, nil
}

// find looks a channel up by name with conversations.list, public and
// private, following the cursor; activeOnly excludes archived channels.
func (b *Backend) find(ctx context.Context, name string, activeOnly bool) (*slack.Channel, error) {
	params := &slack.GetConversationsParameters{
		Types: []string{"public_channel", "private_channel"}, ExcludeArchived: activeOnly, Limit: listPageSize,
	}
	for range 10000 {
		chans, next, err := b.api.GetConversationsContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.list", fmt.Errorf("looking for #%s: %w", name, err))
		}
		for i := range chans {
			if chans[i].Name == name {
				return &chans[i], nil
			}
		}
		if next == "" {
			return nil, nil
		}
		params.Cursor = next
	}
	return nil, fmt.Errorf("slack conversations.list: looking for #%s: too many pages", name)
}

// seen reports whether a delivery part under key was done recently.
func (b *Backend) seen(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.recent[key]
	return ok && b.now().Sub(t) < recentTTL
}

// remember records a delivery part, evicting the oldest beyond the bound.
func (b *Backend) remember(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.recent[key]; !ok {
		b.recOrder = append(b.recOrder, key)
	}
	b.recent[key] = b.now()
	for len(b.recOrder) > recentSize {
		delete(b.recent, b.recOrder[0])
		b.recOrder = b.recOrder[1:]
	}
}

// keyedMutex serializes work per key (one incident's channel resolution)
// without serializing different keys.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
