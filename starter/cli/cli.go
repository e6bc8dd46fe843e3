// Package cli is datasev's command-line front door, the commands of the
// shipped `datasev` binary (./starter): declare, list, show and act on
// incidents, validate and dry-run runbooks, check the configuration, and
// serve the alert intake. It is a production package: the dev stack (a
// Temporal dev server, the protocol stand-ins and the demo incidents) lives
// in the dev-only command ./starter/dev, which uses the few helpers this
// package exports (LoadRoster, LoadRunbookSet, ChooseRunbook).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/codec"
	"github.com/datasev/datasev/worker/config"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows/oncall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// EnvRoster names the environment variable holding the roster file path.
const EnvRoster = "DATASEV_ROSTER"

// EnvTaskQueue names the variable holding the workers' task queue, the one
// declared incidents start on (default workflows.TaskQueue); the worker
// reads the same variable.
const EnvTaskQueue = service.EnvTaskQueue

// DefaultRoster is the roster used when neither --roster nor DATASEV_ROSTER
// says otherwise, relative to the working directory or the repository root.
const DefaultRoster = "runbooks/roster.yaml"

// usageError is a mistake in how the command was called: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// env is what a command sees of the process.
type env struct {
	getenv func(string) string
	// file is the configuration file DATASEV_CONFIG (or --config) names;
	// nil when none.
	file   *config.File
	stdout io.Writer
	stderr io.Writer
	// dial connects to Temporal; tests may replace it.
	dial func(ctx context.Context) (client.Client, error)
}

type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	cmds := []command{
		{"declare", "--title T --key K [--severity SEV] [--service S] [--dataset D] [--source cli] [--label k=v ...] [--runbook R] [--runbooks DIR] [--roster FILE] [--by P]", "declare an incident (or join the open one for the key)", runDeclare},
		{"list", "[--severity SEV] [--status S] [--service S] [--commander P] [--all]", "list open incidents (--all: closed ones too)", runList},
		{"show", "ID", "show an incident's status and timeline (ID: dedupe key or workflow ID)", runShow},
		{"postmortem", postmortemUsage, "print an incident's postmortem as Markdown (a draft while it is open), or write it to FILE", runPostmortem},
		{"report", reportUsage, "the incident record of the period's closed incidents: counts, times to acknowledge/mitigate/resolve, approvals, misses, action items", runReport},
		{"runbooks", runbooksUsage, "validate, list, show and dry-run runbooks", runRunbooks},
		{"preview", previewUsage, "list the message templates, or render one from a sample incident (or a real one's report)", runPreview},
		{"oncall", oncallUsage, "set, cancel and list on-call overrides (a swap reaches open incidents at their next shift boundary)", runOncall},
		{"config", configUsage, "check the configuration (file and environment), one line per part; --connect dials Temporal", runConfig},
		{"replay", replayUsage, "before an upgrade: replay exported or queried workflow histories against this binary's workflows; exit 1 if any would break", runReplay},
	}
	for _, a := range actCommands {
		cmds = append(cmds, command{a.cmd, strings.Join(strings.Fields("ID --by P "+a.usage+" [--key FILE] [--signal]"), " "), a.summary, func(ctx context.Context, e *env, args []string) error {
			return runAct(ctx, e, a, args)
		}})
	}
	cmds = append(cmds,
		command{"serve", "[--addr 127.0.0.1:8080] [--insecure-no-auth] [--runbooks DIR] [--roster FILE] [--ui-url URL]", "run the alert intake (Alertmanager, dbt Cloud, PagerDuty, generic JSON), the Slack app and the codec endpoint until Ctrl-C", runServe},
		command{"codec-key", "[--id ID]", "print a new payload-encryption key line for DATASEV_CODEC_KEYS_FILE", runCodecKey},
		command{"keygen", keygenUsage, "write a new private key for signing acts and print its public key for the roster", runKeygen},
		command{"help", "[COMMAND]", "show this help", nil},
	)
	return cmds
}

