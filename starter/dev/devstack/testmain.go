package devstack

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

// RunTests is the body of a test package's TestMain for tests that need a
// real Temporal dev server. With -short it runs the tests without one (those
// tests skip themselves). Otherwise it starts a quiet dev server on free
// loopback ports, hands it to setup (which may start workers and returns
// what to undo), runs the tests and stops everything. It returns the exit
// code for os.Exit.
func RunTests(m *testing.M, setup func(*Server) (cleanup func(), err error)) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := Start(ctx, Options{Stdout: io.Discard, Stderr: os.Stderr, Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dev server:", err)
		return 1
	}
	defer srv.Stop()
	if setup != nil {
		undo, err := setup(srv)
		if err != nil {
			fmt.Fprintln(os.Stderr, "test setup:", err)
			return 1
		}
		if undo != nil {
			defer undo()
		}
	}
	return m.Run()
}
