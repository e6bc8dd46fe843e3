package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/datasev/datasev/worker/metrics"
)

func TestRegisterPacing(t *testing.T) {
	m, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	stats := metrics.PacingStats{Direct: 3, Held: 97, Digests: 6}
	if err := m.RegisterPacing(func() metrics.PacingStats { return stats }); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP datasev_notify_digests_total Digests and batches delivered, each standing for several held notifications.
# TYPE datasev_notify_digests_total counter
datasev_notify_digests_total 6
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), metrics.NotifyDigests); err != nil {
		t.Error(err)
	}
	n, err := testutil.GatherAndCount(m.Registry(), metrics.NotifyPaced)
	if err != nil || n != 2 {
		t.Errorf("%s: %d series (%v), want direct and held", metrics.NotifyPaced, n, err)
	}
	if err := m.RegisterPacing(func() metrics.PacingStats { return stats }); err == nil {
		t.Error("registering twice succeeded")
	}
}
