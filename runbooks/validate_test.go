package runbooks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// loadFiles loads the named testdata files as one layer.
func loadFiles(t *testing.T, paths ...string) (*Set, error) {
	t.Helper()
	m := fstest.MapFS{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(p)] = &fstest.MapFile{Data: b}
	}
	return LoadLayers(Layer{FS: m})
}

// wantProblems checks that err lists exactly the wanted problems, in
// order: each "file:line:col: part of the message".
func wantProblems(t *testing.T, err error, want []string) {
	t.Helper()
	var ps Problems
	if err != nil && !errors.As(err, &ps) {
		t.Fatalf("error %v is not a Problems", err)
	}
	for i := 0; i < max(len(ps), len(want)); i++ {
		switch {
		case i >= len(ps):
			t.Errorf("missing problem %s", want[i])
		case i >= len(want):
			t.Errorf("unexpected problem %s", ps[i])
		default:
			loc, msg, _ := strings.Cut(want[i], ": ")
			got := ps[i].Error()
			if !strings.HasPrefix(got, loc+": ") || !strings.Contains(got, msg) {
				t.Errorf("problem %d:\n got  %s\n want %s", i, got, want[i])
			}
		}
	}
}

func TestValidateProblems(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"schema.yaml", []string{
			`schema.yaml:2:7: name "Schema Errors": use at most 100 lower-case letters`,
			`schema.yaml:3:14: description: required`,
			`schema.yaml:5:11: severity "sev2": want one of SEV1, SEV2, SEV3, SEV4, SEV5`,
			`schema.yaml:7:10: roles.smes[0]: empty`,
			`schema.yaml:8:8: match: give at least one rule`,
			`schema.yaml:10:5: steps[0]: id: required`,
			`schema.yaml:10:5: steps[0]: give it one of check, remediate, verify or parallel`,
			`schema.yaml:11:9: step id "Bad-ID": use lower-case letters, digits and underscores`,
			`schema.yaml:15:5: step twice has check and verify: a step has exactly one of`,
			`schema.yaml:16:17: step twice: on_failure "retry": want stop, continue or escalate`,
			`schema.yaml:17:9: step id "twice" is also used at 13:5`,
			`schema.yaml:18:15: step twice: parallel needs steps`,
			`schema.yaml:19:5: step twice: timeout bounds an action`,
			`schema.yaml:20:5: step twice: retry applies to an action`,
			`schema.yaml:25:24: step gate: approval role "ceo": want one of commander, scribe, liaison, sme`,
			`schema.yaml:25:41: step gate: approval on_timeout "ignore": want escalate or deny`,
			`schema.yaml:27:5: step watch: verify needs until`,
			`schema.yaml:27:5: step watch: verify needs a deadline`,
			`schema.yaml:30:16: step watch: verify backoff 0.5: want 1 or more`,
			`schema.yaml:32:21: step watch: verify max_interval 5m0s is shorter than every 10m0s`,
			`schema.yaml:33:27: step watch: retry.max_attempts -1`,
			`schema.yaml:33:67: step watch: retry.max_interval 1m0s is shorter than initial_interval 2m0s`,
		}},
		{"match.yaml", []string{
			`match.yaml:5:27: match.sources: unknown source "grafana"`,
			"match.yaml:7:12: match.labels_regex.table: missing closing ]",
			"match.yaml:8:10: match.title: missing argument to repetition operator",
		}},
		{"covered.yaml", []string{
			`covered.yaml:11:30: step early: approval covered_by "later": that step comes later`,
			`covered.yaml:25:30: step from_check: approval covered_by "look": that step is a check, not a remediate step`,
			`covered.yaml:30:30: step nowhere: approval covered_by "nope": no step has that id`,
			`covered.yaml:35:30: step both: approval covered_by "first" takes no role, timeout or on_timeout`,
			`covered.yaml:40:30: step chained: approval covered_by "both": that step's approval is itself covered by "first"; name "first"`,
		}},
		{"groupby.yaml", []string{
			"groupby.yaml:7:11: group_by.labels: 9 labels, at most 8",
			"groupby.yaml:7:21: group_by.labels[1]: empty label name",
			`groupby.yaml:7:25: group_by.labels[2]: "dataset" is also labels[0]; list each label once`,
		}},
		{"groupword.yaml", []string{
			`groupword.yaml:6:11: group_by "fingerprint": want alert, alertmanager_group, or labels: [names]`,
		}},
		{"grouplabels.yaml", []string{
			"grouplabels.yaml:6:11: group_by.labels: name at least one label to group by",
		}},
		{"nosteps.yaml", []string{
			"nosteps.yaml:1:1: steps: a runbook needs at least one step",
		}},
		{"actions.yaml", []string{
			`actions.yaml:9:15: step unknown: unknown action "core.htp"; core has core.http, core.page, core.wait`,
			"actions.yaml:14:9: step missing_input: core.http needs input url (string)",
			"actions.yaml:17:15: step no_with: core.http needs input url (string)",
			`actions.yaml:21:31: step unknown_input: core.http has no input "retries"; its inputs are expect, expect_status, method, timeout, url`,
			"actions.yaml:26:17: step types: input target: want string, got int 42",
			`actions.yaml:27:16: step types: input count: want int, got string "three"`,
			"actions.yaml:28:16: step types: input ratio: want number, got bool true",
			`actions.yaml:29:16: step types: input force: want bool, got string "yes"`,
			"actions.yaml:30:16: step types: input tags: want list, got a map",
			"actions.yaml:31:18: step types: input options: want object, got a list",
			"actions.yaml:39:16: step more_types: input ratio: text around a template always makes a string",
			"actions.yaml:40:16: step more_types: input force: want bool, got number 1.5",
			"actions.yaml:41:15: step more_types: input tags: want list, got null",
			`actions.yaml:46:40: step durations: input timeout: invalid duration "5 minutes"`,
			"actions.yaml:46:66: step durations: input expect_status: want int, got number 1.5",
			"actions.yaml:49:15: step changes_in_check: action test.restart changes things: use it in a remediate step",
			"actions.yaml:53:15: step timer_in_remediate: action core.wait is carried out by the workflow",
			"actions.yaml:58:15: step timer_in_verify: action core.wait has nothing to verify",
			`actions.yaml:65:20: step page: core.page role "boss"`,
			"actions.yaml:67:5: step no_action: check needs an action",
			"actions.yaml:74:16: step heartbeat_long: heartbeat 2m0s is not shorter than timeout 1m0s",
		}},
		// Expressions in every YAML scalar style, and templates, with the
		// position of the very character at fault.
		{"expressions.yaml", []string{
			`expressions.yaml:8:17: when: alert has no field "lables"`,            // plain scalar
			"expressions.yaml:12:33: url: steps.second is not an earlier step",    // template in a double-quoted string
			`expressions.yaml:14:24: when: steps.first has no field "stauts"`,     // single-quoted
			"expressions.yaml:18:30: url: Syntax error: mismatched input '<EOF>'", // template in a plain scalar
			`expressions.yaml:22:15: when: steps.nope: no step has id "nope"`,     // block literal, second line
			`expressions.yaml:26:37: url: steps.first.output has no key "bdy": core.http gives status, ok`,
			"expressions.yaml:27:21: expect: undeclared reference to 'output': output is only known in a verify step's until",
			`expressions.yaml:31:16: when: incident has no field "sev"`,                // folded block, second line
			"expressions.yaml:34:29: url: steps.fourth is this step itself",            // flow mapping
			`expressions.yaml:35:21: until: output has no key "stat": core.http gives`, // verify's output
			"expressions.yaml:42:21: when: steps.left is not an earlier step",          // a sibling in a parallel group
			"expressions.yaml:50:22: message: string literal in template is not closed",
			"expressions.yaml:52:15: when: Syntax error",
			"expressions.yaml:53:50: duration: template ${ is not closed with }",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			set, err := loadFiles(t, filepath.Join("testdata", "invalid", tc.file))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			wantProblems(t, Validate(set, testCatalog()), tc.want)
		})
	}
}

