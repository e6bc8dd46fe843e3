package lineage_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	"github.com/datasev/datasev/runbooks"
)

func newActions(t *testing.T, p manifesttest.Project) (*lineage.Actions, func(action string, with map[string]any) (runbooks.ActionResult, error), string) {
	t.Helper()
	path := writeManifest(t, manifesttest.Generate(p))
	a := lineage.NewWithCache(lineage.NewCache(lineage.Sources{}, lineage.CacheOptions{Logger: quiet}))
	e := register(a)
	return a, func(action string, with map[string]any) (runbooks.ActionResult, error) {
		t.Helper()
		return run(t, e, action, with)
	}, path
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func TestDownstreamAction(t *testing.T) {
	_, exec, path := newActions(t, shop())
	res, err := exec(lineage.DownstreamName, map[string]any{"manifest": path, "node": "stg_orders"})
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output
	if out["ok"] != true || out["node"] != "model.shop.stg_orders" || num(out["count"]) != 9 || num(out["exposure_count"]) != 3 || out["truncated"] != false {
		t.Errorf("output: %v", out)
	}
	byType := map[string]int{}
	for k, v := range out["by_type"].(map[string]any) {
		byType[k] = num(v)
	}
	if !maps.Equal(byType, map[string]int{"model": 5, "snapshot": 1, "exposure": 3}) {
		t.Errorf("by_type %v", byType)
	}
	check(t, "models", strs(out["models"]), []string{"orders", "customers", "orders_archive", "revenue_daily", "customer_ltv"})
	check(t, "owners", strs(out["owners"]), []string{"data-platform", "ds@shop.example", "finance", "finance-analytics", "growth", "ops"}[1:])
	var exps []string
	for _, e := range out["exposures"].([]any) {
		m := e.(map[string]any)
		exps = append(exps, m["name"].(string)+"|"+m["type"].(string)+"|"+m["maturity"].(string)+"|"+m["owner"].(string)+"|"+m["url"].(string))
	}
	check(t, "exposures", exps, []string{
		"ltv_model|ml|medium|ds@shop.example|",
		"ops_notebook|notebook|low|ops|",
		"revenue_dashboard|dashboard|high|finance|https://bi.shop.example/d/1",
	})
	var nodes []string
	for _, n := range out["nodes"].([]any) {
		m := n.(map[string]any)
		nodes = append(nodes, strings.Join([]string{
			m["unique_id"].(string), m["name"].(string), m["resource_type"].(string), string(rune('0' + num(m["depth"]))), m["owner"].(string),
		}, "|"))
	}
	check(t, "nodes", nodes, []string{
		"model.shop.orders|orders|model|1|finance",
		"snapshot.shop.orders_snapshot|orders_snapshot|snapshot|1|",
		"exposure.shop.ops_notebook|ops_notebook|exposure|2|ops",
		"model.shop.customers|customers|model|2|growth",
		"model.shop.orders_archive|orders_archive|model|2|ops",
		"model.shop.revenue_daily|revenue_daily|model|2|finance-analytics",
		"exposure.shop.revenue_dashboard|revenue_dashboard|exposure|3|finance",
		"model.shop.customer_ltv|customer_ltv|model|3|growth",
		"exposure.shop.ltv_model|ltv_model|exposure|4|ds@shop.example",
	})
	if out["suggested_severity"] != "SEV2" || !strings.Contains(out["severity_reason"].(string), "revenue_dashboard") {
		t.Errorf("severity %v (%v)", out["suggested_severity"], out["severity_reason"])
	}
	wantSummary := "stg_orders feeds 9 nodes: 3 exposures (1 dashboard, 1 ml, 1 notebook), owners: ds@shop.example, finance, finance-analytics, growth, ops"
	if res.Summary != wantSummary {
		t.Errorf("summary\n got  %q\n want %q", res.Summary, wantSummary)
	}
	for _, want := range []string{"**Downstream of `model.shop.stg_orders`** (9 nodes)", "**Exposures**",
		"- revenue_dashboard (dashboard, high maturity, finance) — https://bi.shop.example/d/1",
		"**Depth 1** (2)", "- `orders` model — finance", "**Depth 4** (1)", "- `ltv_model` exposure — ds@shop.example"} {
		if !strings.Contains(res.Detail, want) {
			t.Errorf("detail lacks %q:\n%s", want, res.Detail)
		}
	}
	// Every declared output is there, and nothing else.
	spec := lineage.DownstreamSpec()
	got := slices.Sorted(maps.Keys(out))
	want := slices.Sorted(slices.Values(spec.Outputs))
	check(t, "output keys", got, want)
}

func TestIncludeTestsAndDepth(t *testing.T) {
	_, exec, path := newActions(t, shop())
	res, err := exec(lineage.DownstreamName, map[string]any{"manifest": path, "node": "model.shop.stg_orders", "include_tests": true})
	if err != nil {
		t.Fatal(err)
	}
	if num(res.Output["count"]) != 13 || num(res.Output["by_type"].(map[string]any)["test"]) != 4 {
		t.Errorf("with tests: count %v, by_type %v", res.Output["count"], res.Output["by_type"])
	}
	res, err = exec(lineage.DownstreamName, map[string]any{"manifest": path, "node": "stg_orders", "depth": 1})
	if err != nil {
		t.Fatal(err)
	}
	if num(res.Output["count"]) != 2 || res.Output["suggested_severity"] != "SEV4" || res.Summary != "stg_orders feeds 2 nodes (within 1): 1 model, 1 snapshot, owners: finance" {
		t.Errorf("depth 1: %v %v %q", res.Output["count"], res.Output["suggested_severity"], res.Summary)
	}
}

func TestUpstreamAction(t *testing.T) {
	_, exec, path := newActions(t, shop())
	res, err := exec(lineage.UpstreamName, map[string]any{"manifest": path, "node": "customer_ltv"})
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output
	if num(out["count"]) != 10 || num(out["exposure_count"]) != 0 {
		t.Errorf("output %v", out)
	}
	if _, ok := out["suggested_severity"]; ok {
		t.Errorf("upstream suggests a severity: %v", out)
	}
	models := strs(out["models"])
	check(t, "models", models, []string{"customers", "revenue_daily", "orders", "stg_customers", "stg_orders", "stg_payments"})
	check(t, "owners", strs(out["owners"]), []string{"data-platform", "finance", "finance-analytics", "growth"})
	if res.Summary != "customer_ltv depends on 10 nodes: 6 models, 1 seed, 3 sources, owners: data-platform, finance, finance-analytics, growth" {
		t.Errorf("summary %q", res.Summary)
	}
	spec := lineage.UpstreamSpec()
	check(t, "output keys", slices.Sorted(maps.Keys(out)), slices.Sorted(slices.Values(spec.Outputs)))
}

// The severity rule, each branch through the action on a project built
// for it.
func TestSuggestedSeverity(t *testing.T) {
	p := shop()
	p.Models = append(p.Models, manifesttest.Model{Name: "wide", Owner: "ops"})
	for i, name := range []string{"w1", "w2", "w3"} {
		p.Exposures = append(p.Exposures, manifesttest.Exposure{Name: name, Type: []string{"dashboard", "notebook", "application"}[i], Maturity: "low", OwnerName: "ops", Refs: []string{"wide"}})
	}
	_, exec, path := newActions(t, p)
	for node, want := range map[string]string{
		"stg_orders":      "SEV2", // a high-maturity dashboard
		"wide":            "SEV2", // three low exposures
		"customers":       "SEV3", // one medium exposure
		"orders_snapshot": "SEV4", // a model only
		"orders_archive":  "SEV5", // nothing
	} {
		res, err := exec(lineage.DownstreamName, map[string]any{"manifest": path, "node": node})
		if err != nil {
			t.Fatal(err)
		}
		if res.Output["suggested_severity"] != want {
			t.Errorf("%s: %v (%v), want %s", node, res.Output["suggested_severity"], res.Output["severity_reason"], want)
		}
	}
	// Without tests counted, a node whose only children are tests has
	// nothing downstream.
	if sev, why := lineage.SuggestSeverity(nil, 0); sev != "SEV5" || why != "nothing downstream" {
		t.Errorf("%s %s", sev, why)
	}
}

func TestActionErrors(t *testing.T) {
	_, exec, path := newActions(t, shop())
	bad := writeManifest(t, []byte(`{"metadata": {"dbt_version": "1.8.0"}, "nodes": {"model.a.b": {"name": "b",, }}}`))
	for name, tc := range map[string]struct {
		with  map[string]any
		typ   string
		parts []string
	}{
		"unknown node":   {map[string]any{"manifest": path, "node": "ordrs"}, lineage.UnknownNodeType, []string{path, `"ordrs"`, "orders"}},
		"ambiguous node": {map[string]any{"manifest": path, "node": "events"}, lineage.AmbiguousNodeType, []string{"model.legacy.events", "model.shop.events"}},
		"no file":        {map[string]any{"manifest": path + ".missing", "node": "orders"}, lineage.NotFoundType, []string{path + ".missing"}},
		"directory":      {map[string]any{"manifest": t.TempDir(), "node": "orders"}, lineage.NotFoundType, []string{"directory"}},
		"invalid json":   {map[string]any{"manifest": "file://" + bad, "node": "b"}, lineage.InvalidManifestType, []string{bad, "at byte 76", "invalid character"}},
		"bad uri":        {map[string]any{"manifest": "ftp://host/manifest.json", "node": "b"}, lineage.BadURIType, []string{"ftp"}},
		"bad s3 uri":     {map[string]any{"manifest": "s3://bucket-only", "node": "b"}, lineage.BadURIType, []string{"s3://bucket/path"}},
		"no s3 client":   {map[string]any{"manifest": "s3://lake/dbt/manifest.json", "node": "b"}, lineage.NotConfiguredType, []string{"s3://", "DATASEV_S3_ENDPOINT"}},
		"no gh client":   {map[string]any{"manifest": "github://acme/dbt/target/manifest.json@main", "node": "b"}, lineage.NotConfiguredType, []string{"github://", "DATASEV_GITHUB"}},
		"negative depth": {map[string]any{"manifest": path, "node": "orders", "depth": -1}, "InvalidInput", []string{"depth -1"}},
		"missing node":   {map[string]any{"manifest": path}, "InvalidInput", []string{`"node" is required`}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := exec(lineage.DownstreamName, tc.with)
			wantErr(t, err, tc.typ, true, tc.parts...)
		})
	}
}

