package slackact

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/runbooks"
)

// EnvConsumerChannels maps the owners of downstream models and exposures
// (as lineage names them: a team such as "finance", or an email) to the
// Slack channels where they hear about incidents:
// "finance=#finance-data,growth=C0123ABCD". Read by ConsumerChannelsFromEnv.
const EnvConsumerChannels = "DATASEV_SLACK_CONSUMER_CHANNELS"

// NotifyConsumersName is slack.notify_consumers's action name.
const NotifyConsumersName = "slack.notify_consumers"

// ConsumerMetadataEventType is the event_type of the message metadata on
// consumer notices; the payload names the incident and the runbook step.
// Before posting in a channel the action looks for it in the channel's
// recent history, so a retried activity does not post twice.
const ConsumerMetadataEventType = "datasev_consumer_notice"

// consumerHistoryLimit is how many recent messages of a channel are read
// for an earlier notice.
const consumerHistoryLimit = 100

var (
	channelIDRe   = regexp.MustCompile(`^[CG][A-Z0-9]{6,}$`)
	channelNameRe = regexp.MustCompile(`^[a-z0-9_-]{1,80}$`)
)

// ConsumerChannelsFromEnv reads EnvConsumerChannels through getenv: a
// comma-separated list of owner=channel entries, where channel is "#name"
// or a channel ID (C… or G…). Owners are matched case-insensitively and
// stored lower-cased; channel names are stored as "#name". Unset is an
// empty map, not an error. Errors name the variable and the bad entry.
func ConsumerChannelsFromEnv(getenv func(string) string) (map[string]string, error) {
	out := map[string]string{}
	raw := strings.TrimSpace(getenv(EnvConsumerChannels))
	if raw == "" {
		return out, nil
	}
	for entry := range strings.SplitSeq(raw, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		owner, ch, ok := strings.Cut(entry, "=")
		owner, ch = strings.ToLower(strings.TrimSpace(owner)), strings.TrimSpace(ch)
		bad := func(why string) error {
			return fmt.Errorf("%s: entry %q: %s (want owner=#channel-name or owner=C0123ABCD, separated by commas)", EnvConsumerChannels, entry, why)
		}
		switch {
		case !ok:
			return nil, bad("no =")
		case owner == "":
			return nil, bad("no owner before =")
		case ch == "":
			return nil, bad("no channel after =")
		}
		target, err := channelTarget(ch)
		if err != nil {
			return nil, bad(err.Error())
		}
		if prev, dup := out[owner]; dup && prev != target {
			return nil, bad(fmt.Sprintf("owner %q is already mapped to %s", owner, prev))
		}
		out[owner] = target
	}
	return out, nil
}

// channelTarget normalizes a channel written as "#name" or an ID.
func channelTarget(ch string) (string, error) {
	if name, ok := strings.CutPrefix(ch, "#"); ok {
		name = strings.ToLower(name)
		if !channelNameRe.MatchString(name) {
			return "", fmt.Errorf("channel name %q: Slack names are 1 to 80 of a-z, 0-9, - and _", ch)
		}
		return "#" + name, nil
	}
	if channelIDRe.MatchString(ch) {
		return ch, nil
	}
	return "", fmt.Errorf("channel %q is neither #name nor a channel ID such as C0123ABCD", ch)
}

// Consumers is the slack.notify_consumers action: it tells the teams that
// consume an affected dataset, in their own channels.
type Consumers struct {
	api      *slack.Client
	channels map[string]string
	log      *slog.Logger

	mu  sync.Mutex
	ids map[string]string // channel name → ID, as conversations.list found it
}

// NewConsumers returns the action over client (nil when Slack is not
// configured: the action then fails as not configured) with channels, the
// owner → channel map of ConsumerChannelsFromEnv. logger may be nil.
func NewConsumers(client *slack.Client, channels map[string]string, logger *slog.Logger) *Consumers {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := make(map[string]string, len(channels))
	for k, v := range channels {
		m[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return &Consumers{api: client, channels: m, log: logger, ids: map[string]string{}}
}

// NotifyConsumersSpec is slack.notify_consumers's spec; actions.Typed adds
// its inputs from NotifyConsumersInput.
func NotifyConsumersSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: NotifyConsumersName,
		Description: "Tell the data teams that consume an affected dataset, in their Slack channels: each owner (from " +
			"lineage.downstream's owners) maps to a channel through " + EnvConsumerChannels + ", or is a channel itself " +
			"when written #name; owners sharing a channel get one post. The bot joins public channels it is not in. " +
			"Idempotent: a channel that already has this step's notice for the incident is not posted again. Owners " +
			"without a channel are listed in unmapped, channels Slack refuses (not found, archived, private without the " +
			"bot) in failed; neither fails the step. Dry run: lists the channels, posts nothing.",
		Outputs: []string{"posted", "already_posted", "would_post", "unmapped", "failed", "count"},
		DryRun:  true,
	}
}

