package workflows_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	oncallact "github.com/datasev/datasev/activities/lifecycle/oncall"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/activities/lifecycle/seal"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/runbook"
)

// suggestCANAt makes the dev server suggest continue-as-new after this many
// history events, so a test reaches it in seconds rather than a week.
const suggestCANAt = 60

var (
	devOnce sync.Once
	dev     *devstack.Server
	devErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dev != nil {
		_ = dev.Stop()
	}
	os.Exit(code)
}

// devClient starts (once for the package) a real dev server from the pinned
// CLI, with continue-as-new suggested early, and a worker for the incident
// workflow on a task queue of the test's own.
// registrar is where a test registers its own activities.
type registrar interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

func devClient(t *testing.T, extra ...func(registrar)) (client.Client, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Temporal dev server; skipped in -short mode")
	}
	devOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		dev, devErr = devstack.Start(ctx, devstack.Options{
			DynamicConfig: []string{fmt.Sprintf("limit.historyCount.suggestContinueAsNew=%d", suggestCANAt)},
		})
	})
	if devErr != nil {
		t.Fatalf("dev server: %v", devErr)
	}
	c := dev.Client()
	queue := "wf-test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	startWorker(t, c, queue, extra...)
	return c, queue
}

// startWorker runs a worker for the incident and runbook workflows on queue
// until the test ends: recorders for the lifecycle activities, the real
// runbook actions.
func startWorker(t testing.TB, c client.Client, queue string, extra ...func(registrar)) {
	t.Helper()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(incident.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	w.RegisterWorkflowWithOptions(runbook.RunbookWorkflow, workflow.RegisterOptions{Name: workflows.RunbookWorkflowName})
	rec := &recorder{}
	notify.Register(w, &notify.Activities{Backend: rec})
	seal.Register(w, testSealer(t))
	w.RegisterActivityWithOptions(rec.writePostmortem, activity.RegisterOptions{Name: workflows.PostmortemActivityName})
	w.RegisterActivityWithOptions(rec.fileActionItems, activity.RegisterOptions{Name: workflows.ActionItemsActivityName})
	w.RegisterActivityWithOptions(rec.syncDocument, activity.RegisterOptions{Name: workflows.DocumentActivityName})
	// Who is on call: the real activity, the roster's shift and the team's
	// overrides (none unless a test sets some), as the worker answers.
	oncallact.Register(w, &oncallact.Activities{Overrides: oncallact.StoreReader(c)})
	// The runbook tests' stand-ins listen on loopback, which core.http
	// refuses unless the policy names it.
	policy, err := target.Parse(map[string]string{target.KeyHTTPAllowAddresses: "127.0.0.1/32", target.KeyHTTPHosts: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	actions.New(actions.Deps{Targets: policy}).RegisterWith(w)
	for _, register := range extra {
		register(w)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

func startIncident(t testing.TB, c client.Client, queue, key string, opts workflows.Options) client.WorkflowRun {
	t.Helper()
	in := input(t, workflows.SEV2)
	in.Options = opts
	return startIncidentWith(t, c, queue, key, in)
}

// startIncidentWith starts an incident from in, with its key, on one shift
// in UTC, the way the intake starts one.
func startIncidentWith(t testing.TB, c client.Client, queue, key string, in workflows.IncidentInput) client.WorkflowRun {
	t.Helper()
	in.Alert.DedupeKey = key
	in.Roster.TimeZone = "UTC"
	in.Roster.Shifts = in.Roster.Shifts[:1]
	in.Roster.Shifts[0].Start, in.Roster.Shifts[0].End = "00:00", "00:00" // one shift all day: no handoff mid-test
	// The intake's own start options (search attributes, summary, ID
	// policies), on the test's task queue.
	duty, err := incidents.OnDuty(in.Roster, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	start := incidents.StartOptions(workflows.WorkflowID(key), in.Alert, in.Runbook, duty)
	start.TaskQueue = queue
	start.WorkflowExecutionTimeout = 10 * time.Minute
	run, err := c.ExecuteWorkflow(context.Background(), start, workflows.IncidentWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// A burst of signals and updates arrives while the server keeps suggesting
// continue-as-new: every one of them must be in the final timeline, and the
// pending approval must survive every hand-over.
func TestContinueAsNewLosesNothingOnDevServer(t *testing.T) {
	c, queue := devClient(t)
	ctx := context.Background()
	run := startIncident(t, c, queue, "can-"+fmt.Sprint(time.Now().UnixNano()), workflows.Options{CloseAfter: time.Second})
	id := run.GetID()
	mustAct := func(name string, act workflows.Act) {
		t.Helper()
		if _, err := incidents.Act(ctx, c, id, name, act); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	mustAct(workflows.ActAcknowledge, workflows.Act{By: "alice"})
	mustAct(workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun", Action: "clear failed tasks"})

	const senders, each = 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				note := workflows.Act{By: "carol", Note: fmt.Sprintf("note %d-%d", s, i)}
				var err error
				if i%4 == 0 {
					_, err = incidents.Act(ctx, c, id, workflows.ActAddNote, note) // an Update
				} else {
					err = c.SignalWorkflow(ctx, id, "", workflows.ActAddNote, note) // a Signal
				}
				if err != nil {
					errs <- err
				}
			}
		}(s)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("act failed: %T %v", err, err)
	}
	if t.Failed() {
		runID := run.GetRunID()
		for runID != "" {
			it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			runID = ""
			for it.HasNext() {
				e, err := it.Next()
				if err != nil {
					break
				}
				if f := e.GetWorkflowTaskFailedEventAttributes(); f != nil {
					t.Logf("history: event %d workflow task failed: %s %v", e.EventId, f.Cause, f.Failure)
				}
				if u := e.GetWorkflowExecutionUpdateRejectedEventAttributes(); u != nil {
					t.Logf("history: update rejected: %v", u.Failure)
				}
				if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
					runID = a.NewExecutionRunId
				}
			}
		}
	}

	st, err := incidents.Status(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.ContinuedRuns < 2 {
		t.Errorf("continued %d times; want several with the server suggesting it every %d events", st.ContinuedRuns, suggestCANAt)
	}
	if len(st.PendingApprovals) != 1 || st.PendingApprovals[0].ID != "rerun" {
		t.Errorf("pending approvals %+v after continue-as-new", st.PendingApprovals)
	}
	mustAct(workflows.ActApprove, workflows.Act{By: "alice", Approval: "rerun"})
	mustAct(workflows.ActRootCause, workflows.Act{By: "alice", Note: "a format change upstream"})
	mustAct(workflows.ActActionItem, workflows.Act{By: "alice", Note: "validate the format at landing"})
	mustAct(workflows.ActResolve, workflows.Act{By: "alice"})

	// The last run closes the incident; its result holds the whole timeline.
	var snap workflows.Snapshot
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range snap.Timeline {
		if i := strings.Index(e.What, "note "); i >= 0 && e.Kind == workflows.KindAct {
			seen[e.What[i:]]++
		}
	}
	for s := 0; s < senders; s++ {
		for i := 0; i < each; i++ {
			if n := seen[fmt.Sprintf("note %d-%d", s, i)]; n != 1 {
				t.Errorf("note %d-%d recorded %d times, want once", s, i, n)
			}
		}
	}
	if snap.State != workflows.Closed || snap.Approvals[0].Status != workflows.ApprovalApproved {
		t.Errorf("final state %s, approval %+v", snap.State, snap.Approvals)
	}
	t.Logf("%d acts over %d runs", senders*each, snap.Runs+1)
}
