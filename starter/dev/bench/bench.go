// Package bench measures datasev's alert-to-first-activity latency on a real
// Temporal server against the engine's own floor: an empty workflow with one
// no-op activity, on the same server, in the same run.
//
// For each sample T0 is taken just before the client call that starts the
// workflow, and T1 when the workflow's first activity starts executing in
// this process's worker (a worker interceptor notes it on entry, before the
// activity function runs; for incidents the activity is the real
// notify.Activities.Notify paging the Commander). Four scenarios run N
// workflows each: the floor and the incident started the normal way (the
// incident exactly as the intake does it, with SignalWithStart), and both
// again with eager workflow start, where the server hands the first workflow
// task back in the start response to a worker in the starting process.
//
// Between samples each run is left to settle (no workflow task or activity
// pending) so that one sample's follow-up work does not land in the next
// sample's window; with Concurrency > 1 the samples overlap by design.
package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/activities/lifecycle/seal"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/oncall"
)

// TaskQueue is the bench's own task queue, so a datasev worker polling
// workflows.TaskQueue on the same server never picks up bench work.
const TaskQueue = "datasev-bench"

// Registered names of the floor workflow and its activity.
const (
	FloorWorkflowName = "DatasevBenchFloor"
	FloorActivityName = "DatasevBenchNoop"
)

// Scenario names, in the order they run and print.
const (
	FloorStart       = "floor (start)"
	IncidentSignal   = "incident (signal-with-start)"
	FloorEager       = "floor (eager start)"
	IncidentEager    = "incident (eager start)"
	terminateReason  = "bench"
	defaultN         = 200
	warmupPerKind    = 5
	sampleTimeout    = 30 * time.Second
	settleTimeout    = 15 * time.Second
	settlePoll       = 5 * time.Millisecond
	progressInterval = 10 * time.Second
)

// TargetRatio is DESIGN.md's bound on incident latency over the floor.
const TargetRatio = 1.25

// EagerWorkflowStartConfig is the dynamic config the bench's own dev server
// gets. It is the server's default (true) in the pinned version; setting it
// keeps the bench independent of that default.
const EagerWorkflowStartConfig = "system.enableEagerWorkflowStart=true"

// Options configure a run.
type Options struct {
	// N is the number of measured workflows per scenario; default 200.
	N int
	// Concurrency is how many samples are in flight at once; default 1.
	Concurrency int
	// Address is a Temporal frontend, host:port. Empty starts a headless
	// in-memory dev server (devstack) for the run and stops it afterwards.
	Address string
	// Namespace is used with Address; default "default".
	Namespace string
	// DynamicConfig adds "key=value" settings (value in JSON) to the dev
	// server the bench starts; ignored with Address. For example
	// `history.transferProcessorMaxPollRPS=1000` lifts the limit on the dev
	// server's single history shard that makes each task hop ~40 ms.
	DynamicConfig []string
	// Roster seeds the incidents' roles; the zero value is a one-person
	// roster with a single 24-hour shift, so nothing depends on the hour.
	Roster oncall.Roster
}

// Result is one scenario's figures.
type Result struct {
	// Name is one of the scenario constants.
	Name string
	// Samples are the measured latencies, in run order.
	Samples []time.Duration
	// P50, P95, P99 (nearest rank) and Mean of Samples.
	P50, P95, P99, Mean time.Duration
	// EagerRequested counts start calls the SDK sent with eager execution
	// requested; EagerGranted those the server answered with the first
	// workflow task inline. Both zero for signal-with-start, which cannot be
	// eager.
	EagerRequested, EagerGranted int
	// Elapsed is the scenario's wall-clock time, settling included.
	Elapsed time.Duration
}

// Report is a run's outcome.
type Report struct {
	// Scenarios in run order: FloorStart, IncidentSignal, FloorEager,
	// IncidentEager.
	Scenarios []Result
	// RatioStart is incident (signal-with-start) p50 over floor (start) p50;
	// RatioEager is incident (eager) p50 over floor (eager) p50.
	RatioStart, RatioEager float64
	// EagerOverFloor is incident (eager) p50 over floor (start) p50: what an
	// intake sharing a process with a worker gets against the plain floor.
	EagerOverFloor float64
	// Address is the server measured.
	Address string
	// DynamicConfig is what the bench's own dev server got; nil with
	// Options.Address.
	DynamicConfig []string
	// Concurrency used.
	Concurrency int
	// Elapsed is the whole run, server start included.
	Elapsed time.Duration
}

// Scenario returns the named scenario's result.
func (r Report) Scenario(name string) (Result, bool) {
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Result{}, false
}

