package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/worker/codec"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/registry"
)

const replayUsage = "DIR|FILE... | --query 'VISIBILITY QUERY' [--limit N]"

// defaultReplayLimit bounds how many workflows --query replays.
const defaultReplayLimit = 1000

// replayProgressEvery is how many histories pass between progress lines.
var replayProgressEvery = 100

// Outcomes of one history's replay.
const (
	replayOK               = "ok"
	replayNondeterministic = "NONDETERMINISTIC"
	replayFailed           = "FAILED"
	replayUnreadable       = "UNREADABLE"
)

// runReplay replays workflow histories against the workflow code compiled
// into this binary: what a worker of this build would do with the
// incidents running when it is rolled out.
func runReplay(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "replay", replayUsage)
	var (
		query string
		limit int
	)
	fs.StringVar(&query, "query", "", "replay the workflows this visibility query lists, fetched from Temporal (e.g. \"WorkflowType='Incident' AND ExecutionStatus='Running'\")")
	fs.IntVar(&limit, "limit", defaultReplayLimit, "with --query: replay at most N workflows")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: datasev replay %s\n", replayUsage)
		fmt.Fprintln(e.stderr, "Replays workflow histories against the workflow code of this binary, as a worker of this")
		fmt.Fprintln(e.stderr, "build would on its first task for each: run it with the NEW binary before rolling workers.")
		fmt.Fprintln(e.stderr, "  DIR|FILE...  histories exported with `temporal workflow show -o json --workflow-id ID > ID.json`;")
		fmt.Fprintln(e.stderr, "               a directory's *.json files")
		fmt.Fprintln(e.stderr, "  --query Q    fetch the histories of the workflows Q lists (the usual TEMPORAL_* connection)")
		fmt.Fprintln(e.stderr, "One line per history (workflow ID, run ID, events, ok or NONDETERMINISTIC / FAILED / UNREADABLE")
		fmt.Fprintln(e.stderr, "with the reason), then a summary. Exit 1 when any history would break or cannot be read.")
		fs.PrintDefaults()
	}
	paths, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case query == "" && len(paths) == 0:
		return usagef("replay: name history files or directories, or --query 'VISIBILITY QUERY'")
	case query != "" && len(paths) > 0:
		return usagef("replay: either files (%s) or --query, not both", paths[0])
	case limit < 1:
		return usagef("replay: --limit %d: want at least 1", limit)
	}
	r, err := newHistoryReplayer(e)
	if err != nil {
		return err
	}
	var sum replaySummary
	if query != "" {
		err = replayQuery(ctx, e, r, query, limit, &sum)
	} else {
		err = replayFiles(ctx, e, r, paths, &sum)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, sum)
	return sum.err()
}

// replaySummary counts the outcomes.
type replaySummary struct {
	total     int
	by        map[string]int
	truncated int // --limit stopped the listing at this many
}

func (s *replaySummary) add(outcome string) {
	if s.by == nil {
		s.by = map[string]int{}
	}
	s.total++
	s.by[outcome]++
}

