package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// holdArgs are hold's flags, for the usage lines.
const holdArgs = "[--incidents 1000] [--address HOST:PORT] [--workers 1] [--declare-budget 0s] [--state DIR] [--worker-env KEY=VALUE ...]"

// holdOptions are hold's flags and the knobs its test turns.
type holdOptions struct {
	incidents, workers int
	address, state     string
	// idle is the window over which the idle worker's CPU is measured,
	// once its log has been quiet for quietFor (the declarations' pages,
	// posts and the incident documents' deferred second write done), or
	// settle has passed.
	idle, quietFor, settle time.Duration
	// declareBudget is the time allowed for declaring the incidents before
	// the handoff; zero picks one from the count.
	declareBudget time.Duration
	// handoffWait bounds the wait for every handoff after the handoff
	// instant.
	handoffWait time.Duration
	// scaleOut starts one more worker after the handoff and times when it
	// takes tasks; scaleOutIncidents are declared meanwhile to give it some.
	scaleOut          bool
	scaleOutIncidents int
	// workerEnv is extra environment for every worker process, such as
	// DATASEV_WORKER_WORKFLOW_POLLERS=8, over hold's own.
	workerEnv workerEnvFlag
}

// workerEnvFlag collects repeated --worker-env KEY=VALUE flags.
type workerEnvFlag []string

func (f *workerEnvFlag) String() string { return strings.Join(*f, " ") }

