package core

import (
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

// PageName is core.page's action name: the runbook workflow carries it
// out itself (workflows.ActionPage), through the incident.
const PageName = workflows.ActionPage

// PageSpec is core.page's spec; actions.InWorkflow adds its inputs from
// PageInput.
func PageSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: PageName,
		Description: "Page a person, or whoever holds a role in the incident now, through the incident's notifier. " +
			"Give either to (a roster ID) or role. The workflow carries it out: only the incident knows who holds each role.",
		InWorkflow: true,
	}
}

// PageInput is core.page's inputs: to or role, and the message.
type PageInput struct {
	To      string `json:"to" desc:"roster ID of the person to page (or give role)"`
	Role    string `json:"role" desc:"role whose holder is paged: commander, secondary, scribe, liaison or sme (or give to)"`
	Message string `json:"message" datasev:"required" desc:"one line: what the person should do"`
	Detail  string `json:"detail" desc:"Markdown detail sent with the page"`
}
