package autobudget

import (
	"context"
	"testing"

	"github.com/datasev/datasev/workflows"
)

func TestOffFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"": false, "on": false, " OFF ": true, "off": true} {
		got, err := OffFromEnv(func(string) string { return v })
		if err != nil || got != want {
			t.Errorf("%s=%q: %v, %v; want %v", EnvKillSwitch, v, got, err, want)
		}
	}
	if _, err := OffFromEnv(func(string) string { return "disabled" }); err == nil {
		t.Error("an unknown value was taken")
	}
}

// With the kill switch on, the activity answers Off without asking any
// budget (it has no client here: asking would fail).
func TestKillSwitchAsksNoBudget(t *testing.T) {
	a := &Activities{Off: true}
	res, err := a.Grant(context.Background(), workflows.AutoBudgetRequest{Policy: "p", MaxPerDay: 1, Incident: "i", Approval: "a"})
	if err != nil || res.Granted || !res.Off {
		t.Fatalf("got %+v, %v; want off and not granted", res, err)
	}
	a.Off = false
	if _, err := a.Grant(context.Background(), workflows.AutoBudgetRequest{Policy: "p", MaxPerDay: 1, Incident: "i", Approval: "a"}); err == nil {
		t.Fatal("no client, switch off: want an error")
	}
}
