// Package incident holds the deterministic incident workflow: lifecycle,
// roles, severity, timers, acts (as Updates and Signals), queries, search
// attributes and continue-as-new. Everything that touches the outside world
// is an activity named in the workflows contract; the runbook runs as a child
// workflow (workflows/runbook).
package incident

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// IncidentWorkflow is the incident workflow: one run per incident, its ID derived
// from the alert's dedupe key. It returns the final snapshot when the
// incident closes.
func IncidentWorkflow(ctx workflow.Context, in workflows.IncidentInput) (workflows.Snapshot, error) {
	inc := &incident{in: in}
	if err := inc.setup(ctx); err != nil {
		return workflows.Snapshot{}, err
	}
	return inc.run(ctx)
}

// incident is the workflow's state and its handlers.
type incident struct {
	in     workflows.IncidentInput
	s      workflows.Snapshot
	logger log.Logger

	kick       workflow.Channel // wakes the main loop after an update changed state
	signals    map[string]workflow.ReceiveChannel
	alerts     workflow.ReceiveChannel
	events     workflow.ReceiveChannel // runbook events
	relaying   bool                    // the relay coroutine has a signal in flight
	sending    bool                    // the notifier coroutine has an activity in flight
	publicBusy bool                    // the public incident is being resolved
	delivering bool                    // the notifier coroutine is running
	docBusy    bool                    // the document coroutine has an activity in flight
	docFlush   bool                    // the run is ending: sync the document without waiting
	notified   bool                    // a notification was delivered (or failed) in this run

	seenAlerts, seenActs *seenMemory // indexes of inc.s.Seen, built when first used
	splitting            int         // split-out incidents being started
	linking              int         // link signals to other incidents in flight
	links                workflow.ReceiveChannel

	openedBy *oncall.OnDuty // the roster shift this run opened with; nil for a continued run

	published struct {
		attrs   [5]string
		details string
	}
}

// setup restores or initialises state and registers every handler.
func (inc *incident) setup(ctx workflow.Context) error {
	inc.logger = workflow.GetLogger(ctx)
	inc.kick = workflow.NewBufferedChannel(ctx, 1)
	// Start with what the starter (or the previous run) already set, so the
	// first publish upserts only what differs.
	sa := workflow.GetTypedSearchAttributes(ctx)
	for i, k := range saKeys {
		inc.published.attrs[i], _ = sa.GetKeyword(k)
	}
	if inc.in.Carry != nil {
		inc.s = *inc.in.Carry
		inc.in.Carry = nil
		inc.s.Runs++
	} else if err := inc.open(ctx); err != nil {
		return err
	}
	inc.useSeenWindow(ctx)

	if err := workflow.SetQueryHandler(ctx, workflows.QueryStatus, func() (workflows.Status, error) {
		return inc.status(workflow.Now(ctx)), nil
	}); err != nil {
		return fmt.Errorf("register status query: %w", err)
	}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryTimeline, func() ([]workflows.TimelineEntry, error) {
		return inc.s.Timeline, nil
	}); err != nil {
		return fmt.Errorf("register timeline query: %w", err)
	}
	if err := workflow.SetQueryHandler(ctx, workflows.QueryReport, func() (workflows.Report, error) {
		return inc.report(), nil
	}); err != nil {
		return fmt.Errorf("register report query: %w", err)
	}
	inc.signals = make(map[string]workflow.ReceiveChannel, len(workflows.ActNames))
	for _, name := range workflows.ActNames {
		inc.signals[name] = workflow.GetSignalChannel(ctx, name)
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, act workflows.Act) (workflows.ActResult, error) {
				msg := inc.apply(ctx, name, act)
				inc.kick.SendAsync(struct{}{})
				return inc.result(msg), nil
			},
			workflow.UpdateHandlerOptions{
				Validator: func(ctx workflow.Context, act workflows.Act) error {
					return inc.validate(ctx, name, act)
				},
				Description: "datasev act " + name,
			})
		if err != nil {
			return fmt.Errorf("register update %s: %w", name, err)
		}
	}
	if err := inc.registerChannelActs(ctx); err != nil {
		return err
	}
	inc.alerts = workflow.GetSignalChannel(ctx, workflows.SignalAlert)
	inc.events = workflow.GetSignalChannel(ctx, workflows.SignalRunbookEvent)
	inc.links = workflow.GetSignalChannel(ctx, workflows.SignalIncidentLink)
	inc.readOpeningDuty(ctx)
	return nil
}

