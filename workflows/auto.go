package workflows

import "time"

// Automatic approval of runbook remediations by a named policy (a gate's
// auto: in a runbook, runbooks.AutoApproval). The runbook evaluates what it
// knows (the policy's condition, whether an earlier remediation the policy
// approved failed) and sends the approval request with an AutoRequest; the
// incident checks what it knows (its severity, whether its Commander paused
// auto-remediation), then asks the policy's budget through
// AutoBudgetActivity, whose answer (the worker's kill switch, the grant) is
// recorded in the incident's history. Granted: the approval is decided by
// the policy ("auto-approved by policy <name>"); otherwise a person is asked
// as usual and the timeline says why the policy did not decide.

// Act names of pausing and resuming automatic approvals in one incident:
// the Commander's.
const (
	ActPauseAuto  = "pause_auto"
	ActResumeAuto = "resume_auto"
)

// AutoBudgetActivity is the activity the incident asks a policy's budget
// through (activities/lifecycle/autobudget): AutoBudgetRequest in,
// AutoBudgetResult out.
const AutoBudgetActivity = "AutoBudgetGrant"

// AutoBudgetWorkflowName is the registered name of the per-policy budget
// workflow (workflows/autobudget).
const AutoBudgetWorkflowName = "AutoBudget"

// AutoBudgetWorkflowID is the budget workflow of a policy: one per policy,
// shared by every incident and runbook that names it.
func AutoBudgetWorkflowID(policy string) string { return "datasev-auto-budget:" + policy }

// DecidedByPolicy is who an approval decided by a policy names as its
// decider: "policy reload-once".
func DecidedByPolicy(policy string) string { return "policy " + policy }

// AutoRequest is the automatic-approval part of an ApprovalRequest.
type AutoRequest struct {
	// Policy names the policy.
	Policy string `json:"policy"`
	// MaxPerDay is the policy's budget in any 24 hours.
	MaxPerDay int `json:"max_per_day"`
	// SeverityAtMost is the most severe incident the policy acts in.
	SeverityAtMost Severity `json:"severity_at_most"`
	// NotUsed says why the runbook already knows the policy must not decide
	// (its condition is false, an earlier remediation it approved failed);
	// empty when the incident's checks decide.
	NotUsed string `json:"not_used,omitempty"`
}

// AutoBudgetRequest asks for one grant of a policy's budget.
type AutoBudgetRequest struct {
	Policy    string `json:"policy"`
	MaxPerDay int    `json:"max_per_day"`
	// Incident and Approval name what the grant is for; asking again for
	// the same pair answers the same grant (a retried activity).
	Incident string `json:"incident"`
	Approval string `json:"approval"`
	// Run is the incident's run that asks (the activity fills it in): a
	// recurrence of a closed incident reuses its ID and approval IDs.
	Run string `json:"run,omitempty"`
}

// AutoBudgetResult is the answer: a grant, or why not.
type AutoBudgetResult struct {
	// Granted is true when the policy may approve.
	Granted bool `json:"granted"`
	// Used is how many grants the policy has in the 24 hours up to now,
	// this one included; Max its budget.
	Used int `json:"used"`
	Max  int `json:"max"`
	// Off is true when the worker's kill switch is on
	// (DATASEV_AUTO_REMEDIATION=off).
	Off bool `json:"off,omitempty"`
	// Reason says why it was not granted.
	Reason string `json:"reason,omitempty"`
	// NextAt is when the oldest grant in the window leaves it, when the
	// budget is spent.
	NextAt time.Time `json:"next_at,omitzero"`
}

// AutoState is an incident's automatic-approval state.
type AutoState struct {
	// Paused is true after the Commander's pause_auto, until resume_auto.
	Paused bool `json:"paused,omitempty"`
	// By, At and Reason record the last pause or resume.
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitzero"`
	Reason string    `json:"reason,omitempty"`
}
