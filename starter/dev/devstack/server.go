package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/workflows"
)

// Host is the only address the dev stack binds.
const Host = "127.0.0.1"

// Options configures a dev server.
type Options struct {
	// DBFile is the SQLite file that persists the server's state across
	// restarts; "" keeps everything in memory.
	DBFile string
	// UI enables the Temporal Web UI.
	UI bool
	// UIPort is the Web UI's port when UI is on; 0 picks a free port.
	UIPort int
	// Port is the frontend gRPC port; 0 picks a free port.
	Port int
	// Namespace is created at start; default "default" (which always exists).
	Namespace string
	// DynamicConfig holds extra server settings as "key=value", value in
	// JSON (for example `limit.maxIDLength=1000`).
	DynamicConfig []string
	// Stdout and Stderr receive the server's output; nil means this
	// process's own.
	Stdout, Stderr io.Writer
	// LogLevel is the server's log level (debug, info, warn, error);
	// default "error", since the dev server is chatty at warn.
	LogLevel string
	// Logger is the logger of the client Start returns; nil logs warnings
	// and errors to Stderr.
	Logger *slog.Logger
}

// Server is a running dev server.
type Server struct {
	dev       *testsuite.DevServer
	hostPort  string
	uiURL     string
	namespace string
	stopOnce  sync.Once
	stopErr   error
}

// Start builds the pinned CLI if needed (see EnsureCLI; build progress goes
// to opts.Stderr), starts `temporal server start-dev` on 127.0.0.1 and waits
// until it answers, then makes sure every custom search attribute in
// workflows.SearchAttributeKeys exists in the namespace. ctx bounds the
// startup only; call Stop to end the server.
func Start(ctx context.Context, opts Options) (*Server, error) {
	stderr := opts.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	stdout := opts.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "error"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	exe, err := EnsureCLI(ctx, stderr)
	if err != nil {
		return nil, err
	}

	port, err := pickPort(opts.Port, "frontend")
	if err != nil {
		return nil, err
	}
	uiPort := 0
	if opts.UI {
		if uiPort, err = pickPort(opts.UIPort, "UI"); err != nil {
			return nil, err
		}
		if uiPort == port {
			return nil, fmt.Errorf("dev server: UI port %d is the frontend port", uiPort)
		}
	}
	hostPort := net.JoinHostPort(Host, strconv.Itoa(port))

	// Task priority (incidents carry their severity's) is on by default
	// from Temporal 1.32, the version production runs; the dev server's
	// 1.29 needs it asked for. A caller's own setting comes later and wins.
	extra := []string{"--dynamic-config-value", "matching.useNewMatcher=true"}
	for _, kv := range opts.DynamicConfig {
		if !strings.Contains(kv, "=") {
			return nil, fmt.Errorf("dev server: dynamic config %q: want key=value", kv)
		}
		extra = append(extra, "--dynamic-config-value", kv)
	}
	// The CLI registers these only when it creates the namespace, that is
	// on a new database; on an existing one they are silently ignored and
	// ensureSearchAttributes below adds whatever is missing.
	for _, k := range searchAttributes() {
		extra = append(extra, "--search-attribute", k+"=Keyword")
	}

	// The SDK retries connecting for a minute and cannot see the process
	// exit; watch the CLI's output for its fatal error line instead.
	startCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch := &fatalWatcher{out: stderr, onFatal: func(msg string) {
		cancel(fmt.Errorf("temporal dev server failed: %s", msg))
	}}

	devOpts := testsuite.DevServerOptions{
		ExistingPath: exe,
		ClientOptions: &client.Options{
			HostPort:  hostPort,
			Namespace: opts.Namespace,
			Logger:    log.NewStructuredLogger(logger),
		},
		DBFilename: opts.DBFile,
		EnableUI:   opts.UI,
		LogLevel:   opts.LogLevel,
		ExtraArgs:  extra,
		Stdout:     stdout,
		Stderr:     watch,
	}
	if opts.UI {
		devOpts.UIPort = strconv.Itoa(uiPort)
	}
	dev, err := testsuite.StartDevServer(startCtx, devOpts)
	if err != nil {
		if cause := context.Cause(startCtx); cause != nil && ctx.Err() == nil {
			return nil, cause
		}
		return nil, fmt.Errorf("temporal dev server on %s: %w", hostPort, err)
	}
	s := &Server{dev: dev, hostPort: hostPort, namespace: opts.Namespace}
	if opts.UI {
		s.uiURL = "http://" + net.JoinHostPort(Host, strconv.Itoa(uiPort))
	}
	if err := ensureSearchAttributes(ctx, dev.Client(), opts.Namespace); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// HostPort is the frontend's gRPC address, "127.0.0.1:<port>".
func (s *Server) HostPort() string { return s.hostPort }

// UIURL is the Web UI's base URL, "http://127.0.0.1:<port>", or "" when the
// UI is off.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace the server was started for.
func (s *Server) Namespace() string { return s.namespace }

// Client is a client connected to the server's namespace. Stop closes it.
func (s *Server) Client() client.Client { return s.dev.Client() }

// Stop closes the client, interrupts the server and waits for it to exit.
// It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.dev.Client().Close()
		s.stopErr = s.dev.Stop()
	})
	return s.stopErr
}

// searchAttributes returns the custom search attribute names, sorted.
func searchAttributes() []string {
	names := make([]string, 0, len(workflows.SearchAttributeKeys))
	for _, k := range workflows.SearchAttributeKeys {
		names = append(names, k.GetName())
	}
	slices.Sort(names)
	return names
}

// ensureSearchAttributes adds any of workflows.SearchAttributeKeys missing in
// namespace, as Keyword, and fails if one exists with another type.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	list, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, k := range workflows.SearchAttributeKeys {
		name, want := k.GetName(), k.GetValueType()
		got, ok := list.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = want
		case got != want:
			return fmt.Errorf("search attribute %s exists in namespace %s as %s, want %s", name, namespace, got, want)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes to namespace %s: %w", namespace, err)
	}
	return nil
}

// pickPort returns port if it is free on Host, or a free port when port is 0.
func pickPort(port int, what string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(Host, strconv.Itoa(port)))
	if err != nil {
		if port != 0 {
			return 0, fmt.Errorf("dev server %s port %d on %s is in use (another Temporal server running?): %w", what, port, Host, err)
		}
		return 0, fmt.Errorf("dev server: no free %s port on %s: %w", what, Host, err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, err
	}
	return p, nil
}

// fatalLine matches the line the CLI logs before exiting on a fatal error:
// an ERROR record with a message and no other attributes (the server's own
// error records carry service=… and more).
var fatalLine = regexp.MustCompile(`level=ERROR msg=("(?:[^"\\]|\\.)*"|\S+)\s*$`)

// fatalWatcher passes the server's stderr through and reports its fatal
// error line.
type fatalWatcher struct {
	out     io.Writer
	onFatal func(msg string)

	mu   sync.Mutex
	line []byte
	done bool
}

func (w *fatalWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	for _, b := range p {
		if b != '\n' {
			if len(w.line) < 8192 {
				w.line = append(w.line, b)
			}
			continue
		}
		if !w.done {
			if m := fatalLine.FindSubmatch(w.line); m != nil {
				msg := string(m[1])
				if u, err := strconv.Unquote(msg); err == nil {
					msg = u
				}
				w.done = true
				w.onFatal(msg)
			}
		}
		w.line = w.line[:0]
	}
	w.mu.Unlock()
	// A failing log destination must not break the server's pipe.
	_, _ = w.out.Write(p)
	return len(p), nil
}
