package lineage_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
)

func shopGraph(t testing.TB, p manifesttest.Project) *lineage.Graph {
	t.Helper()
	m, err := lineage.Decode(bytes.NewReader(manifesttest.Generate(p)))
	if err != nil {
		t.Fatal(err)
	}
	return lineage.NewGraph(m)
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// The small project's traversals, checked against lineage worked out by
// hand (see shop), with parent_map/child_map and, when the manifest has
// none, from depends_on.
func TestTraversal(t *testing.T) {
	tid := func(test, model, col string) string { return manifesttest.TestID("shop", test, model, col) }
	downAll := []string{
		"1:model.shop.orders",
		"1:snapshot.shop.orders_snapshot",
		"2:exposure.shop.ops_notebook",
		"2:model.shop.customers",
		"2:model.shop.orders_archive",
		"2:model.shop.revenue_daily",
		"2:" + tid("not_null", "orders", "order_id"),
		"2:" + tid("relationships", "orders", "customer_id"),
		"2:" + tid("unique", "orders", "order_id"),
		"3:exposure.shop.revenue_dashboard",
		"3:model.shop.customer_ltv",
		"3:" + tid("unique", "customers", "customer_id"),
		"4:exposure.shop.ltv_model",
	}
	slices.SortFunc(downAll[6:9], func(a, b string) int { return cmpStr(a, b) })
	upAll := []string{
		"1:model.shop.customers",
		"1:model.shop.revenue_daily",
		"2:model.shop.orders",
		"2:model.shop.stg_customers",
		"2:seed.shop.country_codes",
		"3:model.shop.stg_orders",
		"3:model.shop.stg_payments",
		"3:source.shop.raw.customers",
		"4:source.shop.raw.orders",
		"4:source.shop.raw.payments",
	}
	for _, omit := range []bool{false, true} {
		p := shop()
		p.OmitMaps = omit
		g := shopGraph(t, p)
		if omit != (g.Manifest.ParentMap == nil) {
			t.Fatalf("OmitMaps %v but parent_map present %v", omit, g.Manifest.ParentMap != nil)
		}
		check(t, "downstream of stg_orders", ids(g.Downstream("model.shop.stg_orders", 0)), downAll)
		check(t, "downstream of stg_orders, depth 2", ids(g.Downstream("model.shop.stg_orders", 2)), downAll[:9])
		check(t, "downstream of stg_orders, depth 1", ids(g.Downstream("model.shop.stg_orders", 1)), downAll[:2])
		check(t, "upstream of customer_ltv", ids(g.Upstream("model.shop.customer_ltv", 0)), upAll)
		check(t, "upstream of customer_ltv, depth 2", ids(g.Upstream("model.shop.customer_ltv", 2)), upAll[:5])
		check(t, "downstream of a leaf", ids(g.Downstream("model.shop.orders_archive", 0)), []string{})
		check(t, "upstream of a source", ids(g.Upstream("source.shop.raw.orders", 0)), []string{})
		if h := g.Downstream("model.shop.nope", 0); h != nil {
			t.Errorf("unknown start: %v", ids(h))
		}
		// The group's owner stands in for a node without one.
		if n, _ := g.Node("model.shop.revenue_daily"); n.Owner() != "finance-analytics" || n.Materialized != "incremental" {
			t.Errorf("revenue_daily: owner %q, materialized %q", n.Owner(), n.Materialized)
		}
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The hand-written dbt 1.8 fixture: every owner form, group owners,
// exposures with a list of emails, nodes known only from the maps
// (semantic model, metric), the skipped sections.
func TestDecodeFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/bikeshop_manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := lineage.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if m.DBTVersion != "1.8.7" || m.SchemaVersion != "https://schemas.getdbt.com/dbt/manifest/v12.json" || m.ProjectName != "bikeshop" {
		t.Errorf("metadata: %q %q %q", m.DBTVersion, m.SchemaVersion, m.ProjectName)
	}
	if len(m.Nodes) != 8 || len(m.Groups) != 1 || len(m.ParentMap) != 10 || len(m.ChildMap) != 10 {
		t.Errorf("nodes %d groups %d parent_map %d child_map %d", len(m.Nodes), len(m.Groups), len(m.ParentMap), len(m.ChildMap))
	}
	g := lineage.NewGraph(m)
	if g.Len() != 10 {
		t.Errorf("graph has %d nodes, want 10 (8 and a semantic model and a metric)", g.Len())
	}
	for id, want := range map[string]struct {
		typ, mat, owners, path string
	}{
		"model.bikeshop.stg_rentals":              {"model", "view", "ops", "models/staging/stg_rentals.sql"},
		"model.bikeshop.stg_bikes":                {"model", "view", "fleet-team", "models/staging/stg_bikes.sql"},
		"model.bikeshop.rentals_daily":            {"model", "incremental", "Finance Analytics", "models/marts/rentals_daily.sql"},
		"seed.bikeshop.stations":                  {"seed", "seed", "", "seeds/stations.csv"},
		"source.bikeshop.fleet.rentals":           {"source", "", "platform,ops", "models/staging/_sources.yml"},
		"exposure.bikeshop.utilisation_dashboard": {"exposure", "", "ana@bikeshop.example,bo@bikeshop.example", "models/marts/_exposures.yml"},
		"metric.bikeshop.total_rentals":           {"metric", "", "", ""},
	} {
		n, ok := g.Node(id)
		if !ok {
			t.Errorf("no node %s", id)
			continue
		}
		owners := ""
		for i, o := range n.Owners {
			if i > 0 {
				owners += ","
			}
			owners += o
		}
		if n.ResourceType != want.typ || n.Materialized != want.mat || owners != want.owners || n.OriginalFilePath != want.path {
			t.Errorf("%s: type %q materialized %q owners %q path %q, want %+v", id, n.ResourceType, n.Materialized, owners, n.OriginalFilePath, want)
		}
	}
	e, _ := g.Node("exposure.bikeshop.utilisation_dashboard")
	if e.ExposureType != "dashboard" || e.Maturity != "high" || e.URL != "https://bi.bikeshop.example/dashboards/7" || e.Label != "Utilisation" {
		t.Errorf("exposure: %+v", e)
	}
	if s, _ := g.Node("source.bikeshop.fleet.rentals"); s.SourceName != "fleet" || s.Name != "rentals" {
		t.Errorf("source: %+v", s)
	}
	check(t, "downstream of fleet.rentals", ids(g.Downstream("source.bikeshop.fleet.rentals", 0)), []string{
		"1:model.bikeshop.stg_rentals",
		"2:model.bikeshop.rentals_daily",
		"2:test.bikeshop.not_null_stg_rentals_rental_id.5c2a1e9b7d",
		"3:exposure.bikeshop.utilisation_dashboard",
		"3:semantic_model.bikeshop.rentals",
		"4:metric.bikeshop.total_rentals",
	})
	check(t, "upstream of the metric", ids(g.Upstream("metric.bikeshop.total_rentals", 0)), []string{
		"1:semantic_model.bikeshop.rentals",
		"2:model.bikeshop.rentals_daily",
		"3:model.bikeshop.stg_bikes",
		"3:model.bikeshop.stg_rentals",
		"4:source.bikeshop.fleet.bikes",
		"4:source.bikeshop.fleet.rentals",
	})
}

func TestResolve(t *testing.T) {
	g := shopGraph(t, shop())
	for ref, want := range map[string]string{
		"model.shop.orders":      "model.shop.orders",
		"orders":                 "model.shop.orders", // the model, not the source table of that name
		" orders ":               "model.shop.orders",
		"raw.orders":             "source.shop.raw.orders",
		"source.shop.raw.orders": "source.shop.raw.orders",
		"country_codes":          "seed.shop.country_codes",
		"orders_snapshot":        "snapshot.shop.orders_snapshot",
		"revenue_dashboard":      "exposure.shop.revenue_dashboard",
		"model.legacy.events":    "model.legacy.events",
	} {
		n, err := g.Resolve(ref)
		if err != nil || n.UniqueID != want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", ref, n, err, want)
		}
	}

	_, err := g.Resolve("events")
	var amb *lineage.AmbiguousNodeError
	if !errors.As(err, &amb) || !slices.Equal(amb.Candidates, []string{"model.legacy.events", "model.shop.events"}) {
		t.Errorf("events: %v", err)
	}

	for ref, want := range map[string][]string{
		"ordrs":      {"orders"},
		"custmers":   {"customers"},
		"revenue":    {"revenue_daily", "revenue_dashboard"},
		"zzzzzzzzzz": {},
	} {
		_, err := g.Resolve(ref)
		var un *lineage.UnknownNodeError
		if !errors.As(err, &un) {
			t.Errorf("Resolve(%q): %v", ref, err)
			continue
		}
		for _, w := range want {
			if !slices.Contains(un.Suggestions, w) {
				t.Errorf("Resolve(%q) suggests %q, want %q among them", ref, un.Suggestions, w)
			}
		}
		if len(want) == 0 && len(un.Suggestions) != 0 {
			t.Errorf("Resolve(%q) suggests %q", ref, un.Suggestions)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := manifesttest.Generate(shop())
	for name, tc := range map[string]struct {
		in     string
		offset int64
		msg    string
	}{
		"syntax":     {in: `{"metadata": {"dbt_version": "1.8.0"}, "nodes": {"model.a.b": {"name": "b",, }}}`, offset: 76, msg: "invalid character looking for beginning of object key"},
		"truncated":  {in: string(good[:len(good)/2]), msg: "unexpected end"},
		"nodes list": {in: `{"metadata": {}, "nodes": []}`, offset: 27, msg: "nodes: want an object"},
		"wrong type": {in: `{"nodes": {"model.a.b": {"name": 7}}}`, msg: "number"},
		"not object": {in: `[1, 2]`, msg: "manifest: want an object"},
		"not dbt":    {in: `{"hello": "world"}`, msg: "not a dbt manifest"},
		"trailing":   {in: `{"nodes": {}, "metadata": {"dbt_version": "1"}} {}`, msg: "after the manifest"},
		"empty":      {in: ``, msg: "unexpected end"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := lineage.Decode(bytes.NewReader([]byte(tc.in)))
			var se *lineage.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want a SyntaxError, got %v", err)
			}
			if tc.offset != 0 && se.Offset != tc.offset {
				t.Errorf("offset %d, want %d (%v)", se.Offset, tc.offset, err)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.msg)) || !bytes.Contains([]byte(err.Error()), []byte("at byte")) {
				t.Errorf("error %q, want it to mention %q and the byte offset", err, tc.msg)
			}
		})
	}
}

