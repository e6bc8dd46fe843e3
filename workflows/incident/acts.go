package incident

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/datasev/datasev/workflows"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ErrUnknownAct is returned for an act name the workflow does not know.
var ErrUnknownAct = errors.New("unknown act")

// maxFindings bounds the findings the status query shows.
const maxFindings = 5

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
	if act.ID != "" && slices.Contains(s.SeenActIDs, act.ID) {
		return nil // a redelivery: answered again, applied once
	}
	if s.State == workflows.Closed {
		return fmt.Errorf("incident %s is closed; acts are refused", s.ID)
	}
	if s.State == workflows.Resolved && name != workflows.ActAddNote && !isClosureAct(name) {
		return fmt.Errorf("incident %s is resolved; only notes and closure inputs (root cause, contributing factors, action items) are taken until it closes", s.ID)
	}
	commanderOnly := func(what string) error {
		if s.Roles.Commander != act.By {
			return fmt.Errorf("only the Commander (%s) can %s", s.Roles.Commander, what)
		}
		return nil
	}
	switch name {
	case workflows.ActAcknowledge:
		if s.State != workflows.Triggered {
			return fmt.Errorf("already acknowledged at %s", s.AckedAt.Format(time.RFC3339))
		}
		if act.By != s.Roles.Commander && act.By != s.Secondary {
			return fmt.Errorf("only the paged Commander (%s) or the secondary (%s) can acknowledge", s.Roles.Commander, orNone(s.Secondary))
		}
	case workflows.ActAssignRole:
		if err := commanderOnly("assign roles"); err != nil {
			return err
		}
		role, err := workflows.ParseRole(string(act.Role))
		if err != nil {
			return err
		}
		if act.Person == "" {
			return errors.New("person: who gets the role? set person to a roster ID")
		}
		if _, ok := inc.in.Roster.Person(act.Person); !ok {
			return fmt.Errorf("person %q is not on the %s roster", act.Person, inc.in.Roster.Team)
		}
		if s.Roles.Has(act.Person, role) {
			return fmt.Errorf("%s is already %s", act.Person, role)
		}
	case workflows.ActSetSeverity:
		if err := commanderOnly("change severity"); err != nil {
			return err
		}
		sev, err := workflows.ParseSeverity(string(act.Severity))
		if err != nil {
			return err
		}
		if sev == s.Severity {
			return fmt.Errorf("severity is already %s", sev)
		}
	case workflows.ActAddNote:
		if strings.TrimSpace(act.Note) == "" {
			return errors.New("note: empty; say what you found or did")
		}
		if len(act.Note) > workflows.MaxTextLen {
			return fmt.Errorf("note: longer than %d bytes", workflows.MaxTextLen)
		}
	case workflows.ActRequestApproval:
		if !s.Roles.Has(act.By, workflows.SME) {
			return fmt.Errorf("only a Subject Matter Expert can request an approval; %s is not an SME on this incident", act.By)
		}
		if act.Approval == "" {
			return errors.New("approval: name it, e.g. revert-abc123")
		}
		if act.Action == "" {
			return errors.New("action: say what will run once approved")
		}
		if len(act.Detail) > workflows.MaxTextLen {
			return fmt.Errorf("detail: longer than %d bytes", workflows.MaxTextLen)
		}
		if inc.approval(act.Approval) != nil {
			return fmt.Errorf("an approval named %q already exists", act.Approval)
		}
	case workflows.ActApprove, workflows.ActDeny:
		ap := inc.approval(act.Approval)
		if ap == nil {
			return fmt.Errorf("no pending approval named %q%s", act.Approval, inc.pendingList())
		}
		if ap.Status != workflows.ApprovalPending {
			return fmt.Errorf("approval %q was already %s by %s", ap.ID, ap.Status, ap.DecidedBy)
		}
		if !s.Roles.Has(act.By, ap.Approver) {
			holder := s.Roles.Commander
			if ap.Approver != workflows.Commander {
				holder = "the " + string(ap.Approver)
			}
			return fmt.Errorf("only the %s (%s) can %s %q", roleTitle(ap.Approver), holder, name, ap.ID)
		}
	case workflows.ActResolve:
		if err := commanderOnly("resolve"); err != nil {
			return err
		}
	case workflows.ActPublishStatus:
		if act.By != s.Roles.Liaison && act.By != s.Roles.Commander {
			return fmt.Errorf("only the Liaison (%s) or the Commander (%s) can approve public wording", orNone(s.Roles.Liaison), s.Roles.Commander)
		}
		if strings.TrimSpace(act.Note) == "" {
			return errors.New("note: empty; write the public wording")
		}
		if len(act.Note) > workflows.MaxTextLen {
			return fmt.Errorf("note: longer than %d bytes", workflows.MaxTextLen)
		}
		switch act.Action {
		case "", "investigating", "identified", "monitoring":
		default:
			return fmt.Errorf("action %q: the public status is investigating, identified or monitoring (resolving the incident resolves it publicly)", act.Action)
		}
		if s.State == workflows.Resolved {
			return fmt.Errorf("incident %s is resolved; its public incident was resolved with it", s.ID)
		}
	case workflows.ActPostUpdate:
		if act.By != s.Roles.Liaison && act.By != s.Roles.Commander {
			return fmt.Errorf("only the Liaison (%s) or the Commander (%s) can post a status update", orNone(s.Roles.Liaison), s.Roles.Commander)
		}
		if strings.TrimSpace(act.Note) == "" {
			return errors.New("note: empty; write the update")
		}
		if len(act.Note) > workflows.MaxTextLen {
			return fmt.Errorf("note: longer than %d bytes", workflows.MaxTextLen)
		}
		if s.State == workflows.Resolved {
			return fmt.Errorf("incident %s is resolved; status updates are over", s.ID)
		}
	case workflows.ActRootCause, workflows.ActContributingFactor, workflows.ActActionItem:
		if !s.Closure.Enabled {
			return fmt.Errorf("incident %s was opened before closure inputs existed; add a note instead", s.ID)
		}
		if !s.Roles.Any(act.By) {
			return fmt.Errorf("only people holding a role on this incident (%s) can add closure inputs; %s holds none", describeRoles(s.Roles), act.By)
		}
		what := map[string]string{workflows.ActRootCause: "root cause", workflows.ActContributingFactor: "contributing factor", workflows.ActActionItem: "action item"}[name]
		if strings.TrimSpace(act.Note) == "" {
			return fmt.Errorf("note: empty; write the %s", what)
		}
		if len(act.Note) > workflows.MaxTextLen {
			return fmt.Errorf("note: longer than %d bytes", workflows.MaxTextLen)
		}
		if act.Person != "" {
			if name != workflows.ActActionItem {
				return fmt.Errorf("person: only an action item has an owner")
			}
			if _, ok := inc.in.Roster.Person(act.Person); !ok {
				return fmt.Errorf("person %q (the action item's owner) is not on the %s roster", act.Person, inc.in.Roster.Team)
			}
		}
	case workflows.ActAcceptHandoff:
		h := s.Handoff
		if h == nil {
			return errors.New("no handoff is pending")
		}
		if act.By != h.To && act.By != h.Backup {
			return fmt.Errorf("only the incoming Commander (%s) or their secondary (%s) can accept this handoff", h.To, orNone(h.Backup))
		}
	default:
		return fmt.Errorf("%w %q", ErrUnknownAct, name)
	}
	return nil
}

