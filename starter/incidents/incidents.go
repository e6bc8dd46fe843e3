// Package incidents is the client side of datasev: the one API that every
// front door (the CLI now; HTTP intake and Slack later) uses to declare
// incidents, act on them, and look at them.
//
// Every function takes a client.Client and does one or two Temporal calls.
// Errors come back typed (RejectedError, NotFoundError, ClosedError,
// UnreachableError, UnknownActError) with messages a person can act on.
package incidents

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// actNames is a copy of workflows.ActNames, so callers cannot change what
// is accepted.
var actNames = slices.Clone(workflows.ActNames)

// Conn is a client.Client that remembers the address it dialled, so errors
// can name it. Dial returns one; any client.Client works everywhere else.
type Conn struct {
	client.Client
	Address string
}

// HostPort returns the dialled address.
func (c *Conn) HostPort() string { return c.Address }

// Dial connects to Temporal. An unreachable server is an UnreachableError.
func Dial(ctx context.Context, opts client.Options) (*Conn, error) {
	addr := opts.HostPort
	if addr == "" {
		addr = client.DefaultHostPort
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, &UnreachableError{Address: addr, Err: err}
	}
	return &Conn{Client: c, Address: addr}, nil
}

// DeclareRequest declares an incident, or joins the open one for the same
// dedupe key.
type DeclareRequest struct {
	// Alert is what was raised. Validated here; ID and ReceivedAt are filled
	// in when empty. Its Member and Group are Declare's to set (from the
	// runbook's grouping, or the storm): whatever the caller put there is
	// dropped.
	Alert workflows.Alert
	// Runbook names the runbook to run. Empty: the runbook Runbooks matches
	// for the alert, if any.
	Runbook string
	// Runbooks is the validated runbook set to pick from. Nil runs no
	// runbook (the incident is handled by hand).
	Runbooks *runbooks.Set
	// Roster is the on-call roster the roles come from. Required.
	Roster oncall.Roster
	// Options tune the incident's timers.
	Options workflows.Options
	// Now is the declaration time; zero means time.Now(). It picks the
	// Commander shown in the search attributes.
	Now time.Time
	// TaskQueue is the task queue the workers poll (DATASEV_TASK_QUEUE);
	// empty means workflows.TaskQueue.
	TaskQueue string
	// Admit, when set, is asked once Declare knows the alert would open a
	// new incident (no run of its key is running), before it starts one. An
	// error stops the declaration — nothing is started — and Declare returns
	// it as is. Alerts that join an open incident, and recoveries, never ask.
	// The HTTP intake rate-limits new incidents per source with it.
	Admit func() error
	// Storm, when set, names the source whose alert storm incident takes
	// the alerts Admit refuses: instead of returning Admit's error, Declare
	// has the alert join the incident StormKey(Storm) (opened if none is
	// running, titled StormTitle(Storm), no runbook, the alert's severity),
	// as a member (Alert.Member its own key, Alert.Group GroupStorm). A
	// recovery whose own incident is not running goes to the storm incident
	// when one is running. An alert whose own incident is running joins it,
	// never the storm.
	Storm string
	// AlertmanagerGroupKey is the groupKey of the Alertmanager delivery the
	// alert came in, for runbooks that group by it
	// (runbooks.GroupByAlertmanagerGroup); empty for other senders, whose
	// alerts then keep their own incidents.
	AlertmanagerGroupKey string
}

// Declared says what Declare did.
type Declared struct {
	// WorkflowID is the incident's workflow ID.
	WorkflowID string
	// RunID is the run that got the alert.
	RunID string
	// Joined is true when the alert joined an incident that was already open.
	Joined bool
	// PreviousRunID is the closed run this new incident is a recurrence of;
	// empty when there was none, or when the alert joined.
	PreviousRunID string
	// Ignored is true for a resolved alert with no open incident to go to:
	// recovery never opens an incident.
	Ignored bool
	// AlertID is the alert's ID (filled in when the request had none).
	AlertID string
	// Commander is the on-duty Commander at declaration time.
	Commander string
	// Member is the alert's own dedupe key when it went to an incident that
	// groups several alerts (WorkflowID's); empty otherwise.
	Member string
	// Group says why that incident groups several alerts (GroupStorm, or
	// the runbook's grouping); empty when Member is.
	Group string
	// Storm is true when the alert went to its source's alert storm
	// incident (DeclareRequest.Storm).
	Storm bool
}

