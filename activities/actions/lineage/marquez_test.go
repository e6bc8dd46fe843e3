package lineage_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	"github.com/datasev/datasev/activities/actions/lineage/marqueztest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// ns is the stand-in's dataset namespace.
const ns = "snowflake://acme"

// bikes is a project without seeds, snapshots, groups or tests — what a
// Marquez graph can say as well as a manifest:
//
//	raw.ride_events  → stg_rides    → rides → station_daily → ops_dashboard (dashboard, high)
//	raw.station_feed → stg_stations ↗   ↘ revenue → finance_notebook (notebook, medium)
//	                                          → pricing_ml (ml, low), → pricing_app (application)
func bikes() manifesttest.Project {
	return manifesttest.Project{
		Name: "bikes",
		Sources: []manifesttest.Source{
			{Name: "raw", Tables: []string{"ride_events", "station_feed"}, Owner: "data-platform"},
		},
		Models: []manifesttest.Model{
			{Name: "stg_rides", Sources: []string{"raw.ride_events"}, Owner: "data-platform"},
			{Name: "stg_stations", Sources: []string{"raw.station_feed"}, Owner: "data-platform"},
			{Name: "rides", Refs: []string{"stg_rides", "stg_stations"}, Owner: "mobility"},
			{Name: "station_daily", Refs: []string{"rides"}, Owner: "ops"},
			{Name: "revenue", Refs: []string{"rides"}, Owner: "finance"},
		},
		Exposures: []manifesttest.Exposure{
			{Name: "ops_dashboard", Type: "dashboard", Maturity: "high", OwnerName: "ops", Refs: []string{"station_daily"}},
			{Name: "finance_notebook", Type: "notebook", Maturity: "medium", OwnerName: "finance", Refs: []string{"revenue"}},
			{Name: "pricing_ml", Type: "ml", Maturity: "low", OwnerName: "pricing", Refs: []string{"revenue"}},
			{Name: "pricing_app", Type: "application", OwnerName: "pricing", Refs: []string{"revenue", "stg_stations"}},
		},
	}
}

// asMarquez is p as OpenLineage would record it in Marquez: a dataset per
// source table (owner in the ownership facet), per model (owner:<name>
// tag) and per exposure (exposure:<type>, maturity:<m> and owner:<name>
// tags), and a job per model and exposure reading its refs and sources and
// writing it.
func asMarquez(p manifesttest.Project) ([]marqueztest.Dataset, []marqueztest.Job) {
	var ds []marqueztest.Dataset
	var jobs []marqueztest.Job
	key := func(name string) string { return ns + ":" + name }
	inputs := func(refs, sources []string) []string {
		var in []string
		for _, r := range refs {
			in = append(in, key(r))
		}
		for _, s := range sources {
			_, table, _ := strings.Cut(s, ".")
			in = append(in, key(table))
		}
		return in
	}
	for _, s := range p.Sources {
		for _, t := range s.Tables {
			ds = append(ds, marqueztest.Dataset{Namespace: ns, Name: t, Owners: []string{s.Owner}})
		}
	}
	for _, m := range p.Models {
		ds = append(ds, marqueztest.Dataset{Namespace: ns, Name: m.Name, Tags: []string{"owner:" + m.Owner}})
		jobs = append(jobs, marqueztest.Job{Namespace: "dbt", Name: "bikes." + m.Name, Inputs: inputs(m.Refs, m.Sources), Outputs: []string{key(m.Name)}})
	}
	for _, e := range p.Exposures {
		tags := []string{"exposure:" + e.Type, "owner:" + e.OwnerName}
		if e.Maturity != "" {
			tags = append(tags, "maturity:"+e.Maturity)
		}
		ds = append(ds, marqueztest.Dataset{Namespace: ns, Name: e.Name, Tags: tags})
		jobs = append(jobs, marqueztest.Job{Namespace: "bi", Name: "refresh." + e.Name, Inputs: inputs(e.Refs, e.Sources), Outputs: []string{key(e.Name)}})
	}
	return ds, jobs
}

