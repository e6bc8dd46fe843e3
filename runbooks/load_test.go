package runbooks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"syntax", "name: [a\n", "x.yaml:1:7: sequence end token ']' not found"},
		{"tab", "name: x\n\tsteps: 1\n", "x.yaml:2:1: found character"},
		{"unknown field", "name: x\nsteps:\n  - id: a\n    chek: {action: core.http}\n",
			`x.yaml:4:5: unknown field "chek" in steps[0]; known fields: id, description, when, check, remediate, verify, parallel, on_failure, timeout, heartbeat, retry`},
		{"unknown field in an inline call", "name: x\nsteps:\n  - id: a\n    verify:\n      actoin: core.http\n",
			`x.yaml:5:7: unknown field "actoin" in steps[0].verify; known fields: action, with, until, every, backoff, max_interval, deadline`},
		{"unknown top-level field", "name: x\nowners: y\n", `x.yaml:2:1: unknown field "owners" here; known fields: name, description, owner, match`},
		{"wrong type", "name: x\nmatch:\n  priority: high\n", "x.yaml:3:13: match.priority: want an integer, got a string"},
		{"wrong type (map for string)", "name: {a: b}\n", "x.yaml:1:7: name: want a string, got a mapping"},
		{"mapping for list", "name: x\nsteps:\n  id: a\n", "x.yaml:3:5: steps: want a list, got a mapping"},
		{"bad durations", "name: x\nsteps:\n  - id: g\n    parallel:\n      - id: a\n        timeout: 5 minutes\n        check: {action: x}\n      - id: b\n        remediate:\n          action: y\n          approval: {timeout: -5m}\n",
			"x.yaml:6:18: invalid duration \"5 minutes\" (want e.g. 90s, 5m, 1h30m)\nx.yaml:11:31: invalid duration \"-5m\": negative"},
		{"group_by: a list", "name: x\ngroup_by: [dataset]\n", "x.yaml:2:11: group_by: want a mapping, got a list"},
		{"group_by: unknown field", "name: x\ngroup_by:\n  label: [dataset]\n", `x.yaml:3:3: unknown field "label" in group_by; known fields: labels`},
		{"group_by: labels not a list", "name: x\ngroup_by:\n  labels: dataset\n", "x.yaml:3:11: group_by.labels: want a list, got a string"},
		{"duplicate key", "name: x\nowner: a\nname: y\n", `x.yaml:3:1: mapping key "name" already defined at [1:1]`},
		{"anchor", "name: &n x\nowner: *n\n", "x.yaml:1:7: anchors (&name) are not supported"},
		{"alias", "match: {labels: {a: b}}\nowner: [*n]\n", "x.yaml:2:9: aliases (*name) are not supported"},
		{"merge key", "match:\n  <<: {service: x}\n", "x.yaml:2:3: merge keys (<<) are not supported"},
		{"two documents", "name: x\n---\nname: y\n", "x.yaml:3:1: a runbook file holds one runbook"},
		{"comments only", "# nothing\n", "x.yaml:1:1: empty file"},
		{"empty", "", "x.yaml:1:1: empty file"},
		{"list", "- a\n- b\n", "x.yaml:1:1: a runbook is a mapping (name: ..., steps: ...), not a list"},
		{"scalar", "just text\n", "x.yaml:1:1: a runbook is a mapping (name: ..., steps: ...), not a string"},
		{"invalid UTF-8", "name: ok\nowner: \xff\n", "x.yaml:2:8: file is not valid UTF-8"},
		{"too deep", "name: x\nsteps: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n", "x.yaml:2:71: nested more than 64 levels deep"},
		{"infinity", "name: x\nsteps:\n  - id: a\n    check: {action: a, with: {f: .inf}}\n", "x.yaml:4:34: steps[0].check.with.f: +Inf is not a number a runbook can hold"},
		{"too large", "name: x\ndescription: " + strings.Repeat("x", MaxFileSize) + "\n", "x.yaml:1:1: file is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb, err := Parse("x.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("parsed %+v, want an error", rb)
			}
			if _, ok := err.(Problems); !ok {
				t.Errorf("error is a %T, want Problems", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to begin\n%s", err, tc.want)
			}
		})
	}
}

