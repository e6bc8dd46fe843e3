package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

const signingSecret = "e2e-signing-secret"

// Slack from both ends: the worker's Slack backend opens the incident's
// channel and posts the approval request with its buttons; a slash command
// typed in that channel (no incident named) acknowledges the incident; the
// Commander's click on the posted Approve button approves it, and the
// message shows the outcome. Every act is in the timeline as the roster
// person, via slack.
func TestSlackChannelCommandAndButtons(t *testing.T) {
	skipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := srv.Client()
	api := slacktest.New()
	t.Cleanup(api.Close)
	r := slackRoster(t)
	for _, p := range r.People {
		api.AddUser(slacktest.User{ID: p.Slack, Name: p.ID})
	}
	scfg, err := slackact.ConfigFromEnv(mapGetenv(api.Env()))
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, c, service.Config{Slack: scfg, Roster: &r})
	env := api.Env()
	env[slackapp.EnvSigningSecret] = signingSecret
	acfg, err := slackapp.ConfigFromEnv(mapGetenv(env))
	if err != nil {
		t.Fatal(err)
	}
	h, err := slackapp.New(acfg, slackapp.Deps{Temporal: c, Roster: r, Signer: appSigner})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	front := httptest.NewServer(h)
	t.Cleanup(front.Close)

	key := fmt.Sprintf("e2e-slack-%d", time.Now().UnixNano())
	d, err := incidents.Declare(ctx, c, incidents.DeclareRequest{Roster: r, Alert: workflows.Alert{
		Source: "alertmanager", Title: "orders dashboard empty", DedupeKey: key, Severity: workflows.SEV2, Service: "orders",
	}})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	id := d.WorkflowID
	cleanupIncident(t, c, id)

	// The backend opens the channel on the incident's first notification.
	var ch slacktest.Channel
	eventually(t, time.Minute, "the incident's channel", func() (bool, string) {
		var ok bool
		ch, ok = api.ChannelByName(slackact.ChannelName(id))
		return ok && ch.Purpose != "", fmt.Sprintf("channels %v", api.Channels())
	})
	if got, ok := slackact.IncidentFromPurpose(ch.Purpose); !ok || got != id {
		t.Errorf("channel purpose %q does not name %s", ch.Purpose, id)
	}

	// /incident ack, typed in that channel by the Commander's Slack user.
	reply := slashCommand(t, front.URL, "U1ALICE", ch.ID, "ack", api.ResponseURL("ack"))
	if !strings.Contains(reply, "acknowledged") {
		t.Errorf("/incident ack answered %q", reply)
	}

	// An SME asks for an approval; the page to the Commander carries buttons.
	if _, err := signedAct(ctx, c, id, workflows.ActRequestApproval, workflows.Act{
		By: "erin", Via: "cli", Approval: "rerun", Action: "clear and re-run load_orders",
	}); err != nil {
		t.Fatalf("request approval: %v", err)
	}
	var value string
	eventually(t, time.Minute, "the approval message with buttons", func() (bool, string) {
		value = approveButton(api.Messages(ch.ID))
		return value != "", fmt.Sprintf("%d messages", len(api.Messages(ch.ID)))
	})
	bv, err := slackact.ParseButtonValue(value)
	if err != nil || bv.Incident != id || bv.Approval != "rerun" {
		t.Fatalf("button value %q → %+v, %v", value, bv, err)
	}

	// Bob (not the Commander) clicks first: refused, the buttons stay.
	// Clicks are answered at once and acted on after, so wait for Bob's
	// answer before Alice clicks.
	click(t, front.URL, "U2BOB", value, api.ResponseURL("bob"))
	var refused bool
	eventually(t, 30*time.Second, "the refusal of bob's click", func() (bool, string) {
		for _, p := range api.ResponseURLPosts() {
			refused = refused || (p.ID == "bob" && !p.ReplaceOriginal && strings.Contains(p.Text, "Commander"))
		}
		return refused, postTexts(api)
	})
	// Alice clicks Approve.
	click(t, front.URL, "U1ALICE", value, api.ResponseURL("alice"))
	eventually(t, 30*time.Second, "the approval", func() (bool, string) {
		st := status(t, ctx, c, id)
		return len(st.PendingApprovals) == 0 && st.State == workflows.Mitigating, fmt.Sprintf("%s %+v", st.State, st.PendingApprovals)
	})
	var replaced bool
	eventually(t, 30*time.Second, "the approval's message replaced", func() (bool, string) {
		for _, p := range api.ResponseURLPosts() {
			replaced = replaced || (p.ID == "alice" && p.ReplaceOriginal && strings.Contains(p.Text, "Approved by alice"))
		}
		return replaced, postTexts(api)
	})
	tl := timeline(t, ctx, c, id)
	var ack, approved bool
	for _, e := range tl {
		// Verified by the Slack app's signature, vouching for alice's
		// Slack user.
		ack = ack || (e.What == "acknowledged" && e.Who == "alice" && e.Via == "slack" && e.Verified == "slack:U1ALICE via slack")
		approved = approved || (strings.HasPrefix(e.What, "approved rerun") && e.Who == "alice" && e.Via == "slack" && e.Verified == "slack:U1ALICE via slack")
	}
	if !ack || !approved {
		var lines []string
		for _, e := range tl {
			lines = append(lines, fmt.Sprintf("%s %s via %q [%s]: %s", e.Kind, e.Who, e.Via, e.Verified, e.What))
		}
		t.Errorf("want the ack and the approval by alice via slack in the timeline:\n%s", strings.Join(lines, "\n"))
	}
}

