// Package oncallstore holds a team's on-call store: one long-lived workflow
// per team (ID oncall.StoreWorkflowID, "datasev-oncall:<team>") that keeps
// the team's overrides. People change it through Workflow Updates signed
// with their key, exactly as they sign acts; the validator verifies the
// signature against the roster the worker was given (DATASEV_ROSTER, read
// through an activity) and refuses anything unsigned, forged, out of
// bounds or not theirs to set, so a refused update leaves no trace in the
// store's history. The on-call activity reads the overrides by query.
//
// Who may set an override: the person taking the role (a swap: bob puts
// himself in for alice), or anyone who commands a shift in the roster. Who
// may cancel one: its person, whoever set it, or a commander.
package oncallstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/signing"
)

// Input starts a store, or carries its state across continue-as-new.
type Input struct {
	// Team is the roster's team. Required.
	Team string `json:"team"`
	// Overrides are the overrides held, in the order they were set.
	Overrides []oncall.Override `json:"overrides,omitempty"`
	// NextID numbers the next override.
	NextID int `json:"next_id,omitempty"`
	// Seen are the IDs of the signed updates taken recently, so a
	// captured update cannot be applied twice while its signature is
	// still young enough to be taken.
	Seen []Seen `json:"seen,omitempty"`
}

// Seen is a signed update already taken.
type Seen struct {
	ID string    `json:"id"`
	At time.Time `json:"at"` // its signature's time
}

// Bounds of the store.
const (
	// maxSeen bounds the updates taken within one signature lifetime
	// (workflows.MaxActAge): a rate bound on changes to the store.
	maxSeen = 500
	// rosterRefresh is how often the store rereads the worker's roster.
	rosterRefresh = 6 * time.Hour
	// rosterRetry is how soon it tries again when the worker had none.
	rosterRetry = 10 * time.Minute
	// updatesPerRun bounds the updates one run takes before it continues
	// as new.
	updatesPerRun = 500
)

// Workflow is the on-call store of one team.
func Workflow(ctx workflow.Context, in Input) error {
	if strings.TrimSpace(in.Team) == "" {
		return temporal.NewNonRetryableApplicationError("the on-call store needs a team", "BadInput", nil)
	}
	s := &store{in: in}
	if err := s.register(ctx); err != nil {
		return err
	}
	for {
		now := workflow.Now(ctx)
		s.prune(now)
		if s.loadedAt.IsZero() || now.Sub(s.loadedAt) >= s.refresh() {
			s.loadRoster(ctx)
			continue
		}
		if s.updates >= updatesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			s.prune(workflow.Now(ctx))
			next := s.in
			return workflow.NewContinueAsNewError(ctx, workflow.GetInfo(ctx).WorkflowType.Name, next)
		}
		wait := s.loadedAt.Add(s.refresh()).Sub(now)
		if at := s.nextExpiry(); !at.IsZero() && at.Sub(now) < wait {
			wait = at.Sub(now)
		}
		s.dirty = false
		if _, err := workflow.AwaitWithTimeout(ctx, max(wait, time.Second), func() bool { return s.dirty }); err != nil {
			return err
		}
	}
}

// store is the workflow's state.
type store struct {
	in        Input
	roster    *oncall.Roster
	rosterErr string
	loadedAt  time.Time
	loading   bool
	dirty     bool // an update changed the overrides
	updates   int
}

func (s *store) refresh() time.Duration {
	if s.roster == nil {
		return rosterRetry
	}
	return rosterRefresh
}

// register sets the query and the two updates.
func (s *store) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, oncall.QueryOverrides, func() ([]oncall.Override, error) {
		return s.in.Overrides, nil
	}); err != nil {
		return fmt.Errorf("register the overrides query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, oncall.UpdateSetOverride, s.set, workflow.UpdateHandlerOptions{
		Validator: func(ctx workflow.Context, act workflows.Act) error {
			return s.precheck(ctx, oncall.UpdateSetOverride, act)
		},
		Description: "set an on-call override (a signed act)",
	}); err != nil {
		return fmt.Errorf("register %s: %w", oncall.UpdateSetOverride, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, oncall.UpdateCancelOverride, s.cancel, workflow.UpdateHandlerOptions{
		Validator: func(ctx workflow.Context, act workflows.Act) error {
			return s.precheck(ctx, oncall.UpdateCancelOverride, act)
		},
		Description: "cancel an on-call override (a signed act)",
	}); err != nil {
		return fmt.Errorf("register %s: %w", oncall.UpdateCancelOverride, err)
	}
	return nil
}

