package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
)

// Probe scenarios, in the order they print.
const (
	stormProbeSEV1Alone = "SEV1 alone"
	stormProbeSEV3Alone = "SEV3 alone"
	stormProbeSEV1Storm = "SEV1 during the storm"
	stormProbeSEV3Storm = "SEV3 during the storm"
)

// Goals the storm's table prints beside its figures.
const (
	stormGoalRatio = 0.80
	stormGoalP50   = time.Second
	stormGoalP99   = 3 * time.Second
	stormProbeWait = 90 * time.Second
)

// stormPhase is one shape of the storm posted through the intake.
type stormPhase struct {
	name string
	// alerts is how many distinct alert IDs were posted; keys how many
	// dedupe keys they spread over.
	alerts, keys int
	post         stormPostStats
	tally        stormTally
	pages        stormPageDelta
	// probeAlerts are probe alerts that joined the alert storm incident:
	// left out of tally.counted.
	probeAlerts int
	// load is the 1-minute load average when the phase's posting ended.
	load string
}

// stormBaseline is the same alerts sent without HTTP.
type stormBaseline struct {
	name         string
	alerts, keys int
	calls        stormCallStats
	tally        stormTally
	pages        stormPageDelta
	// load is the 1-minute load average when the calls ended.
	load string
}

// stormTally is what the incidents of a phase hold once it settled.
type stormTally struct {
	// found counts the expected workflow IDs Describe finds; running those
	// still running.
	found, running int
	// counted is the sum of the incidents' alert_count.
	counted int
	// unanswered counts incidents whose status query failed.
	unanswered int
	lastErr    error
}

// stormPageDelta is what the Slack stand-in saw during a phase.
type stormPageDelta struct {
	// pages are page posts in the phase's incidents' channels; named how
	// many of its incidents a page named (its own, or a digest's line).
	pages, named int
	// carried is the pages all page posts in the window carry (a digest
	// counts the pages it holds); digests the digests among them.
	carried, digests int
	// allPages counts every page post in the window, any incident.
	allPages int
	dms      map[string]int
	calls    int
	methods  map[string]int
	window   time.Duration
}

// stormProbe is one probe scenario.
type stormProbe struct {
	name    string
	samples []time.Duration
	failed  int
	// joined counts probes that joined the source's alert storm incident
	// (beyond the rate, with --storm-control join): no page of their own.
	joined  int
	lastErr error
}

// stormReport is a run's outcome.
type stormReport struct {
	when      time.Time
	o         *stormOptions
	address   string
	dc        []string
	limits    intake.Limits
	phases    []stormPhase
	baselines []stormBaseline
	probes    []stormProbe
	rssKiB    int
	serverCPU time.Duration // -1: unknown
	load      string
	elapsed   time.Duration
}

// violations lists what breaks the accounting: lost or double-counted
// alerts, missing incidents, deliveries never accepted.
func (r stormReport) violations() []string {
	var bad []string
	check := func(name string, alerts, keys int, t stormTally) {
		if t.unanswered > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d incidents never answered the status query (their alerts are uncounted; last error: %v)", name, t.unanswered, t.lastErr))
		}
		switch {
		case t.counted < alerts:
			bad = append(bad, fmt.Sprintf("%s: %d of %d alerts lost", name, alerts-t.counted, alerts))
		case t.counted > alerts:
			bad = append(bad, fmt.Sprintf("%s: %d alerts counted twice (redeliveries counted)", name, t.counted-alerts))
		}
		if t.found != keys {
			bad = append(bad, fmt.Sprintf("%s: %d incidents found, want %d", name, t.found, keys))
		}
	}
	for _, p := range r.phases {
		switch r.o.stormControl {
		case "":
			check(p.name, p.alerts, p.keys, p.tally)
			if len(p.post.started) != p.keys {
				bad = append(bad, fmt.Sprintf("%s: the answers started %d incidents, want %d", p.name, len(p.post.started), p.keys))
			}
		case intake.StormJoin:
			// Fewer incidents, one of them the storm's: every alert still
			// counted once, in the incidents the answers named.
			check(p.name, p.alerts, p.tally.found, p.tally)
		}
		if p.post.failed > 0 && r.o.stormControl != intake.StormThrottle {
			bad = append(bad, fmt.Sprintf("%s: %d deliveries never accepted (last: %v)", p.name, p.post.failed, p.post.lastErr))
		}
	}
	for _, b := range r.baselines {
		check(b.name, b.alerts, b.keys, b.tally)
		if b.calls.failed > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d calls failed (last: %v)", b.name, b.calls.failed, b.calls.lastErr))
		}
	}
	return bad
}