// open initialises a fresh incident from its first alert and the roster.
func (inc *incident) open(ctx workflow.Context) error {
	a := inc.in.Alert
	now := workflow.Now(ctx)
	info := workflow.GetInfo(ctx)
	duty, err := inc.onDuty(ctx, now)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("cannot seed roles from the roster: "+err.Error(), "RosterInvalid", err)
	}
	inc.openedBy = &duty
	sev := a.Severity
	if !sev.Valid() {
		sev = workflows.SEV3
	}
	inc.s = workflows.Snapshot{
		ID:            info.WorkflowExecution.ID,
		Title:         cmp.Or(inc.in.Title, a.Title),
		State:         workflows.Triggered,
		Severity:      sev,
		Service:       a.Service,
		Dataset:       a.Dataset,
		Runbook:       inc.in.Runbook,
		Roles:         workflows.Roles{Commander: duty.Shift.Commander, Scribe: duty.Shift.Scribe, Liaison: duty.Shift.Liaison, SMEs: slices.Clone(duty.Shift.SMEs)},
		Secondary:     duty.Shift.Secondary,
		ShiftName:     duty.Shift.Name,
		ShiftEnd:      duty.End,
		AlertCount:    1,
		AlertStatus:   workflows.Firing,
		LastAlertAt:   now,
		TriggeredAt:   now,
		AckDue:        now.Add(sev.AckTimeout()),
		PreviousRunID: inc.in.PreviousRunID,
	}
	if a.ID != "" {
		inc.s.SeenAlertIDs = []string{a.ID}
	}
	if a.Member != "" {
		inc.s.Group = a.Group
		inc.s.Members = []workflows.AlertMember{{Key: a.Member, Title: a.Title, Source: a.Source, Status: workflows.Firing, Count: 1, FirstAt: now, LastAt: now}}
	}
	// Incidents opened from this version on record one marker for every
	// change below (the bundle); older histories carry a marker per change
	// and replay through the calls after ||, which the bundle skips.
	bundled := workflow.GetVersion(ctx, versionBundle, workflow.DefaultVersion, 1) == 1
	if bundled {
		inc.s.Versions = 1
		inc.s.Seen = &workflows.SeenIDs{}
		if a.ID != "" {
			inc.s.SeenAlertIDs = nil
			inc.rememberAlert(a.ID, now)
		}
	}
	// Incidents opened by this version wait for closure inputs at
	// resolution and write a postmortem when they close; those already
	// running keep closing as they did.
	inc.s.Closure.Enabled = bundled || workflow.GetVersion(ctx, versionClosure, workflow.DefaultVersion, 1) == 1
	// Incidents opened by this version owe their status updates to the
	// Liaison, reminded by datasev, rather than posting a summary.
	inc.s.Updates.ByPeople = bundled || workflow.GetVersion(ctx, versionLiaisonUpdates, workflow.DefaultVersion, 1) == 1
	// Incidents opened by this version keep an incident document.
	inc.s.Document.Enabled = bundled || workflow.GetVersion(ctx, versionDocument, workflow.DefaultVersion, 1) == 1
	inc.s.Trust.Enabled = bundled || workflow.GetVersion(ctx, versionVerifiedActs, workflow.DefaultVersion, 1) == 1
	inc.record(now, a.Source, workflows.KindAlert, fmt.Sprintf("incident opened: %s (%s, suggested %s)", inc.s.Title, a.Source, sev), a.Description)
	if inc.in.SplitFrom != "" {
		inc.record(now, "datasev", workflows.KindSystem, "split out of "+inc.in.SplitFrom+" by its Commander", "")
	}
	if inc.in.PreviousRunID != "" {
		inc.record(now, "datasev", workflows.KindSystem, "recurrence of a closed incident (previous run "+inc.in.PreviousRunID+")", "")
	}
	if rb := inc.in.RunbookSpec; rb != nil {
		for _, p := range rb.Roles.SMEs {
			if _, ok := inc.in.Roster.Person(p); ok && !inc.s.Roles.Has(p, workflows.SME) {
				inc.s.Roles.SMEs = append(inc.s.Roles.SMEs, p)
			}
		}
	}
	inc.record(now, "datasev", workflows.KindSystem, fmt.Sprintf("roles from the %s shift of %s: %s", duty.Shift.Name, inc.in.Roster.Team, describeRoles(inc.s.Roles)), "")
	if inc.in.Runbook != "" {
		inc.record(now, "datasev", workflows.KindSystem, "runbook "+inc.in.Runbook+" chosen for the alert", "")
	}
	inc.page(inc.s.Roles.Commander, "acknowledge: "+inc.s.Title, fmt.Sprintf("You are Commander. Acknowledge within %s.", sev.AckTimeout()))
	inc.post("incident opened: "+inc.s.Title, inc.details())
	return nil
}

