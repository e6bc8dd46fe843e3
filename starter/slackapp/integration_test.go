package slackapp

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

var declaredID = regexp.MustCompile("incident `(incident-slack-[^`]+)`")

// TestSlashCommandsAndButtons drives one incident through the real handler
// with signed Slack requests, on the dev server and worker: declare, ack,
// severity, a note (delivered twice), a role from a mention, a refused
// approve, and an approval decided with a signed button click.
func TestSlashCommandsAndButtons(t *testing.T) {
	needTemporal(t)
	ctx := t.Context()
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, nil)

	// Declare in #general.
	declareTrigger := "trig-declare-" + uniq()
	a := slash(t, h, slk, slackAlice, otherChannel, "declare Orders load failed &amp; late sev2", declareTrigger)
	m := declaredID.FindStringSubmatch(a.text())
	if m == nil || a.responseType() != "in_channel" {
		t.Fatalf("declare: %v", a.msg)
	}
	id := m[1]
	// The same request again opens nothing new.
	a = slash(t, h, slk, slackAlice, otherChannel, "declare Orders load failed &amp; late sev2", declareTrigger)
	if !strings.Contains(a.text(), "already declared: incident `"+id+"`") {
		t.Fatalf("redelivered declare: %v", a.msg)
	}
	st, err := incidents.Status(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Title != "Orders load failed & late" || st.Severity != workflows.SEV2 || st.Roles.Commander != "alice" {
		t.Fatalf("declared %+v", st)
	}

	// The notifier gives the incident a channel; commands there need no @.
	const incChannel = "C0INC1"
	slk.setPurpose(incChannel, "datasev incident "+id+" — Orders load failed & late")

	// Someone not on the roster: told how to get added; nothing changes.
	a = slash(t, h, slk, slackNobody, incChannel, "ack", "trig-"+uniq())
	if !strings.HasPrefix(a.text(), "you are not on the datasev roster (Slack user U0NOBODY)") {
		t.Fatalf("unknown user: %v", a.msg)
	}
	if st, err := incidents.Status(ctx, tc, id); err != nil || st.State != workflows.Triggered {
		t.Fatalf("after an unknown user's ack: %v %v", st.State, err)
	}
	a = slash(t, h, slk, slackAlice, incChannel, "handoff accept", "trig-"+uniq())
	if a.text() != "Not done: no handoff is pending" {
		t.Fatalf("handoff: %v", a.msg)
	}
	// Groups and links reach the workflow's own checks, signed for Alice.
	a = slash(t, h, slk, slackAlice, incChannel, "split alertmanager:x", "trig-"+uniq())
	if !strings.Contains(a.text(), "groups no alerts") {
		t.Fatalf("split: %v", a.msg)
	}
	a = slash(t, h, slk, slackAlice, incChannel, "relate "+id, "trig-"+uniq())
	if !strings.Contains(a.text(), "cannot be linked to itself") {
		t.Fatalf("relate: %v", a.msg)
	}

	a = slash(t, h, slk, slackAlice, incChannel, "ack", "trig-"+uniq())
	if a.responseType() != "in_channel" || !strings.Contains(a.text(), "Alice") {
		t.Fatalf("ack: %v", a.msg)
	}
	a = slash(t, h, slk, slackAlice, incChannel, "sev SEV1 customers see stale dashboards", "trig-"+uniq())
	if a.responseType() != "in_channel" {
		t.Fatalf("sev: %v", a.msg)
	}
	noteTrigger := "trig-note-" + uniq()
	a = slash(t, h, slk, slackCarol, incChannel, "note loader logs show a schema change", noteTrigger)
	if a.responseType() != "ephemeral" || strings.HasPrefix(a.text(), "Not done") {
		t.Fatalf("note: %v", a.msg)
	}
	// Slack redelivers the same request: answered again, applied once.
	a = slash(t, h, slk, slackCarol, incChannel, "note loader logs show a schema change", noteTrigger)
	if strings.HasPrefix(a.text(), "Not done") {
		t.Fatalf("redelivered note: %v", a.msg)
	}
	if n := slk.infoCount(); n != 1 {
		t.Errorf("conversations.info called %d times; the channel's incident is cached", n)
	}
	st, err = incidents.Status(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.AckedAt.IsZero() || st.State == workflows.Triggered || st.Severity != workflows.SEV1 {
		t.Fatalf("after ack and sev: %s %s acked at %v", st.State, st.Severity, st.AckedAt)
	}

	// Roles: a mention maps to the roster; the Scribe cannot assign roles.
	a = slash(t, h, slk, slackAlice, incChannel, "role sme <@U0BOB|bob>", "trig-"+uniq())
	if strings.HasPrefix(a.text(), "Not done") {
		t.Fatalf("role: %v", a.msg)
	}
	a = slash(t, h, slk, slackCarol, incChannel, "role liaison carol", "trig-"+uniq())
	if a.text() != "Not done: only the Commander (alice) can assign roles" || a.responseType() != "ephemeral" {
		t.Fatalf("role by scribe: %v", a.msg)
	}

	// An SME asks for an approval (from the CLI, say, signed with her key).
	if _, err := incidents.ActSigned(ctx, tc, erinSigner, id, workflows.ActRequestApproval, workflows.Act{
		By: "erin", Via: "cli", Approval: "revert-42", Action: "revert commit 42",
	}); err != nil {
		t.Fatal(err)
	}
	// Bob is no Commander: refused with the workflow's own words.
	a = slash(t, h, slk, slackBob, incChannel, "approve revert-42", "trig-"+uniq())
	if a.text() != `Not done: only the Commander (alice) can approve "revert-42"` || a.responseType() != "ephemeral" {
		t.Fatalf("approve by bob: %v", a.msg)
	}
	// Bob clicks the button: an ephemeral refusal, the buttons stay.
	value := `{"incident":"` + id + `","approval":"revert-42"}`
	ru := slk.responseURL()
	click(t, h, slackBob, ru, slackact.ApproveActionID, value)
	got := slk.waitPosted(t, ru, 1)[0]
	if got["text"] != `Not done: only the Commander (alice) can approve "revert-42"` || got["replace_original"] != false || got["response_type"] != "ephemeral" {
		t.Fatalf("bob's click: %v", got)
	}
	// Alice approves with the button: the buttons are replaced.
	ru = slk.responseURL()
	click(t, h, slackAlice, ru, slackact.ApproveActionID, value)
	got = slk.waitPosted(t, ru, 1)[0]
	text, _ := got["text"].(string)
	if !regexp.MustCompile(`^Approved by Alice at \d\d:\d\d$`).MatchString(text) || got["replace_original"] != true {
		t.Fatalf("alice's click: %v", got)
	}
	// The request's text stays; the buttons' block became the outcome.
	blocks := toJSON(t, got["blocks"])
	if !strings.Contains(blocks, "revert commit 42") || !strings.Contains(blocks, slackact.OutcomeBlockID) ||
		strings.Contains(blocks, slackact.ApprovalBlockID) || !strings.Contains(blocks, "Approved by Alice") {
		t.Fatalf("replaced message blocks: %s", blocks)
	}

	// Deny with the other button: no reason is asked for.
	if _, err := incidents.ActSigned(ctx, tc, erinSigner, id, workflows.ActRequestApproval, workflows.Act{
		By: "erin", Via: "cli", Approval: "rerun-7", Action: "re-run the load",
	}); err != nil {
		t.Fatal(err)
	}
	ru = slk.responseURL()
	click(t, h, slackAlice, ru, slackact.DenyActionID, `{"incident":"`+id+`","approval":"rerun-7"}`)
	got = slk.waitPosted(t, ru, 1)[0]
	if text, _ := got["text"].(string); !strings.HasPrefix(text, "Denied by Alice at ") || got["replace_original"] != true {
		t.Fatalf("deny click: %v", got)
	}

	st, err = incidents.Status(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PendingApprovals) != 0 || !st.Roles.Has("bob", workflows.SME) {
		t.Fatalf("after approval: %+v", st)
	}
	tl, err := incidents.Timeline(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	var approved, denied, notes int
	for _, e := range tl {
		if e.Kind == workflows.KindAct && strings.Contains(e.What, "approved revert-42") {
			approved++
			if e.Via != Via || e.Who != "alice" || e.Verified != "slack:"+slackAlice+" via slack" {
				t.Errorf("approval entry %+v: want via slack by alice, verified as slack:%s via slack", e, slackAlice)
			}
		}
		if e.Kind == workflows.KindAct && strings.Contains(e.What, "denied rerun-7") {
			denied++
			if e.Via != Via || e.Who != "alice" || e.Why != DenyReason {
				t.Errorf("deny entry %+v: want via slack by alice, why %q", e, DenyReason)
			}
		}
		if e.Kind == workflows.KindAct && strings.Contains(e.What, "loader logs show a schema change") {
			notes++
			if e.Via != Via || e.Who != "carol" || e.Verified != "slack:"+slackCarol+" via slack" {
				t.Errorf("note entry %+v", e)
			}
		}
	}
	for _, e := range tl {
		if e.Kind == workflows.KindAct && e.Who == "erin" && strings.Contains(e.What, "revert-42") && e.Verified != "key "+erinSigner.Fingerprint() {
			t.Errorf("erin's request %+v: want verified by her key %s", e, erinSigner.Fingerprint())
		}
	}
	var report workflows.Report
	if v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryReport); err != nil || v.Get(&report) != nil {
		t.Fatalf("report query: %v", err)
	}
	for _, ap := range report.Approvals {
		if ap.ID == "revert-42" && (ap.DecisionVerified != "slack:"+slackAlice+" via slack" || ap.RequestVerified != "key "+erinSigner.Fingerprint()) {
			t.Errorf("approval %s: request verified %q, decision verified %q", ap.ID, ap.RequestVerified, ap.DecisionVerified)
		}
	}
	if approved != 1 || denied != 1 || notes != 1 {
		t.Fatalf("timeline has %d approvals, %d denials and %d notes, want one each:\n%+v", approved, denied, notes, tl)
	}

	// Status, from anywhere, naming the incident by its dedupe key.
	key := strings.TrimPrefix(id, workflows.WorkflowIDPrefix)
	a = slash(t, h, slk, slackBob, otherChannel, "@"+key+" status", "trig-"+uniq())
	// The title comes back escaped as Slack wants it (Slack shows "&").
	if !strings.Contains(a.text(), "Orders load failed &amp; late") || !strings.Contains(a.text(), "mitigating") || a.responseType() != "ephemeral" {
		t.Fatalf("status: %v", a.msg)
	}
	a = slash(t, h, slk, slackBob, otherChannel, "@no-such-incident-"+uniq()+" ack", "trig-"+uniq())
	if !strings.Contains(a.text(), "there is no incident") {
		t.Fatalf("unknown incident: %v", a.msg)
	}
	a = slash(t, h, slk, slackAlice, incChannel, "resolve loads are green", "trig-"+uniq())
	if a.responseType() != "in_channel" || strings.HasPrefix(a.text(), "Not done") {
		t.Fatalf("resolve: %v", a.msg)
	}
}

// TestLateOutcome: when the incident does not answer within AckWait, the
// reply is "working on it…" and the outcome follows at the response_url.
func TestLateOutcome(t *testing.T) {
	needTemporal(t)
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, func(c *Config) { c.AckWait = time.Nanosecond })
	ru := slk.responseURL()
	body := slashForm(slackAlice, otherChannel, "declare Late answer", "trig-late-"+uniq(), ru)
	a := post(t, h, "/slack/commands", body, sign(signingKey, time.Now(), body))
	if a.code != http.StatusOK || !strings.HasPrefix(a.text(), "working on it") || a.responseType() != "ephemeral" {
		t.Fatalf("immediate answer: %d %v", a.code, a.msg)
	}
	got := slk.waitPosted(t, ru, 1)[0]
	if !declaredID.MatchString(got["text"].(string)) || got["response_type"] != "in_channel" {
		t.Fatalf("late outcome: %v", got)
	}
}

func click(t testing.TB, h http.Handler, user, responseURL, actionID, value string) {
	t.Helper()
	body := interactionForm(blockActions(user, "trig-click-"+uniq(), responseURL, actionID, value))
	if a := post(t, h, "/slack/interactions", body, sign(signingKey, time.Now(), body)); a.code != http.StatusOK {
		t.Fatalf("click: %d %s", a.code, a.raw)
	}
}
