package cli

import (
	"errors"
	"fmt"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// loadRunbookSet loads the runbooks incidents may run: the embedded library,
// the extra layers (dev's demo runbooks) and the operator's directory (dir,
// else $DATASEV_RUNBOOKS), validated
// against the registered actions, as the worker does. Any problem is
// printed to stderr, one per line with file, line and column, and fails the
// command: an incident must not capture a runbook that cannot run.
func loadRunbookSet(e *env, dir string, extra ...runbooks.Layer) (*runbooks.Set, error) {
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
		fmt.Fprintf(e.stderr, "datasev: the runbooks have %d problem(s):\n", len(problems))
		for _, p := range err.(runbooks.Problems) {
			fmt.Fprintf(e.stderr, "  %s\n", p.Error())
		}
		return nil, fmt.Errorf("the runbooks are invalid; fix them first (`datasev runbooks validate` checks them)")
	}
	return set, nil
}

// runbookChoice is the runbook Declare will capture for an alert, and why.
type runbookChoice struct {
	runbook *runbooks.Runbook // nil: none
	why     string
}

// chooseRunbook picks as Declare does: the runbook named, else the one the
// set matches for the (validated) alert. An unknown name lists the names
// there are.
func chooseRunbook(set *runbooks.Set, name string, alert workflows.Alert) (runbookChoice, error) {
	if name != "" {
		rb, ok := set.Get(name)
		if !ok {
			return runbookChoice{}, unknownRunbook(set, name)
		}
		return runbookChoice{runbook: rb, why: "named with --runbook"}, nil
	}
	rb, err := set.Match(incidents.Facts(alert))
	if err != nil {
		return runbookChoice{}, fmt.Errorf("choosing a runbook: %w; name one with --runbook", err)
	}
	if rb == nil {
		return runbookChoice{}, nil
	}
	return runbookChoice{runbook: rb, why: "matched the alert: " + matchSummary(rb.Match)}, nil
}

// String is the choice as the declare output shows it.
func (c runbookChoice) String() string {
	if c.runbook == nil {
		return "no runbook matched the alert; the incident is handled by hand"
	}
	return fmt.Sprintf("runbook %s (%s)", c.runbook.Name, c.why)
}
