// Package oncall holds the on-call activities: who is on duty at an
// instant (the roster's shift, or PagerDuty's answer, with the team's
// overrides applied), which the incident asks at open and at each shift
// boundary so that the decision is in its history; and the worker's roster,
// which a team's on-call store verifies overrides against.
package oncall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/support/secret"
	roster "github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/oncallstore"
)

// Configuration variables.
const (
	// EnvSource picks who-is-on-call's source: "roster" (the default: the
	// roster's shifts) or "pagerduty" (PagerDuty's /oncalls, the roster
	// for the people mapping and as the fallback).
	EnvSource = "DATASEV_ONCALL_SOURCE"
	// EnvPagerDutyToken is the PagerDuty REST API token (read-only is
	// enough); EnvPagerDutyToken+"_FILE" names a file holding it.
	EnvPagerDutyToken = "DATASEV_PAGERDUTY_API_TOKEN"
	// EnvPagerDutyURL is the REST API's base URL (default
	// https://api.pagerduty.com; a stand-in's in tests).
	EnvPagerDutyURL = "DATASEV_PAGERDUTY_API_URL"
	// EnvPagerDutyPolicies lists the escalation policy IDs asked about,
	// comma-separated.
	EnvPagerDutyPolicies = "DATASEV_PAGERDUTY_ESCALATION_POLICY_IDS"
	// EnvPagerDutySchedules lists schedule IDs that narrow the answer,
	// comma-separated. Optional.
	EnvPagerDutySchedules = "DATASEV_PAGERDUTY_SCHEDULE_IDS"
	// EnvPagerDutyLevels maps roles to escalation levels,
	// "commander=1,secondary=2" (the default).
	EnvPagerDutyLevels = "DATASEV_PAGERDUTY_LEVELS"
)

// Sources of who is on call.
const (
	SourceRoster    = "roster"
	SourcePagerDuty = "pagerduty"
)

// Config configures the on-call activities.
type Config struct {
	// Source is SourceRoster or SourcePagerDuty.
	Source string
	// PagerDuty configures the PagerDuty source.
	PagerDuty PagerDutyConfig
}

// PagerDutyConfig configures the PagerDuty schedule source.
type PagerDutyConfig struct {
	// Token is the REST API token. It is never printed (see String).
	Token string
	// URL is the REST API's base URL; "" for PagerDuty's.
	URL string
	// EscalationPolicies are the escalation policy IDs asked about.
	EscalationPolicies []string
	// Schedules narrow the answer to these schedules. Optional.
	Schedules []string
	// Levels maps a role (roster.RoleCommander, ...) to the escalation
	// level whose on-call holds it.
	Levels map[string]uint
}

// String describes the configuration without the token.
func (c PagerDutyConfig) String() string {
	return fmt.Sprintf("pagerduty %s policies=%s schedules=%s levels=%v", orDefault(c.URL, "https://api.pagerduty.com"),
		strings.Join(c.EscalationPolicies, ","), strings.Join(c.Schedules, ","), c.Levels)
}

// DefaultLevels are the escalation levels of the roles when
// DATASEV_PAGERDUTY_LEVELS is unset.
func DefaultLevels() map[string]uint {
	return map[string]uint{roster.RoleCommander: 1, roster.RoleSecondary: 2}
}

// ConfigFromEnv reads the configuration through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{Source: strings.ToLower(strings.TrimSpace(getenv(EnvSource)))}
	switch c.Source {
	case "":
		c.Source = SourceRoster
	case SourceRoster, SourcePagerDuty:
	default:
		return Config{}, fmt.Errorf("%s=%q: want roster or pagerduty", EnvSource, getenv(EnvSource))
	}
	tok, err := secret.FromEnv(getenv, EnvPagerDutyToken)
	if err != nil {
		return Config{}, err
	}
	pd := PagerDutyConfig{
		Token:              strings.TrimSpace(tok),
		URL:                strings.TrimRight(strings.TrimSpace(getenv(EnvPagerDutyURL)), "/"),
		EscalationPolicies: list(getenv(EnvPagerDutyPolicies)),
		Schedules:          list(getenv(EnvPagerDutySchedules)),
		Levels:             DefaultLevels(),
	}
	if v := strings.TrimSpace(getenv(EnvPagerDutyLevels)); v != "" {
		if pd.Levels, err = parseLevels(v); err != nil {
			return Config{}, fmt.Errorf("%s=%q: %w", EnvPagerDutyLevels, v, err)
		}
	}
	c.PagerDuty = pd
	if c.Source == SourcePagerDuty {
		var missing []string
		if pd.Token == "" {
			missing = append(missing, EnvPagerDutyToken+" (or "+EnvPagerDutyToken+"_FILE)")
		}
		if len(pd.EscalationPolicies) == 0 && len(pd.Schedules) == 0 {
			missing = append(missing, EnvPagerDutyPolicies+" or "+EnvPagerDutySchedules)
		}
		if len(missing) > 0 {
			return Config{}, fmt.Errorf("%s=pagerduty needs %s", EnvSource, strings.Join(missing, " and "))
		}
	}
	return c, nil
}