// loadRoster reads the worker's roster for the team.
func (s *store) loadRoster(ctx workflow.Context) {
	s.loading = true
	defer func() { s.loading = false }()
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
		Summary:             "read the roster of " + s.in.Team,
	})
	var r oncall.Roster
	err := workflow.ExecuteActivity(actx, oncall.RosterActivityName, s.in.Team).Get(ctx, &r)
	s.loadedAt = workflow.Now(ctx)
	if err != nil {
		s.rosterErr = "the worker has no roster for " + s.in.Team + ": " + rootMessage(err)
		workflow.GetLogger(ctx).Warn("on-call store without a roster", "team", s.in.Team, "error", err)
		return
	}
	s.roster, s.rosterErr = &r, ""
}

// precheck is the updates' validator. It refuses what it can refuse
// without the roster (unsigned, stale, replayed, malformed) and, once the
// roster is loaded, everything check refuses; refused updates are not
// written to history.
func (s *store) precheck(ctx workflow.Context, name string, act workflows.Act) error {
	now := workflow.Now(ctx)
	if err := s.stateless(name, act, now); err != nil {
		return err
	}
	if s.roster == nil {
		if s.rosterErr != "" && !s.loading {
			return errors.New(s.rosterErr)
		}
		return nil // the handler checks once the roster is read
	}
	_, err := s.check(name, act, now)
	return err
}

// stateless checks what needs neither roster nor overrides.
func (s *store) stateless(name string, act workflows.Act, now time.Time) error {
	if act.Sig == nil {
		return fmt.Errorf("%s is unsigned: an override decides who is paged, so it needs your key (datasev keygen; DATASEV_KEY_FILE)", name)
	}
	if act.ID == "" || len(act.ID) > 100 {
		return errors.New("a signed override needs an id of at most 100 bytes, so that it is applied once")
	}
	if age := now.Sub(act.Sig.At); age > workflows.MaxActAge || age < -workflows.MaxActSkew {
		return fmt.Errorf("signature made at %s, %s from the store's clock (%s): sign it again",
			act.Sig.At.UTC().Format(time.RFC3339), age.Round(time.Second), now.UTC().Format(time.RFC3339))
	}
	if slices.ContainsFunc(s.in.Seen, func(x Seen) bool { return x.ID == act.ID }) {
		return fmt.Errorf("update %s was already taken", act.ID)
	}
	if len(s.in.Seen) >= maxSeen {
		return fmt.Errorf("the %s store took %d changes in the last %s, the most it takes: try again later", s.in.Team, len(s.in.Seen), workflows.MaxActAge)
	}
	return nil
}

// check verifies the act against the roster and the overrides held and
// returns, for a set, the override it makes, or, for a cancel, the
// override it cancels.
func (s *store) check(name string, act workflows.Act, now time.Time) (oncall.Override, error) {
	if s.roster == nil {
		return oncall.Override{}, errors.New(s.rosterErr)
	}
	verified, err := Verify(s.roster, s.in.Team, name, act)
	if err != nil {
		return oncall.Override{}, err
	}
	switch name {
	case oncall.UpdateSetOverride:
		o, err := OverrideOf(act)
		if err != nil {
			return oncall.Override{}, err
		}
		o.SetBy, o.SetAt, o.Verified = act.By, now, verified
		return o, s.roster.CheckOverride(o, act.By, now, len(s.in.Overrides))
	case oncall.UpdateCancelOverride:
		i := slices.IndexFunc(s.in.Overrides, func(o oncall.Override) bool { return o.ID == act.Other })
		if i < 0 {
			return oncall.Override{}, fmt.Errorf("no override %q in the %s store (datasev oncall overrides lists them)", act.Other, s.in.Team)
		}
		o := s.in.Overrides[i]
		if !s.roster.MayCancel(o, act.By) {
			return oncall.Override{}, fmt.Errorf("%s may not cancel %s: its person (%s), whoever set it (%s) or a commander may", act.By, o.ID, o.Person, o.SetBy)
		}
		return o, nil
	}
	return oncall.Override{}, fmt.Errorf("unknown update %q", name)
}

// set adds an override.
func (s *store) set(ctx workflow.Context, act workflows.Act) (oncall.Override, error) {
	o, err := s.await(ctx, oncall.UpdateSetOverride, act)
	if err != nil {
		return oncall.Override{}, err
	}
	s.in.NextID++
	o.ID = fmt.Sprintf("o%d", s.in.NextID)
	s.in.Overrides = append(s.in.Overrides, o)
	s.taken(act)
	return o, nil
}

// cancel removes an override.
func (s *store) cancel(ctx workflow.Context, act workflows.Act) (oncall.Override, error) {
	o, err := s.await(ctx, oncall.UpdateCancelOverride, act)
	if err != nil {
		return oncall.Override{}, err
	}
	s.in.Overrides = slices.DeleteFunc(s.in.Overrides, func(x oncall.Override) bool { return x.ID == o.ID })
	s.taken(act)
	return o, nil
}

