package incidents

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/datasev/datasev/workflows"
)

// RejectedError is an act the incident workflow refused: its validator (for
// an Update) or its handler said no. Message is the workflow's own sentence,
// for example "only the Commander (alice) can approve".
type RejectedError struct {
	Message string
}

func (e *RejectedError) Error() string { return e.Message }

// NotFoundError says no incident workflow has this ID.
type NotFoundError struct {
	WorkflowID string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("no incident %q", e.WorkflowID) }

// ClosedError says the incident's workflow has completed, so it takes no
// more acts. A late act from chat on a closed incident ends here.
type ClosedError struct {
	WorkflowID string
	// ClosedAt is when the workflow closed; zero when unknown.
	ClosedAt time.Time
}

func (e *ClosedError) Error() string {
	if e.ClosedAt.IsZero() {
		return fmt.Sprintf("incident %q is closed; acts are refused", e.WorkflowID)
	}
	return fmt.Sprintf("incident %q is closed; acts are refused (closed at %s)", e.WorkflowID, e.ClosedAt.UTC().Format(time.RFC3339))
}

// UnreachableError says the Temporal frontend could not be reached.
type UnreachableError struct {
	Address string
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach Temporal at %s: %v", e.Address, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// NoAnswerError says the incident did not answer before the caller's
// deadline: usually no worker is polling the task queue. An Update sent this
// way may still be applied when a worker picks it up.
type NoAnswerError struct {
	WorkflowID string
	Err        error
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("incident %q did not answer in time; is a datasev worker polling task queue %q? (an act may still apply once one does)", e.WorkflowID, workflows.TaskQueue)
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// UnknownActError is an act name the workflow does not have.
type UnknownActError struct {
	Name string
}

func (e *UnknownActError) Error() string {
	return fmt.Sprintf("unknown act %q; valid acts: %s", e.Name, strings.Join(validActs(), ", "))
}

func validActs() []string {
	out := make([]string, len(actNames))
	copy(out, actNames)
	return out
}

// errKind classifies an error returned by the Temporal client.
type errKind int

const (
	kindOther errKind = iota
	kindRejected
	kindNotFound
	kindCompleted
	kindUnreachable
	kindNoAnswer
)

// completedMessage is how the server words "workflow already closed" in the
// NotFound it returns to an Update or Signal.
const completedMessage = "workflow execution already completed"

// classify sorts an error from an Update, Signal, Query or Describe call.
func classify(err error) errKind {
	if err == nil {
		return kindOther
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return kindRejected
	}
	var qf *serviceerror.QueryFailed
	if errors.As(err, &qf) {
		return kindRejected
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		if strings.Contains(nf.Error(), completedMessage) {
			return kindCompleted
		}
		return kindNotFound
	}
	var unavailable *serviceerror.Unavailable
	if errors.As(err, &unavailable) {
		return kindUnreachable
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) || errors.Is(err, context.Canceled) {
		return kindOther
	}
	var dl *serviceerror.DeadlineExceeded
	var ut *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if errors.As(err, &dl) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ut) {
		return kindNoAnswer
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.DeadlineExceeded {
		return kindNoAnswer
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.Unavailable {
		return kindUnreachable
	}
	if strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "failed to reach server") {
		return kindUnreachable
	}
	return kindOther
}

// rejectionMessage returns the workflow's own words for a rejection.
func rejectionMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var qf *serviceerror.QueryFailed
	if errors.As(err, &qf) {
		return qf.Message
	}
	return err.Error()
}

// mapError turns a client error into one of the typed errors above. lookup
// is asked, for a NotFound, whether a closed run exists and when it closed.
func mapError(err error, workflowID, address string, lookup func() (closedAt time.Time, closed bool)) error {
	switch classify(err) {
	case kindRejected:
		return &RejectedError{Message: rejectionMessage(err)}
	case kindCompleted:
		var at time.Time
		if lookup != nil {
			at, _ = lookup()
		}
		return &ClosedError{WorkflowID: workflowID, ClosedAt: at}
	case kindNotFound:
		if lookup != nil {
			if at, closed := lookup(); closed {
				return &ClosedError{WorkflowID: workflowID, ClosedAt: at}
			}
		}
		return &NotFoundError{WorkflowID: workflowID}
	case kindUnreachable:
		return &UnreachableError{Address: address, Err: err}
	case kindNoAnswer:
		if workflowID != "" {
			return &NoAnswerError{WorkflowID: workflowID, Err: err}
		}
	}
	return err
}

// mapQueryError is mapError for a query sent with ctx, which it needs to
// read one more shape: a Canceled status. The server sends one when it
// stops waiting for the workflow's answer (no worker took the query before
// the deadline; seen under load instead of DeadlineExceeded), and gRPC
// makes the same status, "context canceled", when the caller cancels its
// own context. Only ctx tells them apart: canceled by the caller, the error
// passes through as the caller's cancel; otherwise (the caller's deadline
// passed, or the caller was still waiting) the incident did not answer.
func mapQueryError(ctx context.Context, err error, workflowID, address string) error {
	if workflowID != "" && isCanceledStatus(err) && !errors.Is(ctx.Err(), context.Canceled) {
		return &NoAnswerError{WorkflowID: workflowID, Err: err}
	}
	return mapError(err, workflowID, address, nil)
}

// isCanceledStatus says whether err is a gRPC Canceled status, as the SDK
// returns it (serviceerror.Canceled) or as gRPC does.
func isCanceledStatus(err error) bool {
	var c *serviceerror.Canceled
	if errors.As(err, &c) {
		return true
	}
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.Canceled
}

// addresser is implemented by clients from Dial, which remember where they
// connect to so that errors can say it.
type addresser interface{ HostPort() string }

func addressOf(c client.Client) string {
	if a, ok := c.(addresser); ok && a.HostPort() != "" {
		return a.HostPort()
	}
	return "the configured address"
}
