package slacktest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
)

func setup(t *testing.T) (*slacktest.Server, *slack.Client) {
	t.Helper()
	srv := slacktest.New()
	t.Cleanup(srv.Close)
	srv.AddUser(slacktest.User{ID: "U1", Name: "alice", RealName: "Alice", Email: "alice@example.com"})
	return srv, slack.New(slacktest.Token, slack.OptionAPIURL(srv.APIURL()))
}

func code(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func TestAuth(t *testing.T) {
	srv, api := setup(t)
	at, err := api.AuthTestContext(t.Context())
	if err != nil || at.UserID != slacktest.BotUserID || at.TeamID != slacktest.TeamID {
		t.Fatalf("auth.test = %+v, %v", at, err)
	}
	bad := slack.New("xoxb-nope", slack.OptionAPIURL(srv.APIURL()))
	if _, err := bad.AuthTestContext(t.Context()); code(err) != "invalid_auth" {
		t.Errorf("wrong token: %v", err)
	}
	// No token at all; and a bearer header (as slack-go sends JSON bodies).
	resp, err := http.PostForm(srv.APIURL()+"auth.test", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out.OK || out.Error != "not_authed" {
		t.Errorf("no token: %+v", out)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.APIURL()+"chat.postMessage",
		strings.NewReader(`{"channel":"nowhere","text":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+slacktest.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out.OK || out.Error != "channel_not_found" {
		t.Errorf("JSON body with bearer: %+v", out)
	}
}

func TestCreateValidatesNames(t *testing.T) {
	_, api := setup(t)
	ctx := t.Context()
	for name, want := range map[string]string{
		"":                      "invalid_name_required",
		"Upper":                 "invalid_name_specials",
		"has space":             "invalid_name_specials",
		"---":                   "invalid_name_punctuation",
		strings.Repeat("a", 81): "invalid_name_maxlength",
	} {
		if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name}); code(err) != want {
			t.Errorf("create %q: %v, want %s", name, err, want)
		}
	}
	c, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-x_1", IsPrivate: true})
	if err != nil || c.ID == "" || c.Name != "inc-x_1" || !c.IsPrivate || !c.IsMember || c.Creator != slacktest.BotUserID {
		t.Fatalf("create = %+v, %v", c, err)
	}
	if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-x_1"}); code(err) != "name_taken" {
		t.Errorf("second create: %v", err)
	}
}

func TestListPaginatesAndFilters(t *testing.T) {
	srv, api := setup(t)
	ctx := t.Context()
	for i := range 25 {
		srv.AddChannel(slacktest.Channel{Name: "pub-" + strconv.Itoa(i)})
	}
	srv.AddChannel(slacktest.Channel{Name: "arch", IsArchived: true})
	srv.AddChannel(slacktest.Channel{Name: "secret", IsPrivate: true})                                       // bot not a member
	srv.AddChannel(slacktest.Channel{Name: "ours", IsPrivate: true, Members: []string{slacktest.BotUserID}}) // bot a member
	names := func(params slack.GetConversationsParameters) []string {
		var out []string
		pages := 0
		for {
			chans, next, err := api.GetConversationsContext(ctx, &params)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if params.Limit > 0 && len(chans) > params.Limit {
				t.Fatalf("page of %d over limit %d", len(chans), params.Limit)
			}
			for _, c := range chans {
				out = append(out, c.Name)
			}
			if next == "" {
				return out
			}
			params.Cursor = next
		}
	}
	all := names(slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, Limit: 10})
	if len(all) != 27 || all[0] != "pub-0" || all[26] != "ours" {
		t.Errorf("all = %d %v", len(all), all)
	}
	active := names(slack.GetConversationsParameters{Types: []string{"public_channel"}, ExcludeArchived: true, Limit: 7})
	if len(active) != 25 {
		t.Errorf("active public = %d", len(active))
	}
	if _, _, err := api.GetConversationsContext(ctx, &slack.GetConversationsParameters{Cursor: "bogus"}); code(err) != "invalid_cursor" {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestMembershipAndMessages(t *testing.T) {
	srv, api := setup(t)
	ctx := t.Context()
	pub := srv.AddChannel(slacktest.Channel{Name: "pub"})
	if _, _, err := api.PostMessageContext(ctx, pub, slack.MsgOptionText("x", false)); code(err) != "not_in_channel" {
		t.Errorf("post before joining: %v", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, pub, "U1"); code(err) != "not_in_channel" {
		t.Errorf("invite before joining: %v", err)
	}
	if _, _, _, err := api.JoinConversationContext(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, pub, "U1"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, pub, "U1"); code(err) != "already_in_channel" {
		t.Errorf("second invite: %v", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, pub, slacktest.BotUserID); code(err) != "cant_invite_self" {
		t.Errorf("self invite: %v", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, pub, "U404"); code(err) != "user_not_found" {
		t.Errorf("unknown user: %v", err)
	}
	if got := srv.Members(pub); len(got) != 2 || got[1] != "U1" {
		t.Errorf("members = %v", got)
	}
	if _, err := api.SetPurposeOfConversationContext(ctx, pub, "about pub"); err != nil {
		t.Fatal(err)
	}
	info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: pub})
	if err != nil || info.Purpose.Value != "about pub" || !info.IsMember {
		t.Errorf("info = %+v, %v", info, err)
	}

	btn := slack.NewButtonBlockElement("act", `{"k":1}`, slack.NewTextBlockObject(slack.PlainTextType, "Go", false, false))
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*hi*", false, false), nil, nil),
		slack.NewActionBlock("acts", btn),
	}
	_, ts, err := api.PostMessageContext(ctx, pub, slack.MsgOptionText("hi", false), slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "datasev_notification", EventPayload: map[string]any{"incident": "i"}}))
	if err != nil || ts == "" {
		t.Fatalf("post: %q, %v", ts, err)
	}
	msgs := srv.Messages(pub)
	if len(msgs) != 1 || msgs[0].Text != "hi" || len(msgs[0].Blocks) != 2 || msgs[0].TS != ts {
		t.Fatalf("messages = %+v", msgs)
	}
	if a, ok := msgs[0].Blocks[1].(*slack.ActionBlock); !ok || a.Elements.ElementSet[0].(*slack.ButtonBlockElement).Value != `{"k":1}` {
		t.Errorf("blocks not decoded: %+v", msgs[0].Blocks)
	}
	if !bytes.Contains(msgs[0].Metadata, []byte("datasev_notification")) {
		t.Errorf("metadata = %s", msgs[0].Metadata)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, pub, ts, slack.MsgOptionText("edited", false), slack.MsgOptionBlocks(blocks[0])); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages(pub)[0]; m.Text != "edited" || len(m.Blocks) != 1 || m.Edits != 1 {
		t.Errorf("after update: %+v", m)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, pub, "1.2", slack.MsgOptionText("x", false)); code(err) != "message_not_found" {
		t.Errorf("update unknown ts: %v", err)
	}
	// Sections over 3000 characters are refused, as Slack does.
	long := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)
	if _, _, err := api.PostMessageContext(ctx, pub, slack.MsgOptionBlocks(long)); code(err) != "invalid_blocks" {
		t.Errorf("long section: %v", err)
	}

	if err := api.ArchiveConversationContext(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, pub, slack.MsgOptionText("x", false)); code(err) != "is_archived" {
		t.Errorf("post to archived: %v", err)
	}
	if err := api.UnArchiveConversationContext(ctx, pub); err != nil {
		t.Fatal(err)
	}
	if err := api.UnArchiveConversationContext(ctx, pub); code(err) != "not_archived" {
		t.Errorf("second unarchive: %v", err)
	}
	private := srv.AddChannel(slacktest.Channel{Name: "priv", IsPrivate: true})
	if _, _, _, err := api.JoinConversationContext(ctx, private); code(err) != "channel_not_found" {
		t.Errorf("join invisible private: %v", err)
	}
}

func TestOpenDMAndUsers(t *testing.T) {
	srv, api := setup(t)
	ctx := t.Context()
	im, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || !strings.HasPrefix(im.ID, "D") {
		t.Fatalf("open = %+v, %v", im, err)
	}
	again, _, already, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || again.ID != im.ID || !already {
		t.Errorf("reopen = %+v, %v, %v", again, already, err)
	}
	if _, _, err := api.PostMessageContext(ctx, im.ID, slack.MsgOptionText("psst", false)); err != nil {
		t.Fatal(err)
	}
	if id, _ := srv.IM("U1"); len(srv.Messages(id)) != 1 {
		t.Error("DM not recorded")
	}
	if _, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U404"}}); code(err) != "user_not_found" {
		t.Errorf("open unknown: %v", err)
	}
	u, err := api.GetUserInfoContext(ctx, "U1")
	if err != nil || u.Name != "alice" || u.Profile.Email != "alice@example.com" {
		t.Errorf("users.info = %+v, %v", u, err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U404"); code(err) != "user_not_found" {
		t.Errorf("users.info unknown: %v", err)
	}
	if len(srv.Channels()) != 0 {
		t.Errorf("DMs listed as channels: %+v", srv.Channels())
	}
}

func TestFaults(t *testing.T) {
	srv, api := setup(t)
	ctx := t.Context()
	srv.RateLimit("auth.test", 3*time.Second, 2)
	for range 2 {
		var rl *slack.RateLimitedError
		if _, err := api.AuthTestContext(ctx); !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
			t.Fatalf("rate limit: %v", err)
		}
	}
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Fatalf("after the limit: %v", err)
	}
	srv.Fail(slacktest.Fault{Method: "conversations.list", Status: 503})
	var sc slack.StatusCodeError
	if _, _, err := api.GetConversationsContext(ctx, &slack.GetConversationsParameters{}); !errors.As(err, &sc) || sc.Code != 503 {
		t.Errorf("503: %v", err)
	}
	srv.Fail(slacktest.Fault{Method: "chat.postMessage", Error: "missing_scope", Needed: "chat:write.public"})
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "missing_scope" || se.Needed != "chat:write.public" {
		t.Errorf("missing_scope: %#v", err)
	}
	if srv.Calls("auth.test") != 3 || srv.Calls("conversations.list") != 1 {
		t.Errorf("calls: auth.test %d, conversations.list %d", srv.Calls("auth.test"), srv.Calls("conversations.list"))
	}
}

func TestResponseURLSink(t *testing.T) {
	srv, api := setup(t)
	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Approved", false, false), nil, nil)}
	_, _, err := api.PostMessageContext(t.Context(), "", slack.MsgOptionReplaceOriginal(srv.ResponseURL("abc")),
		slack.MsgOptionText("Approved", false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		t.Fatal(err)
	}
	posts := srv.ResponseURLPosts()
	if len(posts) != 1 || posts[0].ID != "abc" || !posts[0].ReplaceOriginal || posts[0].Text != "Approved" || len(posts[0].Blocks) != 1 {
		t.Fatalf("posts = %+v", posts)
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	if s, err := slacktest.Start("0.0.0.0:0"); err == nil {
		s.Close()
		t.Fatal("Start on 0.0.0.0 succeeded")
	}
	srv, err := slacktest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if env := srv.Env(); env[slacktest.EnvAPIURL] != srv.URL+"/api/" || env[slacktest.EnvBotToken] != slacktest.Token {
		t.Errorf("Env = %v", env)
	}
}