// ValidationError lists what is wrong with a request, each problem naming
// its field.
type ValidationError struct {
	What string
	Err  error
}

func (e *ValidationError) Error() string {
	lines := strings.Split(e.Err.Error(), "\n")
	return fmt.Sprintf("invalid %s: %s", e.What, strings.Join(lines, "; "))
}

func (e *ValidationError) Unwrap() error { return e.Err }

// Declare turns an alert into an incident: one workflow per dedupe key,
// started with the alert and signalled with it in one call. A repeat of an
// open incident's alert joins it; an alert for a key whose incident has
// closed opens a new run that links back to the closed one.
//
// When the chosen runbook groups alerts (runbooks.GroupBy), the key is the
// group's (see groupOf) and the alert joins as a member: Alert.Member its
// own key, Alert.Group why. A recovery is routed by the same rule, so it
// reaches the incident its alert went to. With DeclareRequest.Storm, an
// alert Admit refuses joins the source's alert storm incident instead.
func Declare(ctx context.Context, c client.Client, in DeclareRequest) (Declared, error) {
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	suggested := in.Alert.Severity
	in.Alert.Member, in.Alert.Group = "", ""
	alert, err := prepareAlert(in.Alert, now)
	if err != nil {
		return Declared{}, err
	}
	roster := in.Roster
	if err := roster.Validate(); err != nil {
		return Declared{}, &ValidationError{What: "roster", Err: err}
	}
	addr := addressOf(c)
	duty, err := onDuty(&roster, now)
	if err != nil {
		return Declared{}, &ValidationError{What: "roster", Err: err}
	}
	spec, err := chooseRunbook(in, alert)
	if err != nil {
		if alert.Status != workflows.Recovered {
			return Declared{}, err
		}
		// A recovery starts nothing: it goes where its alert's own key says.
		spec = nil
	}
	own := alert.DedupeKey
	if g := groupOf(spec, alert, in.AlertmanagerGroupKey); g.key != "" {
		if err := checkGroupKey(g.key); err != nil {
			return Declared{}, err
		}
		// An alert the Commander split out of its group (the split act)
		// has an incident of its own, which takes it while it runs.
		split, _, err := existingRun(ctx, c, workflows.WorkflowID(own), addr)
		if err != nil {
			return Declared{}, err
		}
		if split == "" {
			alert.DedupeKey, alert.Member, alert.Group = g.key, own, g.group
		}
	}
	id := workflows.WorkflowID(alert.DedupeKey)
	runningRunID, previousRunID, err := existingRun(ctx, c, id, addr)
	if err != nil {
		return Declared{}, err
	}
	if alert.Status == workflows.Recovered {
		if runningRunID == "" && in.Storm != "" {
			return recoverToStorm(ctx, c, addr, in.Storm, alert, own, duty.Shift.Commander)
		}
		return declareRecovery(ctx, c, id, addr, alert, duty.Shift.Commander, runningRunID)
	}

	runbookName := ""
	if spec != nil {
		runbookName = spec.Name
		if suggested == "" && spec.Severity != "" {
			alert.Severity = workflows.Severity(spec.Severity)
		}
	}
	if runningRunID == "" && in.Admit != nil {
		if err := in.Admit(); err != nil {
			if in.Storm == "" {
				return Declared{}, err
			}
			return declareStorm(ctx, c, in, alert, own, duty)
		}
	}
	input := workflows.IncidentInput{
		Alert:         alert,
		Runbook:       runbookName,
		RunbookSpec:   spec,
		Roster:        roster,
		Options:       in.Options,
		PreviousRunID: previousRunID,
	}
	return start(ctx, c, in, id, alert, input, duty, runningRunID, previousRunID)
}