// standIn starts a Marquez stand-in holding p.
func standIn(t *testing.T, p manifesttest.Project) *marqueztest.Server {
	t.Helper()
	s := marqueztest.New(asMarquez(p))
	t.Cleanup(s.Close)
	return s
}

// marquezActions returns the lineage actions over the stand-in, built as
// the worker builds them (NewCache with the source's options).
func marquezActions(t *testing.T, cfg lineage.MarquezConfig) func(action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	c := lineage.NewCache(lineage.Sources{}, lineage.CacheOptions{Logger: quiet, Source: lineage.SourceConfig{Kind: lineage.SourceMarquez, Marquez: cfg}})
	e := register(lineage.NewWithCache(c))
	return func(action string, with map[string]any) (runbooks.ActionResult, error) {
		t.Helper()
		return run(t, e, action, with)
	}
}

// comparable is an action's output with the source-specific ids left out
// and the lists in an order both sources share.
func comparable(out map[string]any) map[string]any {
	c := maps.Clone(out)
	delete(c, "node")
	delete(c, "source")
	var nodes []string
	for _, n := range out["nodes"].([]any) {
		m := n.(map[string]any)
		nodes = append(nodes, fmt.Sprintf("%v %v %v %v", m["depth"], m["name"], m["resource_type"], m["owner"]))
	}
	slices.Sort(nodes)
	c["nodes"] = nodes
	models := strs(out["models"])
	slices.Sort(models)
	c["models"] = models
	return c
}

// One graph built as a dbt manifest and as Marquez lineage gives the same
// outputs: nodes with depth, type and owner, counts, models, exposures,
// owners and the suggested severity.
func TestMarquezSameOutputsAsManifest(t *testing.T) {
	p := bikes()
	_, manifestExec, path := newActions(t, p)
	s := standIn(t, p)
	marquezExec := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns})

	cases := 0
	for _, action := range []string{lineage.DownstreamName, lineage.UpstreamName} {
		for _, node := range []string{"stg_rides", "stg_stations", "rides", "revenue", "station_daily", "ops_dashboard", "pricing_app"} {
			for _, depth := range []int{0, 1, 2} {
				want, err := manifestExec(action, map[string]any{"manifest": path, "node": node, "depth": depth})
				if err != nil {
					t.Fatal(err)
				}
				got, err := marquezExec(action, map[string]any{"node": node, "depth": depth})
				if err != nil {
					t.Fatalf("%s %s depth %d: %v", action, node, depth, err)
				}
				w, g := comparable(want.Output), comparable(got.Output)
				if fmt.Sprint(w) != fmt.Sprint(g) {
					t.Errorf("%s %s depth %d:\nmanifest %v\nmarquez  %v", action, node, depth, w, g)
				}
				if got.Output["source"] != "marquez" || want.Output["source"] != "manifest" {
					t.Errorf("source %v / %v", got.Output["source"], want.Output["source"])
				}
				if got.Output["node"] != "dataset:"+ns+":"+node {
					t.Errorf("node %v", got.Output["node"])
				}
				cases++
			}
		}
	}
	// The comparison means something: the graph has every severity's
	// ingredients.
	res, err := marquezExec(lineage.DownstreamName, map[string]any{"node": "stg_stations"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["suggested_severity"] != lineage.SEV2 || num(res.Output["exposure_count"]) != 4 || cases != 42 {
		t.Errorf("downstream of stg_stations: %v (%d cases)", res.Output, cases)
	}
	if !strings.Contains(res.Summary, "stg_stations feeds 7 nodes: 4 exposures") {
		t.Errorf("summary %q", res.Summary)
	}
	res, err = marquezExec(lineage.DownstreamName, map[string]any{"node": "dataset:" + ns + ":revenue"})
	if err != nil || res.Output["suggested_severity"] != lineage.SEV2 || res.Output["severity_reason"] != "3 exposures downstream" {
		t.Errorf("revenue by its full id: %v %v", res.Output, err)
	}
}

// A dataset no job touches comes back alone from Marquez: nothing
// downstream, SEV5.
func TestMarquezOrphanDataset(t *testing.T) {
	s := marqueztest.New([]marqueztest.Dataset{{Namespace: ns, Name: "lonely", Owners: []string{"nobody"}}}, nil)
	t.Cleanup(s.Close)
	exec := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns})
	res, err := exec(lineage.DownstreamName, map[string]any{"node": "lonely"})
	if err != nil {
		t.Fatal(err)
	}
	if num(res.Output["count"]) != 0 || res.Output["suggested_severity"] != lineage.SEV5 {
		t.Errorf("orphan: %v", res.Output)
	}
}

