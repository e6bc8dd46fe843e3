// Package servicetest starts datasev workers for tests that run incidents
// on a real Temporal server: the worker of production (service.New), with
// the files it writes (incident documents, postmortems) kept in a scratch
// directory rather than the test package's.
package servicetest

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
)

// Start starts a worker on c with cfg, defaulting the task queue to
// workflows.TaskQueue, the stop timeout to 2s, the logger to a discarding
// one, and the postmortem and incident document directories to a fresh
// scratch directory. stop stops the worker and removes the directory.
func Start(c client.Client, cfg service.Config, logger *slog.Logger) (stop func(), err error) {
	scratch, err := os.MkdirTemp("", "datasev-worker-")
	if err != nil {
		return nil, fmt.Errorf("worker scratch directory: %w", err)
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.TaskQueue
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 2 * time.Second
	}
	if cfg.Postmortem.Dir == "" {
		cfg.Postmortem.Dir = filepath.Join(scratch, "postmortems")
	}
	if cfg.IncidentDoc.Dir == "" {
		cfg.IncidentDoc.Dir = filepath.Join(scratch, "incidents")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := service.New(c, cfg, logger)
	if err := w.Start(); err != nil {
		os.RemoveAll(scratch)
		return nil, fmt.Errorf("worker: %w", err)
	}
	return func() {
		w.Stop()
		os.RemoveAll(scratch)
	}, nil
}