func slackRoster(t *testing.T) oncall.Roster {
	t.Helper()
	r := roster(t)
	ids := map[string]string{"alice": "U1ALICE", "bob": "U2BOB", "carol": "U3CAROL", "dave": "U4DAVE", "heidi": "U5HEIDI"}
	for i := range r.People {
		r.People[i].Slack = ids[r.People[i].ID]
	}
	r.People = append(r.People, oncall.Person{ID: "erin", Slack: "U6ERIN", Keys: []string{signerOf("erin").PublicKey()}})
	r.Shifts[0].SMEs = append(r.Shifts[0].SMEs, "erin")
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

// approveButton returns the value of the first Approve button among msgs.
func approveButton(msgs []slacktest.Message) string {
	for _, m := range msgs {
		for _, b := range m.Blocks {
			ab, ok := b.(*slack.ActionBlock)
			if !ok || ab.Elements == nil {
				continue
			}
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.ActionID == slackact.ApproveActionID {
					return btn.Value
				}
			}
		}
	}
	return ""
}

// slashCommand posts a signed /incident as Slack does and returns the
// immediate reply's text.
func slashCommand(t *testing.T, base, user, channel, text, responseURL string) string {
	t.Helper()
	form := url.Values{
		"command": {"/incident"}, "text": {text}, "user_id": {user}, "user_name": {user},
		"team_id": {"TE2E"}, "channel_id": {channel}, "channel_name": {"inc"},
		"trigger_id": {fmt.Sprintf("trig-%d", time.Now().UnixNano())}, "response_url": {responseURL},
	}
	var reply struct {
		Text string `json:"text"`
	}
	signedPost(t, base+"/slack/commands", []byte(form.Encode()), &reply)
	return reply.Text
}

// click posts a signed click on the Approve button as Slack does.
func click(t *testing.T, base, user, value, responseURL string) {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": user},
		"trigger_id": fmt.Sprintf("trig-%d", time.Now().UnixNano()), "response_url": responseURL,
		"team": map[string]any{"id": "TE2E"}, "channel": map[string]any{"id": "C0"},
		"actions": []map[string]any{{
			"type": "button", "action_id": slackact.ApproveActionID, "block_id": slackact.ApprovalBlockID,
			"value": value, "action_ts": strconv.FormatInt(time.Now().Unix(), 10),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	signedPost(t, base+"/slack/interactions", []byte(url.Values{"payload": {string(payload)}}.Encode()), nil)
}

// signedPost posts body signed with the app's signing secret and decodes a
// JSON answer into out, if given.
func signedPost(t *testing.T, to string, body []byte, out any) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(signingSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, err := http.NewRequest(http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", to, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("POST %s answer: %v", to, err)
		}
	}
}

// postTexts lists what was posted to the response URLs, for failures.
func postTexts(api *slacktest.Server) string {
	var out []string
	for _, p := range api.ResponseURLPosts() {
		out = append(out, fmt.Sprintf("%s: %q (replace %v)", p.ID, p.Text, p.ReplaceOriginal))
	}
	return strings.Join(out, "; ")
}