// A fetched graph is reused within the TTL, by concurrent and later
// lookups alike, and fetched again once it is older; the new fetch sees
// what changed.
func TestMarquezCacheReusesAndRefreshes(t *testing.T) {
	p := bikes()
	s := standIn(t, p)
	var mu sync.Mutex
	now := time.Date(2026, 1, 5, 7, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	m := lineage.NewMarquez(lineage.MarquezConfig{URL: s.URL, Namespace: ns, TTL: time.Minute, Now: clock}, 2, quiet)

	const callers = 16
	graphs := make([]*lineage.Graph, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			graphs[i], _, errs[i] = m.Lookup(t.Context(), lineage.Input{Node: "rides"})
		})
	}
	close(start)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || graphs[i] != graphs[0] {
			t.Fatalf("caller %d: %v (same graph %v)", i, errs[i], graphs[i] == graphs[0])
		}
	}
	if s.Requests() != 1 || m.Loads() != 1 {
		t.Errorf("%d callers caused %d requests (%d loads), want 1", callers, s.Requests(), m.Loads())
	}
	advance(59 * time.Second)
	if g, _, _ := m.Lookup(t.Context(), lineage.Input{Node: "rides"}); g != graphs[0] || s.Requests() != 1 {
		t.Errorf("within the TTL: refetched (%d requests)", s.Requests())
	}
	// Another depth is another request.
	if _, _, err := m.Lookup(t.Context(), lineage.Input{Node: "rides", Depth: 1}); err != nil || s.Requests() != 2 {
		t.Errorf("depth 1: %v, %d requests", err, s.Requests())
	}

	// A new pipeline starts reading rides.
	p.Models = append(p.Models, manifesttest.Model{Name: "rides_v2", Refs: []string{"rides"}, Owner: "mobility"})
	s.Set(asMarquez(p))
	advance(2 * time.Second)
	g, _, err := m.Lookup(t.Context(), lineage.Input{Node: "rides"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests() != 3 || g == graphs[0] {
		t.Errorf("after the TTL: %d requests, new graph %v", s.Requests(), g != graphs[0])
	}
	if _, ok := g.Node("dataset:" + ns + ":rides_v2"); !ok {
		t.Error("the refreshed graph lacks the new dataset")
	}
	if g2, _, _ := m.Lookup(t.Context(), lineage.Input{Node: "rides"}); g2 != g || s.Requests() != 3 {
		t.Errorf("second read of the refreshed graph refetched (%d requests)", s.Requests())
	}

	// Two entries: a third key evicts the least recently used.
	for i, step := range []struct {
		node string
		reqs int
	}{{"revenue", 4}, {"rides", 4}, {"stg_rides", 5}, {"rides", 5}, {"revenue", 6}} {
		if _, _, err := m.Lookup(t.Context(), lineage.Input{Node: step.node}); err != nil {
			t.Fatal(err)
		}
		if s.Requests() != step.reqs {
			t.Fatalf("eviction step %d (%s): %d requests, want %d", i, step.node, s.Requests(), step.reqs)
		}
	}
}

// Depth is asked of Marquez as the step's depth plus one (Marquez counts
// jobs), and within MaxDepth; a response over the node or byte bound is
// refused, not cut silently.
func TestMarquezBounds(t *testing.T) {
	s := standIn(t, bikes())
	exec := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns, MaxDepth: 3, TTL: -1})
	for _, depth := range []int{1, 2, 0, 7} {
		if _, err := exec(lineage.DownstreamName, map[string]any{"node": "rides", "depth": depth}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Depths(); !slices.Equal(got, []int{2, 3, 4, 4}) {
		t.Errorf("depths asked %v, want [2 3 4 4]", got)
	}
	// Depth 1 lists only the direct children, though Marquez sent more.
	res, err := exec(lineage.DownstreamName, map[string]any{"node": "stg_stations", "depth": 1})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "depth 1", strs(res.Output["models"]), []string{"rides"})
	if num(res.Output["exposure_count"]) != 1 {
		t.Errorf("depth 1 exposures: %v", res.Output["exposures"])
	}

	few := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns, MaxNodes: 5})
	_, err = few(lineage.DownstreamName, map[string]any{"node": "rides"})
	wantErr(t, err, lineage.ResponseTooLargeType, true, "lineage.downstream: marquez dataset:"+ns+":rides", "over the bound of 5", lineage.EnvMarquezMaxNodes)

	s.Pad(1 << 20)
	small := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns, MaxBytes: 64 << 10})
	_, err = small(lineage.DownstreamName, map[string]any{"node": "rides"})
	wantErr(t, err, lineage.ResponseTooLargeType, true, "larger than the 65536-byte bound", lineage.EnvMarquezMaxBytes)

	long := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns})
	_, err = long(lineage.DownstreamName, map[string]any{"node": strings.Repeat("x", lineage.MaxNodeRef+1)})
	wantErr(t, err, lineage.InvalidInputType, true, "node is 1025 bytes long")
}

