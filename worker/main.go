// Command worker runs the datasev Temporal worker. It is configured from the
// environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS* and profiles as for the Temporal CLI, plus
// DATASEV_TASK_QUEUE, DATASEV_LOG_FORMAT (text|json) and DATASEV_LOG_LEVEL.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/datasev/datasev/worker/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := service.Run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "datasev worker:", err)
		stop()
		os.Exit(1)
	}
}
