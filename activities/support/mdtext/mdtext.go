// Package mdtext makes text from people and systems safe to put in the
// Markdown datasev writes (postmortems, incident documents): one line where
// a line is wanted, table cells that cannot break the table, code spans
// that cannot be closed early, and no raw HTML — a note cannot open a tag
// or a comment that would pass for one of datasev's hidden markers. Truncate
// shortens such text to a size limit without splitting a character.
package mdtext

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Replacers are built once: building one costs far more than using it.
var (
	htmlEscaper = strings.NewReplacer("<", "&lt;", ">", "&gt;")
	cellEscaper = strings.NewReplacer(
		`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;",
		"\r\n", "<br>", "\n", "<br>", "\r", "<br>",
	)
)

// OneLine folds s's white space, newlines included, to single spaces.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Inline makes s safe on one Markdown line: one line, and angle brackets
// escaped.
func Inline(s string) string { return htmlEscaper.Replace(OneLine(s)) }

// Cell makes s safe in one table cell: backslashes and pipes escaped,
// newlines as <br>, angle brackets escaped.
func Cell(s string) string { return cellEscaper.Replace(strings.TrimSpace(s)) }

// Block keeps s's paragraphs and line breaks (CRLF and CR become LF) but
// escapes angle brackets, so it cannot open HTML.
func Block(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	return htmlEscaper.Replace(s)
}

// Code wraps s, on one line, in a code span whose fence is longer than any
// run of backticks in s; "`-`" when s is blank.
func Code(s string) string {
	s = OneLine(s)
	if s == "" {
		return "`-`"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// Link is an autolink (<https://…>) for an http(s) URL without spaces or
// brackets, otherwise s as Inline text.
func Link(s string) string {
	s = strings.TrimSpace(s)
	if (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) && !strings.ContainsAny(s, " <>\n\r\t") {
		return "<" + s + ">"
	}
	return Inline(s)
}

// Attribution is " _(by alice, 2026-03-02 15:20 UTC)_", either part alone,
// or "" when both are empty.
func Attribution(by string, at time.Time) string {
	var p []string
	if by != "" {
		p = append(p, "by "+Inline(by))
	}
	if !at.IsZero() {
		p = append(p, at.UTC().Format("2006-01-02 15:04")+" UTC")
	}
	if len(p) == 0 {
		return ""
	}
	return " _(" + strings.Join(p, ", ") + ")_"
}

// Truncate shortens s to at most n bytes on a rune boundary, marking the
// cut with "…"; s is returned as it is when it fits.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
