package s3act_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/activities/support/actiontest"
)

// now is the tests' clock: 08:48 on 2026-11-25.
var now = time.Date(2026, 11, 25, 8, 48, 0, 0, time.UTC)

// lake fills bucket lake with hourly partitions events/dt=…/hr=… from
// 2026-11-22 00:00 up to (not including) until, each with 3 small files and
// a _SUCCESS marker, written 4 minutes after the hour ends.
func lake(t *testing.T, f *fixture, until time.Time) {
	t.Helper()
	f.bucket(t, "lake")
	if _, err := f.srv.PutPartitions("lake", s3test.Partitions{
		Prefix: "events/", Layout: "dt=2006-01-02/hr=15",
		From: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), To: until, Every: time.Hour,
		Files: 3, FileSize: 100, Marker: "_SUCCESS", Landed: 4 * time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
}

func latest(with map[string]any) map[string]any {
	base := map[string]any{"bucket": "lake", "prefix": "events/", "layout": "dt=YYYY-MM-DD/hr=HH", "expected_cadence": "1h"}
	for k, v := range with {
		base[k] = v
	}
	return base
}

func TestLatestPartitionPresent(t *testing.T) {
	f := newFixture(t, now)
	lake(t, f, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC))
	// The newest partition, hr=07: twelve files of 290 KiB, landed 08:04.
	landed := time.Date(2026, 11, 25, 8, 4, 0, 0, time.UTC)
	var objs []s3test.Object
	for i := range 12 {
		objs = append(objs, s3test.Object{Key: fmt.Sprintf("events/dt=2026-11-25/hr=07/part-%02d.parquet", i), Size: 290 << 10, Modified: landed})
	}
	objs = append(objs,
		s3test.Object{Key: "events/dt=2026-11-25/hr=07/_SUCCESS", Modified: landed.Add(time.Second)},
		s3test.Object{Key: "events/dt=2026-11-25/hr=07/.part-00.parquet.crc", Size: 12, Modified: landed},
		// Not partitions: ignored.
		s3test.Object{Key: "events/dt=latest/readme.txt", Size: 5, Modified: landed},
		s3test.Object{Key: "events/_tmp/x", Size: 5, Modified: landed},
	)
	f.put(t, "lake", objs...)

	lists := f.srv.ListCalls()
	res := f.mustRun(t, s3act.LatestPartitionName, latest(nil))
	const summary = "s3.latest_partition s3://lake/events/ → dt=2026-11-25/hr=07, 43m old (cadence 1h: ok), 12 objects, 3.4 MiB, _SUCCESS present"
	if res.Summary != summary {
		t.Errorf("summary\n got %s\nwant %s", res.Summary, summary)
	}
	out := res.Output
	want(t, out, "ok", true)
	want(t, out, "found", true)
	want(t, out, "partition", "dt=2026-11-25/hr=07")
	want(t, out, "partition_prefix", "events/dt=2026-11-25/hr=07/")
	want(t, out, "partition_time", "2026-11-25T07:00:00Z")
	want(t, out, "previous_prefix", "events/dt=2026-11-25/hr=06/")
	want(t, out, "newest_modified", "2026-11-25T08:04:01Z")
	want(t, out, "newest_key", "events/dt=2026-11-25/hr=07/_SUCCESS")
	want(t, out, "age_minutes", 43)
	want(t, out, "age_seconds", 43*60+59)
	want(t, out, "objects", 12)
	want(t, out, "bytes", 12*290<<10)
	want(t, out, "other_objects", 1)
	want(t, out, "marker_present", true)
	want(t, out, "objects_truncated", false)
	want(t, out, "expected_cadence", "1h0m0s")
	want(t, out, "grace", "15m0s")
	// Three levels of listing: the days, the hours of the newest day, the
	// newest hour's objects.
	want(t, out, "list_calls", 3)
	want(t, out, "head_calls", 0)
	if got := f.srv.ListCalls() - lists; got != 3 {
		t.Errorf("the server saw %d list calls, want 3", got)
	}
	if res.Detail != "" {
		t.Errorf("detail for a healthy partition: %q", res.Detail)
	}
}

