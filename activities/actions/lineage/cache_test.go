package lineage_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
)

// Concurrent calls for one manifest share one load; later calls hit the
// cache; a changed file (new size and mtime) is loaded again.
func TestCacheLoadsOnce(t *testing.T) {
	path := writeManifest(t, manifesttest.Generate(shop()))
	c := lineage.NewCache(lineage.Sources{}, lineage.CacheOptions{Logger: quiet})
	const callers = 16
	graphs := make([]*lineage.Graph, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			graphs[i], errs[i] = c.Graph(t.Context(), path)
		})
	}
	close(start)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || graphs[i] != graphs[0] {
			t.Fatalf("caller %d: %v (same graph %v)", i, errs[i], graphs[i] == graphs[0])
		}
	}
	if n := c.Loads(); n != 1 {
		t.Errorf("%d callers caused %d loads, want 1", callers, n)
	}
	g, err := c.Graph(t.Context(), "file://"+path)
	if err != nil || c.Loads() != 2 {
		// file://path is another URI: another entry.
		t.Errorf("file:// URI: %v, loads %d", err, c.Loads())
	}
	_ = g
	if g2, _ := c.Graph(t.Context(), path); g2 != graphs[0] || c.Loads() != 2 {
		t.Errorf("unchanged manifest reloaded (loads %d)", c.Loads())
	}

	// A new dbt run rewrites the manifest.
	p := shop()
	p.Models = append(p.Models, manifesttest.Model{Name: "orders_v2", Refs: []string{"orders"}})
	if err := os.WriteFile(path, manifesttest.Generate(p), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	g3, err := c.Graph(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Loads() != 3 || g3 == graphs[0] {
		t.Errorf("changed manifest: loads %d, new graph %v", c.Loads(), g3 != graphs[0])
	}
	if _, ok := g3.Node("model.shop.orders_v2"); !ok {
		t.Error("the reloaded graph lacks the new model")
	}
	if g4, _ := c.Graph(t.Context(), path); g4 != g3 || c.Loads() != 3 {
		t.Errorf("second read of the new version reloaded (loads %d)", c.Loads())
	}
}

// The cache keeps the most recently used Entries manifests.
func TestCacheEvicts(t *testing.T) {
	c := lineage.NewCache(lineage.Sources{}, lineage.CacheOptions{Entries: 2, Logger: quiet})
	b := manifesttest.Generate(shop())
	a, bb, cc := writeManifest(t, b), writeManifest(t, b), writeManifest(t, b)
	for i, step := range []struct {
		path  string
		loads int64
	}{
		{a, 1}, {bb, 2}, {a, 2}, {cc, 3}, // cc evicts bb, the least recently used
		{a, 3},          // a was used after bb: still held
		{bb, 4}, {a, 4}, // bb evicts cc; a still held
		{cc, 5}, {bb, 6},
	} {
		if _, err := c.Graph(t.Context(), step.path); err != nil {
			t.Fatal(err)
		}
		if c.Loads() != step.loads {
			t.Fatalf("step %d: loads %d, want %d", i, c.Loads(), step.loads)
		}
	}
}

// A manifest over the size bound is refused without being held whole.
func TestCacheMaxBytes(t *testing.T) {
	path := writeManifest(t, manifesttest.Generate(shop()))
	c := lineage.NewCache(lineage.Sources{}, lineage.CacheOptions{MaxBytes: 1000, Logger: quiet})
	_, err := c.Graph(t.Context(), path)
	wantErr(t, err, lineage.TooLargeType, true, path, "1000-byte")
}

func TestParseURI(t *testing.T) {
	for uri, want := range map[string]lineage.Location{
		"target/manifest.json":               {Scheme: "file", Path: "target/manifest.json"},
		"/srv/dbt/target/manifest.json":      {Scheme: "file", Path: "/srv/dbt/target/manifest.json"},
		"file:///srv/dbt/manifest.json":      {Scheme: "file", Path: "/srv/dbt/manifest.json"},
		"s3://lake/dbt/prod/manifest.json":   {Scheme: "s3", Bucket: "lake", Path: "dbt/prod/manifest.json"},
		"github://acme/dbt/target/m.json@v2": {Scheme: "github", Owner: "acme", Repo: "dbt", Path: "target/m.json", Ref: "v2"},
		"github://acme/dbt/manifest.json":    {Scheme: "github", Owner: "acme", Repo: "dbt", Path: "manifest.json"},
	} {
		got, err := lineage.ParseURI(uri)
		if err != nil || got != want {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", uri, got, err, want)
		}
	}
	for _, uri := range []string{"", "s3://", "s3://bucket", "s3://bucket/dir/", "github://acme/dbt", "github://acme/dbt/m.json@",
		"github://acme/dbt/../secrets@main", "gs://b/k", "file://otherhost/x", "s3:lake/key"} {
		if got, err := lineage.ParseURI(uri); err == nil {
			t.Errorf("ParseURI(%q) = %+v, want an error", uri, got)
		}
	}
}
