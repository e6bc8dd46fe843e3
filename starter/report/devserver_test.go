package report_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/report"
	"github.com/datasev/datasev/worker/metrics"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// One dev server and one real worker (the shipped worker's registrations,
// with its metrics) serve the package; -short runs the unit tests only.
var (
	srv     *devstack.Server
	tc      client.Client
	workerM *metrics.Metrics
)

func TestMain(m *testing.M) {
	os.Exit(devstack.RunTests(m, func(s *devstack.Server) (func(), error) {
		srv = s
		tc = &incidents.Conn{Client: s.Client(), Address: s.HostPort()}
		dir, err := os.MkdirTemp("", "datasev-report-")
		if err != nil {
			return nil, err
		}
		if workerM, err = metrics.New(nil); err != nil {
			return nil, err
		}
		w := service.New(s.Client(), service.Config{
			TaskQueue: workflows.TaskQueue, StopTimeout: 2 * time.Second, Metrics: workerM,
			Postmortem: postmortem.Config{Dir: dir}, IncidentDoc: incidentdoc.Config{Dir: filepath.Join(dir, "incidents")},
		}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := w.Start(); err != nil {
			return nil, err
		}
		return func() { w.Stop(); os.RemoveAll(dir) }, nil
	}))
}

// devRoster has one 24-hour shift whose boundary is twelve hours away (no
// handoff during a run) and takes the acts unsigned.
func devRoster() oncall.Roster {
	at := fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)
	return oncall.Roster{
		Team: "data-platform", TimeZone: "UTC",
		People: []oncall.Person{{ID: "alice"}, {ID: "bob"}, {ID: "carol"}, {ID: "dave"}, {ID: "erin"}},
		Shifts: []oncall.Shift{{Name: "all", Start: at, End: at, Commander: "alice", Secondary: "bob", Scribe: "carol", Liaison: "dave", SMEs: []string{"erin"}}},
		Trust:  oncall.Trust{Unsigned: []string{"*"}},
	}
}

// closeIncident runs one real incident to closure: declared, acknowledged,
// an approval requested and decided (approve or deny; none when ""), root
// cause and action item, resolved; it returns once the incident closed.
func closeIncident(ctx context.Context, key string, sev workflows.Severity, service, decide string) error {
	d, err := incidents.Declare(ctx, tc, incidents.DeclareRequest{
		Alert:  workflows.Alert{Source: "alertmanager", Title: "orders load failing", DedupeKey: key, Severity: sev, Service: service},
		Roster: devRoster(), Options: workflows.Options{CloseAfter: time.Second},
	})
	if err != nil {
		return fmt.Errorf("declare %s: %w", key, err)
	}
	acts := []struct {
		name string
		act  workflows.Act
	}{{workflows.ActAcknowledge, workflows.Act{By: "alice"}}}
	if decide != "" {
		acts = append(acts,
			struct {
				name string
				act  workflows.Act
			}{workflows.ActRequestApproval, workflows.Act{By: "erin", Approval: "rerun", Action: "re-run the load"}},
			struct {
				name string
				act  workflows.Act
			}{decide, workflows.Act{By: "alice", Approval: "rerun"}})
	}
	acts = append(acts, []struct {
		name string
		act  workflows.Act
	}{
		{workflows.ActRootCause, workflows.Act{By: "alice", Note: "a format change upstream"}},
		{workflows.ActActionItem, workflows.Act{By: "alice", Note: "check formats at landing"}},
		{workflows.ActResolve, workflows.Act{By: "alice", Reason: "re-run succeeded"}},
	}...)
	for _, a := range acts {
		a.act.Via = "test"
		if _, err := incidents.Act(ctx, tc, d.WorkflowID, a.name, a.act); err != nil {
			return fmt.Errorf("%s on %s: %w", a.name, key, err)
		}
	}
	var final workflows.Snapshot
	if err := tc.GetWorkflow(ctx, d.WorkflowID, d.RunID).Get(ctx, &final); err != nil {
		return fmt.Errorf("wait for %s to close: %w", key, err)
	}
	if final.State != workflows.Closed {
		return fmt.Errorf("%s ended %s, not closed", key, final.State)
	}
	return nil
}

