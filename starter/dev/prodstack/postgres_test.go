package prodstack_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/datasev/datasev/starter/dev/prodstack"
)

// postgresDir is a fresh directory for a server. As root the server runs as
// an unprivileged user, who must be able to enter the test's directories
// (t.TempDir makes them 0700).
func postgresDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// startPostgres starts a server in dir and stops it when the test ends. It
// skips the test when PostgreSQL is not installed, unless
// DATASEV_REQUIRE_POSTGRES=1 (CI) makes that a failure.
func startPostgres(t *testing.T, opts prodstack.PostgresOptions) *prodstack.Postgres {
	t.Helper()
	if opts.Log == nil {
		opts.Log = t.Output()
	}
	pg, err := prodstack.StartPostgres(t.Context(), opts)
	if errors.Is(err, prodstack.ErrNoPostgres) && os.Getenv("DATASEV_REQUIRE_POSTGRES") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pg.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return pg
}

func psql(t *testing.T, pg *prodstack.Postgres, database, script string) string {
	t.Helper()
	out, err := pg.Psql(t.Context(), database, script)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// processGone reports whether pid no longer names a live process.
func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return true
	}
	// A zombie still answers kill; its state in /proc says it is dead.
	stat, rerr := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if rerr != nil {
		return err != nil
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z")
}

func TestPostgresKeepsCommittedRowsThroughCrashKillAndStop(t *testing.T) {
	pg := startPostgres(t, prodstack.PostgresOptions{Dir: postgresDir(t)})
	if pg.Host() != "127.0.0.1" || pg.Port() == 0 || pg.User() != "temporal" || pg.Password() != "temporal" {
		t.Fatalf("server at %s:%d as %s/%s; want 127.0.0.1, a port, temporal/temporal", pg.Host(), pg.Port(), pg.User(), pg.Password())
	}
	psql(t, pg, "postgres", "CREATE DATABASE runbooks")
	psql(t, pg, "runbooks", "CREATE TABLE incidents (id int PRIMARY KEY, note text); INSERT INTO incidents VALUES (1, 'before the crash')")

	rows := func() string { return psql(t, pg, "runbooks", "SELECT id, note FROM incidents ORDER BY id") }
	// bringDown takes the server down one way and starts it again; the
	// postmaster it took down must be gone, and the rows kept.
	bringDown := func(how string, down func() error, want string) {
		t.Helper()
		pid := pg.PID()
		if pid == 0 {
			t.Fatalf("before %s: PID is 0 for a running server", how)
		}
		if err := down(); err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if got := pg.PID(); got != 0 {
			t.Errorf("after %s: PID = %d, want 0", how, got)
		}
		if !processGone(pid) {
			t.Errorf("after %s: postmaster %d is still alive", how, pid)
		}
		if _, err := pg.Psql(t.Context(), "runbooks", "SELECT 1"); err == nil {
			t.Errorf("after %s: the server still answers", how)
		}
		if err := pg.Start(t.Context()); err != nil {
			t.Fatalf("start after %s: %v", how, err)
		}
		if got := rows(); got != want {
			t.Errorf("after %s and start: rows %q, want %q", how, got, want)
		}
	}

	bringDown("crash", pg.Crash, "1|before the crash")
	psql(t, pg, "runbooks", "INSERT INTO incidents VALUES (2, 'before the kill')")
	bringDown("kill", pg.Kill, "1|before the crash\n2|before the kill")
	bringDown("stop", pg.Stop, "1|before the crash\n2|before the kill")

	if err := pg.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := pg.Stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if err := pg.Crash(); err == nil {
		t.Error("crash of a stopped server: no error")
	}
}

func TestPostgresReusesItsDataDirectoryAndChecksThePassword(t *testing.T) {
	dir := postgresDir(t)
	pg := startPostgres(t, prodstack.PostgresOptions{Dir: dir, User: "admin", Password: "s3cret"})
	psql(t, pg, "postgres", "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('first life')")
	port := pg.Port()
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}

	// The data directory was initialised with s3cret; another password is
	// refused, which also shows logins are checked.
	_, err := prodstack.StartPostgres(t.Context(), prodstack.PostgresOptions{Dir: dir, User: "admin", Password: "wrong", Port: port, Log: t.Output()})
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("start with the wrong password: %v; want a password authentication failure", err)
	}

	again := startPostgres(t, prodstack.PostgresOptions{Dir: dir, User: "admin", Password: "s3cret", Port: port})
	if got := psql(t, again, "postgres", "SELECT v FROM kept"); got != "first life" {
		t.Errorf("rows after restarting on the same directory: %q, want %q", got, "first life")
	}
}

func TestStartPostgresNeedsADir(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := prodstack.StartPostgres(ctx, prodstack.PostgresOptions{}); err == nil || !strings.Contains(err.Error(), "Dir is required") {
		t.Errorf("StartPostgres without Dir: %v; want Dir is required", err)
	}
}