// start signals alert to incident id, starting it with input if no run is
// open, and says which it did.
func start(ctx context.Context, c client.Client, in DeclareRequest, id string, alert workflows.Alert, input workflows.IncidentInput, duty oncall.OnDuty, runningRunID, previousRunID string) (Declared, error) {
	titled := input.Alert
	titled.Title = cmp.Or(input.Title, titled.Title)
	opts := StartOptions(id, titled, input.Runbook, duty)
	if in.TaskQueue != "" {
		opts.TaskQueue = in.TaskQueue
	}
	run, err := c.SignalWithStartWorkflow(ctx, id, workflows.SignalAlert, alert, opts, workflows.IncidentWorkflowName, input)
	if err != nil {
		return Declared{}, mapError(err, id, addressOf(c), nil)
	}
	out := Declared{
		WorkflowID: id,
		RunID:      run.GetRunID(),
		AlertID:    alert.ID,
		Commander:  duty.Shift.Commander,
		Member:     alert.Member,
		Group:      alert.Group,
	}
	setJoined(ctx, c, &out, alert.ID, runningRunID, previousRunID)
	return out, nil
}

// asStormMember is alert (whose own key is own) as a member of source's
// alert storm incident.
func asStormMember(alert workflows.Alert, source, own string) workflows.Alert {
	alert.DedupeKey, alert.Member, alert.Group = StormKey(source), own, GroupStorm
	return alert
}

// declareStorm has a firing alert that Admit refused join its source's
// alert storm incident, opening it when none is running: titled
// StormTitle, no runbook (people handle a storm), the alert's severity.
// Admit is not asked again: the storm incident is one for the whole storm.
func declareStorm(ctx context.Context, c client.Client, in DeclareRequest, alert workflows.Alert, own string, duty oncall.OnDuty) (Declared, error) {
	member := asStormMember(alert, in.Storm, own)
	id := workflows.WorkflowID(member.DedupeKey)
	runningRunID, previousRunID, err := existingRun(ctx, c, id, addressOf(c))
	if err != nil {
		return Declared{}, err
	}
	// The incident is the storm's; its first member keeps its own title.
	opened := member
	opened.Description = cut(fmt.Sprintf("Alerts from %s beyond its rate of new incidents join this incident, each listed as a member; handle them by hand or split them out (split). First: %s",
		in.Storm, alert.Title), workflows.MaxTextLen)
	opened.Service, opened.Dataset = "", ""
	input := workflows.IncidentInput{
		Alert:         opened,
		Title:         StormTitle(in.Storm),
		Roster:        in.Roster,
		Options:       in.Options,
		PreviousRunID: previousRunID,
	}
	out, err := start(ctx, c, in, id, member, input, duty, runningRunID, previousRunID)
	out.Storm = err == nil
	return out, err
}

// recoverToStorm sends a recovery whose own incident is not running to its
// source's alert storm incident, when one is running (the alert may have
// joined it); otherwise the recovery is ignored, as any recovery with no
// open incident.
func recoverToStorm(ctx context.Context, c client.Client, addr, source string, alert workflows.Alert, own, commander string) (Declared, error) {
	member := asStormMember(alert, source, own)
	id := workflows.WorkflowID(member.DedupeKey)
	runningRunID, _, err := existingRun(ctx, c, id, addr)
	if err != nil {
		return Declared{}, err
	}
	if runningRunID == "" {
		// Nowhere to go: answered for the alert's own incident.
		return Declared{WorkflowID: workflows.WorkflowID(alert.DedupeKey), AlertID: alert.ID, Commander: commander, Ignored: true,
			Member: alert.Member, Group: alert.Group}, nil
	}
	out, err := declareRecovery(ctx, c, id, addr, member, commander, runningRunID)
	if err == nil && !out.Ignored {
		out.Storm = true
	}
	return out, err
}

// prepareAlert returns a copy of a (its labels cloned) with its defaults
// filled and checked (see validate), an ID when it has none and received
// at now when it says nothing.
func prepareAlert(a workflows.Alert, now time.Time) (workflows.Alert, error) {
	if a.Labels != nil {
		a.Labels = cloneLabels(a.Labels)
	}
	if err := validate(&a); err != nil {
		return a, &ValidationError{What: "alert", Err: err}
	}
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	if a.ReceivedAt.IsZero() {
		a.ReceivedAt = now.UTC()
	}
	return a, nil
}

