package cli

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
)

// startWorker runs the datasev worker (worker/service, the same one the
// worker binary runs) in this process until the returned stop is called.
// integrations configures its actions (S3, Snowflake, GitHub, Airflow;
// zero: the defaults, nothing else); its task queue and stop timeout are
// set here.
func startWorker(_ context.Context, c client.Client, _ *env, logger *slog.Logger, integrations service.Config) (func(), error) {
	cfg := integrations
	cfg.TaskQueue, cfg.StopTimeout = workflows.TaskQueue, 5*time.Second
	w := service.New(c, cfg, logger)
	if err := w.Start(); err != nil {
		return nil, err
	}
	return w.Stop, nil
}