// onDuty resolves the shift covering at. Time zone rules come from the
// worker's tz database, so the answer is recorded as a side effect: a worker
// with newer zone data replays the same decision.
func (inc *incident) onDuty(ctx workflow.Context, at time.Time) (oncall.OnDuty, error) {
	type result struct {
		Duty oncall.OnDuty
		Err  string
	}
	roster := inc.in.Roster
	var r result
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		loc, err := time.LoadLocation(roster.TimeZone)
		if err != nil {
			return result{Err: fmt.Sprintf("time zone %q: %v", roster.TimeZone, err)}
		}
		d, err := roster.At(at, loc)
		if err != nil {
			return result{Err: err.Error()}
		}
		return result{Duty: d}
	}).Get(&r)
	if err != nil {
		return oncall.OnDuty{}, err
	}
	if r.Err != "" {
		return oncall.OnDuty{}, fmt.Errorf("%s", r.Err)
	}
	return r.Duty, nil
}

// run is the main loop: it waits for a signal, an update or the next
// deadline, applies it, and publishes the new state.
func (inc *incident) run(ctx workflow.Context) (workflows.Snapshot, error) {
	if !inc.delivering {
		inc.delivering = true
		workflow.Go(ctx, inc.deliver)
		workflow.Go(ctx, inc.relayLoop)
		if inc.s.Document.Enabled {
			workflow.Go(ctx, inc.documentLoop)
		}
		inc.startRunbook(ctx)
	}

	var (
		timer       workflow.Future
		timerAt     time.Time
		cancelTimer workflow.CancelFunc
	)
	for inc.s.State != workflows.Closed {
		inc.publish(ctx)
		if inc.shouldContinueAsNew(ctx) {
			if cancelTimer != nil {
				cancelTimer()
			}
			return workflows.Snapshot{}, inc.continueAsNew(ctx)
		}

		now := workflow.Now(ctx)
		next, what := inc.nextDeadline()
		if !next.IsZero() && !next.After(now) {
			inc.fireDue(ctx, now)
			continue
		}
		if !next.Equal(timerAt) {
			if cancelTimer != nil {
				cancelTimer()
			}
			timer, timerAt, cancelTimer = nil, time.Time{}, nil
			if !next.IsZero() {
				tctx, cancel := workflow.WithCancel(ctx)
				timer = workflow.NewTimerWithOptions(tctx, next.Sub(now), workflow.TimerOptions{Summary: what})
				timerAt, cancelTimer = next, cancel
			}
		}

		sel := workflow.NewSelector(ctx)
		for _, name := range workflows.ActNames {
			sel.AddReceive(inc.signals[name], func(c workflow.ReceiveChannel, _ bool) {
				var act workflows.Act
				c.Receive(ctx, &act)
				inc.signal(ctx, name, act)
			})
		}
		sel.AddReceive(inc.alerts, func(c workflow.ReceiveChannel, _ bool) {
			var a workflows.Alert
			c.Receive(ctx, &a)
			inc.alert(ctx, a)
		})
		sel.AddReceive(inc.events, func(c workflow.ReceiveChannel, _ bool) {
			var ev workflows.RunbookEvent
			c.Receive(ctx, &ev)
			inc.runbookEvent(ctx, ev)
		})
		sel.AddReceive(inc.links, func(c workflow.ReceiveChannel, _ bool) {
			var l workflows.LinkSignal
			c.Receive(ctx, &l)
			inc.linked(workflow.Now(ctx), l)
		})
		sel.AddReceive(inc.kick, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		if timer != nil {
			sel.AddFuture(timer, func(workflow.Future) {
				timer, timerAt, cancelTimer = nil, time.Time{}, nil
			})
		}
		sel.Select(ctx)
		inc.fireDue(ctx, workflow.Now(ctx))
	}

	// Closed: let running handlers finish and the last notifications go out,
	// then apply anything still buffered. A firing alert among it reopens
	// the incident rather than being dropped.
	_ = workflow.Await(ctx, func() bool {
		return workflow.AllHandlersFinished(ctx) && len(inc.s.Outbox) == 0 && !inc.sending &&
			len(inc.s.Relay) == 0 && !inc.s.CancelRunbook && !inc.relaying && !inc.publicBusy && inc.splitting == 0 && inc.linking == 0
	})
	inc.drain(ctx)
	if inc.s.State != workflows.Closed {
		return inc.run(ctx)
	}
	if inc.s.Closure.Enabled && inc.s.Closure.Postmortem == "" || inc.s.Document.Enabled {
		if inc.s.Closure.Enabled && inc.s.Closure.Postmortem == "" {
			inc.writePostmortem(ctx)
		}
		// The document's last update carries the closure and the
		// postmortem.
		inc.flushDocument(ctx)
		_ = workflow.Await(ctx, func() bool { return len(inc.s.Outbox) == 0 && !inc.sending })
		inc.drain(ctx)
		if inc.s.State != workflows.Closed {
			return inc.run(ctx)
		}
	}
	inc.publish(ctx)
	return inc.s, nil
}

// versionLiaisonUpdates is the change ID of status updates owed by the
// Liaison at the severity's cadence, with reminders and missed updates.
const versionLiaisonUpdates = "liaison-updates"

// versionClosure is the change ID of waiting for closure inputs and writing
// a postmortem at closure.
const versionClosure = "closure-postmortem"

// versionBundle is the change ID that stands for every change before it
// (closure-postmortem, liaison-updates, incident-document, verified-acts,
// seen-window, file-action-items, monitor-after-runbook) in incidents opened
// from this version on: one marker and one search-attribute upsert in the
// first workflow task instead of one per change. A change after it gets its
// own change ID as before, until the next bundle.
const versionBundle = "bundle-1"

// writePostmortem has the postmortem written from the report and records
// where; a failure is recorded, and the incident closes anyway.
func (inc *incident) writePostmortem(ctx workflow.Context) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
		Summary:             "write the postmortem of " + inc.s.ID,
	})
	if inc.s.Versions >= 1 || workflow.GetVersion(ctx, versionActionItems, workflow.DefaultVersion, 1) == 1 {
		inc.fileActionItems(ctx)
	}
	var where string
	err := workflow.ExecuteActivity(actx, workflows.PostmortemActivityName, inc.report()).Get(ctx, &where)
	now := workflow.Now(ctx)
	if err != nil {
		inc.record(now, "datasev", workflows.KindSystem, "postmortem could not be written", err.Error())
		return
	}
	inc.s.Closure.Postmortem = where
	inc.record(now, "datasev", workflows.KindSystem, "postmortem written: "+where, "")
	inc.post("postmortem: "+inc.s.Title, "The postmortem is at "+where+".")
}

