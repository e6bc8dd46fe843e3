package registry

import (
	"slices"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/followup"
)

// names records the names workflows are registered under.
type names struct{ got []string }

func (n *names) RegisterWorkflow(any) { n.got = append(n.got, "(unnamed)") }
func (n *names) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	n.got = append(n.got, o.Name)
}
func (n *names) RegisterDynamicWorkflow(any, workflow.DynamicRegisterOptions) {
	n.got = append(n.got, "(dynamic)")
}

var _ worker.WorkflowRegistry = (*names)(nil)

// Register names the workflows as the starters start them, and a replayer
// takes the registrations (it panics on a function it cannot register).
func TestRegister(t *testing.T) {
	var n names
	Register(&n)
	want := []string{workflows.IncidentWorkflowName, workflows.RunbookWorkflowName, followup.WorkflowName}
	if !slices.Equal(n.got, want) {
		t.Errorf("registered %v, want %v", n.got, want)
	}
	Register(worker.NewWorkflowReplayer())
}
