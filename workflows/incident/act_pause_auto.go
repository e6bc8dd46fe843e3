package incident

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The pause_auto and resume_auto acts: the Commander stops (and restarts)
// automatic approvals by runbook policies in this incident; while paused,
// every remediation asks a person. The incident's side of an automatic
// approval (autoApprove) is here too.

func checkPauseAuto(inc *incident, name string, act workflows.Act) error {
	if err := inc.commanderOnly(act.By, "pause automatic approvals"); err != nil {
		return err
	}
	if a := inc.s.Auto; a.Paused {
		return fmt.Errorf("automatic approvals are already paused in %s (by %s at %s)", inc.s.ID, a.By, a.At.UTC().Format(time.RFC3339))
	}
	return checkAutoReason(act.Reason)
}

func checkResumeAuto(inc *incident, name string, act workflows.Act) error {
	if err := inc.commanderOnly(act.By, "resume automatic approvals"); err != nil {
		return err
	}
	if !inc.s.Auto.Paused {
		return fmt.Errorf("automatic approvals are not paused in %s; nothing to resume", inc.s.ID)
	}
	return checkAutoReason(act.Reason)
}

// checkAutoReason bounds the optional reason of a pause or resume.
func checkAutoReason(reason string) error {
	if len(reason) > workflows.MaxTextLen {
		return fmt.Errorf("reason: longer than %d bytes", workflows.MaxTextLen)
	}
	return nil
}

func applyPauseAuto(inc *incident, _ workflow.Context, e actEvent) string {
	inc.s.Auto = workflows.AutoState{Paused: true, By: e.act.By, At: e.now, Reason: e.act.Reason}
	inc.note(e, "paused automatic approvals: every remediation asks a person until resume_auto")
	inc.post("automatic approvals paused by "+e.act.By, e.act.Reason)
	return "automatic approvals paused"
}

func applyResumeAuto(inc *incident, _ workflow.Context, e actEvent) string {
	inc.s.Auto = workflows.AutoState{By: e.act.By, At: e.now, Reason: e.act.Reason}
	inc.note(e, "resumed automatic approvals by runbook policies")
	inc.post("automatic approvals resumed by "+e.act.By, e.act.Reason)
	return "automatic approvals resumed"
}

// versionAutoApproval is the change ID of automatic approvals by a
// runbook's policy (the incident's checks and the budget activity).
const versionAutoApproval = "auto-approval"

// autoApprove decides a runbook's approval request that names a policy:
// when the policy may decide it approves ap (not yet stored) and returns
// true; otherwise it records why not and returns false, and the request is
// put to a person as usual. Checks that cost nothing come first, so a
// request the policy may not decide never spends its budget.
func (inc *incident) autoApprove(ctx workflow.Context, who string, a *workflows.ApprovalRequest, ap *workflows.Approval) bool {
	auto := a.Auto
	if auto == nil || workflow.GetVersion(ctx, versionAutoApproval, workflow.DefaultVersion, 1) != 1 {
		return false
	}
	s := &inc.s
	policy := workflows.DecidedByPolicy(auto.Policy)
	why := auto.NotUsed
	switch {
	case why != "":
	case s.Auto.Paused:
		why = fmt.Sprintf("automatic approvals are paused in this incident (by %s)", s.Auto.By)
	case s.Severity.Rank() < auto.SeverityAtMost.Rank() || auto.SeverityAtMost.Rank() == 0:
		why = fmt.Sprintf("the incident is %s, more severe than the policy's %s", s.Severity, auto.SeverityAtMost)
	}
	var grant workflows.AutoBudgetResult
	if why == "" {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 5 * time.Second, MaximumAttempts: 3},
			Summary:             "auto-approval budget of " + policy + " for " + a.ID,
		})
		req := workflows.AutoBudgetRequest{Policy: auto.Policy, MaxPerDay: auto.MaxPerDay, Incident: s.ID, Approval: a.ID}
		err := workflow.ExecuteActivity(actx, workflows.AutoBudgetActivity, req).Get(ctx, &grant)
		switch {
		case err != nil:
			why = "its budget could not be checked: " + err.Error()
		case grant.Off:
			why = "automatic remediation is switched off on the worker (DATASEV_AUTO_REMEDIATION=off)"
		case !grant.Granted:
			why = grant.Reason
			if why == "" {
				why = fmt.Sprintf("budget of %d per day spent", auto.MaxPerDay)
			}
		}
	}
	now := workflow.Now(ctx)
	if why != "" {
		inc.record(now, who, workflows.KindSystem, fmt.Sprintf("auto-approval not used for %s (%s): %s", a.ID, policy, why), "")
		return false
	}
	if !s.State.Open() { // resolved while the budget was asked
		ap.Status, ap.DecidedBy, ap.DecidedAt, ap.Reason = workflows.ApprovalDenied, "datasev", now, "incident already resolved"
		s.Approvals = append(s.Approvals, *ap)
		inc.relay(*ap)
		return true
	}
	budget := fmt.Sprintf("%d of %d in the last 24 hours", grant.Used, grant.Max)
	ap.Status, ap.DecidedBy, ap.DecidedAt, ap.Reason = workflows.ApprovalApproved, policy, now, "budget "+budget
	ap.DecisionVerified = "runbook policy"
	s.Approvals = append(s.Approvals, *ap)
	inc.record(now, policy, workflows.KindAct, fmt.Sprintf("auto-approved by %s: %s: %s", policy, ap.ID, ap.Action), "no person asked; budget "+budget)
	if s.State == workflows.Acknowledged || s.State == workflows.Diagnosing || s.State == workflows.Triggered {
		if s.MitigatedAt.IsZero() {
			s.MitigatedAt = now
		}
		inc.transition(now, workflows.Mitigating, policy, "remediation "+ap.ID+" auto-approved")
	}
	inc.relay(*ap)
	inc.post(fmt.Sprintf("%s auto-approved by %s: %s", ap.ID, policy, ap.Action), "No person was asked; budget "+budget+". The Commander can stop this with pause_auto.")
	return true
}