// updateDue handles the status-update timer of an incident whose updates
// are owed by people: when one falls due the Liaison is reminded; if it is
// still not posted after a grace, the Commander is, and the update is
// recorded as missed before the next cycle starts.
func (inc *incident) updateDue(now time.Time) {
	s := &inc.s
	cadence := s.Severity.UpdateCadence()
	grace := min(max(cadence/4, 5*time.Minute), 15*time.Minute)
	liaison := cmp.Or(s.Roles.Liaison, s.Roles.Commander)
	if s.Updates.DueSince.IsZero() {
		s.Updates.DueSince = now
		s.NextUpdateAt = now.Add(grace)
		inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("status update due (%s cadence): reminding %s", cadence, liaison), "")
		inc.page(liaison, "status update due: "+s.Title, fmt.Sprintf("A %s status update is due (every %s). Post it with post_update (CLI: update; Slack: /incident update) within %s.", s.Severity, cadence, grace))
		return
	}
	s.Updates.Missed++
	inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("status update missed: due since %s; reminding the Commander %s", s.Updates.DueSince.UTC().Format("15:04:05 UTC"), s.Roles.Commander), "")
	inc.page(s.Roles.Commander, "status update missed: "+s.Title, fmt.Sprintf("%s has not posted the %s status update due since %s.", liaison, s.Severity, s.Updates.DueSince.UTC().Format(time.RFC3339)))
	s.Updates.DueSince = time.Time{}
	s.NextUpdateAt = now.Add(cadence)
}

// versionActionItems is the change ID of filing action items as issues
// before the postmortem is written.
const versionActionItems = "file-action-items"

// fileActionItems has the action items not yet filed filed as issues (where
// the worker is configured to) and records their links; a failure is
// recorded and the postmortem is written without them.
func (inc *incident) fileActionItems(ctx workflow.Context) {
	c := &inc.s.Closure
	pending := false
	for _, it := range c.ActionItems {
		pending = pending || it.Issue == ""
	}
	if !pending {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5},
		Summary:             fmt.Sprintf("file %d action items of %s", len(c.ActionItems), inc.s.ID),
	})
	var urls []string
	err := workflow.ExecuteActivity(actx, workflows.ActionItemsActivityName, inc.report()).Get(ctx, &urls)
	now := workflow.Now(ctx)
	if err != nil {
		inc.record(now, "datasev", workflows.KindSystem, "action items could not be filed", err.Error())
		return
	}
	for i, u := range urls {
		if i < len(c.ActionItems) && u != "" && c.ActionItems[i].Issue == "" {
			c.ActionItems[i].Issue = u
			inc.record(now, "datasev", workflows.KindSystem, fmt.Sprintf("action item filed: %s — %s", c.ActionItems[i].Text, u), "")
		}
	}
}

