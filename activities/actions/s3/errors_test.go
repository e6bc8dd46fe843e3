package s3act_test

import (
	"context"
	"os"
	"testing"

	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/activities/support/actiontest"
)

var everyAction = []struct {
	name string
	with map[string]any
}{
	{s3act.LatestPartitionName, map[string]any{"bucket": "nope", "prefix": "events/", "layout": "dt=YYYY-MM-DD"}},
	{s3act.InspectPrefixName, map[string]any{"bucket": "nope", "prefix": "events/"}},
	{s3act.ObjectHeadName, map[string]any{"bucket": "nope", "key": "events/x.json"}},
}

func TestNoSuchBucketIsNotRetried(t *testing.T) {
	f := newFixture(t, now)
	for _, a := range everyAction {
		_, err := f.run(t, a.name, a.with)
		actiontest.NonRetryable(t, err, s3act.NoSuchBucketType, a.name+`: bucket "nope" does not exist`, "s3://nope/")
	}
}

func TestAccessDeniedIsNotRetried(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "nope")
	f.srv.Deny("nope")
	for _, a := range everyAction {
		_, err := f.run(t, a.name, a.with)
		actiontest.NonRetryable(t, err, s3act.AccessDeniedType, a.name+": access denied", "s3://nope/", "arn:aws:s3:::nope")
	}
	f.srv.Allow("nope")
	res := f.mustRun(t, s3act.InspectPrefixName, everyAction[1].with)
	want(t, res.Output, "objects", 0)
}

func TestThrottlingAndServerErrorsAreRetried(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "lake")
	for _, fault := range []s3test.Fault{s3test.SlowDown, s3test.InternalError, {Status: 502, Code: "BadGateway"}} {
		for _, a := range everyAction {
			with := map[string]any{}
			for k, v := range a.with {
				with[k] = v
			}
			with["bucket"] = "lake"
			f.srv.FailNext(1, fault)
			_, err := f.run(t, a.name, with)
			actiontest.Retryable(t, err, a.name, "lake")
		}
	}
	// Once the store recovers, the same step succeeds.
	res := f.mustRun(t, s3act.InspectPrefixName, map[string]any{"bucket": "lake", "prefix": "/"})
	want(t, res.Output, "objects", 0)
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	f := newFixture(t, now)
	f.srv.Close() // nothing listens there now
	_, err := f.run(t, s3act.ObjectHeadName, map[string]any{"bucket": "lake", "key": "k"})
	actiontest.Retryable(t, err, "s3.object_head: HeadObject s3://lake/k")
}

func TestWithoutClient(t *testing.T) {
	e := register(s3act.New(nil))
	for _, a := range everyAction {
		_, err := run(t, e, a.name, a.with)
		actiontest.NonRetryable(t, err, s3act.NotConfiguredType, "no S3 client", s3act.EnvEndpoint)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := s3act.ConfigFromEnv(env(nil))
	if err != nil || cfg != (s3act.Config{}) {
		t.Errorf("empty environment: %+v, %v", cfg, err)
	}
	cfg, err = s3act.ConfigFromEnv(env(map[string]string{
		s3act.EnvEndpoint: "http://127.0.0.1:9000", s3act.EnvRegion: "eu-west-1", s3act.EnvProfile: "lake", s3act.EnvMaxAttempts: "5",
	}))
	wantCfg := s3act.Config{Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000", UsePathStyle: true, Profile: "lake", MaxAttempts: 5}
	if err != nil || cfg != wantCfg {
		t.Errorf("got %+v, %v; want %+v", cfg, err, wantCfg)
	}
	cfg, err = s3act.ConfigFromEnv(env(map[string]string{s3act.EnvEndpoint: "https://minio.internal", s3act.EnvPathStyle: "false"}))
	if err != nil || cfg.UsePathStyle {
		t.Errorf("path style off: %+v, %v", cfg, err)
	}
	for _, bad := range []map[string]string{
		{s3act.EnvEndpoint: "minio:9000"},
		{s3act.EnvEndpoint: "http://key:secret@minio:9000"},
		{s3act.EnvPathStyle: "maybe"},
		{s3act.EnvMaxAttempts: "0"},
	} {
		if _, err := s3act.ConfigFromEnv(env(bad)); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	// The stand-in's Env names the same variables.
	if s3test.EnvEndpoint != s3act.EnvEndpoint || s3test.EnvRegion != s3act.EnvRegion || s3test.EnvPathStyle != s3act.EnvPathStyle {
		t.Error("s3test and s3act disagree on the DATASEV_S3_* names")
	}
}

// NewClient with no region anywhere falls back to DefaultRegion, and an
// unknown profile is an error at start-up, not at the first request.
func TestNewClient(t *testing.T) {
	srv := s3test.New()
	defer srv.Close()
	awsEnv(t, srv)
	t.Setenv(s3act.EnvRegion, "")
	cfg, err := s3act.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3act.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Options().Region; r != s3act.DefaultRegion {
		t.Errorf("region %q, want %q", r, s3act.DefaultRegion)
	}
	if !c.Options().UsePathStyle || *c.Options().BaseEndpoint != srv.URL {
		t.Errorf("options: path style %v, endpoint %v", c.Options().UsePathStyle, *c.Options().BaseEndpoint)
	}
	cfg.Profile = "no-such-profile"
	if _, err := s3act.NewClient(context.Background(), cfg); err == nil {
		t.Error("unknown profile: no error")
	}
}
