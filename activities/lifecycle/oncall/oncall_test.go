package oncall_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	oncallact "github.com/datasev/datasev/activities/lifecycle/oncall"
	"github.com/datasev/datasev/activities/lifecycle/oncall/pdresttest"
	"github.com/datasev/datasev/workflows/oncall"
)

const rosterYAML = `
team: data-platform
timezone: Europe/Berlin
people:
  - {id: alice, pagerduty: PALICE}
  - {id: bob, pagerduty: PBOB}
  - {id: carol, pagerduty: PCAROL}
  - {id: dan}
shifts:
  - {name: day, start: "08:00", end: "20:00", commander: alice, secondary: bob}
  - {name: night, start: "20:00", end: "08:00", commander: carol, secondary: dan}
`

var at = time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC) // 20:00 in Berlin: the night shift starts

func setup(t *testing.T) (*pdresttest.Server, *oncallact.Activities, oncall.DutyRequest) {
	t.Helper()
	r, err := oncall.Parse([]byte(rosterYAML))
	if err != nil {
		t.Fatal(err)
	}
	pd := pdresttest.New("tok-123")
	t.Cleanup(pd.Close)
	a := &oncallact.Activities{
		Config: oncallact.Config{Source: oncallact.SourcePagerDuty, PagerDuty: oncallact.PagerDutyConfig{
			Token: "tok-123", URL: pd.URL, EscalationPolicies: []string{"PPOL1"}, Levels: oncallact.DefaultLevels(),
		}},
		Roster: &r,
	}
	return pd, a, oncall.DutyRequest{Team: r.Team, At: at, Shift: r.Shifts[1]}
}

// PagerDuty's level 1 and 2 on-calls become the Commander and the
// secondary, mapped by the roster's pagerduty: IDs; entries that ended
// before the instant, and other policies, do not count.
func TestPagerDutyMapsUsersToRosterPeople(t *testing.T) {
	pd, a, req := setup(t)
	pd.Set(
		pdresttest.OnCall{User: "PALICE", EscalationPolicy: "PPOL1", Schedule: "PSCHED", Level: 1, Start: at.Add(-12 * time.Hour), End: at}, // ended
		pdresttest.OnCall{User: "PBOB", EscalationPolicy: "PPOL1", Schedule: "PSCHED", Level: 1, Start: at, End: at.Add(12 * time.Hour)},
		pdresttest.OnCall{User: "PALICE", EscalationPolicy: "PPOL1", Level: 2}, // permanent
		pdresttest.OnCall{User: "PCAROL", EscalationPolicy: "POTHER", Level: 1},
	)
	d, err := a.Duty(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != "pagerduty" || d.Shift.Commander != "bob" || d.Shift.Secondary != "alice" || d.Shift.Name != "night" {
		t.Errorf("duty %+v, want pagerduty: bob commands, alice secondary, night shift", d)
	}
	if len(d.Notes) != 0 {
		t.Errorf("notes %q, want none", d.Notes)
	}
	q := pd.Requests()[0]
	for _, want := range []string{"escalation_policy_ids%5B%5D=PPOL1", "since=2026-12-05T19%3A00%3A00Z", "until=2026-12-05T19%3A00%3A01Z"} {
		if !strings.Contains(q, want) {
			t.Errorf("query %q lacks %q", q, want)
		}
	}
}

// A PagerDuty user no roster person names keeps the roster's holder, with
// a note naming the user; so does a level nobody holds.
func TestPagerDutyUnmappedUserFallsBackToRoster(t *testing.T) {
	pd, a, req := setup(t)
	pd.Set(pdresttest.OnCall{User: "PSTRANGER", EscalationPolicy: "PPOL1", Level: 1})
	d, err := a.Duty(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if d.Shift.Commander != "carol" || d.Shift.Secondary != "dan" {
		t.Errorf("duty %+v, want the roster's carol and dan", d.Shift)
	}
	notes := strings.Join(d.Notes, "\n")
	if !strings.Contains(notes, "user PSTRANGER") || !strings.Contains(notes, "keeping carol from the roster") || !strings.Contains(notes, "level 2 (secondary): keeping dan") {
		t.Errorf("notes %q, want the unmapped user and the empty level", notes)
	}
}

// More entries than a page: the activity reads the next pages.
func TestPagerDutyReadsEveryPage(t *testing.T) {
	pd, a, req := setup(t)
	var oc []pdresttest.OnCall
	for i := range 130 {
		oc = append(oc, pdresttest.OnCall{User: fmt.Sprintf("PX%d", i), EscalationPolicy: "PPOL1", Level: 3})
	}
	pd.Set(append(oc, pdresttest.OnCall{User: "PBOB", EscalationPolicy: "PPOL1", Level: 1})...)
	d, err := a.Duty(context.Background(), req)
	if err != nil || d.Shift.Commander != "bob" {
		t.Errorf("duty %+v, %v; want bob from the second page", d.Shift, err)
	}
	if n := len(pd.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 pages", n)
	}
}

// A 429 is retried after PagerDuty's Retry-After; a 401 is not retried
// and says what to fix.
func TestPagerDutyErrors(t *testing.T) {
	pd, a, req := setup(t)
	pd.RateLimit(1, "7")
	_, err := a.Duty(context.Background(), req)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.NonRetryable() || app.NextRetryDelay() != 7*time.Second {
		t.Fatalf("429: %v, want a retryable error retried after 7s", err)
	}
	pd.Set(pdresttest.OnCall{User: "PBOB", EscalationPolicy: "PPOL1", Level: 1})
	if d, err := a.Duty(context.Background(), req); err != nil || d.Shift.Commander != "bob" {
		t.Errorf("after the 429: %+v, %v", d.Shift, err)
	}

	a.Config.PagerDuty.Token = "wrong"
	_, err = a.Duty(context.Background(), req)
	if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), oncallact.EnvPagerDutyToken) {
		t.Errorf("401: %v, want a final error naming the token variable", err)
	}
}