// report builds the report query's answer and the postmortem's input.
func (inc *incident) report() workflows.Report {
	s := &inc.s
	return workflows.Report{
		ID: s.ID, Title: s.Title, State: s.State, Severity: s.Severity, Service: s.Service, Dataset: s.Dataset,
		Runbook: s.Runbook, RunbookStatus: s.RunbookStatus, Roles: s.Roles, AlertCount: s.AlertCount,
		TriggeredAt: s.TriggeredAt, AckedAt: s.AckedAt, MitigatedAt: s.MitigatedAt, ResolvedAt: s.ResolvedAt, ClosedAt: s.ClosedAt,
		Approvals: slices.Clone(s.Approvals), Findings: slices.Clone(s.Findings), Closure: s.Closure,
		Timeline: slices.Clone(s.Timeline), Document: s.Document.URL, PreviousRunID: s.PreviousRunID,
	}
}

// shouldContinueAsNew is true when the server suggests it or the history
// passed the configured threshold.
func (inc *incident) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= historyThreshold(inc.in.Options)
}

// continueAsNew hands the whole state to a fresh run once handlers are done
// and buffered signals are applied, so no act or alert is lost.
func (inc *incident) continueAsNew(ctx workflow.Context) error {
	_, _ = workflow.AwaitWithTimeout(ctx, time.Minute, func() bool {
		return workflow.AllHandlersFinished(ctx) && !inc.sending && !inc.relaying && !inc.publicBusy && !inc.docBusy && inc.splitting == 0 && inc.linking == 0
	})
	inc.drain(ctx)
	info := workflow.GetInfo(ctx)
	inc.record(workflow.Now(ctx), "datasev", workflows.KindSystem,
		fmt.Sprintf("continued as new after %d history events", info.GetCurrentHistoryLength()), "")
	carry := inc.s
	next := inc.in
	next.Carry = &carry
	return workflow.NewContinueAsNewError(ctx, workflows.IncidentWorkflowName, next)
}

// drain applies every buffered signal without blocking.
func (inc *incident) drain(ctx workflow.Context) {
	for {
		progressed := false
		for _, name := range workflows.ActNames {
			var act workflows.Act
			for inc.signals[name].ReceiveAsync(&act) {
				inc.signal(ctx, name, act)
				act = workflows.Act{}
				progressed = true
			}
		}
		var a workflows.Alert
		for inc.alerts.ReceiveAsync(&a) {
			inc.alert(ctx, a)
			a = workflows.Alert{}
			progressed = true
		}
		var l workflows.LinkSignal
		for inc.links.ReceiveAsync(&l) {
			inc.linked(workflow.Now(ctx), l)
			l = workflows.LinkSignal{}
			progressed = true
		}
		var ev workflows.RunbookEvent
		for inc.events.ReceiveAsync(&ev) {
			inc.runbookEvent(ctx, ev)
			ev = workflows.RunbookEvent{}
			progressed = true
		}
		if !progressed {
			return
		}
	}
}

// deliver sends queued notifications one at a time, in order, through the
// notifier activity. It runs for the life of the run.
func (inc *incident) deliver(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(inc.s.Outbox) > 0 }); err != nil {
			return
		}
		n := inc.s.Outbox[0]
		inc.sending = true
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout:    30 * time.Second,
			ScheduleToCloseTimeout: 10 * time.Minute,
			RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
			Summary:                n.Summary(),
		})
		err := workflow.ExecuteActivity(actx, workflows.NotifyActivity, n).Get(ctx, nil)
		inc.s.Outbox = inc.s.Outbox[1:]
		inc.sending, inc.notified = false, true
		if err != nil {
			inc.record(workflow.Now(ctx), "datasev", workflows.KindNotify, "notification failed: "+n.Summary(), err.Error())
			inc.kick.SendAsync(struct{}{})
		}
	}
}

// signal validates and applies an act that arrived as a Signal. A rejected
// signal is recorded in the timeline and changes nothing else.
func (inc *incident) signal(ctx workflow.Context, name string, act workflows.Act) {
	if err := inc.validate(ctx, name, act); err != nil {
		who := act.By
		if who == "" {
			who = "unknown"
		}
		inc.recordVia(workflow.Now(ctx), who, act.Via, workflows.KindRejected, name+" (signal) rejected", err.Error())
		return
	}
	inc.apply(ctx, name, act)
}

