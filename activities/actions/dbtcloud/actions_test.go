package dbtcloud_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/dbtcloud"
	"github.com/datasev/datasev/activities/actions/dbtcloud/dbtcloudtest"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

const acct, jobID = 12345, 678

type fixture struct {
	srv  *dbtcloudtest.Server
	acts *dbtcloud.Actions
	env  *testsuite.TestActivityEnvironment
	hb   *heartbeats
}

func policy(t *testing.T, jobs string) *target.Policy {
	t.Helper()
	p, err := target.Parse(map[string]string{target.KeyDBTCloudJobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newFixture(t *testing.T, opts dbtcloudtest.Options) *fixture {
	t.Helper()
	srv := dbtcloudtest.New(opts)
	t.Cleanup(srv.Close)
	srv.SeedJob(acct, jobID, "nightly build")
	env := srv.Env()
	cfg, err := dbtcloud.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c, err := dbtcloud.NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, acts: dbtcloud.New(c).WithTargets(policy(t, "12345/678")), hb: &heartbeats{}}
	f.env = f.register(f.acts)
	return f
}

func (f *fixture) register(a *dbtcloud.Actions) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestActivityEnvironment()
	e.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{f.hb}})
	for _, act := range []actions.Action{
		actions.Typed(dbtcloud.RerunJobSpec(), a.RerunJob),
		actions.Typed(dbtcloud.RetryRunSpec(), a.RetryRun),
	} {
		e.RegisterActivityWithOptions(act.Fn, activity.RegisterOptions{Name: act.Spec.Name})
	}
	return e
}

