package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows/oncall"
)

// stormRig is what the storm runs against, assembled as the dev stack
// assembles it: a dev server (or --address), the stand-ins, the worker of
// production (service.New over the worker's own configuration, Slack on
// its stand-in) and the intake of production (intake.New) on 127.0.0.1,
// all in this process; only the task queue is the run's own.
type stormRig struct {
	srv       *devstack.Server // nil with --address
	address   string
	namespace string
	c         *incidents.Conn
	stand     *standIns
	roster    oncall.Roster
	set       *runbooks.Set
	taskQueue string
	limits    intake.Limits
	auth      intake.Auth
	intakeURL string
	pages     *stormPageWatch
	dc        []string
	closers   []func()
}

// startStormRig starts everything; on error what started is stopped.
func startStormRig(ctx context.Context, e *env, o *stormOptions, tag string) (_ *stormRig, err error) {
	r := &stormRig{taskQueue: "datasev-storm-" + tag}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	state, err := os.MkdirTemp("", "datasev-storm-")
	if err != nil {
		return nil, fmt.Errorf("storm: state directory: %w", err)
	}
	r.closers = append(r.closers, func() { _ = os.RemoveAll(state) })
	roster, err := cli.LoadRoster(e.getenv, "")
	if err != nil {
		return nil, err
	}
	if r.set, err = cli.LoadRunbookSet(e.getenv, io.Discard, "", devstack.DemoRunbooks()); err != nil {
		return nil, err
	}
	keys, err := setupDevKeys(filepath.Join(state, "dev"), roster)
	if err != nil {
		return nil, err
	}
	r.roster = keys.roster
	if r.stand, err = startStandIns(time.Now(), r.roster); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.stand.Close)
	r.pages = newStormPageWatch(r.roster)
	r.stand.slack.Observe(r.pages.observe)
	forced := map[string]string{service.EnvRoster: keys.rosterFile, service.EnvTaskQueue: r.taskQueue}
	if o.pacing == "off" {
		for _, k := range []string{notify.EnvPageBurst, notify.EnvPageWindow, notify.EnvPostBurst, notify.EnvPostInterval} {
			forced[k] = "off"
		}
	}
	setup, err := loadWorkerConfig(e.getenv, r.stand, devDefaults(state), forced)
	if err != nil {
		return nil, err
	}
	if !setup.standIn["slack"] {
		return nil, errors.New("storm: pages are counted at the Slack stand-in, and the worker is configured with your Slack (DATASEV_SLACK_*): unset it for the run")
	}
	logPath := o.logFile
	if logPath == "" {
		logPath = filepath.Join(state, "worker.log")
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storm: worker log: %w", err)
	}
	r.closers = append(r.closers, func() { _ = logFile.Close() })
	logger := service.NewLogger(logFile, setup.cfg)

	r.address, r.namespace = o.address, e.getenv("TEMPORAL_NAMESPACE")
	if r.namespace == "" {
		r.namespace = "default"
	}
	if o.address == "" {
		fmt.Fprintln(e.stdout, "storm: starting an in-memory Temporal dev server…")
		srvLog := &stormTail{max: 8192}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Minute) // includes a first CLI build
		srv, err := devstack.Start(sctx, devstack.Options{
			DynamicConfig: o.dc, Stdout: io.Discard, Stderr: srvLog,
			Logger: slog.New(slog.NewTextHandler(srvLog, &slog.HandlerOptions{Level: slog.LevelError})),
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("storm: dev server: %w\n%s", err, srvLog.String())
		}
		r.srv, r.address, r.namespace, r.dc = srv, srv.HostPort(), srv.Namespace(), o.dc
		r.closers = append(r.closers, func() { _ = srv.Stop() })
	}
	cfg := setup.cfg
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if r.c, err = incidents.Dial(dctx, client.Options{
		HostPort: r.address, Namespace: r.namespace,
		DataConverter: cfg.Client.DataConverter, FailureConverter: cfg.Client.FailureConverter,
		Logger: log.NewStructuredLogger(logger),
	}); err != nil {
		return nil, fmt.Errorf("storm: %w", err)
	}
	r.closers = append(r.closers, r.c.Close)
	w := service.New(r.c.Client, cfg, logger)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("storm: worker: %w", err)
	}
	r.closers = append(r.closers, w.Stop)
	if err := r.startIntake(o, logger); err != nil {
		return nil, err
	}
	return r, nil
}

