package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
)

// costArgs are cost's flags, for the usage lines.
const costArgs = "[--state DIR]"

// costOptions are cost's flags.
type costOptions struct {
	state string
	// incidentWait bounds one incident's script, closure included.
	incidentWait time.Duration
}

func costFlags(w io.Writer) (*flag.FlagSet, *costOptions) {
	o := &costOptions{incidentWait: 8 * time.Minute}
	fs := newFlagSet(w, "cost", "go run ./starter/dev cost "+costArgs)
	fs.StringVar(&o.state, "state", "", "directory for the worker binary, keys, logs and files (default: a new temporary directory, removed afterwards)")
	return fs, o
}

// costCloseAfter is how long a resolved incident of the cost run stays
// open to a recurrence before it closes.
const costCloseAfter = 5 * time.Second

// runCost is the cost command: each library runbook's incident (and the
// demo's) driven once to closure against the stand-ins, then what its
// workflows' histories hold.
func runCost(ctx context.Context, e *env, args []string) error {
	fs, o := costFlags(e.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rows, err := cost(ctx, *o, e.stderr)
	printCost(e.stdout, time.Now().UTC(), rows)
	return err
}

// costRow is one runbook's incident and what its histories hold.
type costRow struct {
	runbook, kind, id string
	// final is the incident's last state; err what went wrong driving it.
	final   workflows.State
	err     error
	inc, rb historyCounts
	// open notes a workflow still running when its history was read.
	open []string
}

// cost builds the assembly the chaos run's baseline round uses, on a dev
// server: the stand-ins, the worker binary as a process configured for
// them, the intake in this process; then it drives the round's four
// incidents (the three library runbooks' and the demo's) to resolution
// with chaos's script, adds the closure inputs, waits for each incident to
// close and counts its histories.
func cost(ctx context.Context, o costOptions, progress io.Writer) ([]*costRow, error) {
	root, err := devstack.RepoRoot()
	if err != nil {
		return nil, err
	}
	state, logf, done, err := runState("cost", o.state, "cost.log", false)
	if err != nil {
		return nil, err
	}
	defer done()
	fmt.Fprintf(progress, "cost: state and logs in %s\n", state)
	srv, err := quietDevServer(ctx, "cost", logf, progress, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Stop() }()

	r := &chaosRig{root: root, state: state, log: logf, activityKilled: map[string]bool{}}
	defer r.close()
	if err := r.setupPeople(); err != nil {
		return nil, err
	}
	if r.stand, err = startStandIns(time.Now(), r.roster); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.stand.Close)
	exe, err := buildWorker(ctx, root, state, progress)
	if err != nil {
		return nil, err
	}
	env, err := costWorkerEnv(r, srv.HostPort(), srv.Namespace())
	if err != nil {
		return nil, err
	}
	w, err := startHoldWorker(1, exe, env, logf)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { w.stop(15 * time.Second) })
	if r.c, err = client.Dial(client.Options{HostPort: srv.HostPort(), Namespace: srv.Namespace(), Logger: quietSDKLogger{}}); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.c.Close)
	if _, _, err := waitPollers(ctx, r.c, workflows.TaskQueue, w, 2*time.Minute); err != nil {
		return nil, err
	}
	if err := r.startIntake(srv.Namespace()); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "cost: worker polling on %s, intake at %s\n", srv.HostPort(), r.intakeURL)

	// Round 0 of the chaos run: fresh data for the runbooks to act on,
	// then its four incidents driven at once.
	now := time.Now()
	r.stand.github.Commit(ghtest.DemoRepo, "main", "Dana Wright", "orders: amounts in cents (cost run)", map[string]string{
		"models/marts/orders.sql": "select id, customer_id, amount * 100 as amount -- cost run\nfrom {{ ref('stg_orders') }}\nwhere status = 'paid'\n",
	}, now)
	r.stand.airflow.SeedRunAt(aftest.DemoDAG, "scheduled__cost", now.Add(-20*time.Minute), map[string]string{
		"extract_orders": "success", "load_orders": "failed", "dbt_run": "upstream_failed", "publish_dashboard": "upstream_failed",
	})
	var rows []*costRow
	var wg sync.WaitGroup
	for _, a := range r.chaosAlerts(now.UTC().Format("150405") + "-cost") {
		row := &costRow{kind: a.Labels["alertname"], runbook: "(none)"}
		rows = append(rows, row)
		inc := &chaosIncident{kind: row.kind, alert: a}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ictx, cancel := context.WithTimeout(ctx, o.incidentWait)
			defer cancel()
			row.err = r.toClosure(ictx, inc, progress)
			row.id, row.final = inc.workflowID(), inc.final
		}()
	}
	wg.Wait()
	var errs []error
	for _, row := range rows {
		if row.err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", row.runbook, row.kind, row.err))
		}
		if row.id == "" {
			continue
		}
		if err := row.count(ctx, r.c); err != nil {
			errs = append(errs, fmt.Errorf("%s: histories: %w", row.runbook, err))
		}
	}
	return rows, errors.Join(errs...)
}