// DefaultRoster is the roster used when Options.Roster is empty: one person
// commanding a single shift that covers the whole day.
func DefaultRoster() oncall.Roster {
	return oncall.Roster{
		Team:     "bench",
		TimeZone: "UTC",
		People:   []oncall.Person{{ID: "bench", Name: "Bench Commander"}},
		Shifts:   []oncall.Shift{{Name: "all-day", Start: "00:00", End: "00:00", Commander: "bench"}},
	}
}

// FloorWorkflow is the engine's floor: one no-op activity, then done.
func FloorWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	return workflow.ExecuteActivity(ctx, FloorActivityName).Get(ctx, nil)
}

// FloorActivity does nothing; its start is what the floor measures.
func FloorActivity(context.Context) error { return nil }

// discardBackend delivers nowhere, so the measured notify.Activities.Notify
// does its real work minus any I/O.
type discardBackend struct{}

func (discardBackend) Name() string                                          { return "bench" }
func (discardBackend) Deliver(context.Context, workflows.Notification) error { return nil }

// discardDocument stands in for the incident document's store: the
// incident's document sync does its scheduling work, without I/O.
func discardDocument(_ context.Context, r workflows.Report) (workflows.DocumentResult, error) {
	return workflows.DocumentResult{URL: "file:///dev/null#" + r.ID}, nil
}

// Run measures the four scenarios and prints progress and then the table to
// out. Workflows it started are left completed or terminated (reason
// "bench"), also when ctx is cancelled.
func Run(ctx context.Context, opts Options, out io.Writer) (Report, error) {
	began := time.Now()
	if out == nil {
		out = io.Discard
	}
	if opts.N <= 0 {
		opts.N = defaultN
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Roster.Team == "" && len(opts.Roster.Shifts) == 0 {
		opts.Roster = DefaultRoster()
	}
	if err := opts.Roster.Validate(); err != nil {
		return Report{}, fmt.Errorf("bench roster: %w", err)
	}

	addr := opts.Address
	var dynamicConfig []string
	if addr == "" {
		fmt.Fprintln(out, "bench: starting an in-memory Temporal dev server…")
		srvLog := &tailBuffer{max: 8192}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Minute) // includes a first CLI build
		srv, err := devstack.Start(sctx, devstack.Options{
			DynamicConfig: append([]string{EagerWorkflowStartConfig}, opts.DynamicConfig...),
			Stdout:        io.Discard,
			Stderr:        srvLog,
			Logger:        slog.New(slog.NewTextHandler(srvLog, &slog.HandlerOptions{Level: slog.LevelError})),
		})
		cancel()
		if err != nil {
			return Report{}, fmt.Errorf("bench: dev server: %w\n%s", err, srvLog.String())
		}
		defer func() { _ = srv.Stop() }()
		dynamicConfig = append([]string{EagerWorkflowStartConfig}, opts.DynamicConfig...)
		addr = srv.HostPort()
		opts.Namespace = srv.Namespace()
	}

	b := &bench{opts: opts, rec: newRecorder(), out: out}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  addr,
		Namespace: opts.Namespace,
		Logger:    log.NewStructuredLogger(slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelError}))),
		ConnectionOptions: client.ConnectionOptions{
			DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(b.eager.intercept)},
		},
	})
	if err != nil {
		return Report{}, fmt.Errorf("bench: connect to %s: %w", addr, err)
	}
	defer c.Close()
	b.c = c

	// One worker, built on the same client as the starts: the SDK only
	// requests an eager start when a worker for the task queue runs on the
	// client making the call.
	w := worker.New(c, TaskQueue, worker.Options{
		Interceptors: []interceptor.WorkerInterceptor{&startInterceptor{rec: b.rec}},
	})
	w.RegisterWorkflowWithOptions(incident.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	notify.Register(w, &notify.Activities{Backend: discardBackend{}})
	// The incident seals what it sends its runbook (and checks what comes
	// back) through these; the bench's incidents run no runbook, but a
	// worker of the incident workflow registers them all the same.
	sealer, err := seal.New(sealKey())
	if err != nil {
		return Report{}, fmt.Errorf("bench: %w", err)
	}
	seal.Register(w, sealer)
	w.RegisterActivityWithOptions(discardDocument, activity.RegisterOptions{Name: workflows.DocumentActivityName})
	w.RegisterWorkflowWithOptions(FloorWorkflow, workflow.RegisterOptions{Name: FloorWorkflowName})
	w.RegisterActivityWithOptions(FloorActivity, activity.RegisterOptions{Name: FloorActivityName})
	if err := w.Start(); err != nil {
		return Report{}, fmt.Errorf("bench: worker: %w", err)
	}
	defer w.Stop()
	// Cleanup runs before the worker stops (defers run last-in first-out).
	defer b.cleanup()

	rep := Report{Address: addr, DynamicConfig: dynamicConfig, Concurrency: opts.Concurrency}
	res, err := b.interleaved(ctx, b.scenarios())
	if err != nil {
		return rep, err
	}
	rep.Scenarios = res
	p50 := func(name string) time.Duration { r, _ := rep.Scenario(name); return r.P50 }
	rep.RatioStart = ratio(p50(IncidentSignal), p50(FloorStart))
	rep.RatioEager = ratio(p50(IncidentEager), p50(FloorEager))
	rep.EagerOverFloor = ratio(p50(IncidentEager), p50(FloorStart))
	rep.Elapsed = time.Since(began)
	fmt.Fprintln(out)
	rep.Print(out)
	return rep, nil
}

