package incident

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// versionMonitorAfterRunbook is the change ID of moving the incident to
// monitoring when its runbook completes after a remediation.
const versionMonitorAfterRunbook = "monitor-after-runbook"

// startRunbook starts the incident's runbook as a child workflow. The child
// outlives continue-as-new (parent close policy abandon) and talks to the
// incident by workflow ID, so a new run picks the conversation up; the
// incident cancels it on resolution.
func (inc *incident) startRunbook(ctx workflow.Context) {
	spec := inc.in.RunbookSpec
	if spec == nil || inc.s.RunbookStatus != "" {
		return
	}
	inc.s.RunbookStatus = "starting"
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        workflows.RunbookID(inc.s.ID),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:     fmt.Sprintf("runbook %s for %s", spec.Name, inc.s.ID),
	})
	in := workflows.RunbookInput{Incident: inc.s.ID, Runbook: *spec, Alert: inc.in.Alert, Severity: inc.s.Severity, Sealed: inc.s.Trust.Enabled}
	f := workflow.ExecuteChildWorkflow(cctx, workflows.RunbookWorkflowName, in)
	workflow.Go(ctx, func(ctx workflow.Context) {
		var exec workflow.Execution
		err := f.GetChildWorkflowExecution().Get(ctx, &exec)
		if err == nil && in.Sealed {
			inc.s.Trust.RunbookRun = exec.RunID
		}
		if err != nil {
			now := workflow.Now(ctx)
			inc.s.RunbookStatus = "failed to start"
			inc.record(now, "datasev", workflows.KindSystem, "runbook "+spec.Name+" could not start", err.Error())
			inc.page(inc.s.Roles.Commander, "runbook did not start: "+inc.s.Title, err.Error())
			inc.kick.SendAsync(struct{}{})
		}
	})
}

// runbookEvent applies what the runbook reports.
func (inc *incident) runbookEvent(ctx workflow.Context, ev workflows.RunbookEvent) {
	s := &inc.s
	if s.Trust.Enabled {
		if why := inc.checkEvent(ctx, ev); why != "" {
			inc.rejectInternal(workflow.Now(ctx), fmt.Sprintf("%s (signal, kind %q, runbook %q) rejected", workflows.SignalRunbookEvent, ev.Kind, ev.Runbook), why)
			return
		}
	}
	now := workflow.Now(ctx)
	who := "runbook " + ev.Runbook
	switch ev.Kind {
	case "rejected":
		inc.record(now, who, workflows.KindRejected, ev.Message, "")
	case "started":
		s.RunbookStatus = "running"
		inc.record(now, who, workflows.KindSystem, "runbook "+ev.Runbook+" started", ev.Message)
	case "step":
		st := ev.Step
		if st == nil {
			return
		}
		what := fmt.Sprintf("%s %s %s", st.Kind, st.ID, st.Status)
		if st.Summary != "" {
			what += ": " + st.Summary
		}
		inc.record(now, who, workflows.KindFinding, what, st.Error)
		if st.Status == workflows.StepOK && st.Summary != "" && (st.Kind == "check" || st.Kind == "verify") {
			inc.finding(st.ID + ": " + st.Summary)
		}
		if st.Status == workflows.StepFailed {
			inc.finding(st.ID + " failed: " + cmp.Or(st.Error, st.Summary))
		}
	case "approval":
		a := ev.Approval
		if a == nil || inc.approval(a.ID) != nil {
			return // a redelivered request
		}
		ap := workflows.Approval{
			ID: a.ID, Action: a.Action, Detail: a.Detail, Covers: a.Covers, Approver: a.Role, RequestedBy: who,
			RequestedAt: now, Deadline: now.Add(a.Timeout), Status: workflows.ApprovalPending,
			FromRunbook: true, OnTimeout: a.OnTimeout,
		}
		if !s.State.Open() {
			ap.Status, ap.DecidedBy, ap.DecidedAt, ap.Reason = workflows.ApprovalDenied, "datasev", now, "incident already resolved"
			s.Approvals = append(s.Approvals, ap)
			inc.relay(ap)
			return
		}
		if inc.autoApprove(ctx, who, a, &ap) { // act_pause_auto.go
			return
		}
		s.Approvals = append(s.Approvals, ap)
		inc.record(now, who, workflows.KindAct, fmt.Sprintf("requested approval %s: %s", ap.ID, ap.Action), "")
		inc.pageApproval(inc.holder(ap.Approver), ap, "approval needed: "+ap.Action,
			fmt.Sprintf("Runbook %s waits for approval %s. Decide by %s.\n\n%s", ev.Runbook, ap.ID, ap.Deadline.Format(time.RFC3339), ap.Detail))
	case "page":
		p := ev.Page
		if p == nil {
			return
		}
		to := p.Person
		if to == "" {
			to = inc.holder(p.Role)
		}
		inc.record(now, who, workflows.KindNotify, "paged "+cmp.Or(to, "nobody (no "+string(p.Role)+" on the incident)")+": "+p.Message, "")
		inc.page(to, p.Message, strings.TrimSpace(p.Detail+"\n\nFrom runbook "+ev.Runbook+"."))
	case "escalate":
		inc.record(now, who, workflows.KindSystem, "runbook escalates: "+ev.Message, "")
		if s.Secondary != "" {
			inc.page(s.Secondary, "runbook escalated: "+s.Title, ev.Message)
		}
		inc.page(s.Roles.Commander, "runbook escalated: "+s.Title, ev.Message)
	case "finished":
		s.RunbookStatus = ev.Status
		inc.record(now, who, workflows.KindSystem, "runbook "+ev.Runbook+" "+ev.Message, "")
		inc.post(fmt.Sprintf("runbook %s %s", ev.Runbook, ev.Status), ev.Message)
		// A runbook that completed after an approved remediation has
		// confirmed the fix (its verify steps passed): the incident moves on
		// to monitoring. Incidents started before this rule keep their old
		// course on replay.
		if ev.Status == "completed" && s.State == workflows.Mitigating &&
			(s.Versions >= 1 || workflow.GetVersion(ctx, versionMonitorAfterRunbook, workflow.DefaultVersion, 1) == 1) {
			inc.transition(now, workflows.Monitoring, who, "the runbook's remediation is confirmed; watching before resolving")
		}
	}
}