// storm runs the whole measurement and prints the tables.
func storm(ctx context.Context, e *env, o *stormOptions) (stormReport, error) {
	began := time.Now()
	tag := randomHex(4)
	rig, err := startStormRig(ctx, e, o, tag)
	if err != nil {
		return stormReport{}, err
	}
	defer rig.close()
	rep := stormReport{when: began.UTC(), o: o, address: rig.address, dc: rig.dc, limits: rig.limits, serverCPU: -1}
	out := e.stdout
	s := &stormRun{rig: rig, o: o, tag: tag, now: time.Now(), pageWindow: notify.DefaultPageWindow}
	if d, err := time.ParseDuration(strings.TrimSpace(e.getenv(notify.EnvPageWindow))); err == nil && d > 0 {
		s.pageWindow = d
	}
	s.client = newStormClient(rig.intakeURL, o.conns)
	s.probeClient = newStormClient(rig.intakeURL, 4)
	if rig.srv == nil {
		defer s.terminate()
	}

	// P6 alone: one probe at a time, nothing else running.
	fmt.Fprintf(out, "storm: %d probes per severity alone…\n", o.probes)
	rep.probes = append(rep.probes, s.probes(ctx, stormProbeSEV1Alone, workflows.SEV1, "alone1", o.probes))
	rep.probes = append(rep.probes, s.probes(ctx, stormProbeSEV3Alone, workflows.SEV3, "alone3", o.probes))

	// P2: the generic storm, probes interleaved.
	fmt.Fprintf(out, "storm: %d alerts over %d keys through the intake, %d connections…\n", o.alerts, o.keys, o.conns)
	gen, probes := s.genericStorm(ctx)
	rep.phases = append(rep.phases, gen)
	rep.probes = append(rep.probes, probes...)
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	if !o.noRaw {
		fmt.Fprintln(out, "storm: the same alerts straight to Temporal (Declare, then signal-with-start)…")
		rep.baselines = append(rep.baselines, s.baseline(ctx, "declare (no HTTP)", "decl", s.declareCall))
		rep.baselines = append(rep.baselines, s.baseline(ctx, "signal-with-start", "raw", s.signalWithStartCall))
	}
	if o.groups > 0 {
		fmt.Fprintf(out, "storm: %d Alertmanager deliveries of %d alerts…\n", o.groups, o.groupSize)
		rep.phases = append(rep.phases, s.alertmanagerStorm(ctx))
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	rep.rssKiB = stormRSSKiB()
	if rig.srv != nil {
		rep.serverCPU = stormChildCPU("temporal")
	}
	rep.load = loadAverage()
	rep.elapsed = time.Since(began)
	fmt.Fprintln(out)
	rep.print(out)
	return rep, nil
}

// stormRun is one run's state.
type stormRun struct {
	rig                 *stormRig
	o                   *stormOptions
	tag                 string
	now                 time.Time
	client, probeClient *stormClient
	// pageWindow is the worker's pacing window for pages.
	pageWindow time.Duration

	mu  sync.Mutex
	ids []string // every incident started, for --address's cleanup
}

func (s *stormRun) remember(ids ...string) {
	s.mu.Lock()
	s.ids = append(s.ids, ids...)
	s.mu.Unlock()
}

// genericKey is the dedupe key the sender writes for key number i of a
// phase; the intake puts it under "generic:".
func (s *stormRun) genericKey(phase string, i int) string {
	return fmt.Sprintf("storm-%s-%s-k%05d", s.tag, phase, i)
}

func stormGenericID(key string) string { return workflows.WorkflowID("generic:" + key) }

// stormGenericBody is a generic alert's JSON.
func stormGenericBody(id, key string, sev workflows.Severity) []byte {
	b, _ := json.Marshal(intake.GenericAlert{
		ID: id, Title: "storm " + key, Severity: string(sev), DedupeKey: key, Service: "storm",
		Description: "an alert of datasev's storm bench",
	})
	return b
}

// stormRedeliveries interleaves a share of repeats into ds: each repeat
// follows its original by about lag deliveries.
func stormRedeliveries(ds []stormDelivery, share float64, lag int) []stormDelivery {
	n := int(share * float64(len(ds)))
	if share > 0 && n == 0 {
		n = 1
	}
	at := map[int][]int{} // position → originals repeated after it
	for r := range n {
		j := r * len(ds) / n
		pos := min(j+lag, len(ds)-1)
		at[pos] = append(at[pos], j)
	}
	out := make([]stormDelivery, 0, len(ds)+n)
	for i, d := range ds {
		out = append(out, d)
		for _, j := range at[i] {
			again := ds[j]
			again.redeliver = true
			out = append(out, again)
		}
	}
	return out
}

// genericStorm posts the generic storm with the probes interleaved, then
// waits for the alerts to be counted and the pages to land.
func (s *stormRun) genericStorm(ctx context.Context) (stormPhase, []stormProbe) {
	o := s.o
	p := stormPhase{name: "generic (intake)", alerts: o.alerts, keys: o.keys}
	ids := make([]string, o.keys)
	for k := range o.keys {
		ids[k] = stormGenericID(s.genericKey("g", k))
	}
	s.remember(ids...)
	ds := make([]stormDelivery, o.alerts)
	for i := range o.alerts {
		key := s.genericKey("g", i%o.keys)
		ds[i] = stormDelivery{path: "/alerts", token: s.rig.auth.GenericToken, alerts: 1,
			body: stormGenericBody(fmt.Sprintf("storm-%s-a%07d", s.tag, i), key, workflows.SEV3)}
	}
	ds = stormRedeliveries(ds, o.redeliver, 3*o.conns)
	before := s.rig.pages.snapshot(s.rig.stand.slack)
	t0 := time.Now()
	var progress atomic.Int64
	done := make(chan struct{})
	var probes []stormProbe
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		probes = s.stormProbes(ctx, &progress, len(ds), done)
	}()
	p.post = s.client.post(ctx, ds, o.conns, &progress)
	p.load = stormLoad1()
	close(done)
	pwg.Wait()
	ids = s.answered(ids, p.post)
	// Probes that joined the alert storm incident (--storm-control join)
	// are counted there too; they are not the storm's alerts.
	for _, pr := range probes {
		p.probeAlerts += pr.joined
	}
	p.tally = s.account(ctx, ids, o.alerts+p.probeAlerts)
	p.tally.counted -= p.probeAlerts
	p.pages = s.pagesSince(ctx, before, ids, t0, len(p.post.started))
	return p, probes
}

