package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows/oncall"
)

// The dev roster trusts the intake's PagerDuty key for pagerduty claims,
// and every person has a PagerDuty user ID, so the demo's acknowledgement
// made in PagerDuty maps to the Commander and verifies.
func TestDevKeysPagerDuty(t *testing.T) {
	r, err := oncall.Load(filepath.Join("..", "..", "runbooks", "roster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.People {
		r.People[i].PagerDuty = "" // a roster without PagerDuty IDs
	}
	r.People[1].PagerDuty = "PDEV" + "ALICE" // taken by someone else already
	k, err := setupDevKeys(t.TempDir(), r)
	if err != nil {
		t.Fatal(err)
	}
	if k.pagerduty == nil || k.pagerduty.Service() != intake.PagerDutyServiceName {
		t.Fatalf("the intake's PagerDuty signer is %v, want service %s", k.pagerduty, intake.PagerDutyServiceName)
	}
	svc, ok := k.roster.Trust.ServiceByName(intake.PagerDutyServiceName)
	if !ok || svc.Key != k.pagerduty.PublicKey() || !slices.Equal(svc.Claims, []string{"pagerduty"}) {
		t.Errorf("pagerduty service %+v, want key %s with claims [pagerduty]", svc, k.pagerduty.PublicKey())
	}
	if svc.Key == k.slack.PublicKey() {
		t.Error("the intake's PagerDuty key is the Slack app's")
	}
	for i, p := range k.roster.People {
		switch {
		case p.ID == "alice" && p.PagerDuty != "":
			t.Errorf("alice got %q, another person's PagerDuty ID", p.PagerDuty)
		case i == 1 && p.PagerDuty != "PDEVALICE":
			t.Errorf("%s's own PagerDuty ID became %q", p.ID, p.PagerDuty)
		case p.ID != "alice" && i != 1:
			if got, ok := k.roster.PersonByPagerDuty(p.PagerDuty); !ok || got.ID != p.ID {
				t.Errorf("%s: PagerDuty ID %q maps to %+v", p.ID, p.PagerDuty, got)
			}
		}
	}
}

// The sample roster's own PagerDuty IDs are kept as they are.
func TestDevKeysKeepRosterPagerDutyIDs(t *testing.T) {
	r, err := oncall.Load(filepath.Join("..", "..", "runbooks", "roster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := setupDevKeys(t.TempDir(), r)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range k.roster.People {
		if p.PagerDuty == "" || p.PagerDuty != r.People[i].PagerDuty {
			t.Errorf("%s: PagerDuty ID %q, the roster's is %q", p.ID, p.PagerDuty, r.People[i].PagerDuty)
		}
	}
}