// TestParseGroupBy: both forms of group_by, and the grouping survives the
// copy a declared incident captures (Clone).
func TestParseGroupBy(t *testing.T) {
	const head = "name: x\ndescription: d\nowner: o\nmatch: {labels: {alertname: X}}\nsteps:\n  - {id: a, check: {action: core.wait}}\n"
	for _, tc := range []struct {
		src  string
		want GroupBy
		mode string
	}{
		{"", GroupBy{}, GroupByAlert},
		{"group_by: alert\n", GroupBy{By: GroupByAlert}, GroupByAlert},
		{"group_by: alertmanager_group\n", GroupBy{By: GroupByAlertmanagerGroup}, GroupByAlertmanagerGroup},
		{"group_by:\n  labels: [dataset, table]\n", GroupBy{By: GroupByLabels, Labels: []string{"dataset", "table"}}, GroupByLabels},
		{"group_by: {labels: [dataset]}\n", GroupBy{By: GroupByLabels, Labels: []string{"dataset"}}, GroupByLabels},
	} {
		rb, err := Parse("x.yaml", []byte(head+tc.src))
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if !reflect.DeepEqual(rb.GroupBy, tc.want) || rb.GroupBy.Mode() != tc.mode {
			t.Errorf("%q: group_by %+v (mode %s), want %+v (mode %s)", tc.src, rb.GroupBy, rb.GroupBy.Mode(), tc.want, tc.mode)
		}
		if err := ValidateRunbook(rb, nil); err != nil {
			t.Errorf("%q: %v", tc.src, err)
		}
		c, err := Clone(rb)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.GroupBy, rb.GroupBy) {
			t.Errorf("%q: clone's group_by %+v, want %+v", tc.src, c.GroupBy, rb.GroupBy)
		}
	}
}

func TestParse(t *testing.T) {
	src := `name: x
description: |
  two
  lines
steps:
  - id: a
    check:
      action: core.http
      with:
        big: 18446744073709551615
        small: 5
        neg: -2
        list: [1, {n: 2}]
  - id: g
    parallel:
      - id: b
        check: {action: core.wait, with: {duration: 1m}}
      -   id: c
          parallel:
            - {id: d, check: {action: core.wait}}
`
	rb, err := Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if rb.Description != "two\nlines\n" || rb.Source != "x.yaml" {
		t.Errorf("description %q, source %q", rb.Description, rb.Source)
	}
	with := rb.Steps[0].Check.With
	want := map[string]any{"big": uint64(18446744073709551615), "small": int64(5), "neg": int64(-2), "list": []any{int64(1), map[string]any{"n": int64(2)}}}
	if !reflect.DeepEqual(with, want) {
		t.Errorf("with = %#v, want %#v (integers as int64)", with, want)
	}
	g := rb.Steps[1]
	for _, tc := range []struct {
		s    Step
		want Pos
	}{
		{rb.Steps[0], Pos{6, 5}},
		{g, Pos{14, 5}},
		{g.Parallel[0], Pos{16, 9}},
		{g.Parallel[1], Pos{18, 11}},
		{g.Parallel[1].Parallel[0], Pos{20, 16}},
	} {
		if tc.s.Pos != tc.want {
			t.Errorf("step %s at %s, want %s", tc.s.ID, tc.s.Pos, tc.want)
		}
	}
}

func TestLoadOverride(t *testing.T) {
	set, err := Load("testdata/override")
	if err != nil {
		t.Fatal(err)
	}
	rb, ok := set.Get("snowflake-load-failed")
	if !ok || rb.Owner != "ops" || rb.Source != "testdata/override/snowflake-load-failed.yaml" {
		t.Fatalf("snowflake-load-failed: %+v, want the operator's", rb)
	}
	if got := set.Overrides(); !reflect.DeepEqual(got, []string{"testdata/override/snowflake-load-failed.yaml overrides embedded:snowflake-load-failed.yaml"}) {
		t.Errorf("overrides: %q", got)
	}
	if _, ok := set.Get("extra"); !ok {
		t.Error("the .yml file was not loaded")
	}
	var names []string
	for _, rb := range set.Runbooks() {
		names = append(names, rb.Name)
	}
	if strings.Join(names, " ") != "dbt-cloud-job-failed dbt-model-regression extra s3-partition-missing snowflake-load-failed" {
		t.Errorf("runbooks not sorted by name: %v", names)
	}
	if _, err := Load("testdata/nope"); err == nil || !strings.Contains(err.Error(), "runbook directory") {
		t.Errorf("missing directory: %v", err)
	}
}