// NotifyConsumersInput is slack.notify_consumers's inputs.
type NotifyConsumersInput struct {
	Owners   []string `json:"owners" datasev:"required" desc:"owners of the downstream models and exposures (lineage.downstream's owners), or channels written #name"`
	Dataset  string   `json:"dataset" desc:"the affected dataset or model, e.g. orders_daily"`
	Message  string   `json:"message" desc:"what the consumers should know or do (Markdown)"`
	Impact   string   `json:"impact" desc:"the impact summary, e.g. lineage.downstream's summary (Markdown)"`
	Severity string   `json:"severity" desc:"the incident's severity to show, e.g. ${ incident.severity }"`
}

// ConsumerNotice is what a consumer notice says; consumers.tmpl renders it.
type ConsumerNotice struct {
	// Incident is the incident's workflow ID.
	Incident string
	// Severity is the incident's severity, e.g. SEV2; "" to leave it out.
	Severity string
	// Dataset is the affected dataset or model.
	Dataset string
	// Message is what the consumers should know or do (Markdown).
	Message string
	// Impact is the impact summary (Markdown).
	Impact string
	// Owners are the owners the channel is told for.
	Owners []string
}

//go:embed templates/consumers.tmpl
var consumersTmplText string

var consumersTmpl = template.Must(template.New("consumers.tmpl").Funcs(template.FuncMap{
	// code is a code span that text cannot close early: the dataset comes
	// from alert labels, and a backtick in it would let the rest pass for
	// Markdown (a link, emphasis). Mrkdwn escapes what is inside.
	"code": func(s string) string {
		return "`" + strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'") + "`"
	},
	"list": func(xs []string) string {
		switch len(xs) {
		case 0:
			return ""
		case 1:
			return xs[0]
		}
		return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
	},
}).Parse(consumersTmplText))

// RenderConsumerNotice renders a consumer notice as the Slack mrkdwn that is
// posted: the template's Markdown through Mrkdwn.
func RenderConsumerNotice(data ConsumerNotice) (string, error) {
	md, err := renderConsumerMarkdown(data)
	if err != nil {
		return "", err
	}
	return Mrkdwn(md), nil
}

func renderConsumerMarkdown(data ConsumerNotice) (string, error) {
	var b bytes.Buffer
	if err := consumersTmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render consumer notice: %w", err)
	}
	return strings.TrimSpace(b.String()), nil
}

// consumerTarget is one channel to post in and the owners it is for.
type consumerTarget struct {
	ref      string // "#name" or a channel ID, as configured
	id       string // resolved channel ID
	member   bool   // the bot is a member, as conversations.list said
	archived bool   // archived, as conversations.list said
	owners   []string
}

// label names the channel in outputs and logs: "#name" or its ID.
func (t *consumerTarget) label() string { return t.ref }

// name is the channel's name without "#", "" for a channel given by ID.
func (t *consumerTarget) name() string {
	n, ok := strings.CutPrefix(t.ref, "#")
	if !ok {
		return ""
	}
	return n
}

// consumerFailure is a channel Slack refused, for the output's failed.
type consumerFailure struct {
	target *consumerTarget
	reason string
}

