package airflow_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/runbooks"
)

func TestFailedTasksInOneRun(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			f.srv.SeedDAG("orders", false, "extract", "load", "transform", "publish")
			f.srv.SeedRun("orders", "scheduled__2026-11-24", map[string]string{
				"extract": "success", "load": "failed", "transform": "upstream_failed", "publish": "upstream_failed",
			})
			res := f.mustRun(t, airflow.FailedTasksName, map[string]any{"dag_id": "orders", "run_id": "scheduled__2026-11-24"})
			out := res.Output
			want(t, out, "ok", false)
			want(t, out, "count", 3)
			want(t, out, "failed", 1)
			want(t, out, "upstream_failed", 2)
			want(t, out, "runs", 1)
			tasks, _ := out["tasks"].([]any)
			if len(tasks) != 3 {
				t.Fatalf("tasks %v", out["tasks"])
			}
			first := tasks[0].(map[string]any)
			if first["task_id"] != "load" || first["state"] != "failed" || first["run_id"] != "scheduled__2026-11-24" ||
				first["dag_id"] != "orders" || first["try_number"] != float64(1) || first["end_date"] == "" {
				t.Errorf("first task %v", first)
			}
			if _, ok := first["duration"].(float64); !ok {
				t.Errorf("duration %v", first["duration"])
			}
			if !strings.Contains(res.Summary, "1 failed, 2 upstream_failed") || !strings.Contains(res.Detail, "| scheduled__2026-11-24 | load | failed |") {
				t.Errorf("summary %q detail %q", res.Summary, res.Detail)
			}
			// The listing asks Airflow for the failed states only.
			reqs := f.srv.RequestsTo(http.MethodGet, "/taskInstances")
			if q := reqs[0].Query["state"]; strings.Join(q, ",") != "failed,upstream_failed" {
				t.Errorf("state filter %v", q)
			}
		})
	}
}

func TestFailedTasksInWindow(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{Now: func() time.Time { return now }})
			f.acts = f.acts.WithClock(func() time.Time { return now })
			f.env = register(f.acts)
			f.srv.SeedDAG("orders", false, "load", "publish")
			f.srv.SeedRunAt("orders", "r_old", now.Add(-30*time.Hour), map[string]string{"load": "failed", "publish": "upstream_failed"})
			f.srv.SeedRunAt("orders", "r_ok", now.Add(-2*time.Hour), map[string]string{"load": "success", "publish": "success"})
			f.srv.SeedRunAt("orders", "r_bad", now.Add(-1*time.Hour), map[string]string{"load": "success", "publish": "failed"})

			res := f.mustRun(t, airflow.FailedTasksName, map[string]any{"dag_id": "orders"})
			want(t, res.Output, "ok", false)
			want(t, res.Output, "count", 1)
			want(t, res.Output, "runs", 2)
			if ids, _ := res.Output["run_ids"].([]any); len(ids) != 2 || ids[0] != "r_bad" || ids[1] != "r_ok" {
				t.Errorf("run_ids %v", res.Output["run_ids"])
			}
			// A 48h window reaches the old run.
			res = f.mustRun(t, airflow.FailedTasksName, map[string]any{"dag_id": "orders", "window": "48h"})
			want(t, res.Output, "count", 3)
			want(t, res.Output, "runs", 3)
			// A healthy DAG is ok.
			f.srv.SeedRunAt("clean", "r1", now.Add(-time.Hour), map[string]string{"a": "success"})
			res = f.mustRun(t, airflow.FailedTasksName, map[string]any{"dag_id": "clean"})
			want(t, res.Output, "ok", true)
			want(t, res.Output, "count", 0)
			if !strings.Contains(res.Summary, "no failed tasks") {
				t.Errorf("summary %q", res.Summary)
			}
		})
	}
}