// A dbt 1.6 (v10) manifest: exposure owners with a plain email, no
// unit_tests, semantic_models or saved_queries sections, and (as some
// tools that trim manifests leave it) no parent_map or child_map.
func TestDecodeV10(t *testing.T) {
	const v10 = `{
  "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v10.json", "dbt_version": "1.6.9",
    "generated_at": "2025-03-01T00:00:00Z", "invocation_id": "x", "env": {}, "project_id": "p", "adapter_type": "postgres"},
  "nodes": {
    "model.legacy.a": {"name": "a", "resource_type": "model", "package_name": "legacy", "unique_id": "model.legacy.a",
      "original_file_path": "models/a.sql", "config": {"materialized": "table", "meta": {"owner": "team-a"}},
      "meta": {}, "raw_code": "select 1", "depends_on": {"macros": [], "nodes": []}},
    "model.legacy.b": {"name": "b", "resource_type": "model", "package_name": "legacy", "unique_id": "model.legacy.b",
      "original_file_path": "models/b.sql", "config": {"materialized": "view"}, "meta": {},
      "depends_on": {"macros": [], "nodes": ["model.legacy.a"]}}
  },
  "sources": {},
  "macros": {"macro.legacy.m": {"name": "m", "macro_sql": "{% macro m() %}{% endmacro %}"}},
  "docs": {},
  "exposures": {"exposure.legacy.board": {"name": "board", "resource_type": "exposure", "package_name": "legacy",
    "unique_id": "exposure.legacy.board", "type": "dashboard", "maturity": "medium",
    "owner": {"email": "bi@legacy.example", "name": null}, "depends_on": {"macros": [], "nodes": ["model.legacy.b"]}}},
  "metrics": {}, "groups": {}, "selectors": {}, "disabled": {}, "group_map": {}, "semantic_models": {}
}`
	m, err := lineage.Decode(bytes.NewReader([]byte(v10)))
	if err != nil {
		t.Fatal(err)
	}
	g := lineage.NewGraph(m)
	check(t, "downstream of a", ids(g.Downstream("model.legacy.a", 0)), []string{"1:model.legacy.b", "2:exposure.legacy.board"})
	if n, _ := g.Node("model.legacy.a"); n.Owner() != "team-a" || n.Materialized != "table" {
		t.Errorf("a: %+v", n)
	}
	if e, _ := g.Node("exposure.legacy.board"); e.Owner() != "bi@legacy.example" {
		t.Errorf("board: %+v", e)
	}
}