// Print writes the table and the ratios.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%-29s %5s %7s %7s %7s %7s %7s\n", "scenario", "n", "p50", "p95", "p99", "mean", "eager")
	for _, s := range r.Scenarios {
		eager := "-"
		if s.EagerRequested > 0 || strings.Contains(s.Name, "eager") {
			eager = fmt.Sprintf("%d/%d", s.EagerGranted, len(s.Samples))
		}
		fmt.Fprintf(w, "%-29s %5d %7.1f %7.1f %7.1f %7.1f %7s\n", s.Name, len(s.Samples), ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Mean), eager)
	}
	fmt.Fprintln(w, "(ms from the client call to the first activity's start; eager: starts the server answered with the first workflow task inline)")
	fmt.Fprintf(w, "ratio incident/floor, normal start (p50): %.2f  (target ≤ %.2f)\n", r.RatioStart, TargetRatio)
	fmt.Fprintf(w, "ratio incident/floor, eager start  (p50): %.2f  (target ≤ %.2f)\n", r.RatioEager, TargetRatio)
	fmt.Fprintf(w, "ratio incident (eager) / floor (start) (p50): %.2f\n", r.EagerOverFloor)
	server := r.Address
	if r.DynamicConfig != nil {
		server = "dev server " + r.Address + " (" + strings.Join(r.DynamicConfig, ", ") + ")"
	}
	fmt.Fprintf(w, "%s, concurrency %d, run took %s\n", server, r.Concurrency, r.Elapsed.Round(100*time.Millisecond))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// bench is one run's shared state.
type bench struct {
	opts  Options
	c     client.Client
	rec   *recorder
	out   io.Writer
	eager eagerCounter
	tag   string

	mu        sync.Mutex
	incidents []string // every incident started: terminated at the end
	floors    []string // floor runs not seen closed: terminated at the end
	seq       atomic.Int64
}

// scenarioDef says how to start one sample.
type scenarioDef struct {
	name     string
	incident bool
	start    func(ctx context.Context, id string) error
}

func (b *bench) scenarios() []scenarioDef {
	b.tag = uuid.NewString()[:8]
	return []scenarioDef{
		{name: FloorStart, start: func(ctx context.Context, id string) error { return b.startFloor(ctx, id, false) }},
		{name: IncidentSignal, incident: true, start: b.signalWithStartIncident},
		{name: FloorEager, start: func(ctx context.Context, id string) error { return b.startFloor(ctx, id, true) }},
		{name: IncidentEager, incident: true, start: b.eagerIncident},
	}
}

func (b *bench) startFloor(ctx context.Context, id string, eager bool) error {
	_, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:               id,
		TaskQueue:        TaskQueue,
		EnableEagerStart: eager,
	}, FloorWorkflowName)
	return err
}

// alert builds the alert and incident input the intake would for a key.
func (b *bench) alert(key string) (workflows.Alert, oncall.OnDuty, error) {
	a := workflows.Alert{
		ID:        uuid.NewString(),
		Source:    "bench",
		Title:     "bench alert " + key,
		DedupeKey: key,
		Severity:  workflows.SEV3,
		Service:   "bench",
	}
	if err := a.Validate(); err != nil {
		return a, oncall.OnDuty{}, err
	}
	now := time.Now()
	a.ReceivedAt = now.UTC()
	duty, err := incidents.OnDuty(b.opts.Roster, now)
	return a, duty, err
}

