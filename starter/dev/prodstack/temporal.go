package prodstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// ServerVersion is the Temporal server release the cluster module
// (starter/dev/cluster) pins; docker-compose.yml's server and admin-tools
// images carry the same tag (TestComposeMatchesTheHarness).
const ServerVersion = "1.32.1"

// ClusterBinary is the name of the cluster module's binary under .bin.
const ClusterBinary = "datasev-temporal"

// Services are the Temporal services, each run as its own process.
var Services = []string{"frontend", "history", "matching", "worker"}

// EnsureClusterBinary builds starter/dev/cluster (its own Go module) into
// binDir and returns its path. `go build` relinks only when a source
// changed; the first build compiles the whole server (minutes on two
// cores), so a progress line says so.
func EnsureClusterBinary(ctx context.Context, root, binDir string, progress io.Writer) (string, error) {
	exe := filepath.Join(binDir, ClusterBinary)
	if _, err := os.Stat(exe); err != nil {
		fmt.Fprintf(progress, "building the Temporal server %s from Go modules (first run only, several minutes)…\n", ServerVersion)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", exe, ".")
	cmd.Dir = filepath.Join(root, "starter", "dev", "cluster")
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Temporal server (starter/dev/cluster): %w\n%s", err, tail(string(out), 4000))
	}
	out, err := exec.CommandContext(ctx, exe, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", exe, err)
	}
	if v := strings.TrimSpace(string(out)); v != ServerVersion {
		return "", fmt.Errorf("%s is Temporal server %s, want %s (starter/dev/cluster/go.mod and prodstack.ServerVersion disagree)", exe, v, ServerVersion)
	}
	if d := time.Since(start); d > 5*time.Second {
		fmt.Fprintf(progress, "built the Temporal server %s in %s: %s\n", ServerVersion, d.Round(time.Second), exe)
	}
	return exe, nil
}

// TemporalOptions configure a Temporal cluster on a private PostgreSQL.
type TemporalOptions struct {
	// Binary is the cluster binary (EnsureClusterBinary).
	Binary string
	// CLI is the pinned Temporal CLI the setup job's script runs.
	CLI string
	// Dir holds the shims, the dynamic configuration and the logs.
	Dir string
	// Compose is docker-compose.yml's Temporal side.
	Compose Compose
	// Postgres is the database.
	Postgres *Postgres
	// Log receives every process's output (nil: Dir/temporal.log).
	Log io.Writer
}

// Temporal is a Temporal cluster run as four processes (frontend, history,
// matching, worker) of the cluster binary, configured from the compose
// file's temporal service environment with only the addresses changed.
type Temporal struct {
	opts  TemporalOptions
	ports map[string]int
	env   map[string]string
	procs map[string]*Process

	// mu guards down: the services the harness killed and has not started
	// again. Every other service that exits is started again by supervise,
	// as the compose file's restart policy would.
	mu       sync.Mutex
	down     map[string]bool
	stopSup  chan struct{}
	supDone  chan struct{}
	restarts map[string]int
}

// Overrides lists the server variables the harness sets itself, over the
// compose file's: only where things listen and how to reach the database.
// Everything else (the plugin, the shard count, the visibility store) is
// the compose file's (TestComposeMatchesTheHarness).
var Overrides = []string{
	"POSTGRES_SEEDS", "DB_PORT", "POSTGRES_USER", "POSTGRES_PWD", "BIND_ON_IP",
	"FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT",
	"HISTORY_GRPC_PORT", "HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT",
	"WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT", "DYNAMIC_CONFIG_FILE_PATH", "LOG_LEVEL",
}

