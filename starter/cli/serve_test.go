package cli

import (
	"strings"
	"testing"

	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/workflows/oncall"
)

// DATASEV_SLACK_FINDING_REACTION reaches the Slack app's channel log: an
// emoji name, colons optional; anything else is refused naming the
// variable, before Slack or Temporal is touched.
func TestSlackFindingReaction(t *testing.T) {
	for _, tt := range []struct {
		value, want string
	}{
		{"", ""}, // slackapp's default, pushpin
		{"white_check_mark", "white_check_mark"},
		{":white_check_mark:", "white_check_mark"},
		{"+1", "+1"},
		{"dat-finding_2", "dat-finding_2"},
		{" pushpin ", "pushpin"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
	} {
		e := &env{getenv: func(k string) string {
			if k == EnvSlackFindingReaction {
				return tt.value
			}
			return ""
		}}
		deps, err := slackDeps(e, nil, oncall.Roster{}, nil, nil)
		if err != nil {
			t.Errorf("%q: %v", tt.value, err)
			continue
		}
		if deps.Events.FindingReaction != tt.want {
			t.Errorf("%q: finding reaction %q, want %q", tt.value, deps.Events.FindingReaction, tt.want)
		}
	}
	for _, bad := range []string{"PushPin", "push pin", "skin-tone::2", "::", ":", "pin\tpoint", "<script>", "📌", strings.Repeat("a", 65), "a,b"} {
		e := &env{getenv: func(k string) string {
			if k == EnvSlackFindingReaction {
				return bad
			}
			return ""
		}}
		_, err := slackDeps(e, nil, oncall.Roster{}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), EnvSlackFindingReaction) || !strings.Contains(err.Error(), "emoji name") {
			t.Errorf("%q: err %v, want one naming %s", bad, err, EnvSlackFindingReaction)
		}
		// The Slack app off or on, serve stops on it.
		if _, _, _, err := withSlackApp(e, nil, nil, oncall.Roster{}, nil, nil); err == nil {
			t.Errorf("%q: withSlackApp took it", bad)
		}
	}
	if slackapp.DefaultFindingReaction != "pushpin" {
		t.Fatalf("default %q: docs/configuration.md says pushpin", slackapp.DefaultFindingReaction)
	}
}
