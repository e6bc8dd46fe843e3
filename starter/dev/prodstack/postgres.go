package prodstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoPostgres is wrapped by StartPostgres's error when the PostgreSQL
// server or client programs are not installed.
var ErrNoPostgres = errors.New("PostgreSQL is not installed: install it with `apt-get install postgresql`")

const (
	// pgHost is the only address the server listens on.
	pgHost = "127.0.0.1"
	// pgMaxConnections covers a Temporal cluster of four services, each
	// with its own connection pools to two databases, plus admin tools.
	pgMaxConnections = 200
	// pgStartTimeout bounds a start, crash recovery included, when ctx
	// has no earlier deadline.
	pgStartTimeout = 2 * time.Minute
	// pgStopTimeout bounds a fast or immediate shutdown before the
	// postmaster is killed.
	pgStopTimeout = time.Minute
	// pgOrphanGrace is how long the children of a killed postmaster get to
	// notice and exit on their own before they are killed too.
	pgOrphanGrace = 5 * time.Second
	// pgLinePrefix starts every line the server logs.
	pgLinePrefix = "postgres: "
	// pgTailLines is how much of the log an error shows.
	pgTailLines = 30
)

// Postgres is a private PostgreSQL server on 127.0.0.1 in a directory of its
// own: data in Dir/data, the Unix socket in Dir/run. The server is started
// in a process group of its own, so a Ctrl-C in the terminal does not reach
// it, and it is asked to shut down immediately if the thread that started it
// dies (Linux only). The caller must Stop it. Its methods are safe for
// concurrent use; each waits for the one before to finish.
type Postgres struct {
	dir, dataDir, runDir string
	user, password       string
	port                 int
	bins                 pgBinaries
	// cred is who the server runs as: nil for this process's own user,
	// an unprivileged user when this process is root (PostgreSQL refuses
	// to run as root).
	cred *syscall.Credential
	// logTo is PostgresOptions.Log; nil means Dir/postgres.log.
	logTo io.Writer
	tail  *pgTail

	mu  sync.Mutex
	run *pgRun // nil when no server was started since the last stop
}

// PostgresOptions configures StartPostgres.
type PostgresOptions struct {
	// Dir holds the server's data (Dir/data) and socket (Dir/run); it is
	// created if missing. Required. When this process is root the server
	// runs as the user nobody, so Dir's parents must be searchable by
	// others (chmod o+x); StartPostgres says which one is not.
	Dir string
	// User and Password are the superuser the data directory is
	// initialised with; clients log in with them over TCP (SCRAM-SHA-256).
	// Optional; default "temporal" and "temporal". An existing data
	// directory keeps the user and password it was initialised with.
	User, Password string
	// Port is the TCP port on 127.0.0.1; 0 picks a free port once, kept
	// across restarts.
	Port int
	// Log receives the server's log, each line prefixed with "postgres: ".
	// Optional; nil appends to Dir/postgres.log.
	Log io.Writer
}

// pgRun is one life of the postmaster.
type pgRun struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postmaster has exited
	waitErr error         // the postmaster's exit, once exited is closed
	drained chan struct{} // closed when every holder of the log pipe has exited
}

// StartPostgres initialises Dir/data unless it already holds a database,
// starts the server and waits until it accepts a password login over TCP.
// ctx bounds the startup only (at most two minutes); the server runs until
// Stop, Crash or Kill, and the caller must Stop it. Errors wrap ErrNoPostgres
// when PostgreSQL is not installed.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.Dir == "" {
		return nil, errors.New("postgres: PostgresOptions.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("postgres: directory %q: %w", opts.Dir, err)
	}
	if opts.User == "" {
		opts.User = "temporal"
	}
	if opts.Password == "" {
		opts.Password = "temporal"
	}
	if strings.ContainsAny(opts.Password, "\r\n") {
		return nil, errors.New("postgres: PostgresOptions.Password must be one line")
	}
	bins, err := pgFindBinaries()
	if err != nil {
		return nil, err
	}
	p := &Postgres{
		dir:      dir,
		dataDir:  filepath.Join(dir, "data"),
		runDir:   filepath.Join(dir, "run"),
		user:     opts.User,
		password: opts.Password,
		bins:     bins,
		logTo:    opts.Log,
		tail:     &pgTail{},
	}
	if err := p.prepareDirs(); err != nil {
		return nil, err
	}
	if p.port, err = pgPickPort(opts.Port); err != nil {
		return nil, err
	}
	if err := p.initdb(ctx); err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Host is the address the server listens on, "127.0.0.1".