// alert joins a further alert with the same dedupe key.
func (inc *incident) alert(ctx workflow.Context, a workflows.Alert) {
	now := workflow.Now(ctx)
	if a.ID != "" {
		if inc.seenAlert(a.ID) {
			return // redelivery of an alert already counted
		}
		inc.rememberAlert(a.ID, now)
	}
	if a.Status == "" {
		a.Status = workflows.Firing
	}
	if a.Member != "" && !inc.member(now, a) {
		return
	}
	if inc.s.State == workflows.Closed {
		if a.Status == workflows.Recovered {
			return
		}
		// Arrived while the run was closing: reopen rather than lose it.
		inc.s.AlertCount++
		inc.s.LastAlertAt = now
		inc.s.AlertStatus = workflows.Firing
		inc.s.ClosedAt, inc.s.ResolvedAt = time.Time{}, time.Time{}
		inc.record(now, a.Source, workflows.KindAlert, "alert firing again: "+a.Title, "")
		inc.transition(now, workflows.Diagnosing, a.Source, "reopened: the alert fired as the incident was closing")
		inc.page(inc.s.Roles.Commander, "reopened: "+inc.s.Title, "The alert fired again as the incident closed.")
		return
	}
	switch a.Status {
	case workflows.Recovered:
		if inc.s.AlertStatus == workflows.Recovered {
			return
		}
		inc.s.AlertStatus = workflows.Recovered
		inc.record(now, a.Source, workflows.KindAlert, "alert resolved at the source: "+a.Title, "")
		switch inc.s.State {
		case workflows.Acknowledged, workflows.Diagnosing, workflows.Mitigating:
			inc.transition(now, workflows.Monitoring, a.Source, "the source reports recovery; watching before resolving")
		}
	default:
		inc.s.AlertCount++
		inc.s.LastAlertAt = now
		if inc.s.AlertStatus != workflows.Recovered {
			return // a repeat: counted, not duplicated in the timeline
		}
		inc.s.AlertStatus = workflows.Firing
		inc.record(now, a.Source, workflows.KindAlert, "alert firing again: "+a.Title, "")
		switch inc.s.State {
		case workflows.Monitoring:
			inc.transition(now, workflows.Diagnosing, a.Source, "the alert fired again while monitoring")
		case workflows.Resolved:
			inc.s.ResolvedAt = time.Time{}
			inc.transition(now, workflows.Diagnosing, a.Source, "reopened: the alert fired again before the incident closed")
			inc.page(inc.s.Roles.Commander, "reopened: "+inc.s.Title, "The alert fired again after resolution.")
		}
	}
}

// nextDeadline returns the earliest pending deadline and what it is for.
func (inc *incident) nextDeadline() (time.Time, string) {
	var at time.Time
	var what string
	consider := func(t time.Time, w string) {
		if t.IsZero() {
			return
		}
		if at.IsZero() || t.Before(at) {
			at, what = t, w
		}
	}
	s := &inc.s
	if s.State == workflows.Triggered {
		consider(s.AckDue, fmt.Sprintf("acknowledgement deadline (%s)", s.Severity))
	}
	if s.State.Open() {
		if s.Handoff == nil {
			if !s.ShiftEnd.IsZero() {
				consider(s.ShiftEnd.Add(-inc.in.Roster.Lead()), "shift handoff: "+s.ShiftName+" shift ends")
			}
		} else if !s.Handoff.Escalated {
			consider(s.Handoff.Deadline, "handoff acceptance deadline")
		}
		for _, ap := range s.Approvals {
			if ap.Status == workflows.ApprovalPending && !ap.Escalated {
				consider(ap.Deadline, "approval deadline: "+ap.ID)
			}
		}
		consider(s.NextUpdateAt, fmt.Sprintf("status update (%s cadence)", s.Severity))
	}
	if s.State == workflows.Resolved {
		consider(inc.closeAt(), "close after resolution")
		if c := s.Closure; c.Enabled && !c.Complete() && c.NextReminder.Before(c.Deadline) {
			consider(c.NextReminder, "closure inputs reminder")
		}
	}
	return at, what
}