// costWorkerEnv is the worker's environment as the chaos rig makes it,
// without the compose file: Temporal, the roster and runbooks, files under
// the state directory, the JSON log, and every integration on its
// stand-in with the target policy for the stand-ins' data.
func costWorkerEnv(r *chaosRig, addr, namespace string) (map[string]string, error) {
	runbookDir := filepath.Join(r.state, "runbooks")
	if err := writeLayer(devstack.DemoRunbooks(), runbookDir); err != nil {
		return nil, err
	}
	env := holdWorkerEnv(addr, namespace, workflows.TaskQueue, r.state)
	env[service.EnvRoster] = r.keys.rosterFile
	env[service.EnvRunbooks] = runbookDir
	policy := r.stand.loaderTargets()
	for _, in := range r.stand.integrations() {
		for k, v := range in.env {
			env[k] = v
		}
		for k, v := range in.process {
			env[k] = v
		}
		for k, v := range in.targets {
			policy[k] = joinList(policy[k], v)
		}
	}
	for k, v := range policy {
		env[target.Env(k)] = v
	}
	return env, nil
}

// startIntake serves the intake in this process, with a generic bearer
// token, incidents closing costCloseAfter after resolution.
func (r *chaosRig) startIntake(namespace string) error {
	r.token = randomHex(16)
	h, err := intake.New(r.c, r.roster, r.set, intake.Auth{GenericToken: r.token}, slog.New(slog.NewTextHandler(r.log, nil)),
		intake.Options{Namespace: namespace, WorkflowOptions: workflows.Options{CloseAfter: costCloseAfter}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	r.intakeURL = "http://" + ln.Addr().String()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: intake.MaxHeaderBytes}
	go func() { _ = hs.Serve(ln) }()
	r.closers = append(r.closers, func() { _ = hs.Close() })
	return nil
}

// toClosure drives inc with chaos's script to resolution, sends the
// closure inputs (root cause, contributing factor, action item) and waits
// for the incident's workflow to end.
func (r *chaosRig) toClosure(ctx context.Context, inc *chaosIncident, progress io.Writer) error {
	if err := r.drive(ctx, inc); err != nil {
		return err
	}
	fmt.Fprintf(progress, "cost: %s resolved; sending the closure inputs\n", inc.workflowID())
	cast, err := pickCast(r.roster, time.Now())
	if err != nil {
		return err
	}
	for _, a := range closureActs(cast) {
		if err := r.act(ctx, inc, a.who, a.name, a.act); err != nil {
			return err
		}
	}
	if err := r.c.GetWorkflow(ctx, inc.workflowID(), "").Get(ctx, nil); err != nil {
		return fmt.Errorf("waiting for the incident to close: %w", err)
	}
	if st, err := incidents.Status(ctx, r.c, inc.workflowID()); err == nil {
		inc.final = st.State
	}
	fmt.Fprintf(progress, "cost: %s closed\n", inc.workflowID())
	return nil
}

// count reads the incident's runs and its runbook children's runs and
// counts them.
func (row *costRow) count(ctx context.Context, c client.Client) error {
	if st, err := incidents.Status(ctx, c, row.id); err == nil && st.Runbook != "" {
		row.runbook = st.Runbook
	}
	runs, err := allRuns(ctx, c, row.id)
	if err != nil {
		return err
	}
	children := map[string]bool{}
	var order []string
	for _, h := range runs {
		row.inc.add(countHistory(h.events))
		if h.running {
			row.open = append(row.open, row.id)
		}
		for _, e := range h.events {
			if a := e.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				if id := a.GetWorkflowExecution().GetWorkflowId(); !children[id] {
					children[id] = true
					order = append(order, id)
				}
			}
		}
	}
	for _, id := range order {
		runs, err := allRuns(ctx, c, id)
		if err != nil {
			return err
		}
		for _, h := range runs {
			row.rb.add(countHistory(h.events))
			if h.running {
				row.open = append(row.open, id)
			}
		}
	}
	return nil
}

