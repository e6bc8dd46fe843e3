package incident

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// ErrUnknownAct is returned for an act name the workflow does not know.
var ErrUnknownAct = errors.New("unknown act")

// maxFindings bounds the findings the status query shows.
const maxFindings = 5

// actKind is one act's check and effect. Each act has its own file,
// act_<name>.go, with both side by side; adding an act is a new file, a row
// here, and its name in workflows.ActNames.
type actKind struct {
	// check validates the act against the incident's state after the
	// checks every act shares (validate). It reads state and never changes
	// it; its errors are sentences a person can act on.
	check func(inc *incident, name string, act workflows.Act) error
	// apply performs a checked act and returns what happened, in a
	// sentence.
	apply func(inc *incident, ctx workflow.Context, e actEvent) string
}

// actEvent is an act being applied: its name, the act, when, and how its
// sender was verified.
type actEvent struct {
	name     string
	act      workflows.Act
	now      time.Time
	verified string
}

// actKinds are the acts by name. It is only looked up, never ranged over.
var actKinds = map[string]actKind{
	workflows.ActAcknowledge:        {checkAcknowledge, applyAcknowledge},
	workflows.ActAssignRole:         {checkAssignRole, applyAssignRole},
	workflows.ActSetSeverity:        {checkSetSeverity, applySetSeverity},
	workflows.ActAddNote:            {checkAddNote, applyAddNote},
	workflows.ActRequestApproval:    {checkRequestApproval, applyRequestApproval},
	workflows.ActApprove:            {checkDecision, applyDecision},
	workflows.ActDeny:               {checkDecision, applyDecision},
	workflows.ActResolve:            {checkResolve, applyResolve},
	workflows.ActPublishStatus:      {checkPublishStatus, applyPublishStatus},
	workflows.ActPostUpdate:         {checkPostUpdate, applyPostUpdate},
	workflows.ActRootCause:          {checkClosureInput, applyRootCause},
	workflows.ActContributingFactor: {checkClosureInput, applyContributingFactor},
	workflows.ActActionItem:         {checkClosureInput, applyActionItem},
	workflows.ActAcceptHandoff:      {checkAcceptHandoff, applyAcceptHandoff},
	workflows.ActSplit:              {checkSplit, applySplit},
	workflows.ActRelate:             {checkRelate, applyRelate},
	workflows.ActMerge:              {checkMerge, applyMerge},
	workflows.ActPauseAuto:          {checkPauseAuto, applyPauseAuto},
	workflows.ActResumeAuto:         {checkResumeAuto, applyResumeAuto},
}

// validate is the one validation function for every human act, shared by
// the Update validators and the Signal path. It reads state and never
// changes it. Its errors are sentences a person can act on.
func (inc *incident) validate(ctx workflow.Context, name string, act workflows.Act) error {
	s := &inc.s
	if act.By == "" {
		return errors.New("who is acting? set by to your roster ID")
	}
	if _, ok := inc.in.Roster.Person(act.By); !ok {
		return fmt.Errorf("%q is not on the %s roster", act.By, inc.in.Roster.Team)
	}
	if s.Trust.Enabled && slices.Contains(workflows.ActNames, name) {
		if _, err := verify(&inc.in.Roster, s.ID, name, act, workflow.Now(ctx)); err != nil {
			return fmt.Errorf("%s by %s refused: %w", name, act.By, err)
		}
	}
	if act.ID != "" && inc.seenAct(act.ID) {
		return nil // a redelivery: answered again, applied once
	}
	if s.State == workflows.Closed {
		return fmt.Errorf("incident %s is closed; acts are refused", s.ID)
	}
	if s.State == workflows.Resolved && name != workflows.ActAddNote && !isClosureAct(name) {
		return fmt.Errorf("incident %s is resolved; only notes and closure inputs (root cause, contributing factors, action items) are taken until it closes", s.ID)
	}
	k, ok := actKinds[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAct, name)
	}
	return k.check(inc, name, act)
}

// liaisonOrCommander refuses an act by anyone but the Liaison or the
// Commander: those who speak for the team.
func (inc *incident) liaisonOrCommander(by, what string) error {
	if r := inc.s.Roles; by != r.Liaison && by != r.Commander {
		return fmt.Errorf("only the Liaison (%s) or the Commander (%s) can %s", orNone(r.Liaison), r.Commander, what)
	}
	return nil
}

// commanderOnly refuses an act by anyone but the Commander.
func (inc *incident) commanderOnly(by, what string) error {
	if inc.s.Roles.Commander != by {
		return fmt.Errorf("only the Commander (%s) can %s", inc.s.Roles.Commander, what)
	}
	return nil
}

