// Package oncall holds the on-call roster: who is on the team, the team's time
// zone, and the shifts that say who commands an incident at a given instant.
//
// The roster is plain data. It is loaded and validated at the edge (worker,
// starter) and travels into the incident workflow as part of its input, so the
// shift arithmetic here must stay pure: no clock, no I/O beyond resolving the
// time zone, which the workflow does inside a side effect.
package oncall

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zone rules built in: a worker in a minimal container still knows every zone

	"github.com/goccy/go-yaml"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows/signing"
)

// Person is someone who can hold a role in an incident.
type Person struct {
	// ID is the short handle used everywhere else in the roster and in acts
	// (for example "alice"). Required and unique.
	ID string `json:"id" yaml:"id"`
	// Name is the display name. Optional; defaults to ID.
	Name string `json:"name,omitempty" yaml:"name"`
	// Slack is the person's Slack user ID, used by the Slack integration to map
	// chat users to roster people. Optional.
	Slack string `json:"slack,omitempty" yaml:"slack"`
	// Email is where email notifications go. Optional.
	Email string `json:"email,omitempty" yaml:"email"`
	// PagerDuty is the person's PagerDuty user ID ("PABC123"), which maps
	// PagerDuty's acknowledgements and on-call answers to roster people.
	// Optional; unique when given.
	PagerDuty string `json:"pagerduty,omitempty" yaml:"pagerduty"`
	// Keys are the person's public keys, each "ed25519:<base64>" as
	// `datasev keygen` prints it. An act signed with one of them is verified
	// as this person's. List the new key beside the old one while rotating:
	// a running incident keeps the roster it started with. Optional.
	Keys []string `json:"keys,omitempty" yaml:"keys"`
}

// Trust says how acts prove who sent them. Temporal does not tell a
// workflow who sent a signal, so an act's By is only a claim; a signature
// by the person's key, or by a front door that verified the person itself,
// turns it into a verified identity.
type Trust struct {
	// Unsigned lists the act kinds the incident takes without a signature
	// (a raw "Send a Signal" from the Temporal UI, a CLI without a key).
	// Optional; when absent: add_note, root_cause, contributing_factor and
	// action_item, which decide nothing. "*" takes every kind unsigned:
	// only for a namespace behind SSO with per-user authorization, where
	// who may signal is already controlled.
	Unsigned []string `json:"unsigned" yaml:"unsigned"`
	// Services are front doors that verify a platform's identity and sign
	// acts as themselves, vouching for the person (the Slack app).
	Services []Service `json:"services,omitempty" yaml:"services"`
}

// Service is a front door that signs acts on behalf of the people it
// verified.
type Service struct {
	// Name names the service in timelines ("slack"). Required and unique.
	Name string `json:"name" yaml:"name"`
	// Key is the service's public key, "ed25519:<base64>". Required.
	Key string `json:"key" yaml:"key"`
	// Keys are further public keys it may sign with: list the new key
	// here while rotating, since a running incident keeps the roster it
	// started with. Optional.
	Keys []string `json:"keys,omitempty" yaml:"keys"`
	// Claims lists the identity kinds the service may vouch for: "slack"
	// lets it sign an act claiming "slack:U…" for the person whose slack
	// ID that is, "pagerduty" one claiming "pagerduty:P…" for the person
	// whose PagerDuty user ID that is (the intake, for acknowledgements
	// made in PagerDuty). Required.
	Claims []string `json:"claims" yaml:"claims"`
}

// Shift is a recurring daily window, in the team's time zone, with the people
// who hold each incident role during it.
type Shift struct {
	// Name labels the shift in summaries ("day", "night"). Required and unique.
	Name string `json:"name" yaml:"name"`
	// Start is the local wall-clock time the shift begins, "HH:MM".
	Start string `json:"start" yaml:"start"`
	// End is the local wall-clock time the shift ends, "HH:MM". An End earlier
	// than Start means the shift runs past midnight.
	End string `json:"end" yaml:"end"`
	// Commander decides: severity, approvals, resolution, handoff. Required.
	Commander string `json:"commander" yaml:"commander"`
	// Secondary is paged when the Commander does not acknowledge in time, or
	// when a handoff or an approval goes unanswered. Optional.
	Secondary string `json:"secondary,omitempty" yaml:"secondary"`
	// Scribe documents. Optional.
	Scribe string `json:"scribe,omitempty" yaml:"scribe"`
	// Liaison communicates. Optional.
	Liaison string `json:"liaison,omitempty" yaml:"liaison"`
	// SMEs resolve: they run diagnostics and propose remediations. Optional.
	SMEs []string `json:"smes,omitempty" yaml:"smes"`
}

