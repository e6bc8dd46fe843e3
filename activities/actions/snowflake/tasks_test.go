package snowflake_test

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

func registerTasks(sf *snowflake.Actions) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestActivityEnvironment()
	r := actions.NewRegistry()
	r.Add(
		actions.Typed(snowflake.ExecuteTaskSpec(), sf.ExecuteTask),
		actions.Typed(snowflake.ResumeTaskSpec(), sf.ResumeTask),
	)
	r.RegisterWith(e)
	return e
}

func taskPolicy(t *testing.T) *target.Policy {
	t.Helper()
	p, err := target.Parse(map[string]string{
		target.KeySnowflakeDatabases: "analytics",
		target.KeySnowflakeTasks:     "ANALYTICS.LOADS.*",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) runDry(t *testing.T, action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	val, err := f.env.ExecuteActivity(action, runbooks.ActionRequest{Incident: "orders-load", Step: "s", With: with, DryRun: true})
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func TestExecuteAndResumeTask(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.srv.AddTask("ANALYTICS.LOADS.LOAD_ORDERS", "suspended")
	f.env = registerTasks(snowflake.New(f.db).WithTargets(taskPolicy(t), "ANALYTICS"))

	res, err := f.run(t, snowflake.ResumeTaskName, "resume", map[string]any{"task": "analytics.loads.load_orders"})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := f.srv.TaskState("ANALYTICS.LOADS.LOAD_ORDERS"); st != "started" {
		t.Errorf("task state %q after resume", st)
	}
	if res.Output["statement"] != `ALTER TASK "ANALYTICS"."LOADS"."LOAD_ORDERS" RESUME` || res.Output["task"] != "ANALYTICS.LOADS.LOAD_ORDERS" {
		t.Errorf("output %v", res.Output)
	}

	res, err = f.run(t, snowflake.ExecuteTaskName, "rerun", map[string]any{"task": "ANALYTICS.LOADS.LOAD_ORDERS"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Output["status"].(string), "scheduled to run immediately") || res.Output["query_id"] == "" {
		t.Errorf("output %v", res.Output)
	}
	calls := f.srv.TaskCalls()
	if len(calls) != 2 || calls[0].Verb != "RESUME" || calls[1].Verb != "EXECUTE" || calls[1].SQL != `EXECUTE TASK "ANALYTICS"."LOADS"."LOAD_ORDERS"` {
		t.Errorf("task calls %+v", calls)
	}
	q := f.lastQuery(t, "EXECUTE TASK")
	if q.QueryTag != "datasev:orders-load:rerun" {
		t.Errorf("query tag %q", q.QueryTag)
	}

	// An unknown task is Snowflake's 002003, not retried.
	_, err = f.run(t, snowflake.ExecuteTaskName, "s", map[string]any{"task": "ANALYTICS.LOADS.NOPE"})
	nonRetryable(t, err, snowflake.NotFoundType, "002003", "does not exist")
}

func TestTaskDryRun(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.srv.AddTask("ANALYTICS.LOADS.LOAD_ORDERS", "started")
	f.env = registerTasks(snowflake.New(f.db).WithTargets(taskPolicy(t), "ANALYTICS"))
	res, err := f.runDry(t, snowflake.ExecuteTaskName, map[string]any{"task": "analytics.loads.load_orders"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["dry_run"] != true || !strings.Contains(res.Summary, `would run: EXECUTE TASK "ANALYTICS"."LOADS"."LOAD_ORDERS"`) {
		t.Errorf("dry run %q %v", res.Summary, res.Output)
	}
	if n := len(f.srv.TaskCalls()); n != 0 {
		t.Errorf("the dry run ran %d task statements", n)
	}
}

// Names outside the policy, malformed or injected names, and no policy at
// all never reach Snowflake.
func TestTaskTargetsRefused(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.srv.AddTask("ANALYTICS.LOADS.LOAD_ORDERS", "started")
	f.env = registerTasks(snowflake.New(f.db).WithTargets(taskPolicy(t), "ANALYTICS"))
	before := len(f.srv.Queries())
	for _, tc := range []struct {
		task, typ, says string
	}{
		{"ANALYTICS.OTHER.LOAD_ORDERS", target.RefusedType, "targets.snowflake.tasks"},
		{"PAYROLL.LOADS.LOAD_ORDERS", target.RefusedType, "targets.snowflake.databases"},
		{"LOADS.LOAD_ORDERS", snowflake.BadRequestType, "name it in full"},
		{"ANALYTICS.LOADS.LOAD_ORDERS; DROP TABLE X", snowflake.BadRequestType, "is not an identifier"},
		{`ANALYTICS.LOADS."LOAD_ORDERS"" RESUME; DROP TABLE X; --"`, target.RefusedType, "targets.snowflake.tasks"},
		{"ANALYTICS.LOADS.LOAD_ORDERS SUSPEND", snowflake.BadRequestType, "is not an identifier"},
	} {
		for _, action := range []string{snowflake.ExecuteTaskName, snowflake.ResumeTaskName} {
			_, err := f.run(t, action, "s", map[string]any{"task": tc.task})
			actiontest.NonRetryable(t, err, tc.typ, tc.says)
		}
	}
	// No target policy: remediations refuse.
	f.env = registerTasks(snowflake.New(f.db))
	_, err := f.run(t, snowflake.ExecuteTaskName, "s", map[string]any{"task": "ANALYTICS.LOADS.LOAD_ORDERS"})
	actiontest.NonRetryable(t, err, target.NoPolicyType)
	if n := len(f.srv.Queries()) - before; n != 0 {
		t.Errorf("%d statements reached Snowflake", n)
	}
	if n := len(f.srv.TaskCalls()); n != 0 {
		t.Errorf("%d task statements ran", n)
	}
}

// A quoted part is kept exactly and quoted again in the statement.
func TestQuotedTaskName(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.srv.AddTask("ANALYTICS.LOADS.load orders", "started")
	p, _ := target.Parse(map[string]string{target.KeySnowflakeDatabases: "*", target.KeySnowflakeTasks: "*"})
	f.env = registerTasks(snowflake.New(f.db).WithTargets(p, ""))
	res, err := f.run(t, snowflake.ExecuteTaskName, "s", map[string]any{"task": `analytics.loads."load orders"`})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["statement"] != `EXECUTE TASK "ANALYTICS"."LOADS"."load orders"` {
		t.Errorf("statement %v", res.Output["statement"])
	}
}