// alertmanagerStorm posts Alertmanager deliveries (webhook v4, one group
// of groupSize alerts each, a groupKey set) over keys series, a share
// redelivered whole as Alertmanager does on its repeat interval.
func (s *stormRun) alertmanagerStorm(ctx context.Context) stormPhase {
	o := s.o
	n := o.groups * o.groupSize
	keys := min(o.keys, n)
	p := stormPhase{name: "alertmanager (intake)", alerts: n, keys: keys}
	fps := make([]string, keys)
	ids := make([]string, keys)
	for k := range keys {
		fps[k] = fmt.Sprintf("%s%08x", s.tag, k)
		ids[k] = workflows.WorkflowID("alertmanager:StormBench:" + fps[k])
	}
	s.remember(ids...)
	base := time.Now().UTC().Add(-time.Hour)
	ds := make([]stormDelivery, o.groups)
	for g := range o.groups {
		payload := intake.AlertmanagerPayload{
			Version: "4", GroupKey: fmt.Sprintf(`{}/{}:{alertname="StormBench",group="%d"}`, g), Status: "firing",
			Receiver: "datasev", GroupLabels: map[string]string{"alertname": "StormBench"},
			CommonLabels: map[string]string{"alertname": "StormBench", "severity": "warning"},
		}
		for a := range o.groupSize {
			i := g*o.groupSize + a
			k := i % keys
			payload.Alerts = append(payload.Alerts, intake.AlertmanagerAlert{
				Status:      "firing",
				Labels:      map[string]string{"alertname": "StormBench", "severity": "warning", "series": strconv.Itoa(k)},
				Annotations: map[string]string{"summary": "storm bench series " + strconv.Itoa(k)},
				// Each alert its own start: its own alert ID, the same key.
				StartsAt:    base.Add(time.Duration(i) * time.Millisecond),
				Fingerprint: fps[k],
			})
		}
		body, _ := json.Marshal(payload)
		ds[g] = stormDelivery{path: "/alerts/alertmanager", token: s.rig.auth.AlertmanagerToken, body: body, alerts: o.groupSize}
	}
	ds = stormRedeliveries(ds, o.redeliver, o.conns)
	before := s.rig.pages.snapshot(s.rig.stand.slack)
	t0 := time.Now()
	p.post = s.client.post(ctx, ds, o.conns, nil)
	p.load = stormLoad1()
	ids = s.answered(ids, p.post)
	p.tally = s.account(ctx, ids, n)
	p.pages = s.pagesSince(ctx, before, ids, t0, len(p.post.started))
	return p
}