func run(t *testing.T, e *testsuite.TestActivityEnvironment, action string, dry bool, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(action, runbooks.ActionRequest{Incident: "inc-7", Runbook: "rb", Step: "retry", With: with, DryRun: dry})
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func num(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	return -1
}

func TestRerunJobTriggersAndWaits(t *testing.T) {
	f := newFixture(t, dbtcloudtest.Options{AutoAdvance: true})
	res, err := run(t, f.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "poll": "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["ok"] != true || num(res.Output["status"]) != dbtcloud.StatusSuccess || res.Output["resumed"] != false {
		t.Errorf("output %v", res.Output)
	}
	runs := f.srv.Runs(acct, jobID)
	if len(runs) != 1 || !strings.Contains(runs[0].Cause, "[datasev:inc-7:retry]") {
		t.Fatalf("runs %+v, want one whose cause carries the incident marker", runs)
	}
	if num(res.Output["run_id"]) != runs[0].ID {
		t.Errorf("run_id %v, want %d", res.Output["run_id"], runs[0].ID)
	}
	// queued → starting → running → success: four polls, each heartbeated
	// with the run ID, after the first heartbeat at the trigger.
	beats := f.hb.all()
	if len(beats) != 5 || beats[0].RunID != runs[0].ID || beats[0].Polls != 0 || beats[4].Status != dbtcloud.StatusSuccess {
		t.Errorf("heartbeats %+v", beats)
	}
}

func TestRerunJobFailedRunIsNotOK(t *testing.T) {
	f := newFixture(t, dbtcloudtest.Options{AutoAdvance: true})
	f.srv.FailJob(acct, jobID, true)
	res, err := run(t, f.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "poll": "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["ok"] != false || !strings.Contains(res.Output["reason"].(string), "run failed: Database Error") {
		t.Errorf("output %v", res.Output)
	}
}

func TestRerunJobDryRun(t *testing.T) {
	f := newFixture(t, dbtcloudtest.Options{})
	res, err := run(t, f.env, dbtcloud.RerunJobName, true, map[string]any{"account_id": "12345", "job_id": "678"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["dry_run"] != true || !strings.Contains(res.Summary, `would trigger a run of job 678 (nightly build)`) {
		t.Errorf("dry run %q %v", res.Summary, res.Output)
	}
	if n := f.srv.Count("POST jobs/run"); n != 0 {
		t.Errorf("the dry run triggered %d runs", n)
	}
	_, err = run(t, f.env, dbtcloud.RerunJobName, true, map[string]any{"account_id": "12345", "job_id": "678", "cause": strings.Repeat("x", 300)})
	actiontest.NonRetryable(t, err, dbtcloud.BadRequestType, "cause")
}

func TestTargetPolicyRefuses(t *testing.T) {
	f := newFixture(t, dbtcloudtest.Options{})
	f.srv.SeedJob(acct, 999, "other")
	for action, with := range map[string]map[string]any{
		dbtcloud.RerunJobName: {"account_id": "12345", "job_id": "999"},
		dbtcloud.RetryRunName: {"account_id": "12345", "job_id": "999", "run_id": "1"},
	} {
		_, err := run(t, f.env, action, false, with)
		actiontest.NonRetryable(t, err, target.RefusedType, `dbt Cloud job "12345/999"`, target.KeyDBTCloudJobs)
	}
	// No policy at all: remediations refuse.
	g := &fixture{srv: f.srv, hb: &heartbeats{}}
	env := f.srv.Env()
	cfg, _ := dbtcloud.ConfigFromEnv(func(k string) string { return env[k] })
	c, _ := dbtcloud.NewClient(cfg, nil)
	e := g.register(dbtcloud.New(c))
	_, err := run(t, e, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678"})
	actiontest.NonRetryable(t, err, target.NoPolicyType)
	// Malformed IDs never reach dbt Cloud.
	_, err = run(t, f.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678/../1"})
	actiontest.NonRetryable(t, err, dbtcloud.BadRequestType, "job_id")
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests reached dbt Cloud", n)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t, dbtcloudtest.Options{})
	f.srv.Fail("POST jobs/run", 1, 429, "30")
	_, err := run(t, f.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "wait": false})
	actiontest.RetryDelay(t, err, 30*time.Second)
	actiontest.Retryable(t, err, "429")

	f.srv.Fail("POST jobs/run", 1, 503, "")
	_, err = run(t, f.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "wait": false})
	actiontest.Retryable(t, err, "503")

	f.srv.Fail("GET runs/get", 1, 401, "")
	_, err = run(t, f.env, dbtcloud.RetryRunName, false, map[string]any{"account_id": "12345", "job_id": "678", "run_id": "5"})
	actiontest.NonRetryable(t, err, dbtcloud.CredentialsType, dbtcloud.EnvToken)

	_, err = run(t, f.env, dbtcloud.RetryRunName, false, map[string]any{"account_id": "12345", "job_id": "678", "run_id": "5"})
	actiontest.NonRetryable(t, err, dbtcloud.NotFoundType, "run 5 of account 12345", "Run not found.")
	if n := f.srv.Count("POST jobs/rerun"); n != 0 {
		t.Errorf("%d reruns after errors", n)
	}
}

func TestRetryRunRetriesFailedRun(t *testing.T) {
	f := newFixture(t, dbtcloudtest.Options{AutoAdvance: true})
	failed := f.srv.SeedRun(acct, jobID, dbtcloud.StatusError)
	with := map[string]any{"account_id": "12345", "job_id": "678", "run_id": jsonID(failed), "poll": "1ms"}

	res, err := run(t, f.env, dbtcloud.RetryRunName, true, with)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Summary, "would retry failed run") || f.srv.Count("POST jobs/rerun") != 0 {
		t.Errorf("dry run %q", res.Summary)
	}

	res, err = run(t, f.env, dbtcloud.RetryRunName, false, with)
	if err != nil {
		t.Fatal(err)
	}
	runs := f.srv.Runs(acct, jobID)
	if len(runs) != 2 || runs[1].RetriedFrom != failed {
		t.Fatalf("runs %+v, want a retry from %d", runs, failed)
	}
	if res.Output["ok"] != true || num(res.Output["run_id"]) != runs[1].ID || num(res.Output["failed_run_id"]) != failed {
		t.Errorf("output %v", res.Output)
	}

	// Running the step again (a retried activity whose heartbeat was lost
	// with its worker) finds the job ran since and waits on that run.
	res, err = run(t, f.env, dbtcloud.RetryRunName, false, with)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Count("POST jobs/rerun"); n != 1 {
		t.Errorf("%d reruns, want 1", n)
	}
	if res.Output["resumed"] != true || num(res.Output["run_id"]) != runs[1].ID {
		t.Errorf("second run output %v", res.Output)
	}

	// A run that did not fail is not retried.
	ok := f.srv.SeedRun(acct, jobID, dbtcloud.StatusSuccess)
	_, err = run(t, f.env, dbtcloud.RetryRunName, false, map[string]any{"account_id": "12345", "job_id": "678", "run_id": jsonID(ok)})
	actiontest.NonRetryable(t, err, dbtcloud.NotRetryableRunType, "is success, not error", dbtcloud.RerunJobName)
}

// An activity retried after it triggered the run (its heartbeat recorded
// the run ID) waits on that run: no second trigger.
func TestRetriedActivityResumesWithoutSecondTrigger(t *testing.T) {
	f := newFixture(t, dbtcloudtest.Options{AutoAdvance: true})
	first, err := run(t, f.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "wait": false})
	if err != nil {
		t.Fatal(err)
	}
	runID := num(first.Output["run_id"])
	f.env.SetHeartbeatDetails(dbtcloud.Progress{RunID: runID, Started: time.Now().Add(-time.Minute), Polls: 1, Status: 1})
	res, err := run(t, f.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "poll": "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Count("POST jobs/run"); n != 1 {
		t.Errorf("%d triggers, want 1", n)
	}
	if res.Output["resumed"] != true || num(res.Output["run_id"]) != runID || res.Output["ok"] != true {
		t.Errorf("output %v", res.Output)
	}
	if num(res.Output["polls"]) < 2 {
		t.Errorf("polls %v: want the first attempt's counted", res.Output["polls"])
	}

	// A deadline spent by the first attempt answers at once, not ok.
	g := newFixture(t, dbtcloudtest.Options{})
	r0, _ := run(t, g.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "wait": false})
	g.env.SetHeartbeatDetails(dbtcloud.Progress{RunID: num(r0.Output["run_id"]), Started: time.Now().Add(-2 * time.Hour)})
	res, err = run(t, g.env, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "timeout": "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["ok"] != false || res.Output["reason"] != "still queued after 1h0m0s" {
		t.Errorf("output %v", res.Output)
	}
}

