package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/codec"
	"github.com/datasev/datasev/worker/service"
)

// recordedHistories is where the workflows' tests keep histories recorded
// from real runs of every released version of the workflows.
var recordedHistories = filepath.Join("..", "..", "workflows", "testdata", "histories")

// replayEnv is an environment that reaches no Temporal server and reads no
// configuration of the machine's.
func replayEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"TEMPORAL_ADDRESS":     closedPort(t),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
	}
}

// replayLine matches one history's line of the output.
var replayLine = regexp.MustCompile(`(?m)^(.*\.json): (\S+) run (\S+), (\d+) events: (ok|NONDETERMINISTIC|FAILED|UNREADABLE)(: .*)?$`)

// The recorded histories of every released version replay on this build:
// one ok line each, with the workflow ID read from the start input, and a
// summary; exit 0.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(recordedHistories, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in %s: %v", recordedHistories, err)
	}
	code, out, errs := runCLI(t, replayEnv(t), "replay", recordedHistories)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	lines := replayLine.FindAllStringSubmatch(out, -1)
	if len(lines) != len(files) {
		t.Fatalf("%d history lines for %d files:\n%s", len(lines), len(files), out)
	}
	for _, l := range lines {
		if l[5] != "ok" || !strings.HasPrefix(l[2], "incident-") || l[3] == "" || l[4] == "0" {
			t.Errorf("line %q", l[0])
		}
	}
	if want := fmt.Sprintf("replayed %d histories: %d ok\n", len(files), len(files)); !strings.HasSuffix(out, want) {
		t.Errorf("summary: want %q at the end of\n%s", want, out)
	}
	// A runbook's ID derives from its incident's.
	code, out, _ = runCLI(t, replayEnv(t), "replay", filepath.Join(recordedHistories, "runbook-walkthrough-runbook-run1.json"))
	if code != 0 || !strings.Contains(out, ": incident-runbook-walkthrough/runbook run ") {
		t.Errorf("runbook history: exit %d\n%s", code, out)
	}
}

// A history whose commands the code no longer issues (here: another
// activity than the one recorded) is reported as breaking, beside the ones
// that still replay, and the command fails.
func TestReplayReportsABreakingHistory(t *testing.T) {
	dir := t.TempDir()
	const name = "runbook-walkthrough-runbook-run1.json"
	good := copyFile(t, filepath.Join(recordedHistories, name), filepath.Join(dir, "a-good.json"))
	h, err := readHistoryFile(good)
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for _, e := range h.GetEvents() {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			a.ActivityType.Name = "SendPigeon" // as if the code now called another activity
			changed = true
			break
		}
	}
	if !changed {
		t.Fatalf("%s has no activity to alter", name)
	}
	b, err := protojson.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	altered := filepath.Join(dir, "b-altered.json")
	if err := os.WriteFile(altered, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, replayEnv(t), "replay", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	lines := replayLine.FindAllStringSubmatch(out, -1)
	if len(lines) != 2 {
		t.Fatalf("want 2 history lines:\n%s", out)
	}
	if lines[0][1] != good || lines[0][5] != "ok" {
		t.Errorf("unaltered copy: %q", lines[0][0])
	}
	if lines[1][1] != altered || lines[1][5] != "NONDETERMINISTIC" || !strings.Contains(lines[1][6], "SendPigeon") {
		t.Errorf("altered copy: %q, want NONDETERMINISTIC naming the activity", lines[1][0])
	}
	if !strings.Contains(out, "replayed 2 histories: 1 ok, 1 NONDETERMINISTIC") ||
		!strings.Contains(errs, "1 of 2 histories would break on this build: do not roll the workers out") {
		t.Errorf("summary and error:\n%s%s", out, errs)
	}
}

// Files that are not histories are named with what is wrong, the others
// still replay, and the command fails; a path that does not exist, or a
// directory without histories, stops it before any replay.
func TestReplayUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	good := copyFile(t, filepath.Join(recordedHistories, "walkthrough-run2.json"), filepath.Join(dir, "good.json"))
	broken := writeFile(t, dir, "broken.json", `{"events": [{"eventId": "1",`)
	empty := writeFile(t, dir, "empty.json", `{}`)
	code, out, errs := runCLI(t, replayEnv(t), "replay", good, broken, empty)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		good + ": incident-walkthrough run ",
		broken + ": UNREADABLE: not a workflow history in JSON (want the output of `temporal workflow show -o json`)",
		empty + ": UNREADABLE: the history has no events",
		"replayed 3 histories: 1 ok, 2 UNREADABLE",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output misses %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "2 of 3 histories could not be read") {
		t.Errorf("error: %s", errs)
	}

	missing := filepath.Join(dir, "nope.json")
	if code, out, errs := runCLI(t, replayEnv(t), "replay", good, missing); code != 1 || out != "" || !strings.Contains(errs, "history "+missing+": ") {
		t.Errorf("missing file: exit %d\n%s%s", code, out, errs)
	}
	none := t.TempDir()
	if code, _, errs := runCLI(t, replayEnv(t), "replay", none); code != 1 || !strings.Contains(errs, "history directory "+none+" holds no *.json files") {
		t.Errorf("empty directory: exit %d %s", code, errs)
	}
}