// StartTemporal installs the schema (the compose file's temporal-schema
// script, run with a temporal-sql-tool that is the cluster binary), starts
// the four services and runs the temporal-setup script against them (the
// namespace and datasev's search attributes, with the pinned temporal CLI).
// Ports are below 32768, as the server's membership table requires.
func StartTemporal(ctx context.Context, opts TemporalOptions) (_ *Temporal, err error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		f, err := os.OpenFile(filepath.Join(opts.Dir, "temporal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		opts.Log = f
	}
	t := &Temporal{opts: opts, procs: map[string]*Process{}, down: map[string]bool{}, restarts: map[string]int{},
		stopSup: make(chan struct{})}
	if err := t.installSchema(ctx); err != nil {
		return nil, err
	}
	ports, err := freeLowPorts(9)
	if err != nil {
		return nil, err
	}
	t.ports = map[string]int{
		"FRONTEND_GRPC_PORT": ports[0], "FRONTEND_HTTP_PORT": ports[1], "FRONTEND_MEMBERSHIP_PORT": ports[2],
		"HISTORY_GRPC_PORT": ports[3], "HISTORY_MEMBERSHIP_PORT": ports[4],
		"MATCHING_GRPC_PORT": ports[5], "MATCHING_MEMBERSHIP_PORT": ports[6],
		"WORKER_GRPC_PORT": ports[7], "WORKER_MEMBERSHIP_PORT": ports[8],
	}
	dyn := filepath.Join(opts.Dir, "dynamicconfig.yaml")
	// The image's dynamic configuration file is empty too.
	if err := os.WriteFile(dyn, nil, 0o644); err != nil {
		return nil, err
	}
	env := baseEnv()
	for k, v := range opts.Compose.ServerEnv {
		env[k] = v
	}
	env["POSTGRES_SEEDS"] = opts.Postgres.Host()
	env["DB_PORT"] = strconv.Itoa(opts.Postgres.Port())
	env["POSTGRES_USER"] = opts.Postgres.User()
	env["POSTGRES_PWD"] = opts.Postgres.Password()
	env["BIND_ON_IP"] = "127.0.0.1"
	env["DYNAMIC_CONFIG_FILE_PATH"] = dyn
	env["LOG_LEVEL"] = "warn"
	for k, p := range t.ports {
		env[k] = strconv.Itoa(p)
	}
	t.env = env
	defer func() {
		if err != nil {
			t.Stop()
		}
	}()
	for _, svc := range Services {
		p := &Process{Name: "temporal-" + svc, Path: opts.Binary, Args: []string{"start", "--service", svc},
			Env: environ(env), Dir: opts.Dir, Log: opts.Log}
		t.procs[svc] = p
		if err := p.Start(); err != nil {
			return nil, err
		}
	}
	if err := t.WaitHealthy(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	t.supDone = make(chan struct{})
	go t.supervise()
	if err := t.runSetup(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// Address is the frontend's gRPC address.
func (t *Temporal) Address() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(t.ports["FRONTEND_GRPC_PORT"]))
}

// Namespace is the namespace the setup job created.
func (t *Temporal) Namespace() string {
	if ns := t.opts.Compose.SetupEnv["TEMPORAL_NAMESPACE"]; ns != "" {
		return ns
	}
	return "default"
}

// Env is the servers' environment (for the comparison with the compose
// file).
func (t *Temporal) Env() map[string]string { return t.env }

// Process returns the process running service.
func (t *Temporal) Process(service string) *Process { return t.procs[service] }

// Kill kills a service's process with SIGKILL; it stays down until
// Restart.
func (t *Temporal) Kill(service string) error {
	p, ok := t.procs[service]
	if !ok {
		return fmt.Errorf("no Temporal service %q", service)
	}
	t.mu.Lock()
	t.down[service] = true
	t.mu.Unlock()
	return p.Kill()
}

// Restart starts a killed service's process again.
func (t *Temporal) Restart(service string) error {
	p, ok := t.procs[service]
	if !ok {
		return fmt.Errorf("no Temporal service %q", service)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.down, service)
	if p.Running() {
		return nil
	}
	return p.Start()
}

// Restarts counts, per service, the exits supervise restarted.
func (t *Temporal) Restarts() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.restarts)
}

// supervise starts again, after a second, a service that exited without
// the harness killing it (a service starting while PostgreSQL is down
// exits, as it would in a container that its restart policy restarts).
func (t *Temporal) supervise() {
	defer close(t.supDone)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-t.stopSup:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		for _, svc := range Services {
			p := t.procs[svc]
			if p == nil || t.down[svc] || p.Running() {
				continue
			}
			if err := p.Start(); err == nil {
				t.restarts[svc]++
				fmt.Fprintf(t.opts.Log, "[harness] temporal %s exited on its own; started it again\n", svc)
			}
		}
		t.mu.Unlock()
	}
}

// Stop stops every service.
func (t *Temporal) Stop() {
	select {
	case <-t.stopSup:
	default:
		close(t.stopSup)
	}
	if t.supDone != nil {
		<-t.supDone
	}
	t.mu.Lock()
	for _, svc := range Services {
		t.down[svc] = true
	}
	t.mu.Unlock()
	for _, svc := range slices.Backward(Services) {
		if p := t.procs[svc]; p != nil {
			_ = p.Stop(10 * time.Second)
		}
	}
}

