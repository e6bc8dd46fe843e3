package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/datasev/datasev/starter/intake"
)

// print writes the run's tables.
func (r stormReport) print(w io.Writer) {
	server := r.address
	if r.dc != nil || r.o.address == "" {
		server = "in-memory dev server " + r.address
		if len(r.dc) > 0 {
			server += " (" + strings.Join(r.dc, ", ") + ")"
		}
	}
	fmt.Fprintf(w, "datasev storm, %s; %s; worker (service.New), intake (intake.New) and stand-ins in this process; %d CPUs, load average %s\n",
		r.when.Format("2006-01-02 15:04 MST"), server, runtime.NumCPU(), orText(r.load, "unknown"))
	storm := "off: no alert is beyond the rate"
	if r.o.stormControl != "" {
		storm = "DATASEV_INTAKE_STORM=" + r.limits.Storm
	}
	pacing := "on (the worker's DATASEV_NOTIFY_* pacing)"
	if r.o.pacing == "off" {
		pacing = "off (DATASEV_NOTIFY_*=off)"
	}
	fmt.Fprintf(w, "intake: new incidents per source %g a minute, burst %d (production defaults %d, %d); storm control %s; notification pacing %s\n",
		r.limits.NewIncidentsPerMinute, r.limits.NewIncidentBurst, intake.DefaultNewIncidentsPerMinute, intake.DefaultNewIncidentBurst, storm, pacing)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "P2 alert storm: %d alerts (each its own ID) over %d keys, %d connections; %.0f%% of deliveries redelivered unchanged\n",
		r.o.alerts, r.o.keys, r.o.conns, 100*r.o.redeliver)
	fmt.Fprintf(w, "%-22s %6s %6s %5s %6s %6s %5s %7s %6s %5s %4s %4s %5s %7s %7s %8s %5s\n",
		"path", "alerts", "deliv", "redel", "opened", "found", "unans", "counted", "dedup", "lost", "429", "5xx", "fail", "p50 ms", "p99 ms", "alerts/s", "load")
	rates := map[string]float64{}
	for _, p := range r.phases {
		dedup := p.post.alertsAccepted - p.tally.counted
		rate := stormRate(p.post.alertsAccepted, p.post.elapsed)
		rates[p.name] = rate
		fmt.Fprintf(w, "%-22s %6d %6d %5d %6d %6d %5d %7d %6d %5d %4d %4d %5d %7.1f %7.1f %8.1f %5s\n",
			p.name, p.alerts, p.post.deliveries, p.post.redeliveries, len(p.post.started), p.tally.found, p.tally.unanswered, p.tally.counted,
			dedup, p.alerts-p.tally.counted, p.post.raw429, p.post.raw5xx, p.post.failed,
			stormMS(stormQuantile(p.post.latencies, 0.5)), stormMS(stormQuantile(p.post.latencies, 0.99)), rate, p.load)
	}
	for _, b := range r.baselines {
		rate := stormRate(b.calls.calls-b.calls.failed, b.calls.elapsed)
		rates[b.name] = rate
		fmt.Fprintf(w, "%-22s %6d %6d %5s %6s %6d %5d %7d %6s %5d %4s %4s %5d %7.1f %7.1f %8.1f %5s\n",
			b.name, b.alerts, b.calls.calls, "-", "-", b.tally.found, b.tally.unanswered, b.tally.counted, "-", b.alerts-b.tally.counted,
			"-", "-", b.calls.failed, stormMS(stormQuantile(b.calls.latencies, 0.5)), stormMS(stormQuantile(b.calls.latencies, 0.99)), rate, b.load)
	}
	fmt.Fprintln(w, "(opened: incidents the intake's answers started; found: expected incidents DescribeWorkflowExecution finds; unans: incidents")
	fmt.Fprintln(w, " that never answered the status query; counted: sum of their alert_count by the status query; dedup: accepted alerts not")
	fmt.Fprintln(w, " counted, the redeliveries; lost: alerts − counted (uncounted when some incident did not answer);")
	fmt.Fprintln(w, " 429/5xx: such answers seen, each retried honouring Retry-After; fail: deliveries never accepted; p50/p99: accepted answers'")
	fmt.Fprintln(w, " response times; alerts/s: alerts accepted (redeliveries included) over the phase's wall time; load: the machine's")
	fmt.Fprintln(w, " 1-minute load average as the phase's posting ended — the phases run one after another, so a co-tenant's load lands on one)")
	for _, p := range r.phases {
		if p.probeAlerts > 0 {
			fmt.Fprintf(w, "%s: %d probe alerts joined the alert storm incident; counted leaves them out\n", p.name, p.probeAlerts)
		}
	}
	if g, ok := rates["generic (intake)"]; ok {
		for _, base := range []string{"signal-with-start", "declare (no HTTP)"} {
			if b, ok := rates[base]; ok && b > 0 {
				goal := ""
				if base == "signal-with-start" {
					goal = fmt.Sprintf(" (goal ≥ %.2f)", stormGoalRatio)
				}
				fmt.Fprintf(w, "throughput intake / %s: %.2f%s\n", base, g/b, goal)
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Pages at the Slack stand-in, from each phase's start until the pages carried reach the incidents opened and Slack is quiet")
	fmt.Fprintf(w, "%-22s %6s %6s %10s %8s %7s %6s %11s %8s\n", "phase", "opened", "named", "page posts", "digests", "carried", "DMs", "Slack calls", "window")
	for _, p := range r.phases {
		dms := 0
		for _, n := range p.pages.dms {
			dms += n
		}
		fmt.Fprintf(w, "%-22s %6d %6d %10d %8d %7d %6d %11d %7.1fs\n", p.name, len(p.post.started), p.pages.named, p.pages.pages,
			p.pages.digests, p.pages.carried, dms, p.pages.calls, p.pages.window.Seconds())
	}
	for _, b := range r.baselines {
		dms := 0
		for _, n := range b.pages.dms {
			dms += n
		}
		fmt.Fprintf(w, "%-22s %6d %6d %10d %8d %7d %6d %11d %7.1fs\n", b.name, b.tally.found, b.pages.named, b.pages.pages,
			b.pages.digests, b.pages.carried, dms, b.pages.calls, b.pages.window.Seconds())
	}
	for _, p := range r.phases {
		fmt.Fprintf(w, "%s: Slack calls %s; DMs per person %s\n", p.name, stormCounts(p.pages.methods), orText(stormCounts(p.pages.dms), "none"))
	}
	fmt.Fprintln(w, "(named: the phase's incidents a page named, its own or a digest's line (a digest lists 20); page posts: in the phase's")
	fmt.Fprintln(w, " incidents' channels; digests/carried: page posts in the window, a digest carrying the pages it holds; DMs: what the")
	fmt.Fprintln(w, " people paged received, one per page post to a person with a Slack ID)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "P6 alert → page: from the intake request's start to the page's channel post accepted by the Slack stand-in")
	fmt.Fprintf(w, "%-22s %4s %6s %6s %8s %8s %8s\n", "probe", "n", "unseen", "storm", "p50 ms", "p99 ms", "max ms")
	for _, p := range r.probes {
		fmt.Fprintf(w, "%-22s %4d %6d %6d %8.1f %8.1f %8.1f\n", p.name, len(p.samples), p.failed, p.joined,
			stormMS(stormQuantile(p.samples, 0.5)), stormMS(stormQuantile(p.samples, 0.99)), stormMS(stormQuantile(p.samples, 1)))
	}
	fmt.Fprintf(w, "(goal p50 ≤ %s, p99 ≤ %s; each probe its own incident paging the on-duty Commander, timed to the first page naming it,\n", stormGoalP50, stormGoalP99)
	fmt.Fprintf(w, " its own or a digest's line; unseen: no page named it within %s (paced, a digest names 20 pages and counts the rest);\n", stormProbeWait)
	fmt.Fprintln(w, " storm: joined the alert storm incident, no page of its own)")
	for _, p := range r.probes {
		if p.lastErr != nil {
			fmt.Fprintf(w, "%s: last unseen: %v\n", p.name, p.lastErr)
		}
	}
	fmt.Fprintln(w)
	cpu := "unknown"
	if r.serverCPU >= 0 {
		cpu = r.serverCPU.Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(w, "this process (worker, intake, stand-ins and load) VmRSS %.0f MiB; dev server CPU (user+system) %s; run took %s\n",
		float64(r.rssKiB)/1024, cpu, r.elapsed.Round(100*time.Millisecond))
	if bad := r.violations(); len(bad) > 0 {
		fmt.Fprintf(w, "ACCOUNTING FAILED: %s\n", strings.Join(bad, "; "))
	} else {
		fmt.Fprintln(w, "accounting: every alert counted once, no incident missing, no delivery refused")
	}
}

func stormMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func stormRate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// counts is "k1 n1, k2 n2", biggest first.
func stormCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
