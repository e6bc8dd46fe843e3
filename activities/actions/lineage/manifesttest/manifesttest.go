// Package manifesttest generates dbt manifest.json files shaped like the
// ones dbt 1.8 writes (schema v12): from a small project description for
// tests and the demo (Generate), or a large synthetic project for
// benchmarks (Large). Every node carries the fields dbt writes — config,
// columns, raw_code, compiled_code, depends_on, refs, sources, checksums —
// and the file carries parent_map, child_map, group_map and the other
// top-level sections, so a reader is exercised on realistic input.
//
// It is a fixture generator for tests and the demo, never a production
// path.
package manifesttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Default versions written in metadata.
const (
	DBTVersion    = "1.8.7"
	SchemaVersion = "https://schemas.getdbt.com/dbt/manifest/v12.json"
)

// Project describes a dbt project to generate.
type Project struct {
	// Name is the root package's name (default "shop").
	Name string
	// Adapter is metadata.adapter_type (default "snowflake").
	Adapter string
	// Sources are the project's sources.
	Sources []Source
	// Models are its models, seeds and snapshots, in any order.
	Models []Model
	// Exposures are its exposures.
	Exposures []Exposure
	// Groups are its groups.
	Groups []Group
	// OmitMaps leaves parent_map and child_map out (as some tools that
	// rewrite manifests do), so readers fall back to depends_on.
	OmitMaps bool
	// GeneratedAt is metadata.generated_at (default a fixed time).
	GeneratedAt string
}

// Source is one source block and its tables.
type Source struct {
	// Name is the source's name (source_name), e.g. raw.
	Name string
	// Tables are its tables.
	Tables []string
	// Owner goes into each table's meta.owner.
	Owner string
	// Package is the defining package (default Project.Name).
	Package string
}

// Model is a model, seed or snapshot.
type Model struct {
	// Name is the node's name.
	Name string
	// Kind is "model" (default), "seed" or "snapshot".
	Kind string
	// Package is the defining package (default Project.Name).
	Package string
	// Refs are the models it selects from: "name" or "package.name".
	Refs []string
	// Sources are the sources it selects from, as "source.table".
	Sources []string
	// Materialized is config.materialized (default view for models,
	// seed for seeds, snapshot for snapshots).
	Materialized string
	// Owner goes into meta.owner (and config.meta.owner).
	Owner string
	// Group is the model's group.
	Group string
	// Tests are generic data tests on it, e.g. "not_null:id",
	// "unique:id", "relationships:customer_id:customers".
	Tests []string
	// RawCode is the SQL body (default a select built from the refs).
	RawCode string
}

// Exposure is a dashboard, notebook, analysis, ml model or application.
type Exposure struct {
	// Name is the exposure's name.
	Name string
	// Type is dashboard, notebook, analysis, ml or application.
	Type string
	// Maturity is high, medium or low ("" leaves it null).
	Maturity string
	// OwnerName and OwnerEmail are owner.name and owner.email.
	OwnerName, OwnerEmail string
	// URL is the exposure's url.
	URL string
	// Refs are the models it depends on.
	Refs []string
	// Sources are the sources it depends on, as "source.table".
	Sources []string
}

// Group is a dbt group.
type Group struct {
	// Name is the group's name.
	Name string
	// OwnerName and OwnerEmail are owner.name and owner.email.
	OwnerName, OwnerEmail string
}

// ModelID is the unique_id of a model (or seed, snapshot) in package pkg.
func ModelID(kind, pkg, name string) string { return kind + "." + pkg + "." + name }

// SourceID is the unique_id of a source table.
func SourceID(pkg, source, table string) string { return "source." + pkg + "." + source + "." + table }

// ExposureID is the unique_id of an exposure.
func ExposureID(pkg, name string) string { return "exposure." + pkg + "." + name }