// failingReader breaks after some bytes, as a dropped connection does.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// A reader's failure is a ReadError (retryable), not a syntax error.
func TestDecodeReadError(t *testing.T) {
	good := manifesttest.Generate(shop())
	boom := errors.New("connection reset by peer")
	_, err := lineage.Decode(&failingReader{data: good[:len(good)/3], err: boom})
	var re *lineage.ReadError
	if !errors.As(err, &re) || !errors.Is(err, boom) {
		t.Errorf("want a ReadError wrapping the reader's error, got %T %v", err, err)
	}
}

// A versioned model's bare name means its latest version, as ref does.
func TestResolveVersions(t *testing.T) {
	const doc = `{"metadata": {"dbt_version": "1.8.7"}, "nodes": {
  "model.p.orders.v1": {"name": "orders", "resource_type": "model", "package_name": "p", "version": 1, "latest_version": 2},
  "model.p.orders.v2": {"name": "orders", "resource_type": "model", "package_name": "p", "version": 2, "latest_version": 2},
  "model.p.items.v1": {"name": "items", "resource_type": "model", "package_name": "p", "version": "1", "latest_version": "3"},
  "model.p.items.v2": {"name": "items", "resource_type": "model", "package_name": "p", "version": "2", "latest_version": "3"}}}`
	m, err := lineage.Decode(bytes.NewReader([]byte(doc)))
	if err != nil {
		t.Fatal(err)
	}
	g := lineage.NewGraph(m)
	if n, err := g.Resolve("orders"); err != nil || n.UniqueID != "model.p.orders.v2" {
		t.Errorf("orders: %v %v", n, err)
	}
	// No node is the latest version (it is disabled, say): ambiguous.
	var amb *lineage.AmbiguousNodeError
	if _, err := g.Resolve("items"); !errors.As(err, &amb) {
		t.Errorf("items: %v", err)
	}
}
