// Package incidentdoc keeps the incident document: the Scribe's living
// record of an incident, created when it opens, rewritten from the
// incident's Report as its timeline grows, and carrying the postmortem
// once it closes. The document is a GitHub issue (Config.Repo) or a
// Markdown file (Config.Dir, the default for local runs).
//
// Render turns a workflows.Report into the document's title and Markdown
// body from the embedded template templates/document.md.tmpl; it is pure
// (no clock, no I/O), so a retried or repeated sync writes the same bytes.
// Sync is the activity (workflows.DocumentActivityName) that writes it.
package incidentdoc

import (
	_ "embed"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/datasev/datasev/activities/support/mdtext"

	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/workflows"
)

// MaxIssueBody is the longest body GitHub accepts for an issue, in
// characters.
const MaxIssueBody = 65536

// maxTitle is the longest title Render returns, in characters (GitHub's
// issue title limit is 256).
const maxTitle = 256

//go:embed templates/document.md.tmpl
var documentTemplate string

var tmpl = template.Must(template.New("document.md.tmpl").Funcs(template.FuncMap{
	"inline":      mdtext.Inline,
	"cell":        mdtext.Cell,
	"code":        mdtext.Code,
	"para":        block,
	"link":        mdtext.Link,
	"when":        when,
	"either":      or,
	"decision":    postmortem.Decision,
	"attribution": mdtext.Attribution,
	"join": func(names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = mdtext.Inline(n)
		}
		return strings.Join(out, ", ")
	},
}).Parse(documentTemplate))

// view is what the template renders.
type view struct {
	R       workflows.Report
	Heading string
	Times   []timeRow
	// Pending and Decided split the approvals, in request order.
	Pending, Decided []workflows.Approval
	// Timeline is the shown part of the timeline (the newest entries);
	// Total counts all of it and Omitted the oldest left out.
	Timeline       []workflows.TimelineEntry
	Total, Omitted int
	// Limit is the character limit that made rows or the postmortem be
	// left out.
	Limit int
	// Closed shows the Postmortem (headings demoted); PostmortemCut says
	// it was cut short.
	Closed        bool
	Postmortem    string
	PostmortemCut bool
}

type timeRow struct{ Label, Value string }

// Title is the document's title: "[SEV2] <title> (<state>)", on one line,
// at most 256 characters.
func Title(r workflows.Report) string {
	sev := string(r.Severity)
	if sev == "" {
		sev = "SEV?"
	}
	t := fmt.Sprintf("[%s] %s (%s)", mdtext.OneLine(sev), mdtext.OneLine(or(r.Title, r.ID, "untitled incident")), mdtext.OneLine(or(string(r.State), "unknown")))
	if utf8.RuneCountInString(t) > maxTitle {
		t = string([]rune(t)[:maxTitle-1]) + "…"
	}
	return t
}

// Render returns the incident document of r: its title and its whole
// Markdown body. It depends only on r. The body has one H1 (the title);
// once r is closed it ends with the postmortem (postmortem.Render) under
// a "Postmortem" heading, its headings demoted one level.
func Render(r workflows.Report) (title, body string, err error) {
	return RenderMax(r, 0)
}