func TestFailedTasksErrors(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			_, err := f.run(t, airflow.FailedTasksName, map[string]any{"dag_id": "missing"})
			actiontest.NonRetryable(t, err, airflow.NotFoundType, `airflow.failed_tasks: DAG "missing" not found`)
			_, err = f.run(t, airflow.FailedTasksName, map[string]any{"dag_id": "bad/dag"})
			actiontest.NonRetryable(t, err, airflow.BadRequestType, `dag_id "bad/dag"`)

			f.srv.SeedRun("d", "r1", map[string]string{"a": "failed"})
			f.srv.FailNext(1, http.StatusTooManyRequests, "11")
			_, err = f.run(t, airflow.FailedTasksName, map[string]any{"dag_id": "d", "run_id": "r1"})
			actiontest.RetryDelay(t, err, 11*time.Second)
			f.srv.FailNext(1, http.StatusServiceUnavailable, "")
			_, err = f.run(t, airflow.FailedTasksName, map[string]any{"dag_id": "d", "run_id": "r1"})
			actiontest.RetryDelay(t, err, 0)
			if !strings.Contains(err.Error(), "airflow.failed_tasks: unavailable") ||
				!strings.Contains(err.Error(), "GET /api/"+api+"/dags/d/dagRuns/r1/taskInstances: 503") {
				t.Errorf("error %q does not name the action", err)
			}
			res := f.mustRun(t, airflow.FailedTasksName, map[string]any{"dag_id": "d", "run_id": "r1"})
			want(t, res.Output, "count", 1)
		})
	}
}

func TestClearDryRunThenReal(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			f.srv.SeedDAG("orders", false, "extract", "load", "transform", "publish")
			f.srv.SeedRun("orders", "r1", map[string]string{
				"extract": "success", "load": "failed", "transform": "upstream_failed", "publish": "upstream_failed",
			})
			with := map[string]any{"dag_id": "orders", "run_id": "r1"}
			res, err := f.dryRun(t, airflow.ClearTasksName, with)
			if err != nil {
				t.Fatal(err)
			}
			want(t, res.Output, "count", 3)
			want(t, res.Output, "dry_run", true)
			want(t, res.Output, "ok", true)
			if !strings.Contains(res.Summary, "would clear 3 tasks") || !strings.Contains(res.Detail, "| load | r1 |") {
				t.Errorf("summary %q detail %q", res.Summary, res.Detail)
			}
			if rs, _ := f.srv.Run("orders", "r1"); rs.State != "failed" || rs.Tasks["load"] != "failed" {
				t.Fatalf("the dry run changed the run: %+v", rs)
			}

			res = f.mustRun(t, airflow.ClearTasksName, with)
			want(t, res.Output, "count", 3)
			want(t, res.Output, "dry_run", false)
			cleared, _ := res.Output["cleared"].([]any)
			if len(cleared) != 3 || cleared[0].(map[string]any)["task_id"] != "load" {
				t.Errorf("cleared %v", res.Output["cleared"])
			}
			rs, _ := f.srv.Run("orders", "r1")
			if rs.State != "queued" || rs.Tasks["load"] != "" || rs.Tasks["publish"] != "" || rs.Tasks["extract"] != "success" {
				t.Fatalf("after the clear: %+v", rs)
			}

			// Both calls sent every default explicitly; only the real one
			// said dry_run false.
			reqs := f.srv.RequestsTo(http.MethodPost, "/dags/orders/clearTaskInstances")
			if len(reqs) != 2 {
				t.Fatalf("%d clear requests", len(reqs))
			}
			for i, wantDry := range []bool{true, false} {
				b := reqs[i].Body
				for k, v := range map[string]any{"dry_run": wantDry, "only_failed": true, "include_downstream": true, "dag_run_id": "r1", "reset_dag_runs": true} {
					if got, ok := b[k]; !ok || got != v {
						t.Errorf("request %d: %s = %v (sent %v), want %v", i, k, got, ok, v)
					}
				}
			}

			// The scheduler re-runs the cleared tasks.
			f.srv.Advance()
			f.srv.Advance()
			if rs, _ := f.srv.Run("orders", "r1"); rs.State != "success" || rs.Tries["load"] != 2 {
				t.Errorf("after re-running: %+v", rs)
			}
			// Nothing failed is left.
			res = f.mustRun(t, airflow.ClearTasksName, with)
			want(t, res.Output, "ok", false)
			want(t, res.Output, "count", 0)
			if r, _ := res.Output["reason"].(string); !strings.Contains(r, "no failed tasks cleared") {
				t.Errorf("reason %q", r)
			}
		})
	}
}