// Overrides apply on top of PagerDuty's answer.
func TestOverridesApplyOnTopOfPagerDuty(t *testing.T) {
	pd, a, req := setup(t)
	pd.Set(pdresttest.OnCall{User: "PBOB", EscalationPolicy: "PPOL1", Level: 1})
	a.Overrides = func(context.Context, string) ([]oncall.Override, error) {
		return []oncall.Override{{ID: "o1", Role: oncall.RoleCommander, Person: "dan", From: at.Add(-time.Hour), Until: at.Add(time.Hour)}}, nil
	}
	d, err := a.Duty(context.Background(), req)
	if err != nil || d.Shift.Commander != "dan" || len(d.Overrides) != 1 {
		t.Errorf("duty %+v, %v; want dan by override o1", d, err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("secret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := oncallact.ConfigFromEnv(env(map[string]string{}))
	if err != nil || c.Source != "roster" {
		t.Errorf("default: %+v, %v", c, err)
	}
	c, err = oncallact.ConfigFromEnv(env(map[string]string{
		"DATASEV_ONCALL_SOURCE": "pagerduty", "DATASEV_PAGERDUTY_API_TOKEN_FILE": tok,
		"DATASEV_PAGERDUTY_ESCALATION_POLICY_IDS": "P1, P2", "DATASEV_PAGERDUTY_LEVELS": "commander=1,secondary=3",
	}))
	if err != nil || c.PagerDuty.Token != "secret-token" || len(c.PagerDuty.EscalationPolicies) != 2 || c.PagerDuty.Levels["secondary"] != 3 {
		t.Errorf("pagerduty: %+v, %v", c, err)
	}
	if strings.Contains(c.PagerDuty.String(), "secret-token") {
		t.Errorf("String prints the token: %s", c.PagerDuty)
	}
	for _, bad := range []map[string]string{
		{"DATASEV_ONCALL_SOURCE": "opsgenie"},
		{"DATASEV_ONCALL_SOURCE": "pagerduty", "DATASEV_PAGERDUTY_ESCALATION_POLICY_IDS": "P1"},
		{"DATASEV_ONCALL_SOURCE": "pagerduty", "DATASEV_PAGERDUTY_API_TOKEN": "x"},
		{"DATASEV_PAGERDUTY_LEVELS": "janitor=1"},
		{"DATASEV_PAGERDUTY_LEVELS": "commander=0"},
	} {
		if _, err := oncallact.ConfigFromEnv(env(bad)); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
