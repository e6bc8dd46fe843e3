// Package workflows is what an incident is, for every side that handles one:
// the incident's record (alerts, roles, severities, acts, approvals, the
// timeline, the report a postmortem is written from), the names of its
// signals, updates, queries and search attributes, the messages between an
// incident and its runbook, and the contract of every activity the workflows
// call (contract.go). The workflows themselves live below it:
// workflows/incident (the incident workflow) and workflows/runbook (its
// runbook child). The activities, the worker and the front doors import this
// package; it imports no activity.
//
// The tests in this folder run both workflows together (the test
// environment with time skipping, the dev server, and replay of every
// recorded history under testdata/).
package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows/oncall"
)

// Severity is SEV1 (worst) to SEV5.
type Severity string

// Severities, worst first.
const (
	SEV1 Severity = "SEV1"
	SEV2 Severity = "SEV2"
	SEV3 Severity = "SEV3"
	SEV4 Severity = "SEV4"
	SEV5 Severity = "SEV5"
)

// Severities lists every severity, worst first.
var Severities = []Severity{SEV1, SEV2, SEV3, SEV4, SEV5}

// Valid reports whether s is one of SEV1..SEV5.
func (s Severity) Valid() bool {
	for _, v := range Severities {
		if s == v {
			return true
		}
	}
	return false
}

// Rank is 1 for SEV1 up to 5 for SEV5; 0 when invalid.
func (s Severity) Rank() int {
	for i, v := range Severities {
		if s == v {
			return i + 1
		}
	}
	return 0
}

// Describe returns the service degradation and user impact of a severity.
func (s Severity) Describe() string {
	switch s {
	case SEV1:
		return "Unavailable; most users affected"
	case SEV2:
		return "Significant problems; many users affected"
	case SEV3:
		return "Performance problems; some users affected"
	case SEV4:
		return "Performance problems; no user impact"
	case SEV5:
		return "Low level annoyances; no user impact"
	}
	return "unknown severity"
}

// ParseSeverity accepts "SEV2", "sev2" or "2".
func ParseSeverity(v string) (Severity, error) {
	u := strings.ToUpper(strings.TrimSpace(v))
	if len(u) == 1 {
		u = "SEV" + u
	}
	s := Severity(u)
	if !s.Valid() {
		return "", fmt.Errorf("severity %q: want one of SEV1, SEV2, SEV3, SEV4, SEV5", v)
	}
	return s, nil
}

// PriorityKey is the Temporal task priority of an incident opened at this
// severity: 1 (SEV1, first) to 5 (SEV5, last); 3, the server's default, for
// anything else. When a storm backs up the task queue, a SEV1's workflow
// tasks and activities (its pages) go before the storm's SEV3 work.
func (s Severity) PriorityKey() int {
	for i, v := range Severities {
		if v == s {
			return i + 1
		}
	}
	return 3
}

// AckTimeout is how long the Commander has to acknowledge at this severity
// before being re-paged; a second miss escalates to the secondary.
func (s Severity) AckTimeout() time.Duration {
	switch s {
	case SEV1:
		return 5 * time.Minute
	case SEV2:
		return 15 * time.Minute
	case SEV3:
		return 30 * time.Minute
	case SEV4:
		return 2 * time.Hour
	default:
		return 8 * time.Hour
	}
}

// UpdateCadence is how often the Liaison's status update is due; zero means
// no scheduled updates.
func (s Severity) UpdateCadence() time.Duration {
	switch s {
	case SEV1:
		return 30 * time.Minute
	case SEV2:
		return time.Hour
	case SEV3:
		return 4 * time.Hour
	default:
		return 0
	}
}

// Role is an incident role.
type Role string

// Roles: Commander decides, Scribe documents, Liaison communicates, SMEs
// resolve.
const (
	Commander Role = "commander"
	Scribe    Role = "scribe"
	Liaison   Role = "liaison"
	SME       Role = "sme"
)

// ParseRole accepts a role name in any case.
func ParseRole(v string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(v)))
	switch r {
	case Commander, Scribe, Liaison, SME:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want one of commander, scribe, liaison, sme", v)
}

// State is where an incident is in its lifecycle.
type State string

// Lifecycle: triggered → acknowledged → diagnosing → mitigating → monitoring
// → resolved → closed.
const (
	Triggered    State = "triggered"
	Acknowledged State = "acknowledged"
	Diagnosing   State = "diagnosing"
	Mitigating   State = "mitigating"
	Monitoring   State = "monitoring"
	Resolved     State = "resolved"
	Closed       State = "closed"
)