// existingRun looks for a run of incident id. Running: the signal will
// join it. Closed: a new run is a recurrence of it. A running run is also
// previousRunID, in case it closes between this look and the start.
func existingRun(ctx context.Context, c client.Client, id, addr string) (runningRunID, previousRunID string, err error) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	switch {
	case err == nil:
		info := desc.GetWorkflowExecutionInfo()
		previousRunID = info.GetExecution().GetRunId()
		if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			runningRunID = previousRunID
		}
	case classify(err) == kindNotFound:
	default:
		return "", "", mapError(err, id, addr, nil)
	}
	return runningRunID, previousRunID, nil
}

// declareRecovery sends a recovery to the open incident, or nowhere: a
// recovery never opens one.
func declareRecovery(ctx context.Context, c client.Client, id, addr string, alert workflows.Alert, commander, runningRunID string) (Declared, error) {
	out := Declared{WorkflowID: id, AlertID: alert.ID, Commander: commander, Member: alert.Member, Group: alert.Group}
	if runningRunID == "" {
		out.Ignored = true
		return out, nil
	}
	// The latest run, not the one described: it may have continued as new.
	err := c.SignalWorkflow(ctx, id, "", workflows.SignalAlert, alert)
	switch k := classify(err); {
	case err == nil:
		out.RunID, out.Joined = runningRunID, true
	case k == kindNotFound || k == kindCompleted:
		out.Ignored = true
	default:
		return Declared{}, mapError(err, id, addr, nil)
	}
	return out, nil
}

// setJoined says whether the run out names (which got alert alertID) was
// already open, and otherwise which closed run it is a recurrence of.
func setJoined(ctx context.Context, c client.Client, out *Declared, alertID, runningRunID, previousRunID string) {
	if runningRunID != "" && runningRunID == out.RunID {
		out.Joined = true
		return
	}
	// A run we did not see before: ours, or one a concurrent Declare
	// started a moment earlier. Its start input tells which.
	started, ok := startedWith(ctx, c, out.WorkflowID, out.RunID)
	out.Joined = ok && started.Alert.ID != alertID
	if !out.Joined {
		if ok {
			out.PreviousRunID = started.PreviousRunID
		} else {
			out.PreviousRunID = previousRunID
		}
	}
}

// validate fills the alert's defaults and checks it: workflows.Alert's own
// rules, then (once those pass) CheckAlert's shape and bounds.
func validate(a *workflows.Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return CheckAlert(*a)
}

// StartOptions are the start options of an incident workflow: task queue, ID
// policies, search attributes, summary and details for the Temporal UI.
func StartOptions(id string, alert workflows.Alert, runbook string, duty oncall.OnDuty) client.StartWorkflowOptions {
	sa := []temporal.SearchAttributeUpdate{
		workflows.SASeverity.ValueSet(string(alert.Severity)),
		workflows.SAStatus.ValueSet(string(workflows.Triggered)),
	}
	if duty.Shift.Commander != "" {
		sa = append(sa, workflows.SACommander.ValueSet(duty.Shift.Commander))
	}
	if alert.Service != "" {
		sa = append(sa, workflows.SAService.ValueSet(alert.Service))
	}
	if runbook != "" {
		sa = append(sa, workflows.SARunbook.ValueSet(runbook))
	}
	return client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(sa...),
		StaticSummary:            SummaryLine(alert),
		StaticDetails:            Details(alert, runbook, duty),
		Memo:                     map[string]any{memoTitle: alert.Title},
		// The incident's workflow tasks, activities (its pages) and
		// runbook inherit it: a SEV1 goes before a storm's SEV3s.
		Priority: temporal.Priority{PriorityKey: alert.Severity.PriorityKey()},
	}
}

const memoTitle = "title"

func cloneLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// onDuty returns the shift covering now in the roster's time zone.
func onDuty(r *oncall.Roster, now time.Time) (oncall.OnDuty, error) {
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		return oncall.OnDuty{}, fmt.Errorf("timezone: %w", err)
	}
	return r.At(now, loc)
}