// Roster is the on-call roster of one team.
type Roster struct {
	// Team names the team. Required.
	Team string `json:"team" yaml:"team"`
	// TimeZone is the IANA zone the shifts are written in, e.g.
	// "Europe/Berlin". Required.
	TimeZone string `json:"timezone" yaml:"timezone"`
	// HandoffLead is how long before a shift ends the handoff summary is
	// posted and the next Commander paged. Optional; default 15m.
	HandoffLead Duration `json:"handoff_lead,omitempty" yaml:"handoff_lead"`
	// HandoffGrace is how long after the shift ends the incoming Commander
	// has to accept before the handoff escalates. Optional; default 15m.
	HandoffGrace Duration `json:"handoff_grace,omitempty" yaml:"handoff_grace"`
	// People lists everyone who may act on an incident.
	People []Person `json:"people" yaml:"people"`
	// Shifts cover the day; together they must leave no gap and not overlap.
	Shifts []Shift `json:"shifts" yaml:"shifts"`
	// Trust says which acts need a signature and which front doors may
	// vouch for people. Optional; the default takes no deciding act
	// unsigned.
	Trust Trust `json:"trust,omitzero" yaml:"trust"`
}

// Duration is a time.Duration written as "15m" in YAML and JSON, the same
// type the runbooks use.
type Duration = runbooks.Duration

const (
	defaultHandoffLead  = 15 * time.Minute
	defaultHandoffGrace = 15 * time.Minute
)

// Lead returns the handoff lead time, applying the default.
func (r *Roster) Lead() time.Duration {
	if r.HandoffLead <= 0 {
		return defaultHandoffLead
	}
	return r.HandoffLead.Std()
}

// Grace returns the handoff grace period, applying the default.
func (r *Roster) Grace() time.Duration {
	if r.HandoffGrace <= 0 {
		return defaultHandoffGrace
	}
	return r.HandoffGrace.Std()
}

// Load reads and validates a roster file.
func Load(path string) (Roster, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Roster{}, fmt.Errorf("read roster: %w", err)
	}
	r, err := Parse(b)
	if err != nil {
		return Roster{}, fmt.Errorf("roster %s: %w", path, err)
	}
	return r, nil
}

// Parse decodes a roster from YAML and validates it. Unknown fields are
// errors, reported with their line and column.
func Parse(b []byte) (Roster, error) {
	var r Roster
	if err := yaml.UnmarshalWithOptions(b, &r, yaml.Strict(), yaml.UseJSONUnmarshaler()); err != nil {
		return Roster{}, fmt.Errorf("invalid YAML:\n%s", yaml.FormatError(err, false, true))
	}
	if err := r.Validate(); err != nil {
		return Roster{}, err
	}
	return r, nil
}

// Person returns the person with the given ID.
func (r *Roster) Person(id string) (Person, bool) {
	for _, p := range r.People {
		if p.ID == id {
			return p, true
		}
	}
	return Person{}, false
}

// PersonBySlack returns the person with the given Slack user ID.
func (r *Roster) PersonBySlack(slackID string) (Person, bool) {
	for _, p := range r.People {
		if p.Slack != "" && p.Slack == slackID {
			return p, true
		}
	}
	return Person{}, false
}

// PersonByPagerDuty returns the person with the given PagerDuty user ID.
func (r *Roster) PersonByPagerDuty(userID string) (Person, bool) {
	for _, p := range r.People {
		if p.PagerDuty != "" && p.PagerDuty == userID {
			return p, true
		}
	}
	return Person{}, false
}

