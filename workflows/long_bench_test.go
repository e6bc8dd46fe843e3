package workflows_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// BenchmarkLongIncident sends one incident 5,000 acts and alerts on a dev
// server with the default continue-as-new suggestion, then measures what an
// operator of a long incident meets: the runs and their sizes, the state
// carried from run to run, replaying the largest run, and the status query.
// The week of wall time is TestWeekLongIncident's (time skipping); here the
// events arrive as fast as the client sends them. LONG_NO_STICKY=1 runs
// the worker without a sticky cache, so that it replays the whole history
// on every workflow task: a live determinism check at this size.
//
//	go test -run X -bench LongIncident -benchtime 1x ./workflows/
func BenchmarkLongIncident(b *testing.B) {
	ctx := context.Background()
	srv, err := devstack.Start(ctx, devstack.Options{})
	if err != nil {
		b.Fatalf("dev server: %v", err)
	}
	b.Cleanup(func() { _ = srv.Stop() })
	c := srv.Client()
	if os.Getenv("LONG_NO_STICKY") != "" {
		worker.SetStickyWorkflowCacheSize(0)
	}
	startWorker(b, c, "bench-long")
	for i := range b.N {
		m := longIncident(b, c, fmt.Sprintf("long-%d-%d", time.Now().UnixNano(), i), 5000)
		b.ReportMetric(float64(m.runs), "runs")
		b.ReportMetric(float64(m.maxEvents), "max-events/run")
		b.ReportMetric(float64(m.carryBytes)/1024, "carry-KiB")
		b.ReportMetric(float64(m.replay.Microseconds())/1000, "replay-ms")
		b.ReportMetric(float64(m.statusP50.Microseconds())/1000, "status-p50-ms")
		b.ReportMetric(float64(m.statusP99.Microseconds())/1000, "status-p99-ms")
		b.ReportMetric(float64(m.timeline), "timeline")
	}
}

type longMeasure struct {
	runs, maxEvents, carryBytes, timeline int
	replay, statusP50, statusP99          time.Duration
}

func longIncident(b *testing.B, c client.Client, key string, n int) longMeasure {
	b.Helper()
	ctx := context.Background()
	in := input(b, workflows.SEV3)
	in.Options.CloseAfter, in.Options.ClosureTimeout = time.Second, 2*time.Second
	run := startIncidentWith(b, c, "bench-long", key, in)
	id := run.GetID()
	if _, err := incidents.Act(ctx, c, id, workflows.ActAcknowledge, workflows.Act{By: "alice"}); err != nil {
		b.Fatal(err)
	}
	alerts, notes := n/2, n-n/2
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for s := range 8 {
		wg.Go(func() {
			for i := s; i < n; i += 8 {
				var err error
				switch {
				case i%2 == 0:
					a := workflows.Alert{ID: fmt.Sprintf("long-a-%d", i/2), Source: "alertmanager", Title: "orders load failing", DedupeKey: key}
					err = c.SignalWorkflow(ctx, id, "", workflows.SignalAlert, a)
					if err == nil && (i/2)%10 == 0 { // a redelivery
						err = c.SignalWorkflow(ctx, id, "", workflows.SignalAlert, a)
					}
				case i%100 == 1:
					_, err = incidents.Act(ctx, c, id, workflows.ActAddNote, workflows.Act{By: "carol", Note: fmt.Sprintf("note %d", i/2)})
				default:
					err = c.SignalWorkflow(ctx, id, "", workflows.ActAddNote, workflows.Act{By: "carol", Note: fmt.Sprintf("note %d", i/2)})
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	// Wait until the incident has taken everything in.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st, err := incidents.Status(ctx, c, id)
		if err == nil && st.AlertCount == alerts+1 && st.TimelineLength >= notes {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("incident took %d alerts and %d timeline entries in 5 minutes: %v", st.AlertCount, st.TimelineLength, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var m longMeasure
	var lat []time.Duration
	for range 50 {
		t0 := time.Now()
		if _, err := incidents.Status(ctx, c, id); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	m.statusP50, m.statusP99 = lat[len(lat)/2], lat[len(lat)*99/100]

	if _, err := incidents.Act(ctx, c, id, workflows.ActResolve, workflows.Act{By: "alice"}); err != nil {
		b.Fatal(err)
	}
	var snap workflows.Snapshot
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &snap); err != nil {
		b.Fatal(err)
	}
	got := 0
	for _, e := range snap.Timeline {
		if strings.HasPrefix(e.What, "note: note ") {
			got++
		}
	}
	if got != notes || snap.AlertCount != alerts+1 {
		b.Fatalf("final snapshot: %d notes and %d alerts, want %d and %d", got, snap.AlertCount, notes, alerts+1)
	}
	m.timeline = len(snap.Timeline)

	// Every run's history, each replayed (the largest's time reported).
	var runs []*historypb.History
	for runID := run.GetRunID(); runID != ""; {
		h := &historypb.History{}
		it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		runID = ""
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				b.Fatal(err)
			}
			h.Events = append(h.Events, e)
			if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				runID = a.NewExecutionRunId
				size := 0
				for _, p := range a.GetInput().GetPayloads() {
					size += len(p.GetData())
				}
				m.carryBytes = max(m.carryBytes, size)
			}
		}
		runs = append(runs, h)
	}
	m.runs = len(runs)
	// Each run is replayed once by a fresh replayer, as `datasev replay`
	// does: the SDK's replayer keeps state across replays of one run in a
	// process, and a second replay of the same run is not a clean test.
	// Its JSON form (what `temporal workflow show -o json` and `datasev
	// replay` read) is replayed first, then the history as the server sent it.
	for i, h := range runs {
		raw, err := protojson.Marshal(h)
		if err != nil {
			b.Fatal(err)
		}
		fromJSON := &historypb.History{}
		if err := protojson.Unmarshal(raw, fromJSON); err != nil {
			b.Fatal(err)
		}
		if err := replayer(b).ReplayWorkflowHistory(nil, fromJSON); err != nil {
			path := filepath.Join(os.TempDir(), fmt.Sprintf("long-incident-run%d.json", i+1))
			if os.WriteFile(path, raw, 0o644) == nil {
				b.Logf("run %d's history is in %s", i+1, path)
			}
			b.Logf("replay of run %d from JSON (%d events): %v", i+1, len(h.Events), err)
		}
		t0 := time.Now()
		if err := replayer(b).ReplayWorkflowHistory(nil, h); err != nil {
			b.Errorf("replay of run %d (%d events): %v", i+1, len(h.Events), err)
		}
		took := time.Since(t0)
		b.Logf("run %d: %d events, replayed in %s", i+1, len(h.Events), took)
		if len(h.Events) >= 10000 {
			b.Errorf("run %d has %d events; every run must stay under 10,000", i+1, len(h.Events))
		}
		if len(h.Events) > m.maxEvents {
			m.maxEvents, m.replay = len(h.Events), took
		}
	}
	b.Logf("%d acts and alerts: %d runs, largest %d events, carry %d KiB, replay %s, status p50 %s p99 %s, final timeline %d",
		n, m.runs, m.maxEvents, m.carryBytes/1024, m.replay, m.statusP50, m.statusP99, m.timeline)
	return m
}
