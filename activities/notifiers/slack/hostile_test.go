package slackact_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/workflows"
)

// hostile is alert text that tries every Slack reference: broadcasts,
// user, group and channel mentions, a disguised link, a date, and the plain
// forms Slack parses in non-verbatim text.
const hostile = "<!channel> <!here> <!everyone> <@U0BOB> <!subteam^S0DATA|@data> <#C0GENERAL|general> " +
	"<http://evil.example/login|the runbook> <!date^1700000000^{date}|x> @channel @here"

// liveRef is a Slack reference: <!…>, <@…>, <#…>, or a link <url|label>.
var liveRef = regexp.MustCompile(`<([!@#][^<>]*|[^<>|\s]+\|[^<>]*)>`)

// honestLink is a link whose label is text, not a URL or host that could
// pass for another place than the one it goes to.
var honestLink = regexp.MustCompile(`^<https?://[^<>|\s]+\|([^<>]*)>$`)

func isHonestLink(ref string) bool {
	m := honestLink.FindStringSubmatch(ref)
	return m != nil && !regexp.MustCompile(`(?i)://|www\.|^\s*[a-z0-9-]+(\.[a-z0-9-]+)+`).MatchString(m[1])
}

// slackTexts returns every text a message carries: its fallback text and
// each text object of its blocks (sections, fields, context, confirm
// dialogs), with whether each mrkdwn object is verbatim.
func slackTexts(t *testing.T, m slacktest.Message) (texts []string, notVerbatim []string) {
	t.Helper()
	texts = append(texts, m.Text)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if typ, _ := x["type"].(string); typ == "mrkdwn" || typ == "plain_text" {
				s, _ := x["text"].(string)
				texts = append(texts, s)
				if v, _ := x["verbatim"].(bool); typ == "mrkdwn" && !v {
					notVerbatim = append(notVerbatim, s)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var blocks any
	if len(m.RawBlocks) > 0 {
		if err := json.Unmarshal(m.RawBlocks, &blocks); err != nil {
			t.Fatalf("blocks %s: %v", m.RawBlocks, err)
		}
	}
	walk(blocks)
	if a := m.Params["attachments"]; a != "" && a != "null" {
		var att any
		if err := json.Unmarshal([]byte(a), &att); err == nil {
			walk(att)
		}
		if strings.Contains(a, "<!") || strings.Contains(a, "<@") {
			texts = append(texts, a)
		}
	}
	return texts, notVerbatim
}

// checkInert fails when a message has a live reference other than those
// allowed (datasev's own), or a mrkdwn text object Slack would parse.
func checkInert(t *testing.T, where string, m slacktest.Message, allowed ...string) {
	t.Helper()
	texts, notVerbatim := slackTexts(t, m)
	for _, s := range texts {
		for _, ref := range liveRef.FindAllString(s, -1) {
			ok := isHonestLink(ref)
			for _, a := range allowed {
				if strings.HasPrefix(ref, a) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s: live reference %s in %q", where, ref, s)
			}
		}
	}
	for _, s := range notVerbatim {
		t.Errorf("%s: mrkdwn text object is not verbatim (Slack parses a plain @here in it): %q", where, s)
	}
}

// Alert text in every field of a notification (subject, severity, body,
// approval, incident ID) reaches Slack inert: the channel post, the DM and
// the broadcast mention no one but the paged person, whom datasev itself
// mentions.
func TestHostileTextMentionsNoOne(t *testing.T) {
	srv := newServer(t)
	bc := srv.AddChannel(slacktest.Channel{Name: "data-incidents", Members: []string{slacktest.BotUserID}})
	b := newBackend(t, srv, func(c *slackact.Config) { c.BroadcastChannel = bc })
	id := "incident-<!channel>-orders"
	n := workflows.Notification{Kind: workflows.NotifyPage, Incident: id, To: "alice", Severity: "SEV1 <!here>",
		Subject: "Orders " + hostile,
		Body: "Findings " + hostile + "\n\n- item " + hostile + "\n\n> " + hostile + "\n\n`" + hostile + "`\n\n```\n" + hostile +
			"\n```\n\n| a | b |\n|---|---|\n| <!channel> | <@U0BOB> |\n\n**<!here>** [<!channel>](https://example.com/x) " +
			"[https://github.com/acme/dbt/pull/1](https://evil.example/pull/1) [open](javascript:alert(1)) [x](<!channel>)",
		Approval: &workflows.ApprovalRef{ID: "revert-1", Action: "github.revert_commit <!channel>", Approver: "commander <@U0BOB>",
			Deadline: time.Date(2026, 5, 4, 12, 30, 0, 0, time.UTC)}}
	if err := b.Deliver(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	c := channelOf(t, srv, id)
	msgs := srv.Messages(c.ID)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the channel", len(msgs))
	}
	// datasev's own: the page's mention, the deadline, the links it builds.
	own := []string{"<@" + aliceSlack + ">", "<!date^1777897800^", "<#" + c.ID + ">"}
	checkInert(t, "channel post", msgs[0], own...)
	if !strings.HasPrefix(msgs[0].Text, "<@"+aliceSlack+"> ") {
		t.Errorf("the page lost its mention: %q", msgs[0].Text)
	}
	body := strings.Join(sectionTexts(msgs[0]), "\n")
	for _, want := range []string{"&lt;!channel&gt;", "&lt;@U0BOB&gt;", "&lt;http://evil.example/login|the runbook&gt;",
		"https://github.com/acme/dbt/pull/1 (<https://evil.example/pull/1>)"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	dm, ok := srv.IM(aliceSlack)
	if !ok {
		t.Fatal("no DM")
	}
	for _, m := range srv.Messages(dm) {
		checkInert(t, "DM", m, own...)
	}
	for _, m := range srv.Messages(bc) {
		checkInert(t, "broadcast", m, own...)
	}
	if ch, ok := srv.ChannelByName(slackact.ChannelName(id)); !ok || liveRef.MatchString(ch.Purpose) {
		t.Errorf("channel purpose %q has a live reference", ch.Purpose)
	} else if got, ok := slackact.IncidentFromPurpose(ch.Purpose); !ok || got != id {
		t.Errorf("purpose %q reads back as %q, %v; want %q", ch.Purpose, got, ok, id)
	}
}

// The consumers' notice carries the runbook's message, impact and dataset
// (from alert labels) into other teams' channels: inert there too.
func TestHostileConsumerNoticeMentionsNoOne(t *testing.T) {
	f := newConsumerFixture(t)
	c := f.consumers(consumerMap)
	in := slackact.NotifyConsumersInput{
		Owners: []string{"finance"}, Severity: "SEV2 <!channel>", Dataset: "orders` [click](https://evil.example) `<!here>",
		Message: "Hold reports " + hostile, Impact: hostile,
	}
	req := consumerReq("tell")
	req.Incident = "incident-<!everyone>"
	if _, err := c.NotifyConsumers(t.Context(), req, in); err != nil {
		t.Fatal(err)
	}
	msgs := f.srv.Messages(f.finance)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	checkInert(t, "consumer notice", msgs[0])
	if body := strings.Join(sectionTexts(msgs[0]), "\n"); !strings.Contains(body, "&lt;!here&gt;") || strings.Contains(body, "|click>") {
		t.Errorf("notice body:\n%s", body)
	}
}

// Escape, for replies outside the backend, leaves no reference live.
func TestEscape(t *testing.T) {
	if got := slackact.Escape(hostile + " & more"); liveRef.MatchString(got) || !strings.HasSuffix(got, "&amp; more") {
		t.Errorf("Escape = %q", got)
	}
}
