package runbooks

// InputType is the type of an action input, as the runbook author writes it.
type InputType string

// Input types.
const (
	TypeString   InputType = "string"
	TypeInt      InputType = "int"
	TypeNumber   InputType = "number"
	TypeBool     InputType = "bool"
	TypeDuration InputType = "duration" // a string such as "6h"
	TypeList     InputType = "list"
	TypeObject   InputType = "object"
)

// InputSpec describes one input of an action.
type InputSpec struct {
	// Name is the key under `with:`.
	Name string `json:"name"`
	// Type is the input's type.
	Type InputType `json:"type"`
	// Required inputs must be given.
	Required bool `json:"required,omitempty"`
	// Description says what the input means.
	Description string `json:"description,omitempty"`
}

// ActionSpec describes a registered action: what a runbook step may call.
type ActionSpec struct {
	// Name is the action's name, "<system>.<verb>" (e.g. core.http). It is
	// also the Temporal activity type the worker registers, so the event
	// history names the action.
	Name string `json:"name"`
	// Description says what the action does, for `runbooks show` and docs.
	Description string `json:"description"`
	// Inputs lists the accepted inputs; any other key is an error.
	Inputs []InputSpec `json:"inputs"`
	// Outputs names the keys of the action's output, for documentation and
	// for checking expressions that read steps.<id>.output.
	Outputs []string `json:"outputs,omitempty"`
	// DryRun is true when the action can show what it would do without
	// doing it; remediations show that to the approver.
	DryRun bool `json:"dry_run,omitempty"`
	// Changes is true for actions that change the outside world: they may
	// only be used in remediate steps, behind an approval.
	Changes bool `json:"changes,omitempty"`
	// InWorkflow is true for actions the workflow carries out itself
	// rather than as an activity: core.wait (a durable timer) and core.page
	// (a page through the incident, which knows who holds each role now).
	InWorkflow bool `json:"in_workflow,omitempty"`
}

// Input returns the named input's spec.
func (a ActionSpec) Input(name string) (InputSpec, bool) {
	for _, in := range a.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return InputSpec{}, false
}

// Catalog looks up actions by name. The actions registry implements it; the
// validator and the CLI use it.
type Catalog interface {
	// Lookup returns the named action's spec.
	Lookup(name string) (ActionSpec, bool)
	// Specs lists every action, sorted by name.
	Specs() []ActionSpec
}

// ActionRequest is the input of every action activity.
type ActionRequest struct {
	// Incident is the incident's workflow ID, for query tags, branch names
	// and idempotency keys.
	Incident string `json:"incident"`
	// Runbook and Step say which step called the action.
	Runbook string `json:"runbook"`
	Step    string `json:"step"`
	// With are the step's inputs with templates already rendered.
	With map[string]any `json:"with,omitempty"`
	// DryRun asks for what the action would do, without doing it.
	DryRun bool `json:"dry_run,omitempty"`
}

// ActionResult is the output of every action activity.
type ActionResult struct {
	// Output is what later steps read as steps.<id>.output.
	Output map[string]any `json:"output,omitempty"`
	// Summary is one line for humans: the timeline and the approver read it.
	Summary string `json:"summary"`
	// Detail is longer Markdown (a dry run's diff, the rows found). Optional.
	Detail string `json:"detail,omitempty"`
}
