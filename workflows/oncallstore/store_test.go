package oncallstore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	oncallact "github.com/datasev/datasev/activities/lifecycle/oncall"
	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/oncallstore"
	"github.com/datasev/datasev/workflows/signing"
)

var dev *devstack.Server

func TestMain(m *testing.M) {
	code := m.Run()
	if dev != nil {
		_ = dev.Stop()
	}
	os.Exit(code)
}

// team is a roster whose people have keys: alice commands the day shift,
// grace the night; bob and carol command nothing.
type team struct {
	roster  oncall.Roster
	signers map[string]*incidents.Signer
}

func newTeam(t *testing.T) team {
	t.Helper()
	tm := team{signers: map[string]*incidents.Signer{}}
	var people strings.Builder
	for _, id := range []string{"alice", "bob", "carol", "grace", "mallory"} {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tm.signers[id] = incidents.NewSigner(priv)
		fmt.Fprintf(&people, "  - {id: %s, keys: [%q]}\n", id, signing.FormatPublicKey(priv.Public().(ed25519.PublicKey)))
	}
	r, err := oncall.Parse([]byte(`team: store-test-` + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + `
timezone: Europe/Berlin
people:
` + people.String() + `shifts:
  - {name: day, start: "08:00", end: "20:00", commander: alice}
  - {name: night, start: "20:00", end: "08:00", commander: grace}
`))
	if err != nil {
		t.Fatal(err)
	}
	tm.roster = r
	return tm
}

// storeClient starts the dev server once and a worker with the on-call
// store and its roster activity on a queue of the test's own.
func storeClient(t *testing.T, r *oncall.Roster) (client.Client, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Temporal dev server; skipped in -short mode")
	}
	if dev == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var err error
		if dev, err = devstack.Start(ctx, devstack.Options{}); err != nil {
			t.Fatalf("dev server: %v", err)
		}
	}
	c := dev.Client()
	queue := "oncall-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	w := worker.New(c, queue, worker.Options{})
	oncallact.Register(w, &oncallact.Activities{Roster: r, Overrides: oncallact.StoreReader(c)})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, queue
}

func (tm team) override(by, role, person string, from, until time.Time) workflows.Act {
	return oncallstore.Act(by, oncall.Override{Role: role, Person: person, From: from, Until: until, Reason: "swap"})
}

func (tm team) sign(t *testing.T, signer string, update string, act workflows.Act) workflows.Act {
	t.Helper()
	if err := tm.signers[signer].Sign(oncall.StoreWorkflowID(tm.roster.Team), update, &act); err != nil {
		t.Fatal(err)
	}
	return act
}

