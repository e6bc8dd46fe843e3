package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"golang.org/x/sync/errgroup"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/followup"
)

// Defaults of a Fetcher.
const (
	DefaultConcurrency   = 16
	DefaultPageSize      = 1000
	DefaultProgressEvery = 2 * time.Second
)

// Fetcher finds the incidents closed in a period through Temporal's
// visibility (the incident workflows completed in it, by close time) and
// fetches each one's final snapshot — the close event's result, one small
// history read per incident — a bounded number at a time.
type Fetcher struct {
	// Client is the Temporal client. Required.
	Client client.Client
	// Namespace is the client's namespace; empty means "default".
	Namespace string
	// DataConverter decodes the results: the client's, so that encrypted
	// payloads (DATASEV_CODEC_*) are read. Nil is the default converter.
	DataConverter converter.DataConverter
	// Concurrency bounds the results fetched at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// PageSize is the visibility page size; 0 means DefaultPageSize.
	PageSize int
	// Progress, when set, receives a progress line every ProgressEvery
	// (0: DefaultProgressEvery) while results are fetched.
	Progress      io.Writer
	ProgressEvery time.Duration
	// RunFollowUp, when set, runs the follow-up of a closed incident (the
	// latest run of the ID) and returns its result; Run then follows up,
	// Concurrency at a time, each incident with filed action items and no
	// follow-up of its run before counting (RunFollowUps). Nil reads the
	// existing follow-ups only.
	RunFollowUp func(ctx context.Context, incidentID string) (followup.Result, error)
	// Warnings, when set, receives a line for each follow-up RunFollowUp
	// could not run: that incident's items stay "not followed up".
	Warnings io.Writer
}

// Query is the period and team a report covers.
type Query struct {
	// Since and Until bound the incidents' close time: Since <= closed <
	// Until. Until zero means now.
	Since, Until time.Time
	// Team, when set, keeps the incidents whose roster names this team
	// (read from each incident's start event: one more history read per
	// incident).
	Team string
}

// Timings say how long each phase of a Run took and how much it handled.
type Timings struct {
	// List is the visibility queries; Fetch the results (and start events,
	// with a team); FollowUps the follow-ups' listing and results (none
	// when no incident has filed action items); Aggregate the adding up.
	List, Fetch, FollowUps, Aggregate time.Duration
	// Listed counts the closed incidents visibility returned; Fetched the
	// results read; Kept those counted (all of them without a team).
	Listed, Fetched, Kept int
	// FollowUpsListed counts the completed follow-ups visibility returned;
	// FollowUpsMatched those that were the newest of a counted incident's
	// run.
	// FollowUpsRun those RunFollowUp ran (with --follow-up).
	FollowUpsListed, FollowUpsMatched, FollowUpsRun int
}

// Run lists the period's closed incidents, fetches their final snapshots,
// reads the newest follow-up of those with filed action items (FollowUps,
// ApplyFollowUps) and aggregates them.
func (f *Fetcher) Run(ctx context.Context, q Query) (Summary, Timings, error) {
	var tm Timings
	if q.Until.IsZero() {
		q.Until = time.Now()
	}
	if !q.Since.Before(q.Until) {
		return Summary{}, tm, fmt.Errorf("report: the period is empty: since %s is not before until %s", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	start := time.Now()
	execs, err := f.List(ctx, q)
	if err != nil {
		return Summary{}, tm, err
	}
	excluded := f.excluded(ctx, q)
	tm.List, tm.Listed = time.Since(start), len(execs)

	start = time.Now()
	incidents, err := f.Fetch(ctx, execs, q.Team)
	if err != nil {
		return Summary{}, tm, err
	}
	tm.Fetch, tm.Fetched, tm.Kept = time.Since(start), len(execs), len(incidents)

	start = time.Now()
	fus, listed, err := f.FollowUps(ctx, q, incidents)
	if err != nil {
		return Summary{}, tm, err
	}
	ApplyFollowUps(incidents, fus)
	if f.RunFollowUp != nil {
		ran := f.RunFollowUps(ctx, incidents)
		if err := ctx.Err(); err != nil {
			return Summary{}, tm, fmt.Errorf("report: run follow-ups: %w", err)
		}
		fus = append(fus, ran...)
		ApplyFollowUps(incidents, fus)
		tm.FollowUpsRun = len(ran)
	}
	tm.FollowUps, tm.FollowUpsListed, tm.FollowUpsMatched = time.Since(start), listed, len(fus)

	start = time.Now()
	s := Aggregate(incidents, q.Since, q.Until, q.Team)
	s.Excluded = excluded
	tm.Aggregate = time.Since(start)
	return s, tm, nil
}

// Execution is one closed incident run visibility listed.
type Execution struct {
	WorkflowID, RunID string
	CloseTime         time.Time
}

// ListQuery is the visibility query of the incidents completed in the
// period.
func ListQuery(q Query) string {
	return fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Completed' AND CloseTime >= '%s' AND CloseTime < '%s'",
		workflows.IncidentWorkflowName, q.Since.UTC().Format(time.RFC3339Nano), q.Until.UTC().Format(time.RFC3339Nano))
}

// List pages through visibility for the incident runs completed in the
// period.
func (f *Fetcher) List(ctx context.Context, q Query) ([]Execution, error) {
	return f.list(ctx, ListQuery(q), "closed incidents")
}

// list pages through visibility for the executions query matches; what
// names them in an error.
func (f *Fetcher) list(ctx context.Context, query, what string) ([]Execution, error) {
	size := f.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	var out []Execution
	var token []byte
	for page := 1; ; page++ {
		resp, err := f.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: f.namespace(), Query: query, PageSize: int32(size), NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("report: list %s (page %d of %q): %w", what, page, query, err)
		}
		for _, info := range resp.GetExecutions() {
			out = append(out, Execution{
				WorkflowID: info.GetExecution().GetWorkflowId(),
				RunID:      info.GetExecution().GetRunId(),
				CloseTime:  info.GetCloseTime().AsTime(),
			})
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return out, nil
		}
	}
}

