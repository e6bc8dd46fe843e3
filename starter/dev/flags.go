package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/datasev/datasev/starter/cli"
)

// options are the dev stack's flags.
type options struct {
	port, uiPort int
	dbFile       string
	noDemo       bool
	roster       string
	runbookDir   string
	intakeAddr   string
	closeAfter   time.Duration
	// stateDir keeps what outlives a run: the server's database (unless
	// --db says otherwise), keys, logs, the sealing key, postmortems and
	// incident documents.
	stateDir string
}

// newFlagSet returns a flag set that writes its errors and help to w; its
// help is "Usage: " and usage, then the flags' defaults.
func newFlagSet(w io.Writer, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintln(w, "Usage: "+usage)
		fs.PrintDefaults()
	}
	return fs
}

// stackFlags returns the dev stack's flag set, writing its errors and help
// to w, and the options it fills.
func stackFlags(w io.Writer) (*flag.FlagSet, *options) {
	o := &options{}
	fs := newFlagSet(w, "dev", "go run ./starter/dev [flags] | bench [flags] | install-cli | help")
	fs.IntVar(&o.port, "port", 7233, "Temporal frontend gRPC port on 127.0.0.1 (0: a free one)")
	fs.IntVar(&o.uiPort, "ui-port", 8233, "Temporal Web UI port on 127.0.0.1 (0: a free one)")
	fs.StringVar(&o.dbFile, "db", "", "SQLite file that keeps the server's state (default <state>/dev.db)")
	fs.BoolVar(&o.noDemo, "no-demo", false, "run no demo incidents; the server, worker, intake, Slack app and stand-ins still start")
	fs.StringVar(&o.roster, "roster", "", "roster file (default $"+cli.EnvRoster+" or "+cli.DefaultRoster+")")
	fs.StringVar(&o.runbookDir, "runbooks", "", "runbook directory added to the embedded library (default $"+cli.EnvRunbooks+")")
	fs.StringVar(&o.intakeAddr, "intake-addr", "127.0.0.1:8080", "address of the alert intake and the Slack app")
	fs.DurationVar(&o.closeAfter, "close-after", 30*time.Second, "how long the first demo incident stays resolved (open to a recurrence) before it closes and its postmortem is written")
	fs.StringVar(&o.stateDir, "state", "", "directory for keys, logs, the sealing key, postmortems and incident documents (default <repo>/.datasev)")
	return fs, o
}

// check reports flag values that cannot work together.
func (o *options) check() error {
	for _, p := range []struct {
		name string
		v    int
	}{{"--port", o.port}, {"--ui-port", o.uiPort}} {
		if p.v < 0 || p.v > 65535 {
			return usagef("%s %d: want 1 to 65535, or 0 for a free port", p.name, p.v)
		}
	}
	if o.port != 0 && o.port == o.uiPort {
		return usagef("--port and --ui-port must differ")
	}
	if o.closeAfter <= 0 {
		return usagef("--close-after %s: want a positive duration", o.closeAfter)
	}
	return nil
}
