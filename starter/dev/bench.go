package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/datasev/datasev/starter/dev/bench"
)

// dynamicConfig collects repeated --dynamic-config KEY=VALUE flags.
type dynamicConfig []string

func (d *dynamicConfig) String() string { return strings.Join(*d, ",") }

func (d *dynamicConfig) Set(v string) error {
	if !strings.Contains(v, "=") {
		return errors.New("want KEY=VALUE, VALUE in JSON")
	}
	*d = append(*d, v)
	return nil
}

// benchArgs are bench's flags, for the usage lines.
const benchArgs = "[--n 200] [--concurrency 1] [--address HOST:PORT] [--dynamic-config KEY=VALUE ...]"

// benchOptions are bench's flags.
type benchOptions struct {
	n, concurrency int
	address        string
	dc             dynamicConfig
}

// benchFlags returns bench's flag set, writing its errors and help to w,
// and the options it fills.
func benchFlags(w io.Writer) (*flag.FlagSet, *benchOptions) {
	o := &benchOptions{}
	fs := newFlagSet(w, "bench", "go run ./starter/dev bench "+benchArgs)
	fs.IntVar(&o.n, "n", 200, "measured workflows per scenario")
	fs.IntVar(&o.concurrency, "concurrency", 1, "samples in flight at once")
	fs.StringVar(&o.address, "address", "", "Temporal frontend to measure (default: start an in-memory dev server for the run)")
	fs.Var(&o.dc, "dynamic-config", "extra KEY=VALUE dynamic config for the bench's own dev server (repeatable)")
	return fs, o
}

// check reports flag values that cannot work together.
func (o *benchOptions) check() error {
	switch {
	case o.n <= 0:
		return usagef("bench: --n must be positive")
	case o.concurrency <= 0:
		return usagef("bench: --concurrency must be positive")
	case o.address != "" && len(o.dc) > 0:
		return usagef("bench: --dynamic-config applies only to the bench's own dev server, not with --address")
	}
	return nil
}

// runBench measures alert → first activity started for incidents against
// the engine's floor (an empty workflow with one no-op activity), with and
// without eager workflow start, and prints the table.
func runBench(ctx context.Context, e *env, args []string) error {
	fs, o := benchFlags(e.stderr)
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
	_, err := bench.Run(ctx, bench.Options{
		N:             o.n,
		Concurrency:   o.concurrency,
		Address:       o.address,
		Namespace:     ns,
		DynamicConfig: o.dc,
	}, e.stdout)
	return err
}