// Set takes one KEY=VALUE; the KEY may not be one hold sets itself, since
// hold reads the workers through those (their task queue, JSON log and
// metrics endpoint).
func (f *workerEnvFlag) Set(v string) error {
	k, _, ok := strings.Cut(v, "=")
	if !ok || k == "" || strings.ContainsAny(k, " \t") {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	if _, own := holdWorkerEnv("", "", "", "")[k]; own || k == service.EnvMetricsAddr {
		return fmt.Errorf("%s: hold sets it for the workers itself", k)
	}
	*f = append(*f, v)
	return nil
}

// apply sets the flags' variables in env.
func (f workerEnvFlag) apply(env map[string]string) {
	for _, kv := range f {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
}

func holdFlags(w io.Writer) (*flag.FlagSet, *holdOptions) {
	o := &holdOptions{idle: 30 * time.Second, quietFor: 20 * time.Second, settle: 3 * time.Minute, handoffWait: 5 * time.Minute, scaleOut: true, scaleOutIncidents: 20}
	fs := newFlagSet(w, "hold", "go run ./starter/dev hold "+holdArgs)
	fs.IntVar(&o.incidents, "incidents", 1000, "incidents held open at once (SEV3, no runbook)")
	fs.StringVar(&o.address, "address", "", "Temporal frontend to use (default: start an in-memory dev server for the run); TEMPORAL_NAMESPACE names its namespace")
	fs.IntVar(&o.workers, "workers", 1, "worker processes holding the incidents; one more is started afterwards to time a scale-out")
	fs.DurationVar(&o.declareBudget, "declare-budget", 0, "time allowed for declaring the incidents before the handoff is due (0: 20s plus 120ms per incident); the handoff is due this plus 3m40s after the workers start")
	fs.StringVar(&o.state, "state", "", "directory for the worker binary, its logs and files (default: a new temporary directory, removed afterwards)")
	fs.Var(&o.workerEnv, "worker-env", "extra KEY=VALUE environment for the worker processes, e.g. DATASEV_WORKER_WORKFLOW_POLLERS=8 (repeatable)")
	return fs, o
}

// check reports flag values that cannot work.
func (o *holdOptions) check() error {
	if o.incidents <= 0 || o.workers <= 0 || o.declareBudget < 0 {
		return usagef("hold: --incidents and --workers must be positive, --declare-budget not negative")
	}
	return nil
}

// runHold is the hold command: many incidents open on few workers, and
// what each worker costs while they wait and when a shift ends under them.
func runHold(ctx context.Context, e *env, args []string) error {
	fs, o := holdFlags(e.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	ns := ""
	if o.address != "" {
		ns = e.getenv("TEMPORAL_NAMESPACE")
	}
	rep, err := hold(ctx, *o, ns, e.stderr)
	if rep != nil {
		rep.print(e.stdout)
	}
	return err
}

// holdReport is what hold measured.
type holdReport struct {
	date                time.Time
	n, workers          int
	workerEnv           []string
	loadBefore          string
	loadAfter           string
	declareTook         time.Duration
	declareErrors       int
	lead                time.Duration
	handoffAt           time.Time
	nextCommander       string
	rssOpen, rssHandoff []int64
	peak                []int64
	idleCPU             []float64
	idleWindow          time.Duration
	idleNote            string
	// quiet says the workers' logs had been quiet for quietFor when the
	// idle window began.
	quiet    bool
	quietFor time.Duration
	// idleLines are the log lines the workers wrote during the window.
	idleLines            int
	summaries, pages     int
	summaryLat, pageLat  []time.Duration
	metricsBefore, after map[string]float64
	scaleOut             *scaleOutResult
	tasks                *taskScan
}

// taskScan is what the incidents' histories say of their workflow tasks
// from the handoff instant on.
type taskScan struct {
	incidents int
	// started are WorkflowTaskStarted events; timedOut WorkflowTaskTimedOut
	// (a sticky task not picked up within its schedule-to-start timeout
	// goes to the task queue again, to be replayed from the full history),
	// failed WorkflowTaskFailed; withTimeout the incidents with one.
	started, timedOut, failed, withTimeout int
	err                                    error
}

// scaleOutResult is what the scale-out phase saw of the added worker.
type scaleOutResult struct {
	workflowPoller, activityPoller time.Duration // since its start; 0 if never seen
	firstActivity                  time.Duration // its first notification delivered, since its start
	activities, others             int           // new incidents it, and the others, ran a notification of
	workflowTasks                  float64       // workflow tasks it ran (its SDK metrics)
	cpu                            float64       // its CPU % over the phase
	phase                          time.Duration
	n                              int
	note                           string
}

// Who commands before and after the boundary.
const (
	holdCommanderNow  = "hold-commander-a"
	holdCommanderNext = "hold-commander-b"
)

// holdRoster is a roster whose shift changes at boundary (UTC, a whole
// minute) with a handoff lead of lead: the Commander before it and the
// one after differ, so every open incident hands over.
func holdRoster(boundary time.Time, lead time.Duration) (oncall.Roster, error) {
	b := boundary.UTC()
	before := b.Add(-12 * time.Hour)
	r := oncall.Roster{
		Team: "hold", TimeZone: "UTC", HandoffLead: runbooks.Duration(lead),
		People: []oncall.Person{{ID: holdCommanderNow}, {ID: holdCommanderNext}},
		Shifts: []oncall.Shift{
			{Name: "before", Start: before.Format("15:04"), End: b.Format("15:04"), Commander: holdCommanderNow},
			{Name: "after", Start: b.Format("15:04"), End: before.Format("15:04"), Commander: holdCommanderNext},
		},
	}
	if err := r.Validate(); err != nil {
		return oncall.Roster{}, fmt.Errorf("hold roster: %w", err)
	}
	return r, nil
}

// handoffPlan picks the handoff instant at least ahead from now and the
// shift boundary after it: the boundary is the first whole minute at
// least a minute past the handoff, and the lead the difference.
func handoffPlan(now time.Time, ahead time.Duration) (handoff, boundary time.Time, lead time.Duration) {
	handoff = now.Add(ahead).Truncate(time.Second)
	boundary = handoff.Add(time.Minute).Truncate(time.Minute)
	if boundary.Before(handoff.Add(time.Minute)) {
		boundary = boundary.Add(time.Minute)
	}
	return handoff, boundary, boundary.Sub(handoff)
}

// hold runs the measurement and returns its report (partial on error).
func hold(ctx context.Context, o holdOptions, namespace string, progress io.Writer) (rep *holdReport, err error) {
	rep = &holdReport{date: time.Now().UTC(), n: o.incidents, workers: o.workers, loadBefore: loadAverage(), workerEnv: o.workerEnv}
	root, err := devstack.RepoRoot()
	if err != nil {
		return nil, err
	}
	state, logf, done, err := runState("hold", o.state, "workers.log", false)
	if err != nil {
		return nil, err
	}
	defer done()
	fmt.Fprintf(progress, "hold: state and logs in %s\n", state)

	addr := o.address
	if addr == "" {
		srv, err := quietDevServer(ctx, "hold", logf, progress, nil)
		if err != nil {
			return nil, err
		}
		defer func() { _ = srv.Stop() }()
		addr, namespace = srv.HostPort(), srv.Namespace()
	}
	if namespace == "" {
		namespace = client.DefaultNamespace
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: namespace, Logger: quietSDKLogger{}})
	if err != nil {
		return nil, fmt.Errorf("hold: connect to %s: %w", addr, err)
	}
	defer c.Close()

	exe, err := buildWorker(ctx, root, state, progress)
	if err != nil {
		return nil, err
	}
	taskQueue := "datasev-hold-" + time.Now().UTC().Format("150405")
	env := holdWorkerEnv(addr, namespace, taskQueue, state)
	o.workerEnv.apply(env)
	var workers []*holdWorker
	defer func() {
		for _, w := range workers {
			w.stop(15 * time.Second)
		}
	}()
	startOne := func() (*holdWorker, error) {
		we := maps.Clone(env)
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		we[service.EnvMetricsAddr] = "127.0.0.1:" + strconv.Itoa(port)
		w, err := startHoldWorker(len(workers)+1, exe, we, logf)
		if err != nil {
			return nil, err
		}
		workers = append(workers, w)
		return w, nil
	}
	for range o.workers {
		w, err := startOne()
		if err != nil {
			return rep, err
		}
		if _, _, err := waitPollers(ctx, c, taskQueue, w, 2*time.Minute); err != nil {
			return rep, err
		}
	}
	fmt.Fprintf(progress, "hold: %d worker(s) polling %s on %s\n", len(workers), taskQueue, addr)

	budget := o.declareBudget
	if budget == 0 {
		budget = 20*time.Second + time.Duration(o.incidents)*120*time.Millisecond
	}
	handoffAt, boundary, lead := handoffPlan(time.Now(), budget+o.settle+o.idle+10*time.Second)
	rep.lead, rep.handoffAt, rep.nextCommander = lead, handoffAt, holdCommanderNext
	roster, err := holdRoster(boundary, lead)
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(progress, "hold: shift boundary %s UTC, handoff lead %s: the handoff is due at %s\n",
		boundary.Format("15:04:05"), lead, handoffAt.UTC().Format("15:04:05"))

	// Declare.
	stamp := time.Now().UTC().Format("150405")
	start := time.Now()
	ids, errs := declareHold(ctx, c, roster, taskQueue, "hold-"+stamp, o.incidents, progress)
	rep.declareTook, rep.declareErrors = time.Since(start), errs
	if errs > 0 {
		return rep, fmt.Errorf("hold: %d of %d declarations failed (see above)", errs, o.incidents)
	}
	fmt.Fprintf(progress, "hold: %d incidents declared in %s\n", len(ids), rep.declareTook.Round(time.Millisecond))
	if time.Now().After(handoffAt) {
		return rep, fmt.Errorf("hold: declaring took %s, past the handoff at %s: the handoff fired while incidents were still being declared; rerun with a longer --declare-budget", rep.declareTook.Round(time.Second), handoffAt.Format("15:04:05"))
	}

	// Let the declarations' pages, posts and documents drain, then the
	// idle worker.
	fmt.Fprintf(progress, "hold: waiting up to %s for the workers' logs to be quiet for %s…\n", o.settle, o.quietFor)
	settleUntil := time.Now().Add(o.settle)
	for time.Now().Before(settleUntil) && time.Now().Before(handoffAt.Add(-o.idle)) && !quiet(workers, o.quietFor) {
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return rep, err
		}
	}
	rep.quiet, rep.quietFor = quiet(workers, o.quietFor), o.quietFor
	for _, w := range workers {
		rss, _, err := rssBytes(w.pid())
		if err != nil {
			return rep, err
		}
		rep.rssOpen = append(rep.rssOpen, rss)
	}
	rep.metricsBefore, _ = scrapeMetrics(ctx, workers[0].metricsAddr, holdMetrics...)
	window := min(o.idle, time.Until(handoffAt)-2*time.Second)
	if window < 5*time.Second {
		rep.idleNote = "not measured: the handoff was due before a 5 s window"
	} else {
		rep.idleWindow = window
		fmt.Fprintf(progress, "hold: measuring idle CPU over %s…\n", window.Round(time.Second))
		var wg sync.WaitGroup
		linesBefore := lineCount(workers)
		rep.idleCPU = make([]float64, len(workers))
		var firstErr atomic.Pointer[error]
		for i, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := cpuPercent(ctx, w.pid(), window)
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
				}
				rep.idleCPU[i] = p
			}()
		}
		wg.Wait()
		if p := firstErr.Load(); p != nil {
			return rep, *p
		}
		rep.idleLines = lineCount(workers) - linesBefore
	}
	if err := rep.waitHandoffs(ctx, workers, ids, o.handoffWait, progress); err != nil {
		return rep, err
	}
	for _, w := range workers {
		rss, peak, err := rssBytes(w.pid())
		if err != nil {
			return rep, err
		}
		rep.rssHandoff, rep.peak = append(rep.rssHandoff, rss), append(rep.peak, peak)
	}
	rep.after, _ = scrapeMetrics(ctx, workers[0].metricsAddr, holdMetrics...)
	fmt.Fprintf(progress, "hold: reading the %d incidents' histories…\n", len(ids))
	rep.tasks = scanTasks(ctx, c, ids, rep.handoffAt)

	if o.scaleOut {
		fmt.Fprintln(progress, "hold: starting one more worker…")
		w, err := startOne()
		if err != nil {
			return rep, err
		}
		rep.scaleOut, err = scaleOut(ctx, c, roster, taskQueue, "hold-"+stamp+"-more", w, workers[:len(workers)-1], o.scaleOutIncidents, progress)
		if err != nil {
			return rep, err
		}
	}
	rep.loadAfter = loadAverage()
	return rep, nil
}