// Run runs the datasev command line and returns the process exit code: 0 on
// success, 1 on failure, 2 on a usage error.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	// --config FILE, before the command, names the configuration file
	// instead of DATASEV_CONFIG.
	if len(args) > 0 && (args[0] == "--config" || args[0] == "-config" || strings.HasPrefix(args[0], "--config=")) {
		path, n := "", 2
		if v, ok := strings.CutPrefix(args[0], "--config="); ok {
			path, n = v, 1
		} else if len(args) > 1 {
			path = args[1]
		}
		if strings.TrimSpace(path) == "" {
			fmt.Fprintln(stderr, "datasev: --config needs a file: datasev --config FILE COMMAND ...")
			return exitUsage
		}
		args = args[n:]
		outer := getenv
		getenv = func(k string) string {
			if k == config.EnvConfig {
				return path
			}
			return outer(k)
		}
	}
	// The configuration file, under the environment. A bad file stops
	// every command but help and `config check`, which reports it.
	file, fileErr := config.LoadFromEnv(getenv)
	if fileErr == nil {
		getenv = file.Getenv(getenv)
	}
	e := &env{getenv: getenv, file: file, stdout: stdout, stderr: stderr}
	e.dial = func(ctx context.Context) (client.Client, error) { return dial(ctx, e) }
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if c, ok := lookup(rest[0]); ok && c.run != nil {
				return exitCode(c.run(ctx, e, []string{"-h"}), stderr)
			}
		}
		printUsage(stdout)
		return exitOK
	}
	c, ok := lookup(name)
	if !ok || c.run == nil {
		if hint, ok := devCommands[name]; ok {
			fmt.Fprintf(stderr, "datasev: %s is not in the datasev binary; in the repository, run `%s`\n", name, hint)
			return exitUsage
		}
		fmt.Fprintf(stderr, "datasev: unknown command %q; run `datasev help` for the list\n", name)
		return exitUsage
	}
	if fileErr != nil && c.name != "config" {
		return exitCode(fileErr, stderr)
	}
	return exitCode(c.run(ctx, e, rest), stderr)
}

// devCommands are the commands the dev-only binary ./starter/dev has (they
// were datasev's once), with the command line that runs each.
var devCommands = map[string]string{
	"dev":         "go run ./starter/dev",
	"bench":       "go run ./starter/dev bench",
	"install-cli": "go run ./starter/dev install-cli",
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "datasev: %s\n", ue.msg)
		return exitUsage
	}
	fmt.Fprintf(stderr, "datasev: %s\n", err)
	return exitFailure
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "datasev — durable incident runbooks for data teams, on Temporal")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: datasev [--config FILE] COMMAND [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-17s %s\n", c.name, c.summary)
		if c.args != "" {
			fmt.Fprintf(w, "  %-17s   %s %s\n", "", c.name, c.args)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Acts are sent as Updates (answered at once, rejected with a reason); --signal sends them")
	fmt.Fprintln(w, "as Signals instead, like the Temporal UI does (a rejected signal shows in the timeline).")
	fmt.Fprintln(w, "Acts are signed with your private key (--key, "+EnvKeyFile+", or ~/.config/datasev/key.pem;")
	fmt.Fprintln(w, "`datasev keygen` makes one): the incident takes deciding acts (ack, approve, resolve, ...)")
	fmt.Fprintln(w, "only when signed by a key the roster lists for the person in --by.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Connection: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,")
	fmt.Fprintln(w, "TEMPORAL_TLS_*, TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE. Roster: --roster, DATASEV_ROSTER, or")
	fmt.Fprintln(w, DefaultRoster+". Runbooks: the embedded library, plus --runbooks DIR or "+EnvRunbooks+".")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit codes: 0 success, 1 failure (including a rejected act), 2 usage error.")
}

// newFlagSet returns a FlagSet for a subcommand whose errors come back as
// usage errors.
func newFlagSet(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: datasev %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and positional arguments in any order ("ack ID --by
// alice" as well as "ack --by alice ID").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseFlagsOnly parses the flags of a command that takes no positional
// arguments; the flag set's name is the command's.
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s takes flags only; unexpected %q", fs.Name(), pos[0])
	}
	return nil
}

// parseIncidentRef parses the flags of a command that takes one incident
// (dedupe key or workflow ID) and returns it as given.
func parseIncidentRef(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usagef("%s: want one incident ID (dedupe key or workflow ID)", fs.Name())
	}
	return pos[0], nil
}

