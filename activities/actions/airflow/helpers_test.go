package airflow_test

import (
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// apis are the two API versions every contract test runs against.
var apis = []string{airflow.APIv1, airflow.APIv2}

// fixture is an Airflow stand-in speaking one API version, the client
// configured from the stand-in's environment, and the actions registered
// in Temporal's activity test environment as the worker registers them.
type fixture struct {
	api    string
	srv    *aftest.Server
	client *airflow.Client
	acts   *airflow.Actions
	env    *testsuite.TestActivityEnvironment
}

func newFixture(t *testing.T, api string, opts aftest.Options) *fixture {
	t.Helper()
	opts.Version = api
	srv := aftest.New(opts)
	t.Cleanup(srv.Close)
	env := srv.Env()
	cfg, err := airflow.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c, err := airflow.NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{api: api, srv: srv, client: c, acts: airflow.New(c).WithTargets(anyDAG(t))}
	f.env = register(f.acts)
	return f
}

// anyDAG is a target policy that allows every DAG.
func anyDAG(t *testing.T) *target.Policy {
	t.Helper()
	p, err := target.Parse(map[string]string{target.KeyAirflowDAGs: "*"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func register(a *airflow.Actions) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestActivityEnvironment()
	for _, act := range []actions.Action{
		actions.Typed(airflow.FailedTasksSpec(), a.FailedTasks),
		actions.Typed(airflow.ClearTasksSpec(), a.ClearTasks),
		actions.Typed(airflow.TriggerDAGSpec(), a.TriggerDAG),
		actions.Typed(airflow.WaitDAGRunSpec(), a.WaitDAGRun),
	} {
		e.RegisterActivityWithOptions(act.Fn, activity.RegisterOptions{Name: act.Spec.Name})
	}
	return e
}

func (f *fixture) run(t *testing.T, action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	return runReq(t, f.env, action, runbooks.ActionRequest{Incident: "inc-1", Runbook: "rb", Step: "s1", With: with})
}

func (f *fixture) dryRun(t *testing.T, action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	return runReq(t, f.env, action, runbooks.ActionRequest{Incident: "inc-1", Runbook: "rb", Step: "s1", With: with, DryRun: true})
}

func (f *fixture) mustRun(t *testing.T, action string, with map[string]any) runbooks.ActionResult {
	t.Helper()
	res, err := f.run(t, action, with)
	if err != nil {
		t.Fatalf("%s %v: %v", action, with, err)
	}
	return res
}

func runReq(t *testing.T, e *testsuite.TestActivityEnvironment, action string, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(action, req)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func want(t *testing.T, out map[string]any, key string, v any) {
	t.Helper()
	got, ok := out[key]
	if !ok {
		t.Errorf("output has no %q: %v", key, out)
		return
	}
	if n, isNum := got.(float64); isNum {
		switch w := v.(type) {
		case int:
			if n == float64(w) {
				return
			}
		}
	}
	if got != v {
		t.Errorf("output %s = %#v, want %#v", key, got, v)
	}
}