func TestLatestPartitionLate(t *testing.T) {
	f := newFixture(t, now.Add(90*time.Minute)) // 10:18: hr=08 should have landed by 09:19
	lake(t, f, time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC))
	res := f.mustRun(t, s3act.LatestPartitionName, latest(nil))
	out := res.Output
	want(t, out, "ok", false)
	want(t, out, "partition", "dt=2026-11-25/hr=07")
	want(t, out, "age_minutes", 133)
	want(t, out, "marker_present", true)
	want(t, out, "reason", "newest object 2h13m old, expected within 1h15m (cadence 1h + grace 15m)")
	if !strings.Contains(res.Summary, "2h13m old (cadence 1h: LATE)") {
		t.Errorf("summary %q does not say LATE", res.Summary)
	}
	if !strings.Contains(res.Detail, "**Check failed**") || !strings.Contains(res.Detail, "events/dt=2026-11-25/hr=07/part-00000.parquet") {
		t.Errorf("detail %q", res.Detail)
	}
	// An explicit grace changes the verdict.
	res = f.mustRun(t, s3act.LatestPartitionName, latest(map[string]any{"grace": "90m"}))
	want(t, res.Output, "ok", true)
	// Without a cadence, age is reported but not judged.
	in := latest(nil)
	delete(in, "expected_cadence")
	res = f.mustRun(t, s3act.LatestPartitionName, in)
	want(t, res.Output, "ok", true)
	if _, has := res.Output["expected_cadence"]; has {
		t.Errorf("expected_cadence in output without one: %v", res.Output)
	}
	if !strings.Contains(res.Summary, "2h13m old, 3 objects") {
		t.Errorf("summary %q", res.Summary)
	}
}

func TestLatestPartitionEmpty(t *testing.T) {
	f := newFixture(t, now)
	lake(t, f, time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC))
	// hr=08 exists only as a console folder and a job's temporary output.
	f.put(t, "lake",
		s3test.Object{Key: "events/dt=2026-11-25/hr=08/", Modified: now.Add(-10 * time.Minute)},
		s3test.Object{Key: "events/dt=2026-11-25/hr=08/_temporary/0/part-0.parquet", Size: 100, Modified: now.Add(-2 * time.Minute)},
	)
	res := f.mustRun(t, s3act.LatestPartitionName, latest(nil))
	out := res.Output
	want(t, out, "ok", false)
	want(t, out, "partition", "dt=2026-11-25/hr=08")
	want(t, out, "objects", 0)
	want(t, out, "other_objects", 2)
	want(t, out, "marker_present", false)
	want(t, out, "reason", "no data objects in dt=2026-11-25/hr=08; _SUCCESS missing in dt=2026-11-25/hr=08")
	const summary = "s3.latest_partition s3://lake/events/ → dt=2026-11-25/hr=08, age unknown (cadence 1h: ok), no data objects, 0 B, _SUCCESS MISSING"
	if res.Summary != summary {
		t.Errorf("summary\n got %s\nwant %s", res.Summary, summary)
	}
}

