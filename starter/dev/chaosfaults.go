package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/datasev/datasev/starter/dev/prodstack"
)

// maxActivityKillsPerRound bounds the kills at an activity's start in one
// round: each costs the activity's heartbeat or start-to-close timeout
// before Temporal retries it elsewhere.
const maxActivityKillsPerRound = 3

// injectFaults runs the round's faults while its incidents run:
//   - a worker killed with SIGKILL at the start of an activity of a kind not
//     killed before (seen from outside, through DescribeWorkflowExecution's
//     pending activities and the identity of the worker that took it);
//   - the workers killed after GitHub merged a pull request (odd rounds) or
//     Airflow took a request (even rounds), before the response got back;
//   - a Temporal service (history, matching, frontend by turns) killed and
//     started again;
//   - PostgreSQL shut down immediately (a crash) and started again.
func (r *chaosRig) injectFaults(ctx context.Context, rr *chaosRound, faults []string, progress io.Writer) {
	has := func(k string) bool {
		for _, f := range faults {
			if f == k {
				return true
			}
		}
		return false
	}
	if has(faultSideEffect) {
		kill := func(what string) func() {
			return func() {
				for _, w := range r.workers {
					_ = w.Kill()
				}
				rr.fault(faultSideEffect, what)
				fmt.Fprintf(progress, "chaos: round %d: killed the workers after %s, before its response\n", rr.n, what)
				r.startWorkers()
			}
		}
		if rr.n%2 == 1 {
			r.github.arm(func(req *http.Request) bool {
				return req.Method == http.MethodPut && strings.HasSuffix(req.URL.Path, "/merge")
			}, kill("GitHub merged the revert"))
		} else {
			r.airflow.arm(func(req *http.Request) bool {
				return req.Method == http.MethodPost && (strings.HasSuffix(req.URL.Path, "/clearTaskInstances") || strings.HasSuffix(req.URL.Path, "/dagRuns"))
			}, kill("Airflow took a clear or a trigger"))
		}
	}
	start := time.Now()
	temporalDone, pgDone := !has(faultTemporal), !has(faultPostgres)
	services := []string{"history", "matching", "frontend"}
	for {
		if has(faultActivityStart) && rr.faultCounts()[faultActivityStart] < maxActivityKillsPerRound {
			r.killAtActivityStart(ctx, rr, progress)
		}
		if !temporalDone && time.Since(start) > 8*time.Second {
			temporalDone = true
			svc := services[rr.n%len(services)]
			if err := r.cluster.Temporal.Kill(svc); err == nil {
				rr.fault(faultTemporal, "temporal "+svc)
				fmt.Fprintf(progress, "chaos: round %d: killed temporal %s\n", rr.n, svc)
				_ = sleepCtx(ctx, 2*time.Second)
				if err := r.cluster.Temporal.Restart(svc); err != nil {
					fmt.Fprintf(progress, "chaos: restart temporal %s: %v\n", svc, err)
				}
			}
		}
		if !pgDone && time.Since(start) > 20*time.Second {
			pgDone = true
			if err := r.cluster.Postgres.Crash(); err == nil {
				rr.fault(faultPostgres, "postgresql")
				fmt.Fprintf(progress, "chaos: round %d: crashed postgresql\n", rr.n)
				_ = sleepCtx(context.Background(), 5*time.Second)
				if err := r.cluster.Postgres.Start(context.Background()); err != nil {
					fmt.Fprintf(progress, "chaos: restart postgresql: %v\n", err)
				}
			}
		}
		if sleepCtx(ctx, 150*time.Millisecond) != nil {
			return
		}
	}
}

// killAtActivityStart looks at the round's incidents and their runbooks
// from outside and kills the worker that just started an activity of a
// kind not killed before.
func (r *chaosRig) killAtActivityStart(ctx context.Context, rr *chaosRound, progress io.Writer) {
	for _, inc := range rr.incidents {
		incID := inc.workflowID()
		if incID == "" {
			continue
		}
		ids := []string{incID}
		d, err := r.c.DescribeWorkflowExecution(ctx, incID, "")
		if err != nil {
			continue
		}
		for _, ch := range d.GetPendingChildren() {
			ids = append(ids, ch.GetWorkflowId())
		}
		for _, id := range ids {
			d := d
			if id != incID {
				if d, err = r.c.DescribeWorkflowExecution(ctx, id, ""); err != nil {
					continue
				}
			}
			for _, pa := range d.GetPendingActivities() {
				kind := pa.GetActivityType().GetName()
				if pa.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED || r.activityKilled[kind] {
					continue
				}
				w := r.workerByIdentity(pa.GetLastWorkerIdentity())
				if w == nil {
					continue
				}
				if err := w.Kill(); err != nil {
					continue
				}
				r.activityKilled[kind] = true
				rr.fault(faultActivityStart, kind)
				fmt.Fprintf(progress, "chaos: round %d: killed %s at the start of %s (%s)\n", rr.n, w.Name, kind, id)
				if err := w.Start(); err != nil {
					fmt.Fprintf(progress, "chaos: restart %s: %v\n", w.Name, err)
				}
				return
			}
		}
	}
}

// workerByIdentity finds the worker process whose SDK identity
// ("pid@host@…", the default) is given.
func (r *chaosRig) workerByIdentity(identity string) *prodstack.Process {
	pidText, _, ok := strings.Cut(identity, "@")
	if !ok {
		return nil
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return nil
	}
	for _, w := range r.workers {
		if w.PID() == pid {
			return w
		}
	}
	return nil
}

// startWorkers starts every worker that is not running.
func (r *chaosRig) startWorkers() {
	for _, w := range r.workers {
		if !w.Running() {
			_ = w.Start()
		}
	}
}

// restartAll brings every process back after a round.
func (r *chaosRig) restartAll(ctx context.Context) {
	if r.cluster.Postgres.PID() == 0 {
		_ = r.cluster.Postgres.Start(ctx)
	}
	for _, svc := range prodstack.Services {
		if !r.cluster.Temporal.Process(svc).Running() {
			_ = r.cluster.Temporal.Restart(svc)
		}
	}
	r.startWorkers()
	if !r.intake.Running() {
		_ = r.intake.Start()
	}
}
