// Command dev is datasev's dev stack, for trying datasev and working on it;
// it is not shipped (the shipped binaries are ./starter, the datasev CLI,
// and ./worker). Run from the repository:
//
//	go run ./starter/dev [--port 7233] [--ui-port 8233] [--db FILE] [--no-demo]
//	                     [--roster FILE] [--runbooks DIR] [--intake-addr 127.0.0.1:8080]
//
// It runs, on 127.0.0.1 only, until Ctrl-C: the pinned Temporal dev server
// with its Web UI; the datasev worker, configured exactly as the worker
// binary is (environment and DATASEV_CONFIG file) with the protocol
// stand-ins (S3, Snowflake, GitHub, Airflow, Slack and the demo's orders
// loader) filling in every integration left unconfigured; the alert intake
// with a token or signing secret for every source and a curl line per
// endpoint; the Slack app; and, without --no-demo, four demo incidents
// walked through their runbooks.
//
// Its other commands:
//
//	go run ./starter/dev bench [--n 200] [--concurrency 1] [--address HOST:PORT] [--dynamic-config KEY=VALUE ...]
//	go run ./starter/dev install-cli
//	go run ./starter/dev hold [--incidents 1000] [--address HOST:PORT] [--workers 1] [--declare-budget 0s] [--state DIR] [--worker-env KEY=VALUE ...]
//	go run ./starter/dev cost [--state DIR]
//
// bench measures alert → first activity latency against the engine's floor;
// install-cli builds (once) the pinned Temporal CLI and prints its path;
// hold measures a worker process holding many open incidents across a
// shift handoff; cost counts what each runbook's incident costs in history
// events, tasks and Temporal Cloud actions.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/datasev/datasev/worker/config"
)

// Exit codes, as the datasev CLI's.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command sees of the process.
type env struct {
	// getenv answers from the environment, then from the DATASEV_CONFIG
	// file, as the worker and the datasev CLI do.
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// newEnv is the env of a process whose environment getenv reads: the
// DATASEV_CONFIG file it names is loaded under it.
func newEnv(getenv func(string) string, stdout, stderr io.Writer) (*env, error) {
	file, err := config.LoadFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return &env{getenv: file.Getenv(getenv), stdout: stdout, stderr: stderr}, nil
}

// subcommand is one of dev's commands other than the stack itself.
type subcommand struct {
	name, args, summary string
	run                 func(ctx context.Context, e *env, args []string) error
}

var subcommands = []subcommand{
	{"bench", benchArgs, "measure alert → first activity latency against the engine's floor", runBench},
	{"install-cli", "", "build (once) the pinned Temporal CLI and print its path", runInstallCLI},
	{"cluster", clusterArgs, "run Temporal on a private PostgreSQL as the production topology does (frontend, history, matching, worker processes)", runCluster},
	{"chaos", chaosArgs, "run the production topology (PostgreSQL, Temporal services, worker processes, intake) and kill every kind of process while incidents run", runChaos},
	{"hold", holdArgs, "hold many incidents open on one worker process across a shift handoff: its memory, idle CPU, sticky cache, handoff latency, and a second worker joining", runHold},
	{"cost", costArgs, "run each library runbook's incident to closure against the stand-ins and count, per runbook, its history events, tasks, activities, timers, signals, updates and Temporal Cloud actions", runCost},
	{"storm", stormArgs, "post an alert storm through the intake to the worker (Slack on its stand-in): accounting, throughput against Temporal alone, pages, alert → page latency", runStorm},
}

// run runs the dev command line and returns the exit code: 0 on success
// (Ctrl-C included), 1 on failure, 2 on a usage error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e, err := newEnv(getenv, stdout, stderr)
	if err != nil {
		return exitCode(err, stderr)
	}
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			printUsage(stdout)
			return exitOK
		}
		for _, c := range subcommands {
			if args[0] == c.name {
				return exitCode(c.run(ctx, e, args[1:]), stderr)
			}
		}
	}
	return exitCode(runStack(ctx, e, args), stderr)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "dev — datasev's dev stack on 127.0.0.1 (not shipped; run it from the repository)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: go run ./starter/dev [flags]")
	fmt.Fprintln(w, "  run a Temporal dev server with UI, the worker, the alert intake, the Slack app,")
	fmt.Fprintln(w, "  the protocol stand-ins and the demo incidents until Ctrl-C; flags:")
	fs, _ := stackFlags(w)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w)
	for _, c := range subcommands {
		fmt.Fprintf(w, "%s\n  %s\n", strings.TrimSpace("go run ./starter/dev "+c.name+" "+c.args), c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The worker is configured as the worker binary is (environment, DATASEV_CONFIG); every")
	fmt.Fprintln(w, "integration left unconfigured talks to its stand-in. Exit codes: 0 success, 1 failure, 2 usage error.")
}

// usageError is a mistake in how the command was called: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "dev: %s\n", ue.msg)
		return exitUsage
	}
	fmt.Fprintf(stderr, "dev: %s\n", err)
	return exitFailure
}

// parseFlags parses args with fs, turning flag errors into usage errors;
// the commands take flags only.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("%s takes flags only; unexpected %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
