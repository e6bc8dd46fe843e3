package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
)

// chaosArgs are chaos's flags, for the usage lines.
const chaosArgs = "[--rounds 3] [--workers 2] [--state DIR] [--keep]"

// chaosOptions are chaos's flags.
type chaosOptions struct {
	rounds, workers int
	state           string
	keep            bool
	// faults, when set, limits the fault kinds (tests).
	faults []string
	// incidentWait bounds one incident's script.
	incidentWait time.Duration
}

func chaosFlags(w io.Writer) (*flag.FlagSet, *chaosOptions) {
	o := &chaosOptions{}
	fs := newFlagSet(w, "chaos", "go run ./starter/dev chaos "+chaosArgs)
	fs.IntVar(&o.rounds, "rounds", 3, "fault rounds after the fault-free baseline round")
	fs.IntVar(&o.workers, "workers", 2, "worker processes on the one task queue")
	fs.StringVar(&o.state, "state", "", "directory for the cluster's data and logs (default: a new temporary directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the state directory afterwards")
	return fs, o
}

// check reports flag values that cannot work.
func (o *chaosOptions) check() error {
	if o.rounds < 0 || o.workers < 2 {
		return usagef("chaos: --rounds must be ≥ 0 and --workers ≥ 2 (a killed worker's work moves to another)")
	}
	return nil
}

