// Package pagerdutyact is the notifier backend that wakes people through
// PagerDuty's Events API v2: a page becomes a trigger event on the routing
// key of its severity, with a dedup key naming the incident and the page
// (pdkey), so that Temporal's retries of a page never page twice; when the
// incident is acknowledged the pages it raised are acknowledged in
// PagerDuty, and when it resolves they are resolved. Acknowledgements made
// in PagerDuty come back through the intake (starter/intake), not here.
package pagerdutyact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"

	pd "github.com/PagerDuty/go-pagerduty"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdkey"
	"github.com/datasev/datasev/workflows"
)

// Event actions of the Events API v2.
const (
	ActionTrigger     = "trigger"
	ActionAcknowledge = "acknowledge"
	ActionResolve     = "resolve"
)

// Bounds of an event and of the backend's memory.
const (
	// MaxSummary is the most characters PagerDuty takes in a summary.
	MaxSummary = 1024
	// maxBody bounds the page's body carried in custom_details.
	maxBody = 4000
	// MaxIncidents bounds the incidents whose raised pages are remembered
	// (the oldest is forgotten first); MaxPagesPerIncident the pages
	// remembered for one incident.
	MaxIncidents        = 10000
	MaxPagesPerIncident = 100
)

// Source is the payload's source: the system that raised the event.
const Source = "datasev"

// Backend pages through PagerDuty. It implements notify.Backend:
//
//   - a page (Kind page) whose severity has a routing key becomes a
//     trigger event with dedup key pdkey.Make(incident, page), where the
//     page's ID is a hash of the Notify activity's workflow, run and
//     activity IDs (which Temporal's retries share) or, outside an
//     activity (the notify Coalescer's digests), of the notification: a
//     retry sends the same key, and PagerDuty folds it into the alert it
//     already has. A severity without a routing key pages no one here;
//   - the incident's post "<person> acknowledged: …" acknowledges every
//     page the backend raised for the incident, so PagerDuty stops
//     escalating them, and "resolved: …" (or "incident closed: …")
//     resolves them. IsLifecycle names these posts: keep them out of the
//     notify Coalescer's batches;
//   - every other notification is not PagerDuty's business.
//
// Each routing key's events are paced (see pacer): within the budget at
// once, beyond it handed back to Temporal with a retry delay, never
// dropped. A 400 fails the page without retry, naming PagerDuty's reason.
//
// The pages raised are remembered in memory, per process (bounded): an
// incident that resolves on another worker, or after a restart, leaves
// its pages open in PagerDuty until someone resolves them there.
type Backend struct {
	cfg    Config
	client sender
	pace   *pacer
	log    *slog.Logger

	mu     sync.Mutex
	raised map[string][]raisedPage // incident → pages raised
	order  []string                // incidents, oldest first
}

// raisedPage is one dedup key raised, and where.
type raisedPage struct {
	routingKey, dedupKey string
	acked                bool
}

// New returns a backend for cfg. hc is the HTTP client; nil for one with a
// 10s timeout.
func New(cfg Config, hc *http.Client, logger *slog.Logger) (*Backend, error) {
	if !cfg.Configured() {
		return nil, errors.New("pagerduty: no routing key configured (" + EnvRoutingKey + " or " + SeverityKeyEnv[workflows.SEV1] + " …)")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	base := cfg.EventsURL
	if base == "" {
		base = DefaultEventsURL
	}
	return &Backend{cfg: cfg, client: newEventsClient(base, hc), pace: newPacer(cfg.EventsPerMinute), log: logger, raised: map[string][]raisedPage{}}, nil
}

// Name returns "pagerduty".
func (*Backend) Name() string { return "pagerduty" }

// ackSubject is the incident's post when someone acknowledges it.
var ackSubject = regexp.MustCompile(`^[^\s:]+ acknowledged: `)

// IsLifecycle reports the posts the backend acts on: the incident's
// acknowledgement and resolution. The notify Coalescer must deliver them
// on their own (CoalesceOptions.Exempt), not batched with other posts.
func IsLifecycle(n workflows.Notification) bool { return lifecycle(n) != "" }

// lifecycle is the event action a post asks for, "" for none.
func lifecycle(n workflows.Notification) string {
	if n.Kind != workflows.NotifyPost {
		return ""
	}
	switch {
	case strings.HasPrefix(n.Subject, "resolved: "), strings.HasPrefix(n.Subject, "incident closed: "):
		return ActionResolve
	case ackSubject.MatchString(n.Subject):
		return ActionAcknowledge
	}
	return ""
}

// Deliver sends what n asks of PagerDuty, if anything.
func (b *Backend) Deliver(ctx context.Context, n workflows.Notification) error {
	if strings.TrimSpace(n.Incident) == "" {
		return temporal.NewNonRetryableApplicationError("pagerduty: notification has no incident", BadRequestType, nil)
	}
	if n.Kind == workflows.NotifyPage {
		return b.trigger(ctx, n)
	}
	if action := lifecycle(n); action != "" {
		return b.follow(ctx, n.Incident, action)
	}
	return nil
}

// trigger raises a page.
func (b *Backend) trigger(ctx context.Context, n workflows.Notification) error {
	rk := b.cfg.RoutingKey(n.Severity)
	if rk == "" {
		b.log.DebugContext(ctx, "pagerduty: no routing key for the severity; not paged here",
			slog.String("incident", n.Incident), slog.String("severity", n.Severity))
		return nil
	}
	key := pdkey.Make(n.Incident, pageID(ctx, n))
	ev := TriggerEvent(rk, key, n)
	if err := b.pace.send(ctx, b.client, ev); err != nil {
		return err
	}
	b.remember(n.Incident, raisedPage{routingKey: rk, dedupKey: key})
	b.log.InfoContext(ctx, "pagerduty: paged", slog.String("incident", n.Incident), slog.String("to", n.To), slog.String("dedup_key", key))
	return nil
}

// follow acknowledges or resolves the incident's raised pages. A page
// acknowledged or resolved is marked so at once, so that a retry sends
// only what failed.
func (b *Backend) follow(ctx context.Context, incident, action string) error {
	var errs []error
	for _, p := range b.pages(incident) {
		if action == ActionAcknowledge && p.acked {
			continue
		}
		ev := &pd.V2Event{RoutingKey: p.routingKey, Action: action, DedupKey: p.dedupKey, Client: Source}
		if err := b.pace.send(ctx, b.client, ev); err != nil {
			errs = append(errs, err)
			continue
		}
		b.mark(incident, p.dedupKey, action)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0] // keeps its type: a rate limit's retry delay
	default:
		return errors.Join(errs...)
	}
}

