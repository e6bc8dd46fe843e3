package workflows

import "go.temporal.io/sdk/temporal"

// TaskQueue is the task queue the datasev worker polls.
const TaskQueue = "datasev"

// IncidentWorkflowName is the registered name of the incident workflow.
const IncidentWorkflowName = "Incident"

// WorkflowIDPrefix starts every incident workflow ID; the rest is the alert's
// dedupe key, so repeats of one alert land on one workflow.
const WorkflowIDPrefix = "incident-"

// WorkflowID returns the incident workflow ID for a dedupe key.
func WorkflowID(dedupeKey string) string { return WorkflowIDPrefix + dedupeKey }

// Signal names. Every human act is also an Update of the same name; the Signal
// is what the Temporal UI sends, the Update is what chat and the CLI use.
const (
	// SignalAlert delivers a further alert (firing or resolved) with the same
	// dedupe key. It is a signal only: alerts come from machines.
	SignalAlert = "alert"
	// SignalIncidentLink tells an incident that another one relates to it
	// or merged into it (an IncidentLink), from that incident's relate or
	// merge act.
	SignalIncidentLink = "incident_link"
)

// Act names: each is registered as both an Update and a Signal.
const (
	ActAcknowledge     = "acknowledge"
	ActAssignRole      = "assign_role"
	ActSetSeverity     = "set_severity"
	ActAddNote         = "add_note"
	ActRequestApproval = "request_approval"
	ActApprove         = "approve"
	ActDeny            = "deny"
	ActResolve         = "resolve"
	ActAcceptHandoff   = "accept_handoff"
	// Closure inputs for the postmortem, by anyone holding a role.
	ActRootCause          = "root_cause"
	ActContributingFactor = "contributing_factor"
	ActActionItem         = "action_item"
	// ActPostUpdate is the Liaison's (or the Commander's) status update,
	// due at the severity's cadence.
	ActPostUpdate = "post_update"
	// ActPublishStatus publishes public wording on the status page; the
	// Liaison or the Commander sending it is the wording's approval.
	ActPublishStatus = "publish_status"
	// ActSplit is the Commander's: one alert of a grouped incident (an
	// alert storm, an Alertmanager group, a label set) gets an incident of
	// its own, where its later alerts go.
	ActSplit = "split"
	// ActRelate links this incident to another (Other), on both sides: a
	// record for responders and the postmortem, deciding nothing.
	ActRelate = "relate"
	// ActMerge is the Commander's: this incident merges into another
	// (Other), which takes its alert count and members; this one resolves
	// and closes pointing to it.
	ActMerge = "merge"
)

// ActNames lists every act, in the order the CLI documents them.
var ActNames = []string{
	ActAcknowledge, ActAssignRole, ActSetSeverity, ActAddNote, ActRequestApproval,
	ActApprove, ActDeny, ActResolve, ActAcceptHandoff,
	ActRootCause, ActContributingFactor, ActActionItem, ActPostUpdate, ActPublishStatus, ActSplit,
	ActRelate, ActMerge,
	ActPauseAuto, ActResumeAuto,
}

// Query names.
const (
	// QueryStatus returns a Status.
	QueryStatus = "status"
	// QueryTimeline returns a []TimelineEntry.
	QueryTimeline = "timeline"
	// QueryReport returns a Report: everything a postmortem is written from.
	QueryReport = "report"
)

// Custom search attributes kept current on every incident. The dev stack
// registers them; a production namespace needs them created once (see README).
var (
	SASeverity  = temporal.NewSearchAttributeKeyKeyword("DatasevSeverity")
	SAStatus    = temporal.NewSearchAttributeKeyKeyword("DatasevStatus")
	SACommander = temporal.NewSearchAttributeKeyKeyword("DatasevCommander")
	SAService   = temporal.NewSearchAttributeKeyKeyword("DatasevService")
	SARunbook   = temporal.NewSearchAttributeKeyKeyword("DatasevRunbook")
)

// SearchAttributeKeys lists the custom search attributes, for registration.
var SearchAttributeKeys = []temporal.SearchAttributeKeyKeyword{SASeverity, SAStatus, SACommander, SAService, SARunbook}
