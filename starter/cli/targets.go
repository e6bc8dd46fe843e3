package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// targetProblems checks the targets every step of set names literally
// against the target policy p (actions.LiteralTargets): a literal target
// outside it is a problem at the step, naming the policy key. Without a
// policy it notes, on w, how many remediation steps will refuse to run.
func targetProblems(w io.Writer, set *runbooks.Set, p *target.Policy) runbooks.Problems {
	var ps runbooks.Problems
	remediations := 0
	var walk func(rb *runbooks.Runbook, steps []runbooks.Step)
	walk = func(rb *runbooks.Runbook, steps []runbooks.Step) {
		for _, s := range steps {
			walk(rb, s.Parallel)
			if s.Remediate != nil {
				remediations++
			}
			c := s.ActionCall()
			if c == nil {
				continue
			}
			for _, err := range actions.LiteralTargets(p, c.Action, c.With) {
				msg := err.Error()
				var ae *temporal.ApplicationError
				if errors.As(err, &ae) {
					msg = ae.Message()
				}
				ps = append(ps, runbooks.Problem{File: rb.Source, Pos: s.Pos,
					Msg: fmt.Sprintf("runbook %s, step %s: %s", rb.Name, s.ID, msg)})
			}
		}
	}
	for _, rb := range set.Runbooks() {
		walk(rb, rb.Steps)
	}
	if !p.Configured() && remediations > 0 {
		fmt.Fprintf(w, "note: no target policy: the %d remediation step(s) will refuse to run; set the targets section of the config file or DATASEV_TARGETS_* (see worker/datasev.example.yaml)\n",
			remediations)
	}
	return ps
}

// targetChecks are `config check`'s lines for the target policy: one per
// key, or one saying there is none and what that means.
func targetChecks(getenv func(string) string) []checkLine {
	p, err := target.FromEnv(getenv)
	switch {
	case err != nil:
		return []checkLine{{"targets", checkError, err.Error()}}
	case !p.Configured():
		return []checkLine{{"targets", checkOff, "no target policy: remediations refuse to run, diagnostics may read any target, core.http refuses loopback, link-local and metadata addresses; set the targets section (see worker/datasev.example.yaml)"}}
	}
	var out []checkLine
	for _, line := range strings.Split(strings.TrimSpace(p.String()), "\n") {
		out = append(out, checkLine{"targets", checkOK, line})
	}
	return out
}