// Open reports whether the incident still needs people.
func (s State) Open() bool { return s != Resolved && s != Closed }

// AlertStatus says whether an alert reports a problem or its recovery.
type AlertStatus string

// Alert statuses.
const (
	Firing    AlertStatus = "firing"
	Recovered AlertStatus = "resolved"
)

// Alert is what a monitor (or a person) raised. It carries names, never
// credentials.
type Alert struct {
	// ID identifies this delivery, so a redelivered alert is recognised.
	// Optional; the intake fills one in.
	ID string `json:"id,omitempty"`
	// Source names the monitor: alertmanager, dbt_cloud, airflow, pagerduty,
	// slack, cli, generic.
	Source string `json:"source"`
	// Title is a one-line description. Required.
	Title string `json:"title"`
	// Description is free text. Optional.
	Description string `json:"description,omitempty"`
	// DedupeKey identifies the problem: alerts with the same key join one
	// incident. Required.
	DedupeKey string `json:"dedupe_key"`
	// Severity is the monitor's suggestion. Optional; default SEV3.
	Severity Severity `json:"severity,omitempty"`
	// Status is firing or resolved. Optional; default firing.
	Status AlertStatus `json:"status,omitempty"`
	// Service is the affected service or pipeline. Optional.
	Service string `json:"service,omitempty"`
	// Dataset is the affected table or dataset. Optional.
	Dataset string `json:"dataset,omitempty"`
	// Labels are the monitor's labels. Optional.
	Labels map[string]string `json:"labels,omitempty"`
	// ReceivedAt is when the intake received it.
	ReceivedAt time.Time `json:"received_at"`
	// Member is the alert's own dedupe key when it joins a grouped incident
	// (grouping by Alertmanager group or label set, or an alert storm): the
	// incident lists its alerts by member, and one member recovering
	// recovers only that member. Empty when DedupeKey is the alert's own.
	Member string `json:"member,omitempty"`
	// Group says why DedupeKey groups several alerts, for the timeline (for
	// example "alertmanager group" or "labels dataset=orders" or "alert
	// storm"). Empty when Member is.
	Group string `json:"group,omitempty"`
}

// Limits on alert fields, so one alert cannot bloat workflow history.
const (
	MaxDedupeKeyLen = 200
	MaxTitleLen     = 300
	MaxTextLen      = 4000
	MaxLabels       = 64
)

// Validate checks an alert at the edge and fills defaults. Every problem is
// reported, each naming its field.
func (a *Alert) Validate() error {
	var errs []error
	a.Title = strings.TrimSpace(a.Title)
	a.DedupeKey = strings.TrimSpace(a.DedupeKey)
	if a.Title == "" {
		errs = append(errs, errors.New("title: required"))
	} else if len(a.Title) > MaxTitleLen {
		errs = append(errs, fmt.Errorf("title: longer than %d bytes", MaxTitleLen))
	}
	if a.DedupeKey == "" {
		errs = append(errs, errors.New("dedupe_key: required"))
	} else if len(a.DedupeKey) > MaxDedupeKeyLen {
		errs = append(errs, fmt.Errorf("dedupe_key: longer than %d bytes", MaxDedupeKeyLen))
	} else if i := strings.IndexFunc(a.DedupeKey, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }); i >= 0 {
		errs = append(errs, fmt.Errorf("dedupe_key: whitespace or control character at byte %d; use letters, digits and -_.:/", i))
	}
	if a.Source == "" {
		errs = append(errs, errors.New("source: required"))
	}
	if a.Severity == "" {
		a.Severity = SEV3
	} else if s, err := ParseSeverity(string(a.Severity)); err != nil {
		errs = append(errs, err)
	} else {
		a.Severity = s
	}
	switch a.Status {
	case "":
		a.Status = Firing
	case Firing, Recovered:
	default:
		errs = append(errs, fmt.Errorf("status: %q, want firing or resolved", a.Status))
	}
	if len(a.Description) > MaxTextLen {
		errs = append(errs, fmt.Errorf("description: longer than %d bytes", MaxTextLen))
	}
	if len(a.Labels) > MaxLabels {
		errs = append(errs, fmt.Errorf("labels: more than %d", MaxLabels))
	}
	if len(a.Member) > MaxDedupeKeyLen {
		errs = append(errs, fmt.Errorf("member: longer than %d bytes", MaxDedupeKeyLen))
	} else if i := strings.IndexFunc(a.Member, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }); i >= 0 {
		errs = append(errs, fmt.Errorf("member: whitespace or control character at byte %d", i))
	}
	if len(a.Group) > MaxTitleLen {
		errs = append(errs, fmt.Errorf("group: longer than %d bytes", MaxTitleLen))
	}
	if a.Group != "" && a.Member == "" {
		errs = append(errs, errors.New("group: set without member"))
	}
	return errors.Join(errs...)
}

