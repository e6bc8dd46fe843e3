package manifesttest_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
)

// The generated file has dbt 1.8's top-level sections and node fields.
func TestGenerateShape(t *testing.T) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(manifesttest.Generate(manifesttest.DbtDemo()), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"metadata", "nodes", "sources", "macros", "docs", "exposures", "metrics", "groups",
		"selectors", "disabled", "parent_map", "child_map", "group_map", "saved_queries", "semantic_models", "unit_tests"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no top-level %q", k)
		}
	}
	var nodes map[string]map[string]any
	if err := json.Unmarshal(m["nodes"], &nodes); err != nil {
		t.Fatal(err)
	}
	orders := nodes["model.analytics.orders"]
	for _, k := range []string{"unique_id", "resource_type", "package_name", "original_file_path", "config", "depends_on", "raw_code", "compiled_code", "refs", "fqn", "checksum"} {
		if _, ok := orders[k]; !ok {
			t.Errorf("model has no %q", k)
		}
	}
	var parents map[string][]string
	if err := json.Unmarshal(m["parent_map"], &parents); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(parents["model.analytics.orders"], []string{"model.analytics.stg_orders"}) ||
		!slices.Equal(parents[manifesttest.TestID("analytics", "not_null", "orders", "amount")], []string{"model.analytics.orders"}) {
		t.Errorf("parent_map %v", parents)
	}
	p := manifesttest.DbtDemo()
	p.OmitMaps = true
	if bytes.Contains(manifesttest.Generate(p), []byte(`"parent_map"`)) {
		t.Error("OmitMaps kept parent_map")
	}
}

// Large is deterministic for a seed and different across seeds.
func TestLargeDeterministic(t *testing.T) {
	_, a := manifesttest.Large(300, 1)
	_, b := manifesttest.Large(300, 1)
	_, c := manifesttest.Large(300, 2)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("same seed equal %v, other seed equal %v", bytes.Equal(a, b), bytes.Equal(a, c))
	}
	if !json.Valid(a) {
		t.Error("invalid JSON")
	}
}

func TestUnknownRefPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a reference to an undefined model")
		}
	}()
	manifesttest.Generate(manifesttest.Project{Models: []manifesttest.Model{{Name: "a", Refs: []string{"nope"}}}})
}
