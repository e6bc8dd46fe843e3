package runbooks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary bytes to the loader, and what loads to the
// validator, the matcher and a dry run. None may panic; every problem must
// have a position inside the file. The seed corpus is in
// testdata/fuzz/FuzzLoad; run it longer with
//
//	go test ./runbooks -run '^$' -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	f.Add([]byte("name: x\nsteps:\n  - id: a\n    when: alert.source == 'x'\n    check: {action: core.http, with: {url: \"${ alert.title }\"}}\n"))
	cat := testCatalog()
	alert := AlertFacts{Source: "alertmanager", Title: "t", DedupeKey: "k", Labels: map[string]string{"alertname": "x", "a": "b"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		// YAML's line breaks: \r\n, \r and \n.
		lines := strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") + strings.Count(strings.ReplaceAll(string(data), "\r\n", ""), "\r") + 1
		checkPositions := func(err error) {
			if err == nil {
				return
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error is not a non-empty Problems: %T %v", err, err)
			}
			for _, p := range ps {
				if p.Pos.Line < 1 || p.Pos.Column < 1 || p.Pos.Line > lines {
					t.Fatalf("problem outside the file (%d lines): %v", lines, p)
				}
				if p.File != "fuzz.yaml" || p.Msg == "" {
					t.Fatalf("bad problem: %#v", p)
				}
			}
		}
		rb, err := Parse("fuzz.yaml", data)
		checkPositions(err)
		if err != nil {
			return
		}
		set, err := LoadLayers(Layer{FS: fstest.MapFS{"fuzz.yaml": {Data: data}}})
		if err != nil || set.Len() != 1 {
			t.Fatalf("Parse accepted what LoadLayers did not: %v", err)
		}
		checkPositions(Validate(set, cat))
		_, _ = set.Match(alert)
		_ = Plan(rb, State{Alert: alert, Incident: IncidentFacts{ID: "k", Severity: "SEV3"}})
		// A runbook is captured into workflow input as JSON.
		b, err := json.Marshal(rb)
		if err != nil {
			t.Fatalf("runbook does not marshal: %v", err)
		}
		var back Runbook
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("runbook does not unmarshal: %v", err)
		}
	})
}
