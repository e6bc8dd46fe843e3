package core

import (
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

// WaitName is core.wait's action name.
const WaitName = workflows.ActionWait

// WaitSpec is core.wait's spec: carried out by the workflow as a durable
// timer, with no activity. actions.InWorkflow adds its inputs from
// WaitInput.
func WaitSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name:        WaitName,
		Description: "Wait on a durable timer (it survives worker restarts), e.g. to let a restarted load land before checking it.",
		InWorkflow:  true,
	}
}

// WaitInput is core.wait's inputs. The executor decodes them with
// actions.Decode[core.WaitInput] and sleeps for Duration.
type WaitInput struct {
	Duration runbooks.Duration `json:"duration" datasev:"required" desc:"how long to wait, e.g. 10m"`
}
