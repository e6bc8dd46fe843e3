package actions

import (
	"context"

	"github.com/datasev/datasev/activities/actions/heartbeat"
	"github.com/datasev/datasev/runbooks"
)

// keepAlive wraps an action's activity so it heartbeats while it runs
// (heartbeat.Run): with the step's heartbeat timeout (the runbook
// workflow's default when the step sets none), a worker that dies
// mid-action is noticed within that timeout and the action is retried on
// another worker, instead of after the step's whole timeout. Actions that
// record progress of their own do it with heartbeat.Record, which the
// keep-alive re-sends.
func keepAlive(fn ActionFunc) ActionFunc {
	return func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		return heartbeat.Run(ctx, func(ctx context.Context) (runbooks.ActionResult, error) {
			return fn(ctx, req)
		})
	}
}
