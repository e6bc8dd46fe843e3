package runbooks

import (
	"strings"
	"testing"
)

func TestDryRun(t *testing.T) {
	rb, err := Parse("d.yaml", []byte(`name: d
description: d
owner: o
match: {service: s}
steps:
  - id: a
    when: alert.labels.env == "prod"
    check: {action: core.http, with: {url: "http://${ alert.labels.host }/"}}
  - id: b
    when: steps.a.status == "ok"
    parallel:
      - id: b1
        check: {action: core.http, with: {url: "${ steps.a.output.body }"}}
  - id: c
    when: alert.labels.env == "dev"
    parallel:
      - id: c1
        check: {action: core.wait, with: {duration: 1m}}
  - id: d
    when: alert.labels.nope == "x"
    check: {action: core.wait, with: {duration: 1m}}
  - id: e
    remediate:
      action: test.restart
      with: {target: "${ incident.severity }"}
      approval: {timeout: 10m}
  - id: f
    verify:
      action: core.http
      with: {url: "http://${ alert.labels.host }/"}
      until: output.ok
      deadline: 5m
`))
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan(rb, State{Alert: AlertFacts{Labels: map[string]string{"env": "prod", "host": "h"}}, Incident: IncidentFacts{Severity: "SEV2"}})
	byID := map[string]Planned{}
	for _, p := range plan {
		byID[p.ID] = p
	}
	for _, tc := range []struct {
		id, runs, why string
		depth         int
	}{
		{"a", RunsYes, "true for this alert", 0},
		{"b", RunsUnknown, "reads earlier steps", 0},
		{"b1", RunsUnknown, "group may not run", 1},
		{"c", RunsNo, "false for this alert", 0},
		{"c1", RunsNo, "group does not run", 1},
		{"d", RunsUnknown, "fails to evaluate", 0},
		{"e", RunsYes, "", 0},
		{"f", RunsYes, "", 0},
	} {
		p := byID[tc.id]
		if p.Runs != tc.runs || !strings.Contains(p.Why, tc.why) || p.Depth != tc.depth {
			t.Errorf("%s: runs %s (%s) depth %d; want %s (%s) depth %d", tc.id, p.Runs, p.Why, p.Depth, tc.runs, tc.why, tc.depth)
		}
	}
	if got := byID["a"].With["url"]; got != "http://h/" {
		t.Errorf("a's url = %v", got)
	}
	if got := byID["b1"].With["url"]; got != (Unknown{}) {
		t.Errorf("b1's url = %v, want Unknown", got)
	}
	if byID["c1"].With != nil {
		t.Errorf("a step that does not run has inputs: %v", byID["c1"].With)
	}
	if !strings.Contains(byID["d"].Error, "no such key: nope") {
		t.Errorf("d's error: %q", byID["d"].Error)
	}
	if e := byID["e"]; e.With["target"] != "SEV2" || e.Approval == nil || e.Approval.Role != "commander" || e.Approval.OnTimeout != "escalate" || e.Approval.Timeout.Std().String() != "10m0s" {
		t.Errorf("e: %+v %+v", e, e.Approval)
	}
	if f := byID["f"]; f.Until != "output.ok" || f.Deadline.Std().String() != "5m0s" || f.OnFailure != Stop {
		t.Errorf("f: %+v", f)
	}
}
