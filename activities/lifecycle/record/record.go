// Package record reads one closed incident's final snapshot into the facts
// the team's record counts (an Incident): times to acknowledge, mitigate and
// resolve, approvals by outcome, missed status updates and handoffs, action
// items. The datasev CLI's report (starter/report) and the worker's
// incident metrics (worker/metrics) both count through Of, so the two never
// disagree on what a missed handoff or a timed-out approval is. It is pure:
// no I/O, no clock.
package record

import (
	"strings"
	"time"

	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/workflows"
)

// Approval outcomes, as the report and the metrics name them.
const (
	// OutcomeGranted is an approval a person approved.
	OutcomeGranted = "granted"
	// OutcomeDenied is an approval a person denied, or one withdrawn
	// because the incident was resolved before anyone decided.
	OutcomeDenied = "denied"
	// OutcomeTimedOut is an approval nobody decided by its deadline, denied
	// by datasev as its runbook asked (on_timeout: deny).
	OutcomeTimedOut = "timed_out"
	// OutcomeAuto is an approval decided by a named policy rather than a
	// person (a runbook gate's auto:): approved, with DecidedBy "policy
	// <name>" (workflows.DecidedByPolicy).
	OutcomeAuto = "auto"
	// OutcomePending is an approval still undecided when the incident
	// closed (the workflow denies pending approvals when it resolves, so
	// this shows only in an incident closed some other way).
	OutcomePending = "pending"
)

// ApprovalOutcomes lists the outcomes in the order the report shows them.
var ApprovalOutcomes = []string{OutcomeGranted, OutcomeDenied, OutcomeTimedOut, OutcomeAuto, OutcomePending}

// policyPrefix starts the DecidedBy of an approval a policy decided
// ("policy reload-once", workflows.DecidedByPolicy); roster IDs have no
// spaces, so no person's decision matches it.
const policyPrefix = "policy "

// ApprovalOutcome is how an approval ended. One a policy approved is auto;
// otherwise it follows the decision the postmortem shows for it
// (postmortem.Decision): approved is granted, expired (denied by datasev at
// its deadline) is timed out, denied is denied (by a person, or withdrawn
// when the incident resolved first), pending is pending.
func ApprovalOutcome(ap workflows.Approval) string {
	if ap.Status == workflows.ApprovalApproved && strings.HasPrefix(ap.DecidedBy, policyPrefix) {
		return OutcomeAuto
	}
	switch d := postmortem.Decision(ap); {
	case d == "approved":
		return OutcomeGranted
	case d == "expired":
		return OutcomeTimedOut
	case strings.HasPrefix(d, "pending"):
		return OutcomePending
	}
	return OutcomeDenied
}

