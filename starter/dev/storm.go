package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/datasev/datasev/starter/intake"
)

// stormArgs are storm's flags, for the usage lines.
const stormArgs = "[--alerts 10000] [--keys 500] [--conns 32] [--groups 0] [--probes 20] [--address HOST:PORT] [--storm-control join|throttle] [--pacing on|off] [--dynamic-config KEY=VALUE ...]"

// stormOptions are storm's flags.
type stormOptions struct {
	alerts, keys, conns int
	// groups is how many Alertmanager deliveries of groupSize alerts the
	// Alertmanager phase posts; 0 skips it.
	groups, groupSize int
	probes            int
	// redeliver is the share of deliveries posted a second time, unchanged.
	redeliver float64
	address   string
	// newPerMinute and burst are the intake's limits on new incidents per
	// source for the run (DATASEV_INTAKE_NEW_INCIDENTS_PER_MINUTE, _BURST).
	newPerMinute float64
	burst        int
	// rateSet says --new-incidents-per-minute or --new-incident-burst was
	// given.
	rateSet bool
	// stormControl is the intake's DATASEV_INTAKE_STORM for the run; ""
	// leaves the rate so high that no alert is beyond it.
	stormControl string
	// pacing is "on" (the worker's DATASEV_NOTIFY_* pacing, its default)
	// or "off" (every DATASEV_NOTIFY_* variable off).
	pacing  string
	noRaw   bool
	settle  time.Duration
	logFile string
	dc      dynamicConfig
}

// stormFlags returns storm's flag set, writing its errors and help to w,
// and the options it fills.
func stormFlags(w io.Writer) (*flag.FlagSet, *stormOptions) {
	o := &stormOptions{}
	fs := newFlagSet(w, "storm", "go run ./starter/dev storm "+stormArgs)
	fs.IntVar(&o.alerts, "alerts", 10000, "alerts posted to the generic endpoint, each with its own ID")
	fs.IntVar(&o.keys, "keys", 500, "dedupe keys the alerts spread over (the incidents they open)")
	fs.IntVar(&o.conns, "conns", 32, "HTTP connections (and, for the baselines, callers) at once")
	fs.IntVar(&o.groups, "groups", 0, "Alertmanager deliveries (webhook v4, one group each) to post after the generic storm; 0 skips that shape")
	fs.IntVar(&o.groupSize, "group-size", 100, "alerts in each Alertmanager delivery")
	fs.IntVar(&o.probes, "probes", 20, "probe incidents per severity (SEV1 and SEV3) timed from the intake request to the first page, alone and during the storm")
	fs.Float64Var(&o.redeliver, "redeliver", 0.01, "share of deliveries posted again unchanged (same alert IDs): they must not be counted")
	fs.StringVar(&o.address, "address", "", "Temporal frontend to use (default: start an in-memory dev server for the run)")
	fs.Float64Var(&o.newPerMinute, "new-incidents-per-minute", 1e6, "the intake's rate of new incidents per source for the run (DATASEV_INTAKE_NEW_INCIDENTS_PER_MINUTE; production default 10)")
	fs.IntVar(&o.burst, "new-incident-burst", 100000, "the intake's burst of new incidents per source for the run (DATASEV_INTAKE_NEW_INCIDENT_BURST; production default 50)")
	fs.StringVar(&o.stormControl, "storm-control", "", "run the intake with DATASEV_INTAKE_STORM=join or throttle at the production rate of new incidents (unless --new-incidents-per-minute or --new-incident-burst is given); default: a rate no alert exceeds")
	fs.StringVar(&o.pacing, "pacing", "on", "the worker's notification pacing (DATASEV_NOTIFY_*): on, as configured (pacing is the worker's default), or off")
	fs.BoolVar(&o.noRaw, "no-baseline", false, "skip the baselines (the same calls straight to Temporal, without HTTP)")
	fs.DurationVar(&o.settle, "settle", time.Minute, "how long to wait after a phase for every alert to be counted and every page to land")
	fs.StringVar(&o.logFile, "log", "", "append the worker's and the intake's log to this file (default: a temporary file removed with the run)")
	fs.Var(&o.dc, "dynamic-config", "extra KEY=VALUE dynamic config for the storm's own dev server (repeatable)")
	return fs, o
}

// check reports flag values that cannot work together.
func (o *stormOptions) check() error {
	switch {
	case o.alerts <= 0:
		return usagef("storm: --alerts must be positive")
	case o.keys <= 0 || o.keys > o.alerts:
		return usagef("storm: --keys must be between 1 and --alerts (%d)", o.alerts)
	case o.conns <= 0:
		return usagef("storm: --conns must be positive")
	case o.groups < 0:
		return usagef("storm: --groups must be 0 or more")
	case o.groupSize <= 0:
		return usagef("storm: --group-size must be positive")
	case o.probes < 0:
		return usagef("storm: --probes must be 0 or more")
	case o.redeliver < 0 || o.redeliver > 1 || math.IsNaN(o.redeliver):
		return usagef("storm: --redeliver must be between 0 and 1")
	case o.newPerMinute <= 0 || o.burst <= 0:
		return usagef("storm: --new-incidents-per-minute and --new-incident-burst must be positive")
	case o.stormControl != "" && o.stormControl != intake.StormJoin && o.stormControl != intake.StormThrottle:
		return usagef("storm: --storm-control %q: want %s or %s", o.stormControl, intake.StormJoin, intake.StormThrottle)
	case o.pacing != "on" && o.pacing != "off":
		return usagef("storm: --pacing %q: want on or off", o.pacing)
	case o.settle <= 0:
		return usagef("storm: --settle must be positive")
	case o.address != "" && len(o.dc) > 0:
		return usagef("storm: --dynamic-config applies only to the storm's own dev server, not with --address")
	}
	return nil
}

// runStorm posts an alert storm through the intake of production to the
// worker of production (Slack on its stand-in) and prints the accounting,
// the throughput against the same calls made straight to Temporal, the
// pages sent and the alert → page latency.
func runStorm(ctx context.Context, e *env, args []string) error {
	fs, o := stormFlags(e.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		o.rateSet = o.rateSet || f.Name == "new-incidents-per-minute" || f.Name == "new-incident-burst"
	})
	if err := o.check(); err != nil {
		return err
	}
	rep, err := storm(ctx, e, o)
	if err != nil {
		return err
	}
	if bad := rep.violations(); len(bad) > 0 {
		return fmt.Errorf("storm: the accounting does not add up: %s", strings.Join(bad, "; "))
	}
	return nil
}
