package incidentdoc

import (
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows"
)

// channelReport is an incident whose channel talked: a message, a thread
// reply from someone off the roster, an edit, a deletion and a pinned
// message (a finding), as the incident records them (channel acts).
func channelReport() workflows.Report {
	ref := "slack:C0INC/1780000001.000100"
	return workflows.Report{
		ID: "incident-orders-load", Title: "orders load failing", State: workflows.Diagnosing, Severity: workflows.SEV3,
		Roles: workflows.Roles{Commander: "alice", SMEs: []string{"erin"}}, AlertCount: 1, TriggeredAt: t0,
		Findings: []string{"alice: the landing files never came | 03:10"},
		Timeline: []workflows.TimelineEntry{
			{At: t0, Who: "test", Kind: workflows.KindAlert, What: "incident opened: orders load failing"},
			{At: at(time.Minute), Who: "alice", Via: "slack", Verified: "slack:U0ALICE via slack", Kind: workflows.KindChannel, What: "said: loads are 2h late", Ref: ref},
			{At: at(2 * time.Minute), Who: "slack:U0NOBODY", Via: "slack", Verified: "slack:U0NOBODY via slack (not on the roster)", Kind: workflows.KindChannel, What: "replied in thread: finance dashboard is <b>empty</b>", Ref: "slack:C0INC/1780000002.000200"},
			{At: at(3 * time.Minute), Who: "alice", Via: "slack", Verified: "slack:U0ALICE via slack", Kind: workflows.KindChannel, What: "edited: the landing files never came | 03:10", Ref: ref},
			{At: at(4 * time.Minute), Who: "slack:U0NOBODY", Via: "slack", Verified: "slack:U0NOBODY via slack (not on the roster)", Kind: workflows.KindChannel, What: "deleted a message", Ref: "slack:C0INC/1780000002.000200"},
			{At: at(5 * time.Minute), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "finding: the landing files never came | 03:10", Why: "pinned in the channel by erin (slack:U0ERIN via slack)", Ref: ref},
		},
	}
}

// The document shows the channel's messages in its timeline (kind
// channel, via slack, escaped) and a pinned message among the findings.
func TestRenderChannelMessages(t *testing.T) {
	_, body, err := Render(channelReport())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| 2026-03-02 22:42:05 | alice | slack | channel | said: loads are 2h late |  |",
		"| slack:U0NOBODY | slack | channel | replied in thread: finance dashboard is &lt;b&gt;empty&lt;/b&gt; |",
		"| alice | slack | channel | edited: the landing files never came \\| 03:10 |",
		"| slack:U0NOBODY | slack | channel | deleted a message |",
		"| alice | slack | act | finding: the landing files never came \\| 03:10 | pinned in the channel by erin (slack:U0ERIN via slack) |",
		"## Findings\n\n- alice: the landing files never came | 03:10\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("document lacks %q:\n%s", want, body)
		}
	}
}
