// Package report is the team's incident record: what the closed incidents
// of a period add up to — incidents by severity, service and runbook; time
// to acknowledge, mitigate and resolve (median and p90) per severity;
// approvals by outcome; missed status updates and handoffs; action items —
// computed from each closed incident's final snapshot (the incident
// workflow's result) — and, for whether action items are done, from the
// newest completed follow-up of each (workflows/followup), since an item's
// state after closure is not in the incident's snapshot.
//
// The package has three parts: Of reads one final snapshot into the facts
// the record counts (an Incident), Aggregate adds up a period's incidents
// into a Summary (pure, no I/O), and Fetcher finds a period's closed
// incidents through Temporal's visibility and fetches their results
// concurrently. The datasev CLI's report command and the worker's incident
// metrics (worker/metrics) both count through Of, so the two never disagree
// on what a missed handoff or a timed-out approval is.
package report

import (
	"github.com/datasev/datasev/activities/lifecycle/record"
	"github.com/datasev/datasev/workflows"
)

// Incident is what the record counts of one closed incident
// (record.Incident).
type Incident = record.Incident

// Approval outcomes, as the report and the metrics name them (record's).
const (
	OutcomeGranted  = record.OutcomeGranted
	OutcomeDenied   = record.OutcomeDenied
	OutcomeTimedOut = record.OutcomeTimedOut
	OutcomeAuto     = record.OutcomeAuto
	OutcomePending  = record.OutcomePending
)

// ApprovalOutcomes lists the outcomes in the order the report shows them.
var ApprovalOutcomes = record.ApprovalOutcomes

// ApprovalOutcome is how an approval ended (record.ApprovalOutcome).
func ApprovalOutcome(ap workflows.Approval) string { return record.ApprovalOutcome(ap) }

// Of reads one closed incident's final snapshot (record.Of).
func Of(s workflows.Snapshot) Incident { return record.Of(s) }
