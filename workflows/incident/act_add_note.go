package incident

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// The add_note act: anyone on the roster adds to the record; an SME's note is
// a finding.

func checkAddNote(inc *incident, name string, act workflows.Act) error {
	if err := checkNote(act.Note, "say what you found or did"); err != nil {
		return err
	}
	return nil
}

func applyAddNote(inc *incident, _ workflow.Context, e actEvent) string {
	s, act := &inc.s, e.act
	kind := "note"
	if s.Roles.Has(act.By, workflows.SME) {
		kind = "finding"
		s.Findings = append(s.Findings, act.By+": "+act.Note)
		if len(s.Findings) > maxFindings {
			s.Findings = slices.Clone(s.Findings[len(s.Findings)-maxFindings:])
		}
	}
	inc.note(e, kind+": "+act.Note)
	return kind + " added"
}
