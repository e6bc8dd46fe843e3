package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/metrics"
	"github.com/datasev/datasev/worker/service"
)

// stackLogs are the dev stack's log files under its state directory. The
// worker's log holds every notification (pages and posts): with Slack on
// the stand-in, it is the demo's chat as much as the stand-in is.
type stackLogs struct {
	serverPath, workerPath string
	serverFile, workerFile *os.File
	worker                 *slog.Logger // set by startWorker, from the worker's configuration
}

// openLogs opens (appending, 0600) the server's and the worker's logs.
func openLogs(state string) (stackLogs, error) {
	l := stackLogs{serverPath: filepath.Join(state, "dev-server.log"), workerPath: filepath.Join(state, "worker.log")}
	var err error
	if l.serverFile, err = os.OpenFile(l.serverPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return l, fmt.Errorf("server log: %w", err)
	}
	if l.workerFile, err = os.OpenFile(l.workerPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		_ = l.serverFile.Close()
		return l, fmt.Errorf("worker log: %w", err)
	}
	return l, nil
}

func (l stackLogs) close() {
	_ = l.serverFile.Close()
	_ = l.workerFile.Close()
}

// startWorker connects to the dev server with the worker's client settings
// that apply to it (payload encryption, metrics), serves the metrics
// endpoint when DATASEV_METRICS_ADDR asks for one, and starts the worker
// of production (service.New) in this process. The client it dials is the
// one the demo, the intake and the Slack app use too, so every party
// encrypts and decrypts alike.
func (s *stack) startWorker(ctx context.Context) error {
	cfg := s.worker.cfg
	logger := service.NewLogger(s.logs.workerFile, cfg)
	s.logs.worker = logger
	opts := client.Options{
		HostPort: s.srv.HostPort(), Namespace: s.srv.Namespace(),
		DataConverter: cfg.Client.DataConverter, FailureConverter: cfg.Client.FailureConverter,
		Logger: log.NewStructuredLogger(logger),
	}
	var endpoint *metrics.Server
	if cfg.MetricsAddr != "" {
		m, err := metrics.New(logger)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		cfg.Metrics, opts.MetricsHandler = m, m.SDKHandler()
		if endpoint, err = metrics.Listen(cfg.MetricsAddr, m, logger); err != nil {
			return fmt.Errorf("%s: %w", service.EnvMetricsAddr, err)
		}
		s.closers = append(s.closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := errors.Join(endpoint.Close(sctx), m.Shutdown(sctx)); err != nil {
				logger.Warn("metrics endpoint did not close cleanly", slog.Any("error", err))
			}
		})
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := incidents.Dial(dctx, opts)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	s.c = c
	s.closers = append(s.closers, c.Close)
	if endpoint != nil {
		endpoint.SetReady(func(ctx context.Context) error {
			_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		})
	}
	w := service.New(c.Client, cfg, logger) // the SDK's own client, as worker.New requires
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	s.closers = append(s.closers, func() {
		fmt.Fprintln(s.out, "stopping the worker…")
		w.Stop()
	})
	return nil
}