// checkEvent says why a runbook event must be refused, or "" to take it:
// it must be sealed by this incident's runbook run, next in its sequence.
func (inc *incident) checkEvent(ctx workflow.Context, ev workflows.RunbookEvent) string {
	t := &inc.s.Trust
	if ev.Seal == nil {
		return "not sealed by the incident's runbook (runbook events come only from it)"
	}
	if t.RunbookRun == "" && inc.s.RunbookStatus == "starting" {
		// The child's first event can come before its start is known here.
		_ = workflow.Await(ctx, func() bool { return t.RunbookRun != "" || inc.s.RunbookStatus != "starting" })
	}
	switch {
	case t.RunbookRun == "":
		return "this incident has no runbook running"
	case ev.Seal.Run != t.RunbookRun:
		return "sealed for another runbook run"
	case ev.Seal.Seq <= t.RunbookSeq:
		return fmt.Sprintf("a replay: event %d was already taken (the last was %d)", ev.Seal.Seq, t.RunbookSeq)
	}
	if !workflows.CheckSeal(ctx, workflows.EventMessage(inc.s.ID, t.RunbookRun, ev.Seal.Seq, ev), ev.Seal.MAC) {
		return "its seal does not verify: not sent by the incident's runbook"
	}
	t.RunbookSeq = ev.Seal.Seq
	return ""
}

// rejectInternal records a refused internal message; beyond
// MaxRejectedRecorded they are only counted.
func (inc *incident) rejectInternal(now time.Time, what, why string) {
	t := &inc.s.Trust
	t.Rejected++
	switch {
	case t.Rejected < workflows.MaxRejectedRecorded:
		inc.record(now, "unknown", workflows.KindRejected, what, why)
	case t.Rejected == workflows.MaxRejectedRecorded:
		inc.record(now, "unknown", workflows.KindRejected, what, why+"; further forged messages are refused and only counted (status: rejected_messages)")
	}
}

// holder returns who holds a role now (the first SME for sme).
func (inc *incident) holder(r workflows.Role) string {
	switch r {
	case workflows.Commander:
		return inc.s.Roles.Commander
	case workflows.Scribe:
		return inc.s.Roles.Scribe
	case workflows.Liaison:
		return inc.s.Roles.Liaison
	case workflows.SME:
		if len(inc.s.Roles.SMEs) > 0 {
			return inc.s.Roles.SMEs[0]
		}
	case "secondary":
		return inc.s.Secondary
	}
	return ""
}

// finding keeps the latest findings for the status.
func (inc *incident) finding(f string) {
	inc.s.Findings = append(inc.s.Findings, f)
	if len(inc.s.Findings) > maxFindings {
		inc.s.Findings = append([]string(nil), inc.s.Findings[len(inc.s.Findings)-maxFindings:]...)
	}
}

// relay queues a runbook approval's decision for the runbook.
func (inc *incident) relay(ap workflows.Approval) {
	if !ap.FromRunbook || ap.Status == workflows.ApprovalPending {
		return
	}
	inc.s.Relay = append(inc.s.Relay, workflows.ApprovalDecision{ID: ap.ID, Approved: ap.Status == workflows.ApprovalApproved, By: ap.DecidedBy, Reason: ap.Reason, Verified: ap.DecisionVerified})
}

// relayLoop sends queued decisions, and the cancellation on resolution, to
// the runbook, in order.
func (inc *incident) relayLoop(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(inc.s.Relay) > 0 || inc.s.CancelRunbook }); err != nil {
			return
		}
		inc.relaying = true
		id := workflows.RunbookID(inc.s.ID)
		if len(inc.s.Relay) > 0 {
			d := inc.s.Relay[0]
			if run := inc.s.Trust.RunbookRun; inc.s.Trust.Enabled && run != "" {
				mac, err := workflows.SealMessage(ctx, workflows.DecisionMessage(id, run, d))
				if err != nil {
					inc.record(workflow.Now(ctx), "datasev", workflows.KindSystem, "decision on "+d.ID+" not sealed for the runbook", err.Error())
				}
				d.Seal = &workflows.Seal{Run: run, MAC: mac}
			}
			if err := workflow.SignalExternalWorkflow(ctx, id, "", workflows.SignalApprovalDecision, d).Get(ctx, nil); err != nil {
				inc.record(workflow.Now(ctx), "datasev", workflows.KindSystem, "decision on "+d.ID+" not delivered to the runbook", err.Error())
			}
			inc.s.Relay = inc.s.Relay[1:]
		} else {
			inc.s.CancelRunbook = false
			if err := workflow.RequestCancelExternalWorkflow(ctx, id, "").Get(ctx, nil); err == nil {
				if inc.s.RunbookStatus == "starting" || inc.s.RunbookStatus == "running" {
					inc.s.RunbookStatus = "cancelled"
				}
				inc.record(workflow.Now(ctx), "datasev", workflows.KindSystem, "runbook cancelled: the incident is resolved", "")
			}
		}
		inc.relaying = false
	}
}
