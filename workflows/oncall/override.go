package oncall

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// An override puts a person into a role for a stretch of time, ahead of the
// roster's shifts: a swap, cover for a sick day. Overrides live in the
// team's on-call store (workflows/oncallstore); an incident reads the
// effective on-duty set through the on-call activity at open and at each
// shift boundary, so a swap made after the incident opened still decides
// who the handoff pages.

// Roles an override can fill.
const (
	RoleCommander = "commander"
	RoleSecondary = "secondary"
	RoleScribe    = "scribe"
	RoleLiaison   = "liaison"
)

// OverrideRoles lists the roles an override can fill, in a stable order.
var OverrideRoles = []string{RoleCommander, RoleSecondary, RoleScribe, RoleLiaison}

// Bounds on a team's overrides.
const (
	// MaxOverrides bounds the overrides a team's store holds (current and
	// future; ended ones are pruned).
	MaxOverrides = 200
	// MaxOverrideHorizon is how far ahead an override may end.
	MaxOverrideHorizon = 90 * 24 * time.Hour
	// MaxOverrideReason bounds an override's reason, in bytes.
	MaxOverrideReason = 500
)

// Override is one person in one role from From until Until.
type Override struct {
	// ID names the override in listings and for cancelling ("o12").
	ID string `json:"id"`
	// Role is one of OverrideRoles.
	Role string `json:"role"`
	// Person is the roster ID of the person who holds the role.
	Person string `json:"person"`
	// From and Until bound it: active when From <= t < Until.
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
	// Reason says why. Optional.
	Reason string `json:"reason,omitempty"`
	// SetBy is who set it, SetAt when, and Verified how the store verified
	// them ("key SHA256:…").
	SetBy    string    `json:"set_by"`
	SetAt    time.Time `json:"set_at"`
	Verified string    `json:"verified,omitempty"`
}

// Active reports whether o covers the instant t.
func (o Override) Active(t time.Time) bool { return !t.Before(o.From) && t.Before(o.Until) }

// String describes the override for timelines and listings.
func (o Override) String() string {
	return fmt.Sprintf("%s %s is %s from %s until %s (set by %s)", o.ID, o.Person, o.Role,
		o.From.UTC().Format(time.RFC3339), o.Until.UTC().Format(time.RFC3339), o.SetBy)
}

// KnownRole reports whether role is one an override can fill.
func KnownRole(role string) bool { return slices.Contains(OverrideRoles, role) }

// IsCommander reports whether person commands at least one of the roster's
// shifts: a commander may set and cancel overrides for anyone.
func (r *Roster) IsCommander(person string) bool {
	for _, s := range r.Shifts {
		if s.Commander == person {
			return true
		}
	}
	return false
}

// CheckOverride reports what is wrong with o as a new override set by by at
// now, against the roster and the overrides already held: the role must be
// known, the person on the roster, From before Until, Until in the future
// and at most MaxOverrideHorizon ahead, the reason short, and by the person
// taking the role or a commander. It is pure: the store's update validator
// and its handler both call it.
func (r *Roster) CheckOverride(o Override, by string, now time.Time, held int) error {
	var errs []error
	if !KnownRole(o.Role) {
		errs = append(errs, fmt.Errorf("role %q: an override fills one of %s", o.Role, strings.Join(OverrideRoles, ", ")))
	}
	if _, ok := r.Person(o.Person); !ok {
		errs = append(errs, fmt.Errorf("person %q is not on the %s roster", o.Person, r.Team))
	}
	switch {
	case o.From.IsZero() || o.Until.IsZero():
		errs = append(errs, errors.New("from and until are both required"))
	case !o.From.Before(o.Until):
		errs = append(errs, fmt.Errorf("from (%s) must be before until (%s)", o.From.UTC().Format(time.RFC3339), o.Until.UTC().Format(time.RFC3339)))
	case !o.Until.After(now):
		errs = append(errs, fmt.Errorf("until (%s) has already passed", o.Until.UTC().Format(time.RFC3339)))
	case o.Until.Sub(now) > MaxOverrideHorizon:
		errs = append(errs, fmt.Errorf("until (%s) is more than %d days ahead", o.Until.UTC().Format(time.RFC3339), int(MaxOverrideHorizon/(24*time.Hour))))
	}
	if len(o.Reason) > MaxOverrideReason {
		errs = append(errs, fmt.Errorf("reason: %d bytes, at most %d", len(o.Reason), MaxOverrideReason))
	}
	if held >= MaxOverrides {
		errs = append(errs, fmt.Errorf("the %s store already holds %d overrides, the most it keeps: cancel some first", r.Team, held))
	}
	if by != o.Person && !r.IsCommander(by) {
		errs = append(errs, fmt.Errorf("%s may not put %s on call: an override is set by the person taking the role, or by someone who commands a shift in the roster", by, o.Person))
	}
	return errors.Join(errs...)
}

