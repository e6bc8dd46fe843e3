package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/activities/notifiers/email"
	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// previewUsage is the preview command's arguments.
const previewUsage = "[TEMPLATE] [--incident ID] [--html]"

// previewTemplate is one message template the preview command renders.
type previewTemplate struct {
	name    string
	file    string // the template in the repository
	summary string
	render  func(r workflows.Report, html bool) (string, error)
}

// previewTemplates lists every message datasev renders from a template in
// the repository, in the order the preview command lists them.
var previewTemplates = []previewTemplate{
	{"email-leadership", "activities/notifiers/email/templates/leadership.tmpl", "email to leadership: declaration, severity change, resolution, closure", func(r workflows.Report, html bool) (string, error) {
		return previewEmail(workflows.Notification{Kind: workflows.NotifyPost, Incident: r.ID, Severity: string(r.Severity),
			Subject: "incident opened: " + r.Title, Body: reportDetails(r)}, "", html)
	}},
	{"email-status-update", "activities/notifiers/email/templates/status_update.tmpl", "the Liaison's status update by email, at the severity's cadence", func(r workflows.Report, html bool) (string, error) {
		return previewEmail(workflows.Notification{Kind: workflows.NotifyStatusUpdate, Incident: r.ID, Severity: string(r.Severity),
			Subject: fmt.Sprintf("status update: %s %s", r.Severity, stateOfUpdate(r)), Body: latestUpdate(r)}, "", html)
	}},
	{"email-page", "activities/notifiers/email/templates/page.tmpl", "a page by email (DATASEV_EMAIL_PAGES)", func(r workflows.Report, html bool) (string, error) {
		n := workflows.Notification{Kind: workflows.NotifyPage, Incident: r.ID, Severity: string(r.Severity), To: r.Roles.Commander,
			Subject: "acknowledge: " + r.Title, Body: fmt.Sprintf("You are Commander. Acknowledge within %s.", r.Severity.AckTimeout())}
		for _, ap := range r.Approvals {
			if ap.Status == workflows.ApprovalPending {
				n.Subject, n.Body = "approve: "+ap.Action, ap.Detail
				n.Approval = &workflows.ApprovalRef{ID: ap.ID, Action: ap.Action, Approver: string(ap.Approver), Deadline: ap.Deadline}
				break
			}
		}
		return previewEmail(n, r.Roles.Commander, html)
	}},
	{"slack-consumers", "activities/notifiers/slack/templates/consumers.tmpl", "the notice slack.notify_consumers posts in the data teams' channels (Slack mrkdwn)", func(r workflows.Report, _ bool) (string, error) {
		return slackact.RenderConsumerNotice(slackact.ConsumerNotice{
			Incident: r.ID, Severity: string(r.Severity), Dataset: orText(r.Dataset, r.Service),
			Message: "The numbers downstream of " + orText(r.Dataset, r.Service) + " may be wrong until the incident's channel says otherwise: " + r.Title + ".",
			Impact:  impactOf(r), Owners: []string{"finance"},
		})
	}},
	{"document", "activities/lifecycle/incidentdoc/templates/document.md.tmpl", "the incident document (GitHub issue or Markdown file), kept current with the timeline", func(r workflows.Report, _ bool) (string, error) {
		title, body, err := incidentdoc.Render(r)
		if err != nil {
			return "", err
		}
		return "Title: " + title + "\n\n" + body, nil
	}},
	{"postmortem", "activities/lifecycle/postmortem/render.go", "the postmortem written at closure (`datasev postmortem ID`)", func(r workflows.Report, _ bool) (string, error) {
		return postmortem.Render(r), nil
	}},
}