// A node feeding more than MaxListed nodes lists MaxListed and says so;
// the counts stay exact.
func TestTruncated(t *testing.T) {
	p := manifesttest.Project{Name: "fan", Models: []manifesttest.Model{{Name: "root"}}}
	for i := range lineage.MaxListed + 20 {
		p.Models = append(p.Models, manifesttest.Model{Name: "leaf_" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Refs: []string{"root"}})
	}
	_, exec, path := newActions(t, p)
	res, err := exec(lineage.DownstreamName, map[string]any{"manifest": path, "node": "root"})
	if err != nil {
		t.Fatal(err)
	}
	if num(res.Output["count"]) != lineage.MaxListed+20 || len(res.Output["nodes"].([]any)) != lineage.MaxListed || res.Output["truncated"] != true {
		t.Errorf("count %v, %d listed, truncated %v", res.Output["count"], len(res.Output["nodes"].([]any)), res.Output["truncated"])
	}
	if lines := strings.Count(res.Detail, "\n- "); lines > 30 || !strings.Contains(res.Detail, "… and ") {
		t.Errorf("detail has %d items:\n%s", lines, res.Detail)
	}
}

// The demo's project, as the one-command demo and the end-to-end test
// read it: orders feeds customers and two exposures.
func TestDbtDemo(t *testing.T) {
	_, exec, path := newActions(t, manifesttest.DbtDemo())
	res, err := exec(lineage.DownstreamName, map[string]any{"manifest": path, "node": "orders"})
	if err != nil {
		t.Fatal(err)
	}
	want := "orders feeds 3 nodes: 2 exposures (1 dashboard, 1 ml), owners: data-science, finance, growth"
	if res.Summary != want || res.Output["suggested_severity"] != "SEV2" {
		t.Errorf("summary %q (%v), want %q and SEV2", res.Summary, res.Output["suggested_severity"], want)
	}
}