// incidentStart is what the intake would start incident id with: the
// alert, the workflow's input and incidents.StartOptions (on the bench's
// task queue instead of workflows.TaskQueue).
func (b *bench) incidentStart(id string) (workflows.Alert, workflows.IncidentInput, client.StartWorkflowOptions, error) {
	a, duty, err := b.alert(strings.TrimPrefix(id, workflows.WorkflowIDPrefix))
	if err != nil {
		return a, workflows.IncidentInput{}, client.StartWorkflowOptions{}, err
	}
	opts := incidents.StartOptions(id, a, "", duty)
	opts.TaskQueue = TaskQueue
	return a, workflows.IncidentInput{Alert: a, Roster: b.opts.Roster}, opts, nil
}

// signalWithStartIncident starts an incident with the intake's own call:
// incidents.StartOptions and SignalWithStart of the alert (on the bench's
// task queue instead of workflows.TaskQueue).
func (b *bench) signalWithStartIncident(ctx context.Context, id string) error {
	a, in, opts, err := b.incidentStart(id)
	if err != nil {
		return err
	}
	_, err = b.c.SignalWithStartWorkflow(ctx, id, workflows.SignalAlert, a, opts, workflows.IncidentWorkflowName, in)
	return err
}

// eagerIncident starts an incident with the same options and input, but
// as a plain eager start (SignalWithStart cannot be eager).
func (b *bench) eagerIncident(ctx context.Context, id string) error {
	_, in, opts, err := b.incidentStart(id)
	if err != nil {
		return err
	}
	opts.EnableEagerStart = true
	_, err = b.c.ExecuteWorkflow(ctx, opts, workflows.IncidentWorkflowName, in)
	return err
}

// interleaved warms every scenario up, then measures N rounds, each round
// one sample of every scenario, starting with a different scenario each
// round. Interleaving keeps drift (the server's store growing, the machine's
// other load) from favouring whichever scenario happens to run first.
func (b *bench) interleaved(ctx context.Context, scs []scenarioDef) ([]Result, error) {
	for _, sc := range scs {
		for i := 0; i < min(warmupPerKind, b.opts.N); i++ {
			if _, err := b.sample(ctx, sc); err != nil {
				return nil, fmt.Errorf("bench: %s warm-up: %w", sc.name, err)
			}
		}
	}
	began := time.Now()
	samples := make([][]time.Duration, len(scs))
	for k := range scs {
		samples[k] = make([]time.Duration, b.opts.N)
	}
	eager := make([]struct{ requested, granted int }, len(scs))
	var mu sync.Mutex
	var (
		done     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	for range b.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				for j := range scs {
					k := (i + j) % len(scs)
					req0, granted0 := b.eager.requested.Load(), b.eager.granted.Load()
					d, err := b.sample(runCtx, scs[k])
					if err != nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("%s: %w", scs[k].name, err); cancel() })
						return
					}
					samples[k][i] = d
					if b.opts.Concurrency == 1 { // with several in flight the counters can't be told apart
						mu.Lock()
						eager[k].requested += int(b.eager.requested.Load() - req0)
						eager[k].granted += int(b.eager.granted.Load() - granted0)
						mu.Unlock()
					}
				}
				done.Add(1)
			}
		}()
	}
	ticker := time.NewTicker(progressInterval)
	defer ticker.Stop()
feed:
	for i := range b.opts.N {
		for {
			select {
			case next <- i:
				continue feed
			case <-runCtx.Done():
				break feed
			case <-ticker.C:
				fmt.Fprintf(b.out, "bench: round %d/%d in %s\n", done.Load(), b.opts.N, time.Since(began).Round(time.Second))
			}
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("bench: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	out := make([]Result, len(scs))
	for k, sc := range scs {
		out[k] = summarize(sc.name, samples[k])
		out[k].EagerRequested, out[k].EagerGranted = eager[k].requested, eager[k].granted
		out[k].Elapsed = time.Since(began)
	}
	fmt.Fprintf(b.out, "bench: %d rounds of %d scenarios in %s\n", b.opts.N, len(scs), time.Since(began).Round(100*time.Millisecond))
	return out, nil
}

// sample starts one workflow and returns T1-T0, then waits for the run to
// settle.
func (b *bench) sample(ctx context.Context, sc scenarioDef) (time.Duration, error) {
	n := b.seq.Add(1)
	var id string
	if sc.incident {
		id = workflows.WorkflowID(fmt.Sprintf("bench-%s-%d", b.tag, n))
	} else {
		id = fmt.Sprintf("bench-floor-%s-%d", b.tag, n)
	}
	started := b.rec.expect(id)
	defer b.rec.forget(id)

	t0 := time.Now()
	err := sc.start(ctx, id)
	b.mu.Lock()
	if sc.incident {
		b.incidents = append(b.incidents, id)
	}
	b.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", id, err)
	}
	var t1 time.Time
	select {
	case t1 = <-started:
	case <-ctx.Done():
		b.markFloor(sc, id)
		return 0, ctx.Err()
	case <-time.After(sampleTimeout):
		b.markFloor(sc, id)
		return 0, fmt.Errorf("%s: first activity did not start within %s", id, sampleTimeout)
	}
	if !b.settle(ctx, id) {
		b.markFloor(sc, id)
	}
	return t1.Sub(t0), nil
}

func (b *bench) markFloor(sc scenarioDef, id string) {
	if sc.incident {
		return
	}
	b.mu.Lock()
	b.floors = append(b.floors, id)
	b.mu.Unlock()
}

// settle waits until the run is closed or has no workflow task and no
// activity pending. It reports whether the run was seen closed.
func (b *bench) settle(ctx context.Context, id string) (closed bool) {
	deadline := time.Now().Add(settleTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		d, err := b.c.DescribeWorkflowExecution(ctx, id, "")
		if err == nil {
			if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return true
			}
			if len(d.GetPendingActivities()) == 0 && d.GetPendingWorkflowTask() == nil {
				return false
			}
		}
		time.Sleep(settlePoll)
	}
	return false
}

