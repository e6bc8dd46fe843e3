package incident

import (
	"cmp"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// publicOptions are the status page activities' options: a few quick
// tries, so the Liaison hears at once whether it worked.
func publicOptions(ctx workflow.Context, what string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 3},
		Summary:             what,
	})
}

// publishStatus publishes the wording the Liaison or the Commander
// approved (by sending it) on the status page, and answers where.
func (inc *incident) publishStatus(ctx workflow.Context, act workflows.Act, verified string) string {
	s := &inc.s
	status := act.Action
	if status == "" {
		status = "investigating"
		switch s.State {
		case workflows.Mitigating:
			status = "identified"
		case workflows.Monitoring:
			status = "monitoring"
		}
	}
	req := workflows.StatuspagePublishRequest{Incident: s.ID, Name: s.Title, Status: status, Body: act.Note}
	if s.Service != "" {
		if c := componentStatus(s.Severity); c != "" {
			req.Components = map[string]string{s.Service: c}
		}
	}
	var res workflows.StatuspageResult
	err := workflow.ExecuteActivity(publicOptions(ctx, "publish status "+status+" for "+s.ID), workflows.StatuspagePublishActivity, req).Get(ctx, &res)
	now := workflow.Now(ctx)
	if err != nil {
		inc.s.Timeline = append(inc.s.Timeline, workflows.TimelineEntry{At: now, Who: act.By, Via: act.Via, Verified: verified, Kind: workflows.KindAct,
			What: "public status (" + status + ") approved but not published", Why: err.Error()})
		return "not published: " + err.Error()
	}
	s.Public = workflows.PublicStatus{ID: res.ID, URL: res.URL, Status: status}
	inc.recordAct(now, act, verified, fmt.Sprintf("public status %s published (%s): %s", status, cmp.Or(res.URL, res.ID), act.Note))
	inc.post("public status "+status+": "+s.Title, act.Note+"\n\n"+cmp.Or(res.URL, ""))
	return "published on the status page: " + cmp.Or(res.URL, res.ID)
}

// resolvePublic resolves the public incident when the incident is
// resolved.
func (inc *incident) resolvePublic(ctx workflow.Context, why string) {
	s := &inc.s
	req := workflows.StatuspageResolveRequest{Incident: s.ID, Body: cmp.Or(why, "Resolved.")}
	var res workflows.StatuspageResult
	err := workflow.ExecuteActivity(publicOptions(ctx, "resolve the public incident of "+s.ID), workflows.StatuspageResolveActivity, req).Get(ctx, &res)
	now := workflow.Now(ctx)
	if err != nil {
		inc.record(now, "datasev", workflows.KindSystem, "public incident could not be resolved", err.Error())
		return
	}
	s.Public.Status = "resolved"
	inc.record(now, "datasev", workflows.KindSystem, "public incident resolved ("+cmp.Or(s.Public.URL, s.Public.ID)+")", "")
}

// componentStatus is the public status of the incident's service by
// severity.
func componentStatus(sev workflows.Severity) string {
	switch sev {
	case workflows.SEV1:
		return "major_outage"
	case workflows.SEV2:
		return "partial_outage"
	case workflows.SEV3, workflows.SEV4:
		return "degraded_performance"
	}
	return ""
}