// answered is ids and the incidents the phase's answers named that are
// not among them (the alert storm incident, with --storm-control join).
func (s *stormRun) answered(ids []string, st stormPostStats) []string {
	out := slices.Clone(ids)
	for id := range st.ids {
		if !slices.Contains(ids, id) {
			out = append(out, id)
		}
	}
	if len(out) > len(ids) {
		s.remember(out[len(ids):]...)
	}
	return out
}

// baseline sends the generic storm's alerts (no redeliveries) straight to
// Temporal with call, the same number of callers at once.
func (s *stormRun) baseline(ctx context.Context, name, phase string, call func(ctx context.Context, key, alertID string) error) stormBaseline {
	o := s.o
	b := stormBaseline{name: name, alerts: o.alerts, keys: o.keys}
	ids := make([]string, o.keys)
	for k := range o.keys {
		ids[k] = stormGenericID(s.genericKey(phase, k))
	}
	s.remember(ids...)
	before := s.rig.pages.snapshot(s.rig.stand.slack)
	t0 := time.Now()
	b.calls = stormCallAll(ctx, o.alerts, o.conns, func(ctx context.Context, i int) error {
		return call(ctx, s.genericKey(phase, i%o.keys), fmt.Sprintf("storm-%s-%s-a%07d", s.tag, phase, i))
	})
	b.load = stormLoad1()
	b.tally = s.account(ctx, ids, o.alerts)
	b.pages = s.pagesSince(ctx, before, ids, t0, o.keys)
	return b
}

// alert is the alert the intake would make of a generic body.
func (s *stormRun) alert(key, alertID string) workflows.Alert {
	return workflows.Alert{
		ID: alertID, Source: intake.SourceGeneric, Title: "storm " + key, Description: "an alert of datasev's storm bench",
		DedupeKey: "generic:" + key, Severity: workflows.SEV3, Service: "storm", ReceivedAt: time.Now().UTC(),
	}
}

// declareCall is the intake's own call without HTTP: incidents.Declare.
func (s *stormRun) declareCall(ctx context.Context, key, alertID string) error {
	r := s.rig
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second) // the intake's DeclareTimeout
	defer cancel()
	_, err := incidents.Declare(ctx, r.c, incidents.DeclareRequest{
		Alert: s.alert(key, alertID), Runbooks: r.set, Roster: r.roster, TaskQueue: r.taskQueue,
	})
	return err
}

// signalWithStartCall is the one Temporal call a declaration comes down to:
// SignalWithStart of the alert with the incident's start options and input.
func (s *stormRun) signalWithStartCall(ctx context.Context, key, alertID string) error {
	r := s.rig
	a := s.alert(key, alertID)
	if err := a.Validate(); err != nil {
		return err
	}
	duty, err := incidents.OnDuty(r.roster, time.Now())
	if err != nil {
		return err
	}
	id := workflows.WorkflowID(a.DedupeKey)
	opts := incidents.StartOptions(id, a, "", duty)
	opts.TaskQueue = r.taskQueue
	_, err = r.c.SignalWithStartWorkflow(ctx, id, workflows.SignalAlert, a, opts, workflows.IncidentWorkflowName,
		workflows.IncidentInput{Alert: a, Roster: r.roster})
	return err
}