// NotifyConsumers posts the notice in each owner's channel, once.
func (c *Consumers) NotifyConsumers(ctx context.Context, req runbooks.ActionRequest, in NotifyConsumersInput) (runbooks.ActionResult, error) {
	const name = NotifyConsumersName
	if c == nil || c.api == nil {
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(
			name+": Slack not configured; set "+EnvBotToken+" or "+EnvBotTokenFile, NotConfiguredType, nil)
	}
	targets, unmapped, err := c.route(in.Owners)
	if err != nil {
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(name+": "+err.Error(), BadRequestType, nil)
	}
	out := map[string]any{
		"posted": []any{}, "already_posted": []any{}, "would_post": []any{},
		"unmapped": toAny(unmapped), "failed": []any{}, "count": 0,
	}
	unmappedNote := ""
	if len(unmapped) > 0 {
		unmappedNote = fmt.Sprintf("; no channel for %s (map them in %s)", strings.Join(unmapped, ", "), EnvConsumerChannels)
	}
	if len(targets) == 0 {
		return runbooks.ActionResult{Output: out, Summary: "no consumer channel to tell" + unmappedNote}, nil
	}
	if req.DryRun {
		labels := make([]string, len(targets))
		for i, t := range targets {
			labels[i] = t.label()
		}
		out["would_post"] = toAny(labels)
		return runbooks.ActionResult{Output: out, Summary: "would post to " + strings.Join(labels, ", ") + unmappedNote}, nil
	}
	notice := ConsumerNotice{
		Incident: req.Incident, Severity: strings.TrimSpace(in.Severity), Dataset: strings.TrimSpace(in.Dataset),
		Message: strings.TrimSpace(in.Message), Impact: strings.TrimSpace(in.Impact),
	}
	if err := c.resolve(ctx, targets, false); err != nil {
		return runbooks.ActionResult{}, err
	}
	d, err := c.postAll(ctx, req, targets, notice)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	summary := d.record(out) + unmappedNote
	return runbooks.ActionResult{Output: out, Summary: summary, Detail: d.detail(targets, unmapped)}, nil
}

// consumerDeliveries is where a notice was posted, had already been posted
// (a retry) and failed to be posted.
type consumerDeliveries struct {
	posted, already []string
	failed          []consumerFailure
}

// postAll posts the notice, with each channel's owners, in each resolved
// channel, logging each outcome. A channel not found or archived is a
// failure, not an error.
func (c *Consumers) postAll(ctx context.Context, req runbooks.ActionRequest, targets []*consumerTarget, notice ConsumerNotice) (consumerDeliveries, error) {
	var d consumerDeliveries
	for _, t := range targets {
		n := notice
		n.Owners = t.owners
		msg, err := consumerMessage(req, n)
		if err != nil {
			return d, temporal.NewNonRetryableApplicationError(NotifyConsumersName+": "+err.Error(), BadRequestType, err)
		}
		switch {
		case t.id == "":
			d.failed = append(d.failed, consumerFailure{t, "channel_not_found"})
			continue
		case t.archived:
			d.failed = append(d.failed, consumerFailure{t, "is_archived"})
			continue
		}
		outcome, reason, err := c.deliver(ctx, req, t, msg)
		if err != nil {
			return d, err
		}
		switch outcome {
		case outcomePosted:
			d.posted = append(d.posted, t.label())
		case outcomeAlready:
			d.already = append(d.already, t.label())
		default:
			d.failed = append(d.failed, consumerFailure{t, reason})
		}
		c.log.InfoContext(ctx, "slack: consumer notice", slog.String("incident", req.Incident), slog.String("step", req.Step),
			slog.String("channel", t.label()), slog.String("outcome", outcome), slog.String("reason", reason))
	}
	return d, nil
}

// record writes the deliveries' outputs (posted counts the channels posted
// now and before) and returns the summary.
func (d consumerDeliveries) record(out map[string]any) string {
	all := append(append([]string(nil), d.posted...), d.already...)
	out["posted"] = toAny(all)
	out["already_posted"] = toAny(d.already)
	out["count"] = len(all)
	fl := make([]any, len(d.failed))
	var failNotes []string
	for i, f := range d.failed {
		fl[i] = map[string]any{"channel": f.target.label(), "owners": toAny(f.target.owners), "reason": f.reason}
		failNotes = append(failNotes, f.target.label()+" ("+f.reason+")")
	}
	out["failed"] = fl

	summary := "told no consumer channel"
	if len(all) > 0 {
		summary = fmt.Sprintf("told %d consumer channel(s): %s", len(all), strings.Join(all, ", "))
	}
	if len(failNotes) > 0 {
		summary += "; failed: " + strings.Join(failNotes, ", ")
	}
	return summary
}