// runPreview lists the message templates, or renders one from a sample
// incident (or a real one's report with --incident).
func runPreview(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "preview", previewUsage)
	id := fs.String("incident", "", "render from this incident's report (dedupe key or workflow ID) instead of the sample")
	html := fs.Bool("html", false, "for emails, print the text/html part instead of text/plain")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("preview: want at most one template; run `datasev preview` for the list")
	}
	if len(pos) == 0 {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TEMPLATE\tFILE\tWHAT")
		for _, t := range previewTemplates {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.name, t.file, t.summary)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "\nRender one with `datasev preview TEMPLATE` (a sample SEV2 incident) or add --incident ID.")
		return nil
	}
	i := slices.IndexFunc(previewTemplates, func(t previewTemplate) bool { return t.name == pos[0] })
	if i < 0 {
		names := make([]string, len(previewTemplates))
		for j, t := range previewTemplates {
			names[j] = t.name
		}
		return usagef("preview: no template %q; want one of %s", pos[0], strings.Join(names, ", "))
	}
	r := SampleReport()
	if *id != "" {
		c, err := e.dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		if r, err = queryReport(ctx, c, incidents.ResolveID(ctx, c, *id)); err != nil {
			return err
		}
	}
	out, err := previewTemplates[i].render(r, *html)
	if err != nil {
		return fmt.Errorf("preview %s: %w", pos[0], err)
	}
	_, err = fmt.Fprint(e.stdout, strings.TrimRight(out, "\n")+"\n")
	return err
}

// previewEmail renders n as the email it would become.
func previewEmail(n workflows.Notification, to string, html bool) (string, error) {
	r, err := email.Preview(n, to, previewTime)
	if err != nil {
		return "", err
	}
	body := r.Text
	if html {
		body = r.HTML
	}
	return "Subject: " + r.Subject + "\n\n" + body, nil
}

// reportDetails summarises a report the way the incident's posts do.
func reportDetails(r workflows.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s · %s** — %s\n\n%s\n\n", r.Severity, r.State, r.Title, r.Severity.Describe())
	fmt.Fprintf(&b, "- Commander: %s\n", orDash(r.Roles.Commander))
	if r.Service != "" || r.Dataset != "" {
		fmt.Fprintf(&b, "- Affected: %s\n", strings.TrimSpace(r.Service+" "+r.Dataset))
	}
	if r.Runbook != "" {
		fmt.Fprintf(&b, "- Runbook: %s\n", r.Runbook)
	}
	if n := len(r.Findings); n > 0 {
		fmt.Fprintf(&b, "- Latest finding: %s\n", r.Findings[n-1])
	}
	if r.Document != "" {
		fmt.Fprintf(&b, "- Incident document: %s\n", r.Document)
	}
	return b.String()
}

// latestUpdate is the text of the latest status update in the timeline,
// or the incident's details when none was posted.
func latestUpdate(r workflows.Report) string {
	for i := len(r.Timeline) - 1; i >= 0; i-- {
		if what, ok := strings.CutPrefix(r.Timeline[i].What, "status update: "); ok {
			return what
		}
	}
	return reportDetails(r)
}

// impactOf is the report's impact finding (a lineage step's summary), or
// its affected service and dataset.
func impactOf(r workflows.Report) string {
	for _, f := range r.Findings {
		if strings.HasPrefix(f, "impact: ") {
			return strings.TrimPrefix(f, "impact: ")
		}
	}
	return strings.TrimSpace(r.Service + " " + r.Dataset)
}

// stateOfUpdate is the state an update of r is sent in: its state while
// open, else mitigating (the sample's update).
func stateOfUpdate(r workflows.Report) workflows.State {
	if r.State.Open() {
		return r.State
	}
	return workflows.Mitigating
}

// previewTime stamps previews, so the same sample renders the same way.
var previewTime = time.Date(2026, 3, 10, 18, 45, 0, 0, time.UTC)