func TestLatestPartitionMarkerMissing(t *testing.T) {
	f := newFixture(t, now)
	lake(t, f, time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC))
	f.put(t, "lake", s3test.Object{Key: "events/dt=2026-11-25/hr=08/part-0.parquet", Size: 2048, Modified: now.Add(-3 * time.Minute)})
	res := f.mustRun(t, s3act.LatestPartitionName, latest(nil))
	out := res.Output
	want(t, out, "ok", false)
	want(t, out, "partition", "dt=2026-11-25/hr=08")
	want(t, out, "marker_present", false)
	want(t, out, "age_minutes", 3)
	want(t, out, "reason", "_SUCCESS missing in dt=2026-11-25/hr=08")
	if !strings.HasSuffix(res.Summary, "3m old (cadence 1h: ok), 1 object, 2.0 KiB, _SUCCESS MISSING") {
		t.Errorf("summary %q", res.Summary)
	}
	// marker: "" expects none; another marker name is looked for instead.
	res = f.mustRun(t, s3act.LatestPartitionName, latest(map[string]any{"marker": ""}))
	want(t, res.Output, "ok", true)
	if strings.Contains(res.Summary, "_SUCCESS") {
		t.Errorf("summary %q mentions a marker", res.Summary)
	}
	f.put(t, "lake", s3test.Object{Key: "events/dt=2026-11-25/hr=08/_DONE", Modified: now.Add(-time.Minute)})
	res = f.mustRun(t, s3act.LatestPartitionName, latest(map[string]any{"marker": "_DONE"}))
	want(t, res.Output, "ok", true)
	want(t, res.Output, "age_minutes", 1)
	want(t, res.Output, "marker_modified", "2026-11-25T08:47:00Z")
}

func TestLatestPartitionMissing(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "lake")
	// Partitions under another name, and a prefix with nothing at all.
	f.put(t, "lake", s3test.Object{Key: "events/date=2026-11-25/hour=07/part-0", Size: 1, Modified: now})
	for _, prefix := range []string{"events/", "nothing/here"} {
		res := f.mustRun(t, s3act.LatestPartitionName, latest(map[string]any{"prefix": prefix}))
		want(t, res.Output, "ok", false)
		want(t, res.Output, "found", false)
		want(t, res.Output, "partition", "")
		if !strings.Contains(res.Summary, "no partition matching dt=YYYY-MM-DD/hr=HH") {
			t.Errorf("summary %q", res.Summary)
		}
		// The hinted listing found nothing, so the level was listed again
		// from the start.
		want(t, res.Output, "list_calls", 2)
	}
}

func TestLatestPartitionSkipsIncompleteNewest(t *testing.T) {
	f := newFixture(t, now)
	lake(t, f, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	// The newest day has no hour partition yet, only a job's scratch space.
	f.put(t, "lake", s3test.Object{Key: "events/dt=2026-11-25/_temporary/0/x", Size: 1, Modified: now})
	res := f.mustRun(t, s3act.LatestPartitionName, latest(nil))
	want(t, res.Output, "partition", "dt=2026-11-24/hr=23")
	want(t, res.Output, "list_calls", 4)
}

// A long single-level history older than the scan hint: the level is
// listed in full, over several pages, and the newest still found.
func TestLatestPartitionPaginatesOldHistory(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "lake")
	end := now.Add(-30 * 24 * time.Hour).Truncate(time.Hour)
	n, err := f.srv.PutPartitions("lake", s3test.Partitions{
		Prefix: "clicks/", Layout: "dt=2006-01-02-15",
		From: end.Add(-60 * 24 * time.Hour), To: end, Every: time.Hour, Files: 1, FileSize: 10, Marker: "_SUCCESS",
	})
	if err != nil || n != 2*1440 {
		t.Fatalf("put %d objects: %v", n, err)
	}
	res := f.mustRun(t, s3act.LatestPartitionName, map[string]any{
		"bucket": "lake", "prefix": "clicks", "layout": "dt=YYYY-MM-DD-HH", "expected_cadence": "1h",
	})
	want(t, res.Output, "partition", "dt="+end.Add(-time.Hour).Format("2006-01-02-15"))
	want(t, res.Output, "ok", false)
	// 1 hinted call (nothing that recent), 2 pages of 1,440 directories,
	// 1 listing of the partition.
	want(t, res.Output, "list_calls", 4)
}

