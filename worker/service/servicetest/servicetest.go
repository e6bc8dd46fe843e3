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

	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
)

// Targets is the target policy Start gives a worker whose cfg has none:
// any repository, base branch, DAG, bucket, database, host and manifest
// source, and the loopback addresses the stand-ins listen on — a test's
// stand-ins, not production, are what the worker can reach.
func Targets() *target.Policy {
	p, err := target.Parse(map[string]string{
		target.KeyGitHubRepositories: "*",
		target.KeyGitHubBaseBranches: "*",
		target.KeyAirflowDAGs:        "*",
		target.KeyS3Buckets:          "*",
		target.KeySnowflakeDatabases: "*",
		target.KeyHTTPHosts:          "*",
		target.KeyHTTPAllowAddresses: "127.0.0.0/8, ::1",
		target.KeyLineagePaths:       "/",
		target.KeyLineageS3:          "*",
		target.KeyLineageGitHub:      "*",
	})
	if err != nil {
		panic(err)
	}
	return p
}

// Start starts a worker on c with cfg, defaulting the task queue to
// workflows.TaskQueue, the stop timeout to 2s, the logger to a discarding
// one, the target policy to Targets(), and the postmortem and incident
// document directories to a fresh scratch directory. stop stops the
// worker and removes the directory.
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
	if cfg.Targets == nil {
		cfg.Targets = Targets()
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
