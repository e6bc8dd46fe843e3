package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/starter/dev/demoload"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows/oncall"
)

// stack is a running dev stack's parts.
type stack struct {
	o       *options
	out     io.Writer // progress lines
	state   string
	roster  oncall.Roster
	set     *runbooks.Set
	keys    *devKeys
	stand   *standIns
	worker  workerSetup
	srv     *devstack.Server
	c       *incidents.Conn
	front   *devFront
	logs    stackLogs
	closers []func() // run in reverse order by close
}

// runStack runs the dev stack until ctx ends (Ctrl-C), then stops
// everything cleanly: the pinned Temporal dev server with its UI (state in
// a SQLite file), the stand-ins, the worker in this process, the intake and
// the Slack app, and, unless --no-demo or the user configured an
// integration the demo needs, the four demo incidents.
func runStack(ctx context.Context, e *env, args []string) error {
	fs, o := stackFlags(e.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	s := &stack{o: o, out: e.stdout}
	defer s.close()
	if err := s.start(ctx, e); err != nil {
		if ctx.Err() != nil {
			return nil // Ctrl-C while starting
		}
		return err
	}
	s.describe(e.stdout)
	if err := s.demo(ctx, e.stdout); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintln(e.stdout, "server, worker and intake are running; press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(e.stdout)
	return nil
}

// start brings the parts up in order; close undoes what started.
func (s *stack) start(ctx context.Context, e *env) (err error) {
	// The dev stack talks to 127.0.0.1 only: keep the cloud SDKs, which
	// read these from the process environment, from probing
	// instance-metadata addresses on their own.
	for _, k := range []string{"AWS_EC2_METADATA_DISABLED", "SNOWFLAKE_DISABLE_PLATFORM_DETECTION"} {
		if _, ok := os.LookupEnv(k); !ok {
			_ = os.Setenv(k, "true")
		}
	}
	if s.roster, err = cli.LoadRoster(e.getenv, s.o.roster); err != nil {
		return err
	}
	// Checked before anything starts, as the worker binary does; dev alone
	// adds the demo's runbooks (devstack.DemoRunbooks) to the library.
	if s.set, err = cli.LoadRunbookSet(e.getenv, e.stderr, s.o.runbookDir, devstack.DemoRunbooks()); err != nil {
		return err
	}
	if s.state, err = stateDir(s.o.stateDir); err != nil {
		return err
	}
	// The demo's keys: its people sign their acts, the Slack app signs as
	// itself, and the roster everything runs with lists both.
	if s.keys, err = setupDevKeys(filepath.Join(s.state, "dev"), s.roster); err != nil {
		return err
	}
	s.roster = s.keys.roster
	if s.logs, err = openLogs(s.state); err != nil {
		return err
	}
	s.closers = append(s.closers, s.logs.close)
	if s.stand, err = startStandIns(time.Now(), s.roster); err != nil {
		return err
	}
	s.closers = append(s.closers, s.stand.Close)
	forced := map[string]string{service.EnvRoster: s.keys.rosterFile}
	if s.worker, err = loadWorkerConfig(e.getenv, s.stand, devDefaults(s.state), forced); err != nil {
		return err
	}
	if err := s.startServer(ctx, e); err != nil {
		return err
	}
	if err := s.startWorker(ctx); err != nil {
		return err
	}
	s.front, err = startDevFront(s.c, devFrontOptions{
		addr: s.o.intakeAddr, roster: s.roster, runbooks: s.set, api: s.stand.slack,
		uiURL: s.srv.UIURL(), namespace: s.srv.Namespace(), taskQueue: s.worker.cfg.TaskQueue,
		logger: s.logs.worker, getenv: e.getenv, signer: s.keys.slack, pdSigner: s.keys.pagerduty, pagerduty: s.stand.pagerDutyIfPlaying(s.worker.standIn),
	})
	if err != nil {
		return err
	}
	s.closers = append(s.closers, s.front.Close)
	return nil
}

// startServer starts the dev server (building the pinned CLI on the first
// run) with its UI and state file.
func (s *stack) startServer(ctx context.Context, e *env) error {
	dbFile := s.o.dbFile
	if dbFile == "" {
		dbFile = filepath.Join(s.state, "dev.db")
	}
	if err := os.MkdirAll(filepath.Dir(dbFile), 0o750); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "starting the Temporal dev server on %s (port %s, UI port %s, state in %s)…\n",
		devstack.Host, portText(s.o.port), portText(s.o.uiPort), dbFile)
	startCtx, cancel := context.WithTimeout(ctx, 15*time.Minute) // the first run may build the CLI
	defer cancel()
	srv, err := devstack.Start(startCtx, devstack.Options{
		DBFile: dbFile, UI: true, Port: s.o.port, UIPort: s.o.uiPort,
		Stdout: s.logs.serverFile, Stderr: io.MultiWriter(s.logs.serverFile, e.stderr),
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("%w\n(another dev stack or Temporal server may hold the ports; pick others with --port and --ui-port, 0 for free ones)", err)
	}
	s.srv = srv
	s.closers = append(s.closers, func() {
		fmt.Fprintln(e.stdout, "stopping the dev server…")
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(e.stderr, "dev: dev server stop: %v\n", err)
		}
	})
	return nil
}

// close undoes start, last part first.
func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// describe prints where everything is and how to use it.
func (s *stack) describe(out io.Writer) {
	fmt.Fprintf(out, "Temporal UI   %s\n", s.srv.UIURL())
	fmt.Fprintf(out, "frontend      %s (namespace %s); worker polling task queue %q\n", s.srv.HostPort(), s.srv.Namespace(), s.worker.cfg.TaskQueue)
	fmt.Fprintf(out, "CLI           TEMPORAL_ADDRESS=%s go run ./starter list\n", s.srv.HostPort())
	fmt.Fprintf(out, "keys          %s (one per roster person and the Slack app's; the roster with them: %s)\n", filepath.Dir(s.keys.keyFile("x")), s.keys.rosterFile)
	fmt.Fprintf(out, "logs          %s (server), %s (worker: pages and posts)\n", s.logs.serverPath, s.logs.workerPath)
	fmt.Fprintf(out, "worker        configured as the worker binary is; stand-ins for %s", orText(strings.Join(sortedNames(s.worker.standIn), ", "), "nothing"))
	if len(s.worker.yours) > 0 {
		fmt.Fprintf(out, "; yours: %s", strings.Join(s.worker.yours, ", "))
	}
	if s.worker.yourTargets {
		fmt.Fprint(out, "; your target policy")
	}
	fmt.Fprintln(out)
	s.stand.describe(out, s.worker.standIn)
	s.front.describe(out, time.Now())
}

// demo runs the four demo incidents, unless --no-demo or the user
// configured what they need.
func (s *stack) demo(ctx context.Context, out io.Writer) error {
	if s.o.noDemo {
		fmt.Fprintln(out, "demo          none (--no-demo)")
		return nil
	}
	if ok, why := s.worker.demoReady(); !ok {
		fmt.Fprintf(out, "demo          none: the demo incidents act on the stand-ins' data, and the worker uses %s\n", strings.TrimPrefix(why, "configured by you: "))
		return nil
	}
	loader, c := s.stand.loader, s.c
	fmt.Fprintf(out, "demo loader   %s (a stand-in for the orders loader: 503 until the re-run is approved, at most %s)\n", loader.HealthURL(), demoload.DefaultFailFor)
	queue, ui, ns := s.worker.cfg.TaskQueue, s.srv.UIURL(), s.srv.Namespace()
	id, err := runDemo(ctx, c, out, demo{roster: s.roster, runbooks: s.set, loader: loader, closeAfter: s.o.closeAfter, taskQueue: queue, keys: s.keys, pagerduty: s.stand.pagerDutyIfPlaying(s.worker.standIn)})
	if err != nil {
		return err
	}
	s.describeDemo(ctx, out, id)
	// Two more incidents, run by the library's runbooks against the
	// stand-ins; they stay open, their verify steps still watching.
	err = runLibraryIncidents(ctx, c, out, libraryDemo{roster: s.roster, runbooks: s.set, closeAfter: s.o.closeAfter, taskQueue: queue, uiURL: ui, namespace: ns})
	if err != nil {
		return err
	}
	// And the bad dbt model change: diagnosed, approved once, reverted
	// through a pull request, merged and re-run, now in monitoring.
	dbtID, err := runDbtDemo(ctx, c, out, dbtDemo{roster: s.roster, runbooks: s.set, stand: s.stand, keys: s.keys, taskQueue: queue, uiURL: ui, namespace: ns})
	if err != nil {
		return err
	}
	if err := runSlackDemo(ctx, out, c, s.front, s.roster, dbtID); err != nil {
		return err
	}
	return showPostmortem(ctx, c, out, s.srv.HostPort(), id, s.o.closeAfter)
}

// describeDemo prints where the first demo incident is and how to act on
// it with the datasev CLI.
func (s *stack) describeDemo(ctx context.Context, out io.Writer, id string) {
	fmt.Fprintln(out)
	runID := "" // the UI's history page needs the run; the run may have continued as new
	if desc, err := s.c.DescribeWorkflowExecution(ctx, id, ""); err == nil {
		runID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	fmt.Fprintf(out, "the demo incident in the UI: %s\n", incidents.WorkflowURL(s.srv.UIURL(), s.srv.Namespace(), id, runID))
	fmt.Fprintf(out, "it closes %s after its resolution and its postmortem is written; a new alert with its key then opens a recurrence.\n", s.o.closeAfter)
	if exe, err := devstack.EnsureCLI(ctx, io.Discard); err == nil {
		fmt.Fprintf(out, "find SEV2 incidents: %s workflow list --address %s --query \"DatasevSeverity='SEV2'\"\n", exe, s.srv.HostPort())
	}
	fmt.Fprintf(out, "or with datasev:     TEMPORAL_ADDRESS=%s go run ./starter show %s\n", s.srv.HostPort(), id)
	if cast, err := pickCast(s.roster, time.Now()); err == nil {
		fmt.Fprintf(out, "act as %s, signed with their key:\n                     TEMPORAL_ADDRESS=%s %s=%s go run ./starter note %s --by %s --text \"checked the loader\"\n",
			cast.commander, s.srv.HostPort(), cli.EnvKeyFile, s.keys.keyFile(cast.commander), id, cast.commander)
	}
}

// stateDir is dir, or <repo>/.datasev, made if missing.
func stateDir(dir string) (string, error) {
	if dir == "" {
		root, err := devstack.RepoRoot()
		if err != nil {
			return "", fmt.Errorf("run dev inside the datasev repository, or pass --state DIR: %w", err)
		}
		dir = filepath.Join(root, ".datasev")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	return dir, nil
}

// portText is a port flag's value as the startup line shows it.
func portText(p int) string {
	if p == 0 {
		return "free"
	}
	return fmt.Sprint(p)
}
