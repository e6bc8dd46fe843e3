package cli

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	s3act "github.com/datasev/datasev/activities/s3"
	"github.com/datasev/datasev/activities/snowflake"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
)

// startWorker runs the datasev worker (worker/service, the same one the
// worker binary runs) in this process until the returned stop is called.
// s3cfg and sfcfg configure its s3.* and snowflake.* actions (zero: the
// defaults, and no Snowflake).
func startWorker(_ context.Context, c client.Client, _ *env, logger *slog.Logger, s3cfg s3act.Config, sfcfg snowflake.Config) (func(), error) {
	w := service.New(c, service.Config{TaskQueue: workflows.TaskQueue, StopTimeout: 5 * time.Second, S3: s3cfg, Snowflake: sfcfg}, logger)
	if err := w.Start(); err != nil {
		return nil, err
	}
	return w.Stop, nil
}
