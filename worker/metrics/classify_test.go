package metrics

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

func TestClassify(t *testing.T) {
	twice := &temporal.RetryPolicy{MaximumAttempts: 2, NonRetryableErrorTypes: []string{"BadInput"}}
	for _, c := range []struct {
		name string
		info activity.Info
		err  error
		want string
	}{
		{"nil", activity.Info{Attempt: 1}, nil, OutcomeOK},
		{"non-retryable", activity.Info{Attempt: 1}, temporal.NewNonRetryableApplicationError("no table", "NotFound", nil), OutcomeFailed},
		{"wrapped non-retryable", activity.Info{Attempt: 1}, fmt.Errorf("step: %w", temporal.NewNonRetryableApplicationError("no table", "NotFound", nil)), OutcomeFailed},
		{"retryable", activity.Info{Attempt: 1, RetryPolicy: twice}, temporal.NewApplicationError("503", "Unavailable"), OutcomeError},
		{"plain", activity.Info{Attempt: 1}, errors.New("reset"), OutcomeError},
		{"last attempt", activity.Info{Attempt: 2, RetryPolicy: twice}, errors.New("reset"), OutcomeFailed},
		{"unlimited attempts", activity.Info{Attempt: 50, RetryPolicy: &temporal.RetryPolicy{}}, errors.New("reset"), OutcomeError},
		{"policy's non-retryable type", activity.Info{Attempt: 1, RetryPolicy: twice}, temporal.NewApplicationError("bad", "BadInput"), OutcomeFailed},
	} {
		if got := classify(c.info, c.err); got != c.want {
			t.Errorf("%s: classify = %q, want %q", c.name, got, c.want)
		}
	}
}
