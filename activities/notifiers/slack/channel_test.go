package slackact

import (
	"regexp"
	"strings"
	"testing"
)

var validChannel = regexp.MustCompile(`^[a-z0-9_-]{1,80}$`)

func TestChannelName(t *testing.T) {
	cases := []struct{ id, want string }{
		{"incident-orders-load", "inc-orders-load"},
		{"incident-orders_load_2", "inc-orders_load_2"},
	}
	for _, c := range cases {
		if got := ChannelName(c.id); got != c.want {
			t.Errorf("ChannelName(%q) = %q, want %q", c.id, got, c.want)
		}
	}
	// Lossy names get a hash, so distinct IDs get distinct channels.
	a, b := ChannelName("incident-alertmanager:Orders/Load"), ChannelName("incident-alertmanager:orders/load")
	if a == b {
		t.Errorf("two IDs share channel %q", a)
	}
	if !strings.HasPrefix(a, "inc-alertmanager-orders-load-") {
		t.Errorf("ChannelName lossy = %q", a)
	}
	long := ChannelName("incident-" + strings.Repeat("x", 200))
	for _, n := range []string{a, b, long, ChannelName("incident-::::"), ChannelName("incident-Ünïcode ✓")} {
		if !validChannel.MatchString(n) {
			t.Errorf("%q is not a valid Slack channel name", n)
		}
	}
}

func TestPurposeRoundTrip(t *testing.T) {
	id := "incident-alertmanager:abc/orders"
	got, ok := IncidentFromPurpose(Purpose(id, "Orders load failed — again"))
	if !ok || got != id {
		t.Fatalf("IncidentFromPurpose = %q, %v; want %q", got, ok, id)
	}
	for _, p := range []string{"", "random purpose", "datasev incident ", "datasev incident not-an-incident"} {
		if id, ok := IncidentFromPurpose(p); ok {
			t.Errorf("IncidentFromPurpose(%q) = %q, want false", p, id)
		}
	}
}