// runChaos is the chaos command: the production topology, the library
// runbooks' incidents driven through it, every kind of process killed
// while they run, and the invariants checked after each round.
func runChaos(ctx context.Context, e *env, args []string) error {
	fs, o := chaosFlags(e.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	rep, err := chaos(ctx, *o, e.stdout, e.stderr)
	if rep != nil {
		rep.print(e.stdout)
	}
	if err != nil {
		return err
	}
	if n := rep.violations(); n > 0 {
		return fmt.Errorf("chaos: %d invariant violations (see the table)", n)
	}
	return nil
}

// Fault kinds, in the order a round injects them.
const (
	faultActivityStart = "worker killed at an activity's start"
	faultSideEffect    = "worker killed between side effect and report"
	faultTemporal      = "temporal service killed"
	faultPostgres      = "postgresql crashed"
)

var allFaults = []string{faultActivityStart, faultSideEffect, faultTemporal, faultPostgres}

// chaos builds the rig and runs the baseline round and o.rounds fault
// rounds.
func chaos(ctx context.Context, o chaosOptions, out, progress io.Writer) (*chaosReport, error) {
	if o.incidentWait == 0 {
		o.incidentWait = 8 * time.Minute
	}
	if len(o.faults) == 0 {
		o.faults = allFaults
	}
	state, logf, done, err := runState("chaos", o.state, "chaos.log", o.keep)
	if err != nil {
		return nil, err
	}
	defer done()
	fmt.Fprintf(progress, "chaos: state and logs in %s\n", state)
	rig, err := newChaosRig(ctx, chaosRigOptions{state: state, workers: o.workers, log: logf, progress: progress})
	if err != nil {
		return nil, err
	}
	defer rig.close()
	fmt.Fprintf(progress, "chaos: Temporal %s on PostgreSQL at %s, %d workers, intake %s\n",
		rig.cluster.Temporal.Address(), rig.cluster.Postgres.Host(), len(rig.workers), rig.intakeURL)
	rep := &chaosReport{}
	baseline := map[string]string{}
	for n := 0; n <= o.rounds; n++ {
		var faults []string
		if n > 0 {
			faults = o.faults
		}
		rr := rig.round(ctx, n, faults, baseline, o.incidentWait, progress)
		rep.rounds = append(rep.rounds, rr)
		fmt.Fprintf(progress, "chaos: round %d done: %d incidents, faults %v, %d violations\n", n, len(rr.incidents), rr.faultCounts(), len(rr.violations))
		if n == 0 {
			for _, inc := range rr.incidents {
				baseline[inc.kind] = inc.runbookStatus
			}
		}
		rep.killedAt = slices.Sorted(maps.Keys(rig.activityKilled))
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

// chaosIncident is one incident of a round and what its script saw.
type chaosIncident struct {
	kind  string
	alert workflows.Alert
	// id is the incident's workflow ID once the intake took its alert;
	// the fault injector reads it through workflowID while the script runs.
	id   string
	idMu sync.Mutex
	// acked are the acts the workflow acknowledged to their sender.
	acked []ackedAct
	// approved are the approvals the script granted.
	approved      []string
	runbookStatus string
	final         workflows.State
	err           error
}

// workflowID returns the incident's workflow ID, "" before the intake
// took its alert. Safe while the script runs.
func (inc *chaosIncident) workflowID() string {
	inc.idMu.Lock()
	defer inc.idMu.Unlock()
	return inc.id
}

type ackedAct struct{ id, name string }

// round runs one round: four incidents, one per runbook, driven at once,
// with the round's faults injected while they run; then the invariants.
func (r *chaosRig) round(ctx context.Context, n int, faults []string, baseline map[string]string, wait time.Duration, progress io.Writer) *chaosRound {
	rr := &chaosRound{n: n, faults: map[string]int{}}
	now := time.Now()
	// A fresh culprit for the dbt runbook to find and revert, dated now:
	// after the previous round's merged revert, so that nothing changed
	// the model after it (the runbook refuses to revert such a commit).
	r.stand.github.Commit(ghtest.DemoRepo, "main", "Dana Wright", fmt.Sprintf("orders: amounts in cents (round %d)", n), map[string]string{
		"models/marts/orders.sql": fmt.Sprintf("select id, customer_id, amount * 100 as amount -- round %d\nfrom {{ ref('stg_orders') }}\nwhere status = 'paid'\n", n),
	}, now)
	// And a fresh failed run of the orders DAG for the Snowflake runbook
	// to clear (the previous round's clear made the last one succeed).
	r.stand.airflow.SeedRunAt(aftest.DemoDAG, fmt.Sprintf("scheduled__chaos_r%d", n), now.Add(-20*time.Minute), map[string]string{
		"extract_orders": "success", "load_orders": "failed", "dbt_run": "upstream_failed", "publish_dashboard": "upstream_failed",
	})
	before := r.sideEffects()
	stamp := fmt.Sprintf("%s-r%d", now.UTC().Format("150405"), n)
	for _, a := range r.chaosAlerts(stamp) {
		rr.incidents = append(rr.incidents, &chaosIncident{kind: a.Labels["alertname"], alert: a})
	}
	fctx, stopFaults := context.WithCancel(ctx)
	var fwg sync.WaitGroup
	if len(faults) > 0 {
		fwg.Add(1)
		go func() {
			defer fwg.Done()
			r.injectFaults(fctx, rr, faults, progress)
		}()
	}
	var wg sync.WaitGroup
	for _, inc := range rr.incidents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			inc.err = r.drive(sctx, inc)
		}()
	}
	wg.Wait()
	stopFaults()
	fwg.Wait()
	r.github.disarm()
	r.airflow.disarm()
	// Every process back up before the checks.
	r.restartAll(ctx)
	rr.violations = r.check(ctx, rr, before, baseline)
	return rr
}

// chaosAlerts are the round's four alerts: the three library runbooks' and
// the dev demo's, with keys of their own.
func (r *chaosRig) chaosAlerts(stamp string) []workflows.Alert {
	var out []workflows.Alert
	for _, a := range libraryAlerts(time.Now()) {
		a.DedupeKey = strings.ToLower(a.Labels["alertname"]) + "-" + stamp
		out = append(out, a)
	}
	out = append(out, workflows.Alert{
		Title: "orders: revenue 100x the forecast", DedupeKey: "dbt-orders-" + stamp,
		Severity: workflows.SEV3, Service: "analytics", Dataset: "ANALYTICS.MARTS.ORDERS",
		Labels: map[string]string{
			"alertname": "DbtModelRegression", "model": "orders", "repo": ghtest.DemoRepo,
			"model_path": "models/marts/orders.sql", "dag": demoDbtDAG, "env": "demo",
			"manifest": "github://" + ghtest.DemoRepo + "/" + manifesttest.DemoManifestPath + "@main",
		},
	})
	out = append(out, demoAlert("orders-load-"+stamp, r.stand.loader.HealthURL()))
	return out
}

// drive is an incident's script: the alert through the intake, the
// Commander acknowledges, approves what the runbook asks, and resolves when
// the runbook is done (the demo runbook, which waits for its loader, once
// it has paged).
func (r *chaosRig) drive(ctx context.Context, inc *chaosIncident) error {
	id, err := r.postAlert(ctx, inc.alert)
	if err != nil {
		return err
	}
	inc.idMu.Lock()
	inc.id = id
	inc.idMu.Unlock()
	cast, err := pickCast(r.roster, time.Now())
	if err != nil {
		return err
	}
	if err := r.act(ctx, inc, cast.commander, workflows.ActAcknowledge, workflows.Act{}); err != nil {
		return err
	}
	approved := map[string]bool{}
	// after is the timeline's length when the last approval was sent: the
	// runbook acting on it writes after that.
	after := -1
	for {
		st, err := r.status(ctx, id)
		if err != nil {
			return err
		}
		tl, err := r.timeline(ctx, id)
		if err != nil {
			return err
		}
		for _, ap := range st.PendingApprovals {
			if approved[ap.ID] {
				continue
			}
			after = len(tl)
			if err := r.act(ctx, inc, cast.commander, workflows.ActApprove, workflows.Act{Approval: ap.ID, Reason: "chaos: approved"}); err != nil {
				return err
			}
			approved[ap.ID] = true
			inc.approved = append(inc.approved, ap.ID)
		}
		if status, done := scriptDone(inc.kind, st, tl, after); done {
			inc.runbookStatus = status
			break
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return fmt.Errorf("waiting for the runbook (it is %s): %w", orText(st.RunbookStatus, "not started"), err)
		}
	}
	if err := r.act(ctx, inc, cast.commander, workflows.ActResolve, workflows.Act{Reason: "chaos: the runbook is done"}); err != nil {
		return err
	}
	for {
		st, err := r.status(ctx, id)
		if err != nil {
			return err
		}
		if st.State == workflows.Resolved {
			inc.final = st.State
			return nil
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return fmt.Errorf("waiting for resolved (it is %s): %w", st.State, err)
		}
	}
}

// scriptDone says when an incident's script stops waiting for its runbook,
// and what the runbook's progress is then (compared with the baseline's):
// the dbt runbook completes (the incident in monitoring); the Snowflake
// runbook, once its approved reload ran, the S3 one once it paged, and the
// demo's once it paged, go on verifying until the data recovers, which the
// stand-ins' data does not.
func scriptDone(kind string, st workflows.Status, tl []workflows.TimelineEntry, after int) (string, bool) {
	switch kind {
	case "SnowflakeLoadFailed":
		if after >= 0 && len(st.PendingApprovals) == 0 {
			for _, e := range tl[min(after, len(tl)):] {
				if isRunbookEntry(e) {
					return "remediated, verifying", true
				}
			}
		}
	case "S3PartitionMissing", "OrdersLoadFailed":
		if paged(tl) {
			return "paged", true
		}
	default:
		if runbookDone(st) || st.State == workflows.Monitoring {
			return st.RunbookStatus + ", " + string(st.State), true
		}
	}
	return "", false
}

// postAlert posts the alert to the intake's generic endpoint, retrying
// while the intake or Temporal is down, and returns the incident's ID.
func (r *chaosRig) postAlert(ctx context.Context, a workflows.Alert) (string, error) {
	body, err := json.Marshal(intake.GenericAlert{
		Title: a.Title, Severity: string(a.Severity), DedupeKey: a.DedupeKey, Labels: a.Labels,
		Description: a.Description, Service: a.Service, Dataset: a.Dataset,
	})
	if err != nil {
		return "", err
	}
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.intakeURL+"/alerts", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+r.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			var ir intake.Response
			if resp.StatusCode < 300 && json.Unmarshal(b, &ir) == nil && len(ir.Incidents) == 1 {
				return ir.Incidents[0].ID, nil
			}
			if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
				return "", fmt.Errorf("intake: %s: %s", resp.Status, strings.TrimSpace(string(b)))
			}
			last = resp.Status + ": " + strings.TrimSpace(string(b))
		} else {
			last = err.Error()
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return "", fmt.Errorf("intake never took alert %s (last: %s): %w", a.DedupeKey, last, err)
		}
	}
}

