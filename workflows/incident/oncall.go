package incident

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// versionOnCallRead is the change ID of reading who is on call through the
// on-call activity (the roster's shift with the team's overrides applied,
// or PagerDuty's answer) at open and at each shift boundary, instead of
// taking the roster copy's shift alone. Incidents already running take it
// from their next shift boundary on; their histories replay without it.
const versionOnCallRead = "oncall-read"

// dutyRead is what the on-call activity changed, for the timeline.
type dutyRead struct {
	what, why string
}

// readDuty asks the on-call activity who is on duty at at, starting from
// the roster copy's shift duty, and returns duty with the roles the answer
// fills. A person the answer names who is not on the incident's roster
// cannot act on it, so that role keeps the roster's holder. When the
// activity fails after its retries, duty is returned as it is and the
// failure is reported. The returned entries go to the timeline.
func (inc *incident) readDuty(ctx workflow.Context, at time.Time, duty oncall.OnDuty) (oncall.OnDuty, []dutyRead) {
	if workflow.GetVersion(ctx, versionOnCallRead, workflow.DefaultVersion, 1) != 1 {
		return duty, nil
	}
	r := &inc.in.Roster
	// The shift's times carry the team zone's offset (as the side effect
	// recorded them): no zone lookup in the workflow.
	local := at.In(duty.Start.Location()).Format("Mon 15:04 -07:00")
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		// A worker without the activity (mid-upgrade) falls back at once.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: []string{"ActivityNotRegisteredError"}},
		Summary: "who is on call at " + local,
	})
	var d oncall.Duty
	err := workflow.ExecuteActivity(actx, oncall.DutyActivityName, oncall.DutyRequest{Team: r.Team, At: at, Shift: duty.Shift}).Get(ctx, &d)
	if err != nil {
		return duty, []dutyRead{{
			what: fmt.Sprintf("could not read who is on call at %s: using the roster's %s shift", local, duty.Shift.Name),
			why:  err.Error(),
		}}
	}
	var out []dutyRead
	for _, n := range d.Notes {
		out = append(out, dutyRead{what: "on call at " + local + ": " + n})
	}
	shift := duty.Shift
	for _, c := range []struct {
		role     string
		dst, got *string
	}{
		{oncall.RoleCommander, &shift.Commander, &d.Shift.Commander},
		{oncall.RoleSecondary, &shift.Secondary, &d.Shift.Secondary},
		{oncall.RoleScribe, &shift.Scribe, &d.Shift.Scribe},
		{oncall.RoleLiaison, &shift.Liaison, &d.Shift.Liaison},
	} {
		if *c.got == *c.dst {
			continue
		}
		if _, ok := r.Person(*c.got); !ok || *c.got == "" {
			out = append(out, dutyRead{what: fmt.Sprintf("on call at %s: %s %q is not on this incident's roster: keeping %s", local, c.role, *c.got, orNone(*c.dst))})
			continue
		}
		*c.dst = *c.got
	}
	answer := oncall.Duty{Shift: shift}
	if changes := answer.Changes(duty.Shift); len(changes) > 0 {
		var by []string
		for _, o := range d.Overrides {
			by = append(by, o.String()+reasonSuffix(o.Reason))
		}
		how := "by override"
		if d.Source == "pagerduty" {
			how = "per PagerDuty"
		}
		out = append(out, dutyRead{what: fmt.Sprintf("on call at %s %s: %s", local, how, strings.Join(changes, ", ")), why: strings.Join(by, "; ")})
	}
	duty.Shift = shift
	return duty, out
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " — " + r
}

// recordDuty writes what readDuty reported to the timeline.
func (inc *incident) recordDuty(now time.Time, reads []dutyRead) {
	for _, r := range reads {
		inc.record(now, "datasev", workflows.KindSystem, r.what, r.why)
	}
}

// readOpeningDuty reads who is on call at the incident's opening, once
// the handlers are registered (queries and acts are answered while the
// activity runs) and before the first notification is delivered. When
// the answer names other people than the roster copy did, and no act has
// changed the roles meanwhile, the roles follow the answer and the queued
// acknowledge page goes to the effective Commander instead.
func (inc *incident) readOpeningDuty(ctx workflow.Context) {
	opened := inc.openedBy
	inc.openedBy = nil
	if opened == nil {
		return
	}
	s := &inc.s
	duty, reads := inc.readDuty(ctx, s.TriggeredAt, *opened)
	now := workflow.Now(ctx)
	inc.recordDuty(now, reads)
	was := opened.Shift
	if s.State != workflows.Triggered || s.Roles.Commander != was.Commander {
		if duty.Shift.Commander != was.Commander {
			inc.record(now, "datasev", workflows.KindSystem, fmt.Sprintf("roles stay as they are: they changed while on call was being read (%s is Commander)", s.Roles.Commander), "")
		}
		return
	}
	oldCommander := s.Roles.Commander
	s.Roles.Commander = duty.Shift.Commander
	if s.Roles.Scribe == was.Scribe {
		s.Roles.Scribe = duty.Shift.Scribe
	}
	if s.Roles.Liaison == was.Liaison {
		s.Roles.Liaison = duty.Shift.Liaison
	}
	if s.Secondary == was.Secondary {
		s.Secondary = duty.Shift.Secondary
	}
	if oldCommander == s.Roles.Commander {
		return
	}
	for i := range s.Outbox {
		n := &s.Outbox[i]
		if n.Kind == workflows.NotifyPage && n.To == oldCommander && strings.HasPrefix(n.Subject, "acknowledge: ") {
			n.To = s.Roles.Commander
		}
		if n.Kind == workflows.NotifyPost && strings.HasPrefix(n.Subject, "incident opened: ") {
			n.Body = inc.details()
		}
	}
}