// detail is a line per channel (its owners and what happened) and per
// owner without a channel.
func (d consumerDeliveries) detail(targets []*consumerTarget, unmapped []string) string {
	var b strings.Builder
	for _, t := range targets {
		state := "posted"
		switch {
		case slices.Contains(d.already, t.label()):
			state = "already posted (a retry)"
		case !slices.Contains(d.posted, t.label()):
			state = "failed"
			for _, f := range d.failed {
				if f.target == t {
					state = "failed: " + f.reason
				}
			}
		}
		fmt.Fprintf(&b, "- %s for %s: %s\n", t.label(), strings.Join(t.owners, ", "), state)
	}
	for _, o := range unmapped {
		fmt.Fprintf(&b, "- %s: no channel\n", o)
	}
	return b.String()
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// route maps owners to channels, one target per channel in the owners'
// order, and lists the owners without one.
func (c *Consumers) route(owners []string) ([]*consumerTarget, []string, error) {
	var targets []*consumerTarget
	byRef := map[string]*consumerTarget{}
	var unmapped []string
	seen := map[string]bool{}
	for _, o := range owners {
		o = strings.TrimSpace(o)
		key := strings.ToLower(o)
		if o == "" || seen[key] {
			continue
		}
		seen[key] = true
		ref, ok := c.channels[key]
		if strings.HasPrefix(o, "#") {
			r, err := channelTarget(o)
			if err != nil {
				return nil, nil, fmt.Errorf("owner %q: %w", o, err)
			}
			ref, ok = r, true
		}
		if !ok {
			unmapped = append(unmapped, o)
			continue
		}
		t := byRef[ref]
		if t == nil {
			t = &consumerTarget{ref: ref}
			if !strings.HasPrefix(ref, "#") {
				t.id = ref
			}
			byRef[ref] = t
			targets = append(targets, t)
		}
		t.owners = append(t.owners, o)
	}
	return targets, unmapped, nil
}

// resolve sets the IDs of targets named #name: from the cache, unless
// fresh, then with conversations.list (public and private channels the
// bot can see, archived included, following the cursor) in one pass for
// all of them. A name not found keeps an empty ID.
func (c *Consumers) resolve(ctx context.Context, targets []*consumerTarget, fresh bool) error {
	want := map[string][]*consumerTarget{}
	c.mu.Lock()
	for _, t := range targets {
		n := t.name()
		if n == "" {
			continue
		}
		if id, ok := c.ids[n]; ok && !fresh {
			t.id = id
			continue
		}
		want[n] = append(want[n], t)
	}
	c.mu.Unlock()
	if len(want) == 0 {
		return nil
	}
	params := &slack.GetConversationsParameters{
		Types: []string{"public_channel", "private_channel"}, Limit: listPageSize,
	}
	found := 0
	for range 10000 {
		chans, next, err := c.api.GetConversationsContext(ctx, params)
		if err != nil {
			return classify("conversations.list", fmt.Errorf("looking for the consumer channels: %w", err))
		}
		for i := range chans {
			ts, ok := want[chans[i].Name]
			if !ok || ts[0].id != "" {
				continue
			}
			for _, t := range ts {
				t.id, t.member, t.archived = chans[i].ID, chans[i].IsMember, chans[i].IsArchived
			}
			c.mu.Lock()
			c.ids[chans[i].Name] = chans[i].ID
			c.mu.Unlock()
			found++
		}
		if found == len(want) || next == "" {
			return nil
		}
		params.Cursor = next
	}
	return fmt.Errorf("slack conversations.list: looking for the consumer channels: too many pages")
}

// Outcomes of one channel's delivery.
const (
	outcomePosted  = "posted"
	outcomeAlready = "already"
	outcomeFailed  = "failed"
)

// deliver posts msg in the target's channel unless its recent history
// already holds this step's notice for the incident. Not a member: the bot
// joins (public channels) and carries on. A channel that is gone or
// archived, or private without the bot, is a failed outcome with Slack's
// reason; other errors are classified for Temporal.
func (c *Consumers) deliver(ctx context.Context, req runbooks.ActionRequest, t *consumerTarget, msg message) (outcome, reason string, err error) {
	joined, reresolved := false, false
	if t.id != "" && !t.member && t.name() != "" {
		// conversations.list said the bot is not in it.
		if reason, err := c.join(ctx, t); err != nil || reason != "" {
			return outcomeFailed, reason, err
		}
		joined = true
	}
	for range 4 {
		done, err := c.alreadyPosted(ctx, t.id, req)
		if err == nil {
			if done {
				return outcomeAlready, "", nil
			}
			_, _, err = c.api.PostMessageContext(ctx, t.id, append(msg.options(), slack.MsgOptionMetadata(slack.SlackMetadata{
				EventType:    ConsumerMetadataEventType,
				EventPayload: map[string]any{"incident": req.Incident, "step": req.Step},
			}))...)
			if err == nil {
				return outcomePosted, "", nil
			}
			err = &methodErr{method: "chat.postMessage", err: err}
		}
		switch {
		case isCode(err, "not_in_channel") && !joined:
			joined = true
			if reason, err := c.join(ctx, t); err != nil || reason != "" {
				return outcomeFailed, reason, err
			}
			continue
		case isCode(err, "channel_not_found") && t.name() != "" && !reresolved:
			// The cached ID may be stale (a channel renamed or deleted
			// since): look the name up again, once.
			reresolved = true
			c.mu.Lock()
			delete(c.ids, t.name())
			c.mu.Unlock()
			old := t.id
			t.id = ""
			if err := c.resolve(ctx, []*consumerTarget{t}, true); err != nil {
				return "", "", err
			}
			if t.id != "" && t.id != old {
				joined = t.member
				continue
			}
			return outcomeFailed, "channel_not_found", nil
		case isCode(err, "channel_not_found", "is_archived", "not_in_channel"):
			return outcomeFailed, slackCode(err), nil
		}
		return "", "", classify(methodOf(err, "conversations.history"), fmt.Errorf("consumer channel %s: %w", t.label(), err))
	}
	return "", "", fmt.Errorf("slack: consumer channel %s: the notice could not be posted", t.label())
}

// join makes the bot a member of a public channel. reason is set when
// Slack refuses for good (archived, private, gone).
func (c *Consumers) join(ctx context.Context, t *consumerTarget) (reason string, err error) {
	_, _, _, err = c.api.JoinConversationContext(ctx, t.id)
	switch {
	case err == nil:
		t.member = true
		c.log.InfoContext(ctx, "slack: joined a consumer channel", slog.String("channel", t.label()), slog.String("id", t.id))
		return "", nil
	case isCode(err, "method_not_supported_for_channel_type"):
		return "private channel without the bot: invite the bot to " + t.label(), nil
	case isCode(err, "channel_not_found", "is_archived"):
		return slackCode(err), nil
	}
	return "", classify("conversations.join", fmt.Errorf("consumer channel %s: %w", t.label(), err))
}

// alreadyPosted reports whether the channel's recent history holds a
// consumer notice of this incident's step.
func (c *Consumers) alreadyPosted(ctx context.Context, channelID string, req runbooks.ActionRequest) (bool, error) {
	h, err := c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
		ChannelID: channelID, Limit: consumerHistoryLimit, IncludeAllMetadata: true,
	})
	if err != nil {
		return false, &methodErr{method: "conversations.history", err: err}
	}
	for _, m := range h.Messages {
		md := m.Metadata
		if md.EventType != ConsumerMetadataEventType {
			continue
		}
		if fmt.Sprint(md.EventPayload["incident"]) == req.Incident && fmt.Sprint(md.EventPayload["step"]) == req.Step {
			return true, nil
		}
	}
	return false, nil
}