// act sends a signed act, retrying through outages with the same act ID
// (the Update's ID, so a retry is never applied twice), and records it once
// the workflow acknowledged it.
func (r *chaosRig) act(ctx context.Context, inc *chaosIncident, who, name string, act workflows.Act) error {
	act.By, act.Via, act.ID = who, "cli", uuid.NewString()
	var last error
	for {
		_, err := incidents.ActSigned(ctx, r.c, r.keys.signer(who), inc.id, name, act)
		if err == nil {
			inc.acked = append(inc.acked, ackedAct{id: act.ID, name: name})
			return nil
		}
		var rej *incidents.RejectedError
		if errors.As(err, &rej) {
			return fmt.Errorf("%s by %s rejected: %s", name, who, rej.Message)
		}
		last = err
		if err := sleepCtx(ctx, time.Second); err != nil {
			return fmt.Errorf("%s by %s: %v: %w", name, who, last, err)
		}
	}
}

// status and timeline query the incident, retrying through outages.
func (r *chaosRig) status(ctx context.Context, id string) (workflows.Status, error) {
	for {
		st, err := incidents.Status(ctx, r.c, id)
		if err == nil {
			return st, nil
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return st, fmt.Errorf("status of %s: %w", id, err)
		}
	}
}

func (r *chaosRig) timeline(ctx context.Context, id string) ([]workflows.TimelineEntry, error) {
	for {
		tl, err := incidents.Timeline(ctx, r.c, id)
		if err == nil {
			return tl, nil
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return nil, fmt.Errorf("timeline of %s: %w", id, err)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// chaosRound is one round's incidents, faults and violations.
type chaosRound struct {
	n          int
	incidents  []*chaosIncident
	mu         sync.Mutex
	faults     map[string]int
	killed     []string // what was killed, in order, for the log
	duplicates int
	violations []string
}

func (rr *chaosRound) fault(kind, what string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.faults[kind]++
	rr.killed = append(rr.killed, what)
}

func (rr *chaosRound) faultCounts() map[string]int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	out := map[string]int{}
	for k, v := range rr.faults {
		out[k] = v
	}
	return out
}

// chaosReport is the run's table.
type chaosReport struct {
	rounds []*chaosRound
	// killedAt are the activity kinds a worker was killed at the start of.
	killedAt []string
}

func (c *chaosReport) violations() int {
	n := 0
	for _, r := range c.rounds {
		n += len(r.violations)
	}
	return n
}

// print writes the table: one row per round, then each violation.
func (c *chaosReport) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "round\tincidents\tresolved\tat activity start\tafter side effect\ttemporal\tpostgresql\tduplicate notifications\tviolations")
	var tot [8]int
	for _, r := range c.rounds {
		f := r.faultCounts()
		resolved := 0
		for _, inc := range r.incidents {
			if inc.final == workflows.Resolved {
				resolved++
			}
		}
		row := [8]int{len(r.incidents), resolved, f[faultActivityStart], f[faultSideEffect], f[faultTemporal], f[faultPostgres], r.duplicates, len(r.violations)}
		name := fmt.Sprint(r.n)
		if r.n == 0 {
			name = "0 (baseline)"
		}
		fmt.Fprintf(tw, "%s", name)
		for i, v := range row {
			fmt.Fprintf(tw, "\t%d", v)
			tot[i] += v
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "total")
	for _, v := range tot {
		fmt.Fprintf(tw, "\t%d", v)
	}
	fmt.Fprintln(tw)
	tw.Flush()
	if len(c.killedAt) > 0 {
		fmt.Fprintf(w, "workers killed at the start of: %s\n", strings.Join(c.killedAt, ", "))
	}
	for _, r := range c.rounds {
		for _, v := range r.violations {
			fmt.Fprintf(w, "round %d: %s\n", r.n, v)
		}
	}
}