// Marquez's answers become errors that say what is wrong, where, and
// whether (and when) to retry.
func TestMarquezErrors(t *testing.T) {
	s := standIn(t, bikes())
	exec := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns, TTL: -1, Timeout: 300 * time.Millisecond})
	down := func(node string) error {
		t.Helper()
		_, err := exec(lineage.DownstreamName, map[string]any{"node": node})
		return err
	}

	wantErr(t, down("ridez"), lineage.UnknownNodeType, true, "lineage.downstream: marquez: no dataset dataset:"+ns+":ridez", "Dataset 'ridez' not found.")

	s.Fail(marqueztest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "120"})
	err := down("rides")
	wantErr(t, err, lineage.CatalogUnavailableType, false, "unavailable (503", "retrying in 2m0s")
	if d := appErr(t, err).NextRetryDelay(); d != 2*time.Minute {
		t.Errorf("503 Retry-After 120: next retry in %s", d)
	}
	s.Fail(marqueztest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "86400"})
	if d := appErr(t, down("rides")).NextRetryDelay(); d != 15*time.Minute {
		t.Errorf("Retry-After of a day: next retry in %s, want the 15m cap", d)
	}
	s.Fail(marqueztest.Fault{Status: http.StatusTooManyRequests})
	err = down("rides")
	wantErr(t, err, lineage.RateLimitedType, false, "rate limited (429")
	if d := appErr(t, err).NextRetryDelay(); d != time.Minute {
		t.Errorf("429 without Retry-After: next retry in %s, want 1m", d)
	}
	s.Fail(marqueztest.Fault{Status: http.StatusInternalServerError, Body: "java.lang.IllegalStateException: No match available\n\tat marquez…"})
	err = down("rides")
	if ae := appErr(t, err); ae.NonRetryable() || ae.NextRetryDelay() != 0 || !strings.Contains(err.Error(), "500 java.lang.IllegalStateException: No match available") ||
		strings.Contains(err.Error(), "\tat") {
		t.Errorf("500 without Retry-After: %v (non-retryable %v)", err, ae.NonRetryable())
	}
	s.Fail(marqueztest.Fault{Status: http.StatusBadRequest})
	wantErr(t, down("rides"), lineage.CatalogRefusedType, true, "request refused (400")
	s.Fail(marqueztest.Fault{Status: http.StatusOK, Body: `{"graph": [{"id": "dataset:x:y", "type": "DATASET", "data": 7`})
	wantErr(t, down("rides"), lineage.InvalidResponseType, true, "not valid JSON at byte")
	s.Fail(marqueztest.Fault{Status: http.StatusOK, Body: `{"nodes": []}`})
	wantErr(t, down("rides"), lineage.InvalidResponseType, true, "no graph array")

	s.Slow(5 * time.Second)
	err = down("rides")
	if ae := appErr(t, err); ae.NonRetryable() || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("slow Marquez: %v (non-retryable %v)", err, ae.NonRetryable())
	}
	s.Slow(0)

	wantErr(t, down("job:dbt:bikes.rides"), lineage.InvalidInputType, true, "is not a dataset")
	wantErr(t, down("dataset:onlynamespace"), lineage.InvalidInputType, true, "want dataset:<namespace>:<name>")
	noNS := marquezActions(t, lineage.MarquezConfig{URL: s.URL})
	_, err = noNS(lineage.DownstreamName, map[string]any{"node": "rides"})
	wantErr(t, err, lineage.InvalidInputType, true, "has no namespace", lineage.EnvMarquezNamespace)
}

