package postmortem

import (
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows"
)

// The postmortem has the channel's messages in its timeline, with how
// each author was verified, and a pinned message among what responders
// found, credited to its author.
func TestRenderChannelMessages(t *testing.T) {
	ref := "slack:C0INC/1780000001.000100"
	r := workflows.Report{
		ID: "incident-orders-load", Title: "orders load failing", State: workflows.Closed, Severity: workflows.SEV3,
		Roles: workflows.Roles{Commander: "alice"}, AlertCount: 1, TriggeredAt: t0, ResolvedAt: at(time.Hour), ClosedAt: at(2 * time.Hour),
		Timeline: []workflows.TimelineEntry{
			{At: at(time.Minute), Who: "alice", Via: "slack", Verified: "slack:U0ALICE via slack", Kind: workflows.KindChannel, What: "said: loads are 2h late", Ref: ref},
			{At: at(2 * time.Minute), Who: "slack:U0NOBODY", Via: "slack", Verified: "slack:U0NOBODY via slack (not on the roster)", Kind: workflows.KindChannel, What: "said: finance dashboard empty"},
			{At: at(5 * time.Minute), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "finding: the landing files never came", Why: "pinned in the channel by erin (slack:U0ERIN via slack)", Ref: ref},
		},
	}
	md := Render(r)
	for _, want := range []string{
		"What responders found:\n\n- alice: the landing files never came\n",
		"| 2026-03-02 22:42:05 | alice (slack:U0ALICE via slack) | slack | said: loads are 2h late |  |",
		"| slack:U0NOBODY (slack:U0NOBODY via slack (not on the roster)) | slack | said: finance dashboard empty |  |",
		"| alice | slack | finding: the landing files never came | pinned in the channel by erin (slack:U0ERIN via slack) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
}