// gathered returns the worker registry's value of a series: a counter's
// value or a histogram's count, labels as name=value pairs.
func gathered(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := workerM.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				if !hasLabel(m, k, v) {
					continue metric
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == k && lp.GetValue() == v {
			return true
		}
	}
	return false
}

// Real incidents run to closure on the real worker: the report over them
// counts what they did, and the worker's metrics count the same, once per
// incident — a query to a closed incident (which replays it) adds nothing.
func TestReportOverRealIncidents(t *testing.T) {
	if srv == nil {
		t.Skip("needs the dev server (not with -short)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	since := time.Now().Add(-time.Minute)
	base := fmt.Sprintf("rep-%d", time.Now().UnixNano())
	before := map[string]float64{
		"closed SEV2": gathered(t, metrics.IncidentsClosed, "severity=SEV2"),
		"granted":     gathered(t, metrics.Approvals, "outcome=granted"),
		"denied":      gathered(t, metrics.Approvals, "outcome=denied"),
		"ack SEV2":    gathered(t, metrics.TimeToAcknowledge, "severity=SEV2"),
		"unfiled":     gathered(t, metrics.ActionItems, "filed=false"),
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range []struct {
		sev     workflows.Severity
		service string
		decide  string
	}{
		{workflows.SEV2, "orders", workflows.ActApprove},
		{workflows.SEV2, "orders", workflows.ActDeny},
		{workflows.SEV1, "billing", ""},
	} {
		g.Go(func() error { return closeIncident(gctx, fmt.Sprintf("%s-%d", base, i), c.sev, c.service, c.decide) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	f := &report.Fetcher{Client: tc, Namespace: srv.Namespace(), Concurrency: 2}
	var s report.Summary
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var err error
		if s, _, err = f.Run(ctx, report.Query{Since: since, Team: "data-platform"}); err != nil {
			t.Fatal(err)
		}
		if s.Incidents >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if s.Incidents != 3 || s.BySeverity[0].Incidents != 1 || s.BySeverity[1].Incidents != 2 {
		t.Errorf("incidents %d by severity %v; want 1 SEV1 and 2 SEV2", s.Incidents, s.BySeverity)
	}
	if len(s.ByService) != 2 || s.ByService[0] != (report.Count{Key: "orders", Incidents: 2}) {
		t.Errorf("by service %v", s.ByService)
	}
	if s.Approvals.Granted != 1 || s.Approvals.Denied != 1 || s.Approvals.TimedOut != 0 {
		t.Errorf("approvals %+v, want one granted and one denied", s.Approvals)
	}
	if s.ActionItems.Total != 3 || s.ActionItems.Unfiled != 3 {
		t.Errorf("action items %+v, want 3, none filed (no tracker)", s.ActionItems)
	}
	if len(s.Times) != 2 || s.Times[1].Acknowledge.N != 2 || s.Times[1].Resolve.N != 2 || s.Times[1].Mitigate.N != 1 {
		t.Errorf("times %+v; SEV2 want 2 acknowledged, 2 resolved, 1 mitigated (the approved one)", s.Times)
	}
	if s.Excluded != 0 {
		t.Errorf("excluded %d, want 0", s.Excluded)
	}

	check := func(when string) {
		t.Helper()
		for k, want := range map[string]float64{
			"closed SEV2": before["closed SEV2"] + 2, "granted": before["granted"] + 1, "denied": before["denied"] + 1,
			"ack SEV2": before["ack SEV2"] + 2, "unfiled": before["unfiled"] + 3,
		} {
			var got float64
			switch k {
			case "closed SEV2":
				got = gathered(t, metrics.IncidentsClosed, "severity=SEV2")
			case "granted", "denied":
				got = gathered(t, metrics.Approvals, "outcome="+k)
			case "ack SEV2":
				got = gathered(t, metrics.TimeToAcknowledge, "severity=SEV2")
			case "unfiled":
				got = gathered(t, metrics.ActionItems, "filed=false")
			}
			if got != want {
				t.Errorf("%s: metric %s = %v, want %v", when, k, got, want)
			}
		}
	}
	check("after closing")
	// A query to a closed incident replays it on the worker.
	for i := range 3 {
		if _, err := incidents.Status(ctx, tc, workflows.WorkflowID(fmt.Sprintf("%s-%d", base, i))); err != nil {
			t.Fatal(err)
		}
	}
	check("after querying the closed incidents")
}

// seedOnce seeds the benchmark's incidents once per process.
var seedOnce sync.Map // n → error

// BenchmarkReport seeds N closed incidents (DATASEV_REPORT_BENCH_N,
// default 500) by running real incidents to closure on the real worker,
// then times the report over them, phase by phase (list, fetch,
// aggregate), and prints the table. Run it with
//
//	DATASEV_REPORT_BENCH_N=2000 go test -run X -bench Report -benchtime 3x ./starter/report/
func BenchmarkReport(b *testing.B) {
	if srv == nil {
		b.Skip("needs the dev server (not with -short)")
	}
	n := 500
	if v := os.Getenv("DATASEV_REPORT_BENCH_N"); v != "" {
		if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 1 {
			b.Fatalf("DATASEV_REPORT_BENCH_N=%q: want a positive number", v)
		}
	}
	ctx := context.Background()
	since := time.Now().Add(-time.Hour)
	if _, done := seedOnce.Load(n); !done {
		start := time.Now()
		if err := seed(ctx, b, n); err != nil {
			b.Fatal(err)
		}
		seedOnce.Store(n, nil)
		fmt.Fprintf(os.Stderr, "seeded %d real incidents to closure in %s (%.1f/s)\n", n, time.Since(start).Round(time.Second), float64(n)/time.Since(start).Seconds())
	}
	f := &report.Fetcher{Client: tc, Namespace: srv.Namespace()}
	// Visibility catches up.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		execs, err := f.List(ctx, report.Query{Since: since, Until: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if len(execs) >= n || time.Now().After(deadline) {
			break
		}
	}
	var sum report.Timings
	b.ResetTimer()
	for b.Loop() {
		s, tm, err := f.Run(ctx, report.Query{Since: since})
		if err != nil {
			b.Fatal(err)
		}
		if s.Incidents < n {
			b.Fatalf("report over %d incidents, want at least %d", s.Incidents, n)
		}
		sum.List += tm.List
		sum.Fetch += tm.Fetch
		sum.Aggregate += tm.Aggregate
		sum.Listed = tm.Listed
	}
	runs := time.Duration(b.N)
	b.ReportMetric(float64((sum.List / runs).Milliseconds()), "list-ms")
	b.ReportMetric(float64((sum.Fetch / runs).Milliseconds()), "fetch-ms")
	b.ReportMetric(float64((sum.Aggregate / runs).Microseconds()), "aggregate-µs")
	fmt.Fprintf(os.Stderr, "\n| phase | time per report (%d incidents, concurrency %d, mean of %d) |\n|---|---|\n| list | %s |\n| fetch | %s |\n| aggregate | %s |\n| total | %s |\n",
		sum.Listed, report.DefaultConcurrency, b.N, (sum.List / runs).Round(time.Millisecond), (sum.Fetch / runs).Round(time.Millisecond),
		(sum.Aggregate / runs).Round(time.Microsecond), ((sum.List + sum.Fetch + sum.Aggregate) / runs).Round(time.Millisecond))
}

// seed runs n real incidents to closure, 32 at a time, a quarter of them
// with an approval, with a progress line every 500.
func seed(ctx context.Context, b *testing.B, n int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	base := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	sevs := []workflows.Severity{workflows.SEV1, workflows.SEV2, workflows.SEV3, workflows.SEV3, workflows.SEV4}
	services := []string{"orders", "billing", "events", "search"}
	var done sync.Mutex
	count := 0
	for i := range n {
		g.Go(func() error {
			decide := ""
			switch i % 8 {
			case 0:
				decide = workflows.ActApprove
			case 4:
				decide = workflows.ActDeny
			}
			if err := closeIncident(gctx, fmt.Sprintf("%s-%d", base, i), sevs[i%len(sevs)], services[i%len(services)], decide); err != nil {
				return err
			}
			done.Lock()
			count++
			if count%500 == 0 {
				fmt.Fprintf(os.Stderr, "seeded %d of %d\n", count, n)
			}
			done.Unlock()
			return nil
		})
	}
	return g.Wait()
}