// startIntake serves the intake of production on 127.0.0.1, a token for
// the generic and Alertmanager sources, the run's limits on new incidents.
func (r *stormRig) startIntake(o *stormOptions, logger *slog.Logger) error {
	r.auth = intake.Auth{GenericToken: "storm-" + randomHex(12), AlertmanagerToken: "storm-" + randomHex(12)}
	r.limits = intake.Limits{NewIncidentsPerMinute: o.newPerMinute, NewIncidentBurst: o.burst, Storm: intake.StormJoin}
	if o.stormControl != "" {
		r.limits.Storm = o.stormControl
		if !o.rateSet { // the production rate, which the storm control is for
			r.limits.NewIncidentsPerMinute, r.limits.NewIncidentBurst = intake.DefaultNewIncidentsPerMinute, intake.DefaultNewIncidentBurst
		}
	}
	h, err := intake.New(r.c, r.roster, r.set, r.auth, logger,
		intake.Options{Namespace: r.namespace, TaskQueue: r.taskQueue, Limits: r.limits})
	if err != nil {
		return fmt.Errorf("storm: intake: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("storm: intake: %w", err)
	}
	r.intakeURL = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: intake.MaxHeaderBytes}
	go func() { _ = srv.Serve(ln) }()
	r.closers = append(r.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return nil
}

func (r *stormRig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

// stormPageWatch follows what the Slack stand-in accepts: page posts (the
// channel posts the Slack backend marks with kind "page"), per incident;
// the pages they carry (one, or a digest's count); when each incident was
// first named by a page (its own, or a line of a digest); and DMs per
// person.
type stormPageWatch struct {
	bySlack map[string]string // Slack user ID → roster person ID

	mu      sync.Mutex
	first   map[string]time.Time // incident → first page naming it
	waiters map[string][]chan time.Time
	pages   map[string]int // incident → page posts in its channel
	carried int            // pages the page posts carry, digests counted in full
	digests int
	dms     map[string]int // person → DMs
	posts   int
}

func newStormPageWatch(r oncall.Roster) *stormPageWatch {
	w := &stormPageWatch{bySlack: map[string]string{}, first: map[string]time.Time{}, waiters: map[string][]chan time.Time{},
		pages: map[string]int{}, dms: map[string]int{}}
	for _, p := range r.People {
		if p.Slack != "" {
			w.bySlack[p.Slack] = p.ID
		}
	}
	return w
}

var (
	// stormDigestCount reads a digest's page count from its text.
	stormDigestCount = regexp.MustCompile(`digest: (\d+) pages?`)
	// stormIncidentRef finds the incident IDs a page names.
	stormIncidentRef = regexp.MustCompile(`incident-[A-Za-z0-9_.:-]*[A-Za-z0-9_]`)
)

// observe is the stand-in's observer; it runs under the stand-in's lock.
func (w *stormPageWatch) observe(p slacktest.Post) {
	var md struct {
		EventPayload struct {
			Incident string `json:"incident"`
			Kind     string `json:"kind"`
		} `json:"event_payload"`
	}
	page := len(p.Metadata) > 0 && json.Unmarshal(p.Metadata, &md) == nil && md.EventPayload.Kind == "page"
	w.mu.Lock()
	defer w.mu.Unlock()
	w.posts++
	if p.Conversation.IsIM {
		who := w.bySlack[p.Conversation.User]
		if who == "" {
			who = p.Conversation.User
		}
		w.dms[who]++
	}
	if !page {
		return
	}
	inc := md.EventPayload.Incident
	w.pages[inc]++
	text := p.Text + " " + string(p.RawBlocks)
	if m := stormDigestCount.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1])
		w.carried += n
		w.digests++
	} else {
		w.carried++
	}
	named := append(stormIncidentRef.FindAllString(text, -1), inc)
	for _, id := range named {
		if _, ok := w.first[id]; ok {
			continue
		}
		w.first[id] = p.At
		for _, ch := range w.waiters[id] {
			ch <- p.At
		}
		delete(w.waiters, id)
	}
}

// firstPage waits for incident's first page and returns when the stand-in
// accepted it.
func (w *stormPageWatch) firstPage(ctx context.Context, incident string, timeout time.Duration) (time.Time, error) {
	w.mu.Lock()
	if t, ok := w.first[incident]; ok {
		w.mu.Unlock()
		return t, nil
	}
	ch := make(chan time.Time, 1)
	w.waiters[incident] = append(w.waiters[incident], ch)
	w.mu.Unlock()
	select {
	case t := <-ch:
		return t, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("no page for %s within %s", incident, timeout)
	}
}

// stormPageCounts is a snapshot of what stormPageWatch saw.
type stormPageCounts struct {
	pages, posts     int
	carried, digests int
	// incidents paged at least once, and pages per incident.
	paged   int
	byInc   map[string]int
	dms     map[string]int
	calls   int // Slack Web API calls, all methods
	methods map[string]int
}

func (w *stormPageWatch) snapshot(s *slacktest.Server) stormPageCounts {
	methods := s.CallCounts()
	w.mu.Lock()
	defer w.mu.Unlock()
	c := stormPageCounts{posts: w.posts, carried: w.carried, digests: w.digests, byInc: map[string]int{}, dms: map[string]int{}, methods: methods}
	for k, v := range w.pages {
		c.byInc[k] = v
		c.pages += v
	}
	c.paged = len(w.pages)
	for k, v := range w.dms {
		c.dms[k] = v
	}
	for _, v := range methods {
		c.calls += v
	}
	return c
}

// named counts the incidents of ids some page has named.
func (w *stormPageWatch) named(ids []string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := w.first[id]; ok {
			n++
		}
	}
	return n
}

// stormTail keeps the last max bytes written, for error messages.
type stormTail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *stormTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *stormTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
