// Package runbooks holds datasev's runbook format: the YAML files a data
// engineer writes and reviews in a pull request, the code that loads,
// validates and matches them, and the example runbooks embedded in the
// binaries.
//
// The types in this file are plain data. A runbook chosen for an alert is
// copied whole into the incident workflow's input, so editing a file never
// changes an incident that is already running, and replay stays
// deterministic.
package runbooks

import (
	"fmt"
	"time"
)

// Runbook is one runbook file.
type Runbook struct {
	// Name identifies the runbook; unique across the set. Required.
	Name string `json:"name" yaml:"name"`
	// Description says what problem the runbook handles. Required.
	Description string `json:"description" yaml:"description"`
	// Owner is the team or person who maintains it. Required.
	Owner string `json:"owner" yaml:"owner"`
	// Match picks the runbook for an alert. Required.
	Match Match `json:"match" yaml:"match"`
	// Severity is the incident's default severity when the runbook matches
	// and the alert suggests none. Optional.
	Severity string `json:"severity,omitempty" yaml:"severity"`
	// Roles adds role holders on top of the roster's shift. Optional.
	Roles Roles `json:"roles,omitzero" yaml:"roles"`
	// GroupBy says which of the alerts this runbook handles share one
	// incident. Optional; default one incident per alert.
	GroupBy GroupBy `json:"group_by,omitzero" yaml:"group_by"`
	// Steps run in order. At least one.
	Steps []Step `json:"steps" yaml:"steps"`
	// Source is where the runbook was loaded from ("runbooks/x.yaml" or
	// "embedded:x.yaml"). Set by the loader.
	Source string `json:"source,omitempty" yaml:"-"`
}

// Match says which alerts a runbook is for. Every rule given must hold.
type Match struct {
	// Sources lists alert sources (alertmanager, dbt_cloud, airflow,
	// pagerduty, slack, cli, generic). Empty matches any source.
	Sources []string `json:"sources,omitempty" yaml:"sources"`
	// Labels must be present on the alert with exactly these values.
	Labels map[string]string `json:"labels,omitempty" yaml:"labels"`
	// LabelsRegex must match the alert's label values (RE2 syntax, anchored
	// by the author where wanted).
	LabelsRegex map[string]string `json:"labels_regex,omitempty" yaml:"labels_regex"`
	// Title is a regular expression the alert's title must match.
	Title string `json:"title,omitempty" yaml:"title"`
	// Service, when set, must equal the alert's service.
	Service string `json:"service,omitempty" yaml:"service"`
	// Priority decides between runbooks that both match an alert: the
	// higher wins. Runbooks of equal priority must not overlap. Default 0.
	Priority int `json:"priority,omitempty" yaml:"priority"`
}

// Roles are extra role holders a runbook brings to its incidents.
type Roles struct {
	// SMEs are added to the shift's Subject Matter Experts.
	SMEs []string `json:"smes,omitempty" yaml:"smes"`
}

// Grouping modes of GroupBy.By.
const (
	// GroupByAlert is one incident per alert (its dedupe key): the default.
	GroupByAlert = "alert"
	// GroupByAlertmanagerGroup is one incident per Alertmanager group (the
	// groupKey of the webhook delivery); alerts from other sources keep
	// their own incidents.
	GroupByAlertmanagerGroup = "alertmanager_group"
	// GroupByLabels is one incident per set of values of GroupBy.Labels.
	GroupByLabels = "labels"
)

// MaxGroupLabels is the most labels a runbook may group by.
const MaxGroupLabels = 8

// GroupBy says which alerts share one incident. In YAML it is a word,
// "alert" or "alertmanager_group", or a mapping "labels: [dataset, ...]".
type GroupBy struct {
	// By is the mode: GroupByAlert (also when empty),
	// GroupByAlertmanagerGroup or GroupByLabels.
	By string `json:"by,omitempty" yaml:"-"`
	// Labels, for GroupByLabels, name the labels whose values key the
	// incident: alerts with the same values share it. An alert lacking a
	// label groups under the empty value.
	Labels []string `json:"labels,omitempty" yaml:"labels"`
}

// Mode is the grouping mode, GroupByAlert when none is set.
func (g GroupBy) Mode() string {
	if g.By == "" {
		return GroupByAlert
	}
	return g.By
}

