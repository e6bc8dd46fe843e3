package oncall_test

import (
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows/oncall"
)

const base = `
team: data
timezone: Europe/Berlin
people: [{id: a}, {id: b}, {id: c}]
shifts:
  - {name: day, start: "08:00", end: "20:00", commander: a, secondary: b}
  - {name: night, start: "20:00", end: "08:00", commander: c}
`

func TestParseRejectsBadRosters(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", base + "colour: blue\n", "unknown field \"colour\""},
		{"unknown field has its line", strings.TrimPrefix(base, "\n") + "colour: blue\n", "[7:1]"},
		{"bad zone", strings.Replace(base, "Europe/Berlin", "Mars/Olympus", 1), `timezone: unknown zone "Mars/Olympus"`},
		{"unknown person", strings.Replace(base, "commander: c", "commander: zed", 1), `shifts[1].commander: "zed" is not in people`},
		{"gap", strings.Replace(base, `end: "08:00"`, `end: "07:00"`, 1), "no shift covers 07:00"},
		{"overlap", strings.Replace(base, `end: "08:00"`, `end: "09:00"`, 1), "more than one shift covers 08:00"},
		{"bad clock", strings.Replace(base, `"20:00", end`, `"8pm", end`, 1), `shifts[1].start: "8pm" is not a time of day`},
		{"no commander", strings.Replace(base, ", commander: c", "", 1), "shifts[1].commander: required"},
		{"duplicate person", strings.Replace(base, "{id: c}", "{id: a}", 1), `people[2].id: duplicate id "a"`},
		{"not yaml", "team: [", "invalid YAML"},
		{"bad pagerduty id", strings.Replace(base, "{id: c}", "{id: c, pagerduty: 'P 1'}", 1), `people[2].pagerduty: "P 1" is not a PagerDuty user ID`},
		{"shared pagerduty id", strings.Replace(strings.Replace(base, "{id: c}", "{id: c, pagerduty: PX1}", 1), "{id: a}", "{id: a, pagerduty: PX1}", 1), `people[2].pagerduty: "PX1" is also another person's`},
		{"bad person key", strings.Replace(base, "{id: c}", "{id: c, keys: [ssh-ed25519 AAAA]}", 1), `people[2].keys[0]: public key "ssh-ed25519 AAAA": want ed25519:<base64>`},
		{"unknown unsigned kind", base + "trust: {unsigned: [Approve!]}\n", `trust.unsigned[0]: "Approve!" is not an act name`},
		{"service without key", base + "trust: {services: [{name: slack, claims: [slack]}]}\n", "trust.services[0].key: public key"},
		{"service claims", base + "trust: {services: [{name: slack, key: 'ed25519:" + strings.Repeat("A", 43) + "=', claims: [github]}]}\n", `trust.services[0].claims[0]: "github": the claims a service can make are: slack`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oncall.Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAtCoversMidnightAndDST(t *testing.T) {
	r, err := oncall.Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		at        string
		shift     string
		end, next string
		hours     float64
	}{
		{"2026-06-02 08:00", "day", "2026-06-02 20:00", "night", 12},
		{"2026-06-02 19:59", "day", "2026-06-02 20:00", "night", 12},
		{"2026-06-02 20:00", "night", "2026-06-03 08:00", "day", 12},
		{"2026-06-03 03:00", "night", "2026-06-03 08:00", "day", 12},
		// Europe/Berlin springs forward on 2026-03-29 at 02:00: that night is 11 hours.
		{"2026-03-28 23:00", "night", "2026-03-29 08:00", "day", 11},
		// And falls back on 2026-10-25 at 03:00: that night is 13 hours.
		{"2026-10-25 02:30", "night", "2026-10-25 08:00", "day", 13},
	} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", tc.at, loc)
		d, err := r.At(at, loc)
		if err != nil {
			t.Fatalf("%s: %v", tc.at, err)
		}
		end, _ := time.ParseInLocation("2006-01-02 15:04", tc.end, loc)
		if d.Shift.Name != tc.shift || !d.End.Equal(end) || d.Next.Name != tc.next {
			t.Errorf("%s: got %s until %s then %s, want %s until %s then %s", tc.at, d.Shift.Name, d.End.In(loc), d.Next.Name, tc.shift, tc.end, tc.next)
		}
		if got := d.End.Sub(d.Start).Hours(); got != tc.hours {
			t.Errorf("%s: shift lasts %vh, want %vh", tc.at, got, tc.hours)
		}
	}
}

func TestLoadSampleRoster(t *testing.T) {
	r, err := oncall.Load("testdata/roster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := r.PersonBySlack("U02"); !ok || p.ID != "b" {
		t.Errorf("slack lookup: %+v %v", p, ok)
	}
	if r.Lead() != 10*time.Minute || r.Grace() != 15*time.Minute {
		t.Errorf("lead %s grace %s, want 10m and the 15m default", r.Lead(), r.Grace())
	}
	if _, err := oncall.Load("testdata/missing.yaml"); err == nil || !strings.Contains(err.Error(), "read roster") {
		t.Errorf("missing file: %v", err)
	}
}

// TestPersonByPagerDuty: a PagerDuty user ID maps to its roster person, and
// an unknown or empty one maps to nobody.
func TestPersonByPagerDuty(t *testing.T) {
	r, err := oncall.Parse([]byte(strings.Replace(base, "{id: c}", "{id: c, pagerduty: PC0FFEE}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := r.PersonByPagerDuty("PC0FFEE"); !ok || p.ID != "c" {
		t.Fatalf("PC0FFEE: got %+v %v, want c", p, ok)
	}
	for _, id := range []string{"", "PNOBODY"} {
		if p, ok := r.PersonByPagerDuty(id); ok {
			t.Fatalf("%q: got %+v, want nobody", id, p)
		}
	}
}
