package s3act_test

import (
	"testing"
	"time"

	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/activities/support/target"
)

func TestBucketsOutsidePolicyAreRefused(t *testing.T) {
	f := newFixture(t, time.Now())
	f.bucket(t, "lake", "secrets")
	f.put(t, "secrets", s3test.Object{Key: "events/dt=2026-01-01/keys.csv", Body: []byte("k")})
	p, err := target.Parse(map[string]string{target.KeyS3Buckets: "lake, lake-*"})
	if err != nil {
		t.Fatal(err)
	}
	e := register(f.actions.WithTargets(p))
	before := f.srv.Requests()
	for action, with := range map[string]map[string]any{
		s3act.InspectPrefixName:   {"bucket": "secrets", "prefix": "events/"},
		s3act.LatestPartitionName: {"bucket": "secrets", "prefix": "events/", "layout": "dt=YYYY-MM-DD"},
		s3act.ObjectHeadName:      {"bucket": "secrets", "key": "events/dt=2026-01-01/keys.csv"},
	} {
		_, err := run(t, e, action, with)
		actiontest.NonRetryable(t, err, target.RefusedType, action+`: target policy: bucket "secrets" is not in targets.s3.buckets`)
	}
	if n := f.srv.Requests() - before; n != 0 {
		t.Fatalf("%d requests reached S3", n)
	}
	if _, err := run(t, e, s3act.InspectPrefixName, map[string]any{"bucket": "lake", "prefix": "events/"}); err != nil {
		t.Fatal(err)
	}
}
