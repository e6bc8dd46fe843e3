package snowflake_test

import (
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/activities/support/target"
)

func registerActions(sf *snowflake.Actions) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestActivityEnvironment()
	r := actions.NewRegistry()
	r.Add(
		actions.Typed(snowflake.QueryFailuresSpec(), sf.QueryFailures),
		actions.Typed(snowflake.CopyHistorySpec(), sf.CopyHistory),
		actions.Typed(snowflake.TaskHistorySpec(), sf.TaskHistory),
		actions.Typed(snowflake.TableFreshnessSpec(), sf.TableFreshness),
	)
	r.RegisterWith(e)
	return e
}

func TestDatabasesOutsidePolicyAreRefused(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	p, err := target.Parse(map[string]string{target.KeySnowflakeDatabases: "analytics"})
	if err != nil {
		t.Fatal(err)
	}
	f.env = registerActions(snowflake.New(f.db).WithTargets(p, "ANALYTICS"))
	before := len(f.srv.Queries())
	for action, with := range map[string]map[string]any{
		snowflake.CopyHistoryName:    {"table": "payroll.hr.salaries"},
		snowflake.TableFreshnessName: {"table": `"PAYROLL".HR.SALARIES`, "expected_freshness": "1h"},
		snowflake.TaskHistoryName:    {"database": "payroll"},
		snowflake.QueryFailuresName:  {"database": "SNOWFLAKE"},
	} {
		_, err := f.run(t, action, "s", with)
		actiontest.NonRetryable(t, err, target.RefusedType, action+": target policy: database ", "is not in targets.snowflake.databases")
	}
	if n := len(f.srv.Queries()) - before; n != 0 {
		t.Fatalf("%d statements reached Snowflake", n)
	}
	// A name without a database resolves in the session's, which is allowed.
	f.on("COPY_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(copyHistoryColumns) })
	if _, err := f.run(t, snowflake.CopyHistoryName, "s", map[string]any{"table": "raw.orders"}); err != nil {
		t.Fatal(err)
	}
	// Without a session database there is nothing to check it against.
	f.env = registerActions(snowflake.New(f.db).WithTargets(p, ""))
	_, err = f.run(t, snowflake.CopyHistoryName, "s", map[string]any{"table": "raw.orders"})
	actiontest.NonRetryable(t, err, target.RefusedType, "names no database", "DATASEV_SNOWFLAKE_DATABASE")
}