// apply performs a validated act and returns what happened, in a sentence.
func (inc *incident) apply(ctx workflow.Context, name string, act workflows.Act) string {
	now := workflow.Now(ctx)
	if act.ID != "" {
		if inc.seenAct(act.ID) {
			return "already applied (act " + act.ID + ")"
		}
		inc.rememberAct(act.ID, now)
	}
	verified := inc.verification(ctx, name, act)
	k, ok := actKinds[name]
	if !ok {
		return "nothing to do"
	}
	return k.apply(inc, ctx, actEvent{name: name, act: act, now: now, verified: verified})
}

// isClosureAct reports whether an act adds a closure input.
func isClosureAct(name string) bool {
	return name == workflows.ActRootCause || name == workflows.ActContributingFactor || name == workflows.ActActionItem
}

// startClosure starts the wait for closure inputs at resolution: a deadline,
// reminders, and a page to the Scribe (the Commander without one) asking
// for what is missing.
func (inc *incident) startClosure(now time.Time) {
	c := &inc.s.Closure
	c.Deadline = now.Add(closureTimeout(inc.in.Options))
	c.NextReminder = now.Add(closureReminder(inc.in.Options))
	c.Reminders = 0
	if c.Complete() {
		return
	}
	to := cmp.Or(inc.s.Roles.Scribe, inc.s.Roles.Commander)
	inc.page(to, "postmortem inputs: "+inc.s.Title, fmt.Sprintf("The incident is resolved. Add %s by %s; then the postmortem is written from the timeline.",
		inc.missingClosure(), c.Deadline.Format(time.RFC3339)))
}

// missingClosure names the closure inputs still missing.
func (inc *incident) missingClosure() string {
	c := inc.s.Closure
	var miss []string
	if c.RootCause == "" {
		miss = append(miss, "the root cause")
	}
	if len(c.Factors) == 0 {
		miss = append(miss, "contributing factors")
	}
	if len(c.ActionItems) == 0 {
		miss = append(miss, "action items")
	}
	if len(miss) == 0 {
		return "nothing more"
	}
	return strings.Join(miss, ", ")
}

// closureProgress says, after a closure input, what happens next.
func (inc *incident) closureProgress() string {
	if inc.s.State != workflows.Resolved {
		return ""
	}
	if inc.s.Closure.Complete() {
		return fmt.Sprintf("; closure complete: the postmortem is written when the incident closes at %s", inc.closeAt().Format(time.RFC3339))
	}
	return "; still missing: " + inc.missingClosure()
}

// closeAt is when a resolved incident closes: after the recurrence window,
// and, for incidents that wait for closure inputs, once they are complete
// or their deadline passed.
func (inc *incident) closeAt() time.Time {
	s := &inc.s
	if s.MergedInto != "" {
		return s.ResolvedAt // merged: its alerts go to the other incident
	}
	at := s.ResolvedAt.Add(closeAfter(inc.in.Options))
	if s.Closure.Enabled && !s.Closure.Complete() && s.Closure.Deadline.After(at) {
		at = s.Closure.Deadline
	}
	return at
}

// approval finds an approval by ID.
func (inc *incident) approval(id string) *workflows.Approval {
	for i := range inc.s.Approvals {
		if inc.s.Approvals[i].ID == id {
			return &inc.s.Approvals[i]
		}
	}
	return nil
}

// pendingList names the pending approvals for an error message.
func (inc *incident) pendingList() string {
	var ids []string
	for _, ap := range inc.s.Approvals {
		if ap.Status == workflows.ApprovalPending {
			ids = append(ids, ap.ID)
		}
	}
	if len(ids) == 0 {
		return " (none is pending)"
	}
	return " (pending: " + strings.Join(ids, ", ") + ")"
}

// status builds the status query's answer.
func (inc *incident) status(now time.Time) workflows.Status {
	s := &inc.s
	st := workflows.Status{
		ID: s.ID, Title: s.Title, State: s.State, Severity: s.Severity, SeverityMeaning: s.Severity.Describe(),
		Service: s.Service, Dataset: s.Dataset, Runbook: s.Runbook, RunbookStatus: s.RunbookStatus, Roles: s.Roles,
		Shift: s.ShiftName, ShiftEnd: s.ShiftEnd, Handoff: s.Handoff,
		LastFindings: slices.Clone(s.Findings), AlertCount: s.AlertCount, AlertStatus: s.AlertStatus, Closure: s.Closure,
		TriggeredAt: s.TriggeredAt, AckedAt: s.AckedAt, ResolvedAt: s.ResolvedAt,
		TimelineLength: len(s.Timeline), ContinuedRuns: s.Runs, PreviousRunID: s.PreviousRunID, Document: s.Document.URL,
		Group: s.Group, Members: slices.Clone(s.Members), MembersMore: s.MembersMore,
		Related: slices.Clone(s.Related), MergedInto: s.MergedInto,
	}
	end := now
	if !s.ClosedAt.IsZero() {
		end = s.ClosedAt
	}
	st.Age = end.Sub(s.TriggeredAt).Round(time.Second).String()
	st.AsOf, st.ClosedAt = now, s.ClosedAt
	for _, ap := range s.Approvals {
		if ap.Status == workflows.ApprovalPending {
			st.PendingApprovals = append(st.PendingApprovals, ap)
		}
	}
	return st
}

