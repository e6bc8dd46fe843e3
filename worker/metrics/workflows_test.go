package metrics_test

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/runbooks"
)

func workflowRegisterOptions(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}

// retryTwice runs test.check with a retryable error under a policy of two
// attempts.
func retryTwice(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 2, InitialInterval: time.Millisecond},
	})
	return workflow.ExecuteActivity(ctx, "test.check", runbooks.ActionRequest{Incident: "incident-r", Step: "error"}).Get(ctx, nil)
}