// A trigger whose answer was lost before any heartbeat: the retried
// attempt finds the run by the incident marker in its cause.
func TestLostTriggerAnswerFoundByCause(t *testing.T) {
	f := newFixture(t, dbtcloudtest.Options{AutoAdvance: true})
	f.srv.LoseNextAnswer("POST jobs/run")
	_, err := f.acts.RerunJob(t.Context(), runbooks.ActionRequest{Incident: "inc-7", Step: "retry"},
		dbtcloud.RerunJobInput{AccountID: "12345", JobID: "678"})
	if err == nil {
		t.Fatal("want the lost answer to fail the attempt")
	}
	if len(f.srv.Runs(acct, jobID)) != 1 {
		t.Fatal("the trigger did not reach the stand-in")
	}
	// Second attempt, in an activity environment reporting attempt 2.
	var s testsuite.WorkflowTestSuite
	e := s.NewTestActivityEnvironment()
	act := actions.Typed(dbtcloud.RerunJobSpec(), f.acts.RerunJob)
	e.RegisterActivityWithOptions(func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		return act.Fn(ctx, req)
	}, activity.RegisterOptions{Name: act.Spec.Name})
	e.SetTestTimeout(30 * time.Second)
	e.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&attempt2{}}})
	res, err := run(t, e, dbtcloud.RerunJobName, false, map[string]any{"account_id": "12345", "job_id": "678", "poll": "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Count("POST jobs/run"); n != 1 {
		t.Errorf("%d triggers, want 1", n)
	}
	if res.Output["resumed"] != true || res.Output["ok"] != true {
		t.Errorf("output %v", res.Output)
	}
}

func jsonID(n int64) string { return strconv.FormatInt(n, 10) }

// heartbeats records the Progress an activity heartbeats.
type heartbeats struct {
	interceptor.WorkerInterceptorBase
	mu    sync.Mutex
	beats []dbtcloud.Progress
}

func (h *heartbeats) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &hbInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, h: h}
}

func (h *heartbeats) all() []dbtcloud.Progress {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]dbtcloud.Progress(nil), h.beats...)
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
		if p, ok := d.(dbtcloud.Progress); ok {
			o.h.mu.Lock()
			o.h.beats = append(o.h.beats, p)
			o.h.mu.Unlock()
		}
	}
	o.Next.RecordHeartbeat(ctx, details...)
}

// attempt2 makes the activity see itself as a second attempt.
type attempt2 struct {
	interceptor.WorkerInterceptorBase
}

func (*attempt2) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &a2Inbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type a2Inbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (i *a2Inbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&a2Outbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}})
}

type a2Outbound struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (o *a2Outbound) GetInfo(ctx context.Context) activity.Info {
	info := o.Next.GetInfo(ctx)
	info.Attempt = 2
	return info
}