// await waits for the roster when it is still being read, then checks the
// act in full: the handler decides only what the validator would.
func (s *store) await(ctx workflow.Context, name string, act workflows.Act) (oncall.Override, error) {
	if err := workflow.Await(ctx, func() bool { return !s.loading && (s.roster != nil || s.rosterErr != "") }); err != nil {
		return oncall.Override{}, err
	}
	now := workflow.Now(ctx)
	if err := s.stateless(name, act, now); err != nil {
		return oncall.Override{}, temporal.NewNonRetryableApplicationError(err.Error(), "Refused", nil)
	}
	o, err := s.check(name, act, now)
	if err != nil {
		return oncall.Override{}, temporal.NewNonRetryableApplicationError(err.Error(), "Refused", nil)
	}
	return o, nil
}

// taken records an applied update.
func (s *store) taken(act workflows.Act) {
	s.in.Seen = append(s.in.Seen, Seen{ID: act.ID, At: act.Sig.At})
	s.updates++
	s.dirty = true
}

// prune drops ended overrides and the memory of updates too old to be
// taken again.
func (s *store) prune(now time.Time) {
	s.in.Overrides = slices.DeleteFunc(s.in.Overrides, func(o oncall.Override) bool { return !now.Before(o.Until) })
	s.in.Seen = slices.DeleteFunc(s.in.Seen, func(x Seen) bool {
		return now.Sub(x.At) > workflows.MaxActAge+workflows.MaxActSkew
	})
}

// nextExpiry is when the first held override ends.
func (s *store) nextExpiry() time.Time {
	var at time.Time
	for _, o := range s.in.Overrides {
		if at.IsZero() || o.Until.Before(at) {
			at = o.Until
		}
	}
	return at
}

// Verify checks that act was signed by its person's key as listed in the
// roster, as the update named name to the store of team. It returns how
// it was verified ("key SHA256:…"). Front door services do not set
// overrides: a person signs their own.
func Verify(r *oncall.Roster, team, name string, act workflows.Act) (string, error) {
	sig := act.Sig
	if sig == nil {
		return "", fmt.Errorf("%s is unsigned", name)
	}
	if strings.HasPrefix(sig.Key, "service:") {
		return "", fmt.Errorf("signed by %s: overrides are signed by the person's own key, not a front door's", sig.Key)
	}
	p, ok := r.Person(act.By)
	if !ok {
		return "", fmt.Errorf("%q is not on the %s roster", act.By, r.Team)
	}
	msg := act.SigningBytes(oncall.StoreWorkflowID(team), name)
	for _, k := range p.Keys {
		pub, err := signing.ParsePublicKey(k)
		if err != nil || signing.Fingerprint(pub) != sig.Key {
			continue
		}
		if err := signing.Verify(pub, msg, sig.Value); err != nil {
			return "", fmt.Errorf("signed with %s's key %s: %w", act.By, sig.Key, err)
		}
		return "key " + sig.Key, nil
	}
	return "", fmt.Errorf("key %s is not one of %s's keys in the roster", sig.Key, act.By)
}

// Act writes an override as the act the CLI signs and sends: Role and
// Person, From and Until in Detail as "<from>/<until>" (RFC 3339), and the
// reason.
func Act(by string, o oncall.Override) workflows.Act {
	return workflows.Act{
		By: by, Via: "cli", Reason: o.Reason, Role: workflows.Role(o.Role), Person: o.Person,
		Detail: o.From.UTC().Format(time.RFC3339) + "/" + o.Until.UTC().Format(time.RFC3339),
	}
}

// CancelAct writes the cancelling of override id as an act.
func CancelAct(by, id, reason string) workflows.Act {
	return workflows.Act{By: by, Via: "cli", Other: id, Reason: reason}
}

// OverrideOf reads the override an act sets (see Act).
func OverrideOf(act workflows.Act) (oncall.Override, error) {
	from, until, ok := strings.Cut(act.Detail, "/")
	if !ok {
		return oncall.Override{}, fmt.Errorf("detail %q: want <from>/<until> in RFC 3339", clip(act.Detail))
	}
	f, err1 := time.Parse(time.RFC3339, from)
	u, err2 := time.Parse(time.RFC3339, until)
	if err1 != nil || err2 != nil {
		return oncall.Override{}, fmt.Errorf("detail %q: want <from>/<until> in RFC 3339", clip(act.Detail))
	}
	return oncall.Override{Role: string(act.Role), Person: act.Person, From: f.UTC(), Until: u.UTC(), Reason: act.Reason}, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// rootMessage is the innermost message of an activity error.
func rootMessage(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