// runHistory is one run's history.
type runHistory struct {
	runID   string
	events  []*historypb.HistoryEvent
	running bool
}

// allRuns reads every run of workflow id, first to last: the latest run,
// then back along each run's continued-from run.
func allRuns(ctx context.Context, c client.Client, id string) ([]runHistory, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	running := info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	var out []runHistory
	for runID != "" {
		var events []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return nil, fmt.Errorf("history of %s run %s: %w", id, runID, err)
			}
			events = append(events, e)
		}
		out = append([]runHistory{{runID: runID, events: events, running: running}}, out...)
		running = false
		runID = ""
		if len(events) > 0 {
			runID = events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		}
		if len(out) > 1000 {
			return nil, fmt.Errorf("history of %s: more than 1000 runs", id)
		}
	}
	return out, nil
}

// printCost writes the table: per runbook, its incident's workflow, its
// runbook's workflow and both together.
func printCost(w io.Writer, date time.Time, rows []*costRow) {
	fmt.Fprintf(w, "cost: %s, one incident per runbook driven to closure against the stand-ins (acknowledge, approve what the runbook asks, resolve, closure inputs; closes %s after resolution)\n",
		date.Format("2006-01-02 15:04 UTC"), costCloseAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runbook\tworkflow\truns\tevents\tworkflow tasks\tactivities\tattempts\ttimers\tsignals in\tsignals out\tupdates\tchildren\tupserts\tside effects\tLA tasks\tbillable actions\t")
	line := func(name, what string, c historyCounts) {
		fmt.Fprintf(tw, "%s\t%s", name, what)
		for _, v := range []int{c.runs, c.events, c.workflowTasks, c.activities, c.attempts, c.timers, c.signals, c.signalsSent, c.updates, c.children, c.upserts, c.sideEffects, c.localActivityTasks, c.actions} {
			fmt.Fprintf(tw, "\t%s", strconv.Itoa(v))
		}
		fmt.Fprintln(tw, "\t")
	}
	for _, r := range rows {
		line(r.runbook, "incident", r.inc)
		line("", "runbook", r.rb)
		total := r.inc
		total.add(r.rb)
		line("", "total", total)
	}
	tw.Flush()
	for _, r := range rows {
		switch {
		case r.err != nil:
			fmt.Fprintf(w, "%s (%s, %s): %v\n", r.runbook, r.kind, orText(r.id, "not declared"), r.err)
		case r.final != "" && r.final != workflows.Closed:
			fmt.Fprintf(w, "%s (%s): ended %s, not closed\n", r.runbook, r.id, r.final)
		}
		if len(r.open) > 0 {
			fmt.Fprintf(w, "%s: still running when read (partial history): %v\n", r.runbook, r.open)
		}
	}
	fmt.Fprintln(w, "billable actions: Temporal Cloud's list (docs.temporal.io/cloud/actions) as a history shows it: workflow started (client, continue-as-new;")
	fmt.Fprintln(w, "a child's start counts 2 at its parent), Signal-With-Start 1 in all, signal received, timer started, update accepted, activity")
	fmt.Fprintln(w, "attempt, local activities 1 per workflow task, side effect, search attribute upsert; not counted (not in histories): queries")
	fmt.Fprintln(w, "(the script polls status and timeline every second), heartbeats, rejected updates.")
}