// excluded counts the incident runs of the period that closed without a
// result (terminated, failed, timed out, cancelled); -1 when the server
// cannot count.
func (f *Fetcher) excluded(ctx context.Context, q Query) int {
	query := fmt.Sprintf("WorkflowType = '%s' AND CloseTime >= '%s' AND CloseTime < '%s' AND ExecutionStatus != 'Completed' AND ExecutionStatus != 'ContinuedAsNew' AND ExecutionStatus != 'Running'",
		workflows.IncidentWorkflowName, q.Since.UTC().Format(time.RFC3339Nano), q.Until.UTC().Format(time.RFC3339Nano))
	resp, err := f.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: f.namespace(), Query: query})
	if err != nil {
		return -1
	}
	return int(resp.GetCount())
}

// Fetch reads the final snapshot of each execution, Concurrency at a time,
// and returns their facts in the executions' order; with a team, only the
// incidents whose roster names it. The first failure stops the fetch and
// is returned naming the incident.
func (f *Fetcher) Fetch(ctx context.Context, execs []Execution, team string) ([]Incident, error) {
	n := f.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	results := make([]Incident, len(execs))
	keep := make([]bool, len(execs))
	var done atomic.Int64
	stop := f.progress("fetched", "incidents", len(execs), &done)
	defer stop()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for i, e := range execs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			defer done.Add(1)
			if team != "" {
				t, err := f.team(gctx, e)
				if err != nil {
					return err
				}
				if t != team {
					return nil
				}
			}
			s, err := f.snapshot(gctx, e)
			if err != nil {
				return err
			}
			in := Of(s)
			in.RunID = e.RunID
			if in.ID == "" {
				in.ID = e.WorkflowID
			}
			results[i], keep[i] = in, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("report: fetch results: %w", err)
	}
	out := make([]Incident, 0, len(execs))
	for i := range results {
		if keep[i] {
			out = append(out, results[i])
		}
	}
	return out, nil
}

// snapshot reads a completed run's result: the final snapshot.
func (f *Fetcher) snapshot(ctx context.Context, e Execution) (workflows.Snapshot, error) {
	ev, err := f.event(ctx, e, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT, 0)
	if err != nil {
		return workflows.Snapshot{}, err
	}
	attrs := ev.GetWorkflowExecutionCompletedEventAttributes()
	if attrs == nil {
		return workflows.Snapshot{}, fmt.Errorf("report: incident %s (run %s): the close event is %s, not a completion", e.WorkflowID, e.RunID, ev.GetEventType())
	}
	var s workflows.Snapshot
	if err := f.converter().FromPayloads(attrs.GetResult(), &s); err != nil {
		return workflows.Snapshot{}, fmt.Errorf("report: incident %s (run %s): decode the final snapshot: %w", e.WorkflowID, e.RunID, err)
	}
	return s, nil
}

