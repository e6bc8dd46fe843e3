package metrics_test

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/worker/metrics"
)

// Wiring a worker: the client reports the SDK metrics, the interceptor
// records the application metrics, and the endpoint serves both.
func Example() {
	logger := slog.Default()
	m, err := metrics.New(logger)
	if err != nil {
		panic(err)
	}
	c, err := client.Dial(client.Options{HostPort: "127.0.0.1:7233", MetricsHandler: m.SDKHandler()})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	w := worker.New(c, "datasev", worker.Options{
		Interceptors: []interceptor.WorkerInterceptor{m.Interceptor("log")},
	})
	srv, err := metrics.Listen("127.0.0.1:9464", m, logger)
	if err != nil {
		panic(err)
	}
	defer srv.Close(context.Background())
	_ = w.Run(worker.InterruptCh())
}
