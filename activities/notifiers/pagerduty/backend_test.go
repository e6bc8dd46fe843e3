package pagerdutyact_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/notify"
	pagerdutyact "github.com/datasev/datasev/activities/notifiers/pagerduty"
	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdkey"
	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdtest"
	"github.com/datasev/datasev/workflows"
)

const (
	sev1Key = "SEV1R0UTINGKEY000000000000000001"
	inc     = "incident-pd-1"
)

func newBackend(t *testing.T, srv *pdtest.Server, cfg pagerdutyact.Config) *pagerdutyact.Backend {
	t.Helper()
	cfg.EventsURL = srv.URL
	b, err := pagerdutyact.New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func page(subject string) workflows.Notification {
	return workflows.Notification{Kind: workflows.NotifyPage, Incident: inc, Severity: "SEV2", To: "alice", Subject: subject, Body: "You are Commander."}
}

func post(subject string) workflows.Notification {
	return workflows.Notification{Kind: workflows.NotifyPost, Incident: inc, Severity: "SEV2", Subject: subject}
}

func TestTriggerCarriesTheDedupKeyAndThePage(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	b := newBackend(t, srv, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey, SeverityKeys: map[workflows.Severity]string{workflows.SEV1: sev1Key}})
	ctx := context.Background()
	if err := b.Deliver(ctx, page("acknowledge: orders late")); err != nil {
		t.Fatal(err)
	}
	sev1 := page("escalated to SEV1: orders late")
	sev1.Severity = "SEV1"
	if err := b.Deliver(ctx, sev1); err != nil {
		t.Fatal(err)
	}
	evs := srv.Events()
	if len(evs) != 2 {
		t.Fatalf("events: %+v, want 2", evs)
	}
	e := evs[0]
	id, pageID, ok := pdkey.Parse(e.DedupKey)
	if e.Action != "trigger" || !ok || id != inc || len(pageID) != pdkey.PageIDLen {
		t.Errorf("event 0: action %q dedup key %q (parsed %q %q %v)", e.Action, e.DedupKey, id, pageID, ok)
	}
	if e.RoutingKey != pdtest.RoutingKey || e.Payload.Severity != "error" || e.Payload.Source != "datasev" ||
		!strings.Contains(e.Payload.Summary, "acknowledge: orders late") || e.Payload.Details["to"] != "alice" || e.Payload.Details["incident"] != inc {
		t.Errorf("event 0: %+v payload %+v", e, e.Payload)
	}
	if evs[1].RoutingKey != sev1Key || evs[1].Payload.Severity != "critical" {
		t.Errorf("the SEV1 page went to %q as %q, want its own routing key as critical", evs[1].RoutingKey, evs[1].Payload.Severity)
	}
	if evs[0].DedupKey == evs[1].DedupKey {
		t.Errorf("two pages share dedup key %s", evs[0].DedupKey)
	}
}

func TestRetryDoesNotPageTwice(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	b := newBackend(t, srv, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey})
	// Outside an activity (a digest): the notification is its identity.
	n := page("acknowledge: orders late")
	for range 3 {
		if err := b.Deliver(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.DistinctDedupKeys(); n != 1 {
		t.Errorf("distinct dedup keys: %d, want 1 (retries folded)", n)
	}
	// Inside the Notify activity: Temporal's attempts share the
	// activity's IDs. The first attempt's trigger reaches PagerDuty, then
	// the attempt fails (a lost answer, another backend failing); the
	// retry sends the same key.
	srv2 := pdtest.New()
	defer srv2.Close()
	b2 := newBackend(t, srv2, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey})
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	notify.Register(env, &notify.Activities{Backend: &failOnce{Backend: b2}})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 3},
		})
		if err := workflow.ExecuteActivity(ctx, workflows.NotifyActivity, page("acknowledge: orders late")).Get(ctx, nil); err != nil {
			return err
		}
		// A second page with the same text is a page of its own.
		return workflow.ExecuteActivity(ctx, workflows.NotifyActivity, page("acknowledge: orders late")).Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "pages"})
	env.ExecuteWorkflow("pages")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	alerts := srv2.Alerts()
	if len(alerts) != 2 {
		t.Fatalf("alerts: %+v, want 2 (one per page)", alerts)
	}
	if alerts[0].Triggers != 2 || alerts[1].Triggers != 1 {
		t.Errorf("triggers per alert: %d and %d, want 2 (an attempt and its retry, one alert) and 1", alerts[0].Triggers, alerts[1].Triggers)
	}
}

// failOnce delivers, then fails the first attempt it sees.
type failOnce struct {
	notify.Backend
	mu     sync.Mutex
	failed bool
}