// team reads the roster team from a run's start event.
func (f *Fetcher) team(ctx context.Context, e Execution) (string, error) {
	ev, err := f.event(ctx, e, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT, 1)
	if err != nil {
		return "", err
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return "", fmt.Errorf("report: incident %s (run %s): the first event is %s, not the start", e.WorkflowID, e.RunID, ev.GetEventType())
	}
	var in struct {
		Roster struct {
			Team string `json:"team"`
		} `json:"roster"`
	}
	if err := f.converter().FromPayloads(attrs.GetInput(), &in); err != nil {
		return "", fmt.Errorf("report: incident %s (run %s): decode the input: %w", e.WorkflowID, e.RunID, err)
	}
	return in.Roster.Team, nil
}

// event reads the first event of a run's history under filter (pageSize
// 0: the server's).
func (f *Fetcher) event(ctx context.Context, e Execution, filter enumspb.HistoryEventFilterType, pageSize int32) (*historypb.HistoryEvent, error) {
	resp, err := f.Client.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace:              f.namespace(),
		Execution:              &commonpb.WorkflowExecution{WorkflowId: e.WorkflowID, RunId: e.RunID},
		MaximumPageSize:        pageSize,
		HistoryEventFilterType: filter,
	})
	if err != nil {
		return nil, fmt.Errorf("report: read the history of incident %s (run %s): %w", e.WorkflowID, e.RunID, err)
	}
	events := resp.GetHistory().GetEvents()
	if len(events) == 0 {
		return nil, fmt.Errorf("report: incident %s (run %s): empty history", e.WorkflowID, e.RunID)
	}
	return events[0], nil
}

func (f *Fetcher) namespace() string {
	if f.Namespace == "" {
		return "default"
	}
	return f.Namespace
}

func (f *Fetcher) converter() converter.DataConverter {
	if f.DataConverter == nil {
		return converter.GetDefaultDataConverter()
	}
	return f.DataConverter
}

// progress prints "<verb> N of M <what>" every ProgressEvery until the
// returned stop is called; the last line follows stop when any was
// printed.
func (f *Fetcher) progress(verb, what string, total int, done *atomic.Int64) (stop func()) {
	if f.Progress == nil || total == 0 {
		return func() {}
	}
	every := f.ProgressEvery
	if every <= 0 {
		every = DefaultProgressEvery
	}
	start := time.Now()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	var printed bool
	line := func() {
		n := done.Load()
		rate := float64(n) / max(time.Since(start).Seconds(), 1e-3)
		fmt.Fprintf(f.Progress, "datasev report: %s %d of %d %s (%.0f/s)\n", verb, n, total, what, rate)
		printed = true
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				line()
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
		if printed {
			line()
		}
	}
}

// ParseSince reads a --since value relative to now: a duration in days
// (90d), weeks (12w) or any Go duration (36h, 90m), or a date (2026-01-02)
// or RFC 3339 time, and returns the start of the period.
func ParseSince(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	bad := func(why string) error {
		return fmt.Errorf("--since %q: %s; want a duration like 90d, 12w or 36h, or a date like 2026-01-02", v, why)
	}
	if v == "" {
		return time.Time{}, bad("empty")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return checkPast(t, now, bad)
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return checkPast(t, now, bad)
	}
	var d time.Duration
	switch unit := v[len(v)-1]; unit {
	case 'd', 'w':
		var n int
		if _, err := fmt.Sscanf(v[:len(v)-1], "%d", &n); err != nil || fmt.Sprint(n) != v[:len(v)-1] {
			return time.Time{}, bad("not a whole number of " + map[byte]string{'d': "days", 'w': "weeks"}[unit])
		}
		day := 24 * time.Hour
		if unit == 'w' {
			day *= 7
		}
		if n > 100*366 {
			return time.Time{}, bad("more than a century")
		}
		d = time.Duration(n) * day
	default:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return time.Time{}, bad("not a duration or a date")
		}
	}
	if d <= 0 {
		return time.Time{}, bad("not a positive duration")
	}
	return now.Add(-d), nil
}

func checkPast(t, now time.Time, bad func(string) error) (time.Time, error) {
	if !t.Before(now) {
		return time.Time{}, bad("in the future")
	}
	return t, nil
}

// errFormat is returned for a format not in Formats.
var errFormat = errors.New("unknown format")

// CheckFormat reports whether format is one of Formats.
func CheckFormat(format string) error {
	for _, f := range Formats {
		if format == f {
			return nil
		}
	}
	return fmt.Errorf("--format %q: %w; want one of %s", format, errFormat, strings.Join(Formats, ", "))
}