// scanTasks reads the incidents' histories, eight at a time, and counts
// their workflow task events from since on.
func scanTasks(ctx context.Context, c client.Client, ids []string, since time.Time) *taskScan {
	ts := &taskScan{incidents: len(ids)}
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(8, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				var started, timedOut, failed int
				it := c.GetWorkflowHistory(ctx, ids[i], "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
				var err error
				for it.HasNext() {
					e, nerr := it.Next()
					if nerr != nil {
						err = fmt.Errorf("history of %s: %w", ids[i], nerr)
						break
					}
					if e.GetEventTime().AsTime().Before(since) {
						continue
					}
					switch e.GetEventType() {
					case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
						started++
					case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
						timedOut++
					case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
						failed++
					}
				}
				mu.Lock()
				ts.started, ts.timedOut, ts.failed = ts.started+started, ts.timedOut+timedOut, ts.failed+failed
				if timedOut > 0 {
					ts.withTimeout++
				}
				if err != nil && ts.err == nil {
					ts.err = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ts
}

// holdMetrics are the SDK metrics hold reports: the sticky cache and the
// workflow tasks.
var holdMetrics = []string{"sticky_cache", "workflow_task_execution_latency", "workflow_task_replay_latency", "activity_execution_latency"}

// holdWorkerEnv is the worker's environment: Temporal, its own task
// queue, files under state, the JSON log (where hold reads every
// notification, the log backend being the only notifier), and no
// integration.
func holdWorkerEnv(addr, namespace, taskQueue, state string) map[string]string {
	return map[string]string{
		"TEMPORAL_ADDRESS":                     addr,
		"TEMPORAL_NAMESPACE":                   namespace,
		service.EnvTaskQueue:                   taskQueue,
		service.EnvSealKeyFile:                 filepath.Join(state, "seal.key"),
		service.EnvLogFormat:                   "json",
		"DATASEV_POSTMORTEM_DIR":               filepath.Join(state, "postmortems"),
		"DATASEV_INCIDENT_DOC_DIR":             filepath.Join(state, "incidents"),
		"AWS_EC2_METADATA_DISABLED":            "true",
		"SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
		"SF_DISABLE_MINICORE":                  "true",
		"AWS_REGION":                           "us-east-1",
		"AWS_ACCESS_KEY_ID":                    "hold",
		"AWS_SECRET_ACCESS_KEY":                "hold",
	}
}

// waitPollers waits until the worker's workflow and activity pollers show
// on the task queue (its identity starts with its process ID) and returns
// how long after its start each was first seen.
func waitPollers(ctx context.Context, c client.Client, taskQueue string, w *holdWorker, limit time.Duration) (wf, act time.Duration, err error) {
	prefix := strconv.Itoa(w.pid()) + "@"
	deadline := time.Now().Add(limit)
	for wf == 0 || act == 0 {
		for _, q := range []struct {
			typ enumspb.TaskQueueType
			dst *time.Duration
		}{{enumspb.TASK_QUEUE_TYPE_WORKFLOW, &wf}, {enumspb.TASK_QUEUE_TYPE_ACTIVITY, &act}} {
			if *q.dst != 0 {
				continue
			}
			resp, err := c.DescribeTaskQueue(ctx, taskQueue, q.typ)
			if err != nil {
				continue
			}
			for _, p := range resp.GetPollers() {
				if strings.HasPrefix(p.GetIdentity(), prefix) {
					*q.dst = time.Since(w.started)
				}
			}
		}
		if !w.running() {
			return 0, 0, fmt.Errorf("worker %d exited while starting: %v (see the log)", w.n, w.waitErr)
		}
		if time.Now().After(deadline) {
			return wf, act, fmt.Errorf("worker %d: no poller on task queue %s after %s", w.n, taskQueue, limit)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return wf, act, err
		}
	}
	return wf, act, nil
}

// declareHold declares n incidents (SEV3, no runbook, keys prefix-0001…)
// eight at a time, with progress every tenth, and returns their workflow
// IDs and how many declarations failed (each failure printed).
func declareHold(ctx context.Context, c client.Client, roster oncall.Roster, taskQueue, prefix string, n int, progress io.Writer) ([]string, int) {
	var (
		mu   sync.Mutex
		ids  []string
		errs int
		next atomic.Int64
		wg   sync.WaitGroup
	)
	step := max(n/10, 1)
	for range min(8, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n || ctx.Err() != nil {
					return
				}
				d, err := incidents.Declare(ctx, c, incidents.DeclareRequest{
					Alert: workflows.Alert{
						Source: "hold", Title: fmt.Sprintf("hold: open incident %d of %d", i, n),
						DedupeKey: fmt.Sprintf("%s-%05d", prefix, i), Severity: workflows.SEV3, Service: "hold",
					},
					Roster: roster, TaskQueue: taskQueue,
				})
				mu.Lock()
				if err != nil {
					errs++
					fmt.Fprintf(progress, "hold: declaring incident %d: %v\n", i, err)
				} else {
					ids = append(ids, d.WorkflowID)
					if len(ids)%step == 0 {
						fmt.Fprintf(progress, "hold: %d/%d declared\n", len(ids), n)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(ids)
	return ids, errs
}

// lineCount is how many log lines the workers wrote so far.
func lineCount(ws []*holdWorker) int {
	n := 0
	for _, w := range ws {
		w.mu.Lock()
		n += w.lines
		w.mu.Unlock()
	}
	return n
}

// quiet reports whether no worker has logged anything for d.
func quiet(ws []*holdWorker, d time.Duration) bool {
	for _, w := range ws {
		if w.quietSince() < d {
			return false
		}
	}
	return true
}

// handoffs returns, per incident, when the workers delivered its handoff
// summary and its page to the next Commander.
func handoffs(ws []*holdWorker, nextCommander string) (summary, page map[string]time.Time) {
	summary, page = map[string]time.Time{}, map[string]time.Time{}
	for _, w := range ws {
		notes := w.notifications()
		for _, n := range notes {
			if !n.held && n.kind == string(workflows.NotifyHandoffSummary) {
				keepFirst(summary, n.incident, n.at)
			}
		}
		for id, at := range deliveredPages(notes, nextCommander, "handoff: ") {
			keepFirst(page, id, at)
		}
	}
	return summary, page
}

// keepFirst keeps the earlier of m[k] and t.
func keepFirst(m map[string]time.Time, k string, t time.Time) {
	if old, ok := m[k]; !ok || t.Before(old) {
		m[k] = t
	}
}

// deliveredPages returns, per incident, when one worker (its notes in log
// order) delivered a page to person whose subject starts with prefix: on
// its own, or in a digest. The worker's pacing gives a person a few pages
// at once, then holds the rest (a "held for a digest" line each) and
// delivers them together, one page "digest: N pages across M incidents"
// per window, the N oldest held first; a page alone in its digest goes
// out as itself.
func deliveredPages(notes []holdNote, person, prefix string) map[string]time.Time {
	out := map[string]time.Time{}
	var queue []holdNote
	for _, n := range notes {
		if n.kind != string(workflows.NotifyPage) || n.to != person {
			continue
		}
		var count, incidents int
		switch {
		case n.held:
			queue = append(queue, n)
		case sscan(n.subject, &count, &incidents) == 2:
			for _, h := range queue[:min(count, len(queue))] {
				if strings.HasPrefix(h.subject, prefix) {
					keepFirst(out, h.incident, n.at)
				}
			}
			queue = queue[min(count, len(queue)):]
		case strings.HasPrefix(n.subject, prefix):
			keepFirst(out, n.incident, n.at)
			// Held alone, delivered as itself.
			if i := slices.IndexFunc(queue, func(h holdNote) bool { return h.incident == n.incident && h.subject == n.subject }); i >= 0 {
				queue = slices.Delete(queue, i, i+1)
			}
		}
	}
	return out
}

// sscan reads a digest's subject, returning how many values it read (2
// for a digest).
func sscan(subject string, count, incidents *int) int {
	k, _ := fmt.Sscanf(subject, "digest: %d pages across %d incidents", count, incidents)
	return k
}

// waitHandoffs waits for the handoff instant, then until every incident's
// handoff summary and next-Commander page were delivered (or limit after
// the instant), and records the latencies from the instant.
func (rep *holdReport) waitHandoffs(ctx context.Context, ws []*holdWorker, ids []string, limit time.Duration, progress io.Writer) error {
	fmt.Fprintf(progress, "hold: waiting for the handoff at %s (%s from now)…\n", rep.handoffAt.UTC().Format("15:04:05"), time.Until(rep.handoffAt).Round(time.Second))
	if err := sleepCtx(ctx, time.Until(rep.handoffAt)); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	deadline := rep.handoffAt.Add(limit)
	lastSaid := time.Now()
	for {
		summary, page := handoffs(ws, rep.nextCommander)
		rep.summaries, rep.pages = countIn(summary, want), countIn(page, want)
		if rep.summaries == len(ids) && rep.pages == len(ids) {
			rep.summaryLat, rep.pageLat = latencies(summary, want, rep.handoffAt), latencies(page, want, rep.handoffAt)
			return nil
		}
		if time.Now().After(deadline) {
			rep.summaryLat, rep.pageLat = latencies(summary, want, rep.handoffAt), latencies(page, want, rep.handoffAt)
			return fmt.Errorf("hold: %s after the handoff instant, %d of %d handoff summaries and %d of %d next-Commander pages delivered", limit, rep.summaries, len(ids), rep.pages, len(ids))
		}
		if time.Since(lastSaid) >= 10*time.Second {
			fmt.Fprintf(progress, "hold: %s after the handoff instant: %d/%d summaries, %d/%d pages\n", time.Since(rep.handoffAt).Round(time.Second), rep.summaries, len(ids), rep.pages, len(ids))
			lastSaid = time.Now()
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// countIn counts the keys of m that want holds.
func countIn(m map[string]time.Time, want map[string]bool) int {
	n := 0
	for k := range m {
		if want[k] {
			n++
		}
	}
	return n
}

// latencies are the times in m (of the incidents want holds) after from,
// sorted.
func latencies(m map[string]time.Time, want map[string]bool, from time.Time) []time.Duration {
	var out []time.Duration
	for k, t := range m {
		if want[k] {
			out = append(out, t.Sub(from))
		}
	}
	slices.Sort(out)
	return out
}

// scaleOut times the added worker w: when its pollers show on the task
// queue, and, while n new incidents are declared (four a second), when it
// delivers its first notification; the others are the workers already
// running.
func scaleOut(ctx context.Context, c client.Client, roster oncall.Roster, taskQueue, prefix string, w *holdWorker, others []*holdWorker, n int, progress io.Writer) (*scaleOutResult, error) {
	res := &scaleOutResult{n: n}
	c0, err := cpuTime(w.pid())
	if err != nil {
		return nil, err
	}
	if res.workflowPoller, res.activityPoller, err = waitPollers(ctx, c, taskQueue, w, 2*time.Minute); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "hold: the added worker polls (workflow %s, activity %s after its start); declaring %d new incidents…\n",
		res.workflowPoller.Round(time.Millisecond), res.activityPoller.Round(time.Millisecond), n)
	var mine []string
	for i := 1; i <= n; i++ {
		d, err := incidents.Declare(ctx, c, incidents.DeclareRequest{
			Alert: workflows.Alert{
				Source: "hold", Title: fmt.Sprintf("hold: incident %d after the scale-out", i),
				DedupeKey: fmt.Sprintf("%s-%03d", prefix, i), Severity: workflows.SEV3, Service: "hold",
			},
			Roster: roster, TaskQueue: taskQueue,
		})
		if err != nil {
			return res, fmt.Errorf("hold: declaring scale-out incident %d: %w", i, err)
		}
		mine = append(mine, d.WorkflowID)
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return res, err
		}
	}
	want := map[string]bool{}
	for _, id := range mine {
		want[id] = true
	}
	// Every new incident pages its Commander: wait for those pages.
	deadline := time.Now().Add(time.Minute)
	for {
		seen, its, theirs := map[string]bool{}, map[string]bool{}, map[string]bool{}
		res.firstActivity = 0
		for _, x := range append([]*holdWorker{w}, others...) {
			for _, note := range x.notifications() {
				if !want[note.incident] {
					continue
				}
				seen[note.incident] = true
				if x != w {
					theirs[note.incident] = true
					continue
				}
				its[note.incident] = true
				if d := note.at.Sub(w.started); res.firstActivity == 0 || d < res.firstActivity {
					res.firstActivity = d
				}
			}
		}
		res.activities, res.others = len(its), len(theirs)
		if len(seen) == len(mine) && quiet(append([]*holdWorker{w}, others...), 2*time.Second) {
			break
		}
		if time.Now().After(deadline) {
			res.note = fmt.Sprintf("only %d of %d new incidents notified within a minute", len(seen), len(mine))
			break
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return res, err
		}
	}
	c1, err := cpuTime(w.pid())
	if err != nil {
		return res, err
	}
	res.phase = time.Since(w.started)
	res.cpu = 100 * float64(c1-c0) / float64(res.phase)
	m, err := scrapeMetrics(ctx, w.metricsAddr, "workflow_task_execution_latency")
	if err == nil {
		for _, v := range m {
			res.workflowTasks += v
		}
	}
	return res, nil
}

// pct is the p-th percentile (0 < p ≤ 100, nearest rank) of sorted d.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d))*p/100+0.999999) - 1
	return d[max(0, min(i, len(d)-1))]
}

// print writes the report's table.
func (rep *holdReport) print(w io.Writer) {
	mb := func(b []int64) string {
		var s []string
		for _, v := range b {
			s = append(s, fmt.Sprintf("%.0f MB", float64(v)/(1<<20)))
		}
		return orText(strings.Join(s, ", "), "-")
	}
	fmt.Fprintf(w, "hold: %s, %d incidents (SEV3, no runbook), %d worker process(es), load average %s before, %s after (2 cores, shared with other engineers' builds and tests)\n",
		rep.date.Format("2006-01-02 15:04 UTC"), rep.n, rep.workers, orText(rep.loadBefore, "?"), orText(rep.loadAfter, "?"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tvalue\tgoal")
	fmt.Fprintf(tw, "worker environment (--worker-env)\t%s\t\n", orText(strings.Join(rep.workerEnv, " "), "hold's own only: the SDK's defaults"))
	fmt.Fprintf(tw, "declare %d incidents (8 at a time)\t%s (%d errors)\t\n", rep.n, rep.declareTook.Round(time.Millisecond), rep.declareErrors)
	fmt.Fprintf(tw, "worker RSS, all open\t%s\t≤ 300 MB\n", mb(rep.rssOpen))
	if len(rep.idleCPU) > 0 {
		var s []string
		for _, p := range rep.idleCPU {
			s = append(s, fmt.Sprintf("%.1f%%", p))
		}
		when := fmt.Sprintf("its log quiet for %s before", rep.quietFor)
		if !rep.quiet {
			when = fmt.Sprintf("its log never quiet for %s before", rep.quietFor)
		}
		fmt.Fprintf(tw, "worker CPU idle, over %s (%s; %d log lines during it)\t%s of one core\t\n", rep.idleWindow.Round(time.Second), when, rep.idleLines, strings.Join(s, ", "))
	} else {
		fmt.Fprintf(tw, "worker CPU idle\t%s\t\n", orText(rep.idleNote, "-"))
	}
	fmt.Fprintf(tw, "handoff (lead %s, due %s)\t\t\n", rep.lead, rep.handoffAt.UTC().Format("15:04:05"))
	fmt.Fprintf(tw, "  handoff summaries delivered\t%d of %d\tall\n", rep.summaries, rep.n)
	fmt.Fprintf(tw, "  next Commander paged\t%d of %d\tall\n", rep.pages, rep.n)
	fmt.Fprintf(tw, "  summary after the instant p50 / p100\t%s / %s\t≤ 60 s\n", pct(rep.summaryLat, 50).Round(time.Millisecond), pct(rep.summaryLat, 100).Round(time.Millisecond))
	fmt.Fprintf(tw, "  page after the instant p50 / p100\t%s / %s\t≤ 60 s\n", pct(rep.pageLat, 50).Round(time.Millisecond), pct(rep.pageLat, 100).Round(time.Millisecond))
	fmt.Fprintf(tw, "worker RSS after the handoff (peak)\t%s (%s)\t≤ 300 MB\n", mb(rep.rssHandoff), mb(rep.peak))
	for _, name := range slices.Sorted(maps.Keys(rep.after)) {
		b := rep.metricsBefore[name]
		fmt.Fprintf(tw, "worker 1 %s\t%.0f before the handoff, %.0f after (+%.0f)\t\n", name, b, rep.after[name], rep.after[name]-b)
	}
	stickyCache, stickyTimeout := "10000 workflows (the SDK's default)", "5s (the SDK's default)"
	for _, kv := range rep.workerEnv {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case service.EnvStickyCache:
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				stickyCache = v + " workflows (" + k + ")"
			}
		case service.EnvStickyTimeout:
			stickyTimeout = v + " (" + k + ")"
		}
	}
	fmt.Fprintf(tw, "sticky cache capacity, per process\t%s\t\n", stickyCache)
	fmt.Fprintf(tw, "sticky schedule-to-start timeout\t%s\t\n", stickyTimeout)
	if t := rep.tasks; t != nil {
		if t.err != nil {
			fmt.Fprintf(tw, "histories from the handoff on\tnot all read: %v\t\n", t.err)
		}
		fmt.Fprintf(tw, "workflow tasks from the handoff on (histories)\t%d started, %.1f per incident\t\n", t.started, float64(t.started)/float64(max(t.incidents, 1)))
		fmt.Fprintf(tw, "  timed out (sticky not picked up in time: replayed in full)\t%d, in %d of %d incidents\t\n", t.timedOut, t.withTimeout, t.incidents)
		fmt.Fprintf(tw, "  failed\t%d\t\n", t.failed)
	}
	if s := rep.scaleOut; s != nil {
		fmt.Fprintln(tw, "added worker (scale-out)\t\t")
		fmt.Fprintf(tw, "  its workflow / activity pollers seen\t%s / %s after its start\t\n", s.workflowPoller.Round(time.Millisecond), s.activityPoller.Round(time.Millisecond))
		first := "never"
		if s.firstActivity > 0 {
			first = s.firstActivity.Round(time.Millisecond).String() + " after its start"
		}
		fmt.Fprintf(tw, "  its first notification delivered\t%s\t\n", first)
		fmt.Fprintf(tw, "  new incidents it ran a notification of\t%d of %d (the others: %d)\t\n", s.activities, s.n, s.others)
		fmt.Fprintf(tw, "  workflow tasks it ran\t%.0f\t\n", s.workflowTasks)
		fmt.Fprintf(tw, "  its CPU over %s\t%.1f%% of one core\t\n", s.phase.Round(time.Second), s.cpu)
		if s.note != "" {
			fmt.Fprintf(tw, "  note\t%s\t\n", s.note)
		}
	}
	tw.Flush()
}