// SampleReport is the SEV2 incident the preview command renders templates
// from: a dbt model that regressed, a remediation denied and another
// approved, a status update, closure inputs and a closed incident.
func SampleReport() workflows.Report {
	t0 := time.Date(2026, 3, 10, 18, 10, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	return workflows.Report{
		ID: "incident-orders-revenue", Title: "orders revenue 100x the forecast", State: workflows.Closed, Severity: workflows.SEV2,
		Service: "orders", Dataset: "ANALYTICS.MARTS.ORDERS", Runbook: "dbt-model-regression", RunbookStatus: "completed",
		Roles:      workflows.Roles{Commander: "grace", Scribe: "carol", Liaison: "dave", SMEs: []string{"erin"}},
		AlertCount: 2, TriggeredAt: t0, AckedAt: at(3), MitigatedAt: at(38), ResolvedAt: at(70), ClosedAt: at(100),
		Approvals: []workflows.Approval{
			{ID: "revert-1", Action: "github.revert_commit", Detail: "Revert 4f2a9c1 (orders.sql: amounts in cents) through a pull request.",
				Approver: workflows.Commander, RequestedBy: "runbook", RequestedAt: at(12), Deadline: at(72), Status: workflows.ApprovalDenied,
				DecidedBy: "alice", DecidedAt: at(15), Reason: "the macro change must stay; revert the model only"},
			{ID: "revert-2", Action: "github.revert_commit", Detail: "Revert 9b31e07 (orders.sql only) through a pull request.",
				Approver: workflows.Commander, RequestedBy: "erin", RequestedAt: at(20), Deadline: at(80), Status: workflows.ApprovalApproved,
				DecidedBy: "alice", DecidedAt: at(22), Reason: "the model alone changed the units"},
		},
		Findings: []string{
			"recent_commits: 2 commits touched models/marts/orders.sql in 72h; likeliest 9b31e07 by erin",
			"impact: 3 downstream models, 2 exposures (revenue dashboard, finance export), owners: finance, growth",
		},
		Closure: workflows.Closure{
			Enabled: true, RootCause: "a change to orders.sql reported amounts in cents while every consumer reads dollars", RootCauseBy: "carol",
			Factors:     []workflows.ClosureNote{{Text: "no test on the revenue range in CI", By: "carol", At: at(76)}},
			ActionItems: []workflows.ActionItem{{Text: "add assert_revenue_within_forecast to CI", Owner: "erin", By: "grace", At: at(78)}},
			Postmortem:  ".datasev/postmortems/incident-orders-revenue.md",
		},
		Document: "file:///srv/datasev/incidents/incident-orders-revenue.md",
		Timeline: []workflows.TimelineEntry{
			{At: t0, Who: "alertmanager", Kind: workflows.KindAlert, What: "incident opened: orders revenue 100x the forecast (alertmanager, suggested SEV3)", Why: "dbt test assert_revenue_within_forecast failed"},
			{At: t0, Who: "datasev", Kind: workflows.KindSystem, What: "roles from the day shift of data-platform: Commander alice · Scribe carol · Liaison dave · SMEs erin"},
			{At: t0, Who: "datasev", Kind: workflows.KindSystem, What: "incident document: file:///srv/datasev/incidents/incident-orders-revenue.md"},
			{At: at(3), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "acknowledged"},
			{At: at(5), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "severity SEV3 → SEV2", Why: "the finance export reads it"},
			{At: at(8), Who: "runbook", Kind: workflows.KindFinding, What: "impact: 3 downstream models, 2 exposures (revenue dashboard, finance export), owners: finance, growth"},
			{At: at(15), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "denied revert-1 (github.revert_commit)", Why: "the macro change must stay; revert the model only"},
			{At: at(22), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "approved revert-2 (github.revert_commit)", Why: "the model alone changed the units"},
			{At: at(30), Who: "dave", Via: "cli", Kind: workflows.KindAct, What: "status update: The revert of orders.sql is merged and the dbt job is re-running; the revenue dashboard is wrong until it finishes (about 20 minutes)."},
			{At: at(50), Who: "datasev", Kind: workflows.KindTimer, What: "day shift ends at 20:00 CET: handoff summary posted, paging grace"},
			{At: at(52), Who: "grace", Via: "slack", Kind: workflows.KindAct, What: "accepted the handoff from alice"},
			{At: at(70), Who: "grace", Via: "cli", Kind: workflows.KindTransition, What: "monitoring → resolved", Why: "revenue back in range for 15 minutes"},
			{At: at(100), Who: "datasev", Kind: workflows.KindTransition, What: "resolved → closed", Why: "no recurrence within 30m0s of resolution; closure inputs complete"},
		},
	}
}