// Validate reports every problem with the roster at once.
func (r *Roster) Validate() error {
	var errs []error
	if strings.TrimSpace(r.Team) == "" {
		errs = append(errs, errors.New("team: required"))
	}
	if r.TimeZone == "" {
		errs = append(errs, errors.New("timezone: required (an IANA zone such as Europe/Berlin)"))
	} else if _, err := time.LoadLocation(r.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("timezone: unknown zone %q", r.TimeZone))
	}
	ids := map[string]bool{}
	pdIDs := map[string]bool{}
	for i, p := range r.People {
		switch {
		case p.ID == "":
			errs = append(errs, fmt.Errorf("people[%d].id: required", i))
		case ids[p.ID]:
			errs = append(errs, fmt.Errorf("people[%d].id: duplicate id %q", i, p.ID))
		}
		ids[p.ID] = true
		if p.PagerDuty != "" {
			switch {
			case !validPagerDutyID(p.PagerDuty):
				errs = append(errs, fmt.Errorf("people[%d].pagerduty: %q is not a PagerDuty user ID (letters and digits, at most 32, e.g. PABC123)", i, p.PagerDuty))
			case pdIDs[p.PagerDuty]:
				errs = append(errs, fmt.Errorf("people[%d].pagerduty: %q is also another person's", i, p.PagerDuty))
			}
			pdIDs[p.PagerDuty] = true
		}
		for j, k := range p.Keys {
			if _, err := signing.ParsePublicKey(k); err != nil {
				errs = append(errs, fmt.Errorf("people[%d].keys[%d]: %w", i, j, err))
			}
		}
	}
	errs = append(errs, r.Trust.validate()...)
	if len(r.Shifts) == 0 {
		errs = append(errs, errors.New("shifts: at least one shift is required"))
	}
	names := map[string]bool{}
	var minutes [24 * 60]int // how many shifts cover each minute of the day
	for i, s := range r.Shifts {
		at := fmt.Sprintf("shifts[%d]", i)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", at))
		} else if names[s.Name] {
			errs = append(errs, fmt.Errorf("%s.name: duplicate shift %q", at, s.Name))
		}
		names[s.Name] = true
		start, err1 := parseClock(s.Start)
		if err1 != nil {
			errs = append(errs, fmt.Errorf("%s.start: %w", at, err1))
		}
		end, err2 := parseClock(s.End)
		if err2 != nil {
			errs = append(errs, fmt.Errorf("%s.end: %w", at, err2))
		}
		if err1 == nil && err2 == nil {
			length := (end - start + 24*60) % (24 * 60)
			if length == 0 {
				length = 24 * 60 // a single shift written 00:00 to 00:00 covers the whole day
			}
			for k := 0; k < length; k++ {
				minutes[(start+k)%(24*60)]++
			}
		}
		check := func(field, id string) {
			if id != "" && !ids[id] {
				errs = append(errs, fmt.Errorf("%s.%s: %q is not in people", at, field, id))
			}
		}
		if s.Commander == "" {
			errs = append(errs, fmt.Errorf("%s.commander: required", at))
		}
		check("commander", s.Commander)
		check("secondary", s.Secondary)
		check("scribe", s.Scribe)
		check("liaison", s.Liaison)
		for j, id := range s.SMEs {
			check(fmt.Sprintf("smes[%d]", j), id)
		}
	}
	if len(r.Shifts) > 0 && len(errs) == 0 {
		for m, n := range minutes {
			if n == 0 {
				errs = append(errs, fmt.Errorf("shifts: no shift covers %02d:%02d", m/60, m%60))
				break
			}
			if n > 1 {
				errs = append(errs, fmt.Errorf("shifts: more than one shift covers %02d:%02d", m/60, m%60))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// validPagerDutyID reports whether s looks like a PagerDuty object ID:
// 1 to 32 ASCII letters and digits.
func validPagerDutyID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validate reports every problem with the trust section.
func (t Trust) validate() []error {
	var errs []error
	for i, k := range t.Unsigned {
		if k != "*" && !validKind(k) {
			errs = append(errs, fmt.Errorf("trust.unsigned[%d]: %q is not an act name (acknowledge, add_note, approve, ...) or *", i, k))
		}
	}
	names := map[string]bool{}
	for i, s := range t.Services {
		at := fmt.Sprintf("trust.services[%d]", i)
		switch {
		case s.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: required", at))
		case names[s.Name]:
			errs = append(errs, fmt.Errorf("%s.name: duplicate service %q", at, s.Name))
		}
		names[s.Name] = true
		if _, err := signing.ParsePublicKey(s.Key); err != nil {
			errs = append(errs, fmt.Errorf("%s.key: %w", at, err))
		}
		for j, k := range s.Keys {
			if _, err := signing.ParsePublicKey(k); err != nil {
				errs = append(errs, fmt.Errorf("%s.keys[%d]: %w", at, j, err))
			}
		}
		if len(s.Claims) == 0 {
			errs = append(errs, fmt.Errorf("%s.claims: required: which identities it vouches for (slack, pagerduty)", at))
		}
		for j, c := range s.Claims {
			if c != "slack" && c != "pagerduty" {
				errs = append(errs, fmt.Errorf("%s.claims[%d]: %q: the claims a service can make are: slack, pagerduty", at, j, c))
			}
		}
	}
	return errs
}

// validKind reports whether k looks like an act name: lower case letters
// and underscores. The incident refuses names it does not know.
func validKind(k string) bool {
	if k == "" || len(k) > 40 {
		return false
	}
	for _, c := range k {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// ServiceByName returns the service with the given name.
func (t Trust) ServiceByName(name string) (Service, bool) {
	for _, s := range t.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// parseClock turns "HH:MM" into minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day in HH:MM form", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// OnDuty describes the shift that covers an instant.
type OnDuty struct {
	// Shift is the covering shift.
	Shift Shift `json:"shift"`
	// Start is when this occurrence of the shift began.
	Start time.Time `json:"start"`
	// End is when this occurrence of the shift ends.
	End time.Time `json:"end"`
	// Next is the shift that follows it.
	Next Shift `json:"next"`
}

// At returns the shift occurrence covering t in loc. The roster must have
// been validated. Shift boundaries are wall-clock times in loc, so a shift
// that spans a daylight-saving change is an hour shorter or longer in
// absolute time, and it still ends at its written local time.
func (r *Roster) At(t time.Time, loc *time.Location) (OnDuty, error) {
	if len(r.Shifts) == 0 {
		return OnDuty{}, errors.New("roster has no shifts")
	}
	local := t.In(loc)
	// A shift occurrence that covers t started today or yesterday (local).
	for _, dayOffset := range []int{0, -1} {
		y, m, d := local.Date()
		for i, s := range r.Shifts {
			startMin, err := parseClock(s.Start)
			if err != nil {
				return OnDuty{}, err
			}
			endMin, err := parseClock(s.End)
			if err != nil {
				return OnDuty{}, err
			}
			start := wallClock(y, m, d+dayOffset, startMin, loc)
			endDay := d + dayOffset
			if endMin <= startMin {
				endDay++
			}
			end := wallClock(y, m, endDay, endMin, loc)
			if !t.Before(start) && t.Before(end) {
				return OnDuty{Shift: s, Start: start, End: end, Next: r.Shifts[r.next(i, endMin)]}, nil
			}
		}
	}
	return OnDuty{}, fmt.Errorf("no shift covers %s", local.Format(time.RFC3339))
}

// next returns the index of the shift that starts when shift i ends.
func (r *Roster) next(i, endMin int) int {
	for j, s := range r.Shifts {
		if m, err := parseClock(s.Start); err == nil && m == endMin {
			return j
		}
	}
	return i
}

// wallClock builds the instant for a local date and minute of day. Go
// normalises a wall time that does not exist (inside a spring-forward gap)
// by moving it forward, which is the behaviour a shift boundary wants.
func wallClock(y int, m time.Month, d, minute int, loc *time.Location) time.Time {
	return time.Date(y, m, d, minute/60, minute%60, 0, 0, loc)
}

// Roles returns the default role holders of a shift: the Commander, Scribe,
// Liaison and SMEs, in a stable order.
func (s Shift) Roles() (commander, scribe, liaison string, smes []string) {
	return s.Commander, s.Scribe, s.Liaison, slices.Clone(s.SMEs)
}
