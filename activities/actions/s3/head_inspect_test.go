package s3act_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/activities/support/actiontest"
)

func TestObjectHead(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "lake")
	f.put(t, "lake", s3test.Object{
		Key: "exports/daily.json", Body: []byte(`{"rows": 1234}`), Modified: now.Add(-43 * time.Minute),
		ContentType: "application/json", Metadata: map[string]string{"producer": "orders_export", "run-id": "42"},
	})

	res := f.mustRun(t, s3act.ObjectHeadName, map[string]any{"bucket": "lake", "key": "exports/daily.json"})
	out := res.Output
	want(t, out, "ok", true)
	want(t, out, "exists", true)
	want(t, out, "size", 14)
	want(t, out, "last_modified", "2026-11-25T08:05:00Z")
	want(t, out, "age_minutes", 43)
	want(t, out, "content_type", "application/json")
	wantMeta := map[string]any{"producer": "orders_export", "run-id": "42"}
	if !reflect.DeepEqual(out["metadata"], wantMeta) {
		t.Errorf("metadata %#v, want %#v", out["metadata"], wantMeta)
	}
	if e, _ := out["etag"].(string); len(e) != 32 {
		t.Errorf("etag %q", out["etag"])
	}
	const summary = "s3.object_head s3://lake/exports/daily.json → 14 B, modified 2026-11-25T08:05:00Z (43m ago), application/json, 2 metadata keys"
	if res.Summary != summary {
		t.Errorf("summary\n got %s\nwant %s", res.Summary, summary)
	}

	// Expectations that fail make ok false, not an error.
	res = f.mustRun(t, s3act.ObjectHeadName, map[string]any{"bucket": "lake", "key": "exports/daily.json", "max_age": "30m", "min_bytes": 1024})
	want(t, res.Output, "ok", false)
	want(t, res.Output, "reason", "modified 43m ago, want within 30m; 14 B, want at least 1.0 KiB")

	// A missing key in an existing bucket is a finding.
	heads := f.srv.HeadCalls()
	res = f.mustRun(t, s3act.ObjectHeadName, map[string]any{"bucket": "lake", "key": "exports/missing.json"})
	want(t, res.Output, "exists", false)
	want(t, res.Output, "ok", false)
	want(t, res.Output, "reason", "no object s3://lake/exports/missing.json")
	if res.Summary != "s3.object_head s3://lake/exports/missing.json → missing" {
		t.Errorf("summary %q", res.Summary)
	}
	if got := f.srv.HeadCalls() - heads; got != 2 {
		t.Errorf("%d HEAD requests for a missing key, want 2 (object, then bucket)", got)
	}
}