// UnmarshalYAML reads either form: a word (the mode) or a mapping with
// labels (GroupByLabels). The mapping is decoded as strictly as the rest
// of the file; values are checked by Validate.
func (g *GroupBy) UnmarshalYAML(unmarshal func(any) error) error {
	var word string
	if err := unmarshal(&word); err == nil {
		*g = GroupBy{By: word}
		return nil
	}
	type plain GroupBy // without this method
	var p plain
	if err := unmarshal(&p); err != nil {
		return err
	}
	*g = GroupBy{By: GroupByLabels, Labels: p.Labels}
	return nil
}

// OnFailure says what happens when a step fails.
type OnFailure string

// OnFailure values.
const (
	// Stop ends the runbook; the incident carries on by hand. The default.
	Stop OnFailure = "stop"
	// Continue records the failure and goes on with the next step.
	Continue OnFailure = "continue"
	// Escalate pages the Commander's secondary, then stops the runbook.
	Escalate OnFailure = "escalate"
)

// Step is one step of a runbook: exactly one of Check, Remediate, Verify and
// Parallel is set.
type Step struct {
	// ID names the step; its output is kept as steps.<id>. Unique within
	// the runbook, letters, digits and underscores. Required.
	ID string `json:"id" yaml:"id"`
	// Description is a human summary shown in the timeline. Optional.
	Description string `json:"description,omitempty" yaml:"description"`
	// When is a CEL expression over alert and steps; the step runs only
	// when it is true. Optional.
	When string `json:"when,omitempty" yaml:"when"`
	// Check calls an action and keeps its output.
	Check *Call `json:"check,omitempty" yaml:"check"`
	// Remediate calls an action behind an approval gate.
	Remediate *Remediation `json:"remediate,omitempty" yaml:"remediate"`
	// Verify repeats an action until its condition holds or a deadline
	// passes.
	Verify *Verify `json:"verify,omitempty" yaml:"verify"`
	// Parallel runs its steps at the same time; the group fails when any
	// of them fails (after their own on_failure).
	Parallel []Step `json:"parallel,omitempty" yaml:"parallel"`
	// OnFailure is stop (default), continue or escalate.
	OnFailure OnFailure `json:"on_failure,omitempty" yaml:"on_failure"`
	// Timeout bounds one attempt of the step's action. Optional; default
	// 5m.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout"`
	// Heartbeat is how often a long-running action (one that reports its
	// progress, such as airflow.wait_dag_run) must report: a worker that
	// dies mid-action is noticed after this long, not at the step's
	// timeout, and the retry resumes from the last report. Optional; only
	// for actions that heartbeat.
	Heartbeat Duration `json:"heartbeat,omitempty" yaml:"heartbeat"`
	// Retry is the action's retry policy. Optional.
	Retry *Retry `json:"retry,omitempty" yaml:"retry"`
	// Pos is where the step starts in its file, for error messages.
	Pos Pos `json:"pos,omitzero" yaml:"-"`
}

// Kind names which of the step's forms is set.
func (s Step) Kind() string {
	switch {
	case s.Check != nil:
		return "check"
	case s.Remediate != nil:
		return "remediate"
	case s.Verify != nil:
		return "verify"
	case s.Parallel != nil:
		return "parallel"
	}
	return ""
}

// Call names an action and its inputs. String inputs may hold CEL
// templates: "${ alert.labels.table }" is replaced by the expression's value;
// a string that is nothing but one template keeps the value's type.
type Call struct {
	// Action is a registered action name such as snowflake.copy_history.
	Action string `json:"action" yaml:"action"`
	// With are the action's inputs.
	With map[string]any `json:"with,omitempty" yaml:"with"`
}

// Remediation is an action that changes the outside world, behind a human
// approval.
type Remediation struct {
	Call `yaml:",inline"`
	// Approval says who approves and by when. Required.
	Approval Gate `json:"approval" yaml:"approval"`
	// DryRun runs the action's dry run first, where it offers one, and
	// shows its result to the approver. Default true.
	DryRun *bool `json:"dry_run,omitempty" yaml:"dry_run"`
}

// Gate is an approval gate.
type Gate struct {
	// Role may approve: commander (default). The role's holder decides.
	Role string `json:"role,omitempty" yaml:"role"`
	// Timeout is the approval deadline. Default 30m.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout"`
	// OnTimeout is escalate (default: page the secondary and keep waiting)
	// or deny (the remediation is skipped and the step fails).
	OnTimeout string `json:"on_timeout,omitempty" yaml:"on_timeout"`
	// CoveredBy names an earlier remediate step whose approval also covers
	// this one: one decision for a sequence such as "open the revert pull
	// request, merge it, re-run the job". The step runs without asking when
	// that step was approved and succeeded, and is denied otherwise. Role,
	// Timeout and OnTimeout must then be left out.
	CoveredBy string `json:"covered_by,omitempty" yaml:"covered_by"`
	// Auto lets a named policy approve the remediation without asking a
	// person, when its conditions hold; otherwise the gate asks Role as
	// usual. Optional; not with CoveredBy.
	Auto *AutoApproval `json:"auto,omitempty" yaml:"auto"`
}