func (p *Postgres) Host() string { return pgHost }

// Port is the server's TCP port.
func (p *Postgres) Port() int { return p.port }

// User is the superuser's name.
func (p *Postgres) User() string { return p.user }

// Password is the superuser's password.
func (p *Postgres) Password() string { return p.password }

// PID is the running postmaster's process id, 0 when it is not running.
func (p *Postgres) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil || p.run.hasExited() {
		return 0
	}
	return p.run.cmd.Process.Pid
}

// Start starts the server again on the same data directory and port, after
// Crash, Kill or Stop, and waits until it accepts a password login (crash
// recovery included); ctx bounds the wait (at most two minutes). If the
// server does not come up it is stopped again.
func (p *Postgres) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		if !p.run.hasExited() {
			return fmt.Errorf("postgres on %s is already running (pid %d)", p.addr(), p.run.cmd.Process.Pid)
		}
		// It died on its own; collect it before starting afresh.
		if err := p.halt(syscall.SIGKILL); err != nil {
			return err
		}
	}
	if err := p.launch(); err != nil {
		return err
	}
	if err := p.waitReady(ctx); err != nil {
		// A fast shutdown, so that the next start need not recover.
		if herr := p.halt(syscall.SIGINT); herr != nil {
			err = errors.Join(err, herr)
		}
		return err
	}
	return nil
}

// Stop shuts the server down fast (SIGINT: sessions are ended, a checkpoint
// is written) and waits for it to exit. It is safe to call more than once
// and after Crash or Kill. It reports a server that had exited on its own.
func (p *Postgres) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return nil
	}
	if p.run.hasExited() {
		run := p.run
		if err := p.halt(syscall.SIGKILL); err != nil {
			return err
		}
		return fmt.Errorf("postgres on %s had exited on its own (%v); log tail:\n%s", p.addr(), run.waitErr, p.tail.lines(pgTailLines))
	}
	return p.halt(syscall.SIGINT)
}

// Crash shuts the server down immediately, as a crash would: SIGQUIT to the
// postmaster (what `pg_ctl stop -m immediate` sends), which ends its
// children without a checkpoint, and waits for it to exit. The next Start
// runs crash recovery from the write-ahead log.
func (p *Postgres) Crash() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.requireRunning("crash"); err != nil {
		return err
	}
	return p.halt(syscall.SIGQUIT)
}

// Kill sends SIGKILL to the postmaster and waits for it to exit. Its
// children notice and exit on their own; any still alive after a few
// seconds are killed too, so that the next Start finds no process attached
// to the old shared memory. The stale postmaster.pid is left for Start
// (PostgreSQL itself recognises it).
func (p *Postgres) Kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.requireRunning("kill"); err != nil {
		return err
	}
	return p.halt(syscall.SIGKILL)
}

// Psql runs script (one or more SQL statements, each in its own transaction
// unless the script says otherwise) in database over TCP as the superuser
// and returns what it printed: rows one per line, columns separated by "|",
// no headers. It stops at the first failing statement.
func (p *Postgres) Psql(ctx context.Context, database, script string) (string, error) {
	cmd := exec.CommandContext(ctx, p.bins.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-",
		"-h", pgHost, "-p", strconv.Itoa(p.port), "-U", p.user, "-d", database)
	cmd.Env = p.clientEnv()
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("psql on %s/%s as %s: %w: %s", p.addr(), database, p.user, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (p *Postgres) addr() string { return net.JoinHostPort(pgHost, strconv.Itoa(p.port)) }

func (p *Postgres) requireRunning(what string) error {
	if p.run == nil || p.run.hasExited() {
		return fmt.Errorf("postgres on %s: cannot %s it: it is not running", p.addr(), what)
	}
	return nil
}

// prepareDirs creates Dir and Dir/run and, when this process is root, hands
// them to the unprivileged user the server runs as.
func (p *Postgres) prepareDirs() error {
	// The socket's path must fit in sockaddr_un (108 bytes).
	if sock := filepath.Join(p.runDir, ".s.PGSQL.65535"); len(sock) > 100 {
		return fmt.Errorf("postgres: directory %s is too long for a Unix socket path (%s is %d bytes, at most 100): choose a shorter Dir", p.dir, sock, len(sock))
	}
	if strings.ContainsAny(p.runDir, `",`) {
		return fmt.Errorf("postgres: directory %s: a comma or double quote in it cannot be given to the server", p.dir)
	}
	for _, d := range []string{p.dir, p.runDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("postgres: create %s: %w", d, err)
		}
	}
	if os.Geteuid() != 0 {
		return nil
	}
	cred, name := pgUnprivileged()
	p.cred = cred
	for _, d := range []string{p.dir, p.runDir} {
		if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("postgres: give %s to %s (uid %d), who runs the server since this process is root: %w", d, name, cred.Uid, err)
		}
	}
	return pgCheckSearchable(filepath.Dir(p.dir), cred, name)
}