// MayCancel reports whether by may cancel o: its person, whoever set it, or
// a commander.
func (r *Roster) MayCancel(o Override, by string) bool {
	return by == o.Person || by == o.SetBy || r.IsCommander(by)
}

// Apply returns shift with the roles that overrides active at t fill
// replaced, and the overrides it applied. When several active overrides
// fill one role, the one set last (the later in the list) wins.
func Apply(shift Shift, overrides []Override, t time.Time) (Shift, []Override) {
	var applied []Override
	out := shift
	out.SMEs = slices.Clone(shift.SMEs)
	for _, role := range OverrideRoles {
		var win *Override
		for i := range overrides {
			if o := &overrides[i]; o.Role == role && o.Active(t) {
				win = o
			}
		}
		if win == nil {
			continue
		}
		switch role {
		case RoleCommander:
			out.Commander = win.Person
		case RoleSecondary:
			out.Secondary = win.Person
		case RoleScribe:
			out.Scribe = win.Person
		case RoleLiaison:
			out.Liaison = win.Person
		}
		applied = append(applied, *win)
	}
	return out, applied
}

// DutyRequest asks the on-call activity who is on duty at an instant.
type DutyRequest struct {
	// Team is the roster's team; its overrides are read from its store.
	Team string `json:"team"`
	// At is the instant asked about: the incident's opening, or the start
	// of the next shift.
	At time.Time `json:"at"`
	// Shift is the incident's roster's shift covering At, the answer when
	// nothing overrides it.
	Shift Shift `json:"shift"`
}

// Duty is the on-call activity's answer: the effective on-duty set.
type Duty struct {
	// Shift is the shift at At with every override and schedule answer
	// applied.
	Shift Shift `json:"shift"`
	// Source says where the answer came from: "roster" or "pagerduty".
	Source string `json:"source"`
	// Overrides are the overrides that were applied.
	Overrides []Override `json:"overrides,omitempty"`
	// Notes say what was decided along the way, for the timeline (an
	// unmapped PagerDuty user, a role kept from the roster).
	Notes []string `json:"notes,omitempty"`
}

// Changes lists the roles whose holder differs between the roster's shift
// and d's, as "commander bob (roster: alice)".
func (d Duty) Changes(roster Shift) []string {
	var out []string
	for _, c := range []struct{ role, was, is string }{
		{RoleCommander, roster.Commander, d.Shift.Commander},
		{RoleSecondary, roster.Secondary, d.Shift.Secondary},
		{RoleScribe, roster.Scribe, d.Shift.Scribe},
		{RoleLiaison, roster.Liaison, d.Shift.Liaison},
	} {
		if c.was != c.is {
			out = append(out, fmt.Sprintf("%s %s (roster: %s)", c.role, orNobody(c.is), orNobody(c.was)))
		}
	}
	return out
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// Names of the on-call store and the on-call activity, as the worker
// registers them.
const (
	// DutyActivityName reads who is on duty at an instant: DutyRequest
	// in, Duty out (activities/lifecycle/oncall).
	DutyActivityName = "OnCallDuty"
	// RosterActivityName returns the worker's roster for a team, which the
	// store verifies overrides against (activities/lifecycle/oncall).
	RosterActivityName = "OnCallRoster"
	// StoreWorkflowName is the workflow type of a team's on-call store
	// (workflows/oncallstore).
	StoreWorkflowName = "OnCallStore"
	// UpdateSetOverride adds an override to a store: a signed
	// workflows.Act (see workflows/oncallstore).
	UpdateSetOverride = "oncall_override"
	// UpdateCancelOverride cancels one: a signed workflows.Act whose Other
	// is the override's ID.
	UpdateCancelOverride = "oncall_cancel_override"
	// QueryOverrides lists a store's overrides ([]Override).
	QueryOverrides = "overrides"
)

// StoreWorkflowID is the workflow ID of team's on-call store.
func StoreWorkflowID(team string) string { return "datasev-oncall:" + team }
