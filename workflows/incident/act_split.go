package incident

import (
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The split act: the Commander gives one alert of a grouped incident (an
// alert storm, an Alertmanager group, a label set) an incident of its own.
// The new incident starts as its own top-level workflow (a child the
// grouped incident abandons: it outlives it), keyed by the alert's own key,
// so the intake sends the alert's later deliveries there.

func checkSplit(inc *incident, _ string, act workflows.Act) error {
	s := &inc.s
	if err := inc.commanderOnly(act.By, "split an alert out"); err != nil {
		return err
	}
	if s.Group == "" {
		return fmt.Errorf("incident %s groups no alerts; there is nothing to split out", s.ID)
	}
	if act.Member == "" {
		return errors.New("which alert? set member to its key, as the status lists it")
	}
	i := inc.memberIndex(act.Member)
	if i < 0 {
		return fmt.Errorf("no alert %q in this incident's group (the status lists %d)", truncate(act.Member, 80), len(s.Members))
	}
	if to := s.Members[i].SplitTo; to != "" {
		return fmt.Errorf("alert %q was already split out to %s", act.Member, to)
	}
	return nil
}

func applySplit(inc *incident, ctx workflow.Context, e actEvent) string {
	s := &inc.s
	m := &s.Members[inc.memberIndex(e.act.Member)]
	id := workflows.WorkflowID(m.Key)
	m.SplitTo = id
	inc.note(e, fmt.Sprintf("split out %s (%s) to its own incident %s", m.Title, m.Key, id))
	in := workflows.IncidentInput{
		Alert: workflows.Alert{
			ID: "split:" + s.ID + ":" + m.Key, Source: m.Source, Title: m.Title, DedupeKey: m.Key,
			Severity: s.Severity, Status: workflows.Firing, Service: s.Service, Dataset: s.Dataset, ReceivedAt: e.now,
		},
		Roster:    inc.in.Roster,
		Options:   inc.in.Options,
		SplitFrom: s.ID,
	}
	// A runbook chosen for the group (grouping by label set or
	// Alertmanager group) runs for the split-out alert too; a storm has
	// none.
	if s.Group != workflows.GroupStorm {
		in.Runbook, in.RunbookSpec = inc.in.Runbook, inc.in.RunbookSpec
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         fmt.Sprintf("%s, split out of %s", m.Title, s.ID),
		RetryPolicy:           &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	f := workflow.ExecuteChildWorkflow(cctx, workflows.IncidentWorkflowName, in)
	inc.splitting++
	key := m.Key
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { inc.splitting--; inc.kick.SendAsync(struct{}{}) }()
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		now := workflow.Now(ctx)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		switch {
		case err == nil:
			inc.record(now, "datasev", workflows.KindSystem, "incident "+id+" opened for "+key+"; its later alerts go there", "")
			inc.post("split out: "+key, "The alert "+key+" has its own incident now: "+id+".")
		case errors.As(err, &started):
			inc.record(now, "datasev", workflows.KindSystem, "alert "+key+" already has an open incident, "+id+"; its later alerts go there", "")
		default:
			if i := inc.memberIndex(key); i >= 0 {
				inc.s.Members[i].SplitTo = ""
			}
			inc.record(now, "datasev", workflows.KindSystem, "could not split out "+key, err.Error())
			inc.page(inc.s.Roles.Commander, "split failed: "+inc.s.Title, err.Error())
		}
	})
	return "splitting out " + key + " to " + id
}

// truncate cuts s to n bytes for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