func TestLoadProblems(t *testing.T) {
	rb := func(name string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("name: " + name + "\ndescription: d\nowner: o\nmatch: {service: " + name + "}\nsteps:\n  - id: a\n    check: {action: core.wait, with: {duration: 1m}}\n")}
	}
	set, err := LoadLayers(Layer{FS: fstest.MapFS{
		"a.yaml":      rb("same"),
		"b.yaml":      rb("same"),
		"broken.yaml": {Data: []byte("name: [\n")},
		"good.yaml":   rb("good"),
	}, Prefix: "dir/"})
	wantProblems(t, err, []string{
		"dir/b.yaml:1:7: runbook name \"same\" is also used by dir/a.yaml:1:7",
		"dir/broken.yaml:1:7: sequence end token",
	})
	if set == nil || set.Len() != 3 {
		t.Fatalf("set keeps the files that decoded: %v", set)
	}
	if got, _ := set.Get("same"); got == nil || got.Source != "dir/a.yaml" {
		t.Errorf("Get(same) = %+v, want the first file's", got)
	}
}

// TestLineBreaks checks that CRLF and CR files get the same positions as
// LF ones.
func TestLineBreaks(t *testing.T) {
	lf := "name: x\ndescription: |\n  d\nowner: o\nmatch: {service: s}\nsteps:\n  - id: a\n    when: >-\n      alert.source == 'x' &&\n      alert.lables.y == 'z'\n    check: {action: core.wait, with: {duration: 1m}}\n"
	for _, br := range []string{"\n", "\r\n", "\r"} {
		src := strings.ReplaceAll(lf, "\n", br)
		set, err := LoadLayers(Layer{FS: fstest.MapFS{"x.yaml": {Data: []byte(src)}}})
		if err != nil {
			t.Fatalf("%q: %v", br, err)
		}
		if rb, _ := set.Get("x"); rb.Description != "d\n" || rb.Steps[0].Pos != (Pos{7, 5}) {
			t.Errorf("%q: description %q, step at %s", br, rb.Description, rb.Steps[0].Pos)
		}
		wantProblems(t, Validate(set, testCatalog()), []string{`x.yaml:10:13: when: alert has no field "lables"`})
	}
}

