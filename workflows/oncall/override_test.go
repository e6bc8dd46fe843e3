package oncall

import (
	"slices"
	"testing"
	"time"
)

func TestApplyOverrides(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	shift := Shift{Name: "night", Commander: "grace", Secondary: "heidi", SMEs: []string{"ivan"}}
	overrides := []Override{
		{ID: "o1", Role: RoleCommander, Person: "bob", From: t0, Until: t0.Add(12 * time.Hour)},
		{ID: "o2", Role: RoleCommander, Person: "carol", From: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, // set later: wins
		{ID: "o3", Role: RoleSecondary, Person: "dan", From: t0.Add(-2 * time.Hour), Until: t0},              // ended at t0
		{ID: "o4", Role: RoleScribe, Person: "erin", From: t0.Add(time.Minute), Until: t0.Add(time.Hour)},    // not yet
	}
	got, applied := Apply(shift, overrides, t0)
	if got.Commander != "carol" || got.Secondary != "heidi" || got.Scribe != "" || !slices.Equal(got.SMEs, []string{"ivan"}) {
		t.Errorf("Apply = %+v, want carol commanding, the rest as the roster", got)
	}
	if len(applied) != 1 || applied[0].ID != "o2" {
		t.Errorf("applied %+v, want o2 only", applied)
	}
	if shift.Commander != "grace" {
		t.Error("Apply changed its argument")
	}
	d := Duty{Shift: got}
	if c := d.Changes(shift); !slices.Equal(c, []string{"commander carol (roster: grace)"}) {
		t.Errorf("Changes = %q", c)
	}
	if got, _ := Apply(shift, overrides, t0.Add(2*time.Hour)); got.Commander != "bob" {
		t.Errorf("after o2 ended: commander %s, want bob (o1)", got.Commander)
	}
}
