package runbooks

import (
	"maps"
	"slices"
)

// IncidentFacts is what expressions know of the incident (the incident
// variable): its workflow ID and its severity when the runbook started.
type IncidentFacts struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
}

// Vars returns the incident as expressions see it.
func (i IncidentFacts) Vars() map[string]any {
	return map[string]any{"id": i.ID, "severity": i.Severity}
}

// StepFacts is what expressions know of a step that finished or was
// skipped (steps.<id>): its status (ok, failed, skipped or denied), its
// one-line summary and its action's output.
type StepFacts struct {
	Status  string         `json:"status"`
	Summary string         `json:"summary,omitempty"`
	Output  map[string]any `json:"output,omitempty"`
}

// Vars returns the step as expressions see it; a step without output has
// an empty one.
func (s StepFacts) Vars() map[string]any {
	return map[string]any{"status": s.Status, "summary": s.Summary, "output": orEmpty(s.Output)}
}

// State is what a run of a runbook knows when it decides whether a step
// runs and with which inputs: the alert, the incident and the steps done so
// far. The runbook workflow and the dry run (Plan) both decide through it,
// so what a reviewer sees in `datasev runbooks test` is what runs.
//
// Its methods evaluate CEL (see Eval): pure and deterministic, so the
// workflow may call them, inside a side effect that records the answer.
type State struct {
	Alert    AlertFacts
	Incident IncidentFacts
	// Steps holds the steps that finished or were skipped, by ID. A dry
	// run has none: what the steps will find is unknown to it.
	Steps map[string]StepFacts
}

// Vars returns the expression variables of the state. output is a verify
// try's output, for its until; nil elsewhere.
func (s State) Vars(output map[string]any) Vars {
	steps := make(map[string]any, len(s.Steps))
	for id, st := range s.Steps {
		steps[id] = st.Vars()
	}
	return Vars{Alert: s.Alert.Vars(), Steps: steps, Output: orEmpty(output), Incident: s.Incident.Vars()}
}

// Condition decides a step's when (output nil) or a verify's until (output
// is the try's): the expression must yield true or false (see EvalBool).
func (s State) Condition(expr string, output map[string]any) (bool, error) {
	return EvalBool(expr, s.Vars(output))
}

// Inputs renders a call's inputs (see Render).
func (s State) Inputs(with map[string]any) (map[string]any, error) {
	return Render(with, s.Vars(nil))
}

// KnownInputs renders each input on its own, for an approver who is shown
// later steps before they run: the inputs that render now are returned
// (an empty map when none does), the names of those that cannot yet (they
// read steps not yet run) are listed, sorted.
func (s State) KnownInputs(with map[string]any) (map[string]any, []string) {
	vars := s.Vars(nil)
	known := map[string]any{}
	var pending []string
	for _, k := range slices.Sorted(maps.Keys(with)) {
		w, err := Render(map[string]any{k: with[k]}, vars)
		if err != nil {
			pending = append(pending, k)
			continue
		}
		known[k] = w[k]
	}
	return known, pending
}

// planCondition decides a condition as a dry run does: over the alert and
// the incident, with the steps' results unknown. A condition that fails to
// evaluate, or yields neither true nor false, is RunsUnknown with the
// error EvalBool gives a real run.
func (s State) planCondition(expr string) (string, error) {
	v, err := EvalPartial(expr, s.Vars(nil))
	if err != nil {
		return RunsUnknown, err
	}
	if v == (Unknown{}) {
		return RunsUnknown, nil
	}
	b, err := asCondition(expr, v)
	switch {
	case err != nil:
		return RunsUnknown, err
	case b:
		return RunsYes, nil
	}
	return RunsNo, nil
}

// planInputs renders inputs as a dry run does (see RenderPartial).
func (s State) planInputs(with map[string]any) (map[string]any, error) {
	return RenderPartial(with, s.Vars(nil))
}