func TestClearSubsetWithoutDownstream(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			f.srv.SeedDAG("d", false, "a", "b", "c")
			f.srv.SeedRun("d", "r1", map[string]string{"a": "success", "b": "success", "c": "success"})
			res := f.mustRun(t, airflow.ClearTasksName, map[string]any{
				"dag_id": "d", "run_id": "r1", "task_ids": []any{"b"}, "only_failed": false, "include_downstream": false,
			})
			want(t, res.Output, "count", 1)
			rs, _ := f.srv.Run("d", "r1")
			if rs.Tasks["b"] != "" || rs.Tasks["c"] != "success" || rs.Tasks["a"] != "success" {
				t.Errorf("%+v", rs)
			}
			body := f.srv.RequestsTo(http.MethodPost, "/clearTaskInstances")[0].Body
			if body["only_failed"] != false || body["include_downstream"] != false || body["dry_run"] != false {
				t.Errorf("body %v", body)
			}
			_, err := f.run(t, airflow.ClearTasksName, map[string]any{"dag_id": "d", "run_id": "r9"})
			actiontest.NonRetryable(t, err, airflow.NotFoundType, `DAG run "r9" of DAG "d" not found`)
		})
	}
}

func TestTriggerIsIdempotent(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			f.srv.SeedDAG("reload", false, "a", "b")
			with := map[string]any{"dag_id": "reload", "conf": map[string]any{"date": "2026-11-24"}}

			res, err := f.dryRun(t, airflow.TriggerDAGName, with)
			if err != nil {
				t.Fatal(err)
			}
			want(t, res.Output, "already_existed", false)
			want(t, res.Output, "run_id", "datasev__inc-1__s1")
			if n := len(f.srv.Runs("reload")); n != 0 {
				t.Fatalf("the dry run triggered %d runs", n)
			}

			res = f.mustRun(t, airflow.TriggerDAGName, with)
			want(t, res.Output, "already_existed", false)
			want(t, res.Output, "state", "queued")
			want(t, res.Output, "run_id", "datasev__inc-1__s1")
			wantURL := map[string]string{
				airflow.APIv1: f.srv.URL + "/dags/reload/grid?dag_run_id=datasev__inc-1__s1",
				airflow.APIv2: f.srv.URL + "/dags/reload/runs/datasev__inc-1__s1",
			}[api]
			want(t, res.Output, "ui_url", wantURL)
			rs, ok := f.srv.Run("reload", "datasev__inc-1__s1")
			if !ok || rs.Conf["date"] != "2026-11-24" {
				t.Fatalf("run %+v", rs)
			}

			// A retry of the same step finds the run.
			f.srv.Advance()
			res = f.mustRun(t, airflow.TriggerDAGName, with)
			want(t, res.Output, "already_existed", true)
			want(t, res.Output, "state", "running")
			if ids := f.srv.Runs("reload"); len(ids) != 1 {
				t.Fatalf("runs %v, want one", ids)
			}
			if n := len(f.srv.RequestsTo(http.MethodPost, "/dagRuns")); n != 2 {
				t.Errorf("%d trigger requests, want 2 (the second answered 409)", n)
			}
			// The dry run now says the run exists.
			res, err = f.dryRun(t, airflow.TriggerDAGName, with)
			if err != nil || res.Output["already_existed"] != true {
				t.Fatalf("%+v %v", res, err)
			}

			// Another step gets another run; an explicit run_id is used as is.
			if _, err := runReq(t, f.env, airflow.TriggerDAGName, runbooks.ActionRequest{Incident: "inc/2 x", Step: "retry", With: with}); err != nil {
				t.Fatal(err)
			}
			res = f.mustRun(t, airflow.TriggerDAGName, map[string]any{"dag_id": "reload", "run_id": "manual__fix"})
			want(t, res.Output, "run_id", "manual__fix")
			if ids := f.srv.Runs("reload"); len(ids) != 3 || !strings.HasPrefix(ids[1], "datasev__inc-2-x__retry__") {
				t.Errorf("runs %v", ids)
			}
			// v2 got logical_date explicitly, as null; nothing unknown.
			for _, r := range f.srv.RequestsTo(http.MethodPost, "/dagRuns") {
				if v, has := r.Body["logical_date"]; api == airflow.APIv2 && (!has || v != nil) {
					t.Errorf("v2 trigger body %v", r.Body)
				}
			}
		})
	}
}

