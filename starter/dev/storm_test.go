package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// A small storm against a real dev server, through the intake and worker
// of production with Slack on its stand-in: every key opens one incident,
// every alert is counted once, the redeliveries (same alert IDs) are
// accepted and not counted, the baselines count the same, the Alertmanager
// groups add up alike, and every incident and every probe is paged. Counts
// only: no assertion on a time.
func TestStormAccounting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	keepProcessEnv(t)
	getenv := func(k string) string {
		if strings.HasPrefix(k, "DATASEV_") && k != "DATASEV_TEMPORAL_CLI" || strings.HasPrefix(k, "TEMPORAL_") {
			return "" // nothing of the machine's own configuration
		}
		return os.Getenv(k)
	}
	var stdout bytes.Buffer
	e := &env{getenv: getenv, stdout: &stdout, stderr: io.Discard}
	fs, o := stormFlags(io.Discard)
	args := []string{"--alerts", "200", "--keys", "20", "--conns", "4", "--probes", "2",
		"--groups", "2", "--group-size", "20", "--pacing", "off", "--settle", "30s"}
	if err := parseFlags(fs, args); err != nil {
		t.Fatal(err)
	}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := storm(ctx, e, o)
	if err != nil {
		t.Fatalf("storm: %v\n%s", err, stdout.String())
	}
	t.Logf("\n%s", stdout.String())
	if bad := rep.violations(); len(bad) > 0 {
		t.Errorf("violations: %v", bad)
	}
	if len(rep.phases) != 2 {
		t.Fatalf("%d phases, want generic and alertmanager", len(rep.phases))
	}
	for _, want := range []struct {
		alerts, keys, perDelivery int
	}{{200, 20, 1}, {40, 20, 20}} {
		p := rep.phases[0]
		if want.perDelivery > 1 {
			p = rep.phases[1]
		}
		if len(p.post.started) != want.keys || p.tally.found != want.keys || p.tally.running != want.keys {
			t.Errorf("%s: started %d, found %d, running %d incidents, want %d", p.name, len(p.post.started), p.tally.found, p.tally.running, want.keys)
		}
		if p.tally.counted != want.alerts || p.tally.unanswered != 0 {
			t.Errorf("%s: counted %d alerts (%d incidents unanswered), want %d", p.name, p.tally.counted, p.tally.unanswered, want.alerts)
		}
		if p.post.redeliveries < 1 || p.post.failed != 0 || p.post.accepted != p.post.deliveries {
			t.Errorf("%s: %d deliveries, %d redeliveries, %d accepted, %d failed", p.name, p.post.deliveries, p.post.redeliveries, p.post.accepted, p.post.failed)
		}
		// The redeliveries were accepted, and not counted.
		if dedup := p.post.alertsAccepted - p.tally.counted; dedup != p.post.redeliveries*want.perDelivery {
			t.Errorf("%s: %d accepted alerts not counted, want the %d redelivered", p.name, dedup, p.post.redeliveries*want.perDelivery)
		}
		// Unpaced, every incident's own page reaches the stand-in.
		if p.pages.named != want.keys {
			t.Errorf("%s: %d of %d incidents paged", p.name, p.pages.named, want.keys)
		}
	}
	if len(rep.baselines) != 2 {
		t.Fatalf("%d baselines, want 2", len(rep.baselines))
	}
	for _, b := range rep.baselines {
		if b.tally.counted != 200 || b.tally.found != 20 || b.calls.failed != 0 {
			t.Errorf("%s: counted %d, found %d, %d calls failed", b.name, b.tally.counted, b.tally.found, b.calls.failed)
		}
	}
	if len(rep.probes) != 4 {
		t.Fatalf("%d probe scenarios, want 4", len(rep.probes))
	}
	for _, p := range rep.probes {
		if len(p.samples) != 2 || p.failed != 0 || p.joined != 0 {
			t.Errorf("%s: %d paged, %d failed (%v), %d joined a storm incident; want 2 paged", p.name, len(p.samples), p.failed, p.lastErr, p.joined)
		}
	}
	if !strings.Contains(stdout.String(), "accounting: every alert counted once") {
		t.Errorf("the table does not say the accounting holds:\n%s", stdout.String())
	}
}

// Redeliveries repeat a share of the deliveries, each after its original.
func TestStormRedeliveries(t *testing.T) {
	ds := make([]stormDelivery, 200)
	for i := range ds {
		ds[i] = stormDelivery{body: []byte{byte(i)}}
	}
	out := stormRedeliveries(ds, 0.05, 7)
	if len(out) != 210 {
		t.Fatalf("%d deliveries, want 210", len(out))
	}
	seen := map[byte]int{}
	again := 0
	for i, d := range out {
		if d.redeliver {
			again++
			first, ok := seen[d.body[0]]
			if !ok || first >= i {
				t.Errorf("redelivery at %d of delivery %d, which came at %d (seen %v)", i, d.body[0], first, ok)
			}
			continue
		}
		seen[d.body[0]] = i
	}
	if again != 10 || len(seen) != 200 {
		t.Errorf("%d redeliveries of %d originals, want 10 of 200", again, len(seen))
	}
	if n := len(stormRedeliveries(ds[:10], 0.01, 3)); n != 11 {
		t.Errorf("a share under one delivery redelivers %d, want 1", n-10)
	}
	if n := len(stormRedeliveries(ds[:10], 0, 3)); n != 10 {
		t.Errorf("no share redelivers %d", n-10)
	}
}

// The accounting's violations name lost and double-counted alerts,
// missing incidents and refused deliveries.
func TestStormViolations(t *testing.T) {
	o := &stormOptions{}
	ok := stormPhase{name: "generic", alerts: 10, keys: 2, tally: stormTally{found: 2, counted: 10},
		post: stormPostStats{started: map[string]bool{"a": true, "b": true}}}
	if bad := (stormReport{o: o, phases: []stormPhase{ok}}).violations(); len(bad) != 0 {
		t.Errorf("a sound phase: %v", bad)
	}
	lost, double, missing, refused, silent := ok, ok, ok, ok, ok
	lost.tally.counted = 9
	double.tally.counted = 11
	missing.tally.found = 1
	refused.post.failed = 1
	silent.tally.unanswered = 1
	for name, p := range map[string]stormPhase{"lost": lost, "counted twice": double, "incidents found": missing, "never accepted": refused, "never answered": silent} {
		bad := (stormReport{o: o, phases: []stormPhase{p}}).violations()
		if len(bad) != 1 || !strings.Contains(bad[0], name) {
			t.Errorf("%s: violations %v", name, bad)
		}
	}
}

// The storm's flags: sound lines parse, bad ones are usage errors.
func TestStormFlags(t *testing.T) {
	for _, args := range [][]string{
		{"storm"}, {"storm", "--alerts", "10000", "--keys", "500", "--conns", "32"}, {"storm", "--groups", "100", "--storm-control", "join"},
		{"storm", "--pacing", "off", "--address", "127.0.0.1:7233"},
	} {
		if err := checkCommandLine(args); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
	for _, args := range [][]string{
		{"storm", "--alerts", "0"}, {"storm", "--alerts", "10", "--keys", "11"}, {"storm", "--storm-control", "drop"},
		{"storm", "--pacing", "maybe"}, {"storm", "--address", "x:1", "--dynamic-config", "a=1"}, {"storm", "now"},
	} {
		if err := checkCommandLine(args); err == nil {
			t.Errorf("%q: no usage error", args)
		}
	}
}