// AutoApproval is a gate's automatic approval: a named policy that approves
// the remediation on its own when its condition is true, the incident is no
// more severe than SeverityAtMost, the policy has not spent its budget of
// MaxPerDay approvals in the last 24 hours (counted across incidents and
// runbooks), auto-remediation is neither switched off on the worker
// (DATASEV_AUTO_REMEDIATION=off) nor paused in the incident (the
// Commander's pause-auto act), and no earlier remediation this policy
// approved in the incident failed. When any of these does not hold the gate
// asks a person, recording why. The target policy applies to the action as
// it does to a person's approval.
type AutoApproval struct {
	// Policy names the policy: its decisions are recorded as "auto-approved
	// by policy <name>" and its budget is counted under it. Required;
	// lower-case letters, digits, '-' and '_'.
	Policy string `json:"policy" yaml:"policy"`
	// When is a CEL condition over alert, steps and incident, like a step's
	// when: the policy approves only when it is true. Optional; empty means
	// always.
	When string `json:"when,omitempty" yaml:"when"`
	// MaxPerDay is how many remediations the policy may approve in any 24
	// hours. Required, 1 to MaxAutoPerDay.
	MaxPerDay int `json:"max_per_day" yaml:"max_per_day"`
	// SeverityAtMost is the most severe incident the policy acts in: with
	// SEV3, incidents of SEV3, SEV4 and SEV5 (SEV1 is the most severe).
	// Required.
	SeverityAtMost string `json:"severity_at_most" yaml:"severity_at_most"`
}

// MaxAutoPerDay bounds an automatic approval's max_per_day.
const MaxAutoPerDay = 100

// Defaults of an approval gate.
const (
	// DefaultApprover is the role that approves when a gate names none.
	DefaultApprover = "commander"
	// DefaultApprovalTimeout is the approval deadline when a gate gives
	// none.
	DefaultApprovalTimeout = Duration(30 * time.Minute)
	// DefaultOnTimeout is what happens at the deadline when a gate does not
	// say.
	DefaultOnTimeout = "escalate"
)

// WithDefaults returns the gate as it applies: role, timeout and
// on_timeout take their defaults where not given. A gate covered by
// another step's approval asks nothing and is returned as it is.
func (g Gate) WithDefaults() Gate {
	if g.CoveredBy != "" {
		return g
	}
	if g.Role == "" {
		g.Role = DefaultApprover
	}
	if g.Timeout <= 0 {
		g.Timeout = DefaultApprovalTimeout
	}
	if g.OnTimeout == "" {
		g.OnTimeout = DefaultOnTimeout
	}
	return g
}

// Verify repeats an action until a condition holds.
type Verify struct {
	Call `yaml:",inline"`
	// Until is a CEL expression over output (this try's), alert and steps.
	// Required.
	Until string `json:"until" yaml:"until"`
	// Every is the wait before the second try. Default 1m.
	Every Duration `json:"every,omitempty" yaml:"every"`
	// Backoff multiplies the wait after each try. Default 1 (no backoff).
	Backoff float64 `json:"backoff,omitempty" yaml:"backoff"`
	// MaxInterval caps the wait. Optional.
	MaxInterval Duration `json:"max_interval,omitempty" yaml:"max_interval"`
	// Deadline is how long to keep trying. Required.
	Deadline Duration `json:"deadline" yaml:"deadline"`
}

// Retry is an action's retry policy.
type Retry struct {
	// MaxAttempts bounds the attempts; 1 means no retry. Default 3.
	MaxAttempts int `json:"max_attempts,omitempty" yaml:"max_attempts"`
	// InitialInterval is the first wait. Default 1s.
	InitialInterval Duration `json:"initial_interval,omitempty" yaml:"initial_interval"`
	// MaxInterval caps the wait. Default 1m.
	MaxInterval Duration `json:"max_interval,omitempty" yaml:"max_interval"`
}

// Pos is a line and column in a runbook file, 1-based.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// String formats the position as line:column.
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Column) }

// Duration is a time.Duration written as "30m" in YAML and JSON.
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 90s, 5m, 1h30m)", b)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