// OnDuty returns the shift of the roster that covers t.
func OnDuty(r oncall.Roster, t time.Time) (oncall.OnDuty, error) { return onDuty(&r, t) }

// startedWith reads the start input of a run from its first history event.
// It reads plain JSON payloads only; with an encrypting codec it reports
// false and the caller falls back to what it saw before starting.
func startedWith(ctx context.Context, c client.Client, id, runID string) (workflows.IncidentInput, bool) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return workflows.IncidentInput{}, false
	}
	ev, err := it.Next()
	if err != nil {
		return workflows.IncidentInput{}, false
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return workflows.IncidentInput{}, false
	}
	var in workflows.IncidentInput
	if !decodeJSON(attrs.GetInput().GetPayloads()[0], &in) {
		return workflows.IncidentInput{}, false
	}
	return in, true
}

// decodeJSON decodes a json/plain payload; anything else (an encrypted
// payload, say) is reported as not decodable.
func decodeJSON(p *commonpb.Payload, v any) bool {
	if p == nil || string(p.GetMetadata()["encoding"]) != "json/plain" {
		return false
	}
	return json.Unmarshal(p.GetData(), v) == nil
}

// closedLookup returns a lookup for mapError: whether the latest run of id
// is closed, and when it closed.
func closedLookup(ctx context.Context, c client.Client, id string) func() (time.Time, bool) {
	return func() (time.Time, bool) {
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return time.Time{}, false
		}
		info := desc.GetWorkflowExecutionInfo()
		if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return time.Time{}, false
		}
		if ct := info.GetCloseTime(); ct != nil {
			return ct.AsTime(), true
		}
		return time.Time{}, true
	}
}

// checkAct rejects unknown act names and fills the act's ID.
func checkAct(actName string, act *workflows.Act) error {
	if !slices.Contains(actNames, actName) {
		return &UnknownActError{Name: actName}
	}
	if strings.TrimSpace(act.By) == "" {
		return &ValidationError{What: "act", Err: errors.New("by: required (the roster ID of the person acting)")}
	}
	if act.ID == "" {
		act.ID = uuid.NewString()
	}
	return nil
}

// Act sends a human act as an Update and waits for the workflow's answer.
// A rejection is a RejectedError carrying the workflow's own message.
func Act(ctx context.Context, c client.Client, workflowID, actName string, act workflows.Act) (workflows.ActResult, error) {
	if err := checkAct(actName, &act); err != nil {
		return workflows.ActResult{}, err
	}
	addr := addressOf(c)
	opts := client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateID:     act.ID,
		UpdateName:   actName,
		Args:         []any{act},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	handle, err := c.UpdateWorkflow(ctx, opts)
	// An Update that reached the workflow in the same task as a
	// continue-as-new (or any task the server refused) is not accepted; it
	// was not applied, and the same update ID keeps a retry from applying it
	// twice.
	for delay := 20 * time.Millisecond; err != nil && notAccepted(err) && delay < 3*time.Second; delay *= 2 {
		select {
		case <-ctx.Done():
			return workflows.ActResult{}, ctx.Err()
		case <-time.After(delay):
		}
		handle, err = c.UpdateWorkflow(ctx, opts)
	}
	if err != nil {
		return workflows.ActResult{}, mapError(err, workflowID, addr, closedLookup(ctx, c, workflowID))
	}
	var res workflows.ActResult
	if err := handle.Get(ctx, &res); err != nil {
		return workflows.ActResult{}, mapError(err, workflowID, addr, closedLookup(ctx, c, workflowID))
	}
	return res, nil
}

// Signal sends a human act as a Signal: it returns once the server has
// recorded it. The workflow validates it as it would an Update; a rejected
// signal shows in the timeline as kind "rejected".
func Signal(ctx context.Context, c client.Client, workflowID, actName string, act workflows.Act) error {
	if err := checkAct(actName, &act); err != nil {
		return err
	}
	if err := c.SignalWorkflow(ctx, workflowID, "", actName, act); err != nil {
		return mapError(err, workflowID, addressOf(c), closedLookup(ctx, c, workflowID))
	}
	return nil
}