// Incident is what the record counts of one closed incident.
type Incident struct {
	// ID is the incident's workflow ID; RunID its closed run.
	ID    string `json:"id"`
	RunID string `json:"run_id,omitempty"`
	// Severity is the incident's final severity.
	Severity workflows.Severity `json:"severity"`
	// Service and Runbook, empty when the incident had none.
	Service string `json:"service,omitempty"`
	Runbook string `json:"runbook,omitempty"`
	// Merged is true when the incident closed by merging into another.
	Merged bool `json:"merged,omitempty"`
	// TriggeredAt and ClosedAt bound it.
	TriggeredAt time.Time `json:"triggered_at"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	// ToAcknowledge, ToMitigate and ToResolve are the times from trigger to
	// each milestone; a negative value means the incident never reached it.
	ToAcknowledge time.Duration `json:"to_acknowledge"`
	ToMitigate    time.Duration `json:"to_mitigate"`
	ToResolve     time.Duration `json:"to_resolve"`
	// AckEscalated is true when the acknowledgement went to the secondary.
	AckEscalated bool `json:"ack_escalated,omitempty"`
	// Approvals counts the incident's approvals by outcome
	// (ApprovalOutcomes); ApprovalsEscalated counts those whose deadline
	// passed and that were escalated, whatever their outcome.
	Approvals          map[string]int `json:"approvals,omitempty"`
	ApprovalsEscalated int            `json:"approvals_escalated,omitempty"`
	// UpdatesMissed counts the status updates not posted in time.
	UpdatesMissed int `json:"updates_missed,omitempty"`
	// Handoffs counts the shift handoffs started; HandoffsAccepted those
	// accepted; HandoffsMissed those not accepted by their deadline (and
	// escalated to the incoming shift's secondary).
	Handoffs         int `json:"handoffs,omitempty"`
	HandoffsAccepted int `json:"handoffs_accepted,omitempty"`
	HandoffsMissed   int `json:"handoffs_missed,omitempty"`
	// ActionItems counts the action items; ActionItemsFiled those filed as
	// tracker issues.
	ActionItems      int `json:"action_items,omitempty"`
	ActionItemsFiled int `json:"action_items_filed,omitempty"`
	// FollowedUp is true when a completed follow-up of this run (workflow
	// ActionItemFollowUp) was found (ApplyFollowUps); FollowedUpAt is when
	// the newest one closed. ActionItemsDone and ActionItemsOpen count the
	// filed items its trackers said were done or open; the other filed
	// items are unknown (their tracker could not say). Without a follow-up
	// the three are zero and the filed items are "not followed up".
	FollowedUp      bool      `json:"followed_up,omitempty"`
	FollowedUpAt    time.Time `json:"followed_up_at,omitzero"`
	ActionItemsDone int       `json:"action_items_done,omitempty"`
	ActionItemsOpen int       `json:"action_items_open,omitempty"`
}

// never marks a milestone an incident did not reach.
const never = time.Duration(-1)

// Of reads a closed incident's final snapshot (the incident workflow's
// result) into the facts the record counts. Handoffs are counted from the
// timeline, where the workflow records each one it starts, each acceptance
// and each miss; the snapshot keeps only the handoff in progress.
func Of(s workflows.Snapshot) Incident {
	in := Incident{
		ID:            s.ID,
		Severity:      s.Severity,
		Service:       s.Service,
		Runbook:       s.Runbook,
		Merged:        s.MergedInto != "",
		TriggeredAt:   s.TriggeredAt,
		ClosedAt:      s.ClosedAt,
		ToAcknowledge: since(s.TriggeredAt, s.AckedAt),
		ToMitigate:    since(s.TriggeredAt, s.MitigatedAt),
		ToResolve:     since(s.TriggeredAt, s.ResolvedAt),
		AckEscalated:  s.AckEscalated,
		UpdatesMissed: s.Updates.Missed,
	}
	for _, ap := range s.Approvals {
		if in.Approvals == nil {
			in.Approvals = map[string]int{}
		}
		in.Approvals[ApprovalOutcome(ap)]++
		if ap.Escalated {
			in.ApprovalsEscalated++
		}
	}
	for _, e := range s.Timeline {
		switch {
		case e.Kind == workflows.KindTimer && e.Who == "datasev" && strings.Contains(e.What, " shift ends at ") && strings.Contains(e.What, ": handoff summary posted, paging "):
			in.Handoffs++
		case e.Kind == workflows.KindTimer && e.Who == "datasev" && strings.HasPrefix(e.What, "handoff to ") && strings.Contains(e.What, " not accepted by "):
			in.HandoffsMissed++
		case e.Kind == workflows.KindAct && strings.HasPrefix(e.What, "accepted the handoff from "):
			in.HandoffsAccepted++
		}
	}
	for _, it := range s.Closure.ActionItems {
		in.ActionItems++
		if it.Issue != "" {
			in.ActionItemsFiled++
		}
	}
	return in
}

// since is end - start, or never when either is unknown (or end is before
// start, which a clock cannot make but a hand-made snapshot can).
func since(start, end time.Time) time.Duration {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return never
	}
	return end.Sub(start)
}