// pgUnprivileged is the user the server runs as when this process is root:
// nobody, or uid and gid 65534 where no such user is known.
func pgUnprivileged() (*syscall.Credential, string) {
	cred := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	u, err := user.Lookup("nobody")
	if err != nil {
		return cred, "uid 65534"
	}
	uid, uerr := strconv.ParseUint(u.Uid, 10, 32)
	gid, gerr := strconv.ParseUint(u.Gid, 10, 32)
	if uerr != nil || gerr != nil {
		return cred, "uid 65534"
	}
	cred.Uid, cred.Gid = uint32(uid), uint32(gid)
	return cred, "nobody"
}

// pgCheckSearchable checks that the user of cred can reach into dir and
// every directory above it, so the error names the one that blocks rather
// than the server failing with "permission denied" on the data directory.
func pgCheckSearchable(dir string, cred *syscall.Credential, name string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok {
			perm := fi.Mode().Perm()
			var bit os.FileMode = 0o001
			switch {
			case st.Uid == cred.Uid:
				bit = 0o100
			case st.Gid == cred.Gid:
				bit = 0o010
			}
			if perm&bit == 0 {
				return fmt.Errorf("postgres: this process is root, so the server runs as %s (uid %d), who cannot enter %s (mode %v, owner uid %d): make it searchable (chmod o+x %s) or choose a Dir elsewhere",
					name, cred.Uid, d, perm, st.Uid, d)
			}
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

// initdb creates the database cluster in Dir/data unless it exists.
func (p *Postgres) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(p.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	pwfile := filepath.Join(p.dir, "initdb.pw")
	if err := os.WriteFile(pwfile, []byte(p.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("postgres: write the password file for initdb: %w", err)
	}
	defer func() { _ = os.Remove(pwfile) }()
	if p.cred != nil {
		if err := os.Chown(pwfile, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return fmt.Errorf("postgres: give %s to uid %d: %w", pwfile, p.cred.Uid, err)
		}
	}
	// --no-sync only skips flushing the new files at the end of initdb:
	// the crashes tested here are the server's, not the machine's, and
	// the server itself runs with fsync on.
	cmd := exec.CommandContext(ctx, p.bins.initdb, "-D", p.dataDir, "--username", p.user, "--pwfile", pwfile,
		"--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	cmd.Env = p.serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	out, err := cmd.CombinedOutput()
	if werr := p.writeLog(out); werr != nil && err == nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("postgres: initdb of %s failed: %w; its output ends with:\n%s", p.dataDir, err, pgLastLines(out, pgTailLines))
	}
	return nil
}

// writeLog appends b, prefixed line by line, to the log.
func (p *Postgres) writeLog(b []byte) error {
	sink, closeSink, err := p.openLog()
	if err != nil {
		return err
	}
	w := &pgPrefixWriter{out: sink, tail: p.tail}
	_, _ = w.Write(b)
	w.flush()
	return closeSink()
}

// openLog opens where the server's log goes.
func (p *Postgres) openLog() (io.Writer, func() error, error) {
	if p.logTo != nil {
		return p.logTo, func() error { return nil }, nil
	}
	name := filepath.Join(p.dir, "postgres.log")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: open the log %s: %w", name, err)
	}
	return f, f.Close, nil
}

// launch starts the postmaster with the log pipe as its stdout and stderr.
func (p *Postgres) launch() error {
	sink, closeSink, err := p.openLog()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		_ = closeSink()
		return fmt.Errorf("postgres: log pipe: %w", err)
	}
	settings := []string{
		"listen_addresses=" + pgHost,
		"port=" + strconv.Itoa(p.port),
		`unix_socket_directories="` + p.runDir + `"`,
		"max_connections=" + strconv.Itoa(pgMaxConnections),
		"fsync=on",
		"synchronous_commit=on",
		"full_page_writes=on",
		// Crash recovery starts by flushing the whole data directory;
		// file by file (the default) that takes seconds for a new
		// cluster, one syncfs call takes a fraction.
		"recovery_init_sync_method=syncfs",
		"logging_collector=off",
		"log_destination=stderr",
		"log_line_prefix=%m [%p] ",
	}
	args := []string{"-D", p.dataDir}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := exec.Command(p.bins.postgres, args...)
	cmd.Env = p.serverEnv()
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGQUIT, Credential: p.cred}
	err = cmd.Start()
	// The postmaster and its children hold the write end now; the read end
	// sees EOF once every one of them has exited.
	_ = w.Close()
	if err != nil {
		_ = r.Close()
		_ = closeSink()
		return fmt.Errorf("postgres: start %s: %w", p.bins.postgres, err)
	}
	run := &pgRun{cmd: cmd, exited: make(chan struct{}), drained: make(chan struct{})}
	go func() {
		run.waitErr = cmd.Wait()
		close(run.exited)
	}()
	go func() {
		defer close(run.drained)
		pw := &pgPrefixWriter{out: sink, tail: p.tail}
		_, _ = io.Copy(pw, r)
		pw.flush()
		_ = r.Close()
		_ = closeSink()
	}()
	p.run = run
	return nil
}

