// Package notify holds the notifier activity: pages for people and posts for
// the incident's channel. LogBackend writes each notification to the
// worker's structured log; the Slack (activities/notifiers/slack) and leadership email
// (activities/notifiers/email) backends plug in behind the same Backend interface,
// Fanout delivers to several of them, and Coalescer paces what reaches one
// person or one channel in a storm (a burst, then digests).
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/datasev/datasev/workflows"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// Backend delivers notifications somewhere.
type Backend interface {
	// Name names the backend in results and logs.
	Name() string
	// Deliver sends one notification. An error is retried by Temporal.
	Deliver(ctx context.Context, n workflows.Notification) error
}

// Activities is the notifier activity group.
type Activities struct {
	// Backend delivers the notifications. Required.
	Backend Backend
}

// Register registers a's Notify with r under workflows.NotifyActivity, the
// name the incident workflow calls it by.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.Notify, activity.RegisterOptions{Name: workflows.NotifyActivity})
}

// Notify delivers one notification through the configured backend.
func (a *Activities) Notify(ctx context.Context, n workflows.Notification) (workflows.NotifyResult, error) {
	if a.Backend == nil {
		return workflows.NotifyResult{}, fmt.Errorf("notify: no backend configured")
	}
	if err := a.Backend.Deliver(ctx, n); err != nil {
		return workflows.NotifyResult{}, wrap(fmt.Sprintf("notify %s via %s", n.Kind, a.Backend.Name()), err)
	}
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Debug("notification delivered", "backend", a.Backend.Name(), "kind", n.Kind)
	}
	return workflows.NotifyResult{Backend: a.Backend.Name()}, nil
}

// wrap adds context to a backend's error. Temporal reads only the outermost
// error's type, so an application error (non-retryable, or with a retry
// delay from a rate limit) is rebuilt with the context rather than wrapped.
func wrap(context string, err error) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return fmt.Errorf("%s: %w", context, err)
	}
	return temporal.NewApplicationErrorWithOptions(context+": "+app.Error(), app.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   app.NonRetryable(),
		Cause:          err,
		NextRetryDelay: app.NextRetryDelay(),
	})
}

// LogBackend writes every notification to a structured log. It is the
// default backend: nothing leaves the worker, and the log is the record.
type LogBackend struct {
	// Logger receives the notifications. Required.
	Logger *slog.Logger
}

// Name returns "log".
func (LogBackend) Name() string { return "log" }

// Deliver logs the notification at INFO level.
func (b LogBackend) Deliver(ctx context.Context, n workflows.Notification) error {
	b.Logger.InfoContext(ctx, "notification",
		slog.String("kind", string(n.Kind)),
		slog.String("incident", n.Incident),
		slog.String("severity", n.Severity),
		slog.String("to", n.To),
		slog.String("subject", n.Subject),
		slog.String("body", n.Body),
	)
	return nil
}
