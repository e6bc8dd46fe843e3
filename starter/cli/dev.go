package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/lifecycle/seal"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/demoload"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// runDev is the one-command demo: a real Temporal dev server (UI on, SQLite
// file under the repository), the worker in this process, and a demo
// incident driven through its whole life, its runbook (demo-orders-load)
// checking a stand-in for the orders loader on 127.0.0.1; then it keeps
// running until Ctrl-C and stops everything cleanly.
func runDev(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "dev", "[flags]")
	var (
		port, uiPort int
		dbFile       string
		noDemo       bool
		rosterFlag   string
		runbookDir   string
		closeAfter   time.Duration
		intakeAddr   string
	)
	fs.IntVar(&port, "port", 7233, "Temporal frontend gRPC port on 127.0.0.1")
	fs.IntVar(&uiPort, "ui-port", 8233, "Temporal Web UI port on 127.0.0.1")
	fs.StringVar(&dbFile, "db", "", "SQLite file that keeps the server's state (default <repo>/.datasev/dev.db)")
	fs.BoolVar(&noDemo, "no-demo", false, "start server and worker only")
	fs.StringVar(&rosterFlag, "roster", "", "roster file (default $"+EnvRoster+" or "+DefaultRoster+")")
	fs.StringVar(&runbookDir, "runbooks", "", "runbook directory added to the embedded library (default $"+EnvRunbooks+")")
	fs.StringVar(&intakeAddr, "intake-addr", "127.0.0.1:8080", "address of the alert intake and the Slack app (with the demo)")
	fs.DurationVar(&closeAfter, "close-after", 30*time.Second, "how long the demo incident stays resolved (open to a recurrence) before it closes and its postmortem is written")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	// The dev stack talks to 127.0.0.1 only: keep the cloud SDKs from
	// probing instance-metadata addresses on their own.
	for k, v := range map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true"} {
		if os.Getenv(k) == "" {
			_ = os.Setenv(k, v)
		}
	}
	if len(pos) > 0 {
		return usagef("dev takes flags only; unexpected %q", pos[0])
	}
	if port <= 0 || port > 65535 || uiPort <= 0 || uiPort > 65535 {
		return usagef("dev: --port and --ui-port must be between 1 and 65535")
	}
	if port == uiPort {
		return usagef("dev: --port and --ui-port must differ")
	}

	var (
		roster oncall.Roster
		set    *runbooks.Set
	)
	if !noDemo {
		if roster, err = loadRoster(e, rosterFlag); err != nil {
			return err
		}
	}
	// Checked before anything starts: the worker binary refuses to start
	// with an invalid runbook set, and so does dev. Dev alone adds the demo's
	// runbooks (devstack.DemoRunbooks) to the library.
	if set, err = loadRunbookSet(e, runbookDir, devstack.DemoRunbooks()); err != nil {
		return err
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		return fmt.Errorf("dev: run it inside the datasev repository: %w", err)
	}
	if dbFile == "" {
		dbFile = filepath.Join(root, ".datasev", "dev.db")
	}
	if err := os.MkdirAll(filepath.Dir(dbFile), 0o750); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	// The demo's keys: its people sign their acts, the Slack app signs as
	// itself, and the roster the incidents get lists both.
	var keys *devKeys
	if !noDemo {
		if keys, err = setupDevKeys(filepath.Join(root, ".datasev", "dev"), roster); err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		roster = keys.roster
	}
	serverLog := filepath.Join(root, ".datasev", "dev-server.log")
	if err := os.MkdirAll(filepath.Dir(serverLog), 0o750); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	logFile, err := os.OpenFile(serverLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer logFile.Close()

	out := e.stdout
	fmt.Fprintf(out, "starting the Temporal dev server on %s:%d (UI :%d, state in %s)…\n", devstack.Host, port, uiPort, dbFile)
	startCtx, cancel := context.WithTimeout(ctx, 15*time.Minute) // the first run may build the CLI
	srv, err := devstack.Start(startCtx, devstack.Options{
		DBFile: dbFile, UI: true, Port: port, UIPort: uiPort,
		Stdout: logFile, Stderr: io.MultiWriter(logFile, e.stderr),
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("dev: %w\n(another `datasev dev` or Temporal server may hold the ports; pick others with --port and --ui-port)", err)
	}
	defer func() {
		fmt.Fprintln(out, "stopping the dev server…")
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(e.stderr, "datasev: dev server stop: %v\n", err)
		}
	}()

	// The worker's log holds every notification (pages and posts): the
	// log backend is the demo's chat.
	workerLogPath := filepath.Join(root, ".datasev", "worker.log")
	workerLogFile, err := os.OpenFile(workerLogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer workerLogFile.Close()
	workerLog := slog.New(slog.NewTextHandler(workerLogFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := &incidents.Conn{Client: srv.Client(), Address: srv.HostPort()}
	// The protocol stand-ins the library runbooks (snowflake-load-failed,
	// s3-partition-missing) check, seeded with the demo's data; the worker
	// is configured with them.
	var stand *standIns
	if !noDemo {
		if stand, err = startStandIns(time.Now(), roster); err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		defer stand.Close()
	}
	var integrations service.Config
	if stand != nil {
		integrations = stand.workerConfig()
	}
	integrations.Postmortem.Dir = filepath.Join(root, ".datasev", "postmortems")
	integrations.IncidentDoc.Dir = filepath.Join(root, ".datasev", "incidents")
	// The runbook messages' sealing key, kept with the server's state: a
	// runbook of an earlier run resumes with the key that sealed it.
	if integrations.SealKey, err = seal.LoadOrCreateKey(filepath.Join(root, ".datasev", "seal.key")); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	stopWorker, err := startWorker(ctx, srv.Client(), e, workerLog, integrations)
	if err != nil {
		return fmt.Errorf("dev: worker: %w", err)
	}
	defer func() {
		fmt.Fprintln(out, "stopping the worker…")
		stopWorker()
	}()

	fmt.Fprintf(out, "Temporal UI   %s\n", srv.UIURL())
	fmt.Fprintf(out, "frontend      %s (namespace %s); worker polling task queue %q\n", srv.HostPort(), srv.Namespace(), workflows.TaskQueue)
	fmt.Fprintf(out, "CLI           TEMPORAL_ADDRESS=%s go run ./starter list\n", srv.HostPort())
	if keys != nil {
		fmt.Fprintf(out, "keys          %s (one per roster person and the Slack app's; the roster with them: %s)\n", filepath.Dir(keys.keyFile("x")), keys.rosterFile)
	}
	fmt.Fprintf(out, "logs          %s (server), %s (worker: pages and posts)\n", serverLog, workerLogPath)
	// The front door: the alert intake and the Slack app, on one listener.
	var front *devFront
	if stand != nil {
		stand.describe(out)
		front, err = startDevFront(srv.Client(), devFrontOptions{
			addr: intakeAddr, roster: roster, runbooks: set, api: stand.slack,
			uiURL: srv.UIURL(), namespace: srv.Namespace(), logger: workerLog, signer: keys.slack,
		})
		if err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		defer front.Close()
		front.describe(out)
		fmt.Fprintf(out, "try it        curl -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"title\":\"orders late\",\"severity\":\"SEV3\",\"dedupe_key\":\"orders-late\",\"source\":\"generic\"}' %s/alerts\n", front.token, front.url)
	}

	if !noDemo {
		// The demo's stand-in for the orders loader (started with the
		// other stand-ins, so the worker's target policy names it).
		loader := stand.loader
		fmt.Fprintf(out, "demo loader   %s (a stand-in for the orders loader: 503 until the re-run is approved, at most %s)\n", loader.HealthURL(), demoload.DefaultFailFor)
		id, err := runDemo(ctx, c, out, demo{roster: roster, runbooks: set, loader: loader, closeAfter: closeAfter, keys: keys})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintln(out)
		runID := "" // the UI's history page needs the run; the run may have continued as new
		if desc, err := c.DescribeWorkflowExecution(ctx, id, ""); err == nil {
			runID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		}
		fmt.Fprintf(out, "the demo incident in the UI: %s\n", devstack.WorkflowURL(srv.UIURL(), srv.Namespace(), id, runID))
		fmt.Fprintf(out, "it closes %s after its resolution and its postmortem is written; a new alert with its key then opens a recurrence.\n", closeAfter)
		if exe, err := devstack.EnsureCLI(ctx, e.stderr); err == nil {
			fmt.Fprintf(out, "find SEV2 incidents: %s workflow list --address %s --query \"DatasevSeverity='SEV2'\"\n", exe, srv.HostPort())
		}
		fmt.Fprintf(out, "or with datasev:     TEMPORAL_ADDRESS=%s go run ./starter show %s\n", srv.HostPort(), id)
		if cast, err := pickCast(roster, time.Now()); err == nil {
			fmt.Fprintf(out, "act as %s, signed with their key:\n                     TEMPORAL_ADDRESS=%s %s=%s go run ./starter note %s --by %s --text \"checked the loader\"\n",
				cast.commander, srv.HostPort(), EnvKeyFile, keys.keyFile(cast.commander), id, cast.commander)
		}

		// Two more incidents, run by the library's runbooks against the
		// stand-ins; they stay open, their verify steps still watching.
		err = runLibraryIncidents(ctx, c, out, libraryDemo{
			roster: roster, runbooks: set, closeAfter: closeAfter,
			uiURL: srv.UIURL(), namespace: srv.Namespace(),
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("demo: %w", err)
		}
		// And the bad dbt model change: diagnosed, approved once, reverted
		// through a pull request, merged and re-run, now in monitoring.
		dbtID, err := runDbtDemo(ctx, c, out, dbtDemo{
			roster: roster, runbooks: set, stand: stand, keys: keys,
			uiURL: srv.UIURL(), namespace: srv.Namespace(),
		})
		if err == nil {
			err = runSlackDemo(ctx, out, c, front, roster, dbtID)
		}
		if err == nil {
			err = showPostmortem(ctx, c, out, id, closeAfter)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("demo: %w", err)
		}
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "server and worker are running; press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(out)
	return nil
}

// demoPeople picks the demo's cast from the shift on duty now, so the demo
// works at any hour.
type demoPeople struct {
	shift     string
	commander string
	sme       string
}

func pickCast(r oncall.Roster, now time.Time) (demoPeople, error) {
	duty, err := incidents.OnDuty(r, now)
	if err != nil {
		return demoPeople{}, fmt.Errorf("roster: %w", err)
	}
	if len(duty.Shift.SMEs) == 0 {
		return demoPeople{}, fmt.Errorf("roster: the %s shift has no SMEs; the demo needs one", duty.Shift.Name)
	}
	return demoPeople{shift: duty.Shift.Name, commander: duty.Shift.Commander, sme: duty.Shift.SMEs[0]}, nil
}

// demo is what the demo incident needs.
type demo struct {
	roster     oncall.Roster
	runbooks   *runbooks.Set
	loader     *demoload.Loader
	closeAfter time.Duration
	// keys sign the cast's acts.
	keys *devKeys
}

// Bounds of the demo's waits for its runbook.
const (
	// demoRunbookStart bounds the wait for the runbook's first steps: its
	// check of the loader and the page to the SME.
	demoRunbookStart = 20 * time.Second
	// demoRunbookFinish bounds the wait for the runbook's verify to see the
	// loader recover: it tries every 30s, then backs off.
	demoRunbookFinish = 100 * time.Second
)

// runDemo drives one incident through its life, one printed line per step,
// with its runbook's timeline entries under them as they arrive, and
// returns its workflow ID.
func runDemo(ctx context.Context, c client.Client, out io.Writer, d demo) (string, error) {
	now := time.Now()
	cast, err := pickCast(d.roster, now)
	if err != nil {
		return "", err
	}
	key := "orders-load-" + now.UTC().Format("20060102-150405")
	alert := workflows.Alert{
		Source: "alertmanager", Title: "orders load failing", DedupeKey: key,
		Description: "The hourly COPY INTO RAW.ORDERS loaded 0 rows.",
		Severity:    workflows.SEV3, Service: "orders", Dataset: "RAW.ORDERS",
		Labels: map[string]string{
			"alertname":  "OrdersLoadFailed",
			"dag":        demoload.DAG,
			"env":        "demo",
			"health_url": d.loader.HealthURL(),
		},
	}
	check := alert
	if err := check.Validate(); err != nil {
		return "", err
	}
	choice, err := chooseRunbook(d.runbooks, "", check)
	if err != nil {
		return "", err
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "demo incident %q: %s shift on duty, Commander %s, SME %s\n", key, cast.shift, cast.commander, cast.sme)

	step := 0
	line := func(what, answer string) {
		step++
		fmt.Fprintf(out, "  %2d. %-48s → %s\n", step, what, answer)
	}
	note := func(format string, args ...any) {
		fmt.Fprintf(out, "      %s\n", fmt.Sprintf(format, args...))
	}
	req := incidents.DeclareRequest{Alert: alert, Runbooks: d.runbooks, Roster: d.roster, Options: workflows.Options{CloseAfter: d.closeAfter}}

	decl, err := incidents.Declare(ctx, c, req)
	if err != nil {
		return "", err
	}
	id := decl.WorkflowID
	line("alertmanager: orders load failing (SEV3)", fmt.Sprintf("declared %s (run %s), Commander %s", id, short(decl.RunID), decl.Commander))
	note("%s", choice)
	feed := &runbookFeed{c: c, id: id, out: out}

	d2, err := incidents.Declare(ctx, c, req)
	if err != nil {
		return id, err
	}
	st, err := waitStatus(ctx, c, id, func(s workflows.Status) bool { return s.AlertCount >= 2 })
	if err != nil {
		return id, err
	}
	joined := "joined"
	if !d2.Joined {
		joined = "NOT joined (unexpected)"
	}
	line("alertmanager: the same alert again", fmt.Sprintf("%s %s: %d alerts, still one incident", joined, id, st.AlertCount))

	if choice.runbook != nil {
		// The runbook checks the loader, pages the SME and starts
		// verifying; its first verify try finds the loader still failed.
		st, ok, err := feed.until(ctx, demoRunbookStart, func(s workflows.Status, tl []workflows.TimelineEntry) bool {
			_, failed := d.loader.Checks()
			return runbookDone(s) || (paged(tl) && failed >= 2)
		})
		if err != nil {
			return id, err
		}
		if !ok {
			note("(the runbook is %s; not waiting longer for its first steps)", orText(st.RunbookStatus, "not started"))
		}
	}

	act := func(who, name string, a workflows.Act, what string) error {
		a.By, a.Via = who, "cli"
		res, err := incidents.ActSigned(ctx, c, d.keys.signer(who), id, name, a)
		if err != nil {
			return fmt.Errorf("%s by %s: %w", name, who, err)
		}
		line(what, fmt.Sprintf("%s [%s, %s]", res.Message, res.State, res.Severity))
		return nil
	}
	approval := "rerun-load_orders"
	steps := []struct {
		who, name, what string
		act             workflows.Act
	}{
		{cast.commander, workflows.ActAcknowledge, cast.commander + ": acknowledge", workflows.Act{}},
		{cast.commander, workflows.ActSetSeverity, cast.commander + ": severity SEV2", workflows.Act{Severity: workflows.SEV2, Reason: "EU revenue dashboard shows no orders since 06:00"}},
		{cast.sme, workflows.ActAddNote, cast.sme + ": note", workflows.Act{Note: "COPY INTO RAW.ORDERS failed: file format changed upstream (new column), 0 rows loaded"}},
		{cast.sme, workflows.ActRequestApproval, cast.sme + ": request approval " + approval, workflows.Act{Approval: approval, Action: "clear and re-run the failed load_orders task in Airflow", Detail: "dry run: 3 task instances would be cleared"}},
	}
	for _, s := range steps {
		if err := act(s.who, s.name, s.act, s.what); err != nil {
			return id, err
		}
	}

	// The deliberate mistakes: an SME approving their own request, and an
	// approval in the Commander's name with no signature (as a raw "Send a
	// Signal" from the Temporal UI would send it).
	for _, m := range []struct {
		what   string
		signer *incidents.Signer
		act    workflows.Act
	}{
		{cast.sme + ": approve " + approval + " (not allowed)", d.keys.signer(cast.sme), workflows.Act{By: cast.sme, Via: "cli", Approval: approval}},
		{"unsigned: approve " + approval + " as " + cast.commander, nil, workflows.Act{By: cast.commander, Via: "ui", Approval: approval}},
	} {
		_, err = incidents.ActSigned(ctx, c, m.signer, id, workflows.ActApprove, m.act)
		var rej *incidents.RejectedError
		switch {
		case errors.As(err, &rej):
			line(m.what, "rejected: "+clip(rej.Message, 110))
		case err != nil:
			return id, err
		default:
			line(m.what, "accepted?! the workflow should have refused it")
		}
	}

	if err := act(cast.commander, workflows.ActApprove, workflows.Act{Approval: approval, Reason: "the re-run is idempotent"}, cast.commander+": approve "+approval); err != nil {
		return id, err
	}
	// The approved re-run, played by the stand-in: the load succeeds.
	d.loader.Recover()
	line("orders loader (demo stand-in): re-run", "loaded; its /health answers 200 from now on")

	if choice.runbook != nil {
		note("waiting for the runbook's verify to see the recovery (it tries every 30s, backing off)…")
		st, ok, err := feed.until(ctx, demoRunbookFinish, func(s workflows.Status, _ []workflows.TimelineEntry) bool { return runbookDone(s) })
		switch {
		case err != nil:
			return id, err
		case !ok:
			note("(the runbook is still %s after %s; resolving anyway, which cancels it)", orText(st.RunbookStatus, "not started"), demoRunbookFinish)
		case st.RunbookStatus != "completed":
			note("(the runbook ended %s, not completed; see the timeline above)", st.RunbookStatus)
		}
	}

	recovered := alert
	recovered.Status = workflows.Recovered
	if err := incidents.SendAlert(ctx, c, recovered); err != nil {
		return id, err
	}
	st, err = waitStatus(ctx, c, id, func(s workflows.Status) bool { return s.AlertStatus == workflows.Recovered })
	if err != nil {
		return id, err
	}
	line("alertmanager: orders load resolved", fmt.Sprintf("alert resolved at the source [%s, %s]", st.State, st.Severity))

	if err := act(cast.commander, workflows.ActResolve, workflows.Act{Reason: "load re-run succeeded; the runbook verified the loader is healthy"}, cast.commander+": resolve"); err != nil {
		return id, err
	}
	// The closure inputs the postmortem is written from.
	closure := []struct {
		who, name, what string
		act             workflows.Act
	}{
		{cast.sme, workflows.ActRootCause, cast.sme + ": root cause", workflows.Act{Note: "the upstream export added a column to orders.csv; COPY INTO rejected every file"}},
		{cast.sme, workflows.ActContributingFactor, cast.sme + ": contributing factor", workflows.Act{Note: "no schema check on the landing files"}},
		{cast.commander, workflows.ActActionItem, cast.commander + ": action item", workflows.Act{Note: "validate landing file schemas before COPY INTO", Person: cast.sme}},
	}
	for _, c := range closure {
		if err := act(c.who, c.name, c.act, c.what); err != nil {
			return id, err
		}
	}
	return id, nil
}

// runbookDone reports whether the incident's runbook has finished, one way
// or another (completed, stopped, escalated, cancelled, failed to start).
func runbookDone(s workflows.Status) bool {
	switch s.RunbookStatus {
	case "", "starting", "running":
		return false
	}
	return true
}

// paged reports whether the runbook has paged someone.
func paged(tl []workflows.TimelineEntry) bool {
	for _, t := range tl {
		if isRunbookEntry(t) && t.Kind == workflows.KindNotify {
			return true
		}
	}
	return false
}

func isRunbookEntry(t workflows.TimelineEntry) bool { return strings.HasPrefix(t.Who, "runbook ") }

// runbookFeed prints an incident's runbook timeline entries (those by
// "runbook NAME") as they arrive, each once, with the time since the
// incident was triggered.
type runbookFeed struct {
	c    client.Client
	id   string
	out  io.Writer
	seen int // timeline entries already looked at
}

// until polls the status and timeline, printing new runbook entries, until
// done holds or timeout passes. ok says whether done held.
func (f *runbookFeed) until(ctx context.Context, timeout time.Duration, done func(workflows.Status, []workflows.TimelineEntry) bool) (st workflows.Status, ok bool, err error) {
	deadline := time.Now().Add(timeout)
	for {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err = incidents.Status(qctx, f.c, f.id)
		var tl []workflows.TimelineEntry
		if err == nil {
			tl, err = incidents.Timeline(qctx, f.c, f.id)
		}
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return st, false, ctx.Err()
			}
			if time.Now().After(deadline) {
				return st, false, err
			}
		} else {
			f.print(st, tl)
			if done(st, tl) {
				return st, true, nil
			}
		}
		if time.Now().After(deadline) {
			return st, false, nil
		}
		select {
		case <-ctx.Done():
			return st, false, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (f *runbookFeed) print(st workflows.Status, tl []workflows.TimelineEntry) {
	if f.seen > len(tl) {
		f.seen = len(tl) // the timeline was trimmed
	}
	for _, t := range tl[f.seen:] {
		if !isRunbookEntry(t) {
			continue
		}
		// "runbook NAME started" reads "runbook: started": the demo
		// named the runbook when it was chosen.
		what := strings.TrimPrefix(t.What, t.Who+" ")
		if t.Why != "" {
			what += " — " + clip(oneLine(t.Why), 90)
		}
		fmt.Fprintf(f.out, "      %5s  runbook: %s\n", "+"+t.At.Sub(st.TriggeredAt).Round(time.Second).String(), what)
	}
	f.seen = len(tl)
}

// clip shortens s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// waitStatus polls the status query until ok or a deadline: signals are
// applied asynchronously.
func waitStatus(ctx context.Context, c client.Client, id string, ok func(workflows.Status) bool) (workflows.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		st, err := incidents.Status(ctx, c, id)
		if err == nil && ok(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return st, err
			}
			return st, fmt.Errorf("%s: timed out waiting for the workflow (state %s, %d alerts)", id, st.State, st.AlertCount)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func short(runID string) string {
	if len(runID) > 8 {
		return runID[:8]
	}
	return runID
}