func (f *failOnce) Deliver(ctx context.Context, n workflows.Notification) error {
	if err := f.Backend.Deliver(ctx, n); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed {
		f.failed = true
		return errors.New("the answer was lost")
	}
	return nil
}

func TestConcurrentRetriesAreCoalescedIntoOneAlert(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	b := newBackend(t, srv, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() { errs <- b.Deliver(context.Background(), page("acknowledge: orders late")) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.DistinctDedupKeys(); n != 1 {
		t.Errorf("distinct dedup keys: %d, want 1", n)
	}
	if n := len(srv.Events()); n > 20 || n < 1 {
		t.Errorf("events sent: %d, want 1 to 20", n)
	}
}

func TestAcknowledgeAndResolveFollowTheIncident(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	b := newBackend(t, srv, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey})
	ctx := context.Background()
	for _, s := range []string{"acknowledge: orders late", "still unacknowledged: orders late"} {
		if err := b.Deliver(ctx, page(s)); err != nil {
			t.Fatal(err)
		}
	}
	other := page("acknowledge: other")
	other.Incident = "incident-other"
	if err := b.Deliver(ctx, other); err != nil {
		t.Fatal(err)
	}
	// A post that is neither changes nothing.
	if err := b.Deliver(ctx, post("severity raised: orders late")); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Events()); n != 3 {
		t.Fatalf("events after 3 pages and a post: %d", n)
	}
	for range 2 { // the second is a retry: nothing more to send
		if err := b.Deliver(ctx, post("alice acknowledged: orders late")); err != nil {
			t.Fatal(err)
		}
	}
	acks := 0
	for _, e := range srv.Events() {
		if e.Action == "acknowledge" {
			acks++
		}
	}
	if acks != 2 {
		t.Errorf("acknowledge events: %d, want 2 (the incident's two pages, once)", acks)
	}
	for range 2 {
		if err := b.Deliver(ctx, post("resolved: orders late")); err != nil {
			t.Fatal(err)
		}
	}
	status := map[string]string{}
	for _, a := range srv.Alerts() {
		status[a.Summary] = a.Status
	}
	resolves := 0
	for _, e := range srv.Events() {
		if e.Action == "resolve" {
			resolves++
			if id, _, _ := pdkey.Parse(e.DedupKey); id != inc {
				t.Errorf("resolved %s, which is not %s's", e.DedupKey, inc)
			}
		}
	}
	if resolves != 2 {
		t.Errorf("resolve events: %d, want 2", resolves)
	}
	for s, st := range status {
		want := "resolved"
		if strings.Contains(s, "incident-other") {
			want = "triggered"
		}
		if st != want {
			t.Errorf("alert %q: %s, want %s", s, st, want)
		}
	}
	if k := b.Raised(inc); len(k) != 0 {
		t.Errorf("still remembered after resolve: %v", k)
	}
	if !pagerdutyact.IsLifecycle(post("resolved: x")) || !pagerdutyact.IsLifecycle(post("bob acknowledged: x")) || pagerdutyact.IsLifecycle(post("severity raised: bob acknowledged: x")) {
		t.Error("IsLifecycle does not tell the acknowledgement and resolution posts from others")
	}
}

func TestRateLimitedIsRetriedNotDropped(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	b := newBackend(t, srv, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey})
	srv.Fail(pdtest.Fault{Status: 429, Times: 1, RetryAfter: time.Second})
	n := page("acknowledge: orders late")
	err := b.Deliver(context.Background(), n)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != pagerdutyact.RateLimitedType || app.NonRetryable() || app.NextRetryDelay() != time.Second {
		t.Fatalf("429: %v, want a retryable %s error with a 1s retry delay", err, pagerdutyact.RateLimitedType)
	}
	if n := srv.DistinctDedupKeys(); n != 0 {
		t.Fatalf("alerts after a 429: %d", n)
	}
	// Temporal's retry: the pause is honoured inside the budget's wait,
	// then the page goes.
	if err := b.Deliver(context.Background(), n); err != nil {
		t.Fatalf("retry after the 429: %v", err)
	}
	if got := srv.DistinctDedupKeys(); got != 1 || srv.Refused(429) != 1 {
		t.Errorf("after the retry: %d alerts, %d refused with 429; want 1 and 1", got, srv.Refused(429))
	}
}