// dialIncident connects to Temporal and resolves ref (dedupe key or
// workflow ID) to the incident's workflow ID. The caller closes the client.
func (e *env) dialIncident(ctx context.Context, ref string) (client.Client, string, error) {
	c, err := e.dial(ctx)
	if err != nil {
		return nil, "", err
	}
	return c, incidents.ResolveID(ctx, c, ref), nil
}

// clientOptions loads the connection settings the way every Temporal tool
// does: the config file's profile, then TEMPORAL_* environment variables.
func clientOptions(e *env) (client.Options, error) {
	// The file's temporal section (grpc_meta_* included) reaches the
	// connection the same way it reaches the worker's.
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: config.EnvLookup{Getenv: e.getenv, File: e.file}})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal connection settings: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = "127.0.0.1:7233"
	}
	opts.Logger = quietLogger(e.stderr)
	// With payload encryption on (DATASEV_CODEC_*), the CLI encrypts what it
	// sends and decrypts what it reads, like the worker.
	k, on, err := codec.KeyringFromEnv(e.getenv)
	if err != nil {
		return client.Options{}, fmt.Errorf("payload encryption: %w", err)
	}
	if on {
		opts.DataConverter = codec.DataConverter(k)
		opts.FailureConverter = codec.FailureConverter(k)
	}
	return opts, nil
}

func quietLogger(w io.Writer) log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

func dial(ctx context.Context, e *env) (client.Client, error) {
	opts, err := clientOptions(e)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := incidents.Dial(dctx, opts)
	if err != nil {
		var ue *incidents.UnreachableError
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("%w\n(start one with `go run ./starter/dev` in the repository, or set TEMPORAL_ADDRESS)", err)
		}
		return nil, err
	}
	return c, nil
}

// rosterPath picks the roster file: the flag, DATASEV_ROSTER, or the
// default in the working directory or the repository root.
func rosterPath(getenv func(string) string, flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p := getenv(EnvRoster); p != "" {
		return p, nil
	}
	if _, err := os.Stat(DefaultRoster); err == nil {
		return DefaultRoster, nil
	}
	if root, ok := repoRoot(); ok {
		p := filepath.Join(root, DefaultRoster)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no roster: pass --roster FILE or set %s (%s not found)", EnvRoster, DefaultRoster)
}

// LoadRoster loads the roster the commands use: the file flagValue names,
// else $DATASEV_ROSTER (through getenv), else DefaultRoster in the working
// directory or the repository root.
func LoadRoster(getenv func(string) string, flagValue string) (oncall.Roster, error) {
	p, err := rosterPath(getenv, flagValue)
	if err != nil {
		return oncall.Roster{}, err
	}
	return oncall.Load(p)
}

func loadRoster(e *env, flagValue string) (oncall.Roster, error) {
	return LoadRoster(e.getenv, flagValue)
}

func runCodecKey(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "codec-key", "[--id ID]")
	var id string
	fs.StringVar(&id, "id", "", "the key's ID (default: k<date>-<random>)")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	var line string
	var err error
	if id == "" {
		line, err = codec.NewKey()
	} else {
		line, err = codec.NewKeyWithID(id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, line)
	return nil
}

// orText is s, or alt when s is empty.
func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