// With an API key the request carries it as a bearer token; a refused
// key is AccessDenied, and a redirect is refused rather than followed
// with the key.
func TestMarquezAPIKeyAndRedirects(t *testing.T) {
	s := standIn(t, bikes())
	s.RequireKey("s3cr3t")
	exec := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns, APIKey: "s3cr3t"})
	if _, err := exec(lineage.DownstreamName, map[string]any{"node": "rides"}); err != nil {
		t.Fatal(err)
	}
	wrong := marquezActions(t, lineage.MarquezConfig{URL: s.URL, Namespace: ns, APIKey: "guess"})
	_, err := wrong(lineage.DownstreamName, map[string]any{"node": "rides"})
	wantErr(t, err, lineage.AccessDeniedType, true, "401", lineage.EnvMarquezAPIKey+"_FILE")
	if strings.Contains(err.Error(), "guess") {
		t.Errorf("the error shows the key: %v", err)
	}

	var leaked []string
	var mu sync.Mutex
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	t.Cleanup(elsewhere.Close)
	redirector := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/api/v1/lineage", http.StatusFound))
	t.Cleanup(redirector.Close)
	redir := marquezActions(t, lineage.MarquezConfig{URL: redirector.URL, Namespace: ns, APIKey: "s3cr3t"})
	_, err = redir(lineage.DownstreamName, map[string]any{"node": "rides"})
	if err == nil || !strings.Contains(err.Error(), "redirected to") {
		t.Errorf("redirect: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) != 0 {
		t.Errorf("the redirect was followed: %v", leaked)
	}
}

