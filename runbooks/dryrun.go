package runbooks

import "fmt"

// Planned is what a dry run says of one step: whether it would run and
// with which inputs. A dry run calls nothing and changes nothing.
type Planned struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Description string `json:"description,omitempty"`
	// Depth is 0 for a step of the runbook, 1 for a step of a parallel
	// group, and so on.
	Depth int `json:"depth"`
	// Action is the step's action; empty for a parallel group.
	Action string `json:"action,omitempty"`
	// When is the step's condition, if any.
	When string `json:"when,omitempty"`
	// Runs is RunsYes, RunsNo or RunsUnknown.
	Runs string `json:"runs"`
	// Why explains Runs.
	Why string `json:"why,omitempty"`
	// With are the inputs as rendered from the alert; an input that
	// depends on earlier steps is Unknown. Nil when the step does not run.
	With map[string]any `json:"with,omitempty"`
	// Error is an input or condition that fails to render or evaluate.
	Error string `json:"error,omitempty"`
	// Approval is the remediation's gate.
	Approval *Gate `json:"approval,omitempty"`
	// Until, Every and Deadline describe a verify.
	Until    string   `json:"until,omitempty"`
	Every    Duration `json:"every,omitempty"`
	Deadline Duration `json:"deadline,omitempty"`
	// OnFailure is the step's on_failure (stop when not given).
	OnFailure OnFailure `json:"on_failure"`
}

// Dry-run verdicts.
const (
	RunsYes     = "yes"
	RunsNo      = "no"
	RunsUnknown = "unknown"
)

// DryRun plans rb for an alert without running anything. Conditions and
// templates are evaluated over the alert and the incident; what earlier
// steps found is unknown (steps and output are unknown variables), so a
// condition that depends on them says RunsUnknown, and an input that
// depends on them is Unknown. CEL still decides what it can:
// `alert.source == "x" || steps.a.status == "ok"` is true for source x.
// A step that fails with on_failure: stop ends a real run early; a dry run
// cannot know that either.
func DryRun(rb *Runbook, alert AlertFacts, incident map[string]any) []Planned {
	vars := Vars{Alert: alert.Vars(), Incident: incident}
	var out []Planned
	var plan func(steps []Step, depth int, parentRuns string)
	plan = func(steps []Step, depth int, parentRuns string) {
		for i := range steps {
			s := &steps[i]
			p := Planned{ID: s.ID, Kind: s.Kind(), Description: s.Description, Depth: depth, When: s.When, OnFailure: s.OnFailure}
			if p.OnFailure == "" {
				p.OnFailure = Stop
			}
			p.Runs = RunsYes
			switch {
			case parentRuns == RunsNo:
				p.Runs, p.Why = RunsNo, "its parallel group does not run"
			case s.When != "":
				v, err := EvalPartial(s.When, vars)
				switch b, isBool := v.(bool); {
				case err != nil:
					p.Runs, p.Error = RunsUnknown, "when: "+err.Error()
					p.Why = "its condition fails to evaluate: a real run marks the step failed"
				case v == (Unknown{}):
					p.Runs, p.Why = RunsUnknown, "its condition reads earlier steps' results, unknown in a dry run"
				case !isBool:
					p.Runs, p.Error = RunsUnknown, fmt.Sprintf("when: condition is %s, not true or false", typeName(v))
				case b:
					p.Why = "its condition is true for this alert"
				default:
					p.Runs, p.Why = RunsNo, "its condition is false for this alert"
				}
			}
			if p.Runs == RunsYes && parentRuns == RunsUnknown {
				p.Runs, p.Why = RunsUnknown, "its parallel group may not run"
			}
			if c := s.callPtr(); c != nil {
				p.Action = c.Action
			}
			if c := s.callPtr(); c != nil && p.Runs != RunsNo {
				with, err := RenderPartial(c.With, vars)
				if err != nil {
					p.Error = joinErr(p.Error, err.Error())
				}
				p.With = with
			}
			if s.Remediate != nil {
				g := s.Remediate.Approval
				if g.Role == "" && g.CoveredBy == "" {
					g.Role = "commander"
				}
				if g.OnTimeout == "" && g.CoveredBy == "" {
					g.OnTimeout = "escalate"
				}
				p.Approval = &g
			}
			if s.Verify != nil {
				p.Until, p.Every, p.Deadline = s.Verify.Until, s.Verify.Every, s.Verify.Deadline
			}
			out = append(out, p)
			plan(s.Parallel, depth+1, p.Runs)
		}
	}
	plan(rb.Steps, 0, RunsYes)
	return out
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
