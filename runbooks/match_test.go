package runbooks

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// runbookYAML writes a minimal valid runbook with the given match block
// (indented under match:).
func runbookYAML(name, match string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(fmt.Sprintf(`name: %s
description: d
owner: o
match:
%s
steps:
  - id: a
    check: {action: core.wait, with: {duration: 1m}}
`, name, match))}
}

func matchSet(t *testing.T, files map[string]string) *Set {
	t.Helper()
	m := fstest.MapFS{}
	for name, match := range files {
		m[name+".yaml"] = runbookYAML(name, match)
	}
	set, err := LoadLayers(Layer{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestMatch(t *testing.T) {
	set := matchSet(t, map[string]string{
		"orders":      "  labels: {alertname: OrdersLoadFailed}",
		"orders-prod": "  labels: {alertname: OrdersLoadFailed, env: prod}\n  priority: 10",
		"dbt":         "  sources: [dbt_cloud]\n  labels_regex: {model: \"^fct_\"}\n  labels: {alertname: Dbt}",
		"title":       "  title: \"(?i)^s3 partition\"\n  service: lake\n  labels: {alertname: S3}",
	})
	if err := Validate(set, testCatalog()); err != nil {
		t.Fatalf("set does not validate:\n%v", err)
	}
	for _, tc := range []struct {
		alert AlertFacts
		want  string
	}{
		{AlertFacts{Source: "alertmanager", Labels: map[string]string{"alertname": "OrdersLoadFailed"}}, "orders"},
		// Both orders runbooks match; the higher priority wins.
		{AlertFacts{Source: "alertmanager", Labels: map[string]string{"alertname": "OrdersLoadFailed", "env": "prod"}}, "orders-prod"},
		{AlertFacts{Source: "alertmanager", Labels: map[string]string{"alertname": "OrdersLoadFailed", "env": "dev"}}, "orders"},
		{AlertFacts{Source: "dbt_cloud", Labels: map[string]string{"alertname": "Dbt", "model": "fct_orders"}}, "dbt"},
		{AlertFacts{Source: "dbt_cloud", Labels: map[string]string{"alertname": "Dbt", "model": "stg_orders"}}, ""},
		{AlertFacts{Source: "airflow", Labels: map[string]string{"alertname": "Dbt", "model": "fct_orders"}}, ""},
		{AlertFacts{Source: "dbt_cloud", Labels: map[string]string{"alertname": "Dbt"}}, ""}, // regex label missing
		{AlertFacts{Source: "generic", Title: "S3 partition missing", Service: "lake", Labels: map[string]string{"alertname": "S3"}}, "title"},
		{AlertFacts{Source: "generic", Title: "S3 partition missing", Service: "warehouse", Labels: map[string]string{"alertname": "S3"}}, ""},
		{AlertFacts{Source: "generic", Title: "partition missing", Service: "lake", Labels: map[string]string{"alertname": "S3"}}, ""},
		{AlertFacts{Source: "generic"}, ""},
	} {
		rb, err := set.Match(tc.alert)
		if err != nil {
			t.Errorf("%+v: %v", tc.alert, err)
			continue
		}
		got := ""
		if rb != nil {
			got = rb.Name
		}
		if got != tc.want {
			t.Errorf("%+v matched %q, want %q", tc.alert, got, tc.want)
		}
	}
}

func TestMatchAmbiguous(t *testing.T) {
	set := matchSet(t, map[string]string{
		"a": "  labels: {alertname: X}",
		"b": "  labels_regex: {alertname: \"^X\"}",
		"c": "  labels: {alertname: X}\n  priority: -1",
	})
	_, err := set.Match(AlertFacts{Labels: map[string]string{"alertname": "X"}})
	var amb *AmbiguousError
	if !errors.As(err, &amb) || !reflect.DeepEqual(amb.Names, []string{"a", "b"}) || amb.Priority != 0 {
		t.Fatalf("Match: %v, want a and b ambiguous at priority 0", err)
	}
	// Validation says so first, naming both files.
	wantProblems(t, Validate(set, testCatalog()), []string{
		`a.yaml:5:3: match overlaps runbook "b" (b.yaml:5:3): one alert can match both at priority 0`,
		`b.yaml:5:3: match overlaps runbook "a" (a.yaml:5:3): one alert can match both at priority 0`,
	})
}

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a, b    string
		overlap bool
	}{
		{"same label", "  labels: {alertname: X}", "  labels: {alertname: X}", true},
		{"different label values", "  labels: {alertname: X}", "  labels: {alertname: Y}", false},
		{"different labels", "  labels: {alertname: X}", "  labels: {team: data}", true},
		{"exact value the regex rejects", "  labels: {table: orders}", "  labels_regex: {table: \"^fct_\"}", false},
		{"exact value the regex accepts", "  labels: {table: fct_orders}", "  labels_regex: {table: \"^fct_\"}", true},
		{"disjoint sources", "  sources: [airflow]\n  labels: {x: y}", "  sources: [dbt_cloud, cli]\n  labels: {x: y}", false},
		{"shared source", "  sources: [airflow, cli]", "  sources: [cli]", true},
		{"one without sources", "  sources: [airflow]", "  labels: {x: y}", true},
		{"different services", "  service: orders", "  service: lake", false},
		{"titles prove nothing", "  title: \"^a\"", "  title: \"^b\"", true},
		{"priorities differ", "  labels: {alertname: X}\n  priority: 1", "  labels: {alertname: X}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := matchSet(t, map[string]string{"a": tc.a, "b": tc.b})
			err := Validate(set, testCatalog())
			if got := err != nil && strings.Contains(err.Error(), "match overlaps"); got != tc.overlap {
				t.Errorf("overlap = %v, want %v (%v)", got, tc.overlap, err)
			}
		})
	}
}

func TestMismatchReasons(t *testing.T) {
	m := Match{Sources: []string{"airflow"}, Labels: map[string]string{"a": "1", "b": "2"}, LabelsRegex: map[string]string{"t": "^x", "u": "^y"}, Title: "load", Service: "orders"}
	got := MismatchReasons(m, AlertFacts{Source: "cli", Title: "other", Service: "lake", Labels: map[string]string{"a": "9", "t": "z"}}, nil)
	want := []string{
		`source is "cli", want one of airflow`,
		`service is "lake", want "orders"`,
		`label a is "9", want "1"`,
		`label b is missing, want "2"`,
		`label t is "z", which does not match /^x/`,
		`label u is missing, want a match of /^y/`,
		`title "other" does not match /load/`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reasons:\n%q\nwant\n%q", got, want)
	}
	if r := MismatchReasons(Match{Title: "("}, AlertFacts{}, nil); len(r) != 1 || !strings.Contains(r[0], "missing closing )") {
		t.Errorf("bad regexp: %q", r)
	}
}
