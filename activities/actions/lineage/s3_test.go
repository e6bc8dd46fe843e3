package lineage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
)

// s3Client starts the S3 stand-in and builds aws-sdk-go-v2's client for it
// the way the worker does (activities/actions/s3's configuration), with static
// credentials, no instance metadata and no shared files.
func s3Client(t *testing.T) (*s3test.Server, *lineage.Actions, *lineage.Cache) {
	t.Helper()
	srv := s3test.New()
	t.Cleanup(srv.Close)
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv(s3act.EnvMaxAttempts, "1") // a 500 fails at once, to see how it is classified
	cfg, err := s3act.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3act.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	cache := lineage.NewCache(lineage.Sources{S3: c}, lineage.CacheOptions{Logger: quiet})
	return srv, lineage.NewWithCache(cache), cache
}

func TestS3Source(t *testing.T) {
	srv, a, cache := s3Client(t)
	put := func(p manifesttest.Project) {
		t.Helper()
		if err := srv.PutObjects("lake", s3test.Object{Key: "dbt/prod/manifest.json", Body: manifesttest.Generate(p), ContentType: "application/json"}); err != nil {
			t.Fatal(err)
		}
	}
	put(shop())
	e := register(a)
	uri := "s3://lake/dbt/prod/manifest.json"
	for range 3 {
		res, err := run(t, e, lineage.DownstreamName, map[string]any{"manifest": uri, "node": "stg_orders"})
		if err != nil {
			t.Fatal(err)
		}
		if num(res.Output["count"]) != 9 || res.Output["suggested_severity"] != "SEV2" {
			t.Fatalf("output %v", res.Output)
		}
	}
	if cache.Loads() != 1 {
		t.Errorf("3 runs on one ETag: %d loads, want 1", cache.Loads())
	}

	// A new upload has a new ETag: loaded again, and the new model shows.
	p := shop()
	p.Models = append(p.Models, manifesttest.Model{Name: "orders_v2", Refs: []string{"stg_orders"}})
	put(p)
	res, err := run(t, e, lineage.DownstreamName, map[string]any{"manifest": uri, "node": "stg_orders"})
	if err != nil {
		t.Fatal(err)
	}
	if num(res.Output["count"]) != 10 || cache.Loads() != 2 {
		t.Errorf("after a new upload: count %v, loads %d", res.Output["count"], cache.Loads())
	}

	// Errors: a missing key or bucket, refused access are final; a 500
	// is retried.
	_, err = run(t, e, lineage.DownstreamName, map[string]any{"manifest": "s3://lake/dbt/dev/manifest.json", "node": "orders"})
	wantErr(t, err, lineage.NotFoundType, true, "s3://lake/dbt/dev/manifest.json")
	_, err = run(t, e, lineage.DownstreamName, map[string]any{"manifest": "s3://nolake/manifest.json", "node": "orders"})
	wantErr(t, err, lineage.NotFoundType, true, "s3://nolake/manifest.json")
	srv.FailNext(1, s3test.InternalError)
	_, err = run(t, e, lineage.DownstreamName, map[string]any{"manifest": uri, "node": "orders"})
	if err == nil || appErr(t, err).NonRetryable() {
		t.Errorf("a 500 should be retryable: %v", err)
	}
	srv.Deny("lake")
	_, err = run(t, e, lineage.DownstreamName, map[string]any{"manifest": uri, "node": "orders"})
	wantErr(t, err, lineage.AccessDeniedType, true, uri, "s3:GetObject")
}
