package incidents

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// SummaryLine is the incident's one-line static summary in the Temporal UI:
// "SEV2 · orders · Orders load failing (alertmanager)".
func SummaryLine(a workflows.Alert) string {
	parts := []string{string(a.Severity)}
	if a.Service != "" {
		parts = append(parts, a.Service)
	}
	title := a.Title
	if a.Source != "" {
		title += " (" + a.Source + ")"
	}
	parts = append(parts, title)
	return strings.Join(parts, " · ")
}

// Details is the incident's static details in the Temporal UI: Markdown with
// the alert's fields, labels sorted by name.
func Details(a workflows.Alert, runbook string, duty oncall.OnDuty) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", mdText(a.Title))
	b.WriteString("| field | value |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, mdCell(v))
		}
	}
	sev := string(a.Severity)
	if a.Severity.Valid() {
		sev += " — " + a.Severity.Describe()
	}
	row("severity", sev)
	row("status", string(a.Status))
	row("source", a.Source)
	row("dedupe key", "`"+strings.ReplaceAll(a.DedupeKey, "`", "'")+"`")
	row("group", a.Group)
	if a.Member != "" {
		row("first alert's key", "`"+strings.ReplaceAll(a.Member, "`", "'")+"`")
	}
	row("service", a.Service)
	row("dataset", a.Dataset)
	row("runbook", runbook)
	if duty.Shift.Commander != "" {
		row("commander", fmt.Sprintf("%s (%s shift)", duty.Shift.Commander, duty.Shift.Name))
	}
	if !a.ReceivedAt.IsZero() {
		row("received", a.ReceivedAt.UTC().Format(time.RFC3339))
	}
	row("alert id", a.ID)
	if a.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", mdText(a.Description))
	}
	if len(a.Labels) > 0 {
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("\n**Labels**\n\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "- `%s`: %s\n", strings.ReplaceAll(k, "`", "'"), mdText(a.Labels[k]))
		}
	}
	return b.String()
}

// mdCell makes a value safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// mdText keeps free text from opening HTML in the UI's Markdown renderer.
func mdText(s string) string {
	s = strings.ReplaceAll(s, "<", "&lt;")
	return strings.ReplaceAll(s, ">", "&gt;")
}
