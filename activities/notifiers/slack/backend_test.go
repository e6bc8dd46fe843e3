package slackact_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

const (
	aliceSlack = "U0ALICE"
	bobSlack   = "U0BOB"
)

var roster = oncall.Roster{
	Team: "data", TimeZone: "Europe/Berlin",
	People: []oncall.Person{
		{ID: "alice", Name: "Alice", Slack: aliceSlack},
		{ID: "bob", Name: "Bob", Slack: bobSlack},
		{ID: "carol", Name: "Carol"}, // no Slack ID
	},
}

func newServer(t *testing.T) *slacktest.Server {
	t.Helper()
	srv := slacktest.New()
	t.Cleanup(srv.Close)
	srv.AddUser(slacktest.User{ID: aliceSlack, Name: "alice", RealName: "Alice"})
	srv.AddUser(slacktest.User{ID: bobSlack, Name: "bob", RealName: "Bob"})
	return srv
}

func newBackend(t *testing.T, srv *slacktest.Server, mod ...func(*slackact.Config)) *slackact.Backend {
	t.Helper()
	cfg, err := slackact.ConfigFromEnv(func(k string) string { return srv.Env()[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mod {
		m(&cfg)
	}
	b, err := slackact.NewBackend(cfg, roster, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(incident, subject, body string) workflows.Notification {
	return workflows.Notification{Kind: workflows.NotifyPost, Incident: incident, Severity: "SEV2", Subject: subject, Body: body}
}

func channelOf(t *testing.T, srv *slacktest.Server, incident string) slacktest.Channel {
	t.Helper()
	c, ok := srv.ChannelByName(slackact.ChannelName(incident))
	if !ok {
		t.Fatalf("no channel %s; channels: %+v", slackact.ChannelName(incident), srv.Channels())
	}
	return c
}

func sectionTexts(m slacktest.Message) []string {
	var out []string
	for _, b := range m.Blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			out = append(out, s.Text.Text)
		}
	}
	return out
}

func TestFirstNotificationCreatesChannelThenReusesIt(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	ctx := t.Context()
	const id = "incident-orders-load"

	page := workflows.Notification{Kind: workflows.NotifyPage, Incident: id, Severity: "SEV1", To: "alice", Subject: "Orders load failed"}
	if err := b.Deliver(ctx, page); err != nil {
		t.Fatal(err)
	}
	c := channelOf(t, srv, id)
	if c.Name != "inc-orders-load" || c.IsPrivate {
		t.Errorf("channel = %+v", c)
	}
	if got, ok := slackact.IncidentFromPurpose(c.Purpose); !ok || got != id {
		t.Errorf("purpose %q does not name %s", c.Purpose, id)
	}
	if !strings.Contains(c.Purpose, "Orders load failed") {
		t.Errorf("purpose %q lacks the title", c.Purpose)
	}
	if m := srv.Members(c.ID); !contains(m, slacktest.BotUserID) || !contains(m, aliceSlack) {
		t.Errorf("members = %v, want the bot and alice", m)
	}
	if err := b.Deliver(ctx, post(id, "Snowflake load history checked", "3 loads **failed**")); err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver(ctx, workflows.Notification{Kind: workflows.NotifyPage, Incident: id, To: "alice", Subject: "Still unacknowledged"}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls("conversations.create"); n != 1 {
		t.Errorf("conversations.create called %d times, want 1", n)
	}
	if n := srv.Calls("conversations.invite"); n != 1 {
		t.Errorf("conversations.invite called %d times, want 1 (alice once)", n)
	}
	msgs := srv.Messages(c.ID)
	if len(msgs) != 3 {
		t.Fatalf("%d messages in the channel, want 3", len(msgs))
	}
	if !strings.HasPrefix(msgs[0].Text, "<@"+aliceSlack+">") || !strings.Contains(sectionTexts(msgs[0])[0], "<@"+aliceSlack+">") {
		t.Errorf("page does not mention alice: text %q blocks %q", msgs[0].Text, sectionTexts(msgs[0]))
	}
	if got := sectionTexts(msgs[1]); len(got) != 2 || got[1] != "3 loads *failed*" {
		t.Errorf("post sections = %q", got)
	}
	var meta struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal(msgs[1].Metadata, &meta); err != nil || meta.EventType != slackact.MetadataEventType ||
		meta.EventPayload["incident"] != id || meta.EventPayload["kind"] != "post" {
		t.Errorf("metadata = %s (%v)", msgs[1].Metadata, err)
	}
	if msgs[1].Text != "[SEV2] Snowflake load history checked" {
		t.Errorf("fallback text = %q", msgs[1].Text)
	}
	// The page also went to alice by DM, once per page.
	dm, ok := srv.IM(aliceSlack)
	if !ok {
		t.Fatal("no DM opened with alice")
	}
	if got := srv.Messages(dm); len(got) != 2 || !strings.Contains(got[0].Text, "Orders load failed") {
		t.Errorf("DMs = %+v", got)
	}
}

func TestPersonWithoutSlackIDIsNamed(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	const id = "incident-carol"
	if err := b.Deliver(t.Context(), workflows.Notification{Kind: workflows.NotifyPage, Incident: id, To: "carol", Subject: "Please look"}); err != nil {
		t.Fatal(err)
	}
	c := channelOf(t, srv, id)
	msgs := srv.Messages(c.ID)
	if len(msgs) != 1 || !strings.HasPrefix(sectionTexts(msgs[0])[0], "*Carol*") {
		t.Fatalf("messages = %+v", msgs)
	}
	if srv.Calls("conversations.invite") != 0 || srv.Calls("conversations.open") != 0 {
		t.Errorf("invited or DMed a person without a Slack ID")
	}
}

func TestRetryDoesNotPostTwice(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	n := workflows.Notification{Kind: workflows.NotifyPage, Incident: "incident-retry", To: "bob", Subject: "x"}
	// The DM fails after the channel post succeeded; the retry sends only
	// the DM.
	srv.Fail(slacktest.Fault{Method: "conversations.open", Status: 503})
	if err := b.Deliver(t.Context(), n); err == nil {
		t.Fatal("want an error from the failed DM")
	}
	if err := b.Deliver(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	c := channelOf(t, srv, n.Incident)
	if got := len(srv.Messages(c.ID)); got != 1 {
		t.Errorf("%d channel messages, want 1", got)
	}
	dm, _ := srv.IM(bobSlack)
	if got := len(srv.Messages(dm)); got != 1 {
		t.Errorf("%d DMs, want 1", got)
	}
}

func TestNameTakenFindsAndJoins(t *testing.T) {
	srv := newServer(t)
	const id = "incident-taken"
	// Many channels, so the lookup pages through the cursor.
	for i := range 450 {
		srv.AddChannel(slacktest.Channel{Name: "general-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + itoa(i)})
	}
	existing := srv.AddChannel(slacktest.Channel{Name: slackact.ChannelName(id)})
	b := newBackend(t, srv)
	if err := b.Deliver(t.Context(), post(id, "Found again", "")); err != nil {
		t.Fatal(err)
	}
	if len(srv.Channels()) != 451 {
		t.Errorf("a channel was created: %d channels", len(srv.Channels()))
	}
	if srv.Calls("conversations.list") < 3 {
		t.Errorf("conversations.list called %d times; want it to follow the cursor", srv.Calls("conversations.list"))
	}
	if !contains(srv.Members(existing), slacktest.BotUserID) {
		t.Error("the bot did not join the existing channel")
	}
	if len(srv.Messages(existing)) != 1 {
		t.Error("no message in the existing channel")
	}
	c, _ := srv.Channel(existing)
	if got, ok := slackact.IncidentFromPurpose(c.Purpose); !ok || got != id {
		t.Errorf("purpose = %q", c.Purpose)
	}
}

func TestNameTakenByArchivedChannelUnarchives(t *testing.T) {
	srv := newServer(t)
	const id = "incident-archived"
	old := srv.AddChannel(slacktest.Channel{Name: slackact.ChannelName(id), IsArchived: true,
		Members: []string{slacktest.BotUserID}, Purpose: slackact.Purpose(id, "earlier")})
	b := newBackend(t, srv)
	if err := b.Deliver(t.Context(), post(id, "Back again", "")); err != nil {
		t.Fatal(err)
	}
	c, _ := srv.Channel(old)
	if c.IsArchived || len(srv.Messages(old)) != 1 {
		t.Errorf("archived channel not reused: %+v, %d messages", c, len(srv.Messages(old)))
	}
}

func TestNameTakenByInvisiblePrivateChannel(t *testing.T) {
	srv := newServer(t)
	const id = "incident-private"
	srv.AddChannel(slacktest.Channel{Name: slackact.ChannelName(id), IsPrivate: true})
	b := newBackend(t, srv)
	err := b.Deliver(t.Context(), post(id, "x", ""))
	actiontest.NonRetryable(t, err, slackact.ChannelType)
	if !strings.Contains(err.Error(), "#"+slackact.ChannelName(id)) {
		t.Errorf("error does not name the channel: %v", err)
	}
}

func TestPrivateChannelsAndBroadcast(t *testing.T) {
	srv := newServer(t)
	bc := srv.AddChannel(slacktest.Channel{Name: "data-incidents", Members: []string{slacktest.BotUserID}})
	b := newBackend(t, srv, func(c *slackact.Config) { c.PrivateChannels = true; c.BroadcastChannel = bc })
	const id = "incident-priv"
	for range 2 {
		if err := b.Deliver(t.Context(), post(id, "Orders late", "")); err != nil {
			t.Fatal(err)
		}
	}
	c := channelOf(t, srv, id)
	if !c.IsPrivate {
		t.Error("channel is not private")
	}
	ann := srv.Messages(bc)
	if len(ann) != 1 || !strings.Contains(ann[0].Text, "<#"+c.ID+">") {
		t.Errorf("announcements = %+v", ann)
	}
}

func TestChannelGoneIsResolvedAgain(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	const id = "incident-gone"
	if err := b.Deliver(t.Context(), post(id, "one", "")); err != nil {
		t.Fatal(err)
	}
	c := channelOf(t, srv, id)
	srv.Fail(slacktest.Fault{Method: "chat.postMessage", Error: "channel_not_found"})
	if err := b.Deliver(t.Context(), post(id, "two", "")); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Messages(c.ID)); got != 2 {
		t.Errorf("%d messages, want 2", got)
	}
	if srv.Calls("conversations.list") == 0 {
		t.Error("the channel was not resolved again")
	}
}

func TestApprovalPageHasButtons(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	const id = "incident-approve"
	deadline := time.Date(2026, 5, 4, 12, 30, 0, 0, time.UTC)
	n := workflows.Notification{Kind: workflows.NotifyPage, Incident: id, To: "alice", Severity: "SEV2",
		Subject: "Approve revert of abc123?", Body: "Revert commit `abc123` in **dbt**.",
		Approval: &workflows.ApprovalRef{ID: "revert-1", Action: "github.revert_commit", Approver: "commander", Deadline: deadline}}
	if err := b.Deliver(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	c := channelOf(t, srv, id)
	dm, _ := srv.IM(aliceSlack)
	for _, where := range []string{c.ID, dm} {
		msgs := srv.Messages(where)
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages", where, len(msgs))
		}
		var act *slack.ActionBlock
		for _, bl := range msgs[0].Blocks {
			if a, ok := bl.(*slack.ActionBlock); ok {
				act = a
			}
		}
		if act == nil || act.BlockID != slackact.ApprovalBlockID || len(act.Elements.ElementSet) != 2 {
			t.Fatalf("%s: no approval actions block in %s", where, msgs[0].RawBlocks)
		}
		approve := act.Elements.ElementSet[0].(*slack.ButtonBlockElement)
		deny := act.Elements.ElementSet[1].(*slack.ButtonBlockElement)
		if approve.ActionID != slackact.ApproveActionID || approve.Style != slack.StylePrimary || approve.Confirm != nil {
			t.Errorf("approve = %+v", approve)
		}
		if deny.ActionID != slackact.DenyActionID || deny.Style != slack.StyleDanger || deny.Confirm == nil {
			t.Errorf("deny = %+v", deny)
		}
		for _, btn := range []*slack.ButtonBlockElement{approve, deny} {
			v, err := slackact.ParseButtonValue(btn.Value)
			if err != nil || v != (slackact.ButtonValue{Incident: id, Approval: "revert-1"}) {
				t.Errorf("button value %q: %+v, %v", btn.Value, v, err)
			}
		}
		if !strings.Contains(strings.Join(sectionTexts(msgs[0]), "\n"), "<!date^"+itoa(int(deadline.Unix()))+"^") {
			t.Errorf("deadline not shown: %q", sectionTexts(msgs[0]))
		}
	}
}

func TestLongBodyIsSplit(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	var body strings.Builder
	body.WriteString("| table | rows |\n|---|---|\n")
	for i := range 400 {
		body.WriteString("| orders_" + itoa(i) + " | " + strings.Repeat("9", 20) + " |\n")
	}
	body.WriteString("\nEnd of **report**.")
	const id = "incident-long"
	if err := b.Deliver(t.Context(), post(id, "Long report", body.String())); err != nil {
		t.Fatal(err) // the stand-in refuses sections over 3000 characters
	}
	msgs := srv.Messages(channelOf(t, srv, id).ID)
	texts := sectionTexts(msgs[0])
	if len(texts) < 4 {
		t.Fatalf("%d sections, want the body split", len(texts))
	}
	for i, s := range texts[1:] {
		if strings.Count(s, "```")%2 != 0 {
			t.Errorf("section %d leaves a code block open", i+1)
		}
	}
	joined := strings.Join(texts, "\n")
	if !strings.Contains(joined, "orders_399") || !strings.HasSuffix(joined, "End of *report*.") {
		t.Error("body lost in the split")
	}

	// A body far beyond 50 blocks is truncated with a note.
	huge := strings.Repeat(strings.Repeat("word ", 500)+"\n\n", 60)
	if err := b.Deliver(t.Context(), post(id, "Huge", huge)); err != nil {
		t.Fatal(err)
	}
	msgs = srv.Messages(channelOf(t, srv, id).ID)
	last := msgs[len(msgs)-1]
	if len(last.Blocks) > 50 || !strings.Contains(string(last.RawBlocks), "more characters not shown") {
		t.Errorf("huge body: %d blocks, note present: %v", len(last.Blocks), strings.Contains(string(last.RawBlocks), "not shown"))
	}
}

func TestRateLimitIsRetryableWithDelay(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	srv.RateLimit("conversations.create", 7*time.Second, 1)
	err := b.Deliver(t.Context(), post("incident-rl", "x", ""))
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("err = %v, want an application error", err)
	}
	if appErr.NonRetryable() || appErr.Type() != slackact.RateLimitedType || appErr.NextRetryDelay() != 7*time.Second {
		t.Errorf("err = %v (type %s, non-retryable %v, delay %s)", err, appErr.Type(), appErr.NonRetryable(), appErr.NextRetryDelay())
	}
	if err := b.Deliver(t.Context(), post("incident-rl", "x", "")); err != nil {
		t.Fatalf("after the limit: %v", err)
	}
	// A Retry-After of hours is capped.
	srv.RateLimit("chat.postMessage", 3*time.Hour, 1)
	err = b.Deliver(t.Context(), post("incident-rl", "y", ""))
	if !errors.As(err, &appErr) || appErr.NextRetryDelay() != slackact.MaxRetryDelay {
		t.Errorf("err = %v, want a retry after the cap %s", err, slackact.MaxRetryDelay)
	}
}

func TestAuthErrorsAreNonRetryable(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv, func(c *slackact.Config) { c.Token = "xoxb-wrong" })
	err := b.Deliver(t.Context(), post("incident-auth", "x", ""))
	actiontest.NonRetryable(t, err, slackact.AuthType)
	if !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("err = %v", err)
	}

	b = newBackend(t, srv)
	srv.Fail(slacktest.Fault{Method: "conversations.create", Error: "missing_scope", Needed: "channels:manage"})
	err = b.Deliver(t.Context(), post("incident-scope", "x", ""))
	actiontest.NonRetryable(t, err, slackact.AuthType)
	if !strings.Contains(err.Error(), "channels:manage") {
		t.Errorf("err = %v, want the missing scope named", err)
	}
}

func TestServerErrorIsRetryable(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	srv.Fail(slacktest.Fault{Method: "chat.postMessage", Status: 502})
	err := b.Deliver(t.Context(), post("incident-5xx", "x", ""))
	if err == nil {
		t.Fatal("want an error")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Fatalf("502 is non-retryable: %v", err)
	}
	if !strings.Contains(err.Error(), "chat.postMessage") {
		t.Errorf("err %v does not name the method", err)
	}
}

func TestBadNotificationsAndNoClient(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	actiontest.NonRetryable(t, b.Deliver(t.Context(), workflows.Notification{Kind: workflows.NotifyPost, Subject: "x"}), slackact.BadRequestType)
	actiontest.NonRetryable(t, b.Deliver(t.Context(), workflows.Notification{Kind: "shout", Incident: "incident-x"}), slackact.BadRequestType)
	var nilB *slackact.Backend
	actiontest.NonRetryable(t, nilB.Deliver(t.Context(), post("incident-x", "x", "")), slackact.NotConfiguredType)
	if _, err := slackact.NewBackend(slackact.Config{}, roster, nil); err == nil {
		t.Error("NewBackend without a token succeeded")
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("xoxb-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := slackact.ConfigFromEnv(env())
	if err != nil || cfg.Configured() {
		t.Errorf("empty env: %+v, %v", cfg, err)
	}
	cfg, err = slackact.ConfigFromEnv(env(slackact.EnvBotTokenFile, file, slackact.EnvAPIURL, "http://127.0.0.1:1/api",
		slackact.EnvBroadcastChannel, "C123", slackact.EnvChannelPrivate, "true"))
	if err != nil || cfg.Token != "xoxb-from-file" || cfg.APIURL != "http://127.0.0.1:1/api/" || cfg.BroadcastChannel != "C123" || !cfg.PrivateChannels {
		t.Errorf("cfg = %+v, %v", cfg, err)
	}
	for _, bad := range [][]string{
		{slackact.EnvBotToken, "xoxb-a", slackact.EnvBotTokenFile, file},
		{slackact.EnvBotTokenFile, filepath.Join(dir, "missing")},
		{slackact.EnvBotToken, "not a token"},
		{slackact.EnvBotToken, "xoxb-a", slackact.EnvAPIURL, "ftp://x"},
		{slackact.EnvBotToken, "xoxb-a", slackact.EnvChannelPrivate, "maybe"},
	} {
		if _, err := slackact.ConfigFromEnv(env(bad...)); err == nil {
			t.Errorf("ConfigFromEnv(%q) succeeded", bad)
		}
	}
	if slackact.EnvBotToken != slacktest.EnvBotToken || slackact.EnvAPIURL != slacktest.EnvAPIURL {
		t.Error("slacktest's env names differ from slackact's")
	}
}

// recorder is a notify.Backend that records or fails.
type recorder struct {
	name string
	err  error
	got  []workflows.Notification
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Deliver(_ context.Context, n workflows.Notification) error {
	r.got = append(r.got, n)
	return r.err
}

func TestFanout(t *testing.T) {
	srv := newServer(t)
	sb := newBackend(t, srv)
	logs := &recorder{name: "log"}
	f := notify.NewFanout(logs, sb)
	if f.Name() != "log+slack" {
		t.Errorf("Name = %q", f.Name())
	}
	n := post("incident-fan", "fan", "")
	if err := f.Deliver(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	if len(logs.got) != 1 || len(srv.Messages(channelOf(t, srv, n.Incident).ID)) != 1 {
		t.Errorf("not delivered to both")
	}

	// One failing backend: the others still get it, its error keeps its type.
	failing := &recorder{name: "first", err: temporal.NewNonRetryableApplicationError("no", "X", nil)}
	after := &recorder{name: "after"}
	err := notify.NewFanout(failing, after).Deliver(t.Context(), n)
	actiontest.NonRetryable(t, err, "X")
	if len(after.got) != 1 {
		t.Error("a backend after the failing one was skipped")
	}
	// Two failing: both errors.
	other := &recorder{name: "second", err: errors.New("boom")}
	err = notify.NewFanout(failing, other).Deliver(t.Context(), n)
	if err == nil || !strings.Contains(err.Error(), "first") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestThroughNotifyActivity(t *testing.T) {
	srv := newServer(t)
	b := newBackend(t, srv)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := &notify.Activities{Backend: b}
	env.RegisterActivity(acts.Notify)
	n := workflows.Notification{Kind: workflows.NotifyPage, Incident: "incident-act", To: "alice", Subject: "Acknowledge please"}
	// The same page twice, as two activities (a re-page): both delivered.
	for range 2 {
		val, err := env.ExecuteActivity(acts.Notify, n)
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.NotifyResult
		if err := val.Get(&res); err != nil || res.Backend != "slack" {
			t.Fatalf("result = %+v, %v", res, err)
		}
	}
	if got := len(srv.Messages(channelOf(t, srv, n.Incident).ID)); got != 2 {
		t.Errorf("%d channel messages, want 2 (a re-page is a new activity)", got)
	}
}

func BenchmarkDeliverPost(b *testing.B) {
	srv := slacktest.New()
	defer srv.Close()
	cfg, err := slackact.ConfigFromEnv(func(k string) string { return srv.Env()[k] })
	if err != nil {
		b.Fatal(err)
	}
	be, err := slackact.NewBackend(cfg, roster, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		if err := be.Deliver(ctx, post("incident-bench", "finding "+strconv.Itoa(i), "rows **late** in `orders`")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFirstNotification(b *testing.B) {
	srv := slacktest.New()
	defer srv.Close()
	cfg, err := slackact.ConfigFromEnv(func(k string) string { return srv.Env()[k] })
	if err != nil {
		b.Fatal(err)
	}
	be, err := slackact.NewBackend(cfg, roster, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv.AddUser(slacktest.User{ID: aliceSlack, Name: "alice"})
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		n := workflows.Notification{Kind: workflows.NotifyPage, Incident: "incident-b" + strconv.Itoa(i), To: "alice", Subject: "p"}
		if err := be.Deliver(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
}

func TestUnknownSlackUserStillPages(t *testing.T) {
	srv := slacktest.New() // alice and bob are not in this workspace
	t.Cleanup(srv.Close)
	b := newBackend(t, srv)
	n := workflows.Notification{Kind: workflows.NotifyPage, Incident: "incident-nouser", To: "alice", Subject: "x"}
	if err := b.Deliver(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages(channelOf(t, srv, n.Incident).ID)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Text, "<@"+aliceSlack+">") {
		t.Errorf("messages = %+v", msgs)
	}
}

func TestArchivedChannelThatCannotBeUnarchivedGetsSuffix(t *testing.T) {
	srv := newServer(t)
	const id = "incident-stuck"
	old := srv.AddChannel(slacktest.Channel{Name: slackact.ChannelName(id), IsArchived: true})
	srv.Fail(slacktest.Fault{Method: "conversations.unarchive", Error: "restricted_action"})
	b := newBackend(t, srv)
	if err := b.Deliver(t.Context(), post(id, "x", "")); err != nil {
		t.Fatal(err)
	}
	c, ok := srv.ChannelByName(slackact.ChannelName(id) + "-2")
	if !ok || len(srv.Messages(c.ID)) != 1 || len(srv.Messages(old)) != 0 {
		t.Fatalf("suffixed channel not used: %+v", srv.Channels())
	}
	if got, ok := slackact.IncidentFromPurpose(c.Purpose); !ok || got != id {
		t.Errorf("purpose = %q", c.Purpose)
	}
}