func (s replaySummary) String() string {
	parts := []string{fmt.Sprintf("%d ok", s.by[replayOK])}
	for _, o := range []string{replayNondeterministic, replayFailed, replayUnreadable} {
		if n := s.by[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	line := fmt.Sprintf("replayed %d histories: %s", s.total, strings.Join(parts, ", "))
	if s.truncated > 0 {
		line += fmt.Sprintf(" (stopped at --limit %d; more workflows match)", s.truncated)
	}
	return line
}

// err is the command's failure when any history would break or could not
// be read, else nil.
func (s replaySummary) err() error {
	breaking := s.by[replayNondeterministic] + s.by[replayFailed]
	unreadable := s.by[replayUnreadable]
	switch {
	case breaking > 0 && unreadable > 0:
		return fmt.Errorf("%d of %d histories would break on this build and %d could not be read: do not roll the workers out", breaking, s.total, unreadable)
	case breaking > 0:
		return fmt.Errorf("%d of %d histories would break on this build: do not roll the workers out", breaking, s.total)
	case unreadable > 0:
		return fmt.Errorf("%d of %d histories could not be read; fix or remove them and replay again", unreadable, s.total)
	}
	return nil
}

// historyReplayer replays histories with the workflows as the worker
// registers them and the payload converter the worker uses.
type historyReplayer struct {
	opts   worker.WorkflowReplayerOptions
	dc     converter.DataConverter
	logger log.Logger
}

func newHistoryReplayer(e *env) (*historyReplayer, error) {
	r := &historyReplayer{
		dc:     converter.GetDefaultDataConverter(),
		logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	// Encrypted histories (DATASEV_CODEC_*) replay with the worker's keys.
	k, on, err := codec.KeyringFromEnv(e.getenv)
	if err != nil {
		return nil, fmt.Errorf("payload encryption: %w", err)
	}
	if on {
		r.dc = codec.DataConverter(k)
		r.opts.DataConverter = r.dc
		r.opts.FailureConverter = codec.FailureConverter(k)
	}
	return r, nil
}

// replay replays h as the run exec and returns the outcome and its reason.
// An empty exec.ID is read from the history's start input.
func (r *historyReplayer) replay(h *historypb.History, exec workflow.Execution) (outcome, reason string) {
	// A fresh replayer each time: nothing of one history reaches the next.
	wr, err := worker.NewWorkflowReplayerWithOptions(r.opts)
	if err != nil {
		return replayFailed, fmt.Sprintf("replayer: %v", err)
	}
	registry.Register(wr)
	err = wr.ReplayWorkflowHistoryWithOptions(r.logger, h, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec})
	switch {
	case err == nil:
		return replayOK, ""
	case strings.Contains(strings.ToLower(err.Error()), "nondeterministic"):
		return replayNondeterministic, oneLine(err.Error())
	default:
		return replayFailed, oneLine(err.Error())
	}
}

// execution returns the run h was recorded from: its run ID from the
// start event, and its workflow ID from the start input (an exported
// history does not carry it, and replay needs it: the runbook's child ID
// derives from the incident's own). Unknown workflow types get an empty
// ID; the replay then says they are not in this binary.
func (r *historyReplayer) execution(h *historypb.History) (workflow.Execution, error) {
	start := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	if start == nil {
		return workflow.Execution{}, fmt.Errorf("the first event is %s, not the workflow's start", h.GetEvents()[0].GetEventType())
	}
	exec := workflow.Execution{RunID: start.GetOriginalExecutionRunId()}
	payloads := start.GetInput().GetPayloads()
	if len(payloads) == 0 {
		return exec, nil
	}
	switch name := start.GetWorkflowType().GetName(); name {
	case workflows.IncidentWorkflowName:
		var in workflows.IncidentInput
		if err := r.dc.FromPayload(payloads[0], &in); err != nil {
			return exec, fmt.Errorf("reading the %s start input: %w", name, err)
		}
		exec.ID = workflows.WorkflowID(in.Alert.DedupeKey)
		if in.Carry != nil && in.Carry.ID != "" {
			exec.ID = in.Carry.ID
		}
	case workflows.RunbookWorkflowName:
		var in workflows.RunbookInput
		if err := r.dc.FromPayload(payloads[0], &in); err != nil {
			return exec, fmt.Errorf("reading the %s start input: %w", name, err)
		}
		exec.ID = workflows.RunbookID(in.Incident)
	}
	return exec, nil
}

// replayFiles replays the histories in paths: files, and the *.json files
// of directories.
func replayFiles(ctx context.Context, e *env, r *historyReplayer, paths []string, sum *replaySummary) error {
	files, err := historyFiles(paths)
	if err != nil {
		return err
	}
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("replay stopped after %d of %d histories: %w", i, len(files), err)
		}
		progress(e, i, len(files))
		h, err := readHistoryFile(f)
		if err != nil {
			sum.add(replayUnreadable)
			fmt.Fprintf(e.stdout, "%s: %s: %v\n", f, replayUnreadable, err)
			continue
		}
		exec, err := r.execution(h)
		if err != nil {
			sum.add(replayFailed)
			fmt.Fprintf(e.stdout, "%s: %s: %v\n", f, replayFailed, err)
			continue
		}
		outcome, reason := r.replay(h, exec)
		sum.add(outcome)
		printReplay(e.stdout, f+": ", exec, len(h.GetEvents()), outcome, reason)
	}
	return nil
}

