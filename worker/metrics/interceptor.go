package metrics

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

// NotifyActivity is the activity type of the notifier.
const NotifyActivity = "Notify"

// OtherKind is the kind label of a notification whose kind is not one of
// notify's kinds, so that a stray value cannot grow the label set.
const OtherKind = "other"

// Interceptor returns the worker interceptor that records the application
// metrics and adds the runbook step to the activity logger. Put it in
// worker.Options.Interceptors.
//
// An activity whose argument is a runbooks.ActionRequest is an action: it is
// counted under its activity type, which is the action's registered name.
// The Notify activity is counted under notifyBackend (the configured
// backend's name, e.g. "log+slack"; "" uses the name the backend reports on
// success) and the notification's kind. Other activities are not counted
// here; the SDK metrics cover them. No label ever carries an incident ID.
func (m *Metrics) Interceptor(notifyBackend string) interceptor.WorkerInterceptor {
	return &workerInterceptor{m: m, backend: notifyBackend}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	m       *Metrics
	backend string
}

func (w *workerInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &activityInbound{w: w}
	a.Next = next
	return a
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	w *workerInterceptor
}

func (a *activityInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	o := &activityOutbound{}
	o.Next = outbound
	return a.Next.Init(o)
}

// logFieldsKey carries the logFields of one activity execution.
type logFieldsKey struct{}

// logFields are what the activity logger adds; the key-value list is built
// only when an activity asks for its logger.
type logFields struct {
	incident, runbook, step string
	dryRun, action          bool
}

func (f *logFields) keyvals() []any {
	if !f.action {
		return []any{"incident", f.incident}
	}
	return []any{"incident", f.incident, "runbook", f.runbook, "step", f.step, "dry_run", f.dryRun}
}

func (a *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	var (
		req    runbooks.ActionRequest
		isReq  bool
		note   workflows.Notification
		isNote bool
	)
	if len(in.Args) > 0 {
		switch v := in.Args[0].(type) {
		case runbooks.ActionRequest:
			req, isReq = v, true
		case *runbooks.ActionRequest:
			if v != nil {
				req, isReq = *v, true
			}
		case workflows.Notification:
			note, isNote = v, true
		case *workflows.Notification:
			if v != nil {
				note, isNote = *v, true
			}
		}
	}
	switch {
	case isReq:
		ctx = context.WithValue(ctx, logFieldsKey{}, &logFields{
			incident: req.Incident, runbook: req.Runbook, step: req.Step, dryRun: req.DryRun, action: true,
		})
	case isNote:
		ctx = context.WithValue(ctx, logFieldsKey{}, &logFields{incident: note.Incident})
	default:
		return a.Next.ExecuteActivity(ctx, in)
	}

	start := time.Now()
	out, err := a.Next.ExecuteActivity(ctx, in)
	if errors.Is(err, activity.ErrResultPending) {
		return out, err // completed later, elsewhere
	}
	info := activity.GetInfo(ctx)
	outcome := classify(info, err)
	switch {
	case isReq:
		if outcome == OutcomeOK && req.DryRun {
			outcome = OutcomeDryRun
		}
		name := info.ActivityType.Name
		a.w.m.actions.WithLabelValues(name, outcome).Inc()
		a.w.m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	case isNote && info.ActivityType.Name == NotifyActivity:
		backend := a.w.backend
		if backend == "" {
			if r, ok := out.(workflows.NotifyResult); ok && r.Backend != "" {
				backend = r.Backend
			} else {
				backend = "unknown"
			}
		}
		a.w.m.notifications.WithLabelValues(backend, kindLabel(note.Kind), outcome).Inc()
	}
	return out, err
}

// classify maps an activity's error to an outcome label.
func classify(info activity.Info, err error) string {
	if err == nil {
		return OutcomeOK
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return OutcomeFailed
	}
	if p := info.RetryPolicy; p != nil {
		if p.MaximumAttempts > 0 && info.Attempt >= p.MaximumAttempts {
			return OutcomeFailed
		}
		if app != nil {
			for _, t := range p.NonRetryableErrorTypes {
				if t == app.Type() {
					return OutcomeFailed
				}
			}
		}
	}
	return OutcomeError
}

// kindLabel bounds the kind label to notify's kinds.
func kindLabel(k workflows.NotifyKind) string {
	switch k {
	case workflows.NotifyPage, workflows.NotifyPost, workflows.NotifyHandoffSummary, workflows.NotifyStatusUpdate:
		return string(k)
	}
	return OtherKind
}

// activityOutbound adds the step's fields to the activity logger. The SDK's
// logger already carries Namespace, TaskQueue, WorkerID, WorkflowType,
// WorkflowID, RunID, ActivityID, ActivityType and Attempt.
type activityOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (o *activityOutbound) GetLogger(ctx context.Context) log.Logger {
	l := o.Next.GetLogger(ctx)
	if f, ok := ctx.Value(logFieldsKey{}).(*logFields); ok {
		return log.With(l, f.keyvals()...)
	}
	return l
}