// consumerMessage composes the notice as a Slack message: the rendered
// mrkdwn in sections, a one-line fallback text and a context line.
func consumerMessage(req runbooks.ActionRequest, n ConsumerNotice) (message, error) {
	body, err := RenderConsumerNotice(n)
	if err != nil {
		return message{}, err
	}
	var blocks []slack.Block
	pieces := splitMrkdwn(body, SectionLimit)
	if len(pieces) > maxBodySections {
		pieces = append(pieces[:maxBodySections-1:maxBodySections-1], "_… the rest is in the incident's channel._")
	}
	for _, p := range pieces {
		if strings.TrimSpace(p) != "" {
			blocks = append(blocks, section(p, ""))
		}
	}
	ctxLine := fmt.Sprintf("incident `%s` · runbook step `%s`", escape(req.Incident), escape(req.Step))
	blocks = append(blocks, slack.NewContextBlock("",
		mrkdwnText(mdtext.Truncate(ctxLine, SectionLimit))))
	text := "Data incident"
	if n.Severity != "" {
		text = "[" + n.Severity + "] " + text
	}
	if n.Dataset != "" {
		text += " affecting " + n.Dataset
	}
	text += " (incident " + req.Incident + ")"
	return message{text: mdtext.Truncate(escape(oneLine(text)), 3000), blocks: blocks}, nil
}
