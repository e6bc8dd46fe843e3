package slackapp

import (
	"strings"
	"testing"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// TestPublishStatus sends /incident publish through the real handler to an
// incident on the dev server: the wording goes to the workflow as
// publish_status with the status typed before it, the workflow's own
// refusal reaches the person who is neither Liaison nor Commander, and the
// accepted act shows in the channel and the timeline, via Slack.
func TestPublishStatus(t *testing.T) {
	needTemporal(t)
	ctx := t.Context()
	slk := newSlackStandIn(t)
	h := newTestHandler(t, slk, nil)

	a := slash(t, h, slk, slackAlice, otherChannel, "declare Orders figures late sev2", "trig-declare-"+uniq())
	m := declaredID.FindStringSubmatch(a.text())
	if m == nil {
		t.Fatalf("declare: %v", a.msg)
	}
	id := m[1]
	key := strings.TrimPrefix(id, workflows.WorkflowIDPrefix)

	// Erin is the SME: public wording is not hers to approve.
	a = slash(t, h, slk, slackErin, otherChannel, "@"+key+" publish We are looking into it", "trig-"+uniq())
	if a.text() != "Not done: only the Liaison (dave) or the Commander (alice) can approve public wording" || a.responseType() != "ephemeral" {
		t.Fatalf("publish by the SME: %v", a.msg)
	}
	// No wording: a usage error before anything reaches the incident.
	a = slash(t, h, slk, slackAlice, otherChannel, "@"+key+" publish identified", "trig-"+uniq())
	if !strings.Contains(a.text(), "public wording is empty") || !strings.Contains(a.text(), "publish [investigating|identified|monitoring]") {
		t.Fatalf("publish without wording: %v", a.msg)
	}

	// The Commander publishes: the act is applied (whether the status page
	// is configured on this worker or not) and said in the channel.
	wording := "Order figures on dashboards are delayed & being fixed."
	a = slash(t, h, slk, slackAlice, otherChannel, "@"+key+" publish IDENTIFIED Order figures on dashboards are delayed &amp; being fixed.", "trig-"+uniq())
	if strings.HasPrefix(a.text(), "Not done") || a.responseType() != "in_channel" || !strings.Contains(a.text(), "Alice") {
		t.Fatalf("publish by the Commander: %v", a.msg)
	}
	tl, err := incidents.Timeline(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range tl {
		if e.Kind == workflows.KindAct && strings.Contains(e.What, "public status") && strings.Contains(e.What, "identified") {
			found++
			if e.Via != Via || e.Who != "alice" {
				t.Errorf("publish entry %+v: want via slack by alice", e)
			}
			if !strings.Contains(e.What, "not published") && !strings.Contains(e.What, wording) {
				t.Errorf("publish entry %+v: want the wording %q", e, wording)
			}
		}
	}
	if found != 1 {
		t.Fatalf("timeline has %d public status entries, want 1:\n%+v", found, tl)
	}
}
