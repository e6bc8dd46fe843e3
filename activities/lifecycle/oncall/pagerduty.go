package oncall

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/PagerDuty/go-pagerduty"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/retryafter"
	roster "github.com/datasev/datasev/workflows/oncall"
)

// pdPages bounds the pages of /oncalls read for one answer (100 entries
// each).
const pdPages = 10

// fromPagerDuty asks PagerDuty's REST API who is on call at req.At for the
// configured escalation policies (GET /oncalls) and maps each configured
// escalation level's user to a roster person by Person.PagerDuty. A role
// PagerDuty does not answer, or answers with a user the roster does not
// know, keeps the roster's holder, with a note. Errors: 429 and 5xx are
// retried (after Retry-After, when given); 401, 403 and other answers are
// not, and say what to fix.
func (a *Activities) fromPagerDuty(ctx context.Context, req roster.DutyRequest) (roster.Duty, error) {
	d := roster.Duty{Shift: req.Shift, Source: SourcePagerDuty}
	cfg := a.Config.PagerDuty
	if a.Roster == nil {
		return roster.Duty{}, temporal.NewNonRetryableApplicationError(
			"the PagerDuty source maps PagerDuty users to roster people, and the worker has no roster: set DATASEV_ROSTER", "NoRoster", nil)
	}
	oncalls, err := a.listOnCalls(ctx, req.At)
	if err != nil {
		return roster.Duty{}, err
	}
	for _, role := range roster.OverrideRoles {
		lvl, ok := cfg.Levels[role]
		if !ok {
			continue
		}
		holder := roleHolder(&d.Shift, role)
		var users []string
		for _, oc := range oncalls {
			if oc.EscalationLevel == lvl && covers(oc, req.At) && !slices.Contains(users, oc.User.ID) {
				users = append(users, oc.User.ID)
			}
		}
		if len(users) == 0 {
			d.Notes = append(d.Notes, fmt.Sprintf("PagerDuty has no one on call at escalation level %d (%s): keeping %s from the roster", lvl, role, orNobody(*holder)))
			continue
		}
		p, ok := a.Roster.PersonByPagerDuty(users[0])
		if !ok {
			d.Notes = append(d.Notes, fmt.Sprintf("PagerDuty's %s (level %d) is user %s, whom no roster person's pagerduty: names: keeping %s from the roster", role, lvl, users[0], orNobody(*holder)))
			continue
		}
		if len(users) > 1 {
			d.Notes = append(d.Notes, fmt.Sprintf("PagerDuty has %d users on call at level %d (%s); took the first, %s", len(users), lvl, role, users[0]))
		}
		*holder = p.ID
	}
	return d, nil
}

// listOnCalls reads the on-call entries covering at.
func (a *Activities) listOnCalls(ctx context.Context, at time.Time) ([]pagerduty.OnCall, error) {
	cfg := a.Config.PagerDuty
	rec := &retryRecorder{inner: a.HTTP}
	if rec.inner == nil {
		rec.inner = &http.Client{Timeout: 30 * time.Second}
	}
	var opts []pagerduty.ClientOptions
	if cfg.URL != "" {
		opts = append(opts, pagerduty.WithAPIEndpoint(cfg.URL))
	}
	c := pagerduty.NewClient(cfg.Token, opts...)
	c.HTTPClient = rec
	o := pagerduty.ListOnCallOptions{
		Limit:               100,
		EscalationPolicyIDs: cfg.EscalationPolicies,
		ScheduleIDs:         cfg.Schedules,
		Since:               at.UTC().Format(time.RFC3339),
		Until:               at.Add(time.Second).UTC().Format(time.RFC3339),
	}
	var out []pagerduty.OnCall
	for range pdPages {
		resp, err := c.ListOnCallsWithContext(ctx, o)
		if err != nil {
			return nil, pdError(err, rec.wait())
		}
		out = append(out, resp.OnCalls...)
		if !resp.More || len(resp.OnCalls) == 0 {
			return out, nil
		}
		o.Offset += uint(len(resp.OnCalls))
	}
	return out, nil
}

// pdError turns a PagerDuty client error into an activity error: retried
// (after wait, when PagerDuty said) or final, with what to do.
func pdError(err error, wait time.Duration) error {
	var api pagerduty.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("PagerDuty /oncalls: %w", err) // network: retried
	}
	switch {
	case api.StatusCode == http.StatusUnauthorized:
		return temporal.NewNonRetryableApplicationError("PagerDuty refused the API token (401 Unauthorized): check "+EnvPagerDutyToken+"_FILE holds a valid REST API key", "PagerDutyAuth", err)
	case api.StatusCode == http.StatusForbidden:
		return temporal.NewNonRetryableApplicationError("PagerDuty's API token may not read on-calls (403 Forbidden): give the key read access to schedules and escalation policies", "PagerDutyAuth", err)
	case api.RateLimited():
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("PagerDuty rate limit (429): retrying after %s", wait), "PagerDutyRateLimited",
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: wait})
	case api.Temporary():
		return fmt.Errorf("PagerDuty /oncalls: %w", err)
	default:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("PagerDuty /oncalls answered %d: check %s and %s", api.StatusCode, EnvPagerDutyPolicies, EnvPagerDutySchedules), "PagerDutyRefused", err)
	}
}

// covers reports whether the on-call entry oc holds at at. A missing start
// or end is a permanent on-call.
func covers(oc pagerduty.OnCall, at time.Time) bool {
	if oc.Start != "" {
		if s, err := time.Parse(time.RFC3339, oc.Start); err == nil && at.Before(s) {
			return false
		}
	}
	if oc.End != "" {
		if e, err := time.Parse(time.RFC3339, oc.End); err == nil && !at.Before(e) {
			return false
		}
	}
	return true
}

// roleHolder points at the field of s that holds role.
func roleHolder(s *roster.Shift, role string) *string {
	switch role {
	case roster.RoleSecondary:
		return &s.Secondary
	case roster.RoleScribe:
		return &s.Scribe
	case roster.RoleLiaison:
		return &s.Liaison
	default:
		return &s.Commander
	}
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// retryRecorder is the PagerDuty client's HTTP client: it remembers how
// long the last 429 asked to wait, which the client's APIError does not
// carry.
type retryRecorder struct {
	inner *http.Client
	mu    sync.Mutex
	after time.Duration
}

// Do sends r and records a 429's Retry-After.
func (r *retryRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.inner.Do(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		d := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())
		r.mu.Lock()
		r.after = d
		r.mu.Unlock()
	}
	return resp, err
}

// wait is the delay before retrying a 429: Retry-After held within [1s,
// 1m], else 5s.
func (r *retryRecorder) wait() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.after <= 0 {
		return 5 * time.Second
	}
	return retryafter.Bound(r.after, time.Second, time.Minute)
}