// fireDue handles every deadline that has passed, in a fixed order.
func (inc *incident) fireDue(ctx workflow.Context, now time.Time) {
	s := &inc.s
	if s.State == workflows.Triggered && !s.AckDue.IsZero() && !now.Before(s.AckDue) {
		s.AckPages++
		switch {
		case s.AckPages == 1 || s.Secondary == "":
			inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("not acknowledged within %s: re-paging %s", s.Severity.AckTimeout(), s.Roles.Commander), "")
			inc.page(s.Roles.Commander, "still unacknowledged: "+s.Title, "Second page. Acknowledge now or the secondary is paged.")
		default:
			if !s.AckEscalated {
				s.AckEscalated = true
				inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("still not acknowledged: escalating to the secondary %s", s.Secondary), "")
			} else {
				inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("still not acknowledged: paging %s and %s again", s.Roles.Commander, s.Secondary), "")
			}
			inc.page(s.Secondary, "escalated, unacknowledged: "+s.Title, fmt.Sprintf("%s has not acknowledged. Acknowledge to take command.", s.Roles.Commander))
			inc.page(s.Roles.Commander, "still unacknowledged: "+s.Title, "Escalated to "+s.Secondary+".")
		}
		s.AckDue = now.Add(s.Severity.AckTimeout())
	}
	if s.State.Open() && s.Handoff == nil && !s.ShiftEnd.IsZero() && !now.Before(s.ShiftEnd.Add(-inc.in.Roster.Lead())) {
		inc.startHandoff(ctx, now)
	}
	if s.State.Open() && s.Handoff != nil && !s.Handoff.Escalated && !now.Before(s.Handoff.Deadline) {
		h := s.Handoff
		h.Escalated = true
		inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("handoff to %s not accepted by %s: escalating; %s stays Commander", h.To, h.Deadline.Format(time.RFC3339), s.Roles.Commander), "")
		if h.Backup != "" {
			inc.page(h.Backup, "handoff not accepted: "+s.Title, fmt.Sprintf("%s did not accept the handoff from %s. Accept it to take command.", h.To, h.From))
		}
		inc.page(h.To, "handoff still waiting: "+s.Title, "Accept the handoff to take command.")
	}
	if s.State.Open() {
		for i := range s.Approvals {
			ap := &s.Approvals[i]
			if ap.Status == workflows.ApprovalPending && !ap.Escalated && !now.Before(ap.Deadline) && ap.OnTimeout == "deny" {
				ap.Status, ap.DecidedBy, ap.DecidedAt = workflows.ApprovalDenied, "datasev", now
				ap.Reason = "no decision by the deadline"
				inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("approval %s undecided past its deadline: denied, as its runbook asks", ap.ID), "")
				inc.relay(*ap)
				continue
			}
			if ap.Status == workflows.ApprovalPending && !ap.Escalated && !now.Before(ap.Deadline) {
				ap.Escalated = true
				inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("approval %s undecided past its deadline: escalating", ap.ID), "")
				if s.Secondary != "" {
					inc.page(s.Secondary, "approval waiting: "+ap.ID, fmt.Sprintf("%s has not decided on %q. It still needs the Commander.", s.Roles.Commander, ap.Action))
				}
				inc.pageApproval(s.Roles.Commander, *ap, "approval overdue: "+ap.ID, ap.Action)
			}
		}
		if !s.NextUpdateAt.IsZero() && !now.Before(s.NextUpdateAt) && s.Severity.UpdateCadence() == 0 {
			s.NextUpdateAt = time.Time{}
		}
		if !s.NextUpdateAt.IsZero() && !now.Before(s.NextUpdateAt) && s.Updates.ByPeople {
			inc.updateDue(now)
		} else if !s.NextUpdateAt.IsZero() && !now.Before(s.NextUpdateAt) {
			inc.postKind(workflows.NotifyStatusUpdate, fmt.Sprintf("status update: %s %s", s.Severity, s.State), inc.details())
			inc.record(now, "datasev", workflows.KindTimer, "status update posted ("+s.Severity.UpdateCadence().String()+" cadence)", "")
			s.NextUpdateAt = now.Add(s.Severity.UpdateCadence())
		}
	}
	if c := &s.Closure; s.State == workflows.Resolved && c.Enabled && !c.Complete() && !c.NextReminder.IsZero() &&
		!now.Before(c.NextReminder) && now.Before(c.Deadline) {
		c.Reminders++
		c.NextReminder = now.Add(closureReminder(inc.in.Options))
		to := cmp.Or(s.Roles.Scribe, s.Roles.Commander)
		if c.Reminders > 1 {
			to = s.Roles.Commander // the Scribe was reminded already
		}
		inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("closure reminder %d: still missing %s", c.Reminders, inc.missingClosure()), "")
		inc.page(to, "postmortem inputs still missing: "+s.Title, fmt.Sprintf("Add %s by %s.", inc.missingClosure(), c.Deadline.Format(time.RFC3339)))
	}
	if s.State == workflows.Resolved && !now.Before(inc.closeAt()) {
		s.ClosedAt = now
		why := fmt.Sprintf("no recurrence within %s of resolution", closeAfter(inc.in.Options))
		switch {
		case s.Closure.Enabled && s.Closure.Complete():
			why += "; closure inputs complete"
		case s.Closure.Enabled:
			why += "; the closure deadline passed with " + inc.missingClosure() + " missing"
		}
		inc.transition(now, workflows.Closed, "datasev", why)
		inc.post("incident closed: "+s.Title, inc.details())
	}
}

