package incidents_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/actions"
	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// One dev server and one worker serve the whole package.
var (
	srv *devstack.Server
	tc  client.Client // the client the tests use, which names its address in errors

	workerMu sync.Mutex
	wrk      worker.Worker

	lake          *s3test.Server // the S3-protocol stand-in the s3.* actions read
	postmortemDir string         // where the worker writes postmortems
	wh            *sftest.Server // the Snowflake-protocol stand-in the snowflake.* actions query
	orders        = sftest.NewDemo(nil)
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // unit tests only; integration tests skip
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
	srv, err = devstack.Start(ctx, devstack.Options{Stdout: io.Discard, Stderr: os.Stderr, Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dev server:", err)
		return 1
	}
	defer srv.Stop()
	tc = &incidents.Conn{Client: srv.Client(), Address: srv.HostPort()}
	lake = s3test.New()
	defer lake.Close()
	for k, v := range lake.Env() { // static credentials, no instance-metadata probing
		os.Setenv(k, v)
	}
	if _, err := lake.SeedDemo(time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "s3 stand-in:", err)
		return 1
	}
	if wh, err = sftest.New(sftest.Options{Handler: orders.Handler}); err != nil {
		fmt.Fprintln(os.Stderr, "snowflake stand-in:", err)
		return 1
	}
	defer wh.Close()
	for k, v := range wh.Env() { // DATASEV_SNOWFLAKE_* at 127.0.0.1, platform detection off
		os.Setenv(k, v)
	}
	if postmortemDir, err = os.MkdirTemp("", "datasev-postmortems-"); err != nil {
		fmt.Fprintln(os.Stderr, "postmortem dir:", err)
		return 1
	}
	defer os.RemoveAll(postmortemDir)
	if err := startWorker(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	defer stopWorker()
	return m.Run()
}

func startWorker() error {
	workerMu.Lock()
	defer workerMu.Unlock()
	s3cfg, err := s3act.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	sfcfg, err := snowflake.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	w := service.New(srv.Client(), service.Config{TaskQueue: workflows.TaskQueue, StopTimeout: 2 * time.Second, S3: s3cfg, Snowflake: sfcfg,
		Postmortem: postmortem.Config{Dir: postmortemDir}, IncidentDoc: incidentdoc.Config{Dir: filepath.Join(postmortemDir, "incidents")}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := w.Start(); err != nil {
		return err
	}
	wrk = w
	return nil
}

func stopWorker() {
	workerMu.Lock()
	defer workerMu.Unlock()
	if wrk != nil {
		wrk.Stop()
		wrk = nil
	}
}

// testRoster has one 24-hour shift whose boundary is twelve hours away, so
// no handoff fires during a test run whatever the time of day.
func testRoster(t *testing.T) oncall.Roster {
	t.Helper()
	h := (time.Now().UTC().Hour() + 12) % 24
	at := fmt.Sprintf("%02d:00", h)
	r := oncall.Roster{
		Team:     "it-team",
		TimeZone: "UTC",
		People: []oncall.Person{
			{ID: "alice"}, {ID: "bob"}, {ID: "carol"}, {ID: "dave"}, {ID: "erin"},
		},
		Shifts: []oncall.Shift{{
			Name: "all", Start: at, End: at,
			Commander: "alice", Secondary: "bob", Scribe: "carol", Liaison: "dave", SMEs: []string{"erin"},
		}},
	}
	// Everyone signs with their own key (as the CLI does); the default
	// trust policy takes no deciding act unsigned.
	for i, p := range r.People {
		r.People[i].Keys = []string{signerOf(p.ID).PublicKey()}
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

var keySeq struct {
	sync.Mutex
	n int
}

// newKey returns a dedupe key no other test (or earlier run) uses.
func newKey(t *testing.T) string {
	keySeq.Lock()
	keySeq.n++
	n := keySeq.n
	keySeq.Unlock()
	name := strings.NewReplacer("/", "-", " ", "-").Replace(strings.ToLower(t.Name()))
	return fmt.Sprintf("it-%s-%d-%d", name, time.Now().UnixNano(), n)
}

func alertFor(key string) workflows.Alert {
	return workflows.Alert{
		Source: "alertmanager", Title: "Orders load failing", DedupeKey: key,
		Severity: workflows.SEV3, Service: "orders", Dataset: "RAW.ORDERS",
		Labels: map[string]string{"alertname": "OrdersLoadFailed"},
	}
}

func declare(t *testing.T, ctx context.Context, req incidents.DeclareRequest) incidents.Declared {
	t.Helper()
	d, err := incidents.Declare(ctx, tc, req)
	if err != nil {
		t.Fatalf("declare %s: %v", req.Alert.DedupeKey, err)
	}
	return d
}

// signers are the test people's keys, made once per run.
var signers sync.Map // person → *incidents.Signer

// signerOf returns the person's signer.
func signerOf(person string) *incidents.Signer {
	if s, ok := signers.Load(person); ok {
		return s.(*incidents.Signer)
	}
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	s, _ := signers.LoadOrStore(person, incidents.NewSigner(k))
	return s.(*incidents.Signer)
}

// act sends an act signed with its author's key.
func act(t *testing.T, ctx context.Context, id, name string, a workflows.Act) workflows.ActResult {
	t.Helper()
	a.Via = "test"
	res, err := incidents.ActSigned(ctx, tc, signerOf(a.By), id, name, a)
	if err != nil {
		t.Fatalf("%s by %s: %v", name, a.By, err)
	}
	return res
}

func status(t *testing.T, ctx context.Context, id string) workflows.Status {
	t.Helper()
	st, err := incidents.Status(ctx, tc, id)
	if err != nil {
		t.Fatalf("status %s: %v", id, err)
	}
	return st
}

func timeline(t *testing.T, ctx context.Context, id string) []workflows.TimelineEntry {
	t.Helper()
	tl, err := incidents.Timeline(ctx, tc, id)
	if err != nil {
		t.Fatalf("timeline %s: %v", id, err)
	}
	return tl
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testCtx skips without a server (-short) and bounds a test.
func testCtx(t *testing.T) context.Context {
	if srv == nil {
		t.Skip("integration test: needs the dev server (not in -short mode)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// (a) An alert storm on one key: one incident, every alert counted.
func TestConcurrentDeclaresMakeOneIncident(t *testing.T) {
	ctx := testCtx(t)
	key, roster := newKey(t), testRoster(t)
	const n = 20
	results := make([]incidents.Declared, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = incidents.Declare(ctx, tc, incidents.DeclareRequest{Alert: alertFor(key), Roster: roster})
		}()
	}
	wg.Wait()
	started := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("declare %d: %v", i, errs[i])
		}
		if results[i].RunID != results[0].RunID {
			t.Errorf("declare %d went to run %s, declare 0 to %s", i, results[i].RunID, results[0].RunID)
		}
		if !results[i].Joined {
			started++
		}
	}
	if started != 1 {
		t.Errorf("%d declarations say they started the incident, want exactly 1", started)
	}
	id := workflows.WorkflowID(key)
	eventually(t, 20*time.Second, "one running workflow in visibility", func() (bool, string) {
		list, err := incidents.List(ctx, tc, incidents.Filter{WorkflowID: id})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, s := range list {
			if s.Execution == "Running" {
				running++
			}
		}
		return len(list) == 1 && running == 1, fmt.Sprintf("%d runs, %d running", len(list), running)
	})
	eventually(t, 15*time.Second, "alert count 20", func() (bool, string) {
		st, err := incidents.Status(ctx, tc, id)
		if err != nil {
			return false, err.Error()
		}
		return st.AlertCount == n, fmt.Sprintf("alert count %d", st.AlertCount)
	})
	// Redelivery of an alert already counted changes nothing.
	again := alertFor(key)
	again.ID = results[3].AlertID
	if err := incidents.SendAlert(ctx, tc, again); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if st := status(t, ctx, id); st.AlertCount != n {
		t.Errorf("after a redelivered alert: alert count %d, want %d", st.AlertCount, n)
	}
}

// (b) An Update the workflow rejects: a clear message and nothing changed.
func TestRejectedUpdateChangesNothing(t *testing.T) {
	ctx := testCtx(t)
	d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(newKey(t)), Roster: testRoster(t)})
	id := d.WorkflowID
	act(t, ctx, id, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	act(t, ctx, id, workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun-1", Action: "re-run load_orders"})
	// Let the incident settle: the document's first write records its
	// place in the timeline on its own schedule.
	eventually(t, 15*time.Second, "the incident document", func() (bool, string) {
		st := status(t, ctx, id)
		return st.Document != "", "no document yet"
	})
	before, tlBefore := status(t, ctx, id), timeline(t, ctx, id)

	_, err := incidents.ActSigned(ctx, tc, signerOf("erin"), id, workflows.ActApprove, workflows.Act{By: "erin", Approval: "rerun-1"})
	var rej *incidents.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("SME approving: err = %v (%T), want a RejectedError", err, err)
	}
	if want := "only the Commander (alice) can approve"; !strings.Contains(rej.Message, want) {
		t.Errorf("rejection %q does not say %q", rej.Message, want)
	}
	if strings.Contains(err.Error(), "type:") || strings.Contains(err.Error(), "retryable") {
		t.Errorf("rejection carries SDK noise: %q", err)
	}

	after, tlAfter := status(t, ctx, id), timeline(t, ctx, id)
	if after.State != before.State || after.Severity != before.Severity || len(after.PendingApprovals) != 1 ||
		after.PendingApprovals[0].Status != workflows.ApprovalPending || after.TimelineLength != before.TimelineLength {
		t.Errorf("state changed by a rejected update:\nbefore %+v\nafter  %+v", before, after)
	}
	if len(tlAfter) != len(tlBefore) {
		t.Errorf("timeline grew from %d to %d entries: %+v", len(tlBefore), len(tlAfter), tlAfter[len(tlBefore):])
	}
	for _, e := range tlAfter {
		if e.Who == "erin" && strings.Contains(e.What, "approved") {
			t.Errorf("timeline records the rejected approval: %+v", e)
		}
	}

	// Unknown acts never reach the server.
	_, err = incidents.Act(ctx, tc, id, "approve_everything", workflows.Act{By: "alice"})
	var unknown *incidents.UnknownActError
	if !errors.As(err, &unknown) || !strings.Contains(err.Error(), "acknowledge, assign_role") {
		t.Errorf("unknown act: %v", err)
	}
	// Acting on an incident that does not exist.
	_, err = incidents.Act(ctx, tc, workflows.WorkflowID(newKey(t)), workflows.ActAcknowledge, workflows.Act{By: "alice"})
	var nf *incidents.NotFoundError
	if !errors.As(err, &nf) || !strings.HasPrefix(err.Error(), "no incident ") {
		t.Errorf("missing incident: %v (%T)", err, err)
	}
}

// (c) Acts as Signals: applied when valid, recorded as rejected when not.
func TestSignals(t *testing.T) {
	ctx := testCtx(t)
	d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(newKey(t)), Roster: testRoster(t)})
	id := d.WorkflowID

	if err := incidents.Signal(ctx, tc, id, workflows.ActAddNote, workflows.Act{By: "erin", Via: "ui", Note: "COPY INTO failed: 0 rows"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "signalled note in the timeline", func() (bool, string) {
		for _, e := range timeline(t, ctx, id) {
			if e.Who == "erin" && e.Kind == workflows.KindAct && strings.Contains(e.What, "COPY INTO failed: 0 rows") {
				return true, ""
			}
		}
		return false, "no entry"
	})

	before := status(t, ctx, id)
	if err := incidents.SignalSigned(ctx, tc, signerOf("erin"), id, workflows.ActSetSeverity, workflows.Act{By: "erin", Via: "ui", Severity: workflows.SEV1}); err != nil {
		t.Fatal(err)
	}
	var rejected workflows.TimelineEntry
	eventually(t, 10*time.Second, "rejected signal in the timeline", func() (bool, string) {
		for _, e := range timeline(t, ctx, id) {
			if e.Kind == workflows.KindRejected {
				rejected = e
				return true, ""
			}
		}
		return false, "no rejected entry"
	})
	if rejected.Who != "erin" || !strings.Contains(rejected.What, workflows.ActSetSeverity) || !strings.Contains(rejected.Why, "only the Commander (alice)") {
		t.Errorf("rejected entry %+v", rejected)
	}
	after := status(t, ctx, id)
	if after.Severity != before.Severity || after.State != before.State {
		t.Errorf("rejected signal changed state: before %s/%s after %s/%s", before.State, before.Severity, after.State, after.Severity)
	}
}

// (d) The status and timeline queries.
func TestQueries(t *testing.T) {
	ctx := testCtx(t)
	a := alertFor(newKey(t))
	a.Severity = workflows.SEV2
	set, err := runbooks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := declare(t, ctx, incidents.DeclareRequest{Alert: a, Roster: testRoster(t), Runbook: "snowflake-load-failed", Runbooks: set})
	if d.Joined || d.PreviousRunID != "" || d.Commander != "alice" {
		t.Errorf("declared %+v", d)
	}
	st := status(t, ctx, d.WorkflowID)
	if st.ID != d.WorkflowID || st.Title != a.Title || st.State != workflows.Triggered || st.Severity != workflows.SEV2 ||
		st.Service != "orders" || st.Dataset != "RAW.ORDERS" || st.Runbook != "snowflake-load-failed" ||
		st.Roles.Commander != "alice" || st.Roles.Scribe != "carol" || st.Roles.Liaison != "dave" ||
		len(st.Roles.SMEs) != 1 || st.Roles.SMEs[0] != "erin" || st.AlertCount != 1 || st.AlertStatus != workflows.Firing {
		t.Errorf("status %+v", st)
	}
	res := act(t, ctx, d.WorkflowID, workflows.ActAcknowledge, workflows.Act{By: "alice", Reason: "on it"})
	if res.Incident != d.WorkflowID || res.State != workflows.Diagnosing || res.Severity != workflows.SEV2 || res.Message == "" {
		t.Errorf("ack result %+v", res)
	}
	tl := timeline(t, ctx, d.WorkflowID)
	if len(tl) == 0 || tl[0].Kind != workflows.KindAlert {
		t.Fatalf("timeline %+v", tl)
	}
	var acked bool
	for _, e := range tl {
		if e.Who == "alice" && e.Kind == workflows.KindAct && strings.Contains(e.What, "acknowledged") && e.Why == "on it" {
			acked = true
		}
	}
	if !acked {
		t.Errorf("no acknowledgement in the timeline: %+v", tl)
	}
	// The runbook adds to the timeline as it goes, so the status, queried
	// later, holds at least as many entries.
	if st := status(t, ctx, d.WorkflowID); st.AckedAt.IsZero() || st.TimelineLength < len(tl) {
		t.Errorf("after ack: acked %v, timeline length %d vs %d", st.AckedAt, st.TimelineLength, len(tl))
	}
	// The library runbook runs: its checks query the stand-ins, and its page
	// reaches the SME through the incident (its freshness verify keeps going).
	deadline := time.Now().Add(20 * time.Second)
	var paged bool
	for !paged && time.Now().Before(deadline) {
		for _, e := range timeline(t, ctx, d.WorkflowID) {
			if e.Who == "runbook snowflake-load-failed" && e.Kind == workflows.KindNotify && strings.HasPrefix(e.What, "paged erin") {
				paged = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !paged {
		t.Error("the runbook's core.page did not page the SME (erin) through the incident")
	}
}

// (e) Search attributes: a severity change shows in visibility.
func TestListBySearchAttributes(t *testing.T) {
	ctx := testCtx(t)
	roster := testRoster(t)
	// A quote checks the query escaping against the server's parser. (Not a
	// backslash or double quote: the server's SQL visibility store escapes
	// those again, MySQL-style, so on SQLite they can never match.)
	service := "svc-o'brien-" + newKey(t)
	a := alertFor(newKey(t))
	a.Service = service
	d := declare(t, ctx, incidents.DeclareRequest{Alert: a, Roster: roster})
	other := alertFor(newKey(t))
	other.Service, other.Severity = service, workflows.SEV2
	od := declare(t, ctx, incidents.DeclareRequest{Alert: other, Roster: roster})

	act(t, ctx, d.WorkflowID, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	act(t, ctx, d.WorkflowID, workflows.ActSetSeverity, workflows.Act{By: "alice", Severity: workflows.SEV1, Reason: "all EU orders missing"})

	ids := func(f incidents.Filter) ([]string, error) {
		list, err := incidents.List(ctx, tc, f)
		var out []string
		for _, s := range list {
			out = append(out, s.WorkflowID)
		}
		return out, err
	}
	eventually(t, 20*time.Second, "SEV1 filter finds the escalated incident only", func() (bool, string) {
		got, err := ids(incidents.Filter{Severity: "sev1", Service: service, Open: true})
		if err != nil {
			return false, err.Error()
		}
		return len(got) == 1 && got[0] == d.WorkflowID, fmt.Sprintf("%v", got)
	})
	eventually(t, 20*time.Second, "SEV3 filter no longer finds it", func() (bool, string) {
		got, err := ids(incidents.Filter{Severity: "SEV3", Service: service})
		if err != nil {
			return false, err.Error()
		}
		return len(got) == 0, fmt.Sprintf("%v", got)
	})
	eventually(t, 20*time.Second, "status and commander filters", func() (bool, string) {
		list, err := incidents.List(ctx, tc, incidents.Filter{Service: service, Commander: "alice", Status: "diagnosing"})
		if err != nil {
			return false, err.Error()
		}
		if len(list) != 1 || list[0].WorkflowID != d.WorkflowID {
			return false, fmt.Sprintf("%+v", list)
		}
		s := list[0]
		ok := s.Severity == "SEV1" && s.Status == "diagnosing" && s.Service == service && s.Commander == "alice" &&
			s.Title == a.Title && s.Execution == "Running" && s.RunID == d.RunID && !s.StartTime.IsZero()
		return ok, fmt.Sprintf("%+v", s)
	})
	got, err := ids(incidents.Filter{Severity: "SEV2", Service: service})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != od.WorkflowID {
		t.Errorf("SEV2 filter: %v, want only %s", got, od.WorkflowID)
	}
}

// (f) A closed incident refuses acts; its key opens a linked recurrence.
func TestClosedIncidentAndRecurrence(t *testing.T) {
	ctx := testCtx(t)
	roster := testRoster(t)
	key := newKey(t)
	req := incidents.DeclareRequest{Alert: alertFor(key), Roster: roster, Options: workflows.Options{CloseAfter: 2 * time.Second}}
	d := declare(t, ctx, req)
	act(t, ctx, d.WorkflowID, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	act(t, ctx, d.WorkflowID, workflows.ActRootCause, workflows.Act{By: "alice", Note: "a format change upstream"})
	act(t, ctx, d.WorkflowID, workflows.ActActionItem, workflows.Act{By: "alice", Note: "check formats at landing"})
	res := act(t, ctx, d.WorkflowID, workflows.ActResolve, workflows.Act{By: "alice", Reason: "re-run succeeded"})
	if res.State != workflows.Resolved {
		t.Errorf("resolve answered %+v", res)
	}

	var final workflows.Snapshot
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := tc.GetWorkflow(wctx, d.WorkflowID, d.RunID).Get(wctx, &final); err != nil {
		t.Fatalf("waiting for the incident to close: %v", err)
	}
	if final.State != workflows.Closed || final.ClosedAt.IsZero() {
		t.Errorf("final snapshot: state %s, closed at %v", final.State, final.ClosedAt)
	}
	if md, err := os.ReadFile(final.Closure.Postmortem); err != nil || !strings.Contains(string(md), "a format change upstream") {
		t.Errorf("postmortem %q: %v, want the root cause in it", final.Closure.Postmortem, err)
	}

	_, err := incidents.Act(ctx, tc, d.WorkflowID, workflows.ActAddNote, workflows.Act{By: "alice", Note: "late note from chat"})
	var closed *incidents.ClosedError
	if !errors.As(err, &closed) {
		t.Fatalf("act on a closed incident: err = %v (%T), want ClosedError", err, err)
	}
	if want := fmt.Sprintf("incident %q is closed; acts are refused (closed at ", d.WorkflowID); !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want prefix %q", err, want)
	}
	if closed.ClosedAt.IsZero() {
		t.Error("closed-at unknown")
	}
	err = incidents.Signal(ctx, tc, d.WorkflowID, workflows.ActAddNote, workflows.Act{By: "alice", Note: "late"})
	if !errors.As(err, &closed) {
		t.Errorf("signal on a closed incident: %v (%T)", err, err)
	}

	// A late recovery from the source opens nothing.
	recovered := req
	recovered.Alert.Status = workflows.Recovered
	if late := declare(t, ctx, recovered); !late.Ignored || late.RunID != "" {
		t.Errorf("resolved alert after closure: %+v, want ignored", late)
	}
	if desc, err := tc.DescribeWorkflowExecution(ctx, d.WorkflowID, ""); err != nil || desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() != d.RunID {
		t.Errorf("a resolved alert started a run: %v %v", desc.GetWorkflowExecutionInfo().GetExecution(), err)
	}

	// The alert fires again: a new run, linked to the closed one.
	again := declare(t, ctx, req)
	if again.Joined || again.RunID == d.RunID || again.PreviousRunID != d.RunID || again.WorkflowID != d.WorkflowID {
		t.Errorf("recurrence: %+v, previous run %s", again, d.RunID)
	}
	st := status(t, ctx, again.WorkflowID)
	if st.PreviousRunID != d.RunID || st.State != workflows.Triggered || st.AlertCount != 1 {
		t.Errorf("recurrence status: previous %q state %s alerts %d", st.PreviousRunID, st.State, st.AlertCount)
	}
	// And a repeat of it joins the new run; so does its recovery.
	third := declare(t, ctx, req)
	if !third.Joined || third.RunID != again.RunID {
		t.Errorf("repeat after recurrence: %+v", third)
	}
	if rec := declare(t, ctx, recovered); !rec.Joined || rec.Ignored || rec.RunID != again.RunID {
		t.Errorf("recovery of the open recurrence: %+v", rec)
	}
	eventually(t, 10*time.Second, "recovery applied", func() (bool, string) {
		st := status(t, ctx, again.WorkflowID)
		return st.AlertStatus == workflows.Recovered && st.AlertCount == 2, fmt.Sprintf("alert status %s, count %d", st.AlertStatus, st.AlertCount)
	})
}

// (g) The worker dies mid-incident; a new one carries on from history.
func TestWorkerRestart(t *testing.T) {
	ctx := testCtx(t)
	d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(newKey(t)), Roster: testRoster(t)})
	id := d.WorkflowID
	act(t, ctx, id, workflows.ActAcknowledge, workflows.Act{By: "alice"})
	act(t, ctx, id, workflows.ActAssignRole, workflows.Act{By: "alice", Role: workflows.SME, Person: "bob"})

	stopWorker()
	t.Cleanup(func() {
		workerMu.Lock()
		running := wrk != nil
		workerMu.Unlock()
		if !running {
			_ = startWorker()
		}
	})
	// While no worker runs: a query gets no answer, a signal is recorded,
	// and an update waits.
	qctx, qcancel := context.WithTimeout(ctx, time.Second)
	_, err := incidents.Status(qctx, tc, id)
	qcancel()
	var noAnswer *incidents.NoAnswerError
	if !errors.As(err, &noAnswer) {
		t.Errorf("query with no worker: %v (%T), want NoAnswerError", err, err)
	}
	if err := incidents.Signal(ctx, tc, id, workflows.ActAddNote, workflows.Act{By: "bob", Note: "sent while the worker was down"}); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		res workflows.ActResult
		err error
	}
	pending := make(chan answer, 1)
	go func() {
		res, err := incidents.ActSigned(ctx, tc, signerOf("alice"), id, workflows.ActSetSeverity, workflows.Act{By: "alice", Severity: workflows.SEV2})
		pending <- answer{res, err}
	}()
	time.Sleep(500 * time.Millisecond)
	select {
	case a := <-pending:
		t.Fatalf("update answered with no worker running: %+v %v", a.res, a.err)
	default:
	}

	if err := startWorker(); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-pending:
		if a.err != nil {
			t.Fatalf("update sent while the worker was down: %v", a.err)
		}
		if a.res.Severity != workflows.SEV2 || a.res.State != workflows.Diagnosing {
			t.Errorf("update answer %+v", a.res)
		}
	case <-ctx.Done():
		t.Fatal("update never answered after the worker restarted")
	}
	res := act(t, ctx, id, workflows.ActRequestApproval, workflows.Act{By: "bob", Approval: "fix-1", Action: "re-run"})
	if res.State != workflows.Diagnosing {
		t.Errorf("request approval: %+v", res)
	}
	act(t, ctx, id, workflows.ActApprove, workflows.Act{By: "alice", Approval: "fix-1"})

	st := status(t, ctx, id)
	if st.AckedAt.IsZero() || st.Severity != workflows.SEV2 || st.State != workflows.Mitigating || !st.Roles.Has("bob", workflows.SME) {
		t.Errorf("state after restart: %+v", st)
	}
	var note bool
	for _, e := range timeline(t, ctx, id) {
		if strings.Contains(e.What, "sent while the worker was down") {
			note = true
		}
	}
	if !note {
		t.Error("the signal sent while the worker was down is not in the timeline")
	}
}

// A runbook is captured when its incident starts: editing the file changes
// the incidents declared afterwards, never the one already running.
func TestRunningIncidentKeepsItsRunbook(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "slow-check.yaml")
	version := func(word string) *runbooks.Set {
		t.Helper()
		src := "name: slow-check\ndescription: waits, then pages the SME\nowner: data-platform\n" +
			"match: {labels: {alertname: SlowCheck}}\nsteps:\n" +
			"  - id: pause\n    check: {action: core.wait, with: {duration: 2s}}\n" +
			"  - id: tell\n    check: {action: core.page, with: {role: sme, message: \"" + word + " says look\"}}\n"
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := runbooks.Load(dir)
		if err == nil {
			err = runbooks.Validate(set, actions.DefaultCatalog())
		}
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	declareWith := func(set *runbooks.Set) string {
		a := alertFor(newKey(t))
		a.Labels = map[string]string{"alertname": "SlowCheck"}
		d := declare(t, ctx, incidents.DeclareRequest{Alert: a, Roster: testRoster(t), Runbooks: set})
		return d.WorkflowID
	}
	first := declareWith(version("v1"))
	second := declareWith(version("v2")) // the file changed while the first incident waits
	for id, want := range map[string]string{first: "v1 says look", second: "v2 says look"} {
		deadline := time.Now().Add(30 * time.Second)
		for status(t, ctx, id).RunbookStatus != "completed" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: runbook not completed", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var pages []string
		for _, e := range timeline(t, ctx, id) {
			if e.Kind == workflows.KindNotify && strings.HasPrefix(e.Who, "runbook ") {
				pages = append(pages, e.What)
			}
		}
		if len(pages) != 1 || !strings.HasSuffix(pages[0], want) {
			t.Errorf("%s paged %q, want one page ending %q", id, pages, want)
		}
	}
}

// The library's "missing S3 partition" runbook, end to end: the real AWS SDK
// against the S3-protocol stand-in, whose hourly events stopped landing
// three hours ago. Its findings reach the incident's status and timeline.
func TestS3PartitionMissingRunbook(t *testing.T) {
	ctx := testCtx(t)
	set, err := runbooks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	a := alertFor(newKey(t))
	a.Labels = map[string]string{
		"alertname": "S3PartitionMissing", "bucket": s3test.DemoBucket, "prefix": s3test.DemoEventsPrefix,
		"layout": "dt=YYYY-MM-DD/hr=HH", "cadence": "1h", "dag": "load_events",
	}
	d := declare(t, ctx, incidents.DeclareRequest{Alert: a, Roster: testRoster(t), Runbooks: set})
	if st := status(t, ctx, d.WorkflowID); st.Runbook != "s3-partition-missing" {
		t.Fatalf("runbook %q, want s3-partition-missing matched from the labels", st.Runbook)
	}
	var latest, paged bool
	deadline := time.Now().Add(30 * time.Second)
	for !(latest && paged) {
		if time.Now().After(deadline) {
			t.Fatalf("runbook findings missing (latest %v, paged %v): %+v", latest, paged, timeline(t, ctx, d.WorkflowID))
		}
		time.Sleep(200 * time.Millisecond)
		for _, e := range timeline(t, ctx, d.WorkflowID) {
			switch {
			case strings.HasPrefix(e.What, "check latest failed: s3.latest_partition s3://lake/events/ → dt=") && strings.Contains(e.What, "(cadence 1h: LATE)"):
				latest = true // hours old against a 1h cadence: the check fails, naming the partition
			case e.Kind == workflows.KindNotify && strings.HasPrefix(e.What, "paged erin: Partition missing under s3://lake/events/"):
				paged = true
			}
		}
	}
	st := status(t, ctx, d.WorkflowID)
	found := false
	for _, f := range st.LastFindings {
		if strings.HasPrefix(f, "latest failed: ") {
			found = true
		}
	}
	if !found {
		t.Errorf("status findings %q lack the latest partition's", st.LastFindings)
	}
	if st.RunbookStatus != "running" {
		t.Errorf("runbook %q, want running (its verify waits for the next partition)", st.RunbookStatus)
	}
	act(t, ctx, d.WorkflowID, workflows.ActResolve, workflows.Act{By: "alice", Reason: "backfilled by hand"})
	for status(t, ctx, d.WorkflowID).RunbookStatus != "cancelled" {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("resolving did not cancel the runbook")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The library's "failed Snowflake load" runbook, end to end: the real
// gosnowflake driver against the Snowflake-protocol stand-in (whose orders
// load has failed for two hours) and the real AWS SDK against the S3 one.
func TestSnowflakeLoadFailedRunbook(t *testing.T) {
	ctx := testCtx(t)
	set, err := runbooks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	a := alertFor(newKey(t))
	a.Dataset = sftest.DemoDatabase + "." + sftest.DemoSchema + "." + sftest.DemoTable
	a.Labels = map[string]string{"alertname": "SnowflakeLoadFailed", "bucket": s3test.DemoBucket, "prefix": s3test.DemoOrdersPrefix, "dag": "load_orders"}
	d := declare(t, ctx, incidents.DeclareRequest{Alert: a, Roster: testRoster(t), Runbooks: set})
	found := map[string]bool{}
	wants := map[string]func(workflows.TimelineEntry) bool{
		"copy_history": func(e workflows.TimelineEntry) bool {
			return strings.HasPrefix(e.What, "check copy_history ok: ") && strings.Contains(e.What, "ANALYTICS.RAW.ORDERS")
		},
		"task_runs": func(e workflows.TimelineEntry) bool { return strings.HasPrefix(e.What, "check task_runs ok: ") },
		"landing": func(e workflows.TimelineEntry) bool {
			return strings.HasPrefix(e.What, "check landing ok: s3.latest_partition s3://lake/orders/")
		},
		"page": func(e workflows.TimelineEntry) bool {
			return e.Kind == workflows.KindNotify && e.What == "paged erin: Snowflake load into ANALYTICS.RAW.ORDERS failed"
		},
	}
	deadline := time.Now().Add(40 * time.Second)
	for len(found) < len(wants) {
		if time.Now().After(deadline) {
			t.Fatalf("found %v of the runbook's findings: %+v", found, timeline(t, ctx, d.WorkflowID))
		}
		time.Sleep(200 * time.Millisecond)
		for _, e := range timeline(t, ctx, d.WorkflowID) {
			for name, ok := range wants {
				if ok(e) {
					found[name] = true
				}
			}
		}
	}
	// The driver sent bound, tagged queries: never SQL built from the alert.
	var tagged int
	for _, q := range wh.Queries() {
		if strings.HasPrefix(q.QueryTag, "datasev:"+d.WorkflowID+":") {
			tagged++
			if strings.Contains(q.SQL, "ORDERS") {
				t.Errorf("the table name went into the SQL text instead of a bind: %s", q.SQL)
			}
		}
	}
	if tagged < 2 {
		t.Errorf("%d queries tagged with the incident, want copy_history's and task_history's at least", tagged)
	}
	st := status(t, ctx, d.WorkflowID)
	if len(st.LastFindings) == 0 || st.RunbookStatus != "running" {
		t.Errorf("status: findings %q, runbook %q (want findings, and the freshness verify still waiting)", st.LastFindings, st.RunbookStatus)
	}
	act(t, ctx, d.WorkflowID, workflows.ActResolve, workflows.Act{By: "alice"})
}

// A deployment whose workers poll another task queue (DATASEV_TASK_QUEUE)
// starts its incidents there.
func TestDeclareOnAnotherTaskQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := newKey(t)
	d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(key), Roster: testRoster(t), TaskQueue: "datasev-elsewhere"})
	defer func() { _ = tc.TerminateWorkflow(context.Background(), d.WorkflowID, "", "test over") }()
	desc, err := tc.DescribeWorkflowExecution(ctx, d.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.GetExecutionConfig().GetTaskQueue().GetName(); got != "datasev-elsewhere" {
		t.Errorf("task queue %q, want datasev-elsewhere", got)
	}
}
