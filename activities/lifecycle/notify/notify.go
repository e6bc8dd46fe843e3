// Package notify holds the notifier activity: pages for people and posts for
// the incident's channel. LogBackend writes each notification to the
// worker's structured log; the Slack (activities/notifiers/slack) and leadership email
// (activities/notifiers/email) backends plug in behind the same Backend interface,
// and Fanout delivers to several of them.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Kind says what a notification is for.
type Kind string

// Notification kinds.
const (
	// Page asks one person to act (acknowledge, accept a handoff, approve).
	Page Kind = "page"
	// Post tells the incident's channel what happened.
	Post Kind = "post"
	// HandoffSummary is the summary posted before a Commander's shift ends.
	HandoffSummary Kind = "handoff"
	// StatusUpdate is the Liaison's scheduled update at the severity's cadence.
	StatusUpdate Kind = "status_update"
)

// Notification is one page or post. It carries roster IDs, never contact
// secrets; backends resolve people to addresses from their own config.
type Notification struct {
	// Kind says what it is for.
	Kind Kind `json:"kind"`
	// Incident is the incident's workflow ID.
	Incident string `json:"incident"`
	// Severity is the incident's severity when it was sent.
	Severity string `json:"severity"`
	// To is the roster person paged; empty for a channel post.
	To string `json:"to,omitempty"`
	// Subject is a one-line summary.
	Subject string `json:"subject"`
	// Body is Markdown detail. Optional.
	Body string `json:"body,omitempty"`
	// Approval, on a page asking for a decision, names the pending approval,
	// so a chat backend can offer Approve and Deny buttons. Optional.
	Approval *ApprovalRef `json:"approval,omitempty"`
}

// ApprovalRef names a pending approval of an incident.
type ApprovalRef struct {
	// ID is the approval's ID, as the approve and deny acts name it.
	ID string `json:"id"`
	// Action is what will run when it is approved (e.g. github.revert_commit).
	Action string `json:"action"`
	// Approver is the role that decides (e.g. commander).
	Approver string `json:"approver"`
	// Deadline is when the approval times out.
	Deadline time.Time `json:"deadline"`
}

// Summary is the one-line human summary shown on the activity in the
// Temporal UI.
func (n Notification) Summary() string {
	if n.To != "" {
		return fmt.Sprintf("%s %s: %s", n.Kind, n.To, n.Subject)
	}
	return fmt.Sprintf("%s: %s", n.Kind, n.Subject)
}

// Result says where a notification went.
type Result struct {
	// Backend names the backend that delivered it.
	Backend string `json:"backend"`
}

// Backend delivers notifications somewhere.
type Backend interface {
	// Name names the backend in results and logs.
	Name() string
	// Deliver sends one notification. An error is retried by Temporal.
	Deliver(ctx context.Context, n Notification) error
}

// Activities is the notifier activity group.
type Activities struct {
	// Backend delivers the notifications. Required.
	Backend Backend
}

// Notify delivers one notification through the configured backend.
func (a *Activities) Notify(ctx context.Context, n Notification) (Result, error) {
	if a.Backend == nil {
		return Result{}, fmt.Errorf("notify: no backend configured")
	}
	if err := a.Backend.Deliver(ctx, n); err != nil {
		return Result{}, wrap(fmt.Sprintf("notify %s via %s", n.Kind, a.Backend.Name()), err)
	}
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Debug("notification delivered", "backend", a.Backend.Name(), "kind", n.Kind)
	}
	return Result{Backend: a.Backend.Name()}, nil
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
func (b LogBackend) Deliver(ctx context.Context, n Notification) error {
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
