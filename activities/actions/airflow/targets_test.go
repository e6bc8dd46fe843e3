package airflow_test

import (
	"testing"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/activities/support/target"
)

// writes counts the requests that could change something in Airflow.
func writes(f *fixture) int {
	return len(f.srv.RequestsTo("POST", "/dagRuns")) + len(f.srv.RequestsTo("POST", "/clearTaskInstances"))
}

func TestRemediationsRefuseWithoutPolicy(t *testing.T) {
	f := newFixture(t, airflow.APIv2, aftest.Options{})
	f.srv.SeedDAG("orders", false, "load")
	f.srv.SeedRun("orders", "r1", map[string]string{"load": "failed"})
	f.env = register(f.acts.WithTargets(nil))

	_, err := f.run(t, airflow.TriggerDAGName, map[string]any{"dag_id": "orders"})
	actiontest.NonRetryable(t, err, target.NoPolicyType, "airflow.trigger_dag: target policy: airflow.trigger_dag changes the outside world and the worker has no target policy", "targets.airflow.dags")
	_, err = f.run(t, airflow.ClearTasksName, map[string]any{"dag_id": "orders", "run_id": "r1"})
	actiontest.NonRetryable(t, err, target.NoPolicyType, "no target policy")
	if n := writes(f); n != 0 {
		t.Fatalf("%d writes reached Airflow", n)
	}
	// Diagnostic reads still run.
	if _, err := f.run(t, airflow.FailedTasksName, map[string]any{"dag_id": "orders", "run_id": "r1"}); err != nil {
		t.Fatal(err)
	}
}

func TestDAGsOutsidePolicyAreRefused(t *testing.T) {
	f := newFixture(t, airflow.APIv1, aftest.Options{})
	f.srv.SeedDAG("orders_daily", false, "load")
	f.srv.SeedDAG("payroll", false, "pay")
	f.srv.SeedRun("payroll", "r1", map[string]string{"pay": "failed"})
	p, err := target.Parse(map[string]string{target.KeyAirflowDAGs: "orders_*"})
	if err != nil {
		t.Fatal(err)
	}
	f.env = register(f.acts.WithTargets(p))
	before := len(f.srv.Requests())
	for action, with := range map[string]map[string]any{
		airflow.TriggerDAGName:  {"dag_id": "payroll"},
		airflow.ClearTasksName:  {"dag_id": "payroll", "run_id": "r1"},
		airflow.FailedTasksName: {"dag_id": "payroll"},
		airflow.WaitDAGRunName:  {"dag_id": "payroll", "run_id": "r1"},
	} {
		_, err := f.run(t, action, with)
		actiontest.NonRetryable(t, err, target.RefusedType, action+`: target policy: DAG "payroll" is not in targets.airflow.dags`)
	}
	if n := len(f.srv.Requests()) - before; n != 0 {
		t.Fatalf("%d requests reached Airflow for refused DAGs", n)
	}
	res, err := f.run(t, airflow.TriggerDAGName, map[string]any{"dag_id": "orders_daily"})
	if err != nil || res.Output["dag_id"] != "orders_daily" {
		t.Fatalf("allowed DAG: %+v %v", res, err)
	}
}

func TestDAGIDsWithDotDotOrSlashAreRefused(t *testing.T) {
	f := newFixture(t, airflow.APIv2, aftest.Options{})
	before := len(f.srv.Requests())
	for _, id := range []string{"..", "../../config", "orders/..", "a..b", "..%2f..%2fconfig", "orders/../payroll", "orders\\..\\x"} {
		for _, action := range []string{airflow.TriggerDAGName, airflow.FailedTasksName} {
			_, err := f.run(t, action, map[string]any{"dag_id": id})
			actiontest.NonRetryable(t, err, airflow.BadRequestType, "dag_id")
		}
	}
	if n := len(f.srv.Requests()) - before; n != 0 {
		t.Fatalf("%d requests reached Airflow", n)
	}
}