// startHandoff posts the handoff summary and pages the next Commander, or
// rolls the shift over when the same person commands the next shift.
func (inc *incident) startHandoff(ctx workflow.Context, now time.Time) {
	s := &inc.s
	next, err := inc.onDuty(ctx, s.ShiftEnd)
	if err != nil {
		inc.record(now, "datasev", workflows.KindSystem, "cannot work out the next shift", err.Error())
		s.ShiftEnd = time.Time{}
		return
	}
	next, reads := inc.readDuty(ctx, s.ShiftEnd, next)
	inc.recordDuty(now, reads)
	if !s.State.Open() || s.Handoff != nil {
		return // closed, or handed off, while the activity ran
	}
	if next.Shift.Commander == s.Roles.Commander {
		inc.record(now, "datasev", workflows.KindSystem, fmt.Sprintf("%s shift ends; %s commands the %s shift too, no handoff needed", s.ShiftName, s.Roles.Commander, next.Shift.Name), "")
		s.ShiftName, s.ShiftEnd, s.Secondary = next.Shift.Name, next.End, next.Shift.Secondary
		return
	}
	s.Handoff = &workflows.Handoff{
		From:          s.Roles.Commander,
		To:            next.Shift.Commander,
		Backup:        next.Shift.Secondary,
		ShiftEnd:      s.ShiftEnd,
		Deadline:      s.ShiftEnd.Add(inc.in.Roster.Grace()),
		NextShift:     next.Shift.Name,
		NextShiftEnd:  next.End,
		NextSecondary: next.Shift.Secondary,
	}
	inc.record(now, "datasev", workflows.KindTimer, fmt.Sprintf("%s shift ends at %s: handoff summary posted, paging %s", s.ShiftName, s.ShiftEnd.Format("15:04 MST"), next.Shift.Commander), "")
	inc.postKind(workflows.NotifyHandoffSummary, fmt.Sprintf("handoff: %s → %s", s.Roles.Commander, next.Shift.Commander), inc.details())
	inc.page(next.Shift.Commander, "handoff: take command of "+s.Title, fmt.Sprintf("The %s shift ends at %s. Accept the handoff by %s.", s.ShiftName, s.ShiftEnd.Format(time.RFC3339), s.Handoff.Deadline.Format(time.RFC3339)))
}

// transition moves the lifecycle and records why.
func (inc *incident) transition(now time.Time, to workflows.State, who, why string) {
	from := inc.s.State
	if from == to {
		return
	}
	inc.s.State = to
	inc.record(now, who, workflows.KindTransition, fmt.Sprintf("%s → %s", from, to), why)
}

// record appends a timeline entry.
func (inc *incident) record(at time.Time, who, kind, what, why string) {
	inc.recordVia(at, who, "", kind, what, why)
}

// recordVia appends a timeline entry for an act that came through a channel
// (cli, slack, ui).
func (inc *incident) recordVia(at time.Time, who, via, kind, what, why string) {
	inc.s.Timeline = append(inc.s.Timeline, workflows.TimelineEntry{At: at, Who: who, Via: via, Kind: kind, What: what, Why: why})
}

// recordAct appends a timeline entry for an act, with how its actor was
// verified.
func (inc *incident) recordAct(at time.Time, act workflows.Act, verified, what string) {
	inc.s.Timeline = append(inc.s.Timeline, workflows.TimelineEntry{At: at, Who: act.By, Via: act.Via, Verified: verified, Kind: workflows.KindAct, What: what, Why: act.Reason})
}

// page queues a page for one person.
func (inc *incident) page(to, subject, body string) {
	if to == "" {
		return
	}
	inc.s.Outbox = append(inc.s.Outbox, workflows.Notification{
		Kind: workflows.NotifyPage, Incident: inc.s.ID, Severity: string(inc.s.Severity), To: to, Subject: subject, Body: body,
	})
}

// pageApproval queues a page asking to decide on ap, carrying the approval's
// reference so a chat backend can offer Approve and Deny buttons.
func (inc *incident) pageApproval(to string, ap workflows.Approval, subject, body string) {
	if to == "" {
		return
	}
	inc.s.Outbox = append(inc.s.Outbox, workflows.Notification{
		Kind: workflows.NotifyPage, Incident: inc.s.ID, Severity: string(inc.s.Severity), To: to, Subject: subject, Body: body,
		Approval: &workflows.ApprovalRef{ID: ap.ID, Action: ap.Action, Approver: string(ap.Approver), Deadline: ap.Deadline},
	})
}

// post queues a post to the incident's channel.
func (inc *incident) post(subject, body string) { inc.postKind(workflows.NotifyPost, subject, body) }

func (inc *incident) postKind(kind workflows.NotifyKind, subject, body string) {
	inc.s.Outbox = append(inc.s.Outbox, workflows.Notification{
		Kind: kind, Incident: inc.s.ID, Severity: string(inc.s.Severity), Subject: subject, Body: body,
	})
}

// remember appends id to a list of the last legacySeenIDs IDs: the memory of
// incidents that predate workflows.SeenIDs.
func remember(ids []string, id string) []string {
	ids = append(ids, id)
	if len(ids) > legacySeenIDs {
		ids = slices.Clone(ids[len(ids)-legacySeenIDs:])
	}
	return ids
}

// result answers an Update.
func (inc *incident) result(msg string) workflows.ActResult {
	return workflows.ActResult{Incident: inc.s.ID, State: inc.s.State, Severity: inc.s.Severity, Message: msg}
}