// The target policy is unchanged: with the manifest source it still
// refuses manifests outside it; with a catalog source the step's manifest
// input is not read at all, so a policy-breaking path reads nothing.
func TestMarquezLeavesTargetPolicyAlone(t *testing.T) {
	p, err := target.Parse(map[string]string{target.KeyLineagePaths: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	manifests := lineage.NewCache(lineage.Sources{Targets: p}, lineage.CacheOptions{Logger: quiet})
	_, err = run(t, register(lineage.NewWithCache(manifests)), lineage.DownstreamName, map[string]any{"manifest": "/etc/passwd", "node": "orders"})
	wantErr(t, err, target.RefusedType, true, "is not in targets.lineage.paths")

	s := standIn(t, bikes())
	catalog := lineage.NewCache(lineage.Sources{Targets: p}, lineage.CacheOptions{Logger: quiet,
		Source: lineage.SourceConfig{Kind: lineage.SourceMarquez, Marquez: lineage.MarquezConfig{URL: s.URL, Namespace: ns}}})
	res, err := run(t, register(lineage.NewWithCache(catalog)), lineage.DownstreamName, map[string]any{"manifest": "/etc/passwd", "node": "rides"})
	if err != nil || res.Output["source"] != "marquez" || catalog.Loads() != 0 {
		t.Errorf("catalog source: %v %v, manifests loaded %d", res.Output, err, catalog.Loads())
	}

	// The manifest source still needs its manifest.
	_, err = run(t, register(lineage.NewWithCache(manifests)), lineage.DownstreamName, map[string]any{"node": "orders"})
	wantErr(t, err, lineage.InvalidInputType, true, "input manifest is required", lineage.EnvSource)
}

func TestSourceFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, e := range []func(string) string{env(), env(lineage.EnvSource, "manifest")} {
		c, err := lineage.SourceFromEnv(e)
		if err != nil || c.Kind == lineage.SourceMarquez {
			t.Errorf("default: %+v %v", c, err)
		}
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("k3y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := lineage.SourceFromEnv(env(lineage.EnvSource, "Marquez", lineage.EnvMarquezURL, "http://marquez:5000",
		lineage.EnvMarquezNamespace, "food_delivery", lineage.EnvMarquezAPIKey+"_FILE", keyFile,
		lineage.EnvMarquezTimeout, "10s", lineage.EnvMarquezMaxDepth, "5", lineage.EnvMarquezMaxNodes, "100",
		lineage.EnvMarquezMaxBytes, "8MB", lineage.EnvMarquezTTL, "0s"))
	want := lineage.MarquezConfig{URL: "http://marquez:5000", Namespace: "food_delivery", APIKey: "k3y", Timeout: 10 * time.Second,
		MaxDepth: 5, MaxNodes: 100, MaxBytes: 8 << 20, TTL: -1}
	if err != nil || c.Kind != lineage.SourceMarquez || fmt.Sprint(c.Marquez) != fmt.Sprint(want) || c.Marquez.APIKey != "k3y" {
		t.Errorf("marquez: %+v %v", c, err)
	}
	if s := c.String(); strings.Contains(s, "k3y") || !strings.Contains(s, "API key set") {
		t.Errorf("String shows the key or hides that there is one: %s", s)
	}
	for _, bad := range []struct {
		env  func(string) string
		want string
	}{
		{env(lineage.EnvSource, "bigeye"), "not publicly documented"},
		{env(lineage.EnvSource, "atlas"), "want manifest or marquez"},
		{env(lineage.EnvSource, "marquez"), lineage.EnvMarquezURL},
		{env(lineage.EnvSource, "marquez", lineage.EnvMarquezURL, "marquez:5000"), "http(s) base URL"},
		{env(lineage.EnvSource, "marquez", lineage.EnvMarquezURL, "https://u:p@marquez"), "without credentials"},
		{env(lineage.EnvSource, "marquez", lineage.EnvMarquezURL, "http://m", lineage.EnvMarquezMaxDepth, "500"), "from 1 to 100"},
		{env(lineage.EnvSource, "marquez", lineage.EnvMarquezURL, "http://m", lineage.EnvMarquezTimeout, "5ms"), "from 1s to 10m"},
		{env(lineage.EnvSource, "marquez", lineage.EnvMarquezURL, "http://m", lineage.EnvMarquezAPIKey, "a", lineage.EnvMarquezAPIKey+"_FILE", keyFile), "both set"},
	} {
		_, err := lineage.SourceFromEnv(bad.env)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("want an error mentioning %q, got %v", bad.want, err)
		}
	}
	// CacheOptionsFromEnv carries the source.
	o, err := lineage.CacheOptionsFromEnv(env(lineage.EnvSource, "marquez", lineage.EnvMarquezURL, "http://m"))
	if err != nil || o.Source.Kind != lineage.SourceMarquez {
		t.Errorf("CacheOptionsFromEnv: %+v %v", o, err)
	}
}