// maxStarts bounds how often WaitHealthy starts a service that keeps
// exiting.
const maxStarts = 5

// WaitHealthy waits until every service runs and the frontend answers a
// health check.
func (t *Temporal) WaitHealthy(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last error
	restarts := map[string]int{}
	for {
		// A service that exits while the cluster starts is started again,
		// as the compose file's restart policy would: on an empty database
		// the services race to write the cluster's metadata, and the
		// losers exit.
		for _, svc := range Services {
			p := t.procs[svc]
			if p == nil || p.Running() {
				continue
			}
			if restarts[svc] >= maxStarts {
				return fmt.Errorf("temporal %s exited %d times while starting: %v (see %s)", svc, restarts[svc]+1, p.Wait(ctx), filepath.Join(t.opts.Dir, "temporal.log"))
			}
			restarts[svc]++
			if err := p.Start(); err != nil {
				return err
			}
		}
		c, err := client.Dial(client.Options{HostPort: t.Address(), Namespace: "temporal-system", Logger: quietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil && t.allRunning() {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal at %s not healthy after %s: %v", t.Address(), within, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (t *Temporal) allRunning() bool {
	for _, p := range t.procs {
		if !p.Running() {
			return false
		}
	}
	return true
}

// installSchema runs the compose file's temporal-schema script with a
// temporal-sql-tool on PATH that is the cluster binary's sql-tool.
func (t *Temporal) installSchema(ctx context.Context) error {
	shims := filepath.Join(t.opts.Dir, "shims")
	if err := os.MkdirAll(shims, 0o755); err != nil {
		return err
	}
	shim := fmt.Sprintf("#!/bin/sh\nexec %q sql-tool \"$@\"\n", t.opts.Binary)
	if err := os.WriteFile(filepath.Join(shims, "temporal-sql-tool"), []byte(shim), 0o755); err != nil {
		return err
	}
	env := baseEnv()
	for k, v := range t.opts.Compose.SchemaEnv {
		env[k] = v
	}
	env["SQL_HOST"] = t.opts.Postgres.Host()
	env["SQL_PORT"] = strconv.Itoa(t.opts.Postgres.Port())
	env["SQL_USER"] = t.opts.Postgres.User()
	env["SQL_PASSWORD"] = t.opts.Postgres.Password()
	env["PATH"] = shims + ":" + env["PATH"]
	return t.runScript(ctx, "temporal-schema", t.opts.Compose.SchemaScript, env)
}

// runSetup runs the compose file's temporal-setup script with the pinned
// temporal CLI on PATH. Newly added search attributes take a moment to be
// usable (the namespace cache); callers retry queries that name them.
func (t *Temporal) runSetup(ctx context.Context) error {
	env := baseEnv()
	for k, v := range t.opts.Compose.SetupEnv {
		env[k] = v
	}
	env["TEMPORAL_ADDRESS"] = t.Address()
	env["HOME"] = t.opts.Dir
	env["PATH"] = filepath.Dir(t.opts.CLI) + ":" + env["PATH"]
	return t.runScript(ctx, "temporal-setup", t.opts.Compose.SetupScript, env)
}

// runScript runs a compose job's script as its entrypoint does (sh -ec).
func (t *Temporal) runScript(ctx context.Context, name, script string, env map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-ec", script)
	cmd.Env = environ(env)
	cmd.Dir = t.opts.Dir
	out, err := cmd.CombinedOutput()
	fmt.Fprintf(t.opts.Log, "[%s] %s\n", name, strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n["+name+"] "))
	if err != nil {
		return fmt.Errorf("compose job %s: %w\n%s", name, err, tail(string(out), 3000))
	}
	return nil
}

// freeLowPorts returns n distinct free TCP ports on 127.0.0.1 between 10000
// and 32767 (below Linux's ephemeral range, which the membership table's
// SMALLINT port column cannot hold).
func freeLowPorts(n int) ([]int, error) {
	var ports []int
	for tries := 0; len(ports) < n && tries < 2000; tries++ {
		p := 10000 + rand.IntN(22000)
		if slices.Contains(ports, p) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		ports = append(ports, p)
	}
	if len(ports) < n {
		return nil, errors.New("no free ports between 10000 and 32767 on 127.0.0.1")
	}
	return ports, nil
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// quietLogger drops the SDK client's log lines while the harness polls.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
