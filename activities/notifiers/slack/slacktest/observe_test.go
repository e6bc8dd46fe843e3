package slacktest_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
)

// An observer sees every accepted post, in order, with its conversation
// (a DM names its recipient) and metadata; a refused post is not seen; and
// CallCounts counts every call, refused ones included.
func TestObserveAndCallCounts(t *testing.T) {
	srv, api := setup(t)
	ctx := t.Context()
	var (
		mu   sync.Mutex
		seen []slacktest.Post
	)
	srv.Observe(func(p slacktest.Post) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	})
	pub := srv.AddChannel(slacktest.Channel{Name: "pub", Members: []string{slacktest.BotUserID}})
	if _, _, err := api.PostMessageContext(ctx, pub, slack.MsgOptionText("first", false),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "datasev_notification", EventPayload: map[string]any{"kind": "page"}})); err != nil {
		t.Fatal(err)
	}
	im, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, im.ID, slack.MsgOptionText("dm", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C404", slack.MsgOptionText("nowhere", false)); code(err) != "channel_not_found" {
		t.Fatalf("post to an unknown channel: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("observed %d posts, want 2: %+v", len(seen), seen)
	}
	if p := seen[0]; p.Text != "first" || p.Channel != pub || p.Conversation.ID != pub || p.Conversation.IsIM ||
		!bytes.Contains(p.Metadata, []byte(`"page"`)) || p.At.IsZero() {
		t.Errorf("first post = %+v", p)
	}
	if p := seen[1]; p.Text != "dm" || !p.Conversation.IsIM || p.Conversation.User != "U1" || p.At.Before(seen[0].At) {
		t.Errorf("DM = %+v", p)
	}
	counts := srv.CallCounts()
	if counts["chat.postMessage"] != 3 || counts["conversations.open"] != 1 {
		t.Errorf("CallCounts = %v, want chat.postMessage 3 and conversations.open 1", counts)
	}
	counts["chat.postMessage"] = 99
	if srv.CallCounts()["chat.postMessage"] != 3 {
		t.Error("CallCounts returned the server's own map")
	}
}
