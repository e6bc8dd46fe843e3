package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/dev/prodstack"
)

// TestChaosShort is the chaos run's short form, in the suite: the
// production topology (PostgreSQL, four Temporal service processes, two
// worker processes and the intake built as the image builds them), the
// fault-free baseline round, then one round that kills a worker at an
// activity's start, the workers between a side effect and its report, a
// Temporal service and PostgreSQL while the four incidents run. Every
// invariant must hold. The long run is `go run ./starter/dev chaos`.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the production topology")
	}
	keepProcessEnv(t)
	var progress bytes.Buffer
	rep, err := chaos(t.Context(), chaosOptions{rounds: 1, workers: 2, incidentWait: 6 * time.Minute}, &progress, &progress)
	if errors.Is(err, prodstack.ErrNoPostgres) && os.Getenv("DATASEV_REQUIRE_POSTGRES") != "1" {
		t.Skip(err)
	}
	var table strings.Builder
	if rep != nil {
		rep.print(&table)
	}
	t.Logf("progress:\n%s\ntable:\n%s", progress.String(), table.String())
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.violations(); n > 0 {
		t.Fatalf("%d invariant violations", n)
	}
	if len(rep.rounds) != 2 {
		t.Fatalf("%d rounds, want the baseline and one", len(rep.rounds))
	}
	f := rep.rounds[1].faultCounts()
	for _, k := range []string{faultSideEffect, faultTemporal, faultPostgres} {
		if f[k] == 0 {
			t.Errorf("round 1 injected no %q", k)
		}
	}
	for _, inc := range rep.rounds[1].incidents {
		if len(inc.acked) < 2 {
			t.Errorf("%s: only %d acts acknowledged; the script did not run", inc.kind, len(inc.acked))
		}
	}
}
