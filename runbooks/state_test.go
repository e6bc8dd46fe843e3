package runbooks

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func testState() State {
	return State{
		Alert:    AlertFacts{Source: "alertmanager", Title: "Orders load failed", Severity: "SEV2", Labels: map[string]string{"dag": "load_orders"}},
		Incident: IncidentFacts{ID: "incident-orders", Severity: "SEV2"},
		Steps: map[string]StepFacts{
			"rows":  {Status: StatusOK, Summary: "0 rows", Output: map[string]any{"rows": 0.0}},
			"maybe": {Status: StatusSkipped, Summary: "skipped: false"},
		},
	}
}

func TestStateVars(t *testing.T) {
	got := testState().Vars(nil)
	want := Vars{
		Alert: map[string]any{
			"source": "alertmanager", "title": "Orders load failed", "description": "", "dedupe_key": "",
			"severity": "SEV2", "status": "", "service": "", "dataset": "", "labels": map[string]any{"dag": "load_orders"},
		},
		Steps: map[string]any{
			"rows":  map[string]any{"status": "ok", "summary": "0 rows", "output": map[string]any{"rows": 0.0}},
			"maybe": map[string]any{"status": "skipped", "summary": "skipped: false", "output": map[string]any{}},
		},
		Output:   map[string]any{},
		Incident: map[string]any{"id": "incident-orders", "severity": "SEV2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Vars(nil) =\n%#v\nwant\n%#v", got, want)
	}
	for _, k := range AlertFields {
		if _, ok := got.Alert[k]; !ok {
			t.Errorf("alert variable lacks %s", k)
		}
	}
	if out := testState().Vars(map[string]any{"ok": true}).Output; !reflect.DeepEqual(out, map[string]any{"ok": true}) {
		t.Errorf("Vars(output).Output = %v", out)
	}
}

func TestStateCondition(t *testing.T) {
	s := testState()
	for _, tc := range []struct {
		expr   string
		output map[string]any
		want   bool
		err    string
	}{
		{`steps.rows.output.rows == 0 && incident.severity == "SEV2"`, nil, true, ""},
		{`steps.maybe.status == "ok"`, nil, false, ""},
		{`output.ok`, map[string]any{"ok": true}, true, ""},
		{`alert.title`, nil, false, `condition is a string, not true or false (in "alert.title")`},
		{`steps.nope.status == "ok"`, nil, false, "no such key: nope"},
	} {
		got, err := s.Condition(tc.expr, tc.output)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Condition(%s): %v, want an error with %q", tc.expr, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Condition(%s) = %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
}

func TestStateKnownInputs(t *testing.T) {
	s := testState()
	s.Steps = nil // before any step ran
	known, pending := s.KnownInputs(map[string]any{
		"dag": "${ alert.labels.dag }", "rows": "${ steps.rows.output.rows }", "limit": int64(5), "a_sha": "${ steps.commits.output.sha }",
	})
	if !reflect.DeepEqual(known, map[string]any{"dag": "load_orders", "limit": int64(5)}) || !slices.Equal(pending, []string{"a_sha", "rows"}) {
		t.Errorf("KnownInputs = %v, %v; want dag and limit known, a_sha and rows pending, sorted", known, pending)
	}
	if known, pending := s.KnownInputs(nil); known == nil || len(known) != 0 || pending != nil {
		t.Errorf("KnownInputs(nil) = %#v, %#v; want an empty map and nothing pending", known, pending)
	}
}

// TestPlanDecidesAsState checks that a dry run decides a condition that
// reads only the alert and the incident as a run does, and renders such
// inputs the same.
func TestPlanDecidesAsState(t *testing.T) {
	rb, err := Parse("p.yaml", []byte(`name: p
description: p
owner: o
match: {service: s}
steps:
  - id: yes
    when: alert.labels.dag == "load_orders" && incident.severity == "SEV2"
    check: {action: core.http, with: {url: "http://x/${ alert.labels.dag }", id: "${ incident.id }"}}
  - id: no
    when: "'bucket' in alert.labels"
    check: {action: core.wait, with: {duration: 1m}}
  - id: not_bool
    when: alert.labels.dag
    check: {action: core.wait, with: {duration: 1m}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := testState()
	s.Steps = nil
	plan := Plan(rb, s)
	for i, want := range []string{RunsYes, RunsNo, RunsUnknown} {
		p := plan[i]
		ok, err := s.Condition(rb.Steps[i].When, nil)
		if p.Runs != want || (err == nil && ok != (want == RunsYes)) {
			t.Errorf("%s: plan says %s, a run decides %v, %v", p.ID, p.Runs, ok, err)
		}
		if err != nil && p.Error != "when: "+err.Error() {
			t.Errorf("%s: plan's error %q, a run's %q", p.ID, p.Error, "when: "+err.Error())
		}
	}
	with, err := s.Inputs(rb.Steps[0].Check.With)
	if err != nil || !reflect.DeepEqual(plan[0].With, with) {
		t.Errorf("plan's inputs %v, a run's %v (%v)", plan[0].With, with, err)
	}
}

func TestChoose(t *testing.T) {
	set := matchSet(t, map[string]string{
		"orders": "  labels: {alertname: OrdersLoadFailed}",
		"s3":     "  labels: {alertname: S3}",
	})
	orders := AlertFacts{Labels: map[string]string{"alertname": "OrdersLoadFailed"}}
	for _, tc := range []struct {
		name  string
		alert AlertFacts
		want  string
	}{
		{"", orders, "orders"},
		{"s3", orders, "s3"}, // a name wins over the match
		{"", AlertFacts{Labels: map[string]string{"alertname": "Other"}}, ""},
	} {
		rb, err := set.Choose(tc.name, tc.alert)
		got := ""
		if rb != nil {
			got = rb.Name
		}
		if err != nil || got != tc.want {
			t.Errorf("Choose(%q, %v) = %q, %v; want %q", tc.name, tc.alert.Labels, got, err, tc.want)
		}
	}
	_, err := set.Choose("nope", orders)
	var unknown *UnknownRunbookError
	if !errors.As(err, &unknown) || err.Error() != `unknown runbook "nope" (have: orders, s3)` {
		t.Errorf("Choose(nope): %v, want an UnknownRunbookError listing orders and s3", err)
	}
}

func TestGateWithDefaults(t *testing.T) {
	for _, tc := range []struct{ in, want Gate }{
		{Gate{}, Gate{Role: "commander", Timeout: DefaultApprovalTimeout, OnTimeout: "escalate"}},
		{Gate{Role: "sme", Timeout: Duration(600e9), OnTimeout: "deny"}, Gate{Role: "sme", Timeout: Duration(600e9), OnTimeout: "deny"}},
		{Gate{CoveredBy: "revert"}, Gate{CoveredBy: "revert"}},
	} {
		if got := tc.in.WithDefaults(); got != tc.want {
			t.Errorf("%+v.WithDefaults() = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