// waitReady polls until the server is ready and accepts a password login
// over TCP.
func (p *Postgres) waitReady(ctx context.Context) error {
	begin := time.Now()
	limit := pgStartTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit = time.Until(d)
	}
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.pmReady() {
			if _, err := p.Psql(wctx, "postgres", "SELECT 1"); err == nil {
				return nil
			} else if wctx.Err() == nil {
				return fmt.Errorf("postgres on %s accepts connections but not the login: %w", p.addr(), err)
			}
		}
		select {
		case <-p.run.exited:
			p.awaitDrain(time.Second)
			return fmt.Errorf("postgres on %s exited while starting (%v); log tail:\n%s", p.addr(), p.run.waitErr, p.tail.lines(pgTailLines))
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("postgres on %s: waiting for it to accept connections: %w; log tail:\n%s", p.addr(), ctx.Err(), p.tail.lines(pgTailLines))
			}
			return fmt.Errorf("postgres on %s did not accept connections within %s; log tail:\n%s", p.addr(), time.Since(begin).Round(time.Second), p.tail.lines(pgTailLines))
		case <-tick.C:
		}
	}
}

// pmReady reports whether the postmaster has said in postmaster.pid that
// it accepts connections, as pg_ctl checks: its pid on the first line and
// "ready" on the eighth. Asking over the network instead would log a FATAL
// line for every attempt during recovery.
func (p *Postgres) pmReady() bool {
	b, err := os.ReadFile(filepath.Join(p.dataDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	return len(lines) >= 8 &&
		strings.TrimSpace(lines[0]) == strconv.Itoa(p.run.cmd.Process.Pid) &&
		strings.TrimSpace(lines[7]) == "ready"
}

// halt sends sig to the postmaster, waits for it to exit (killing it after
// pgStopTimeout), then waits for its children, killing any that are still
// alive after pgOrphanGrace. Afterwards no process of this server is left.
func (p *Postgres) halt(sig syscall.Signal) error {
	run := p.run
	if run == nil {
		return nil
	}
	pid := run.cmd.Process.Pid
	// Children put themselves in process groups of their own (setsid), so
	// the postmaster's group does not reach them; note who they are while
	// they are still the postmaster's.
	children := pgChildren(pid)
	var errs []error
	if !run.hasExited() {
		_ = run.cmd.Process.Signal(sig)
		select {
		case <-run.exited:
		case <-time.After(pgStopTimeout):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-run.exited
			errs = append(errs, fmt.Errorf("postgres on %s did not exit within %s of %v and was killed", p.addr(), pgStopTimeout, sig))
		}
	}
	if !p.awaitDrain(pgOrphanGrace) {
		for _, c := range children {
			_ = syscall.Kill(-c, syscall.SIGKILL)
			_ = syscall.Kill(c, syscall.SIGKILL)
		}
		if !p.awaitDrain(pgOrphanGrace) {
			errs = append(errs, fmt.Errorf("postgres on %s: processes of the stopped server still hold its log pipe %s after it exited", p.addr(), 2*pgOrphanGrace))
		}
	}
	p.run = nil
	return errors.Join(errs...)
}

// awaitDrain waits up to d for every holder of the log pipe to exit.
func (p *Postgres) awaitDrain(d time.Duration) bool {
	select {
	case <-p.run.drained:
		return true
	case <-time.After(d):
		return false
	}
}

func (r *pgRun) hasExited() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// pgChildren lists the processes whose parent is pid (Linux's /proc; none
// where it is missing).
func pgChildren(pid int) []int {
	var kids []int
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) >= 2 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, c)
		}
	}
	return kids
}