// TestID is the unique_id dbt gives a generic test on a model's column:
// test.<pkg>.<test>_<model>_<column>.<10 hex digits of a hash>.
func TestID(pkg, test, model, column string) string {
	name := test + "_" + model + "_" + column
	return "test." + pkg + "." + name + "." + hash(name)[:10]
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Generate returns the project's manifest.json. It panics on a reference
// to a model or source the project does not define: a mistake in a test's
// fixture.
func Generate(p Project) []byte {
	b, err := json.MarshalIndent(build(p, nil), "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// obj is a JSON object; encoding/json writes its keys sorted, so output is
// deterministic.
type obj = map[string]any

type builder struct {
	p         Project
	nodes     obj
	sources   obj
	exposures obj
	groups    obj
	parents   map[string][]string
	ids       map[string]string // name, pkg.name and source.table → unique_id
	rng       *rand.Rand
	groupMap  map[string][]string
}

func build(p Project, rng *rand.Rand) obj {
	if p.Name == "" {
		p.Name = "shop"
	}
	if p.Adapter == "" {
		p.Adapter = "snowflake"
	}
	if p.GeneratedAt == "" {
		p.GeneratedAt = "2026-11-25T06:00:00.000000Z"
	}
	b := &builder{
		p: p, nodes: obj{}, sources: obj{}, exposures: obj{}, groups: obj{},
		parents: map[string][]string{}, ids: map[string]string{}, rng: rng, groupMap: map[string][]string{},
	}
	for _, s := range p.Sources {
		pkg := cmpOr(s.Package, p.Name)
		for _, t := range s.Tables {
			id := SourceID(pkg, s.Name, t)
			b.ids[s.Name+"."+t] = id
			b.sources[id] = b.source(pkg, s, t, id)
			b.parents[id] = []string{}
		}
	}
	for _, m := range p.Models {
		kind := cmpOr(m.Kind, "model")
		pkg := cmpOr(m.Package, p.Name)
		id := ModelID(kind, pkg, m.Name)
		b.ids[m.Name] = id
		b.ids[pkg+"."+m.Name] = id
	}
	for _, g := range p.Groups {
		id := "group." + p.Name + "." + g.Name
		b.groups[id] = obj{
			"name": g.Name, "resource_type": "group", "package_name": p.Name,
			"path": "groups.yml", "original_file_path": "models/groups.yml", "unique_id": id,
			"owner": owner(g.OwnerName, g.OwnerEmail),
		}
	}
	for _, m := range p.Models {
		b.model(m)
	}
	for _, e := range p.Exposures {
		b.exposure(e)
	}

	children := map[string][]string{}
	for id := range b.parents {
		children[id] = []string{}
	}
	for id, ps := range b.parents {
		for _, par := range ps {
			children[par] = append(children[par], id)
		}
	}
	for id := range children {
		slices.Sort(children[id])
	}
	m := obj{
		"metadata": obj{
			"dbt_schema_version":         SchemaVersion,
			"dbt_version":                DBTVersion,
			"generated_at":               p.GeneratedAt,
			"invocation_id":              uuidish(p.Name + p.GeneratedAt),
			"env":                        obj{},
			"project_name":               p.Name,
			"project_id":                 hash(p.Name)[:32],
			"user_id":                    nil,
			"send_anonymous_usage_stats": false,
			"adapter_type":               p.Adapter,
		},
		"nodes":           b.nodes,
		"sources":         b.sources,
		"macros":          b.macros(),
		"docs":            obj{"doc.dbt.__overview__": obj{"name": "__overview__", "resource_type": "doc", "package_name": "dbt", "path": "overview.md", "original_file_path": "docs/overview.md", "unique_id": "doc.dbt.__overview__", "block_contents": "### Welcome!\n\nWelcome to the auto-generated documentation for your dbt project!"}},
		"exposures":       b.exposures,
		"metrics":         obj{},
		"groups":          b.groups,
		"selectors":       obj{},
		"disabled":        obj{},
		"group_map":       b.groupMap,
		"saved_queries":   obj{},
		"semantic_models": obj{},
		"unit_tests":      obj{},
	}
	if !p.OmitMaps {
		m["parent_map"] = b.parents
		m["child_map"] = children
	}
	return m
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func uuidish(s string) string {
	h := hash(s)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func owner(name, email string) obj {
	o := obj{"name": nil, "email": nil}
	if name != "" {
		o["name"] = name
	}
	if email != "" {
		o["email"] = email
	}
	return o
}

func (b *builder) resolve(ref string) string {
	id, ok := b.ids[ref]
	if !ok {
		panic(fmt.Sprintf("manifesttest: reference to %q, which the project does not define", ref))
	}
	return id
}

func meta(owner string) obj {
	if owner == "" {
		return obj{}
	}
	return obj{"owner": owner}
}

func (b *builder) source(pkg string, s Source, table, id string) obj {
	return obj{
		"database": "RAW", "schema": strings.ToUpper(s.Name), "name": table, "resource_type": "source",
		"package_name": pkg, "path": "models/staging/" + s.Name + "/_sources.yml",
		"original_file_path": "models/staging/" + s.Name + "/_sources.yml", "unique_id": id,
		"fqn": []string{pkg, "staging", s.Name, s.Name, table}, "source_name": s.Name,
		"source_description": "Tables loaded by the " + s.Name + " loader.", "loader": "fivetran",
		"identifier": table, "quoting": obj{"database": nil, "schema": nil, "identifier": nil, "column": nil},
		"loaded_at_field": "_loaded_at",
		"freshness":       obj{"warn_after": obj{"count": 12, "period": "hour"}, "error_after": obj{"count": 24, "period": "hour"}, "filter": nil},
		"external":        nil, "description": "", "columns": obj{}, "meta": meta(s.Owner), "source_meta": obj{},
		"tags": []string{}, "config": obj{"enabled": true}, "patch_path": nil, "unrendered_config": obj{},
		"relation_name": "RAW." + strings.ToUpper(s.Name) + "." + strings.ToUpper(table), "created_at": 1764050400.0,
	}
}

func (b *builder) depends(refs, sources []string) (deps []string, refObjs []obj, srcPairs [][]string) {
	refObjs, srcPairs = []obj{}, [][]string{}
	for _, r := range refs {
		deps = append(deps, b.resolve(r))
		name := r
		if i := strings.LastIndexByte(r, '.'); i >= 0 {
			name = r[i+1:]
		}
		refObjs = append(refObjs, obj{"name": name, "package": nil, "version": nil})
	}
	for _, s := range sources {
		deps = append(deps, b.resolve(s))
		src, table, _ := strings.Cut(s, ".")
		srcPairs = append(srcPairs, []string{src, table})
	}
	slices.Sort(deps)
	deps = slices.Compact(deps)
	if deps == nil {
		deps = []string{}
	}
	return deps, refObjs, srcPairs
}

func (b *builder) model(m Model) {
	kind := cmpOr(m.Kind, "model")
	pkg := cmpOr(m.Package, b.p.Name)
	id := ModelID(kind, pkg, m.Name)
	mat := m.Materialized
	if mat == "" {
		mat = map[string]string{"model": "view", "seed": "seed", "snapshot": "snapshot"}[kind]
	}
	deps, refs, srcs := b.depends(m.Refs, m.Sources)
	raw := m.RawCode
	if raw == "" {
		raw = b.sql(m)
	}
	dir := map[string]string{"model": "models", "seed": "seeds", "snapshot": "snapshots"}[kind]
	ext := map[string]string{"model": ".sql", "seed": ".csv", "snapshot": ".sql"}[kind]
	path := dir + "/" + m.Name + ext
	var group any
	if m.Group != "" {
		group = m.Group
		b.groupMap[m.Group] = append(b.groupMap[m.Group], id)
	}
	n := obj{
		"database": "ANALYTICS", "schema": "PROD", "name": m.Name, "resource_type": kind, "package_name": pkg,
		"path": strings.TrimPrefix(path, dir+"/"), "original_file_path": path, "unique_id": id,
		"fqn": []string{pkg, m.Name}, "alias": m.Name,
		"checksum": obj{"name": "sha256", "checksum": hash(raw)},
		"config": obj{
			"enabled": true, "alias": nil, "schema": nil, "database": nil, "tags": []string{}, "meta": meta(m.Owner),
			"group": group, "materialized": mat, "incremental_strategy": nil, "persist_docs": obj{},
			"post-hook": []any{}, "pre-hook": []any{}, "quoting": obj{}, "column_types": obj{},
			"full_refresh": nil, "unique_key": nil, "on_schema_change": "ignore",
			"on_configuration_change": "apply", "grants": obj{}, "packages": []string{},
			"docs": obj{"show": true, "node_color": nil}, "contract": obj{"enforced": false, "alias_types": true},
			"access": "protected",
		},
		"tags": []string{}, "description": "The " + strings.ReplaceAll(m.Name, "_", " ") + " table.",
		"columns": b.columns(m), "meta": meta(m.Owner), "group": group,
		"docs": obj{"show": true, "node_color": nil}, "patch_path": pkg + "://models/schema.yml",
		"build_path": nil, "unrendered_config": obj{"materialized": mat}, "created_at": 1764050400.0,
		"relation_name": "ANALYTICS.PROD." + strings.ToUpper(m.Name), "raw_code": raw, "language": "sql",
		"refs": refs, "sources": srcs, "metrics": [][]string{},
		"depends_on":    obj{"macros": []string{"macro.dbt.run_query"}, "nodes": deps},
		"compiled_path": "target/compiled/" + pkg + "/" + path, "compiled": true,
		"compiled_code": compiled(raw), "extra_ctes_injected": true, "extra_ctes": []any{},
		"contract": obj{"enforced": false, "alias_types": true, "checksum": nil},
	}
	if kind == "model" {
		n["access"] = "protected"
		n["constraints"] = []any{}
		n["version"] = nil
		n["latest_version"] = nil
		n["deprecation_date"] = nil
	}
	if kind == "seed" {
		n["root_path"] = "/usr/app"
		n["depends_on"] = obj{"macros": []string{}}
		n["raw_code"] = ""
		n["compiled_code"] = ""
	}
	b.nodes[id] = n
	b.parents[id] = deps
	for _, t := range m.Tests {
		b.test(pkg, m.Name, id, t)
	}
}

func compiled(raw string) string {
	return strings.NewReplacer("{{ ref('", "ANALYTICS.PROD.", "') }}", "", "{{ source('", "RAW.", "', '", ".").Replace(raw)
}

func (b *builder) columns(m Model) obj {
	cols := obj{}
	for _, t := range m.Tests {
		parts := strings.Split(t, ":")
		if len(parts) < 2 {
			continue
		}
		c := parts[1]
		cols[c] = obj{"name": c, "description": "The " + c + " column.", "meta": obj{}, "data_type": nil,
			"constraints": []any{}, "quote": nil, "tags": []string{}, "granularity": nil}
	}
	return cols
}

func (b *builder) sql(m Model) string {
	var sb strings.Builder
	sb.WriteString("{{ config(materialized='" + cmpOr(m.Materialized, "view") + "') }}\n\nwith\n")
	var ctes []string
	for _, r := range m.Refs {
		name := r[strings.LastIndexByte(r, '.')+1:]
		ctes = append(ctes, fmt.Sprintf("%s as (\n    select * from {{ ref('%s') }}\n)", name, name))
	}
	for _, s := range m.Sources {
		src, table, _ := strings.Cut(s, ".")
		ctes = append(ctes, fmt.Sprintf("%s as (\n    select * from {{ source('%s', '%s') }}\n)", table, src, table))
	}
	if len(ctes) == 0 {
		ctes = append(ctes, "base as (\n    select 1 as id\n)")
	}
	sb.WriteString(strings.Join(ctes, ",\n"))
	sb.WriteString("\n\nselect\n    id,\n    created_at,\n    updated_at,\n    status,\n    amount\nfrom ")
	first := "base"
	if len(m.Refs) > 0 {
		first = m.Refs[0][strings.LastIndexByte(m.Refs[0], '.')+1:]
	} else if len(m.Sources) > 0 {
		_, first, _ = strings.Cut(m.Sources[0], ".")
	}
	sb.WriteString(first)
	sb.WriteString("\n")
	if b.rng != nil {
		// Realistic bodies: business logic of varying length.
		for i := range b.rng.IntN(40) + 10 {
			fmt.Fprintf(&sb, "-- step %d: case when status = 'state_%d' then amount * %d.%02d else amount end as adj_amount_%d\n",
				i, b.rng.IntN(100), b.rng.IntN(10), b.rng.IntN(100), i)
		}
	}
	return sb.String()
}

func (b *builder) test(pkg, model, modelID, spec string) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		panic(fmt.Sprintf("manifesttest: test %q: want name:column", spec))
	}
	test, col := parts[0], parts[1]
	id := TestID(pkg, test, model, col)
	deps := []string{modelID}
	kwargs := obj{"column_name": col, "model": "{{ get_where_subquery(ref('" + model + "')) }}"}
	refs := []obj{{"name": model, "package": nil, "version": nil}}
	if test == "relationships" && len(parts) >= 3 {
		to := b.resolve(parts[2])
		deps = append(deps, to)
		slices.Sort(deps)
		kwargs["to"] = "ref('" + parts[2] + "')"
		kwargs["field"] = col
		refs = append(refs, obj{"name": parts[2], "package": nil, "version": nil})
	}
	name := test + "_" + model + "_" + col
	b.nodes[id] = obj{
		"database": "ANALYTICS", "schema": "PROD_dbt_test__audit", "name": name, "resource_type": "test",
		"package_name": pkg, "path": name + ".sql", "original_file_path": "models/schema.yml", "unique_id": id,
		"fqn": []string{pkg, name}, "alias": name, "checksum": obj{"name": "none", "checksum": ""},
		"config": obj{"enabled": true, "alias": nil, "schema": "dbt_test__audit", "database": nil, "tags": []string{},
			"meta": obj{}, "group": nil, "materialized": "test", "severity": "ERROR", "store_failures": nil,
			"store_failures_as": nil, "where": nil, "limit": nil, "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0"},
		"tags": []string{}, "description": "", "columns": obj{}, "meta": obj{}, "group": nil,
		"docs": obj{"show": true, "node_color": nil}, "patch_path": nil, "build_path": nil, "unrendered_config": obj{},
		"created_at": 1764050400.0, "relation_name": nil,
		"raw_code": "{{ test_" + test + "(**_dbt_generic_test_kwargs) }}", "language": "sql",
		"refs": refs, "sources": [][]string{}, "metrics": [][]string{},
		"depends_on":    obj{"macros": []string{"macro.dbt.test_" + test}, "nodes": deps},
		"compiled_path": nil, "contract": obj{"enforced": false, "alias_types": true, "checksum": nil},
		"column_name": col, "file_key_name": "models." + model, "attached_node": modelID,
		"test_metadata": obj{"name": test, "kwargs": kwargs, "namespace": nil},
	}
	b.parents[id] = deps
}

func (b *builder) exposure(e Exposure) {
	id := ExposureID(b.p.Name, e.Name)
	deps, refs, srcs := b.depends(e.Refs, e.Sources)
	var maturity any
	if e.Maturity != "" {
		maturity = e.Maturity
	}
	var url any
	if e.URL != "" {
		url = e.URL
	}
	b.exposures[id] = obj{
		"name": e.Name, "resource_type": "exposure", "package_name": b.p.Name, "path": "exposures.yml",
		"original_file_path": "models/exposures.yml", "unique_id": id, "fqn": []string{b.p.Name, e.Name},
		"type": cmpOr(e.Type, "dashboard"), "owner": owner(e.OwnerName, e.OwnerEmail),
		"description": "", "label": strings.ReplaceAll(e.Name, "_", " "), "maturity": maturity, "meta": obj{},
		"tags": []string{}, "config": obj{"enabled": true}, "unrendered_config": obj{}, "url": url,
		"depends_on": obj{"macros": []string{}, "nodes": deps}, "refs": refs, "sources": srcs,
		"metrics": [][]string{}, "created_at": 1764050400.0,
	}
	b.parents[id] = deps
}

func (b *builder) macros() obj {
	out := obj{}
	for _, name := range []string{"run_query", "test_not_null", "test_unique", "test_relationships", "get_where_subquery"} {
		id := "macro.dbt." + name
		out[id] = obj{
			"name": name, "resource_type": "macro", "package_name": "dbt", "path": "macros/" + name + ".sql",
			"original_file_path": "macros/" + name + ".sql", "unique_id": id,
			"macro_sql":  "{% macro " + name + "() %}\n  {{ return(adapter.dispatch('" + name + "', 'dbt')()) }}\n{% endmacro %}",
			"depends_on": obj{"macros": []string{}}, "description": "", "meta": obj{},
			"docs": obj{"show": true, "node_color": nil}, "patch_path": nil, "arguments": []any{},
			"created_at": 1764050400.0, "supported_languages": nil,
		}
	}
	return out
}

// Large returns a synthetic project of about n nodes (sources, seeds,
// staging, intermediate and mart models, snapshots, tests, exposures)
// with realistic fan-in and fan-out and SQL bodies, deterministic for a
// seed, and its manifest.json. Roughly: 5% sources, 2% seeds, 1%
// snapshots, 15% staging models reading one source each, 20%
// intermediate models reading 1–4 staging or intermediate models, 15% marts
// reading 2–6 intermediates or marts, 40% tests, 1% exposures on 1–5 marts,
// and ten owning teams. A third of all references go to the first 5% of
// each layer, so a few hub nodes feed much of the project.
func Large(n int, seed uint64) (Project, []byte) {
	g := &generator{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		n:        n,
		p:        Project{Name: "big"},
		maxTests: max(1, int(float64(n)*0.40)),
	}
	srcTables := g.sources()
	seeds := g.seeds()
	staging := g.staging(srcTables, seeds)
	staging = g.snapshots(staging)
	inter := g.intermediates(staging)
	marts := g.marts(inter)
	g.exposures(marts)
	b, err := json.Marshal(build(g.p, g.rng))
	if err != nil {
		panic(err)
	}
	return g.p, b
}

// generator builds Large's project. Its steps draw from rng in a fixed
// order, so a seed always gives the same project.
type generator struct {
	rng             *rand.Rand
	n               int
	p               Project
	tests, maxTests int
}

// largeTeams are the owners of Large's nodes.
var largeTeams = []string{"finance", "growth", "marketing", "ops", "product", "sales", "risk", "supply", "support", "data-platform"}

// count is pct of the project's n nodes, at least 1.
func (g *generator) count(pct float64) int { return max(1, int(float64(g.n)*pct)) }

// team picks an owner.
func (g *generator) team() string { return largeTeams[g.rng.IntN(len(largeTeams))] }

// addTests gives m its two tests while the project has fewer than
// maxTests.
func (g *generator) addTests(m *Model) {
	for _, t := range []string{"not_null:id", "unique:id"} {
		if g.tests < g.maxTests {
			m.Tests = append(m.Tests, t)
			g.tests++
		}
	}
}

// hub picks an index into a list of n: a third of the time one of its
// first 5% (the hubs every project has: events, users, orders), otherwise
// any, so a few nodes feed much of the project and most feed a handful.
func (g *generator) hub(n int) int {
	if g.rng.IntN(3) == 0 {
		return g.rng.IntN(max(1, n/20))
	}
	return g.rng.IntN(n)
}

// pick picks k distinct names of from (all of them when it has fewer).
func (g *generator) pick(from []string, k int) []string {
	k = min(k, len(from))
	seen := map[string]bool{}
	var out []string
	for len(out) < k {
		if i := g.hub(len(from)); !seen[from[i]] {
			seen[from[i]] = true
			out = append(out, from[i])
		}
	}
	return out
}

// sources adds the sources (5%), ten tables each, and returns their tables
// as source.table.
func (g *generator) sources() []string {
	nSrc := g.count(0.05)
	var srcTables []string
	for i := 0; len(srcTables) < nSrc; i++ {
		s := Source{Name: fmt.Sprintf("src_%03d", i), Owner: g.team()}
		for j := 0; j < 10 && len(srcTables) < nSrc; j++ {
			t := fmt.Sprintf("table_%03d_%02d", i, j)
			s.Tables = append(s.Tables, t)
			srcTables = append(srcTables, s.Name+"."+t)
		}
		g.p.Sources = append(g.p.Sources, s)
	}
	return srcTables
}

// seeds adds the seeds (2%) and returns their names.
func (g *generator) seeds() []string {
	var seeds []string
	for i := range g.count(0.02) {
		name := fmt.Sprintf("seed_%05d", i)
		g.p.Models = append(g.p.Models, Model{Name: name, Kind: "seed", Owner: g.team()})
		seeds = append(seeds, name)
	}
	return seeds
}

// staging adds the staging models (15%), each reading one source table and
// one in ten a seed, and returns their names.
func (g *generator) staging(srcTables, seeds []string) []string {
	var staging []string
	for i := range g.count(0.15) {
		m := Model{Name: fmt.Sprintf("stg_%05d", i), Sources: []string{srcTables[g.hub(len(srcTables))]}, Owner: g.team()}
		if g.rng.IntN(10) == 0 {
			m.Refs = g.pick(seeds, 1)
		}
		g.addTests(&m)
		g.p.Models = append(g.p.Models, m)
		staging = append(staging, m.Name)
	}
	return staging
}

// snapshots adds the snapshots (1%) of staging models and returns staging
// with them.
func (g *generator) snapshots(staging []string) []string {
	for i := range g.count(0.01) {
		m := Model{Name: fmt.Sprintf("snap_%05d", i), Kind: "snapshot", Refs: g.pick(staging, 1), Owner: g.team()}
		g.p.Models = append(g.p.Models, m)
		staging = append(staging, m.Name)
	}
	return staging
}

// intermediates adds the intermediate models (20%), reading 1–4 staging or
// intermediate models, and returns their names.
func (g *generator) intermediates(staging []string) []string {
	var inter []string
	for i := range g.count(0.20) {
		from := staging
		if len(inter) > 10 && g.rng.IntN(3) == 0 {
			from = inter
		}
		m := Model{Name: fmt.Sprintf("int_%05d", i), Refs: g.pick(from, 1+g.rng.IntN(4)), Materialized: "ephemeral", Owner: g.team()}
		g.addTests(&m)
		g.p.Models = append(g.p.Models, m)
		inter = append(inter, m.Name)
	}
	return inter
}

// marts adds the marts (15%), reading 2–6 intermediates or marts, a fifth
// of them incremental, and returns their names.
func (g *generator) marts(inter []string) []string {
	var marts []string
	for i := range g.count(0.15) {
		from := inter
		if len(marts) > 10 && g.rng.IntN(4) == 0 {
			from = marts
		}
		m := Model{Name: fmt.Sprintf("fct_%05d", i), Refs: g.pick(from, 2+g.rng.IntN(5)), Materialized: "table", Owner: g.team()}
		if g.rng.IntN(5) == 0 {
			m.Materialized = "incremental"
		}
		g.addTests(&m)
		g.p.Models = append(g.p.Models, m)
		marts = append(marts, m.Name)
	}
	return marts
}

// exposures adds the exposures (1%), each on 1–5 marts.
func (g *generator) exposures(marts []string) {
	types := []string{"dashboard", "dashboard", "dashboard", "notebook", "analysis", "ml", "application"}
	maturities := []string{"high", "medium", "low", "low"}
	for i := range g.count(0.01) {
		t := g.team()
		g.p.Exposures = append(g.p.Exposures, Exposure{
			Name: fmt.Sprintf("exp_%05d", i), Type: types[g.rng.IntN(len(types))], Maturity: maturities[g.rng.IntN(len(maturities))],
			OwnerName: t, OwnerEmail: t + "@example.com", URL: fmt.Sprintf("https://bi.example.com/d/%d", i),
			Refs: g.pick(marts, 1+g.rng.IntN(5)),
		})
	}
}