// RenderMax is Render with the body kept to at most limit characters
// (0: no limit), for stores that cap it (GitHub: MaxIssueBody less room
// for the marker). The header, approvals, findings and closure inputs stay
// whole; the oldest timeline rows go first, the document saying how many;
// then, once closed, the end of the embedded postmortem; last, should the
// rest still not fit, the body is cut at limit with a note.
func RenderMax(r workflows.Report, limit int) (title, body string, err error) {
	v := newView(r)
	v.Limit = limit
	title = Title(r)
	full, err := execute(v)
	if err != nil || limit <= 0 || utf8.RuneCountInString(full) <= limit {
		return title, full, err
	}
	// Leave out the fewest oldest rows that make it fit: each row's
	// length, from the template's "row", says how many must go to cover
	// the overflow; rendering again measures the note saying so.
	rows := v.Timeline
	var b strings.Builder
	omit, s := 0, full
	for {
		over := utf8.RuneCountInString(s) - limit
		if over <= 0 {
			return title, s, nil
		}
		if omit == len(rows) {
			break
		}
		for cut := 0; omit < len(rows) && cut < over; omit++ {
			b.Reset()
			if err := tmpl.ExecuteTemplate(&b, "row", rows[omit]); err != nil {
				return "", "", fmt.Errorf("incident document of %s: render: %w", r.ID, err)
			}
			cut += utf8.RuneCountInString(b.String())
		}
		v.Timeline, v.Omitted = rows[omit:], omit
		if s, err = execute(v); err != nil {
			return "", "", err
		}
	}
	// No row left and still too long: cut the postmortem short.
	if v.Closed && v.Postmortem != "" {
		pm := v.Postmortem
		v.Postmortem, v.PostmortemCut = "", true
		bare, err := execute(v)
		if err != nil {
			return "", "", err
		}
		if room := limit - utf8.RuneCountInString(bare); room > 0 {
			cut := []rune(pm)
			if len(cut) > room {
				cut = cut[:room]
			}
			part := string(cut)
			if i := strings.LastIndex(part, "\n"); i >= 0 {
				part = part[:i+1]
			}
			v.Postmortem = part
			s, err := execute(v)
			if err != nil {
				return "", "", err
			}
			if utf8.RuneCountInString(s) <= limit {
				return title, s, nil
			}
		}
		v.Postmortem = ""
	}
	// Last resort: the closure inputs or approvals alone are too long.
	s, err = execute(v)
	if err != nil {
		return "", "", err
	}
	note := fmt.Sprintf("\n\n> **This document is cut short here** to keep it under %d characters.\n", limit)
	keep := limit - utf8.RuneCountInString(note)
	if keep < 0 {
		return title, string([]rune(note)[:limit]), nil
	}
	return title, string([]rune(s)[:keep]) + note, nil
}

func execute(v view) (string, error) {
	var b strings.Builder
	b.Grow(4096 + 200*len(v.Timeline) + len(v.Postmortem))
	if err := tmpl.Execute(&b, v); err != nil {
		return "", fmt.Errorf("incident document of %s: render: %w", v.R.ID, err)
	}
	// One newline at the end, whatever the template's last section.
	return strings.TrimRight(b.String(), "\n") + "\n", nil
}

func newView(r workflows.Report) view {
	v := view{R: r, Heading: Title(r), Timeline: r.Timeline, Total: len(r.Timeline), Closed: r.State == workflows.Closed}
	for _, ap := range r.Approvals {
		if ap.Status == workflows.ApprovalPending {
			v.Pending = append(v.Pending, ap)
		} else {
			v.Decided = append(v.Decided, ap)
		}
	}
	at := func(label string, t time.Time, note string) {
		val := "not yet"
		if !t.IsZero() {
			val = t.UTC().Format(time.DateTime)
			if !r.TriggeredAt.IsZero() && label != "Triggered" {
				val += " (" + postmortem.FormatDuration(t.Sub(r.TriggeredAt)) + " after the trigger)"
			}
		} else if note != "" {
			val = note
		}
		v.Times = append(v.Times, timeRow{label, val})
	}
	at("Triggered", r.TriggeredAt, "unknown")
	at("Acknowledged", r.AckedAt, "")
	at("Mitigated", r.MitigatedAt, "")
	at("Resolved", r.ResolvedAt, "")
	at("Closed", r.ClosedAt, "")
	if v.Closed {
		v.Postmortem = demote(postmortem.Render(r))
	}
	return v
}

// demote moves every ATX heading of md down one level (# → ##), outside
// fenced code blocks; a level-6 heading becomes bold text.
func demote(md string) string {
	lines := strings.SplitAfter(md, "\n")
	fence := ""
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if len(l)-len(trimmed) > 3 {
			continue
		}
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		level := len(trimmed) - len(strings.TrimLeft(trimmed, "#"))
		if level == 0 || level > 6 {
			continue
		}
		rest := trimmed[level:]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\n' {
			continue
		}
		if level == 6 {
			text := strings.TrimSpace(rest)
			nl := ""
			if strings.HasSuffix(l, "\n") {
				nl = "\n"
			}
			lines[i] = "**" + text + "**" + nl
			continue
		}
		lines[i] = "#" + trimmed
	}
	return strings.Join(lines, "")
}

// ---- escaping ----

// block is mdtext.Block that also escapes a '#' that would start a
// heading, so the document keeps one H1.
func block(s string) string {
	lines := strings.Split(mdtext.Block(strings.TrimSpace(s)), "\n")
	for i, l := range lines {
		if t := strings.TrimLeft(l, " \t"); strings.HasPrefix(t, "#") {
			lines[i] = `\` + t
		}
	}
	return strings.Join(lines, "\n")
}

// when is a time as "2006-01-02 15:04:05" in UTC, or "" when zero.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateTime)
}

// or is the first non-blank value, or "".
func or(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
