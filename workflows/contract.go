package workflows

import (
	"fmt"
	"time"
)

// This file is the contract between the workflows and the activities they
// call themselves: every such activity's registered name, with the request
// and result types both sides import. Runbook actions are the one other
// kind: the runbook names them (snowflake.query_history, …), and they take
// a runbooks.ActionRequest and answer a runbooks.ActionResult
// (activities/actions registers them).

// Activities the incident workflow calls, by registered name.
const (
	// NotifyActivity delivers a Notification (activities/lifecycle/notify);
	// it answers a NotifyResult.
	NotifyActivity = "Notify"
	// SealActivity seals a message between an incident and its runbook
	// (activities/lifecycle/seal), as a local activity: SealRequest in,
	// Sealed out.
	SealActivity = "Seal"
	// CheckSealActivity checks a seal, as a local activity: CheckSealRequest
	// in, SealChecked out.
	CheckSealActivity = "Check"
	// PostmortemActivityName writes an incident's postmortem at closure
	// (activities/lifecycle/postmortem): a Report in, where it was written
	// out.
	PostmortemActivityName = "WritePostmortem"
	// ActionItemsActivityName files an incident's action items as issues at
	// closure, before its postmortem is written
	// (activities/lifecycle/postmortem): a Report in, one URL per item out.
	ActionItemsActivityName = "FileActionItems"
	// DocumentActivityName creates and keeps up to date the incident
	// document (activities/lifecycle/incidentdoc): the Scribe's living record
	// of the incident, a GitHub issue or a Markdown file. It takes a Report
	// and returns a DocumentResult; it is idempotent, so a retried or
	// repeated call updates the one document.
	DocumentActivityName = "SyncIncidentDocument"
	// StatuspagePublishActivity publishes public wording on the status page
	// (activities/lifecycle/statuspage): StatuspagePublishRequest in,
	// StatuspageResult out.
	StatuspagePublishActivity = "StatuspagePublish"
	// StatuspageResolveActivity resolves the incident's public incident:
	// StatuspageResolveRequest in, StatuspageResult out.
	StatuspageResolveActivity = "StatuspageResolve"
)

// NotifyKind says what a notification is for.
type NotifyKind string

// Notification kinds.
const (
	// NotifyPage asks one person to act (acknowledge, accept a handoff,
	// approve).
	NotifyPage NotifyKind = "page"
	// NotifyPost tells the incident's channel what happened.
	NotifyPost NotifyKind = "post"
	// NotifyHandoffSummary is the summary posted before a Commander's shift
	// ends.
	NotifyHandoffSummary NotifyKind = "handoff"
	// NotifyStatusUpdate is the Liaison's scheduled update at the severity's
	// cadence.
	NotifyStatusUpdate NotifyKind = "status_update"
)

// Notification is one page or post. It carries roster IDs, never contact
// secrets; backends resolve people to addresses from their own config.
type Notification struct {
	// Kind says what it is for.
	Kind NotifyKind `json:"kind"`
	// Incident is the incident's workflow ID.
	Incident string `json:"incident"`
	// Severity is the incident's severity when it was sent.
	Severity string `json:"severity"`
	// To is the roster person paged; empty for a channel post.
	To string `json:"to,omitempty"`
	// Subject is a one-line summary.
	Subject string `json:"subject"`
	// Body is Markdown detail. Optional.
	Body string `json:"body,omitempty"`
	// Approval, on a page asking for a decision, names the pending approval,
	// so a chat backend can offer Approve and Deny buttons. Optional.
	Approval *ApprovalRef `json:"approval,omitempty"`
}

// ApprovalRef names a pending approval of an incident.
type ApprovalRef struct {
	// ID is the approval's ID, as the approve and deny acts name it.
	ID string `json:"id"`
	// Action is what will run when it is approved (e.g. github.revert_commit).
	Action string `json:"action"`
	// Approver is the role that decides (e.g. commander).
	Approver string `json:"approver"`
	// Deadline is when the approval times out.
	Deadline time.Time `json:"deadline"`
}

// Summary is the one-line human summary shown on the activity in the
// Temporal UI.
func (n Notification) Summary() string {
	if n.To != "" {
		return fmt.Sprintf("%s %s: %s", n.Kind, n.To, n.Subject)
	}
	return fmt.Sprintf("%s: %s", n.Kind, n.Subject)
}

// NotifyResult says where a notification went.
type NotifyResult struct {
	// Backend names the backend that delivered it.
	Backend string `json:"backend"`
}

// SealRequest asks for a seal over a message.
type SealRequest struct {
	// Message is the exact bytes to seal.
	Message []byte `json:"message"`
}

// Sealed is a message's seal.
type Sealed struct {
	// MAC is the base64 HMAC-SHA256 of the message.
	MAC string `json:"mac"`
}

// CheckSealRequest asks whether a seal is a message's.
type CheckSealRequest struct {
	Message []byte `json:"message"`
	MAC     string `json:"mac"`
}

// SealChecked is the answer: OK or not.
type SealChecked struct {
	OK bool `json:"ok"`
}

// DocumentResult says where the incident document is.
type DocumentResult struct {
	// URL is the document's address: the html_url, or a file:// URL.
	URL string `json:"url"`
}

// StatuspagePublishRequest is public wording to publish for an incident.
type StatuspagePublishRequest struct {
	// Incident is the datasev incident's workflow ID. Required.
	Incident string `json:"incident"`
	// Name is the public incident's title. Required when creating.
	Name string `json:"name,omitempty"`
	// Status is investigating, identified, monitoring or resolved.
	// Required.
	Status string `json:"status,omitempty"`
	// Body is the public update's text. Optional.
	Body string `json:"body,omitempty"`
	// Components maps a service (from the configured mapping) or a
	// component ID to its status: operational, degraded_performance,
	// partial_outage, major_outage or under_maintenance. Optional.
	Components map[string]string `json:"components,omitempty"`
	// Silent, when true, does not notify the page's subscribers.
	Silent bool `json:"silent,omitempty"`
}

// StatuspageResolveRequest names the incident whose public incident is
// resolved.
type StatuspageResolveRequest struct {
	// Incident is the datasev incident's workflow ID. Required.
	Incident string `json:"incident"`
	// Body is the closing public update. Optional.
	Body string `json:"body,omitempty"`
}

// StatuspageResult says which public incident holds the wording.
type StatuspageResult struct {
	// ID is the Statuspage incident's ID; "" when Resolve found none.
	ID string `json:"id"`
	// URL is the incident's public short link.
	URL string `json:"url"`
	// Created is true when this call created it.
	Created bool `json:"created"`
	// Status is the incident's status after the call.
	Status string `json:"status"`
	// Updates counts the incident's published updates.
	Updates int `json:"updates"`
}
