package prodstack_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/dev/prodstack"
)

// postgresDir is a fresh directory for a server. As root the server runs as
// an unprivileged user, who must be able to enter the test's directories
// (t.TempDir puts them in a 0700 directory).
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

// startPostgres starts a server and stops it when the test ends (see
// skipWithoutPostgres for a machine without PostgreSQL).
func startPostgres(t *testing.T, opts prodstack.PostgresOptions) *prodstack.Postgres {
	t.Helper()
	if opts.Log == nil {
		opts.Log = t.Output()
	}
	pg, err := prodstack.StartPostgres(t.Context(), opts)
	skipWithoutPostgres(t, err)
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

// skipWithoutPostgres skips the test when err says PostgreSQL is not
// installed, unless DATASEV_REQUIRE_POSTGRES=1 (CI), which fails it.
func skipWithoutPostgres(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, prodstack.ErrNoPostgres) {
		return
	}
	if os.Getenv("DATASEV_REQUIRE_POSTGRES") == "1" {
		t.Fatalf("%v (DATASEV_REQUIRE_POSTGRES=1)", err)
	}
	t.Skip(err)
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

// TestPostgresKeepsCommittedRows takes one server down every way there is,
// starts it again each time and reads back what was committed; then starts
// a second server on the same directory, which must reuse the data and the
// password it was initialised with. One data directory serves it all, since
// initdb is the slow part.
func TestPostgresKeepsCommittedRows(t *testing.T) {
	dir := postgresDir(t)
	pg := startPostgres(t, prodstack.PostgresOptions{Dir: dir, User: "admin", Password: "s3cret"})
	if pg.Host() != "127.0.0.1" || pg.Port() == 0 || pg.User() != "admin" || pg.Password() != "s3cret" {
		t.Fatalf("server at %s:%d as %s/%s; want 127.0.0.1, a port, admin/s3cret", pg.Host(), pg.Port(), pg.User(), pg.Password())
	}
	psql(t, pg, "postgres", "CREATE DATABASE runbooks")
	psql(t, pg, "runbooks", "CREATE TABLE incidents (id int PRIMARY KEY, note text); INSERT INTO incidents VALUES (1, 'before the crash')")

	rows := func(pg *prodstack.Postgres) string {
		return psql(t, pg, "runbooks", "SELECT id, note FROM incidents ORDER BY id")
	}
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
		if got := rows(pg); got != want {
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

	// The directory was initialised with s3cret; another password is
	// refused, which also shows that logins are checked.
	_, err := prodstack.StartPostgres(t.Context(), prodstack.PostgresOptions{Dir: dir, User: "admin", Password: "wrong", Port: pg.Port(), Log: t.Output()})
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("start with the wrong password: %v; want a password authentication failure", err)
	}
	again := startPostgres(t, prodstack.PostgresOptions{Dir: dir, User: "admin", Password: "s3cret"})
	if got := rows(again); got != "1|before the crash\n2|before the kill" {
		t.Errorf("rows on a second server on the same directory: %q", got)
	}
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}

	serverOfKilledStarter(t, dir)
}

// TestStartPostgresErrors checks that a failing start says what is wrong.
func TestStartPostgresErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := prodstack.StartPostgres(ctx, prodstack.PostgresOptions{}); err == nil || !strings.Contains(err.Error(), "Dir is required") {
		t.Errorf("StartPostgres without Dir: %v; want Dir is required", err)
	}

	// Something that is not a database in Dir/data: initdb refuses it,
	// and the error shows why.
	dir := postgresDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "notes.txt"), []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := prodstack.StartPostgres(ctx, prodstack.PostgresOptions{Dir: dir, Log: t.Output()})
	skipWithoutPostgres(t, err)
	t.Logf("data directory holding other files: %v", err)
	if err == nil || !strings.Contains(err.Error(), "initdb") || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("StartPostgres on a data directory holding other files: %v; want initdb's complaint", err)
	}

	if os.Geteuid() == 0 {
		// As root the server runs unprivileged and cannot enter a 0700
		// directory of root's.
		locked := filepath.Join(t.TempDir(), "locked")
		if err := os.Mkdir(locked, 0o700); err != nil {
			t.Fatal(err)
		}
		pg, err := prodstack.StartPostgres(ctx, prodstack.PostgresOptions{Dir: filepath.Join(locked, "pg"), Log: t.Output()})
		if err == nil {
			_ = pg.Stop()
		}
		t.Logf("under a 0700 directory: %v", err)
		if err == nil || !strings.Contains(err.Error(), "cannot enter "+locked) {
			t.Errorf("StartPostgres as root under a 0700 directory: %v; want it to name %s", err, locked)
		}
	}
}

// pgHelperEnv names the directory TestPostgresHelperProcess starts a
// server on; without it that test is skipped.
const pgHelperEnv = "DATASEV_PG_HELPER_DIR"

// TestPostgresHelperProcess is not a test: run by
// TestPostgresKeepsCommittedRows in a child process, it starts a server,
// prints the postmaster's pid and waits to be killed.
func TestPostgresHelperProcess(t *testing.T) {
	dir := os.Getenv(pgHelperEnv)
	if dir == "" {
		t.Skip("run by TestPostgresKeepsCommittedRows")
	}
	pg, err := prodstack.StartPostgres(t.Context(), prodstack.PostgresOptions{Dir: dir, User: "admin", Password: "s3cret", Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("pid=%d\n", pg.PID())
	time.Sleep(time.Minute)
	_ = pg.Stop()
}

// serverOfKilledStarter starts a server on dir in a child process, kills
// that process with SIGKILL, which leaves no chance to Stop, and checks the
// server goes too.
func serverOfKilledStarter(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPostgresHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), pgHelperEnv+"="+dir)
	cmd.Stderr = t.Output()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "pid="); ok {
			pid, _ = strconv.Atoi(v)
			break
		}
	}
	_ = cmd.Process.Kill()
	go func() { _, _ = io.Copy(io.Discard, out) }()
	_ = cmd.Wait()
	if pid == 0 {
		t.Fatal("the helper process did not start a server")
	}
	// The bound is generous: the server needs only to notice its parent
	// died and shut down immediately.
	for deadline := time.Now().Add(30 * time.Second); !processGone(pid); {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postmaster %d outlived the process that started it by 30s", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