func TestInspectPrefix(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "lake")
	day := func(d string, files int, size int, mod time.Time) []s3test.Object {
		var objs []s3test.Object
		for i := range files {
			objs = append(objs, s3test.Object{Key: fmt.Sprintf("events/dt=%s/part-%03d.parquet", d, i), Size: size, Modified: mod.Add(time.Duration(i) * time.Second)})
		}
		return append(objs, s3test.Object{Key: "events/dt=" + d + "/_SUCCESS", Modified: mod.Add(time.Hour)})
	}
	f.put(t, "lake", day("2026-11-24", 12, 4096, now.Add(-25*time.Hour))...)
	f.put(t, "lake", day("2026-11-25", 4, 4096, now.Add(-2*time.Hour))...)
	f.put(t, "lake",
		s3test.Object{Key: "events/dt=2026-11-25/part-empty.parquet", Modified: now.Add(-time.Hour)},
		s3test.Object{Key: "events/dt=2026-11-25/part-tiny.parquet", Size: 10, Modified: now.Add(-time.Hour)},
	)

	res := f.mustRun(t, s3act.InspectPrefixName, map[string]any{
		"bucket": "lake", "prefix": "events/dt=2026-11-25/", "previous_prefix": "events/dt=2026-11-24/",
		"min_bytes": 1024, "min_ratio": 0.8,
	})
	out := res.Output
	want(t, out, "objects", 6)
	want(t, out, "bytes", 4*4096+10)
	want(t, out, "empty_objects", 1)
	want(t, out, "small_objects", 1)
	want(t, out, "other_objects", 1)
	want(t, out, "newest_modified", "2026-11-25T07:48:00Z")
	want(t, out, "oldest_modified", "2026-11-25T06:48:00Z")
	want(t, out, "newest_age_minutes", 60)
	want(t, out, "previous_objects", 12)
	want(t, out, "previous_bytes", 12*4096)
	want(t, out, "objects_ratio", 0.5)
	want(t, out, "bytes_ratio", 0.334)
	want(t, out, "truncated", false)
	want(t, out, "list_calls", 2)
	want(t, out, "ok", false)
	want(t, out, "reason", "objects 0.50× the previous prefix's (6 vs 12), want at least 0.80×; bytes 0.33× the previous prefix's (16.0 KiB vs 48.0 KiB), want at least 0.80×")
	examples, _ := out["examples"].([]any)
	if len(examples) != 2 || examples[0] != "events/dt=2026-11-25/part-empty.parquet" || examples[1] != "events/dt=2026-11-25/part-tiny.parquet" {
		t.Errorf("examples %v", out["examples"])
	}
	if !strings.Contains(res.Summary, "s3.inspect_prefix s3://lake/events/dt=2026-11-25/ → 6 objects, 16.0 KiB, newest 2026-11-25T07:48:00Z (1h ago), 1 empty, 1 < 1.0 KiB; vs s3://lake/events/dt=2026-11-24/: 0.50× objects, 0.33× bytes (min 0.80: LOW)") {
		t.Errorf("summary %q", res.Summary)
	}
	if !strings.Contains(res.Detail, "`events/dt=2026-11-25/part-tiny.parquet`") {
		t.Errorf("detail %q", res.Detail)
	}

	// Without expectations beyond one object, the same prefix is ok.
	res = f.mustRun(t, s3act.InspectPrefixName, map[string]any{"bucket": "lake", "prefix": "events/dt=2026-11-25/", "previous_prefix": "events/dt=2026-11-24/"})
	want(t, res.Output, "ok", true)
	if _, has := res.Output["small_objects"]; has {
		t.Error("small_objects without min_bytes")
	}

	// An empty prefix fails the default min_objects of 1.
	res = f.mustRun(t, s3act.InspectPrefixName, map[string]any{"bucket": "lake", "prefix": "events/dt=2026-11-26/"})
	want(t, res.Output, "ok", false)
	want(t, res.Output, "reason", "0 data objects under s3://lake/events/dt=2026-11-26/, want at least 1")

	// max_objects bounds the listing, and a truncated comparison is not
	// judged.
	res = f.mustRun(t, s3act.InspectPrefixName, map[string]any{
		"bucket": "lake", "prefix": "events/", "previous_prefix": "events/dt=2026-11-24/", "max_objects": 5, "min_ratio": 0.9,
	})
	want(t, res.Output, "truncated", true)
	want(t, res.Output, "objects", 4) // and events/dt=2026-11-24/_SUCCESS
	want(t, res.Output, "other_objects", 1)
	want(t, res.Output, "ok", true)
	if _, has := res.Output["objects_ratio"]; has {
		t.Errorf("objects_ratio from truncated listings: %v", res.Output)
	}
	if !strings.Contains(res.Summary, "≥4 objects (stopped at max_objects)") || !strings.Contains(res.Summary, "not compared (a listing stopped at max_objects)") {
		t.Errorf("summary %q", res.Summary)
	}

	_, err := f.run(t, s3act.InspectPrefixName, map[string]any{"bucket": "lake", "prefix": "events/", "max_objects": 2_000_000})
	actiontest.NonRetryable(t, err, s3act.BadRequestType, "max_objects 2000000")
}
