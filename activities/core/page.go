package core

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/notify"
	"github.com/datasev/datasev/runbooks"
)

// PageName is core.page's action name.
const PageName = "core.page"

// NoPersonType is the error type when core.page runs with no person to page.
const NoPersonType = "NoPerson"

// PageSpec is core.page's spec; actions.Typed adds its inputs from
// PageInput.
func PageSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: PageName,
		Description: "Page a person, or whoever holds a role in the incident, through the notifier. " +
			"Give either to (a roster ID) or role; the runbook executor resolves role to its holder.",
		Outputs: []string{"delivered_to", "role", "backend"},
		DryRun:  true,
	}
}

// PageInput is core.page's inputs. A runbook gives to or role; an activity
// cannot read the incident's state, so the executor resolves role to the
// person holding it and passes that person as To (keeping Role for the
// summary). The activity refuses to run without To.
type PageInput struct {
	To      string `json:"to" desc:"roster ID of the person to page (or give role)"`
	Role    string `json:"role" desc:"role whose holder is paged: commander, secondary, scribe, liaison or sme (or give to)"`
	Message string `json:"message" datasev:"required" desc:"one line: what the person should do"`
	Detail  string `json:"detail" desc:"Markdown detail sent with the page"`
}

// Page carries out core.page.
type Page struct {
	backend notify.Backend
}

// NewPage returns core.page delivering through b.
func NewPage(b notify.Backend) *Page { return &Page{backend: b} }

// Page delivers the page. A dry run says whom it would page and delivers
// nothing. A delivery error is retried.
func (p *Page) Page(ctx context.Context, req runbooks.ActionRequest, in PageInput) (runbooks.ActionResult, error) {
	to := strings.TrimSpace(in.To)
	if to == "" {
		msg := PageName + ": no person to page: give to (a roster ID) or role"
		if in.Role != "" {
			msg = fmt.Sprintf("%s: no person holds role %q to page", PageName, in.Role)
		}
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(msg, NoPersonType, nil)
	}
	who := to
	if in.Role != "" {
		who = fmt.Sprintf("%s (%s)", to, in.Role)
	}
	out := map[string]any{"role": in.Role}
	if req.DryRun {
		out["delivered_to"] = ""
		return runbooks.ActionResult{Output: out, Summary: fmt.Sprintf("%s would page %s: %s", PageName, who, in.Message)}, nil
	}
	if p.backend == nil {
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(PageName+": no notifier backend configured in this worker", "NotConfigured", nil)
	}
	body := in.Detail
	if req.Runbook != "" {
		if body != "" {
			body += "\n\n"
		}
		body += fmt.Sprintf("Sent by runbook %s, step %s.", req.Runbook, req.Step)
	}
	n := notify.Notification{Kind: notify.Page, Incident: req.Incident, To: to, Subject: in.Message, Body: body}
	if err := p.backend.Deliver(ctx, n); err != nil {
		return runbooks.ActionResult{}, fmt.Errorf("%s %s via %s: %w", PageName, to, p.backend.Name(), err)
	}
	out["delivered_to"] = to
	out["backend"] = p.backend.Name()
	return runbooks.ActionResult{Output: out, Summary: fmt.Sprintf("%s paged %s: %s", PageName, who, in.Message)}, nil
}