// account waits (up to --settle) until the incidents' alert counts add up
// to want, then describes every one: what the phase left behind.
func (s *stormRun) account(ctx context.Context, ids []string, want int) stormTally {
	deadline := time.Now().Add(s.o.settle)
	// Each incident's latest answer: a query that times out under load
	// keeps the incident's earlier count, and is asked again next round.
	last := map[string]int{}
	var t stormTally
	for {
		t = stormTally{}
		counts := s.forEach(ctx, ids, func(ctx context.Context, id string) (int, error) {
			st, err := incidents.Status(ctx, s.rig.c, id)
			return st.AlertCount, err
		})
		for i, c := range counts {
			var nf *incidents.NotFoundError
			switch {
			case c.err == nil:
				last[ids[i]] = c.n
			case errors.As(c.err, &nf):
				// Never started (a key whose alerts joined the storm
				// incident): nothing to count.
			default:
				t.lastErr = c.err
				if _, ok := last[ids[i]]; !ok {
					t.unanswered++
				}
			}
		}
		for _, n := range last {
			t.counted += n
		}
		if t.counted >= want && t.unanswered == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	for _, c := range s.forEach(ctx, ids, func(ctx context.Context, id string) (int, error) {
		d, err := s.rig.c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return 0, err
		}
		if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return 1, nil
		}
		return 0, nil
	}) {
		if c.err == nil {
			t.found++
			t.running += c.n
		}
	}
	return t
}

type stormIDResult struct {
	n   int
	err error
}

// forEach runs f for every ID, eight at a time.
func (s *stormRun) forEach(ctx context.Context, ids []string, f func(ctx context.Context, id string) (int, error)) []stormIDResult {
	out := make([]stormIDResult, len(ids))
	stormCallAll(ctx, len(ids), 8, func(ctx context.Context, i int) error {
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		n, err := f(qctx, ids[i])
		out[i] = stormIDResult{n: n, err: err}
		return err
	})
	return out
}