// A history whose payloads are encrypted, as a worker with
// DATASEV_CODEC_KEYS_FILE records it, replays with the same keys; without
// them its start input cannot be read, and the line says so.
func TestReplayEncryptedHistory(t *testing.T) {
	dir := t.TempDir()
	line, err := codec.NewKeyWithID("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys := writeFile(t, dir, "keys", line+"\n")
	k, err := codec.LoadKeysFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	h, err := readHistoryFile(filepath.Join(recordedHistories, "walkthrough-run2.json"))
	if err != nil {
		t.Fatal(err)
	}
	enc := codec.NewCodec(k)
	err = proxy.VisitPayloads(t.Context(), h, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return enc.Encode(ps)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if in := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]; bytes.Contains(in.GetData(), []byte("walkthrough")) {
		t.Fatal("the encrypted start input still shows its dedupe key")
	}
	f := filepath.Join(dir, "encrypted.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := replayEnv(t)
	env[codec.EnvKeysFile] = keys
	if code, out, errs := runCLI(t, env, "replay", f); code != 0 || !strings.Contains(out, f+": incident-walkthrough run ") {
		t.Errorf("with the keys: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, replayEnv(t), "replay", f); code != 1 || !strings.Contains(out, f+": FAILED: reading the Incident start input: ") {
		t.Errorf("without the keys: exit %d\n%s%s", code, out, errs)
	}
}

func TestReplayUsage(t *testing.T) {
	for _, args := range [][]string{
		{"replay"},
		{"replay", "--query", "WorkflowType='Incident'", recordedHistories},
		{"replay", "--query", "WorkflowType='Incident'", "--limit", "0"},
		{"replay", "--frobnicate"},
	} {
		if code, out, errs := runCLI(t, replayEnv(t), args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s%s", args, code, out, errs)
		}
	}
	code, _, errs := runCLI(t, replayEnv(t), "help", "replay")
	if code != 0 || !strings.Contains(errs, "Usage: datasev replay ") || !strings.Contains(errs, "temporal workflow show -o json") {
		t.Errorf("help: exit %d\n%s", code, errs)
	}
}

// --query against a dev server with running incidents: each listed
// incident's history is fetched and replayed; --limit bounds them and
// says so; a query the server refuses is an error.
func TestReplayQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	srv, err := devstack.Start(ctx, devstack.Options{DBFile: filepath.Join(t.TempDir(), "t.db"), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	t.Cleanup(func() { srv.Stop() })
	const queue = "replay-test"
	dir := t.TempDir()
	w := service.New(srv.Client(), service.Config{TaskQueue: queue, StopTimeout: 2 * time.Second,
		Postmortem: postmortem.Config{Dir: dir}, IncidentDoc: incidentdoc.Config{Dir: filepath.Join(dir, "incidents")}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	env := map[string]string{
		"TEMPORAL_ADDRESS":     srv.HostPort(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
		EnvRoster:              filepath.Join("..", "..", "runbooks", "roster.yaml"),
		EnvTaskQueue:           queue,
	}
	var ids []string
	for _, key := range []string{"replay-orders", "replay-events"} {
		code, out, errs := runCLI(t, env, "declare", "--title", key+" load failing", "--key", key)
		if code != 0 {
			t.Fatalf("declare %s: exit %d\n%s%s", key, code, out, errs)
		}
		id := "incident-" + key
		ids = append(ids, id)
		// The worker has run the incident's first task once it answers.
		for {
			if _, err := incidents.Status(ctx, srv.Client(), id); err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("incident %s never answered", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The query docs/deploy.md shows.
	const query = "ExecutionStatus='Running' AND (WorkflowType='Incident' OR WorkflowType='Runbook')"
	waitListed(t, ctx, srv.Client(), query, len(ids))

	code, out, errs := runCLI(t, env, "replay", "--query", query)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^(\S+) run \S+, (\d+) events: ok$`).FindAllStringSubmatch(out, -1) {
		if m[2] == "0" || m[2] == "1" || m[2] == "2" {
			t.Errorf("%q: the history of a running incident has more events", m[0])
		}
		got = append(got, m[1])
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) || !strings.Contains(out, "replayed 2 histories: 2 ok\n") {
		t.Errorf("replayed %v, want %v\n%s%s", got, ids, out, errs)
	}

	code, out, errs = runCLI(t, env, "replay", "--query", query, "--limit", "1")
	if code != 0 || strings.Count(out, ": ok\n") != 1 || !strings.Contains(out, "replayed 1 histories: 1 ok (stopped at --limit 1; more workflows match)") ||
		!strings.Contains(errs, "more than 1 workflows match") {
		t.Errorf("--limit 1: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs = runCLI(t, env, "replay", "--query", "NoSuchAttribute='x'")
	if code != 1 || !strings.Contains(errs, `listing workflows with query "NoSuchAttribute='x'"`) {
		t.Errorf("bad query: exit %d\n%s%s", code, out, errs)
	}
}

// waitListed waits until visibility lists n workflows for query: it is
// eventually consistent.
func waitListed(t *testing.T, ctx context.Context, c client.Client, query string, n int) {
	t.Helper()
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err == nil && len(resp.GetExecutions()) >= n {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("visibility never listed %d workflows for %s: %v", n, query, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}
