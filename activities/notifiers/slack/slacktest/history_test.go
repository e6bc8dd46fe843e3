package slacktest_test

import (
	"testing"

	"github.com/slack-go/slack"

	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
)

func TestHistory(t *testing.T) {
	srv, api := setup(t)
	ctx := t.Context()
	ch := srv.AddChannel(slacktest.Channel{Name: "finance", Members: []string{slacktest.BotUserID}})
	var ts []string
	for i, text := range []string{"one", "two", "three", "four", "five"} {
		opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
		if i%2 == 0 {
			opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{
				EventType: "datasev_test", EventPayload: map[string]any{"n": float64(i), "who": text},
			}))
		}
		_, at, err := api.PostMessageContext(ctx, ch, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, at)
	}

	// Newest first, paged with a cursor; metadata only when asked for.
	h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Messages) != 2 || h.Messages[0].Text != "five" || h.Messages[1].Text != "four" || !h.HasMore || h.ResponseMetaData.NextCursor == "" {
		t.Fatalf("first page %+v", h)
	}
	if h.Messages[0].Metadata.EventType != "" || h.Messages[0].User != slacktest.BotUserID || h.Messages[0].Timestamp != ts[4] {
		t.Fatalf("message %+v: metadata without include_all_metadata", h.Messages[0])
	}
	var texts []string
	cursor := ""
	for {
		h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: ch, Limit: 2, Cursor: cursor, IncludeAllMetadata: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range h.Messages {
			texts = append(texts, m.Text)
			if m.Text == "three" && (m.Metadata.EventType != "datasev_test" || m.Metadata.EventPayload["who"] != "three" || m.Metadata.EventPayload["n"] != float64(2)) {
				t.Errorf("metadata of three: %+v", m.Metadata)
			}
			if m.Text == "two" && m.Metadata.EventType != "" {
				t.Errorf("two has metadata %+v", m.Metadata)
			}
		}
		if !h.HasMore {
			break
		}
		cursor = h.ResponseMetaData.NextCursor
	}
	if got := len(texts); got != 5 || texts[0] != "five" || texts[4] != "one" {
		t.Fatalf("all pages: %v", texts)
	}

	// oldest and latest bound the range, exclusive unless inclusive.
	h, err = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Oldest: ts[1], Latest: ts[3]})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Text != "three" {
		t.Fatalf("range: %+v %v", h, err)
	}
	h, err = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Oldest: ts[1], Latest: ts[3], Inclusive: true})
	if err != nil || len(h.Messages) != 3 {
		t.Fatalf("inclusive range: %+v %v", h, err)
	}

	// A bot token reads only conversations the bot is in.
	out := srv.AddChannel(slacktest.Channel{Name: "elsewhere"})
	if _, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: out}); code(err) != "not_in_channel" {
		t.Fatalf("not a member: %v", err)
	}
	if _, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C0NOPE"}); code(err) != "channel_not_found" {
		t.Fatalf("unknown channel: %v", err)
	}
	if _, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Cursor: "bogus"}); code(err) != "invalid_cursor" {
		t.Fatalf("bad cursor: %v", err)
	}
	if n := srv.Calls("conversations.history"); n != 9 {
		t.Errorf("history calls %d", n)
	}
}