// details renders the short Markdown status shown as the workflow's current
// details in the Temporal UI and in posts.
func (inc *incident) details() string {
	s := &inc.s
	var b strings.Builder
	fmt.Fprintf(&b, "**%s · %s** — %s\n\n", s.Severity, s.State, s.Title)
	fmt.Fprintf(&b, "%s\n\n", s.Severity.Describe())
	fmt.Fprintf(&b, "- Roles: %s\n", describeRoles(s.Roles))
	if s.Service != "" || s.Dataset != "" {
		fmt.Fprintf(&b, "- Affected: %s\n", strings.Trim(s.Service+" "+s.Dataset, " "))
	}
	fmt.Fprintf(&b, "- Alerts: %d (%s)\n", s.AlertCount, s.AlertStatus)
	if s.Group != "" {
		fmt.Fprintf(&b, "- Grouped (%s): %s\n", s.Group, describeMembers(s.Members, s.MembersMore))
	}
	if s.Runbook != "" {
		fmt.Fprintf(&b, "- Runbook: %s\n", s.Runbook)
	}
	for _, ap := range s.Approvals {
		if ap.Status == workflows.ApprovalPending {
			fmt.Fprintf(&b, "- Waiting for approval **%s**: %s (asked by %s)\n", ap.ID, ap.Action, ap.RequestedBy)
			for _, c := range ap.Covers {
				fmt.Fprintf(&b, "  - also runs step %s: %s (%s)\n", c.Step, c.Action, cmp.Or(c.Inputs, "no inputs"))
			}
		}
	}
	if h := s.Handoff; h != nil {
		fmt.Fprintf(&b, "- Handoff %s → %s pending until %s\n", h.From, h.To, h.Deadline.Format(time.RFC3339))
	}
	if n := len(s.Findings); n > 0 {
		fmt.Fprintf(&b, "- Latest finding: %s\n", s.Findings[n-1])
	}
	if s.Document.URL != "" {
		fmt.Fprintf(&b, "- Incident document: %s\n", s.Document.URL)
	}
	return b.String()
}

// describeRoles lists the role holders in a stable order.
func describeRoles(r workflows.Roles) string {
	parts := []string{"Commander " + orNone(r.Commander)}
	if r.Scribe != "" {
		parts = append(parts, "Scribe "+r.Scribe)
	}
	if r.Liaison != "" {
		parts = append(parts, "Liaison "+r.Liaison)
	}
	if len(r.SMEs) > 0 {
		parts = append(parts, "SMEs "+strings.Join(r.SMEs, ", "))
	}
	return strings.Join(parts, " · ")
}

// saKeys are the search attributes publish keeps current, in the order of
// the values it compares.
var saKeys = [5]temporal.SearchAttributeKeyKeyword{workflows.SASeverity, workflows.SAStatus, workflows.SACommander, workflows.SAService, workflows.SARunbook}

// publish keeps the search attributes and the UI's current details in step
// with the state, writing only what changed.
func (inc *incident) publish(ctx workflow.Context) {
	s := &inc.s
	attrs := [5]string{string(s.Severity), string(s.State), s.Roles.Commander, s.Service, s.Runbook}
	if attrs != inc.published.attrs {
		var updates []temporal.SearchAttributeUpdate
		for i, k := range saKeys {
			if attrs[i] == inc.published.attrs[i] {
				continue
			}
			if attrs[i] == "" {
				updates = append(updates, k.ValueUnset())
			} else {
				updates = append(updates, k.ValueSet(attrs[i]))
			}
		}
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			inc.logger.Warn("search attributes not updated", "error", err)
		} else {
			inc.published.attrs = attrs
		}
	}
	if d := inc.details(); d != inc.published.details {
		workflow.SetCurrentDetails(ctx, d)
		inc.published.details = d
	}
}

func roleTitle(r workflows.Role) string {
	switch r {
	case workflows.Commander:
		return "Commander"
	case workflows.Scribe:
		return "Scribe"
	case workflows.Liaison:
		return "Liaison"
	case workflows.SME:
		return "SME"
	}
	return string(r)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// note records an act in the timeline with what it did.
func (inc *incident) note(e actEvent, what string) { inc.recordAct(e.now, e.act, e.verified, what) }

// checkNote refuses an empty or oversized note; hint says what to write.
func checkNote(note, hint string) error {
	if strings.TrimSpace(note) == "" {
		return errors.New("note: empty; " + hint)
	}
	if len(note) > workflows.MaxTextLen {
		return fmt.Errorf("note: longer than %d bytes", workflows.MaxTextLen)
	}
	return nil
}
