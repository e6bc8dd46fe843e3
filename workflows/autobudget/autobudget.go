// Package autobudget holds the budget workflow of an automatic-approval
// policy: one long-lived workflow per policy
// (workflows.AutoBudgetWorkflowID), shared by every incident, which counts
// the policy's grants in a rolling 24 hours. Incidents ask it for a grant
// through an Update (with start, activities/lifecycle/autobudget); updates
// are applied one at a time by the workflow, so two incidents racing for
// the last grant cannot both get it.
package autobudget

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// UpdateGrant is the Update that asks for a grant: an
// AutoBudgetRequest in, an AutoBudgetResult out.
const UpdateGrant = "grant"

// QueryGrants returns the grants in the window ([]Grant).
const QueryGrants = "grants"

// Window is how far back grants count.
const Window = 24 * time.Hour

// MaxGrants bounds the grants the workflow keeps: no policy may approve
// more than runbooks.MaxAutoPerDay a day, and the window drops the rest.
const MaxGrants = 1000

// Bounds of one run: after this many updates, or when the server suggests
// it, the workflow continues as new with its grants; after IdleFor
// without an update and with no grant left in the window, it ends (the
// next request starts it again).
const (
	MaxUpdatesPerRun = 500
	IdleFor          = 7 * 24 * time.Hour
)

// Grant is one approval the policy made.
type Grant struct {
	At       time.Time `json:"at"`
	Incident string    `json:"incident"`
	Approval string    `json:"approval"`
	Run      string    `json:"run,omitempty"`
}

// Input starts (or continues) a policy's budget workflow.
type Input struct {
	Policy string  `json:"policy"`
	Grants []Grant `json:"grants,omitempty"`
}

// Workflow is the budget workflow of one policy.
func Workflow(ctx workflow.Context, in Input) error {
	b := &budget{policy: in.Policy, grants: in.Grants}
	if err := workflow.SetQueryHandler(ctx, QueryGrants, func() ([]Grant, error) { return b.grants, nil }); err != nil {
		return fmt.Errorf("register grants query: %w", err)
	}
	updates := 0
	last := workflow.Now(ctx)
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateGrant,
		func(ctx workflow.Context, req workflows.AutoBudgetRequest) (workflows.AutoBudgetResult, error) {
			updates++
			last = workflow.Now(ctx)
			return b.grant(last, req), nil
		},
		workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, req workflows.AutoBudgetRequest) error {
				return validate(in.Policy, req)
			},
			Description: "grant one automatic approval of policy " + in.Policy + " if its budget allows",
		})
	if err != nil {
		return fmt.Errorf("register grant update: %w", err)
	}
	for {
		full, err := workflow.AwaitWithTimeout(ctx, IdleFor, func() bool {
			return updates >= MaxUpdatesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		})
		if err != nil {
			return err
		}
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return err
		}
		now := workflow.Now(ctx)
		b.prune(now)
		if full { // enough updates for one run: continue as new
			return workflow.NewContinueAsNewError(ctx, workflows.AutoBudgetWorkflowName, Input{Policy: in.Policy, Grants: b.grants})
		}
		if len(b.grants) == 0 && now.Sub(last) >= IdleFor {
			return nil
		}
	}
}

// validate refuses a request that is not for this policy or is malformed;
// it never reaches the history.
func validate(policy string, req workflows.AutoBudgetRequest) error {
	switch {
	case req.Policy != policy:
		return fmt.Errorf("request for policy %q sent to the budget of %q", req.Policy, policy)
	case req.MaxPerDay < 1 || req.MaxPerDay > MaxGrants:
		return fmt.Errorf("max_per_day %d: want 1 to %d", req.MaxPerDay, MaxGrants)
	case req.Incident == "" || req.Approval == "":
		return errors.New("a grant names its incident and approval")
	case len(req.Incident) > 512 || len(req.Approval) > 512 || len(req.Run) > 128:
		return errors.New("incident, approval or run too long")
	}
	return nil
}

// budget is a policy's grants in the window, oldest first.
type budget struct {
	policy string
	grants []Grant
}

// prune drops the grants that left the window.
func (b *budget) prune(now time.Time) {
	i := 0
	for i < len(b.grants) && !b.grants[i].At.After(now.Add(-Window)) {
		i++
	}
	if i > 0 {
		b.grants = append([]Grant(nil), b.grants[i:]...)
	}
}

// grant answers one request: the same incident run and approval asked again
// (a retried activity) get the grant they had; otherwise a grant when
// fewer than MaxPerDay are in the window.
func (b *budget) grant(now time.Time, req workflows.AutoBudgetRequest) workflows.AutoBudgetResult {
	b.prune(now)
	res := workflows.AutoBudgetResult{Used: len(b.grants), Max: req.MaxPerDay}
	for _, g := range b.grants {
		if g.Incident == req.Incident && g.Approval == req.Approval && g.Run == req.Run {
			res.Granted = true
			return res
		}
	}
	if len(b.grants) >= req.MaxPerDay || len(b.grants) >= MaxGrants {
		res.NextAt = b.grants[0].At.Add(Window)
		res.Reason = fmt.Sprintf("budget of %d per day spent (%d approved in the last 24 hours; the next frees at %s)",
			req.MaxPerDay, len(b.grants), res.NextAt.UTC().Format(time.RFC3339))
		return res
	}
	b.grants = append(b.grants, Grant{At: now, Incident: req.Incident, Approval: req.Approval, Run: req.Run})
	res.Granted, res.Used = true, len(b.grants)
	return res
}