// Every refused update leaves the store as it was; a signed one by the
// person swapping in, or by a commander, is taken; cancelling is for the
// person, the setter or a commander.
func TestStoreVerifiesOverridesOnDevServer(t *testing.T) {
	tm := newTeam(t)
	c, queue := storeClient(t, &tm.roster)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Now().UTC().Truncate(time.Minute)
	from, until := now.Add(2*time.Hour), now.Add(14*time.Hour)
	send := func(update string, act workflows.Act) (oncall.Override, error) {
		return cli.SendOverride(ctx, c, queue, tm.roster.Team, update, act)
	}
	count := func() int {
		t.Helper()
		list, err := cli.ListOverrides(ctx, c, tm.roster.Team)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	set := oncall.UpdateSetOverride
	tampered := tm.sign(t, "bob", set, tm.override("bob", oncall.RoleCommander, "bob", from, until))
	tampered.Person = "mallory"
	forged := tm.override("bob", oncall.RoleCommander, "bob", from, until)
	forged = tm.sign(t, "mallory", set, forged) // mallory's key, bob's name
	refused := []struct {
		name string
		act  workflows.Act
		want string
	}{
		{"unsigned", tm.override("bob", oncall.RoleCommander, "bob", from, until), "unsigned"},
		{"forged", forged, "is not one of bob's keys"},
		{"tampered", tampered, "signature does not verify"},
		{"not theirs to set", tm.sign(t, "carol", set, tm.override("carol", oncall.RoleCommander, "bob", from, until)), "carol may not put bob on call"},
		{"unknown role", tm.sign(t, "bob", set, tm.override("bob", "janitor", "bob", from, until)), `role "janitor"`},
		{"not on the roster", tm.sign(t, "alice", set, tm.override("alice", oncall.RoleCommander, "zed", from, until)), `"zed" is not on the`},
		{"backwards", tm.sign(t, "bob", set, tm.override("bob", oncall.RoleCommander, "bob", until, from)), "must be before until"},
		{"too far ahead", tm.sign(t, "bob", set, tm.override("bob", oncall.RoleCommander, "bob", from, now.Add(91*24*time.Hour))), "more than 90 days ahead"},
		{"stale signature", tm.sign(t, "bob", set, tm.override("bob", oncall.RoleCommander, "bob", from, until)), "sign it again"},
	}
	refused[len(refused)-1].act.Sig.At = now.Add(-time.Hour) // (re-signing is not needed: age is checked first)
	for _, r := range refused {
		_, err := send(set, r.act)
		if err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: got %v, want a refusal containing %q", r.name, err, r.want)
		}
		if n := count(); n != 0 {
			t.Fatalf("%s: the store holds %d overrides after a refusal, want 0", r.name, n)
		}
	}

	o, err := send(set, tm.sign(t, "bob", set, tm.override("bob", oncall.RoleCommander, "bob", from, until)))
	if err != nil {
		t.Fatalf("bob swapping himself in: %v", err)
	}
	if o.ID == "" || o.Person != "bob" || o.SetBy != "bob" || !strings.HasPrefix(o.Verified, "key SHA256:") || !o.From.Equal(from) {
		t.Errorf("override %+v", o)
	}
	if _, err := send(set, tm.sign(t, "alice", set, tm.override("alice", oncall.RoleSecondary, "carol", from, until))); err != nil {
		t.Fatalf("alice (a commander) putting carol in: %v", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d overrides, want 2", n)
	}

	// The activity reads them: bob commands at from, not before.
	a := &oncallact.Activities{Overrides: oncallact.StoreReader(c)}
	d, err := a.Duty(ctx, oncall.DutyRequest{Team: tm.roster.Team, At: from, Shift: tm.roster.Shifts[0]})
	if err != nil || d.Shift.Commander != "bob" || d.Shift.Secondary != "carol" || len(d.Overrides) != 2 {
		t.Errorf("duty at from: %+v, %v; want bob and carol by 2 overrides", d, err)
	}
	if d, _ := a.Duty(ctx, oncall.DutyRequest{Team: tm.roster.Team, At: from.Add(-time.Minute), Shift: tm.roster.Shifts[0]}); d.Shift.Commander != "alice" {
		t.Errorf("duty before from: commander %s, want alice", d.Shift.Commander)
	}

	cancelUpdate := oncall.UpdateCancelOverride
	if _, err := send(cancelUpdate, tm.sign(t, "carol", cancelUpdate, oncallstore.CancelAct("carol", o.ID, ""))); err == nil || !strings.Contains(err.Error(), "carol may not cancel") {
		t.Errorf("carol cancelling bob's override: %v, want refused", err)
	}
	if _, err := send(cancelUpdate, oncallstore.CancelAct("bob", o.ID, "")); err == nil || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("unsigned cancel: %v, want refused", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d overrides after refused cancels, want 2", n)
	}
	if _, err := send(cancelUpdate, tm.sign(t, "grace", cancelUpdate, oncallstore.CancelAct("grace", o.ID, "bob is ill"))); err != nil {
		t.Fatalf("grace (a commander) cancelling: %v", err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d overrides after the cancel, want 1", n)
	}
}

// The count bound: a full store refuses one more.
func TestCheckOverrideBounds(t *testing.T) {
	tm := newTeam(t)
	now := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	o := oncall.Override{Role: oncall.RoleCommander, Person: "bob", From: now, Until: now.Add(time.Hour)}
	if err := tm.roster.CheckOverride(o, "bob", now, oncall.MaxOverrides-1); err != nil {
		t.Errorf("below the bound: %v", err)
	}
	if err := tm.roster.CheckOverride(o, "bob", now, oncall.MaxOverrides); err == nil || !strings.Contains(err.Error(), "the most it keeps") {
		t.Errorf("at the bound: %v, want refused", err)
	}
	o.Reason = strings.Repeat("x", oncall.MaxOverrideReason+1)
	if err := tm.roster.CheckOverride(o, "bob", now, 0); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("long reason: %v, want refused", err)
	}
}