// Options tune an incident's timers. Zero values take the defaults.
type Options struct {
	// CloseAfter is how long a resolved incident stays open to a recurrence
	// of its alert before it closes. Default 30m.
	CloseAfter time.Duration `json:"close_after,omitempty"`
	// ApprovalTimeout is the default approval deadline. Default 30m.
	ApprovalTimeout time.Duration `json:"approval_timeout,omitempty"`
	// HistoryThreshold continues the run as new once its history has this
	// many events, or earlier if the server suggests it. Default 10,000.
	HistoryThreshold int `json:"history_threshold,omitempty"`
	// ClosureTimeout is how long after resolution the incident waits for
	// its closure inputs (root cause, contributing factors, action items)
	// before the postmortem is written with what it has. Default 72h.
	ClosureTimeout time.Duration `json:"closure_timeout,omitempty"`
	// ClosureReminder is how often the Scribe, then the Commander, are
	// reminded of missing closure inputs. Default 24h.
	ClosureReminder time.Duration `json:"closure_reminder,omitempty"`
	// DocumentInterval is the least time between two updates of the
	// incident document while the incident runs; entries added meanwhile
	// go in the next update. Default 1m.
	DocumentInterval time.Duration `json:"document_interval,omitempty"`
}

// IncidentInput starts (or continues) an incident workflow.
type IncidentInput struct {
	// Alert is the alert that opened the incident.
	Alert Alert `json:"alert"`
	// Runbook names the runbook chosen for the alert; empty for none.
	Runbook string `json:"runbook,omitempty"`
	// RunbookSpec is the chosen runbook's content, captured when the
	// incident starts so that editing the file changes no running incident.
	// Nil runs no runbook (the incident is handled by hand).
	RunbookSpec *runbooks.Runbook `json:"runbook_spec,omitempty"`
	// Roster is the on-call roster the roles are seeded from.
	Roster oncall.Roster `json:"roster"`
	// Options tune the timers.
	Options Options `json:"options,omitempty"`
	// PreviousRunID links a recurrence to the closed incident before it.
	PreviousRunID string `json:"previous_run_id,omitempty"`
	// Title is the incident's title when it is not the opening alert's: an
	// alert storm's incident is "alert storm: <source>" while its first
	// member keeps its own title. Empty: the alert's title.
	Title string `json:"title,omitempty"`
	// SplitFrom is the grouped incident this one was split out of.
	SplitFrom string `json:"split_from,omitempty"`
	// Carry is the state handed over by continue-as-new; nil on a fresh start.
	Carry *Snapshot `json:"carry,omitempty"`
}

// Roles holds who has which role.
type Roles struct {
	Commander string   `json:"commander"`
	Scribe    string   `json:"scribe,omitempty"`
	Liaison   string   `json:"liaison,omitempty"`
	SMEs      []string `json:"smes,omitempty"`
}

// Has reports whether person holds role.
func (r Roles) Has(person string, role Role) bool {
	switch role {
	case Commander:
		return r.Commander == person
	case Scribe:
		return r.Scribe == person
	case Liaison:
		return r.Liaison == person
	case SME:
		for _, s := range r.SMEs {
			if s == person {
				return true
			}
		}
	}
	return false
}

// Any reports whether person holds any role.
func (r Roles) Any(person string) bool {
	return r.Has(person, Commander) || r.Has(person, Scribe) || r.Has(person, Liaison) || r.Has(person, SME)
}

// ApprovalStatus is where an approval stands.
type ApprovalStatus string

// Approval statuses.
const (
	ApprovalPending  ApprovalStatus = "pending"
	ApprovalApproved ApprovalStatus = "approved"
	ApprovalDenied   ApprovalStatus = "denied"
)