func TestValidateValid(t *testing.T) {
	set, err := loadFiles(t, "testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(set, testCatalog()); err != nil {
		t.Fatalf("valid runbook:\n%v", err)
	}
	// Without a catalog only the format is checked.
	if err := Validate(set, nil); err != nil {
		t.Fatalf("no catalog:\n%v", err)
	}
	// An empty catalog knows no action.
	err = Validate(set, fakeCatalog{})
	if err == nil || !strings.Contains(err.Error(), `unknown action "core.http"; no actions are registered`) {
		t.Fatalf("empty catalog: %v", err)
	}
}

// TestValidateGroupByInCode checks groupings built in code: labels given
// with another mode are refused.
func TestValidateGroupByInCode(t *testing.T) {
	rb := &Runbook{
		Name: "in-code", Description: "d", Owner: "o", Source: "code",
		Match:   Match{Service: "x"},
		GroupBy: GroupBy{By: GroupByAlertmanagerGroup, Labels: []string{"dataset"}},
		Steps:   []Step{{ID: "a", Pos: Pos{7, 3}, Check: &Call{Action: "core.wait", With: map[string]any{"duration": "1m"}}}},
	}
	wantProblems(t, ValidateRunbook(rb, testCatalog()), []string{`code:0:0: group_by "alertmanager_group" takes no labels`})
	rb.GroupBy = GroupBy{By: GroupByLabels, Labels: []string{"dataset", "table"}}
	wantProblems(t, ValidateRunbook(rb, testCatalog()), nil)
}

// TestValidateRunbook checks a runbook built in code: positions come from
// Step.Pos.
func TestValidateRunbook(t *testing.T) {
	rb := &Runbook{
		Name: "in-code", Description: "d", Owner: "o", Source: "code",
		Match: Match{Service: "x"},
		Steps: []Step{{ID: "a", Pos: Pos{7, 3}, Check: &Call{Action: "core.http", With: map[string]any{"url": int64(1)}}}},
	}
	wantProblems(t, ValidateRunbook(rb, testCatalog()), []string{"code:7:3: step a: input url: want string, got int 1"})
}
