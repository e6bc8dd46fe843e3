package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// Incident is the incident workflow. (Being written; signature is final.)
func Incident(ctx workflow.Context, in IncidentInput) (Snapshot, error) {
	return Snapshot{}, nil
}
