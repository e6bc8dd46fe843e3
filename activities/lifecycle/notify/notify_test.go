package notify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows"
	"go.temporal.io/sdk/temporal"
)

type failing struct{ err error }

func (failing) Name() string                                            { return "failing" }
func (f failing) Deliver(context.Context, workflows.Notification) error { return f.err }

// A backend's application error keeps its type, retryability and retry delay
// through Notify: Temporal reads only the outermost error.
func TestNotifyKeepsApplicationErrors(t *testing.T) {
	n := workflows.Notification{Kind: workflows.NotifyPage, To: "alice", Subject: "s"}
	rate := temporal.NewApplicationErrorWithOptions("slack rate limited", "SlackRateLimited",
		temporal.ApplicationErrorOptions{NextRetryDelay: 7 * time.Second})
	refused := temporal.NewNonRetryableApplicationError("slack: invalid_auth", "SlackAuth", nil)
	for _, tc := range []struct {
		name      string
		err       error
		typ       string
		nonRetry  bool
		nextDelay time.Duration
	}{
		{"rate limited", rate, "SlackRateLimited", false, 7 * time.Second},
		{"refused", refused, "SlackAuth", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (&Activities{Backend: failing{tc.err}}).Notify(t.Context(), n)
			app, ok := err.(*temporal.ApplicationError)
			if !ok {
				t.Fatalf("error %T %v: want an *ApplicationError at the top", err, err)
			}
			if app.Type() != tc.typ || app.NonRetryable() != tc.nonRetry || app.NextRetryDelay() != tc.nextDelay {
				t.Errorf("got type %q non-retryable %v delay %s; want %q %v %s", app.Type(), app.NonRetryable(), app.NextRetryDelay(), tc.typ, tc.nonRetry, tc.nextDelay)
			}
			if want := "notify page via failing: "; len(app.Error()) < len(want) || app.Error()[:len(want)] != want {
				t.Errorf("message %q lacks the context", app.Error())
			}
			if !errors.Is(err, tc.err) {
				t.Error("the backend's error is not the cause")
			}
		})
	}
	_, err := (&Activities{Backend: failing{errors.New("boom")}}).Notify(t.Context(), n)
	if _, ok := err.(*temporal.ApplicationError); ok || err == nil || err.Error() != "notify page via failing: boom" {
		t.Errorf("plain error: %v", err)
	}
}
