package oncallstore_test

import (
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	oncallact "github.com/datasev/datasev/activities/lifecycle/oncall"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/oncallstore"
)

// An override is dropped once it ends; a store whose worker has no roster
// refuses every override, saying why.
func TestStorePrunesEndedOverrides(t *testing.T) {
	tm := newTeam(t)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(oncallstore.Workflow, workflow.RegisterOptions{Name: oncall.StoreWorkflowName})
	a := &oncallact.Activities{Roster: &tm.roster}
	env.RegisterActivityWithOptions(a.RosterOf, activity.RegisterOptions{Name: oncall.RosterActivityName})
	start := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	count := func() int {
		t.Helper()
		v, err := env.QueryWorkflow(oncall.QueryOverrides)
		if err != nil {
			t.Fatal(err)
		}
		var list []oncall.Override
		if err := v.Get(&list); err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	env.RegisterDelayedCallback(func() {
		act := oncallstore.Act("bob", oncall.Override{Role: oncall.RoleCommander, Person: "bob", From: env.Now().Add(time.Hour), Until: env.Now().Add(3 * time.Hour)})
		signer := tm.signers["bob"].WithClock(env.Now)
		if err := signer.Sign(oncall.StoreWorkflowID(tm.roster.Team), oncall.UpdateSetOverride, &act); err != nil {
			t.Fatal(err)
		}
		env.UpdateWorkflow(oncall.UpdateSetOverride, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("refused: %v", err) },
			OnAccept: func() {},
			OnComplete: func(_ any, err error) {
				if err != nil {
					t.Errorf("failed: %v", err)
				}
			},
		}, act)
		unsigned := oncallstore.Act("bob", oncall.Override{Role: oncall.RoleCommander, Person: "bob", From: env.Now().Add(time.Hour), Until: env.Now().Add(3 * time.Hour)})
		unsigned.ID = "u2"
		env.UpdateWorkflow(oncall.UpdateSetOverride, "u2", &testsuite.TestUpdateCallback{
			OnReject:   func(error) {},
			OnAccept:   func() { t.Error("an unsigned override was accepted") },
			OnComplete: func(any, error) {},
		}, unsigned)
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		if n := count(); n != 1 {
			t.Errorf("%d overrides after the update, want 1", n)
		}
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		if n := count(); n != 0 {
			t.Errorf("%d overrides after it ended, want 0", n)
		}
		env.CancelWorkflow()
	}, 4*time.Hour)
	env.ExecuteWorkflow(oncall.StoreWorkflowName, oncallstore.Input{Team: tm.roster.Team})
	if !env.IsWorkflowCompleted() {
		t.Fatal("store did not stop")
	}
}
