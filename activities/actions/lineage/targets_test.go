package lineage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	"github.com/datasev/datasev/activities/support/target"
)

// A manifest path can name any file the worker reads; a file that is not
// JSON must not have its content echoed in the error (which lands in the
// incident's timeline and history).
func TestManifestErrorsDoNotEchoTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(q, []byte(`{"nodes": {"k": {"name": 31337}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := register(lineage.NewWithCache(lineage.NewCache(lineage.Sources{}, lineage.CacheOptions{Logger: quiet})))
	for path, secret := range map[string]string{p: "'r'", q: "31337"} {
		_, err := run(t, e, lineage.DownstreamName, map[string]any{"manifest": path, "node": "orders"})
		wantErr(t, err, lineage.InvalidManifestType, true, "invalid manifest JSON at byte")
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error echoes the file's content %s: %v", secret, err)
		}
	}
}

func TestManifestsOutsidePolicyAreRefused(t *testing.T) {
	root := t.TempDir()
	good := filepath.Join(root, "manifest.json")
	if err := os.WriteFile(good, manifesttest.Generate(shop()), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := writeManifest(t, manifesttest.Generate(shop())) // a valid manifest, elsewhere
	if err := os.Symlink(outside, filepath.Join(root, "link.json")); err != nil {
		t.Fatal(err)
	}
	p, err := target.Parse(map[string]string{
		target.KeyLineagePaths:  root,
		target.KeyLineageS3:     "lake/dbt/",
		target.KeyLineageGitHub: "acme/analytics/target",
	})
	if err != nil {
		t.Fatal(err)
	}
	cache := lineage.NewCache(lineage.Sources{Targets: p}, lineage.CacheOptions{Logger: quiet})
	e := register(lineage.NewWithCache(cache))
	if _, err := run(t, e, lineage.DownstreamName, map[string]any{"manifest": good, "node": "stg_orders"}); err != nil {
		t.Fatal(err)
	}
	for uri, key := range map[string]string{
		outside:                                  "targets.lineage.paths",
		"/etc/passwd":                            "targets.lineage.paths",
		root + "/../" + filepath.Base(outside):   "targets.lineage.paths",
		"file://" + outside:                      "targets.lineage.paths",
		filepath.Join(root, "link.json"):         "targets.lineage.paths",
		"s3://secrets/dbt/manifest.json":         "targets.lineage.s3",
		"s3://lake/private/manifest.json":        "targets.lineage.s3",
		"github://evil/x/target/manifest.json":   "targets.lineage.github",
		"github://acme/analytics/.env@main":      "targets.lineage.github",
		"github://acme/analytics/targetx/m.json": "targets.lineage.github",
	} {
		_, err := run(t, e, lineage.DownstreamName, map[string]any{"manifest": uri, "node": "stg_orders"})
		wantErr(t, err, target.RefusedType, true, "lineage.downstream: manifest ", "target policy: ", "is not in "+key)
	}
	if cache.Loads() != 1 {
		t.Errorf("%d manifests loaded, want only the allowed one", cache.Loads())
	}
}