func TestLatestPartitionLayouts(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "lake")
	f.put(t, "lake",
		s3test.Object{Key: "y/2026/10/31/part", Size: 1, Modified: now},
		s3test.Object{Key: "y/2026/11/02/part", Size: 1, Modified: now},
		s3test.Object{Key: "y/2026/11/1/part", Size: 1, Modified: now},  // not zero padded: ignored
		s3test.Object{Key: "y/2026/02/30/part", Size: 1, Modified: now}, // no such day: ignored
		s3test.Object{Key: "y/2025/12/31/part", Size: 1, Modified: now},
		s3test.Object{Key: "k/year=2026/month=11/day=24/part", Size: 1, Modified: now},
		s3test.Object{Key: "k/year=2026/month=11/day=25/part", Size: 1, Modified: now},
	)
	for _, c := range []struct{ prefix, layout, partition, previous string }{
		{"y", "YYYY/MM/DD", "2026/11/02", "y/2026/11/01/"},
		{"k/", "year=YYYY/month=MM/day=DD", "year=2026/month=11/day=25", "k/year=2026/month=11/day=24/"},
	} {
		res := f.mustRun(t, s3act.LatestPartitionName, map[string]any{"bucket": "lake", "prefix": c.prefix, "layout": c.layout, "marker": ""})
		want(t, res.Output, "partition", c.partition)
		want(t, res.Output, "previous_prefix", c.previous)
		want(t, res.Output, "ok", true)
	}
}

func TestLatestPartitionBadInputs(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "lake")
	for _, c := range []struct {
		with map[string]any
		says string
	}{
		{map[string]any{"layout": "events/dt=YYYY-MM-DD"}, `level "events" has no date field`},
		{map[string]any{"layout": "dt=YYYY-MM-DD/d2=DD"}, "DD twice"},
		{map[string]any{"layout": "hr=HH"}, "no year"},
		{map[string]any{"layout": "YYYY/DD"}, "DD without MM"},
		{map[string]any{"bucket": "s3://lake/events/"}, `give the bucket's name ("lake")`},
	} {
		_, err := f.run(t, s3act.LatestPartitionName, latest(c.with))
		actiontest.NonRetryable(t, err, s3act.BadRequestType, c.says)
	}
	_, err := f.run(t, s3act.LatestPartitionName, latest(map[string]any{"cadence": "1h"}))
	actiontest.NonRetryable(t, err, actionsInvalidInput, `unknown input "cadence"`)
}

const actionsInvalidInput = "InvalidInput"

// A partition with more objects than MaxPartitionObjects: the listing stops
// there, says so, and asks for the marker with a HEAD.
func TestLatestPartitionHugePartition(t *testing.T) {
	f := newFixture(t, now)
	f.bucket(t, "lake")
	dir := "events/dt=2026-11-25/hr=07/"
	objs := make([]s3test.Object, 0, s3act.MaxPartitionObjects+51)
	for i := range s3act.MaxPartitionObjects + 50 {
		// Digits sort before _SUCCESS, so the listing stops before it.
		objs = append(objs, s3test.Object{Key: fmt.Sprintf("%s%05d.parquet", dir, i), Size: 1, Modified: now.Add(-time.Hour)})
	}
	objs = append(objs, s3test.Object{Key: dir + "_SUCCESS", Modified: now.Add(-50 * time.Minute)})
	f.put(t, "lake", objs...)
	res := f.mustRun(t, s3act.LatestPartitionName, latest(nil))
	out := res.Output
	want(t, out, "objects", s3act.MaxPartitionObjects)
	want(t, out, "objects_truncated", true)
	want(t, out, "marker_present", true)
	want(t, out, "head_calls", 1)
	want(t, out, "list_calls", 2+s3act.MaxPartitionObjects/1000)
	want(t, out, "age_minutes", 50)
	want(t, out, "ok", true)
	if !strings.Contains(res.Summary, "≥10,000 objects") {
		t.Errorf("summary %q", res.Summary)
	}
}
