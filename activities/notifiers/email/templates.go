package email

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/workflows"
)

// Template kinds: each names templates/<kind>.tmpl, which defines
// "subject", "text" and "html".
const (
	// TemplateLeadership renders declarations, severity changes and
	// resolutions for leadership.
	TemplateLeadership = "leadership"
	// TemplateStatusUpdate renders the Liaison's scheduled status update.
	TemplateStatusUpdate = "status_update"
	// TemplatePage renders a page sent to one person by email.
	TemplatePage = "page"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// Data is what the templates see.
type Data struct {
	// Kind is the notification's kind.
	Kind string
	// Incident is the incident's workflow ID.
	Incident string
	// Severity is the incident's severity (SEV1…SEV5).
	Severity string
	// SeverityMeaning describes the severity in words, e.g. "Unavailable;
	// most users affected".
	SeverityMeaning string
	// Subject is the notification's one-line summary.
	Subject string
	// Body is the notification's Markdown detail; may be empty.
	Body string
	// To is the display name of the person paged; empty for lists.
	To string
	// Approval is the pending approval a page asks about; may be nil.
	Approval *workflows.ApprovalRef
	// Sent is when the message was rendered.
	Sent time.Time
}

type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var templates = mustParse()

func mustParse() map[string]kindTemplates {
	out := map[string]kindTemplates{}
	for _, kind := range []string{TemplateLeadership, TemplateStatusUpdate, TemplatePage} {
		files := []string{"templates/_layout.tmpl", "templates/" + kind + ".tmpl"}
		tt := texttemplate.Must(texttemplate.New(kind).Funcs(textFuncs).ParseFS(templateFS, files...))
		ht := htmltemplate.Must(htmltemplate.New(kind).Funcs(htmlFuncs).ParseFS(templateFS, files...))
		for _, name := range []string{"subject", "text", "html"} {
			if tt.Lookup(name) == nil {
				panic(fmt.Sprintf("email: templates/%s.tmpl defines no %q", kind, name))
			}
		}
		out[kind] = kindTemplates{text: tt, html: ht}
	}
	return out
}

// funcs are the templates' functions, shared by text and HTML.
var funcs = map[string]any{
	"upper":    strings.ToUpper,
	"time":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
	"sevColor": sevColor,
}

var (
	textFuncs = texttemplate.FuncMap(funcs)
	htmlFuncs = htmltemplate.FuncMap(funcs)
)

// sevColor is the badge colour of a severity in HTML emails.
func sevColor(sev string) string {
	switch sev {
	case "SEV1":
		return "#b60205"
	case "SEV2":
		return "#d93f0b"
	case "SEV3":
		return "#fbca04"
	default:
		return "#0e8a16"
	}
}

// Kinds lists the template kinds Render knows.
func Kinds() []string {
	out := make([]string, 0, len(templates))
	for k := range templates {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Render renders the subject, text/plain body and text/html body of kind
// (TemplateLeadership, TemplateStatusUpdate, TemplatePage) from data.
// Subject and text use text/template; the HTML uses html/template, so the
// notification's text is escaped there.
func Render(kind string, data Data) (subject, text, html string, err error) {
	t, ok := templates[kind]
	if !ok {
		return "", "", "", fmt.Errorf("email: no template for kind %q (have %s)", kind, strings.Join(Kinds(), ", "))
	}
	if data.SeverityMeaning == "" {
		data.SeverityMeaning = severityMeaning[data.Severity]
	}
	var b bytes.Buffer
	if err := t.text.ExecuteTemplate(&b, "subject", data); err != nil {
		return "", "", "", fmt.Errorf("email: render %s subject: %w", kind, err)
	}
	subject = mdtext.OneLine(b.String())
	b.Reset()
	if err := t.text.ExecuteTemplate(&b, "text", data); err != nil {
		return "", "", "", fmt.Errorf("email: render %s text: %w", kind, err)
	}
	text = blankRuns.ReplaceAllString(strings.TrimSpace(b.String()), "\n\n") + "\n"
	b.Reset()
	if err := t.html.ExecuteTemplate(&b, "html", data); err != nil {
		return "", "", "", fmt.Errorf("email: render %s html: %w", kind, err)
	}
	html = strings.TrimSpace(b.String()) + "\n"
	return subject, text, html, nil
}

// blankRuns matches two or more blank lines in a row.
var blankRuns = regexp.MustCompile(`\n{3,}`)

// severityMeaning is the design's severity table in words.
var severityMeaning = map[string]string{
	"SEV1": "Unavailable; most users affected",
	"SEV2": "Significant problems; many users affected",
	"SEV3": "Performance problems; some users affected",
	"SEV4": "Performance problems; no user impact",
	"SEV5": "Low-level annoyances; no user impact",
}

// Rendered is one rendered email.
type Rendered struct {
	// Kind is the template kind used.
	Kind string `json:"kind"`
	// Subject is the subject line.
	Subject string `json:"subject"`
	// Text is the text/plain body.
	Text string `json:"text"`
	// HTML is the text/html body.
	HTML string `json:"html"`
}

// TemplateFor names the template kind a notification is rendered with:
// pages use TemplatePage, status updates TemplateStatusUpdate, everything
// else TemplateLeadership.
func TemplateFor(n workflows.Notification) string {
	switch n.Kind {
	case workflows.NotifyPage:
		return TemplatePage
	case workflows.NotifyStatusUpdate:
		return TemplateStatusUpdate
	default:
		return TemplateLeadership
	}
}

// Preview renders the email a notification would become, for the CLI's
// preview command; an empty Incident or Severity in n is filled with sample
// values, and sent is the time stamped on it.
func Preview(n workflows.Notification, toName string, sent time.Time) (Rendered, error) {
	if n.Incident == "" {
		n.Incident = "alertmanager-orders-freshness"
	}
	if n.Severity == "" {
		n.Severity = "SEV2"
	}
	if n.Subject == "" {
		n.Subject = "incident opened: orders table is stale"
	}
	kind := TemplateFor(n)
	subject, text, html, err := Render(kind, dataFor(n, toName, sent))
	if err != nil {
		return Rendered{}, err
	}
	return Rendered{Kind: kind, Subject: subject, Text: text, HTML: html}, nil
}

func dataFor(n workflows.Notification, toName string, sent time.Time) Data {
	return Data{
		Kind:     string(n.Kind),
		Incident: n.Incident,
		Severity: n.Severity,
		Subject:  n.Subject,
		Body:     n.Body,
		To:       toName,
		Approval: n.Approval,
		Sent:     sent,
	}
}