// TriggerEvent is the trigger event for page n on routing key rk with dedup
// key key: a summary of at most MaxSummary characters, the severity
// PagerDuty knows, and the page in custom_details.
func TriggerEvent(rk, key string, n workflows.Notification) *pd.V2Event {
	sev := n.Severity
	if sev == "" {
		sev = "SEV?"
	}
	summary := fmt.Sprintf("[%s] %s (datasev %s", sev, oneLine(n.Subject, MaxSummary), n.Incident)
	if n.To != "" {
		summary += ", paging " + n.To
	}
	summary = cutRunes(summary+")", MaxSummary)
	details := map[string]any{"incident": n.Incident, "severity": n.Severity, "subject": n.Subject}
	if n.To != "" {
		details["to"] = n.To
	}
	if body := strings.TrimSpace(n.Body); body != "" {
		details["body"] = cutRunes(body, maxBody)
	}
	if a := n.Approval; a != nil {
		details["approval"] = map[string]any{"id": a.ID, "action": a.Action, "approver": a.Approver, "deadline": a.Deadline}
	}
	return &pd.V2Event{
		RoutingKey: rk,
		Action:     ActionTrigger,
		DedupKey:   key,
		Client:     Source,
		Payload: &pd.V2Payload{
			Summary:   summary,
			Source:    Source,
			Severity:  pdSeverity(n.Severity),
			Component: cutRunes(n.Incident, 255),
			Class:     "page",
			Details:   details,
		},
	}
}

// pdSeverity maps a datasev severity onto PagerDuty's four.
func pdSeverity(sev string) string {
	s, err := workflows.ParseSeverity(sev)
	switch {
	case err != nil:
		return "error"
	case s == workflows.SEV1:
		return "critical"
	case s == workflows.SEV2:
		return "error"
	case s == workflows.SEV3:
		return "warning"
	default:
		return "info"
	}
}

// pageID identifies n across Temporal's retries: the activity's workflow,
// run and activity IDs inside an activity, else the notification itself.
func pageID(ctx context.Context, n workflows.Notification) string {
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		return pdkey.PageID("act/" + info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID)
	}
	b, _ := json.Marshal(n)
	sum := sha256.Sum256(b)
	return pdkey.PageID("msg/" + hex.EncodeToString(sum[:]))
}

// remember records a raised page; a page already there is kept as it is.
func (b *Backend) remember(incident string, p raisedPage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pages, known := b.raised[incident]
	for _, q := range pages {
		if q.dedupKey == p.dedupKey && q.routingKey == p.routingKey {
			return
		}
	}
	if !known {
		if len(b.order) >= MaxIncidents {
			delete(b.raised, b.order[0])
			b.order = b.order[1:]
		}
		b.order = append(b.order, incident)
	}
	if len(pages) >= MaxPagesPerIncident {
		b.log.Warn("pagerduty: too many pages remembered for one incident; the oldest will not be resolved by datasev",
			slog.String("incident", incident), slog.String("dedup_key", pages[0].dedupKey))
		pages = pages[1:]
	}
	b.raised[incident] = append(pages, p)
}

// pages returns a copy of the incident's raised pages.
func (b *Backend) pages(incident string) []raisedPage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]raisedPage(nil), b.raised[incident]...)
}

// mark records that a page was acknowledged, or forgets it once resolved.
func (b *Backend) mark(incident, dedupKey, action string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pages := b.raised[incident]
	for i := range pages {
		if pages[i].dedupKey != dedupKey {
			continue
		}
		if action == ActionResolve {
			pages = append(pages[:i:i], pages[i+1:]...)
		} else {
			pages[i].acked = true
		}
		break
	}
	if len(pages) == 0 {
		delete(b.raised, incident)
		for i, id := range b.order {
			if id == incident {
				b.order = append(b.order[:i:i], b.order[i+1:]...)
				break
			}
		}
		return
	}
	b.raised[incident] = pages
}

// Raised returns the dedup keys raised for incident and not yet resolved,
// oldest first.
func (b *Backend) Raised(incident string) []string {
	var keys []string
	for _, p := range b.pages(incident) {
		keys = append(keys, p.dedupKey)
	}
	return keys
}

// oneLine folds s onto one line of at most n characters.
func oneLine(s string, n int) string {
	return cutRunes(strings.Join(strings.Fields(s), " "), n)
}

// cutRunes cuts s to at most n characters, ending in "…" when cut.
func cutRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
