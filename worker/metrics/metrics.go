// Package metrics exports the worker's metrics for Prometheus: the Temporal
// SDK's own metrics (workflow and activity task latency and failures,
// pollers, sticky cache) through the SDK's OpenTelemetry integration, and
// datasev's application metrics (action executions and durations,
// notifications) recorded by a worker interceptor, all in one registry served
// as GET /metrics.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metric names of the application metrics.
const (
	// ActionExecutions counts action activity executions by action and
	// outcome.
	ActionExecutions = "datasev_action_executions_total"
	// ActionDuration is the histogram of action execution time by action.
	ActionDuration = "datasev_action_duration_seconds"
	// Notifications counts notifier deliveries by backend, kind and outcome.
	Notifications = "datasev_notifications_total"
)

// Outcomes of an action execution or a notification: the label values of
// the outcome label.
const (
	// OutcomeOK is a success.
	OutcomeOK = "ok"
	// OutcomeDryRun is a successful dry run (actions only).
	OutcomeDryRun = "dry_run"
	// OutcomeFailed is a failure that Temporal will not retry: a
	// non-retryable error (bad input, not found, auth) or the last attempt
	// the retry policy allows.
	OutcomeFailed = "failed"
	// OutcomeError is an error that Temporal will retry: throttling, 5xx,
	// network, timeouts, cancellation.
	OutcomeError = "error"
)

// SecondsBuckets are the histogram bounds, in seconds, of every latency
// histogram: the SDK's timers and the action durations.
var SecondsBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// Metrics is the worker's metrics registry. Build it once with New, pass
// SDKHandler to the Temporal client options, Interceptor to the worker
// options, and serve Handler.
type Metrics struct {
	registry      *prometheus.Registry
	provider      *sdkmetric.MeterProvider
	sdk           client.MetricsHandler
	actions       *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	notifications *prometheus.CounterVec
	incidents     *incidentMetrics // the incident record (incidents.go)
}

// New builds the registry: the Go runtime and process collectors, the
// Temporal SDK metrics handler and the application metrics. logger receives
// the rare errors of creating an SDK instrument; nil discards them.
func New(logger *slog.Logger) (*Metrics, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("metrics: go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("metrics: process collector: %w", err)
	}
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("metrics: OpenTelemetry Prometheus exporter: %w", err)
	}
	// The SDK's timers are histograms in seconds; OpenTelemetry's default
	// bounds are meant for milliseconds.
	secs := sdkmetric.NewView(
		sdkmetric.Instrument{Name: "*", Kind: sdkmetric.InstrumentKindHistogram},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: SecondsBuckets}},
	)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(secs))
	m := &Metrics{
		registry: reg,
		provider: provider,
		sdk: temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter: provider.Meter("go.temporal.io/sdk"),
			// Counters are monotonic so that Prometheus sees counters
			// (with _total) that rate() works on, not gauges.
			UseMonotonicCounters: true,
			OnError: func(err error) {
				logger.Warn("temporal SDK metric not exported", slog.Any("error", err))
			},
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ActionExecutions,
			Help: "Runbook action activity executions (attempts) by action and outcome (ok, dry_run, failed, error).",
		}, []string{"action", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    ActionDuration,
			Help:    "Runbook action activity execution time, every outcome, by action.",
			Buckets: SecondsBuckets,
		}, []string{"action"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: Notifications,
			Help: "Notifier deliveries (attempts) by backend, kind and outcome (ok, failed, error).",
		}, []string{"backend", "kind", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.actions, m.duration, m.notifications} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	if m.incidents, err = newIncidentMetrics(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// SDKHandler is the Temporal SDK metrics handler to set as
// client.Options.MetricsHandler; the workers of that client report through
// it.
func (m *Metrics) SDKHandler() client.MetricsHandler { return m.sdk }

// Registry is the Prometheus registry holding every metric.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Shutdown stops the OpenTelemetry meter provider. The SDK metrics stop
// updating; call it after the worker has stopped.
func (m *Metrics) Shutdown(ctx context.Context) error {
	if err := m.provider.Shutdown(ctx); err != nil && !errors.Is(err, sdkmetric.ErrReaderShutdown) {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	return nil
}

// Metric names of the notifier's pacing (activities/lifecycle/notify's
// Coalescer).
const (
	// NotifyPaced counts the paced pages and posts by outcome: direct
	// (delivered on their own) or held (gathered into a digest or batch).
	NotifyPaced = "datasev_notify_paced_total"
	// NotifyDigests counts the digests and batches delivered.
	NotifyDigests = "datasev_notify_digests_total"
)

// PacingStats are the pacing's counters since the worker started.
type PacingStats struct {
	Direct, Held, Digests int64
}

// RegisterPacing exports the notifier pacing's counters, read from stats
// at each scrape. It fails when they are registered already.
func (m *Metrics) RegisterPacing(stats func() PacingStats) error {
	help := "Paced notifications (pages per person, posts per channel) by outcome: direct (delivered on their own) or held (gathered into a digest)."
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: NotifyPaced, Help: help, ConstLabels: prometheus.Labels{"outcome": "direct"}},
			func() float64 { return float64(stats().Direct) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: NotifyPaced, Help: help, ConstLabels: prometheus.Labels{"outcome": "held"}},
			func() float64 { return float64(stats().Held) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: NotifyDigests, Help: "Digests and batches delivered, each standing for several held notifications."},
			func() float64 { return float64(stats().Digests) }),
	} {
		if err := m.registry.Register(c); err != nil {
			return fmt.Errorf("metrics: register pacing: %w", err)
		}
	}
	return nil
}
