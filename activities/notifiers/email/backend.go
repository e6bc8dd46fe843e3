package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// Leadership is the notification kind for news leadership must hear by
// email: a declaration, a severity change, a resolution. The workflow sends
// it (as it sends workflows.NotifyStatusUpdate) when it wants leadership told;
// LeadershipBackend also recognises the channel posts that carry that news
// today by their subjects (see IsLeadership).
const Leadership workflows.NotifyKind = "leadership"

// LeadershipSubjectPrefixes are the subjects of channel posts (Kind
// workflows.NotifyPost) that LeadershipBackend emails to leadership: the incident
// workflow's declaration ("incident opened: …"), severity changes
// ("severity escalated: …", "severity de-escalated: …"), resolution
// ("resolved: …") and closure ("incident closed: …").
var LeadershipSubjectPrefixes = []string{
	"incident opened:",
	"severity escalated:",
	"severity de-escalated:",
	"resolved:",
	"incident closed:",
}

// IsLeadership reports whether n goes to leadership by email: Kind
// Leadership or workflows.NotifyStatusUpdate, or a workflows.NotifyPost whose subject starts
// with one of LeadershipSubjectPrefixes.
func IsLeadership(n workflows.Notification) bool {
	switch n.Kind {
	case Leadership, workflows.NotifyStatusUpdate:
		return true
	case workflows.NotifyPost:
		s := strings.ToLower(strings.TrimSpace(n.Subject))
		for _, p := range LeadershipSubjectPrefixes {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
	}
	return false
}

// LeadershipBackend is the email notify.Backend. It emails leadership
// notifications (IsLeadership) to the recipients configured for the
// incident's severity, and, when Config.PagesByEmail is set, pages to
// roster people who have an Email. Every other notification is left to the
// other backends: Deliver returns nil without sending.
//
// Each email's Message-ID is derived from the incident and the delivery
// (the activity's workflow, run and activity ID, which Temporal's retries
// share; outside an activity a hash of the notification), so a retried
// delivery carries the same Message-ID and receivers can drop the
// duplicate. (Behind notify.Fanout a retry caused by another backend does
// not send the email again at all.)
type LeadershipBackend struct {
	sender *Sender
	roster oncall.Roster
	log    *slog.Logger
	now    func() time.Time
}

// NewLeadershipBackend returns the email backend sending through sender and
// resolving paged people through roster. A nil sender gives a backend
// whose deliveries that need email fail, non-retryably, as not configured.
// logger may be nil.
func NewLeadershipBackend(sender *Sender, roster oncall.Roster, logger *slog.Logger) *LeadershipBackend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &LeadershipBackend{sender: sender, roster: roster, log: logger, now: time.Now}
}

// Name returns "email".
func (b *LeadershipBackend) Name() string { return "email" }

// Recipients returns whom n is emailed to and, for a page, the paged
// person's display name; no recipients means Deliver sends nothing for n.
func (b *LeadershipBackend) Recipients(n workflows.Notification) (to []string, toName string) {
	if b == nil || b.sender == nil {
		return nil, ""
	}
	cfg := b.sender.cfg
	switch {
	case IsLeadership(n):
		return cfg.Leadership[normSeverity(n.Severity)], ""
	case n.Kind == workflows.NotifyPage && cfg.PagesByEmail && n.To != "":
		p, ok := b.roster.Person(n.To)
		if !ok || strings.TrimSpace(p.Email) == "" {
			return nil, ""
		}
		name := p.Name
		if name == "" {
			name = p.ID
		}
		return []string{p.Email}, name
	}
	return nil, ""
}

// Deliver emails n when it is for leadership or a page by email; see
// LeadershipBackend.
func (b *LeadershipBackend) Deliver(ctx context.Context, n workflows.Notification) error {
	if b == nil || b.sender == nil {
		if !IsLeadership(n) {
			return nil // pages by email are off without a server
		}
		return temporal.NewNonRetryableApplicationError(
			"email: the worker has no SMTP server; set "+EnvHost+" and "+EnvFrom, NotConfiguredType, nil)
	}
	to, toName := b.Recipients(n)
	if len(to) == 0 {
		if IsLeadership(n) {
			b.log.DebugContext(ctx, "email: no leadership list for severity",
				slog.String("incident", n.Incident), slog.String("severity", n.Severity))
		}
		return nil
	}
	kind := TemplateFor(n)
	subject, text, html, err := Render(kind, dataFor(n, toName, b.now()))
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), BadMessageType, err)
	}
	key := deliveryKey(ctx, n) + "/" + kind + "/" + strings.Join(to, ",")
	msg := Message{
		To:        to,
		Subject:   subject,
		Text:      text,
		HTML:      html,
		MessageID: MessageID(n.Incident, key, b.sender.cfg.From),
		Incident:  n.Incident,
	}
	if err := b.sender.Send(ctx, msg); err != nil {
		return err
	}
	b.log.InfoContext(ctx, "email sent",
		slog.String("incident", n.Incident), slog.String("kind", kind), slog.Int("recipients", len(to)))
	return nil
}

// deliveryKey identifies one delivery across Temporal's retries.
func deliveryKey(ctx context.Context, n workflows.Notification) string {
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		return "act/" + info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID
	}
	raw, _ := json.Marshal(n)
	sum := sha256.Sum256(raw)
	return "msg/" + hex.EncodeToString(sum[:16])
}

func normSeverity(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) == 1 && s[0] >= '1' && s[0] <= '5' {
		s = "SEV" + s
	}
	return s
}
