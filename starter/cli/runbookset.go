package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// LoadRunbookSet loads the runbooks incidents may run: the embedded
// library, the extra layers (the dev stack's demo runbooks; none in the
// datasev binary) and the operator's directory (dir, else $DATASEV_RUNBOOKS
// through getenv), validated against the registered actions, as the worker
// does. Any problem is printed to stderr, one per line with file, line and
// column, and fails the load: an incident must not capture a runbook that
// cannot run.
func LoadRunbookSet(getenv func(string) string, stderr io.Writer, dir string, extra ...runbooks.Layer) (*runbooks.Set, error) {
	e := &env{getenv: getenv, stderr: stderr}
	set, problems, err := runbookSet(e, dir, extra...)
	if err != nil {
		return nil, err
	}
	if err := runbooks.Validate(set, runbookCatalog()); err != nil {
		var ps runbooks.Problems
		if !errors.As(err, &ps) {
			return nil, err
		}
		problems = append(problems, ps...)
	}
	if err := problems.Err(); err != nil {
		fmt.Fprintf(stderr, "datasev: the runbooks have %d problem(s):\n", len(problems))
		for _, p := range err.(runbooks.Problems) {
			fmt.Fprintf(stderr, "  %s\n", p.Error())
		}
		return nil, fmt.Errorf("the runbooks are invalid; fix them first (`datasev runbooks validate` checks them)")
	}
	return set, nil
}

func loadRunbookSet(e *env, dir string) (*runbooks.Set, error) {
	return LoadRunbookSet(e.getenv, e.stderr, dir)
}

// RunbookChoice is the runbook Declare will capture for an alert, and why.
type RunbookChoice struct {
	// Runbook is the runbook chosen; nil when none matched.
	Runbook *runbooks.Runbook
	// Why says how it was chosen: named, or which match rule it met.
	Why string
}

// ChooseRunbook picks as Declare does: the runbook named, else the one the
// set matches for the (validated) alert. An unknown name lists the names
// there are.
func ChooseRunbook(set *runbooks.Set, name string, alert workflows.Alert) (RunbookChoice, error) {
	if name != "" {
		rb, ok := set.Get(name)
		if !ok {
			return RunbookChoice{}, unknownRunbook(set, name)
		}
		return RunbookChoice{Runbook: rb, Why: "named with --runbook"}, nil
	}
	rb, err := set.Match(incidents.Facts(alert))
	if err != nil {
		return RunbookChoice{}, fmt.Errorf("choosing a runbook: %w; name one with --runbook", err)
	}
	if rb == nil {
		return RunbookChoice{}, nil
	}
	return RunbookChoice{Runbook: rb, Why: "matched the alert: " + matchSummary(rb.Match)}, nil
}

// String is the choice as the declare output shows it.
func (c RunbookChoice) String() string {
	if c.Runbook == nil {
		return "no runbook matched the alert; the incident is handled by hand"
	}
	return fmt.Sprintf("runbook %s (%s)", c.Runbook.Name, c.Why)
}