// apply performs a validated act and returns what happened, in a sentence.
func (inc *incident) apply(ctx workflow.Context, name string, act workflows.Act) string {
	s := &inc.s
	if act.ID != "" {
		if slices.Contains(s.SeenActIDs, act.ID) {
			return "already applied (act " + act.ID + ")"
		}
		s.SeenActIDs = remember(s.SeenActIDs, act.ID)
	}
	now := workflow.Now(ctx)
	verified := inc.verification(ctx, name, act)
	note := func(what string) {
		inc.recordAct(now, act, verified, what)
	}
	switch name {
	case workflows.ActAcknowledge:
		s.AckedAt = now
		s.AckDue = time.Time{}
		if act.By != s.Roles.Commander {
			prev := s.Roles.Commander
			s.Roles.Commander = act.By
			note(fmt.Sprintf("acknowledged and took command from %s", prev))
		} else {
			note("acknowledged")
		}
		inc.transition(now, workflows.Acknowledged, act.By, "")
		why := "responders diagnose by hand (no runbook)"
		if s.Runbook != "" {
			why = "runbook " + s.Runbook + " diagnoses"
		}
		inc.transition(now, workflows.Diagnosing, "datasev", why)
		if c := s.Severity.UpdateCadence(); c > 0 {
			s.NextUpdateAt = now.Add(c)
		}
		inc.post(fmt.Sprintf("%s acknowledged: %s", act.By, s.Title), "")
		return fmt.Sprintf("acknowledged by %s; %s is Commander", act.By, s.Roles.Commander)
	case workflows.ActAssignRole:
		role, _ := workflows.ParseRole(string(act.Role))
		var prev string
		switch role {
		case workflows.Commander:
			prev, s.Roles.Commander = s.Roles.Commander, act.Person
		case workflows.Scribe:
			prev, s.Roles.Scribe = s.Roles.Scribe, act.Person
		case workflows.Liaison:
			prev, s.Roles.Liaison = s.Roles.Liaison, act.Person
		case workflows.SME:
			s.Roles.SMEs = append(s.Roles.SMEs, act.Person)
		}
		what := fmt.Sprintf("assigned %s as %s", act.Person, roleTitle(role))
		if prev != "" {
			what += " (was " + prev + ")"
		}
		note(what)
		inc.page(act.Person, fmt.Sprintf("you are %s: %s", roleTitle(role), s.Title), "Assigned by "+act.By+".")
		return what
	case workflows.ActSetSeverity:
		sev, _ := workflows.ParseSeverity(string(act.Severity))
		prev := s.Severity
		s.Severity = sev
		verb := "de-escalated"
		if sev.Rank() < prev.Rank() {
			verb = "escalated"
		}
		what := fmt.Sprintf("%s %s → %s (%s)", verb, prev, sev, sev.Describe())
		note(what)
		if s.State == workflows.Triggered {
			if due := now.Add(sev.AckTimeout()); due.Before(s.AckDue) {
				s.AckDue = due
			}
		}
		if c := sev.UpdateCadence(); c == 0 || s.State == workflows.Triggered {
			s.NextUpdateAt = time.Time{}
		} else if due := now.Add(c); s.NextUpdateAt.IsZero() || due.Before(s.NextUpdateAt) {
			s.NextUpdateAt = due
		}
		inc.post(fmt.Sprintf("severity %s: %s", verb, what), act.Reason)
		return what
	case workflows.ActAddNote:
		kind := "note"
		if s.Roles.Has(act.By, workflows.SME) {
			kind = "finding"
			s.Findings = append(s.Findings, act.By+": "+act.Note)
			if len(s.Findings) > maxFindings {
				s.Findings = slices.Clone(s.Findings[len(s.Findings)-maxFindings:])
			}
		}
		note(kind + ": " + act.Note)
		return kind + " added"
	case workflows.ActRequestApproval:
		ap := workflows.Approval{
			ID: act.Approval, Action: act.Action, Detail: act.Detail, Approver: workflows.Commander,
			RequestedBy: act.By, RequestedAt: now, Deadline: now.Add(approvalTimeout(inc.in.Options)),
			Status: workflows.ApprovalPending, RequestVerified: verified,
		}
		s.Approvals = append(s.Approvals, ap)
		note(fmt.Sprintf("requested approval %s: %s", ap.ID, ap.Action))
		inc.pageApproval(s.Roles.Commander, ap, "approval needed: "+ap.Action, fmt.Sprintf("%s asks to run %q (approval %s). Decide by %s.\n\n%s", act.By, ap.Action, ap.ID, ap.Deadline.Format(time.RFC3339), ap.Detail))
		return fmt.Sprintf("approval %s requested; waiting for the Commander (%s) until %s", ap.ID, s.Roles.Commander, ap.Deadline.Format(time.RFC3339))
	case workflows.ActApprove, workflows.ActDeny:
		ap := inc.approval(act.Approval)
		ap.DecidedBy, ap.DecidedAt, ap.Reason, ap.DecisionVerified = act.By, now, act.Reason, verified
		if name == workflows.ActApprove {
			ap.Status = workflows.ApprovalApproved
			note(fmt.Sprintf("approved %s: %s", ap.ID, ap.Action))
			if s.State == workflows.Acknowledged || s.State == workflows.Diagnosing || s.State == workflows.Triggered {
				if s.MitigatedAt.IsZero() {
					s.MitigatedAt = now
				}
				inc.transition(now, workflows.Mitigating, act.By, "remediation "+ap.ID+" approved")
			}
		} else {
			ap.Status = workflows.ApprovalDenied
			note(fmt.Sprintf("denied %s: %s", ap.ID, ap.Action))
		}
		inc.relay(*ap)
		inc.post(fmt.Sprintf("%s %s by %s: %s", ap.ID, ap.Status, act.By, ap.Action), act.Reason)
		return fmt.Sprintf("%s %s", ap.ID, ap.Status)
	case workflows.ActResolve:
		if s.AckedAt.IsZero() {
			s.AckedAt = now
		}
		for i := range s.Approvals {
			if s.Approvals[i].Status == workflows.ApprovalPending {
				s.Approvals[i].Status, s.Approvals[i].DecidedBy, s.Approvals[i].DecidedAt = workflows.ApprovalDenied, act.By, now
				s.Approvals[i].Reason = "incident resolved"
				inc.relay(s.Approvals[i])
			}
		}
		if s.RunbookStatus == "starting" || s.RunbookStatus == "running" {
			s.CancelRunbook = true
		}
		s.Handoff = nil
		s.ResolvedAt = now
		s.NextUpdateAt = time.Time{}
		note("resolved")
		if s.Public.ID != "" {
			inc.publicBusy = true
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer func() { inc.publicBusy = false; inc.kick.SendAsync(struct{}{}) }()
				inc.resolvePublic(ctx, act.Reason)
			})
		}
		inc.transition(now, workflows.Resolved, act.By, act.Reason)
		inc.post("resolved: "+s.Title, inc.details())
		if !s.Closure.Enabled {
			return fmt.Sprintf("resolved; closes at %s unless the alert fires again", now.Add(closeAfter(inc.in.Options)).Format(time.RFC3339))
		}
		inc.startClosure(now)
		if s.Closure.Complete() {
			return fmt.Sprintf("resolved; closes at %s unless the alert fires again, then the postmortem is written", inc.closeAt().Format(time.RFC3339))
		}
		return fmt.Sprintf("resolved; waiting for the root cause and action items until %s, then the postmortem is written and the incident closes", s.Closure.Deadline.Format(time.RFC3339))
	case workflows.ActPublishStatus:
		return inc.publishStatus(ctx, act, verified)
	case workflows.ActPostUpdate:
		s.Updates.Last, s.Updates.LastBy, s.Updates.DueSince = now, act.By, time.Time{}
		if c := s.Severity.UpdateCadence(); c > 0 && s.State != workflows.Triggered {
			s.NextUpdateAt = now.Add(c)
		}
		note("status update: " + act.Note)
		inc.postKind(workflows.NotifyStatusUpdate, fmt.Sprintf("status update: %s %s", s.Severity, s.State), act.Note+"\n\n"+inc.details())
		if s.NextUpdateAt.IsZero() {
			return "status update posted"
		}
		return "status update posted; the next is due at " + s.NextUpdateAt.Format(time.RFC3339)
	case workflows.ActRootCause:
		s.Closure.RootCause, s.Closure.RootCauseBy = act.Note, act.By
		note("root cause: " + act.Note)
		return "root cause recorded" + inc.closureProgress()
	case workflows.ActContributingFactor:
		s.Closure.Factors = append(s.Closure.Factors, workflows.ClosureNote{Text: act.Note, By: act.By, At: now})
		note("contributing factor: " + act.Note)
		return "contributing factor recorded" + inc.closureProgress()
	case workflows.ActActionItem:
		s.Closure.ActionItems = append(s.Closure.ActionItems, workflows.ActionItem{Text: act.Note, Owner: act.Person, By: act.By, At: now})
		what := "action item: " + act.Note
		if act.Person != "" {
			what += " (owner " + act.Person + ")"
		}
		note(what)
		return "action item recorded" + inc.closureProgress()
	case workflows.ActAcceptHandoff:
		h := s.Handoff
		prev := s.Roles.Commander
		s.Roles.Commander = act.By
		s.ShiftName, s.ShiftEnd, s.Secondary = h.NextShift, h.NextShiftEnd, h.NextSecondary
		s.Handoff = nil
		note(fmt.Sprintf("accepted the handoff from %s", prev))
		inc.post(fmt.Sprintf("%s is now Commander (handoff from %s)", act.By, prev), "")
		return fmt.Sprintf("%s is Commander until the %s shift ends at %s", act.By, s.ShiftName, s.ShiftEnd.Format(time.RFC3339))
	}
	return "nothing to do"
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
