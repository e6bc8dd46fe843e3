package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/datasev/datasev/starter/dev/devstack"
)

// runState is a dev command's state directory and its log file: dir as
// given (made if missing), or a new temporary one; the log is appended to.
// done closes the log and removes a temporary directory unless keep is set.
func runState(cmd, dir, logName string, keep bool) (state string, logf *os.File, done func(), err error) {
	temp := dir == ""
	if temp {
		if dir, err = os.MkdirTemp("", "datasev-"+cmd+"-"); err != nil {
			return "", nil, nil, fmt.Errorf("%s: state directory: %w", cmd, err)
		}
	} else if err = os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, nil, fmt.Errorf("%s: state directory: %w", cmd, err)
	}
	logf, err = os.OpenFile(filepath.Join(dir, logName), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		if temp {
			_ = os.RemoveAll(dir)
		}
		return "", nil, nil, fmt.Errorf("%s: log file: %w", cmd, err)
	}
	return dir, logf, func() {
		_ = logf.Close()
		if temp && !keep {
			_ = os.RemoveAll(dir)
		}
	}, nil
}

// quietDevServer starts an in-memory dev server for a dev command, within
// ten minutes (a first run builds the CLI), its output and its client's
// errors going to log and a progress line to progress.
func quietDevServer(ctx context.Context, cmd string, log, progress io.Writer, dynamicConfig []string) (*devstack.Server, error) {
	fmt.Fprintf(progress, "%s: starting an in-memory Temporal dev server…\n", cmd)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	srv, err := devstack.Start(sctx, devstack.Options{
		DynamicConfig: dynamicConfig, Stdout: io.Discard, Stderr: log,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: dev server: %w", cmd, err)
	}
	return srv, nil
}