// Approval is a remediation waiting for (or past) a human decision.
type Approval struct {
	// ID names the approval in acts ("revert-abc123").
	ID string `json:"id"`
	// Action is what will run once approved.
	Action string `json:"action"`
	// Detail shows the approver what they are approving (a dry run's output
	// and the steps it also covers).
	Detail string `json:"detail,omitempty"`
	// Covers lists the later runbook steps this approval also runs.
	Covers []CoveredStep `json:"covers,omitempty"`
	// Approver is the role allowed to decide.
	Approver Role `json:"approver"`
	// RequestedBy is who asked.
	RequestedBy string `json:"requested_by"`
	// RequestedAt is when.
	RequestedAt time.Time `json:"requested_at"`
	// Deadline is when the request escalates if still pending.
	Deadline time.Time `json:"deadline"`
	// Escalated is true once the deadline passed and the secondary was paged.
	Escalated bool `json:"escalated,omitempty"`
	// Status is pending, approved or denied.
	Status ApprovalStatus `json:"status"`
	// FromRunbook is true when a runbook step waits on this approval.
	FromRunbook bool `json:"from_runbook,omitempty"`
	// OnTimeout is escalate (page the secondary, keep waiting; the default)
	// or deny (the remediation is skipped).
	OnTimeout string `json:"on_timeout,omitempty"`
	// DecidedBy, DecidedAt and Reason record the decision.
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	// RequestVerified and DecisionVerified say how the requester's and the
	// decider's identities were verified (see TimelineEntry.Verified).
	RequestVerified  string `json:"request_verified,omitempty"`
	DecisionVerified string `json:"decision_verified,omitempty"`
}

// Handoff is a shift handoff in progress.
type Handoff struct {
	// From is the outgoing Commander.
	From string `json:"from"`
	// To is the paged incoming Commander.
	To string `json:"to"`
	// Backup is the incoming shift's secondary, paged on escalation.
	Backup string `json:"backup,omitempty"`
	// ShiftEnd is when the outgoing shift ends.
	ShiftEnd time.Time `json:"shift_end"`
	// Deadline is when the handoff escalates if nobody accepted.
	Deadline time.Time `json:"deadline"`
	// Escalated is true once the deadline passed.
	Escalated bool `json:"escalated,omitempty"`
	// NextShift, NextShiftEnd and NextSecondary describe the incoming shift,
	// which takes over once the handoff is accepted.
	NextShift     string    `json:"next_shift"`
	NextShiftEnd  time.Time `json:"next_shift_end"`
	NextSecondary string    `json:"next_secondary,omitempty"`
}

// PublicStatus is the incident's public status page incident, once the
// Liaison or the Commander published wording.
type PublicStatus struct {
	// ID and URL name the status page incident.
	ID  string `json:"id,omitempty"`
	URL string `json:"url,omitempty"`
	// Status is its last published status (investigating, identified,
	// monitoring, resolved).
	Status string `json:"status,omitempty"`
}

// Document is the state of the incident document: the Scribe's living
// record (a GitHub issue or a Markdown file), kept current with the
// timeline by the SyncIncidentDocument activity.
type Document struct {
	// Enabled is true for incidents that keep a document (those opened by
	// this version).
	Enabled bool `json:"enabled,omitempty"`
	// URL is where the document is, once it was first written.
	URL string `json:"url,omitempty"`
	// Synced is how many timeline entries the last sync carried (or tried
	// to), and LastSync when it ran.
	Synced   int       `json:"synced,omitempty"`
	LastSync time.Time `json:"last_sync,omitzero"`
	// Failing is true while syncs fail; only the first failure of a run of
	// them is recorded.
	Failing bool `json:"failing,omitempty"`
}

// UpdateCadence is the state of the status updates people owe at the
// severity's cadence (incidents opened by this version; older ones post an
// automatic summary instead).
type UpdateCadence struct {
	// ByPeople is true when the Liaison posts the updates and datasev
	// reminds them.
	ByPeople bool `json:"by_people,omitempty"`
	// DueSince is when the owed update fell due; zero when none is owed.
	DueSince time.Time `json:"due_since,omitzero"`
	// Last is when the last update was posted, and by whom.
	Last   time.Time `json:"last,omitzero"`
	LastBy string    `json:"last_by,omitempty"`
	// Missed counts the updates that were not posted in time.
	Missed int `json:"missed,omitempty"`
}

// Closure holds what the roles add after (or before) resolution for the
// postmortem, and the state of the wait for it.
type Closure struct {
	// Enabled is true for incidents that wait for closure inputs and write
	// a postmortem when they close (those started by this version).
	Enabled bool `json:"enabled,omitempty"`
	// RootCause is the latest root cause given, and who gave it.
	RootCause   string `json:"root_cause,omitempty"`
	RootCauseBy string `json:"root_cause_by,omitempty"`
	// Factors are the contributing factors.
	Factors []ClosureNote `json:"factors,omitempty"`
	// ActionItems are the preventive measures to file.
	ActionItems []ActionItem `json:"action_items,omitempty"`
	// Deadline is when the postmortem is written with what there is.
	Deadline time.Time `json:"deadline,omitzero"`
	// NextReminder is when the next reminder goes out; Reminders counts
	// those sent.
	NextReminder time.Time `json:"next_reminder,omitzero"`
	Reminders    int       `json:"reminders,omitempty"`
	// Postmortem is where the postmortem was written, once it was.
	Postmortem string `json:"postmortem,omitempty"`
}

