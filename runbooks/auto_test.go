package runbooks

import (
	"path/filepath"
	"testing"
)

// Automatic approvals are checked as strictly as the rest of a gate, each
// problem at its line.
func TestValidateAutoApproval(t *testing.T) {
	set, err := loadFiles(t, filepath.Join("testdata", "auto", "invalid.yaml"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	wantProblems(t, Validate(set, testCatalog()), []string{
		`invalid.yaml:15:18: step no_policy: approval auto needs a policy`,
		`invalid.yaml:20:33: step bad_values: approval auto policy "Reload Once": use at most 64 lower-case letters`,
		`invalid.yaml:20:48: step bad_values: approval auto max_per_day 0: want 1 to 100`,
		`invalid.yaml:20:82: step bad_values: approval auto severity_at_most "sev3": want one of SEV1, SEV2, SEV3, SEV4, SEV5`,
		`invalid.yaml:25:64: when: steps.look has no field "stauts"`,
		`invalid.yaml:30:59: when: steps.covered is not an earlier step`,
		`invalid.yaml:35:42: step covered: approval auto with covered_by "later_step": a covered step runs on the covering step's decision`,
		`invalid.yaml:40:59: step other_budget: approval auto policy "reload-once" has max_per_day 5 here and 3 on an earlier step`,
		`invalid.yaml:45:18: step no_severity: approval auto needs severity_at_most`,
		`invalid.yaml:45:40: step no_severity: approval auto max_per_day 101: want 1 to 100`,
	})
}

func TestValidateAutoApprovalValid(t *testing.T) {
	set, err := loadFiles(t, filepath.Join("testdata", "auto", "valid.yaml"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := Validate(set, testCatalog()); err != nil {
		t.Fatalf("valid runbook:\n%v", err)
	}
	rb, ok := set.Get("auto-valid")
	if !ok {
		t.Fatal("runbook auto-valid not loaded")
	}
	a := rb.Steps[1].Remediate.Approval.Auto
	if a == nil || a.Policy != "restart-once" || a.MaxPerDay != 3 || a.SeverityAtMost != "SEV3" || a.When == "" {
		t.Fatalf("auto approval %+v, want every field read", a)
	}
}
