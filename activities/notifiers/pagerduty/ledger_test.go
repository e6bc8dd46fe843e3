package pagerdutyact

import (
	"fmt"
	"log/slog"
	"testing"
)

func TestRaisedPagesAreBounded(t *testing.T) {
	b := &Backend{log: slog.New(slog.DiscardHandler), raised: map[string][]raisedPage{}}
	for i := range MaxPagesPerIncident + 5 {
		b.remember("inc", raisedPage{routingKey: "rk", dedupKey: fmt.Sprintf("k%d", i)})
	}
	if n := len(b.Raised("inc")); n != MaxPagesPerIncident {
		t.Errorf("pages remembered for one incident: %d, want %d", n, MaxPagesPerIncident)
	}
	if got := b.Raised("inc")[0]; got != "k5" {
		t.Errorf("oldest kept: %s, want k5 (the oldest go first)", got)
	}
	for i := range MaxIncidents + 3 {
		b.remember(fmt.Sprintf("i%d", i), raisedPage{routingKey: "rk", dedupKey: "k"})
	}
	if len(b.raised) != MaxIncidents || len(b.order) != MaxIncidents {
		t.Errorf("incidents remembered: %d (order %d), want %d", len(b.raised), len(b.order), MaxIncidents)
	}
	b.mark("i5", "k", ActionResolve)
	if _, ok := b.raised["i5"]; ok || len(b.order) != MaxIncidents-1 {
		t.Error("a resolved incident's last page is still remembered")
	}
}
