package workflows

import (
	"time"

	"github.com/datasev/datasev/runbooks"
)

// RunbookWorkflowName is the registered name of the runbook child workflow.
const RunbookWorkflowName = "Runbook"

// Signals between an incident and its runbook.
const (
	// SignalRunbookEvent carries a RunbookEvent from the runbook to its
	// incident.
	SignalRunbookEvent = "runbook_event"
	// SignalApprovalDecision carries an ApprovalDecision from the incident
	// to its runbook.
	SignalApprovalDecision = "approval_decision"
)

// Built-in actions the runbook carries out itself rather than as activities.
const (
	// ActionWait waits with a durable timer: with: {duration: 10m}.
	ActionWait = "core.wait"
	// ActionPage pages through the incident, which knows the current role
	// holders: with: {role: sme} or {to: erin}, message and detail.
	ActionPage = "core.page"
)

// Step statuses.
const (
	StepOK      = "ok"
	StepFailed  = "failed"
	StepSkipped = "skipped"
	StepDenied  = "denied"
)

// RunbookInput starts a runbook for an incident.
type RunbookInput struct {
	// Incident is the incident's workflow ID; events go to its latest run.
	Incident string `json:"incident"`
	// Runbook is the runbook's content, captured when the incident started.
	Runbook runbooks.Runbook `json:"runbook"`
	// Alert is the alert that opened the incident.
	Alert Alert `json:"alert"`
	// Severity is the incident's severity at start.
	Severity Severity `json:"severity"`
	// Sealed is true when the incident and the runbook seal the messages
	// they send each other (incidents opened with verified acts).
	Sealed bool `json:"sealed,omitempty"`
}

// StepResult is what one step did.
type StepResult struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Status   string         `json:"status"`
	Summary  string         `json:"summary,omitempty"`
	Detail   string         `json:"detail,omitempty"`
	Output   map[string]any `json:"output,omitempty"`
	Error    string         `json:"error,omitempty"`
	Tries    int            `json:"tries,omitempty"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
}

// RunbookResult is the runbook's outcome.
type RunbookResult struct {
	// Status is completed (every step ran or was skipped), stopped (a step
	// failed with on_failure stop) or escalated.
	Status string       `json:"status"`
	Steps  []StepResult `json:"steps"`
}

// RunbookEvent tells the incident what its runbook is doing.
type RunbookEvent struct {
	// Kind is started, step, approval, page, escalate or finished.
	Kind    string `json:"kind"`
	Runbook string `json:"runbook"`
	// Step is the step's result, for kind step.
	Step *StepResult `json:"step,omitempty"`
	// Approval is the request, for kind approval.
	Approval *ApprovalRequest `json:"approval,omitempty"`
	// Page is who to page and why, for kind page.
	Page *PageRequest `json:"page,omitempty"`
	// Message explains escalate and finished events.
	Message string `json:"message,omitempty"`
	// Status is the runbook's outcome, for kind finished.
	Status string `json:"status,omitempty"`
	// Seal proves the event came from the incident's runbook.
	Seal *Seal `json:"seal,omitempty"`
}

// ApprovalRequest asks the incident to gate a remediation.
type ApprovalRequest struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
	// Covers lists the later steps this approval also runs (covered_by).
	Covers    []CoveredStep `json:"covers,omitempty"`
	Role      Role          `json:"role"`
	Timeout   time.Duration `json:"timeout"`
	OnTimeout string        `json:"on_timeout"`
	// Auto is the gate's automatic approval, when it has one (auto.go).
	Auto *AutoRequest `json:"auto,omitempty"`
}

// PageRequest asks the incident to page a role holder or a person. Role may
// also be "secondary", the shift's backup Commander.
type PageRequest struct {
	Role    Role   `json:"role,omitempty"`
	Person  string `json:"person,omitempty"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
}

// ApprovalDecision tells a runbook how its approval was decided.
type ApprovalDecision struct {
	ID       string `json:"id"`
	Approved bool   `json:"approved"`
	By       string `json:"by"`
	Reason   string `json:"reason,omitempty"`
	// Verified says how the decider's identity was verified.
	Verified string `json:"verified,omitempty"`
	// Seal proves the decision came from the incident.
	Seal *Seal `json:"seal,omitempty"`
}

// CoveredStep is a later step an approval also runs, as the approver sees
// it when asked.
type CoveredStep struct {
	// Step is the step's ID, Action its action.
	Step   string `json:"step"`
	Action string `json:"action"`
	// Description is the step's own description, if any.
	Description string `json:"description,omitempty"`
	// Inputs are the inputs resolved now, as sorted k=v pairs.
	Inputs string `json:"inputs,omitempty"`
	// Pending names the inputs that come from steps not yet run (a pull
	// request the revert opens): resolved when the step runs.
	Pending []string `json:"pending,omitempty"`
	// DryRun is the step's dry run now, where its inputs are all known and
	// the action offers one; or why there is none.
	DryRun string `json:"dry_run,omitempty"`
}

// RunbookID is the runbook child's workflow ID: one per incident.
func RunbookID(incident string) string { return incident + "/runbook" }

// Facts is the alert as runbook matching and expressions see it (the alert
// variable): the one conversion, for Declare, the runbook workflow and the
// dry run alike.
func (a Alert) Facts() runbooks.AlertFacts {
	return runbooks.AlertFacts{
		Source: a.Source, Title: a.Title, Description: a.Description, DedupeKey: a.DedupeKey,
		Severity: string(a.Severity), Status: string(a.Status), Service: a.Service, Dataset: a.Dataset,
		Labels: a.Labels,
	}
}

// State is what the runbook's expressions know when it starts: the alert
// and the incident (its ID and its severity at start); no step has run.
// The runbook workflow decides from it, adding each step as it finishes;
// the dry run (runbooks.Plan) plans from it.
func (in RunbookInput) State() runbooks.State {
	return runbooks.State{Alert: in.Alert.Facts(), Incident: runbooks.IncidentFacts{ID: in.Incident, Severity: string(in.Severity)}}
}

// PlannedRunbookInput is the input rb would start with in an incident
// declared now for alert (validated, but its severity left empty when the
// monitor suggested none), for a dry run to plan from its State: the
// incident's workflow ID from the dedupe key; the alert's severity its
// suggestion, else the runbook's default, else SEV3 (as Declare gives
// it); the incident's severity the alert's when valid, else SEV3 (as the
// incident opens).
func PlannedRunbookInput(alert Alert, rb *runbooks.Runbook) RunbookInput {
	if alert.Severity == "" {
		alert.Severity = Severity(rb.Severity)
	}
	if alert.Severity == "" {
		alert.Severity = SEV3
	}
	sev := alert.Severity
	if !sev.Valid() {
		sev = SEV3
	}
	return RunbookInput{Incident: WorkflowID(alert.DedupeKey), Runbook: *rb, Alert: alert, Severity: sev}
}