// historyFiles expands paths: a file as it is, a directory to its *.json
// files, sorted. A path that does not exist, or a directory without
// histories, is an error naming it.
func historyFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("history %s: %w", p, err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("history directory %s: %w", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("history directory %s holds no *.json files", p)
		}
		sort.Strings(matches)
		files = append(files, matches...)
	}
	return files, nil
}

// readHistoryFile reads a history as `temporal workflow show -o json`
// writes it.
func readHistoryFile(path string) (*historypb.History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return nil, fmt.Errorf("not a workflow history in JSON (want the output of `temporal workflow show -o json`): %w", err)
	}
	if len(h.GetEvents()) == 0 {
		return nil, errors.New("the history has no events (want the output of `temporal workflow show -o json`)")
	}
	return h, nil
}

// replayQuery lists the workflows query matches, at most limit, and
// replays each one's history as fetched from Temporal.
func replayQuery(ctx context.Context, e *env, r *historyReplayer, query string, limit int, sum *replaySummary) error {
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	execs, more, err := listExecutions(ctx, c, query, limit)
	if err != nil {
		return err
	}
	if more {
		sum.truncated = limit
		fmt.Fprintf(e.stderr, "replay: more than %d workflows match; replaying the first %d (raise --limit for all)\n", limit, limit)
	}
	if len(execs) == 0 {
		fmt.Fprintf(e.stderr, "replay: no workflow matches %s\n", query)
	}
	for i, exec := range execs {
		progress(e, i, len(execs))
		h, err := fetchHistory(ctx, c, exec)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("replay stopped after %d of %d histories: %w", i, len(execs), ctx.Err())
			}
			sum.add(replayUnreadable)
			printReplay(e.stdout, "", exec, 0, replayUnreadable, oneLine(err.Error()))
			continue
		}
		outcome, reason := r.replay(h, exec)
		sum.add(outcome)
		printReplay(e.stdout, "", exec, len(h.GetEvents()), outcome, reason)
	}
	return nil
}

// listExecutions returns the runs query lists, at most limit, and whether
// more match.
func listExecutions(ctx context.Context, c client.Client, query string, limit int) ([]workflow.Execution, bool, error) {
	var (
		out   []workflow.Execution
		token []byte
	)
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         query,
			PageSize:      int32(min(limit-len(out)+1, 1000)),
			NextPageToken: token,
		})
		if err != nil {
			return nil, false, fmt.Errorf("listing workflows with query %q: %w", query, err)
		}
		for _, info := range resp.GetExecutions() {
			if len(out) == limit {
				return out, true, nil
			}
			out = append(out, workflow.Execution{ID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId()})
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return out, false, nil
		}
		if len(out) == limit {
			// A further page may be empty: more match only if it is not.
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1, NextPageToken: token})
			if err != nil {
				return nil, false, fmt.Errorf("listing workflows with query %q: %w", query, err)
			}
			return out, len(resp.GetExecutions()) > 0, nil
		}
	}
}

// fetchHistory reads the whole history of one run.
func fetchHistory(ctx context.Context, c client.Client, exec workflow.Execution) (*historypb.History, error) {
	h := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, exec.ID, exec.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("fetching the history of %s run %s: %w", exec.ID, exec.RunID, err)
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		return nil, fmt.Errorf("the history of %s run %s has no events", exec.ID, exec.RunID)
	}
	return h, nil
}

// printReplay writes one history's line: where it came from, workflow ID,
// run ID, events, outcome.
func printReplay(w io.Writer, source string, exec workflow.Execution, events int, outcome, reason string) {
	id, run := exec.ID, exec.RunID
	if id == "" {
		id = "(unknown workflow ID)"
	}
	if run == "" {
		run = "(unknown)"
	}
	line := fmt.Sprintf("%s%s run %s, %d events: %s", source, id, run, events, outcome)
	if reason != "" {
		line += ": " + reason
	}
	fmt.Fprintln(w, line)
}

// progress says on stderr how far a long replay is.
func progress(e *env, done, total int) {
	if done > 0 && done%replayProgressEvery == 0 {
		fmt.Fprintf(e.stderr, "replay: %d of %d histories replayed…\n", done, total)
	}
}
