// Package registry registers datasev's workflows, under the names the
// starters start them by, on anything that takes workflow registrations: a
// worker, or a replayer checking that new code still replays the
// histories of old runs. One list, so that what is replayed before an
// upgrade is what the worker will run after it.
package registry

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/followup"
	"github.com/datasev/datasev/workflows/incident"
	"github.com/datasev/datasev/workflows/runbook"
)

// Register registers every datasev workflow on r: the incident
// (workflows.IncidentWorkflowName), its runbook
// (workflows.RunbookWorkflowName) and the follow-up of a closed incident's
// action items (followup.WorkflowName). worker.Worker and
// worker.WorkflowReplayer both take it.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(incident.IncidentWorkflow, workflow.RegisterOptions{Name: workflows.IncidentWorkflowName})
	r.RegisterWorkflowWithOptions(runbook.RunbookWorkflow, workflow.RegisterOptions{Name: workflows.RunbookWorkflowName})
	r.RegisterWorkflowWithOptions(followup.Workflow, workflow.RegisterOptions{Name: followup.WorkflowName})
}