func TestTriggerRefusesPausedDAG(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			f.srv.SeedDAG("reload", true, "a")
			for _, dry := range []bool{true, false} {
				_, err := runReq(t, f.env, airflow.TriggerDAGName, runbooks.ActionRequest{Incident: "i", Step: "s", DryRun: dry, With: map[string]any{"dag_id": "reload"}})
				actiontest.NonRetryable(t, err, airflow.PausedType, `DAG "reload" is paused`, "does not unpause")
			}
			if n := len(f.srv.RequestsTo(http.MethodPost, "/dagRuns")); n != 0 {
				t.Errorf("%d trigger requests for a paused DAG", n)
			}
			_, err := f.run(t, airflow.TriggerDAGName, map[string]any{"dag_id": "nope"})
			actiontest.NonRetryable(t, err, airflow.NotFoundType, `DAG "nope" not found`)
			_, err = f.run(t, airflow.TriggerDAGName, map[string]any{"dag_id": "reload", "run_id": "has space"})
			actiontest.NonRetryable(t, err, airflow.BadRequestType, `run_id "has space"`)
		})
	}
}

func TestDeterministicRunID(t *testing.T) {
	for _, tc := range []struct{ inc, step, want string }{
		{"inc-1", "s1", "datasev__inc-1__s1"},
		{"orders:late", "rerun.v2", "datasev__orders:late__rerun.v2"},
	} {
		if got := airflow.DeterministicRunID(tc.inc, tc.step); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.inc, tc.step, got, tc.want)
		}
	}
	a, b := airflow.DeterministicRunID("a/b", "s"), airflow.DeterministicRunID("a b", "s")
	if a == b || !airflow.RunIDPattern.MatchString(a) || a != airflow.DeterministicRunID("a/b", "s") {
		t.Errorf("sanitized IDs %q %q", a, b)
	}
	long := airflow.DeterministicRunID(strings.Repeat("x", 400), "s")
	if len(long) > 250 || !airflow.RunIDPattern.MatchString(long) {
		t.Errorf("long ID %d chars: %q", len(long), long)
	}
}

func TestWithoutClient(t *testing.T) {
	e := register(airflow.New(nil))
	for _, tc := range []struct {
		name string
		with map[string]any
	}{
		{airflow.FailedTasksName, map[string]any{"dag_id": "d"}},
		{airflow.ClearTasksName, map[string]any{"dag_id": "d", "run_id": "r"}},
		{airflow.TriggerDAGName, map[string]any{"dag_id": "d"}},
		{airflow.WaitDAGRunName, map[string]any{"dag_id": "d", "run_id": "r"}},
	} {
		_, err := runReq(t, e, tc.name, runbooks.ActionRequest{With: tc.with})
		actiontest.NonRetryable(t, err, airflow.NotConfiguredType, "no Airflow client", airflow.EnvURL)
	}
}

func TestSpecs(t *testing.T) {
	for _, s := range []runbooks.ActionSpec{airflow.FailedTasksSpec(), airflow.ClearTasksSpec(), airflow.TriggerDAGSpec(), airflow.WaitDAGRunSpec()} {
		if !strings.HasPrefix(s.Name, "airflow.") || s.Description == "" || len(s.Outputs) == 0 {
			t.Errorf("spec %+v", s)
		}
		if s.Changes != s.DryRun {
			t.Errorf("%s: changes %v dry run %v", s.Name, s.Changes, s.DryRun)
		}
	}
	if !airflow.ClearTasksSpec().Changes || !airflow.TriggerDAGSpec().Changes || airflow.FailedTasksSpec().Changes || airflow.WaitDAGRunSpec().Changes {
		t.Error("only clear_tasks and trigger_dag change things")
	}
}
