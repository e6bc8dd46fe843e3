package cli

import (
	"context"
	"errors"
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

// runBench measures alert → first activity started for incidents against
// the engine's floor (an empty workflow with one no-op activity), with and
// without eager workflow start, and prints the table.
func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "bench", "[--n 200] [--concurrency 1] [--address HOST:PORT] [--dynamic-config KEY=VALUE ...]")
	var (
		n, concurrency int
		address        string
		dc             dynamicConfig
	)
	fs.IntVar(&n, "n", 200, "measured workflows per scenario")
	fs.IntVar(&concurrency, "concurrency", 1, "samples in flight at once")
	fs.StringVar(&address, "address", "", "Temporal frontend to measure (default: start an in-memory dev server for the run)")
	fs.Var(&dc, "dynamic-config", "extra KEY=VALUE dynamic config for the bench's own dev server (repeatable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("bench takes flags only; unexpected %q", pos[0])
	}
	if n <= 0 {
		return usagef("bench: --n must be positive")
	}
	if concurrency <= 0 {
		return usagef("bench: --concurrency must be positive")
	}
	if address != "" && len(dc) > 0 {
		return usagef("bench: --dynamic-config applies only to the bench's own dev server, not with --address")
	}
	ns := ""
	if address != "" {
		ns = e.getenv("TEMPORAL_NAMESPACE")
	}
	_, err = bench.Run(ctx, bench.Options{
		N:             n,
		Concurrency:   concurrency,
		Address:       address,
		Namespace:     ns,
		DynamicConfig: dc,
	}, e.stdout)
	return err
}