// Complete reports whether the closure has what a postmortem needs: a root
// cause and at least one action item.
func (c Closure) Complete() bool { return c.RootCause != "" && len(c.ActionItems) > 0 }

// ClosureNote is one contributing factor.
type ClosureNote struct {
	Text string    `json:"text"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// ActionItem is one preventive measure.
type ActionItem struct {
	Text  string    `json:"text"`
	Owner string    `json:"owner,omitempty"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
	// Issue is the tracker issue filed for it, once filed.
	Issue string `json:"issue,omitempty"`
	// State is its issue's state as last read after closure (a follow-up,
	// workflows/followup): "open" or "done"; empty when never read.
	State string `json:"state,omitempty"`
	// Status is the tracker's name for that state ("In Progress").
	Status string `json:"status,omitempty"`
	// CheckedAt is when State was read.
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Action item states a follow-up reads from the tracker.
const (
	ItemOpen = "open"
	ItemDone = "done"
)

// Report is everything a postmortem is written from: the incident's facts,
// its approvals, its closure inputs and its whole timeline (QueryReport).
type Report struct {
	ID            string          `json:"id"`
	Title         string          `json:"title"`
	State         State           `json:"state"`
	Severity      Severity        `json:"severity"`
	Service       string          `json:"service,omitempty"`
	Dataset       string          `json:"dataset,omitempty"`
	Runbook       string          `json:"runbook,omitempty"`
	RunbookStatus string          `json:"runbook_status,omitempty"`
	Roles         Roles           `json:"roles"`
	AlertCount    int             `json:"alert_count"`
	TriggeredAt   time.Time       `json:"triggered_at"`
	AckedAt       time.Time       `json:"acked_at,omitzero"`
	MitigatedAt   time.Time       `json:"mitigated_at,omitzero"`
	ResolvedAt    time.Time       `json:"resolved_at,omitzero"`
	ClosedAt      time.Time       `json:"closed_at,omitzero"`
	Approvals     []Approval      `json:"approvals,omitempty"`
	Findings      []string        `json:"findings,omitempty"`
	Closure       Closure         `json:"closure"`
	Timeline      []TimelineEntry `json:"timeline"`
	// Document is the incident document's URL, once it exists.
	Document string `json:"document,omitempty"`
	// PreviousRunID, for a recurrence, is the run of the closed incident
	// with the same ID that it follows.
	PreviousRunID string `json:"previous_run_id,omitempty"`
}

// Key names this occurrence of the incident for what is written outside
// Temporal (postmortem and document files, issue markers): the incident ID,
// and for a recurrence — a later run of the same ID, once the first has
// closed — the ID with the time it was triggered, so a recurrence never
// overwrites what the earlier occurrence left.
func (r Report) Key() string {
	if r.PreviousRunID == "" || r.TriggeredAt.IsZero() {
		return r.ID
	}
	return r.ID + "@" + r.TriggeredAt.UTC().Format("20060102T150405Z")
}

// TimelineEntry is one line of the incident log: who did what, when, why.
type TimelineEntry struct {
	At  time.Time `json:"at"`
	Who string    `json:"who"`
	// Via is where a human act came from (cli, slack, ui), when known.
	Via string `json:"via,omitempty"`
	// Verified says how the actor's identity was verified: "key SHA256:…"
	// (their own key), "slack:U… via slack" (a front door vouched), or
	// "unsigned" (the roster's policy takes the act unsigned).
	Verified string `json:"verified,omitempty"`
	Kind     string `json:"kind"`
	What     string `json:"what"`
	Why      string `json:"why,omitempty"`
	// Ref names what the entry is about outside datasev, when that matters
	// later: a channel message's "slack:<channel>/<ts>", so a pin finds it.
	Ref string `json:"ref,omitempty"`
}

// Timeline entry kinds.
const (
	KindTransition = "transition"
	KindAct        = "act"
	KindRejected   = "rejected"
	KindAlert      = "alert"
	KindTimer      = "timer"
	KindNotify     = "notify"
	KindSystem     = "system"
	KindFinding    = "finding"
)

// Snapshot is the whole incident state: what queries show and what
// continue-as-new carries.
type Snapshot struct {
	ID           string         `json:"id"`
	Title        string         `json:"title"`
	State        State          `json:"state"`
	Severity     Severity       `json:"severity"`
	Service      string         `json:"service,omitempty"`
	Dataset      string         `json:"dataset,omitempty"`
	Runbook      string         `json:"runbook,omitempty"`
	Roles        Roles          `json:"roles"`
	Secondary    string         `json:"secondary,omitempty"`
	ShiftName    string         `json:"shift,omitempty"`
	ShiftEnd     time.Time      `json:"shift_end,omitzero"`
	Handoff      *Handoff       `json:"handoff,omitempty"`
	Approvals    []Approval     `json:"approvals,omitempty"`
	Findings     []string       `json:"findings,omitempty"`
	AlertCount   int            `json:"alert_count"`
	AlertStatus  AlertStatus    `json:"alert_status"`
	LastAlertAt  time.Time      `json:"last_alert_at,omitzero"`
	SeenAlertIDs []string       `json:"seen_alert_ids,omitempty"`
	Seen         *SeenIDs       `json:"seen,omitempty"`
	Group        string         `json:"group,omitempty"`
	Members      []AlertMember  `json:"members,omitempty"`
	MembersMore  int            `json:"members_more,omitempty"`
	Related      []IncidentLink `json:"related,omitempty"`
	MergedInto   string         `json:"merged_into,omitempty"`
	// Versions is 1 for incidents opened with the versions bundle: every
	// workflow change up to it applies without a marker of its own.
	Versions      int                `json:"versions,omitempty"`
	TriggeredAt   time.Time          `json:"triggered_at"`
	AckedAt       time.Time          `json:"acked_at,omitzero"`
	MitigatedAt   time.Time          `json:"mitigated_at,omitzero"`
	ResolvedAt    time.Time          `json:"resolved_at,omitzero"`
	ClosedAt      time.Time          `json:"closed_at,omitzero"`
	AckPages      int                `json:"ack_pages"`
	AckEscalated  bool               `json:"ack_escalated,omitempty"`
	AckDue        time.Time          `json:"ack_due,omitzero"`
	NextUpdateAt  time.Time          `json:"next_update_at,omitzero"`
	Updates       UpdateCadence      `json:"updates,omitzero"`
	Public        PublicStatus       `json:"public,omitzero"`
	Timeline      []TimelineEntry    `json:"timeline"`
	Outbox        []Notification     `json:"outbox,omitempty"`
	RunbookStatus string             `json:"runbook_status,omitempty"`
	Relay         []ApprovalDecision `json:"relay,omitempty"`
	CancelRunbook bool               `json:"cancel_runbook,omitempty"`
	Runs          int                `json:"runs"`
	PreviousRunID string             `json:"previous_run_id,omitempty"`
	SeenActIDs    []string           `json:"seen_act_ids,omitempty"`
	Closure       Closure            `json:"closure,omitzero"`
	Document      Document           `json:"document,omitzero"`
	Trust         Trust              `json:"trust,omitzero"`
	Channel       ChannelLog         `json:"channel,omitzero"`

	// Auto is whether the Commander paused automatic approvals (auto.go).
	Auto AutoState `json:"auto,omitzero"`
}

// SeenIDs remembers the alerts and acts an incident has applied, so that a
// redelivery is answered but never applied twice. Each entry is a 64-bit
// hash of the ID and when it was seen; entries are kept for SeenWindow, and
// at most MaxSeenIDs of each kind (the oldest go first). Incidents opened
// before it kept the last 200 IDs of each kind in SeenAlertIDs and
// SeenActIDs, and move to it when they next run.
type SeenIDs struct {
	Alerts []SeenID `json:"alerts,omitempty"`
	Acts   []SeenID `json:"acts,omitempty"`
	// Forgotten counts IDs dropped for room while still inside the window.
	Forgotten int `json:"forgotten,omitempty"`
}

// SeenID is one remembered ID: its hash (16 hex digits of FNV-1a 64) and
// when it was first seen, in Unix seconds.
type SeenID struct {
	Hash string `json:"h"`
	At   int64  `json:"t"`
}

// Bounds of an incident's idempotency memory. A week covers Alertmanager's
// re-sends of a still-firing alert (same ID, every repeat_interval) for as
// long as an incident usually runs; ten thousand IDs of each kind cost
// about 300 KB of workflow state at most.
const (
	SeenWindow = 7 * 24 * time.Hour
	MaxSeenIDs = 10000
	MaxMembers = 500
)

// IncidentLink is another incident linked to this one: related (either
// side's relate act), merged (it merged into this one) or merged-into
// (this one merged into it).
type IncidentLink struct {
	Kind  string    `json:"kind"`
	ID    string    `json:"id"`
	Title string    `json:"title,omitempty"`
	By    string    `json:"by,omitempty"`
	At    time.Time `json:"at"`
	// Alerts is the merged incident's alert count, for kind merged.
	Alerts int `json:"alerts,omitempty"`
}

// Kinds of IncidentLink.
const (
	LinkRelated    = "related"
	LinkMerged     = "merged"
	LinkMergedInto = "merged-into"
)

// LinkSignal is the SignalIncidentLink payload: the link as the receiving
// incident records it, and for a merge the merged incident's members.
type LinkSignal struct {
	Link    IncidentLink  `json:"link"`
	Members []AlertMember `json:"members,omitempty"`
}

// MaxRelated bounds an incident's links.
const MaxRelated = 50

// GroupStorm is the group (Alert.Group) of the alerts that joined their
// source's alert storm incident at the intake.
const GroupStorm = "alert storm"

// AlertMember is one alert of an incident that groups several (see
// Alert.Member): its own key, what it says, and its state.
type AlertMember struct {
	Key     string      `json:"key"`
	Title   string      `json:"title"`
	Source  string      `json:"source"`
	Status  AlertStatus `json:"status"`
	Count   int         `json:"count"`
	FirstAt time.Time   `json:"first_at"`
	LastAt  time.Time   `json:"last_at"`
	// SplitTo is the incident the Commander split this alert out to;
	// its later alerts go there.
	SplitTo string `json:"split_to,omitempty"`
}

// Status is what the status query returns: the snapshot without the
// timeline, plus derived fields.
type Status struct {
	ID               string      `json:"id"`
	Title            string      `json:"title"`
	State            State       `json:"state"`
	Severity         Severity    `json:"severity"`
	SeverityMeaning  string      `json:"severity_meaning"`
	Service          string      `json:"service,omitempty"`
	Dataset          string      `json:"dataset,omitempty"`
	Runbook          string      `json:"runbook,omitempty"`
	RunbookStatus    string      `json:"runbook_status,omitempty"`
	Roles            Roles       `json:"roles"`
	Shift            string      `json:"shift,omitempty"`
	ShiftEnd         time.Time   `json:"shift_end,omitzero"`
	Handoff          *Handoff    `json:"handoff,omitempty"`
	PendingApprovals []Approval  `json:"pending_approvals,omitempty"`
	LastFindings     []string    `json:"last_findings,omitempty"`
	AlertCount       int         `json:"alert_count"`
	AlertStatus      AlertStatus `json:"alert_status"`
	// Group, Members and MembersMore list the alerts of an incident that
	// groups several (see Alert.Member).
	Group       string        `json:"group,omitempty"`
	Members     []AlertMember `json:"members,omitempty"`
	MembersMore int           `json:"members_more,omitempty"`
	// Related lists the incidents linked to this one (relate, merge);
	// MergedInto is the incident this one merged into.
	Related     []IncidentLink `json:"related,omitempty"`
	MergedInto  string         `json:"merged_into,omitempty"`
	TriggeredAt time.Time      `json:"triggered_at"`
	AckedAt     time.Time      `json:"acked_at,omitzero"`
	ResolvedAt  time.Time      `json:"resolved_at,omitzero"`
	ClosedAt    time.Time      `json:"closed_at,omitzero"`
	// Age is how long the incident has been open (or was, once closed), as
	// of AsOf: a query sees the workflow's clock at its last event, not the
	// caller's. Clients with a clock compute it from TriggeredAt.
	Age            string    `json:"age"`
	AsOf           time.Time `json:"as_of"`
	TimelineLength int       `json:"timeline_length"`
	ContinuedRuns  int       `json:"continued_runs"`
	PreviousRunID  string    `json:"previous_run_id,omitempty"`
	// Closure is the postmortem's inputs so far and where it was written.
	Closure Closure `json:"closure,omitzero"`
	// Document is the incident document's URL, once it exists.
	Document string `json:"document,omitempty"`
}

// Act is one human act, sent as an Update (validated, answered at once) or a
// Signal (what the Temporal UI sends).
type Act struct {
	// By is the roster ID of the person acting. Required.
	By string `json:"by"`
	// Via says where the act came from: cli, slack, ui. Optional.
	Via string `json:"via,omitempty"`
	// ID makes a repeated delivery of the same act harmless. Optional.
	ID string `json:"id,omitempty"`
	// Reason says why. Optional; shown in the timeline.
	Reason string `json:"reason,omitempty"`
	// Role and Person, for assign_role: who gets which role.
	Role   Role   `json:"role,omitempty"`
	Person string `json:"person,omitempty"`
	// Severity, for set_severity.
	Severity Severity `json:"severity,omitempty"`
	// Note, for add_note.
	Note string `json:"note,omitempty"`
	// Member names one alert of a grouped incident (its key, as the status
	// lists it), for split.
	Member string `json:"member,omitempty"`
	// Other is the other incident's workflow ID, for relate and merge.
	Other string `json:"other,omitempty"`
	// Approval names the approval, for request_approval, approve and deny.
	Approval string `json:"approval,omitempty"`
	// Action and Detail describe the remediation, for request_approval.
	Action string `json:"action,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Channel is the Slack channel message, for channel_message and
	// channel_pin (ChannelMessage).
	Channel *ChannelMessage `json:"channel,omitempty"`
	// Sig proves who sent the act: signed by the person's key (the CLI) or
	// by a front door that verified the person (the Slack app). Acts that
	// decide need it unless the roster's trust.unsigned takes them.
	Sig *Signature `json:"sig,omitempty"`
}

// ActResult is what an Update answers.
type ActResult struct {
	// Incident is the workflow ID.
	Incident string `json:"incident"`
	// State and Severity after the act.
	State    State    `json:"state"`
	Severity Severity `json:"severity"`
	// Message says what happened, in a sentence.
	Message string `json:"message"`
}

// Channel acts: what people say in the incident's Slack channel, relayed by
// the Slack app (Updates only, signed by the app as service "slack"). They
// add to the record and decide nothing.
const (
	// ActChannelMessage records a message posted, edited or deleted in the
	// incident's channel (ChannelMessage.Event).
	ActChannelMessage = "channel_message"
	// ActChannelPin marks a recorded channel message as a finding (the
	// configured reaction, :pushpin: by default).
	ActChannelPin = "channel_pin"
	// KindChannel is the timeline kind of channel messages.
	KindChannel = "channel"
)

// Events of a ChannelMessage.
const (
	ChannelPosted  = "posted"
	ChannelEdited  = "edited"
	ChannelDeleted = "deleted"
	ChannelPinned  = "pinned"
)

// Bounds of the channel log: an incident records at most
// MaxChannelEntries channel entries (later ones are counted in
// ChannelLog.Dropped); IDs (channel, ts, user) are at most MaxChannelIDLen
// bytes; a message's text at most MaxTextLen (the Slack app truncates
// longer text, marking it).
const (
	MaxChannelEntries = 1000
	MaxChannelIDLen   = 40
)

// ChannelMessage is one event of the incident's Slack channel as the Slack
// app relays it (Act.Channel).
type ChannelMessage struct {
	// Event is posted, edited, deleted or pinned.
	Event string `json:"event"`
	// Channel is the Slack channel ID; TS the message's ts (its ID in the
	// channel); ThreadTS the thread's parent ts for a reply.
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts,omitempty"`
	// EditTS is the edit's ts, for edited.
	EditTS string `json:"edit_ts,omitempty"`
	// User is the Slack user the app verified as the actor: the author
	// (posted, edited, deleted) or who added the reaction (pinned).
	User string `json:"user"`
	// Text is the message's text (posted, edited), at most MaxTextLen
	// bytes; Truncated says the app cut it.
	Text      string `json:"text,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// ChannelRef is the timeline Ref of a channel message.
func (m ChannelMessage) ChannelRef() string { return "slack:" + m.Channel + "/" + m.TS }

// ActID is the act ID of the event: one per message and event (one per
// edit), so a relayed event applies once however often Slack sends it.
func (m ChannelMessage) ActID() string {
	switch m.Event {
	case ChannelEdited:
		return "slack-" + m.Event + "-" + m.Channel + "-" + m.TS + "-" + m.EditTS
	default:
		return "slack-" + m.Event + "-" + m.Channel + "-" + m.TS
	}
}

// ChannelLog counts an incident's channel entries.
type ChannelLog struct {
	// Entries counts the channel entries recorded; Dropped those refused
	// past MaxChannelEntries.
	Entries int `json:"entries,omitempty"`
	Dropped int `json:"dropped,omitempty"`
}
