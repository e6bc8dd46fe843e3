package bench_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/dev/bench"
)

// TestRunSmall runs every scenario against a fresh dev server. It checks the
// report's shape only; timings on a shared test machine are not asserted.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := bench.Run(ctx, bench.Options{N: 5}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{bench.FloorStart, bench.IncidentSignal, bench.FloorEager, bench.IncidentEager}
	if len(rep.Scenarios) != len(want) {
		t.Fatalf("got %d scenarios, want %d", len(rep.Scenarios), len(want))
	}
	for i, name := range want {
		s := rep.Scenarios[i]
		if s.Name != name {
			t.Errorf("scenario %d is %q, want %q", i, s.Name, name)
		}
		if len(s.Samples) != 5 {
			t.Errorf("%s: %d samples, want 5", name, len(s.Samples))
		}
		for j, d := range s.Samples {
			if d <= 0 {
				t.Errorf("%s: sample %d is %s, want > 0", name, j, d)
			}
		}
		if s.P50 <= 0 || s.P50 > s.P95 || s.P95 > s.P99 || s.Mean <= 0 {
			t.Errorf("%s: p50 %s, p95 %s, p99 %s, mean %s: want 0 < p50 ≤ p95 ≤ p99 and mean > 0", name, s.P50, s.P95, s.P99, s.Mean)
		}
	}
	if !(rep.RatioStart > 0) || !(rep.RatioEager > 0) {
		t.Errorf("ratios %v, %v: want positive", rep.RatioStart, rep.RatioEager)
	}
	for _, name := range []string{bench.FloorEager, bench.IncidentEager} {
		if s, _ := rep.Scenario(name); s.EagerRequested != len(s.Samples) {
			t.Errorf("%s: the SDK requested eager start %d times for %d samples", name, s.EagerRequested, len(s.Samples))
		}
	}
	if !bytes.Contains(out.Bytes(), []byte("ratio incident/floor")) {
		t.Errorf("no ratio line in the output")
	}
}
