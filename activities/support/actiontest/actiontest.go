// Package actiontest holds the assertions the integration packages' tests
// share about the errors their actions return: Temporal decides whether to
// retry an activity from its error alone, so every action's error contract
// (non-retryable with a type and a clear message, or retryable, perhaps
// after a delay the service asked for) is checked the same way.
package actiontest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

// NonRetryable checks that err is a non-retryable application error of
// type typ whose message says each of says, and returns it.
func NonRetryable(t testing.TB, err error, typ string, says ...string) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("want a non-retryable application error of type %q, got %v", typ, err)
	}
	if !appErr.NonRetryable() || appErr.Type() != typ {
		t.Errorf("error %v: non-retryable %v, type %q; want non-retryable, type %q", err, appErr.NonRetryable(), appErr.Type(), typ)
	}
	says1(t, err, says)
	return appErr
}

// Retryable checks that Temporal would retry err and that its message
// says each of says. It returns the application error, or nil when err is
// a plain error (which Temporal retries too).
func Retryable(t testing.TB, err error, says ...string) *temporal.ApplicationError {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Fatalf("error %v is non-retryable; want it retried", err)
	}
	says1(t, err, says)
	if appErr == nil {
		return nil
	}
	return appErr
}

// RetryDelay checks that err is retryable and asks Temporal to wait delay
// before the next attempt (0: no delay asked, the retry policy's).
func RetryDelay(t testing.TB, err error, delay time.Duration) {
	t.Helper()
	appErr := Retryable(t, err)
	switch {
	case appErr != nil && appErr.NextRetryDelay() != delay:
		t.Errorf("next retry delay %s, want %s (%v)", appErr.NextRetryDelay(), delay, err)
	case appErr == nil && delay != 0:
		t.Errorf("want an application error with next retry delay %s, got %v", delay, err)
	}
}

func says1(t testing.TB, err error, says []string) {
	t.Helper()
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}
