package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/datasev/datasev/starter/report"
	"github.com/datasev/datasev/workflows/followup"
)

// reportUsage is the report command's arguments.
const reportUsage = "[--since 90d] [--format table|csv|json] [--team T] [--concurrency 16] [--follow-up] [--timings]"

// reportFollowUpTimeout bounds each follow-up --follow-up runs.
const reportFollowUpTimeout = 2 * time.Minute

// runReport prints the team's incident record over the incidents closed in
// the period (package starter/report): counts, times to acknowledge,
// mitigate and resolve, approvals, missed updates and handoffs, action
// items (done or open as the newest follow-up of each incident found them;
// --follow-up first runs the follow-up of those never followed up).
// Progress goes to stderr on long runs.
func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "report", reportUsage)
	since := fs.String("since", "90d", "the period: incidents closed since this long ago (90d, 12w, 36h) or this date (2026-01-02)")
	format := fs.String("format", report.FormatTable, "output format: table, csv or json")
	team := fs.String("team", "", "only the incidents of this roster team (reads each incident's start event too)")
	conc := fs.Int("concurrency", report.DefaultConcurrency, "incident results fetched at once (1-256)")
	followUp := fs.Bool("follow-up", false, "first run the follow-up (read the trackers) of each incident with filed action items never followed up, --concurrency at a time, on the workers")
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
	if *followUp {
		queue := e.getenv(EnvTaskQueue)
		f.Warnings = e.stderr
		f.RunFollowUp = func(ctx context.Context, id string) (followup.Result, error) {
			ctx, cancel := context.WithTimeout(ctx, reportFollowUpTimeout)
			defer cancel()
			return FollowUp(ctx, c, queue, id)
		}
	}
	s, tm, err := f.Run(ctx, report.Query{Since: from, Until: now, Team: *team})
	if err != nil {
		return err
	}
	if *timings {
		fmt.Fprintf(e.stderr, "datasev report: list %s (%d incidents), fetch %s (%d kept), follow-ups %s (%d listed, %d matched, %d run), aggregate %s\n",
			tm.List.Round(time.Millisecond), tm.Listed, tm.Fetch.Round(time.Millisecond), tm.Kept,
			tm.FollowUps.Round(time.Millisecond), tm.FollowUpsListed, tm.FollowUpsMatched, tm.FollowUpsRun, tm.Aggregate.Round(time.Microsecond))
	}
	return report.Write(e.stdout, s, *format)
}