func TestBeyondTheBudgetThePageIsHandedBackWithADelay(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	// One event a minute: the first goes, the second would wait a minute,
	// beyond MaxWait, and is handed back to Temporal.
	b := newBackend(t, srv, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey, EventsPerMinute: 1})
	if err := b.Deliver(context.Background(), page("first")); err != nil {
		t.Fatal(err)
	}
	err := b.Deliver(context.Background(), page("second"))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != pagerdutyact.RateLimitedType || app.NextRetryDelay() <= pagerdutyact.MaxWait {
		t.Fatalf("beyond the budget: %v, want %s with a retry delay beyond %s", err, pagerdutyact.RateLimitedType, pagerdutyact.MaxWait)
	}
	if n := len(srv.Events()); n != 1 {
		t.Errorf("events sent: %d, want 1 (the second waits for its retry)", n)
	}
	// The stand-in's own limit answers 429 beyond it, as PagerDuty does.
	srv2 := pdtest.New()
	defer srv2.Close()
	srv2.RateLimit(1)
	b2 := newBackend(t, srv2, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey})
	_ = b2.Deliver(context.Background(), page("first"))
	if err := b2.Deliver(context.Background(), page("second")); !errors.As(err, &app) || app.Type() != pagerdutyact.RateLimitedType {
		t.Errorf("stand-in limit: %v, want %s", err, pagerdutyact.RateLimitedType)
	}
}

func TestBadRequestIsAClearNonRetryableError(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	// A key of the wrong form: ConfigFromEnv refuses it, the API too.
	b := newBackend(t, srv, pagerdutyact.Config{DefaultKey: "short"})
	err := b.Deliver(context.Background(), page("acknowledge: orders late"))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != pagerdutyact.BadRequestType {
		t.Fatalf("400: %v, want a non-retryable %s", err, pagerdutyact.BadRequestType)
	}
	for _, want := range []string{"HTTP 400", "Event object is invalid", "'routing_key' must be 32 characters"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	srv.Fail(pdtest.Fault{Status: 500, Times: 1})
	b = newBackend(t, srv, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey})
	err = b.Deliver(context.Background(), page("x"))
	if err == nil || (errors.As(err, &app) && app.NonRetryable()) {
		t.Errorf("500: %v, want a retryable error", err)
	}
}

func TestBounds(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	b := newBackend(t, srv, pagerdutyact.Config{DefaultKey: pdtest.RoutingKey})
	long := page(strings.Repeat("é", 5000))
	long.Incident = "incident-" + strings.Repeat("k", 400)
	long.Body = strings.Repeat("b", 100000)
	if err := b.Deliver(context.Background(), long); err != nil {
		t.Fatalf("a long page: %v (the stand-in refuses a summary over 1024 characters or a key over 255)", err)
	}
	e := srv.Events()[0]
	if n := len([]rune(e.Payload.Summary)); n > pagerdutyact.MaxSummary {
		t.Errorf("summary: %d characters", n)
	}
	if len(e.DedupKey) > pdkey.MaxLen {
		t.Errorf("dedup key: %d bytes", len(e.DedupKey))
	}
	if _, _, ok := pdkey.Parse(e.DedupKey); ok {
		t.Errorf("a hashed key %q parsed as naming an incident", e.DedupKey)
	}
	if body, _ := e.Payload.Details["body"].(string); len([]rune(body)) > 4000 {
		t.Errorf("body in custom_details: %d characters", len([]rune(body)))
	}
}

func TestNoRoutingKeyForTheSeverityPagesNoOne(t *testing.T) {
	srv := pdtest.New()
	defer srv.Close()
	b := newBackend(t, srv, pagerdutyact.Config{SeverityKeys: map[workflows.Severity]string{workflows.SEV1: sev1Key}})
	if err := b.Deliver(context.Background(), page("acknowledge: minor")); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Events()); n != 0 {
		t.Errorf("a SEV2 page with only a SEV1 key sent %d events", n)
	}
}

func TestDedupKeyRoundTrip(t *testing.T) {
	id := pdkey.PageID("act/wf/run/7")
	k := pdkey.Make("incident-alertmanager:db:orders", id)
	inc, p, ok := pdkey.Parse(k)
	if !ok || inc != "incident-alertmanager:db:orders" || p != id {
		t.Errorf("Parse(%q) = %q %q %v", k, inc, p, ok)
	}
	for _, bad := range []string{"", "pagerduty:x", "datasev:", "datasev:x:nothex", "datasev::0123456789abcdef", "datasev:a b:0123456789abcdef", "datasev:~abc:0123456789abcdef", "datasev:x:" + strings.Repeat("0", 300)} {
		if _, _, ok := pdkey.Parse(bad); ok {
			t.Errorf("Parse(%q) took it", bad)
		}
	}
}
