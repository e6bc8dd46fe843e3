package s3act_test

import (
	"testing"
	"time"

	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
)

// bigLake fills bucket lake with days of hourly partitions events/dt=…/hr=…,
// 13 small files and a _SUCCESS each, ending with hr=07 of 2026-11-25
// (written at 08:04), and returns how many keys it put.
func bigLake(tb testing.TB, f *fixture, days int) int {
	tb.Helper()
	f.bucket(tb, "lake")
	end := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	n, err := f.srv.PutPartitions("lake", s3test.Partitions{
		Prefix: "events/", Layout: "dt=2006-01-02/hr=15",
		From: end.Add(-time.Duration(days) * 24 * time.Hour), To: end, Every: time.Hour,
		Files: 13, FileSize: 64, Marker: "_SUCCESS", Landed: 4 * time.Minute,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// The number of List calls s3.latest_partition makes depends on the
// layout's depth, not on the number of keys: one page per level and one
// for the partition's objects.
func TestLatestPartitionListCallsAreBoundedByDepth(t *testing.T) {
	f := newFixture(t, now)
	keys := bigLake(t, f, 30)
	if keys < 10_000 {
		t.Fatalf("only %d keys", keys)
	}
	const levels, pagesPerLevel = 2, 1
	before := f.srv.ListCalls()
	start := time.Now()
	res := f.mustRun(t, s3act.LatestPartitionName, latest(nil))
	elapsed := time.Since(start)
	calls := int(num(t, res.Output, "list_calls"))
	t.Logf("%d keys: %d list calls in %v (%v per call); a full listing takes %d", keys, calls, elapsed,
		elapsed/time.Duration(calls), (keys+999)/1000)
	want(t, res.Output, "partition", "dt=2026-11-25/hr=07")
	want(t, res.Output, "objects", 13)
	want(t, res.Output, "ok", true)
	if calls > levels*pagesPerLevel+1 {
		t.Errorf("%d list calls, want at most %d", calls, levels*pagesPerLevel+1)
	}
	if got := f.srv.ListCalls() - before; got != int64(calls) {
		t.Errorf("the server saw %d list calls, the output says %d", got, calls)
	}
}

// BenchmarkLatestPartition runs s3.latest_partition over ~100k keys (a
// year of hourly partitions), through the activity environment, against
// the stand-in; inspect_prefix over the same prefix shows what a full
// listing costs.
func BenchmarkLatestPartition(b *testing.B) {
	f := newFixture(b, now)
	start := time.Now()
	keys := bigLake(b, f, 300)
	b.Logf("%d keys put in %v", keys, time.Since(start))
	for _, c := range []struct {
		name   string
		action string
		with   map[string]any
	}{
		{"latest_partition", s3act.LatestPartitionName, latest(nil)},
		{"inspect_whole_prefix", s3act.InspectPrefixName, map[string]any{"bucket": "lake", "prefix": "events/"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			before := f.srv.ListCalls()
			var calls float64
			for b.Loop() {
				res := f.mustRun(b, c.action, c.with)
				calls = num(b, res.Output, "list_calls")
			}
			served := float64(f.srv.ListCalls()-before) / float64(b.N)
			b.ReportMetric(calls, "lists/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/calls/1e6, "ms/list")
			if served != calls {
				b.Errorf("server saw %.1f list calls per op, output says %.0f", served, calls)
			}
		})
	}
}
