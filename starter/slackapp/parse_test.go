package slackapp

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/workflows"
)

func TestParseCommand(t *testing.T) {
	long := strings.Repeat("x", workflows.MaxTextLen+1)
	tests := []struct {
		text    string
		want    command
		wantErr string // substring of the usage error; "" means no error
	}{
		{text: "", want: command{name: subHelp}},
		{text: "help", want: command{name: subHelp}},
		{text: "HELP", want: command{name: subHelp}},
		{text: "declare Orders load failed", want: command{name: subDeclare, title: "Orders load failed"}},
		{text: "declare Orders load failed sev2", want: command{name: subDeclare, title: "Orders load failed", severity: workflows.SEV2}},
		{text: "declare  Orders &amp; payments  SEV1 ", want: command{name: subDeclare, title: "Orders & payments", severity: workflows.SEV1}},
		{text: "declare sev2 is in the title sev3", want: command{name: subDeclare, title: "sev2 is in the title", severity: workflows.SEV3}},
		{text: "declare Loader on v2", want: command{name: subDeclare, title: "Loader on v2"}},
		{text: "declare", wantErr: "title is required"},
		{text: "root-cause", wantErr: "write the root cause"},
		{text: "action  ", wantErr: "write the action"},
		{text: "declare sev2", wantErr: "title is required"},
		{text: "declare " + long, wantErr: "longer than"},
		{text: "@x declare y", wantErr: "declare takes no incident"},
		{text: "status", want: command{name: subStatus}},
		{text: "@orders-load status", want: command{name: subStatus, target: "orders-load"}},
		{text: "status @incident-orders-load", want: command{name: subStatus, target: "incident-orders-load"}},
		{text: "status now", wantErr: "status takes no arguments"},
		{text: "@", wantErr: "name the incident right after @"},
		{text: "@k", wantErr: "say what to do"},
		{text: "ack", want: command{name: subAck}},
		{text: "ack @k", want: command{name: subAck, target: "k"}},
		{text: "ack please", wantErr: "Usage: `/incident [@<incident>] ack`"},
		{text: "role scribe bob", want: command{name: subRole, role: workflows.Scribe, person: "bob"}},
		{text: "role SME @bob", want: command{name: subRole, role: workflows.SME, person: "bob"}},
		{text: "role commander <@U0BOB|bob>", want: command{name: subRole, role: workflows.Commander, person: "U0BOB", slackUser: true}},
		{text: "role liaison <@W0BOB>", want: command{name: subRole, role: workflows.Liaison, person: "W0BOB", slackUser: true}},
		{text: "role boss bob", wantErr: "want one of commander"},
		{text: "role scribe", wantErr: "give a role and one person"},
		{text: "role scribe bob carol", wantErr: "give a role and one person"},
		{text: "role scribe <#C123|x>", wantErr: "roster ID or @mention"},
		{text: "sev SEV1", want: command{name: subSev, severity: workflows.SEV1}},
		{text: "sev 2 customers notice", want: command{name: subSev, severity: workflows.SEV2, reason: "customers notice"}},
		{text: "sev", wantErr: "give the new severity"},
		{text: "sev SEV9", wantErr: "want one of SEV1"},
		{text: "note checked the loader &lt;ok&gt;", want: command{name: subNote, note: "checked the loader <ok>"}},
		{text: "root-cause a column was added upstream", want: command{name: subRootCause, note: "a column was added upstream"}},
		{text: "@orders-load factor no schema check", want: command{name: subFactor, target: "orders-load", note: "no schema check"}},
		{text: "action validate schemas at landing", want: command{name: subAction, note: "validate schemas at landing"}},
		{text: "update dashboards stale; fix in progress", want: command{name: subUpdate, note: "dashboards stale; fix in progress"}},
		{text: "publish Order figures are delayed; we are investigating", want: command{name: subPublish, note: "Order figures are delayed; we are investigating"}},
		{text: "publish Identified the cause &amp; a fix is underway", want: command{name: subPublish, status: "identified", note: "the cause & a fix is underway"}},
		{text: "@orders-load publish monitoring Figures are current again", want: command{name: subPublish, target: "orders-load", status: "monitoring", note: "Figures are current again"}},
		{text: "publish investigating", wantErr: "the public wording is empty"},
		{text: "publish", wantErr: "the public wording is empty"},
		{text: "publish monitoring " + long, wantErr: "public wording is longer than"},
		{text: "note    ", wantErr: "the note is empty"},
		{text: "note " + long, wantErr: "longer than"},
		{text: "approve revert-1", want: command{name: subApprove, approval: "revert-1"}},
		{text: "approve revert-1 looks right", want: command{name: subApprove, approval: "revert-1", reason: "looks right"}},
		{text: "approve", wantErr: "name the approval"},
		{text: "deny revert-1 too risky", want: command{name: subDeny, approval: "revert-1", reason: "too risky"}},
		{text: "deny revert-1", wantErr: "say why you deny it"},
		{text: "resolve", want: command{name: subResolve}},
		{text: "resolve loads green again", want: command{name: subResolve, reason: "loads green again"}},
		{text: "resolve " + long, wantErr: "reason is longer"},
		{text: "handoff accept", want: command{name: subHandoff}},
		{text: "@k handoff ACCEPT", want: command{name: subHandoff, target: "k"}},
		{text: "handoff", wantErr: "only handoff subcommand is accept"},
		{text: "handoff decline", wantErr: "only handoff subcommand is accept"},
		{text: "split alertmanager:LoadFailed:ab12 its own outage", want: command{name: subSplit, member: "alertmanager:LoadFailed:ab12", reason: "its own outage"}},
		{text: "split", wantErr: "name the alert"},
		{text: "split " + strings.Repeat("k", 201), wantErr: "key is longer"},
		{text: "relate upstream-orders", want: command{name: subRelate, other: "incident-upstream-orders"}},
		{text: "@k relate incident-upstream-orders", want: command{name: subRelate, target: "k", other: "incident-upstream-orders"}},
		{text: "relate a b", wantErr: "relate takes one incident"},
		{text: "relate", wantErr: "name the other incident"},
		{text: "merge upstream-orders same load failure", want: command{name: subMerge, other: "incident-upstream-orders", reason: "same load failure"}},
		{text: "merge " + strings.Repeat("k", 220), wantErr: "incident is longer"},
		{text: "pause-auto", want: command{name: subPauseAuto}},
		{text: "PAUSE-AUTO the policy retried a bad fix twice", want: command{name: subPauseAuto, reason: "the policy retried a bad fix twice"}},
		{text: "@orders-load pause-auto &lt;see thread&gt;", want: command{name: subPauseAuto, target: "orders-load", reason: "<see thread>"}},
		{text: "resume-auto", want: command{name: subResumeAuto}},
		{text: "resume-auto @orders-load root cause fixed", want: command{name: subResumeAuto, target: "orders-load", reason: "root cause fixed"}},
		{text: "pause-auto " + long, wantErr: "reason is longer"},
		{text: "resume-auto " + long, wantErr: "Usage: `/incident [@<incident>] resume-auto [reason]`"},
		{text: "pause", wantErr: `unknown subcommand "pause"`},
		{text: "page bob", wantErr: `unknown subcommand "page"`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := parseCommand(tt.text)
			if tt.wantErr != "" {
				var ue *usageError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %q, want it to contain %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "/incident") {
					t.Fatalf("err = %q: shows no usage", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReplyVisibility(t *testing.T) {
	for _, sub := range subOrder {
		want := sub == subDeclare || sub == subAck || sub == subSev || sub == subResolve || sub == subUpdate || sub == subPublish ||
			sub == subSplit || sub == subRelate || sub == subMerge || // the channel sees its incident change shape
			sub == subPauseAuto || sub == subResumeAuto // and whether policies still approve for it
		if inChannel(sub) != want {
			t.Errorf("inChannel(%s) = %v", sub, !want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "help", "declare a b sev2", "@k status", "role sme <@U1|x>", "note a &amp; b", "deny x y", "handoff accept", "sev 9", "@ ack"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := parseCommand(text)
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("non-usage error %T: %v", err, err)
			}
			return
		}
		if _, ok := usage[c.name]; !ok {
			t.Fatalf("accepted unknown subcommand %q", c.name)
		}
		switch c.name {
		case subDeclare:
			if strings.TrimSpace(c.title) == "" || len(c.title) > workflows.MaxTitleLen {
				t.Fatalf("declare with title %q", c.title)
			}
			if c.severity != "" && !c.severity.Valid() {
				t.Fatalf("declare with severity %q", c.severity)
			}
		case subSev:
			if !c.severity.Valid() {
				t.Fatalf("sev %q", c.severity)
			}
		case subNote, subRootCause, subFactor, subAction, subUpdate, subPublish:
			if strings.TrimSpace(c.note) == "" {
				t.Fatal("empty note accepted")
			}
			if c.status != "" && (c.name != subPublish || !publicStatuses[c.status]) {
				t.Fatalf("%s with public status %q", c.name, c.status)
			}
		case subApprove, subDeny:
			if c.approval == "" || strings.ContainsFunc(c.approval, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' }) {
				t.Fatalf("approval %q", c.approval)
			}
			if c.name == subDeny && c.reason == "" {
				t.Fatal("deny without reason accepted")
			}
		case subRole:
			if c.person == "" {
				t.Fatal("role without person")
			}
			if _, err := workflows.ParseRole(string(c.role)); err != nil {
				t.Fatal(err)
			}
		}
		if strings.HasPrefix(c.target, "@") && len(c.target) == 0 {
			t.Fatal("empty target")
		}
	})
}

// blockActions is an interaction payload as Slack posts it for a click on a
// button.
func blockActions(user, trigger, responseURL, actionID, value string) []byte {
	p := map[string]any{
		"type": "block_actions", "trigger_id": trigger, "response_url": responseURL,
		"user":       map[string]any{"id": user, "username": "u", "team_id": testTeamID},
		"team":       map[string]any{"id": testTeamID, "domain": "acme"},
		"channel":    map[string]any{"id": "C0INC", "name": "inc-x"},
		"container":  map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0INC"},
		"api_app_id": "A0APP", "token": "deprecated",
		"message": map[string]any{"type": "message", "ts": "1700000000.000100", "text": "approval needed",
			"blocks": []any{
				map[string]any{"type": "section", "block_id": "request",
					"text": map[string]any{"type": "mrkdwn", "text": "*approval needed*: revert commit 42"}},
				map[string]any{"type": "actions", "block_id": slackact.ApprovalBlockID, "elements": []any{
					map[string]any{"type": "button", "action_id": slackact.ApproveActionID, "value": value, "style": "primary",
						"text": map[string]any{"type": "plain_text", "text": "Approve"}},
					map[string]any{"type": "button", "action_id": slackact.DenyActionID, "value": value, "style": "danger",
						"text": map[string]any{"type": "plain_text", "text": "Deny"}},
				}},
			}},
		"state": map[string]any{"values": map[string]any{}},
		"actions": []any{map[string]any{
			"type": "button", "action_id": actionID, "block_id": "approval", "value": value,
			"text": map[string]any{"type": "plain_text", "text": "Approve"}, "action_ts": "1700000001.000200",
		}},
	}
	b, _ := json.Marshal(p)
	return b
}

func TestDecodeInteraction(t *testing.T) {
	val := `{"incident":"incident-k","approval":"revert-1"}`
	p, err := decodeInteraction(blockActions("U1", "tr1", "http://127.0.0.1/response/x", slackact.ApproveActionID, val))
	if err != nil {
		t.Fatal(err)
	}
	want := press{userID: "U1", triggerID: "tr1", responseURL: "http://127.0.0.1/response/x", approve: true, value: slackact.ButtonValue{Incident: "incident-k", Approval: "revert-1"}}
	original := p.original
	p.original = nil
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if len(original) != 2 || original[1].ID() != slackact.ApprovalBlockID {
		t.Fatalf("original blocks %+v", original)
	}
	replaced := replaceButtons(original, slackact.OutcomeBlocks(want.value, "Approved by Alice at 10:02"))
	if len(replaced) != 3 || replaced[0].ID() != "request" || replaced[1].ID() != slackact.OutcomeBlockID {
		t.Fatalf("replaced %+v", replaced)
	}
	p, err = decodeInteraction(blockActions("U1", "tr1", "u", slackact.DenyActionID, val))
	if err != nil || p.approve {
		t.Fatalf("deny: %+v %v", p, err)
	}
	if _, err := decodeInteraction(blockActions("U1", "tr1", "u", "something_else", val)); !errors.Is(err, errNotOurs) {
		t.Fatalf("other button: %v", err)
	}
	for _, bad := range []string{`{"incident":"k","approval":"a"}`, `{"incident":"incident-k"}`, `not json`} {
		if _, err := decodeInteraction(blockActions("U1", "tr1", "u", slackact.ApproveActionID, bad)); err == nil || errors.Is(err, errNotOurs) {
			t.Fatalf("value %s: err = %v", bad, err)
		}
	}
	if _, err := decodeInteraction([]byte(`{"type":"view_submission"}`)); !errors.Is(err, errNotOurs) {
		t.Fatalf("view_submission: %v", err)
	}
	if _, err := decodeInteraction([]byte(`{`)); err == nil || errors.Is(err, errNotOurs) {
		t.Fatalf("broken JSON: %v", err)
	}
}

func FuzzDecodeInteraction(f *testing.F) {
	f.Add(blockActions("U1", "t", "u", slackact.ApproveActionID, `{"incident":"incident-k","approval":"a"}`))
	f.Add(blockActions("U1", "t", "u", slackact.DenyActionID, `{"incident":"incident-k","approval":"a"}`))
	f.Add([]byte(`{"type":"block_actions","actions":[{"type":"button","action_id":"datasev_approve","value":"{}"}]}`))
	f.Add([]byte(`{"type":"block_actions","state":{"values":{}},"actions":null}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, err := decodeInteraction(payload)
		if err != nil {
			return
		}
		if p.userID == "" || p.value.Approval == "" || !strings.HasPrefix(p.value.Incident, workflows.WorkflowIDPrefix) {
			t.Fatalf("accepted an incomplete press: %+v", p)
		}
	})
}

// /incident status names the incident document once there is one.
func TestFormatStatusLinksTheDocument(t *testing.T) {
	st := workflows.Status{ID: "incident-x", Title: "orders late", State: workflows.Diagnosing, Severity: workflows.SEV3}
	if strings.Contains(formatStatus(st), "Incident document") {
		t.Error("a document line before there is a document")
	}
	st.Document = "https://github.com/acme/incidents/issues/7"
	if !strings.Contains(formatStatus(st), "Incident document: https://github.com/acme/incidents/issues/7") {
		t.Errorf("status lacks the document:\n%s", formatStatus(st))
	}
}

// Alert text in /incident status (title, findings, approvals) reaches
// Slack inert: no <!channel>, <@U…> or link of its own.
func TestFormatStatusEscapesAlertText(t *testing.T) {
	const hostile = "<!channel> <!here> <@U0BOB> <!subteam^S1|@data> <#C1|general> <http://evil.example|docs> &"
	st := workflows.Status{ID: "incident-x", Title: "orders " + hostile, State: workflows.Diagnosing, Severity: workflows.SEV3,
		LastFindings: []string{"found " + hostile}, Runbook: "rb " + hostile}
	got := formatStatus(st)
	if strings.ContainsAny(got, "<>") || !strings.Contains(got, "&lt;!channel&gt;") || !strings.Contains(got, "&amp;") {
		t.Errorf("status carries live references:\n%s", got)
	}
}
