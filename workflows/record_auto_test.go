package workflows_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/lifecycle/autobudget"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// TestRecordAutoHistory records, on the real dev server, an incident whose
// runbook remediation is approved by a policy (the budget asked through
// the real budget workflow), whose Commander then pauses and resumes
// automatic approvals, whose Slack channel reaches the timeline (a message
// and a pin, signed by the Slack app vouching for the Slack user), and
// which is resolved and closed: the markers auto-approval and channel-log
// in a recorded history. Every deciding act is signed (the roster's default
// trust policy). It writes auto-walkthrough-incident-runN.json and
// auto-walkthrough-runbook-run1.json.
func TestRecordAutoHistory(t *testing.T) {
	if os.Getenv("DATASEV_RECORD_HISTORY") == "" {
		t.Skip("set DATASEV_RECORD_HISTORY=1 to record new histories")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"state":"healthy"}`)
	}))
	defer srv.Close()

	// The budget workflow and its activity on the incident's own queue,
	// as the worker registers them.
	budget := &autobudget.Activities{}
	c, queue := devClient(t, func(r registrar) {
		reg, ok := r.(worker.Registry)
		if !ok {
			t.Fatalf("the test worker (%T) cannot register workflows", r)
		}
		autobudget.Register(reg, budget)
	})
	budget.Client, budget.TaskQueue = c, queue
	ctx := context.Background()

	no := false
	rb := runbooks.Runbook{Name: "orders-load", Description: "orders load failed", Owner: "data-platform", Steps: []runbooks.Step{
		{ID: "health", Check: &runbooks.Call{Action: "core.http", With: map[string]any{"url": "${ alert.labels.health_url }"}}},
		{ID: "rerun", Description: "re-check the loader", Remediate: &runbooks.Remediation{
			Call: runbooks.Call{Action: "core.http", With: map[string]any{"url": "${ alert.labels.health_url }"}}, DryRun: &no,
			Approval: runbooks.Gate{Timeout: runbooks.Duration(10 * time.Minute),
				Auto: &runbooks.AutoApproval{Policy: "reload-once", When: "steps.health.status == 'ok'", MaxPerDay: 3, SeverityAtMost: "SEV3"}}}},
	}}
	r, k := strictRoster(t)
	in := input(t, workflows.SEV3)
	in.Roster = r
	in.Alert.Labels = map[string]string{"health_url": srv.URL + "/health"}
	in.Options = workflows.Options{CloseAfter: 2 * time.Second}
	in.Runbook, in.RunbookSpec = rb.Name, &rb
	run := startIncidentWith(t, c, queue, "auto-walkthrough", in)
	id := run.GetID()

	// alice's acts, signed with her key; erin's with hers.
	by := map[string]signer{"alice": k.alice, "erin": k.erin}
	act := func(name string, a workflows.Act) workflows.ActResult {
		t.Helper()
		a = by[a.By].sign(a, id, name, by[a.By].fp, "", time.Now())
		res, err := incidents.Act(ctx, c, id, name, a)
		if err != nil {
			t.Fatalf("%s by %s: %v", name, a.By, err)
		}
		return res
	}
	// A channel act as the Slack app sends it: an Update signed as
	// service slack for the Slack user it verified.
	channel := func(name, person string, m workflows.ChannelMessage) workflows.ActResult {
		t.Helper()
		a := k.slack.sign(workflows.Act{By: person, Via: "slack", ID: m.ActID(), Channel: &m}, id, name, "service:slack", "slack:"+m.User, time.Now())
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateID: a.ID, UpdateName: name, Args: []any{a}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			t.Fatalf("%s by %s: %v", name, person, err)
		}
		var res workflows.ActResult
		if err := h.Get(ctx, &res); err != nil {
			t.Fatalf("%s by %s: %v", name, person, err)
		}
		return res
	}

	act(workflows.ActAcknowledge, workflows.Act{By: "alice"})
	st := waitStatus(t, c, id, "the runbook to complete", func(st workflows.Status) bool { return st.RunbookStatus == "completed" })
	if len(st.PendingApprovals) != 0 {
		t.Fatalf("pending approvals %+v: the policy should have decided", st.PendingApprovals)
	}
	tl, err := incidents.Timeline(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"auto-approved by policy reload-once: orders-load/rerun", "remediate rerun ok: approved by policy reload-once"} {
		if _, ok := find(tl, want); !ok {
			t.Fatalf("no %q in the timeline: %+v", want, tl)
		}
	}

	if res := act(workflows.ActPauseAuto, workflows.Act{By: "alice", Reason: "month end: hands only"}); !strings.Contains(res.Message, "paused") {
		t.Fatalf("pause_auto: %q", res.Message)
	}
	if res := act(workflows.ActResumeAuto, workflows.Act{By: "alice", Reason: "month end done"}); !strings.Contains(res.Message, "resumed") {
		t.Fatalf("resume_auto: %q", res.Message)
	}

	said := workflows.ChannelMessage{Event: workflows.ChannelPosted, Channel: "C0INC", TS: "1780000001.000100", User: "U05ERIN", Text: "upstream added a column to orders.csv"}
	if res := channel(workflows.ActChannelMessage, "erin", said); !strings.Contains(res.Message, "channel message posted") {
		t.Fatalf("channel_message: %q", res.Message)
	}
	pin := workflows.ChannelMessage{Event: workflows.ChannelPinned, Channel: "C0INC", TS: said.TS, User: "U01ALICE"}
	if res := channel(workflows.ActChannelPin, "alice", pin); !strings.Contains(res.Message, "finding added") {
		t.Fatalf("channel_pin: %q", res.Message)
	}

	act(workflows.ActRootCause, workflows.Act{By: "erin", Note: "upstream added a column to orders.csv"})
	act(workflows.ActActionItem, workflows.Act{By: "alice", Note: "validate landing file schemas", Person: "erin"})
	act(workflows.ActResolve, workflows.Act{By: "alice", Reason: "loads green"})
	var snap workflows.Snapshot
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if snap.State != workflows.Closed {
		t.Fatalf("incident %s, want closed", snap.State)
	}
	writeHistories(t, c, id, run.GetRunID(), "auto-walkthrough-incident")
	child := c.GetWorkflow(ctx, id+"/runbook", "")
	if err := child.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	writeHistories(t, c, id+"/runbook", child.GetRunID(), "auto-walkthrough-runbook")
}