// SendAlert delivers a further alert (firing or resolved) to the open
// incident for its dedupe key, without starting one.
func SendAlert(ctx context.Context, c client.Client, alert workflows.Alert) error {
	if err := validate(&alert); err != nil {
		return &ValidationError{What: "alert", Err: err}
	}
	if alert.ID == "" {
		alert.ID = uuid.NewString()
	}
	if alert.ReceivedAt.IsZero() {
		alert.ReceivedAt = time.Now().UTC()
	}
	id := workflows.WorkflowID(alert.DedupeKey)
	if err := c.SignalWorkflow(ctx, id, "", workflows.SignalAlert, alert); err != nil {
		return mapError(err, id, addressOf(c), closedLookup(ctx, c, id))
	}
	return nil
}

// Status queries the incident's status.
func Status(ctx context.Context, c client.Client, workflowID string) (workflows.Status, error) {
	var st workflows.Status
	err := query(ctx, c, workflowID, workflows.QueryStatus, &st)
	return st, err
}

// Timeline queries the incident's timeline.
func Timeline(ctx context.Context, c client.Client, workflowID string) ([]workflows.TimelineEntry, error) {
	var tl []workflows.TimelineEntry
	err := query(ctx, c, workflowID, workflows.QueryTimeline, &tl)
	return tl, err
}

func query(ctx context.Context, c client.Client, workflowID, name string, out any) error {
	v, err := c.QueryWorkflow(ctx, workflowID, "", name)
	if err != nil {
		err = mapQueryError(ctx, err, workflowID, addressOf(c))
		var rej *RejectedError
		if errors.As(err, &rej) {
			return fmt.Errorf("query %s on %q failed: %s", name, workflowID, rej.Message)
		}
		return err
	}
	return v.Get(out)
}

// ResolveID turns what a person typed (a dedupe key or a full workflow ID)
// into the workflow ID. A value that already starts with the prefix is used
// as is unless no such workflow exists and the prefixed one does.
func ResolveID(ctx context.Context, c client.Client, idOrKey string) string {
	idOrKey = strings.TrimSpace(idOrKey)
	if !strings.HasPrefix(idOrKey, workflows.WorkflowIDPrefix) {
		return workflows.WorkflowID(idOrKey)
	}
	if _, err := c.DescribeWorkflowExecution(ctx, idOrKey, ""); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			if _, err2 := c.DescribeWorkflowExecution(ctx, workflows.WorkflowID(idOrKey), ""); err2 == nil {
				return workflows.WorkflowID(idOrKey)
			}
		}
	}
	return idOrKey
}

// notAccepted reports whether an Update failed before the workflow accepted
// it: the server answers WorkflowNotReady when the workflow task carrying the
// update failed (e.g. an unhandled command at continue-as-new) or the
// workflow cannot take updates yet. Nothing was applied, so it is safe to
// send again with the same update ID.
func notAccepted(err error) bool {
	var nr *serviceerror.WorkflowNotReady
	return errors.As(err, &nr)
}

// chooseRunbook picks the incident's runbook: the one named, or the one the
// set matches for the alert (runbooks.Set.Choose). It returns a copy,
// captured now: editing the file later changes no running incident.
func chooseRunbook(in DeclareRequest, alert workflows.Alert) (*runbooks.Runbook, error) {
	if in.Runbooks == nil {
		if in.Runbook != "" {
			return nil, &ValidationError{What: "runbook", Err: fmt.Errorf("%q: no runbooks are loaded", in.Runbook)}
		}
		return nil, nil
	}
	rb, err := in.Runbooks.Choose(in.Runbook, alert.Facts())
	if err != nil {
		return nil, &ValidationError{What: "runbook", Err: err}
	}
	if rb == nil {
		return nil, nil
	}
	copied, err := runbooks.Clone(rb)
	if err != nil {
		return nil, fmt.Errorf("capture runbook %s: %w", rb.Name, err)
	}
	return copied, nil
}

// Facts is what runbook matching and expressions know of an alert: the
// alert's own conversion (workflows.Alert.Facts), kept for callers of this
// package.
func Facts(a workflows.Alert) runbooks.AlertFacts { return a.Facts() }
