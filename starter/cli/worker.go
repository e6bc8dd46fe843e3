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
func startWorker(_ context.Context, c client.Client, _ *env, logger *slog.Logger) (func(), error) {
	w := service.New(c, service.Config{TaskQueue: workflows.TaskQueue, StopTimeout: 5 * time.Second}, logger)
	if err := w.Start(); err != nil {
		return nil, err
	}
	return w.Stop, nil
}