// parseLevels reads "commander=1,secondary=2".
func parseLevels(v string) (map[string]uint, error) {
	out := map[string]uint{}
	for _, part := range list(v) {
		role, lvl, ok := strings.Cut(part, "=")
		role = strings.TrimSpace(role)
		if !ok || !roster.KnownRole(role) {
			return nil, fmt.Errorf("%q: want role=level, the role one of %s", part, strings.Join(roster.OverrideRoles, ", "))
		}
		var n uint
		if _, err := fmt.Sscanf(strings.TrimSpace(lvl), "%d", &n); err != nil || n < 1 || n > 20 {
			return nil, fmt.Errorf("%q: the level is a whole number from 1 to 20", part)
		}
		out[role] = n
	}
	return out, nil
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// OverrideReader reads a team's overrides.
type OverrideReader func(ctx context.Context, team string) ([]roster.Override, error)

// StoreReader reads overrides from the team's on-call store by query. A
// team without a store has no overrides.
func StoreReader(c client.Client) OverrideReader {
	return func(ctx context.Context, team string) ([]roster.Override, error) {
		v, err := c.QueryWorkflow(ctx, roster.StoreWorkflowID(team), "", roster.QueryOverrides)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("query the overrides of %s (%s): %w", team, roster.StoreWorkflowID(team), err)
		}
		var out []roster.Override
		if err := v.Get(&out); err != nil {
			return nil, fmt.Errorf("decode the overrides of %s: %w", team, err)
		}
		return out, nil
	}
}

// Activities are the on-call activities.
type Activities struct {
	// Config picks the source.
	Config Config
	// Roster is the worker's roster (DATASEV_ROSTER): what the store
	// verifies overrides against and the PagerDuty source maps people
	// with. Nil when the worker has none.
	Roster *roster.Roster
	// Overrides reads a team's overrides; nil reads none.
	Overrides OverrideReader
	// HTTP is the client PagerDuty is asked through; nil for a default
	// with a timeout.
	HTTP *http.Client
	// Logger logs; nil discards.
	Logger *slog.Logger
}

// Register registers the activities on w, and the teams' on-call store
// workflow (workflows/oncallstore) under roster.StoreWorkflowName.
func Register(w worker.Registry, a *Activities) {
	w.RegisterActivityWithOptions(a.Duty, activity.RegisterOptions{Name: roster.DutyActivityName})
	w.RegisterActivityWithOptions(a.RosterOf, activity.RegisterOptions{Name: roster.RosterActivityName})
	w.RegisterWorkflowWithOptions(oncallstore.Workflow, workflow.RegisterOptions{Name: roster.StoreWorkflowName})
}

// RosterOf returns the worker's roster when it is team's.
func (a *Activities) RosterOf(_ context.Context, team string) (roster.Roster, error) {
	if a.Roster == nil {
		return roster.Roster{}, temporal.NewNonRetryableApplicationError("the worker has no roster: set DATASEV_ROSTER so overrides can be verified", "NoRoster", nil)
	}
	if a.Roster.Team != team {
		return roster.Roster{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("the worker's roster (DATASEV_ROSTER) is team %q's, not %q's", a.Roster.Team, team), "NoRoster", nil)
	}
	return *a.Roster, nil
}

// Duty answers who is on duty at req.At: the roster's shift (req.Shift),
// or PagerDuty's on-calls mapped to roster people, with the team's
// overrides active at that instant applied on top.
func (a *Activities) Duty(ctx context.Context, req roster.DutyRequest) (roster.Duty, error) {
	d := roster.Duty{Shift: req.Shift, Source: SourceRoster}
	if a.Config.Source == SourcePagerDuty {
		var err error
		if d, err = a.fromPagerDuty(ctx, req); err != nil {
			return roster.Duty{}, err
		}
	}
	if a.Overrides != nil {
		overrides, err := a.Overrides(ctx, req.Team)
		if err != nil {
			return roster.Duty{}, err
		}
		d.Shift, d.Overrides = roster.Apply(d.Shift, overrides, req.At)
	}
	return d, nil
}
