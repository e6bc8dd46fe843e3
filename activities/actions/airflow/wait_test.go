package airflow_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/runbooks"
)

func TestWaitDAGRunSucceeds(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{AutoAdvance: true})
			f.srv.SeedDAG("reload", false, "a", "b", "c")
			trig := f.mustRun(t, airflow.TriggerDAGName, map[string]any{"dag_id": "reload"})
			runID := trig.Output["run_id"].(string)

			rec := &heartbeats{}
			f.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{rec}})
			res := f.mustRun(t, airflow.WaitDAGRunName, map[string]any{"dag_id": "reload", "run_id": runID, "poll": "1ms"})
			want(t, res.Output, "ok", true)
			want(t, res.Output, "state", "success")
			// queued → running → success: three polls.
			want(t, res.Output, "polls", 3)
			tasks, _ := res.Output["tasks"].(map[string]any)
			if len(tasks) != 3 || tasks["a"] != "success" || tasks["c"] != "success" {
				t.Errorf("tasks %v", res.Output["tasks"])
			}
			if _, ok := res.Output["duration"].(float64); !ok {
				t.Errorf("duration %v", res.Output["duration"])
			}
			if !strings.Contains(res.Summary, "success after 3 polls") {
				t.Errorf("summary %q", res.Summary)
			}
			beats := rec.all()
			if len(beats) != 2 || beats[0].State != "queued" || beats[0].Polls != 1 || beats[0].Started.IsZero() {
				t.Errorf("heartbeats %+v, want two, the first with state queued after 1 poll", beats)
			}
		})
	}
}

func TestWaitDAGRunFails(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{AutoAdvance: true})
			f.srv.SeedDAG("reload", false, "a", "b", "c")
			f.srv.FailTasks("reload", "b")
			f.mustRun(t, airflow.TriggerDAGName, map[string]any{"dag_id": "reload", "run_id": "r1"})
			res := f.mustRun(t, airflow.WaitDAGRunName, map[string]any{"dag_id": "reload", "run_id": "r1", "poll": "1ms"})
			want(t, res.Output, "ok", false)
			want(t, res.Output, "state", "failed")
			want(t, res.Output, "reason", "run failed: b failed, c upstream_failed")
			tasks, _ := res.Output["tasks"].(map[string]any)
			if tasks["a"] != "success" || tasks["b"] != "failed" || tasks["c"] != "upstream_failed" {
				t.Errorf("tasks %v", tasks)
			}
			if !strings.Contains(res.Detail, "| b | failed |") {
				t.Errorf("detail %q", res.Detail)
			}

			// Clearing the failed tasks (the remediation) and waiting again
			// (the verification) recovers.
			f.srv.FailTasks("reload")
			f.mustRun(t, airflow.ClearTasksName, map[string]any{"dag_id": "reload", "run_id": "r1"})
			res = f.mustRun(t, airflow.WaitDAGRunName, map[string]any{"dag_id": "reload", "run_id": "r1", "poll": "1ms"})
			want(t, res.Output, "ok", true)
			if rs, _ := f.srv.Run("reload", "r1"); rs.Tries["b"] != 2 || rs.Tries["a"] != 1 {
				t.Errorf("tries %v", rs.Tries)
			}

			_, err := f.run(t, airflow.WaitDAGRunName, map[string]any{"dag_id": "reload", "run_id": "nope", "poll": "1ms"})
			actiontest.NonRetryable(t, err, airflow.NotFoundType, `DAG run "nope" of DAG "reload" not found`)
		})
	}
}

// A retried attempt resumes from the last heartbeat: its deadline counts
// from the first attempt's start and its polls add up.
func TestWaitDAGRunResumesFromHeartbeat(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			f.srv.SeedRun("reload", "r1", map[string]string{"a": "success", "b": "running"})

			// The first attempt started two hours ago: a 1h timeout is
			// spent, so one poll answers.
			f.env.SetHeartbeatDetails(airflow.WaitProgress{Started: time.Now().Add(-2 * time.Hour), Polls: 40, State: "running"})
			res := f.mustRun(t, airflow.WaitDAGRunName, map[string]any{"dag_id": "reload", "run_id": "r1", "poll": "1h", "timeout": "1h"})
			want(t, res.Output, "ok", false)
			want(t, res.Output, "state", "running")
			want(t, res.Output, "polls", 41)
			want(t, res.Output, "reason", "still running after 1h0m0s")
			if w, _ := res.Output["waited"].(float64); w < 7200 {
				t.Errorf("waited %v, want at least 2h", res.Output["waited"])
			}
			if !strings.Contains(res.Detail, "resumed after a retry") {
				t.Errorf("detail %q", res.Detail)
			}

			// A recent start keeps waiting, and finishes when the run does.
			f2 := newFixture(t, api, aftest.Options{AutoAdvance: true})
			f2.srv.SeedRun("reload", "r1", map[string]string{"a": "success", "b": "running"})
			f2.env.SetHeartbeatDetails(airflow.WaitProgress{Started: time.Now().Add(-time.Minute), Polls: 7, State: "running"})
			res = f2.mustRun(t, airflow.WaitDAGRunName, map[string]any{"dag_id": "reload", "run_id": "r1", "poll": "1ms"})
			want(t, res.Output, "ok", true)
			want(t, res.Output, "polls", 9)
		})
	}
}

// Outside an activity (no heartbeats) the wait just polls.
func TestWaitDAGRunOutsideActivity(t *testing.T) {
	f := newFixture(t, airflow.APIv2, aftest.Options{AutoAdvance: true})
	f.srv.SeedDAG("reload", false, "a")
	if _, err := f.client.TriggerDAGRun(t.Context(), "reload", "r1", nil, nil); err != nil {
		t.Fatal(err)
	}
	res, err := f.acts.WaitDAGRun(t.Context(), runbooks.ActionRequest{}, airflow.WaitDAGRunInput{
		DAGID: "reload", RunID: "r1", Poll: runbooks.Duration(time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	want(t, res.Output, "ok", true)
	want(t, res.Output, "polls", 3)
}

// heartbeats records every heartbeat an activity sends, through the SDK's
// interceptors.
type heartbeats struct {
	interceptor.WorkerInterceptorBase
	mu    sync.Mutex
	beats []airflow.WaitProgress
}

func (h *heartbeats) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &hbInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, h: h}
}

func (h *heartbeats) all() []airflow.WaitProgress {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]airflow.WaitProgress(nil), h.beats...)
}

type hbInbound struct {
	interceptor.ActivityInboundInterceptorBase
	h *heartbeats
}

func (i *hbInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&hbOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, h: i.h})
}

type hbOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	h *heartbeats
}

func (o *hbOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	for _, d := range details {
		if p, ok := d.(airflow.WaitProgress); ok {
			o.h.mu.Lock()
			o.h.beats = append(o.h.beats, p)
			o.h.mu.Unlock()
		}
	}
	o.Next.RecordHeartbeat(ctx, details...)
}