// serverEnv is the environment of initdb and postgres: this process's,
// without PostgreSQL's client settings and locale, in the C locale.
func (p *Postgres) serverEnv() []string {
	env := pgCleanEnv()
	return append(env, "LC_ALL=C")
}

// clientEnv is the environment of psql: the password, and
// none of this process's PostgreSQL settings.
func (p *Postgres) clientEnv() []string {
	return append(pgCleanEnv(), "PGPASSWORD="+p.password, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=5", "LC_ALL=C")
}

func pgCleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=")
	})
}

// pgPickPort returns port, or a free port on 127.0.0.1 when it is 0.
func pgPickPort(port int) (int, error) {
	if port != 0 {
		return port, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(pgHost, "0"))
	if err != nil {
		return 0, fmt.Errorf("postgres: pick a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pgBinaries are the programs of one PostgreSQL version.
type pgBinaries struct {
	postgres, initdb, psql string
}

// pgFindBinaries picks the newest /usr/lib/postgresql/<version>/bin holding
// every program (Debian's layout), else looks them up next to the postgres
// on PATH, else on PATH one by one.
func pgFindBinaries() (pgBinaries, error) {
	names := []string{"postgres", "initdb", "psql"}
	complete := func(dir string) bool {
		for _, n := range names {
			if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	in := func(dir string) pgBinaries {
		return pgBinaries{
			postgres: filepath.Join(dir, "postgres"),
			initdb:   filepath.Join(dir, "initdb"),
			psql:     filepath.Join(dir, "psql"),
		}
	}

	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = slices.DeleteFunc(dirs, func(d string) bool { return !complete(d) })
	if len(dirs) > 0 {
		version := func(d string) []int {
			var v []int
			for _, part := range strings.Split(filepath.Base(filepath.Dir(d)), ".") {
				n, _ := strconv.Atoi(part)
				v = append(v, n)
			}
			return v
		}
		return in(slices.MaxFunc(dirs, func(a, b string) int { return slices.Compare(version(a), version(b)) })), nil
	}

	if exe, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil && complete(filepath.Dir(real)) {
			return in(filepath.Dir(real)), nil
		}
	}
	found := map[string]string{}
	var missing []string
	for _, n := range names {
		exe, err := exec.LookPath(n)
		if err != nil {
			missing = append(missing, n)
			continue
		}
		found[n] = exe
	}
	if len(missing) > 0 {
		return pgBinaries{}, fmt.Errorf("postgres: %s not found in /usr/lib/postgresql/*/bin or on PATH: %w", strings.Join(missing, ", "), ErrNoPostgres)
	}
	return pgBinaries{postgres: found["postgres"], initdb: found["initdb"], psql: found["psql"]}, nil
}

// pgPrefixWriter writes whole lines, each prefixed with pgLinePrefix, to
// out, and keeps them in tail.
type pgPrefixWriter struct {
	out     io.Writer
	tail    *pgTail
	partial []byte
}

func (w *pgPrefixWriter) Write(b []byte) (int, error) {
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.emit(w.partial[:i+1])
		w.partial = w.partial[i+1:]
	}
	return len(b), nil
}

// flush writes a last line that has no newline.
func (w *pgPrefixWriter) flush() {
	if len(w.partial) > 0 {
		w.emit(append(w.partial, '\n'))
		w.partial = nil
	}
}

// emit writes one line; a failing log writer must not stop the copy (the
// server would block on a full pipe), so its errors are dropped.
func (w *pgPrefixWriter) emit(line []byte) {
	w.tail.add(string(line))
	_, _ = w.out.Write(append([]byte(pgLinePrefix), line...))
}

// pgTail keeps the last lines of the log for error messages.
type pgTail struct {
	mu  sync.Mutex
	buf []string
}

func (t *pgTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, line)
	if len(t.buf) > 2*pgTailLines {
		t.buf = slices.Clone(t.buf[len(t.buf)-pgTailLines:])
	}
}

func (t *pgTail) lines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	start := max(0, len(t.buf)-n)
	return strings.Join(t.buf[start:], "")
}

// pgLastLines is the last n lines of b.
func pgLastLines(b []byte, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "")
}
