package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/datasev/datasev/starter/report"
)

// reportUsage is the report command's arguments.
const reportUsage = "[--since 90d] [--format table|csv|json] [--team T] [--concurrency 16] [--timings]"

// runReport prints the team's incident record over the incidents closed in
// the period (package starter/report): counts, times to acknowledge,
// mitigate and resolve, approvals, missed updates and handoffs, action
// items. Progress goes to stderr on long runs.
func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "report", reportUsage)
	since := fs.String("since", "90d", "the period: incidents closed since this long ago (90d, 12w, 36h) or this date (2026-01-02)")
	format := fs.String("format", report.FormatTable, "output format: table, csv or json")
	team := fs.String("team", "", "only the incidents of this roster team (reads each incident's start event too)")
	conc := fs.Int("concurrency", report.DefaultConcurrency, "incident results fetched at once (1-256)")
	timings := fs.Bool("timings", false, "print how long each phase took (list, fetch, aggregate) on stderr")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	now := time.Now()
	from, err := report.ParseSince(*since, now)
	if err != nil {
		return usagef("report: %s", err)
	}
	if err := report.CheckFormat(*format); err != nil {
		return usagef("report: %s", err)
	}
	if *conc < 1 || *conc > 256 {
		return usagef("report: --concurrency %d: want 1 to 256", *conc)
	}
	opts, err := clientOptions(e)
	if err != nil {
		return err
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	f := &report.Fetcher{
		Client: c, Namespace: opts.Namespace, DataConverter: opts.DataConverter,
		Concurrency: *conc, Progress: e.stderr,
	}
	s, tm, err := f.Run(ctx, report.Query{Since: from, Until: now, Team: *team})
	if err != nil {
		return err
	}
	if *timings {
		fmt.Fprintf(e.stderr, "datasev report: list %s (%d incidents), fetch %s (%d kept), aggregate %s\n",
			tm.List.Round(time.Millisecond), tm.Listed, tm.Fetch.Round(time.Millisecond), tm.Kept, tm.Aggregate.Round(time.Microsecond))
	}
	return report.Write(e.stdout, s, *format)
}
