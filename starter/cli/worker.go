package cli

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/notify"
	"github.com/datasev/datasev/workflows"
)

// startWorker runs the datasev worker in this process until the returned
// stop is called. (Interim: registers the workflow and notifier directly
// until worker/service lands.)
func startWorker(_ context.Context, c client.Client, _ *env, logger *slog.Logger) (func(), error) {
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Incident, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	w.RegisterActivity(&notify.Activities{Backend: notify.LogBackend{Logger: logger}})
	if err := w.Start(); err != nil {
		return nil, err
	}
	return w.Stop, nil
}