// cleanup terminates every incident and any floor run not seen closed, even
// after ctx was cancelled.
func (b *bench) cleanup() {
	b.mu.Lock()
	ids := append(slices.Clone(b.incidents), b.floors...)
	b.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
		lastMu sync.Mutex
		last   error
	)
	work := make(chan string)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				err := b.c.TerminateWorkflow(ctx, id, "", terminateReason)
				var nf *serviceerror.NotFound
				if err != nil && !errors.As(err, &nf) {
					failed.Add(1)
					lastMu.Lock()
					last = err
					lastMu.Unlock()
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		fmt.Fprintf(b.out, "bench: could not terminate %d of %d workflows (last error: %v)\n", n, len(ids), last)
	}
}

// summarize computes nearest-rank percentiles and the mean.
func summarize(name string, samples []time.Duration) Result {
	r := Result{Name: name, Samples: samples}
	if len(samples) == 0 {
		return r
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	r.P50 = percentile(sorted, 50)
	r.P95 = percentile(sorted, 95)
	r.P99 = percentile(sorted, 99)
	r.Mean = sum / time.Duration(len(sorted))
	return r
}

// percentile is the nearest-rank p-th percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// recorder notes when a workflow's first activity starts.
type recorder struct {
	mu    sync.Mutex
	waits map[string]chan time.Time
}

func newRecorder() *recorder { return &recorder{waits: map[string]chan time.Time{}} }

// expect registers a workflow ID before it is started; the channel receives
// the start time of its first activity.
func (r *recorder) expect(id string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	r.mu.Lock()
	r.waits[id] = ch
	r.mu.Unlock()
	return ch
}

func (r *recorder) forget(id string) {
	r.mu.Lock()
	delete(r.waits, id)
	r.mu.Unlock()
}

// mark records an activity start for id; only the first one counts.
func (r *recorder) mark(id string, at time.Time) {
	r.mu.Lock()
	ch, ok := r.waits[id]
	if ok {
		delete(r.waits, id)
	}
	r.mu.Unlock()
	if ok {
		ch <- at
	}
}

// startInterceptor notes each activity's start on entry, before the
// activity function runs.
type startInterceptor struct {
	interceptor.WorkerInterceptorBase
	rec *recorder
}

func (s *startInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityStart{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, rec: s.rec}
}

type activityStart struct {
	interceptor.ActivityInboundInterceptorBase
	rec *recorder
}

func (a *activityStart) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	now := time.Now()
	a.rec.mark(activity.GetInfo(ctx).WorkflowExecution.ID, now)
	return a.Next.ExecuteActivity(ctx, in)
}

// eagerCounter watches StartWorkflowExecution calls on the wire: how many
// asked for eager execution and how many the server answered with the
// first workflow task inline.
type eagerCounter struct {
	requested, granted atomic.Int64
}

func (e *eagerCounter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if sreq, ok := req.(*workflowservice.StartWorkflowExecutionRequest); ok && sreq.GetRequestEagerExecution() {
		e.requested.Add(1)
		if resp, ok := reply.(*workflowservice.StartWorkflowExecutionResponse); ok && err == nil && resp.GetEagerWorkflowTask() != nil {
			e.granted.Add(1)
		}
	}
	return err
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = slices.Clone(t.b[len(t.b)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// sealKey is a sealing key for this bench run only: nothing it seals
// outlives the run.
func sealKey() []byte {
	k := make([]byte, seal.KeySize)
	_, _ = rand.Read(k)
	return k
}