// pagesSince waits (up to --settle) until the pages carried since before
// (digests counted in full) reach want, the incidents the phase opened,
// and the stand-in has been quiet for a while — with pacing on, longer
// than a pacing window, so no digest is still due — and returns what the
// stand-in saw since before.
func (s *stormRun) pagesSince(ctx context.Context, before stormPageCounts, ids []string, since time.Time, want int) stormPageDelta {
	deadline := time.Now().Add(s.o.settle)
	var now stormPageCounts
	lastPosts, quietSince := -1, time.Now()
	for {
		now = s.rig.pages.snapshot(s.rig.stand.slack)
		if now.posts != lastPosts {
			lastPosts, quietSince = now.posts, time.Now()
		}
		quiet := time.Since(quietSince) >= s.quietFor()
		if now.carried-before.carried >= want && quiet || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	d := stormPageDelta{carried: now.carried - before.carried, digests: now.digests - before.digests,
		named: s.rig.pages.named(ids), dms: map[string]int{}, methods: map[string]int{},
		calls: now.calls - before.calls, window: time.Since(since)}
	for _, id := range ids {
		d.pages += now.byInc[id] - before.byInc[id]
	}
	for who, n := range now.dms {
		if n -= before.dms[who]; n > 0 {
			d.dms[who] = n
		}
	}
	for m, n := range now.methods {
		if n -= before.methods[m]; n > 0 {
			d.methods[m] = n
		}
	}
	return d
}

// quietFor is how long the stand-in must be quiet for a phase's pages to
// be taken as delivered: 2 s, or with pacing on 2 s past the pacing window
// (notify.DefaultPageWindow unless DATASEV_NOTIFY_PAGE_WINDOW says more).
func (s *stormRun) quietFor() time.Duration {
	if s.o.pacing == "off" {
		return 2 * time.Second
	}
	return s.pageWindow + 2*time.Second
}

// probes sends n probe alerts of severity sev one after another, each its
// own incident, and times each from the request's start to the first page
// the Slack stand-in accepts for it.
func (s *stormRun) probes(ctx context.Context, name string, sev workflows.Severity, phase string, n int) stormProbe {
	r := stormProbe{name: name}
	for j := range n {
		d, err := s.probe(ctx, s.genericKey("probe-"+phase, j), sev)
		if errors.Is(err, errStormJoined) {
			r.joined++
			continue
		}
		if err != nil {
			r.failed++
			r.lastErr = err
			continue
		}
		r.samples = append(r.samples, d)
	}
	return r
}

// probe sends one probe alert and waits for its first page.
func (s *stormRun) probe(ctx context.Context, key string, sev workflows.Severity) (time.Duration, error) {
	d := stormDelivery{path: "/alerts", token: s.rig.auth.GenericToken, alerts: 1,
		body: stormGenericBody("probe-"+key, key, sev)}
	s.remember(stormGenericID(key))
	t0 := time.Now()
	var a stormAttempt
	var err error
	for n := 1; ; n++ {
		a, err = s.probeClient.once(ctx, d)
		if err != nil {
			return 0, err
		}
		if a.code == 202 || n == s.probeClient.maxAttempts {
			break
		}
		wait := max(a.retryAfter, 100*time.Millisecond)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if a.code != 202 || len(a.results) != 1 {
		return 0, fmt.Errorf("%w: %s answered %d", errStormNoAnswer, key, a.code)
	}
	if a.results[0].Storm {
		return 0, errStormJoined
	}
	at, err := s.rig.pages.firstPage(ctx, a.results[0].ID, stormProbeWait)
	if err != nil {
		return 0, err
	}
	return at.Sub(t0), nil
}

// stormProbes sends the probes during the storm: SEV1 and SEV3 in turn,
// spread over 10% to 90% of the storm's deliveries, each waiting for its
// page on its own (several may be in flight). Probes not sent when the
// storm ends are sent right after it.
func (s *stormRun) stormProbes(ctx context.Context, progress *atomic.Int64, total int, done <-chan struct{}) []stormProbe {
	n := 2 * s.o.probes
	res := []stormProbe{{name: stormProbeSEV1Storm}, {name: stormProbeSEV3Storm}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for j := range n {
		at := int64(float64(total) * (0.1 + 0.8*float64(j)/float64(max(n, 1))))
	wait:
		for progress.Load() < at {
			select {
			case <-done:
				break wait
			case <-ctx.Done():
				return res
			case <-time.After(5 * time.Millisecond):
			}
		}
		k, sev, phase := j%2, workflows.SEV1, "storm1"
		if k == 1 {
			sev, phase = workflows.SEV3, "storm3"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := s.probe(ctx, s.genericKey("probe-"+phase, j/2), sev)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, errStormJoined) {
				res[k].joined++
				return
			}
			if err != nil {
				res[k].failed++
				res[k].lastErr = err
				return
			}
			res[k].samples = append(res[k].samples, d)
		}()
	}
	wg.Wait()
	return res
}

// terminate ends the run's incidents on a server that outlives the run
// (--address).
func (s *stormRun) terminate() {
	s.mu.Lock()
	ids := append([]string(nil), s.ids...)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_ = stormCallAll(ctx, len(ids), 8, func(ctx context.Context, i int) error {
		return s.rig.c.TerminateWorkflow(ctx, ids[i], "", "storm bench")
	})
}

// stormRSSKiB is this process's resident set (VmRSS), 0 when unknown.
func stormRSSKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// stormChildCPU is the CPU time (user and system) of this process's children
// whose command name contains name, read from /proc at 100 ticks a second;
// -1 when none is found.
func stormChildCPU(name string) time.Duration {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	total, found := time.Duration(0), false
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, pid := range strings.Fields(string(b)) {
			stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
			if err != nil {
				continue
			}
			s := string(stat)
			open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
			if open < 0 || end < open || !strings.Contains(s[open+1:end], name) {
				continue
			}
			f := strings.Fields(s[end+1:])
			if len(f) < 13 {
				continue
			}
			utime, _ := strconv.Atoi(f[11])
			stime, _ := strconv.Atoi(f[12])
			total += time.Duration(utime+stime) * 10 * time.Millisecond
			found = true
		}
	}
	if !found {
		return -1
	}
	return total
}

// stormLoad1 is the 1-minute load average, "?" when unknown.
func stormLoad1() string {
	if f := strings.Fields(loadAverage()); len(f) > 0 {
		return f[0]
	}
	return "?"
}