// TestYAMLMistakePositions checks that a YAML mistake is reported on the
// line a person must edit, not where the YAML parser gave up: for an
// over-indented key that is the line above, for an unclosed flow mapping
// the line below.
func TestYAMLMistakePositions(t *testing.T) {
	const head = "name: mistakes\ndescription: d\nowner: o\nmatch:\n  labels: {alertname: X}\n  service: s\n"
	const steps = "steps:\n  - id: wait\n    check: {action: core.wait, with: {duration: 1m}}\n"
	for _, tc := range []struct {
		name, src, want string
	}{
		// Line 8's key is indented more than line 7's: YAML reads it as
		// more of line 7's value, "10", and the parser reported 7:13.
		{"over-indented key", head + "  priority: 10\n    sources: [cli]\n" + steps,
			`x.yaml:8:5: mapping value is not allowed in this context: "sources" is indented more than the key above it, so YAML reads it as more of the value "10" on line 7; line it up with the keys of its mapping`},
		{"over-indented key after a blank line", head + "  priority: 10\n\n    sources: [cli]\n" + steps,
			`x.yaml:9:5: mapping value is not allowed in this context: "sources" is indented more than the key above it, so YAML reads it as more of the value "10" on line 7`},
		{"over-indented key opening a block", head + "steps:\n  - id: a\n    check:\n      action: core.http\n        with:\n          url: http://x\n",
			`x.yaml:11:9: mapping value is not allowed in this context: "with" is indented more than the key above it, so YAML reads it as more of the value "core.http" on line 10`},
		{"tab indentation", head + "  priority: 10\n\tsources: [cli]\n" + steps,
			`x.yaml:8:1: found character '\t' that cannot start any token: a tab; YAML indents with spaces only`},
		{"unclosed double quote", head + steps + "    when: \"alert.title == 'x'\n",
			"x.yaml:10:11: could not find end character of double-quoted text: the quote that opens here is not closed"},
		{"unclosed quote closed by a later one", head + "steps:\n  - id: wait\n    description: \"wait a minute\n    check: {action: \"core.wait\", with: {duration: 1m}}\n",
			"x.yaml:9:18: value is not allowed in this context. map key-value is pre-defined (at 10:22): the quoted value that opens here runs on to line 10, where the next quote closes it; is its closing quote missing on this line?"},
		{"unclosed flow mapping", head + "steps:\n  - id: wait\n    check: {action: core.wait, with: {duration: 1m}\n  - id: again\n    check: {action: core.wait}\n",
			`x.yaml:9:52: ',' or '}' must be specified after "}": the "{" at 9:12 is not closed`},
		{"unclosed flow list", head + "  sources: [cli, airflow\n" + steps,
			`x.yaml:7:25: ',' or ']' must be specified after "airflow": the "[" at 7:12 is not closed`},
		{"duplicate key", head + "  service: t\n" + steps,
			`x.yaml:7:3: mapping key "service" already defined at [6:3]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, br := range []string{"\n", "\r\n"} {
				_, err := Parse("x.yaml", []byte(strings.ReplaceAll(tc.src, "\n", br)))
				var ps Problems
				if !errors.As(err, &ps) || len(ps) != 1 {
					t.Fatalf("%q: error %v, want one problem", br, err)
				}
				if got := ps[0].Error(); !strings.HasPrefix(got, tc.want) {
					t.Errorf("%q:\n got  %s\n want %s", br, got, tc.want)
				}
			}
		})
	}
}

// TestLoadOtherFiles: YAML that is not a runbook at all (a roster, other
// configuration) is left out and listed, not reported as a broken runbook;
// a runbook with mistakes is still a problem.
func TestLoadOtherFiles(t *testing.T) {
	roster := "team: data\ntimezone: UTC\npeople: [{id: a}]\nshifts: [{name: day, start: \"00:00\", end: \"00:00\", commander: a}]\n"
	set, err := LoadLayers(Layer{FS: fstest.MapFS{
		"roster.yaml":  {Data: []byte("# the roster\n" + roster)},
		"deploy.yaml":  {Data: []byte("apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n")},
		"nested.yml":   {Data: []byte("runbook:\n  name: x\n")},
		"typos.yaml":   {Data: []byte("name: typos\nowners: o\n")},            // one runbook field: a runbook
		"empty.yaml":   {Data: []byte("{}\n")},                                // no keys: a runbook that says nothing
		"list.yaml":    {Data: []byte("- team: a\n")},                         // not a mapping
		"mixed.yaml":   {Data: []byte("team: a\n---\nname: b\n")},             // a document with a runbook field
		"broken.yaml":  {Data: []byte("team: a\n  people: [\n")},              // not YAML
		"comment.yaml": {Data: []byte("# nothing yet\n")},                     // empty
		"tab.yaml":     {Data: []byte("team: a\n\tpeople: []\n")},             // not YAML
		"dup.yaml":     {Data: []byte("team: a\nteam: b\n")},                  // not YAML
		"utf8.yaml":    {Data: []byte("team: \xff\n")},                        // not text
		"scalar.yaml":  {Data: []byte("just words\n")},                        // not a mapping
		"tagged.yaml":  {Data: []byte("!!map {team: a}\n")},                   // a tagged mapping: not taken for other YAML
		"merge.yaml":   {Data: []byte("base: &b {a: 1}\nother:\n  <<: *b\n")}, // anchors are not for runbooks, but this is none
	}, Prefix: "dir/"})
	var got []string
	for _, o := range set.OtherFiles() {
		got = append(got, o.File+" "+strings.Join(o.Keys, ","))
		if o.File == "dir/roster.yaml" && !strings.HasSuffix(string(o.Src), roster) {
			t.Errorf("roster's Src = %q", o.Src)
		}
	}
	want := []string{"dir/deploy.yaml apiVersion,kind,apiVersion,kind", "dir/merge.yaml base,other", "dir/nested.yml runbook", "dir/roster.yaml team,timezone,people,shifts"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OtherFiles:\n got  %q\n want %q", got, want)
	}
	var names []string
	for _, rb := range set.Runbooks() {
		names = append(names, rb.Source)
	}
	if !reflect.DeepEqual(names, []string{"dir/empty.yaml"}) {
		t.Errorf("runbooks from %q, want only dir/empty.yaml", names)
	}
	wantProblems(t, err, []string{
		"dir/broken.yaml:2:3: mapping value is not allowed",
		"dir/comment.yaml:1:1: empty file",
		"dir/dup.yaml:2:1: mapping key \"team\" already defined",
		"dir/list.yaml:1:1: a runbook is a mapping",
		"dir/mixed.yaml:3:1: a runbook file holds one runbook",
		"dir/scalar.yaml:1:1: a runbook is a mapping",
		"dir/tab.yaml:2:1: found character",
		"dir/tagged.yaml:1:1: a runbook is a mapping (name: ..., steps: ...), not a tag",
		"dir/typos.yaml:2:1: unknown field \"owners\"",
		"dir/utf8.yaml:1:7: file is not valid UTF-8",
	})
}
