package slackact

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// SectionLimit is Slack's limit on the text of a section block, in
// characters. Mrkdwn splits are measured in UTF-16 code units, which is at
// least the character count, so a split never exceeds it.
const SectionLimit = 3000

// Mrkdwn converts the Markdown subset datasev writes (runbook findings,
// summaries, handoffs) to Slack's mrkdwn:
//
//   - **bold** and __bold__ become *bold*; *italic* and _italic_ become
//     _italic_ (an underscore inside a word, as in orders_daily, stays);
//     ~~strike~~ becomes ~strike~;
//   - [text](url) becomes <url|text> for http, https and mailto URLs (when
//     the text itself looks like a URL or a host, the real URL is shown
//     beside it: a link cannot pass for another); <https://…> autolinks
//     pass through and bare http(s) URLs become autolinks;
//   - `code` and fenced code blocks stay (the fence's language is dropped);
//   - headings become bold lines, "-", "*" and "+" list items become "•";
//   - tables (lines starting with "|") become code blocks with aligned
//     columns, since Slack has no tables;
//   - &, < and > elsewhere are escaped as Slack requires, and so are
//     Slack's own references written in the text: <!channel>, <!here>,
//     <!everyone>, <@U…>, <!subteam^…>, <#C…>, <!date^…> and
//     <url|label> links show as typed and notify no one.
//
// The text is untrusted (alert labels and annotations reach it through
// runbook findings): datasev's own mentions are added outside it, by
// compose. Section text objects are sent verbatim (see mrkdwnText), so
// Slack does not parse a plain "@here" in it either.
func Mrkdwn(md string) string {
	md = strings.ReplaceAll(md, "\r\n", "\n")
	lines := strings.Split(md, "\n")
	var out []string
	inFence := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inFence = !inFence
			out = append(out, "```")
			continue
		}
		if inFence {
			out = append(out, escape(line))
			continue
		}
		if strings.HasPrefix(trimmed, "|") {
			j := i
			for j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "|") {
				j++
			}
			out = append(out, table(lines[i:j])...)
			i = j - 1
			continue
		}
		out = append(out, block(line))
	}
	if inFence {
		out = append(out, "```")
	}
	return strings.Join(out, "\n")
}

var (
	headingRe = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	bulletRe  = regexp.MustCompile(`^(\s*)[-*+]\s+(.*)$`)
	ruleRe    = regexp.MustCompile(`^\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$`)
	quoteRe   = regexp.MustCompile(`^\s{0,3}>\s?(.*)$`)
)

// block converts one line outside code and tables.
func block(line string) string {
	if m := headingRe.FindStringSubmatch(line); m != nil {
		t := strings.NewReplacer("**", "", "__", "").Replace(m[1])
		if strings.TrimSpace(t) == "" {
			return ""
		}
		return "*" + inline(t) + "*"
	}
	if ruleRe.MatchString(line) {
		return "──────────"
	}
	if m := bulletRe.FindStringSubmatch(line); m != nil {
		return m[1] + "• " + inline(m[2])
	}
	if m := quoteRe.FindStringSubmatch(line); m != nil {
		return ">" + inline(m[1])
	}
	return inline(line)
}

// table renders Markdown table lines as a code block of aligned columns.
func table(lines []string) []string {
	var rows [][]string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		l = strings.TrimPrefix(l, "|")
		l = strings.TrimSuffix(l, "|")
		cells := strings.Split(l, "|")
		sep := true
		for i, c := range cells {
			c = strings.TrimSpace(c)
			cells[i] = strings.ReplaceAll(c, "`", "")
			if strings.Trim(c, ":-") != "" || !strings.Contains(c, "-") {
				sep = false
			}
		}
		if !sep {
			rows = append(rows, cells)
		}
	}
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	out := []string{"```"}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(escape(c))
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return append(out, "```")
}

// Escape makes text from people and systems inert in Slack text: &, < and
// > become &amp;, &lt; and &gt;, so a <!channel>, <@U…> or <url|label>
// in it shows as typed and notifies no one. For text sent outside the
// backend's messages (the Slack app's replies).
func Escape(s string) string { return escape(s) }

// escape escapes the three characters Slack reserves.
func escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

var (
	linkRe    = regexp.MustCompile(`^\[([^\]\n]+)\]\(([^()\s]+)\)`)
	angleRe   = regexp.MustCompile(`^<(?:https?|mailto):[^<>\s|]+>`)
	bareURLRe = regexp.MustCompile(`^https?://[^\s<>|"'` + "`" + `]+`)
	urlEscape = strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C")
	// looksLikeURL matches link text that names a place: a scheme, a
	// "www." host or a dotted host name.
	looksLikeURL = regexp.MustCompile(`(?i)^\s*(?:[a-z][a-z0-9+.-]*://|mailto:|www\.|[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/:?#]|\s*$))`)
)

// linkTarget reports whether a Markdown link's URL may become a Slack
// link: http, https and mailto only.
func linkTarget(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "mailto:")
}

// link renders a Markdown link. Text that looks like a URL or a host but
// is not the target shows the target beside it, so "[https://good](https://evil)"
// cannot pass for a link to good.
func link(text, u string) string {
	if !linkTarget(u) {
		return escape("[" + text + "](" + u + ")")
	}
	target := urlEscape.Replace(u)
	if looksLikeURL.MatchString(text) && strings.TrimSpace(text) != u {
		return escape(text) + " (<" + target + ">)"
	}
	label := strings.NewReplacer("|", "¦", "*", "", "`", "").Replace(text)
	return "<" + target + "|" + escape(label) + ">"
}

// bareURL returns the http(s) URL starting s, without the punctuation that
// ends a sentence, or "".
func bareURL(s string) string {
	u := bareURLRe.FindString(s)
	u = strings.TrimRight(u, ".,;:!?)]}*_~")
	if strings.HasSuffix(u, "/") && strings.Count(u, "/") == 2 {
		return "" // a scheme and nothing else
	}
	return u
}

// inline converts a line's inline Markdown.
func inline(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '`':
			if j := strings.IndexByte(s[i+1:], '`'); j > 0 {
				b.WriteString("`" + escape(s[i+1:i+1+j]) + "`")
				i += j + 2
				continue
			}
		case '[':
			if m := linkRe.FindStringSubmatch(s[i:]); m != nil {
				b.WriteString(link(m[1], m[2]))
				i += len(m[0])
				continue
			}
		case '<':
			if m := angleRe.FindString(s[i:]); m != "" {
				b.WriteString("<" + urlEscape.Replace(m[1:len(m)-1]) + ">")
				i += len(m)
				continue
			}
		case 'h':
			// Not after '<': an escaped <http://…|label> stays text.
			if i == 0 || !isWord(lastRune(s[:i])) && s[i-1] != '<' {
				if u := bareURL(s[i:]); u != "" {
					b.WriteString("<" + urlEscape.Replace(u) + ">")
					i += len(u)
					continue
				}
			}
		case '*', '_', '~':
			if n, out := emphasis(s, i); n > 0 {
				b.WriteString(out)
				i += n
				continue
			}
		}
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
		i++
	}
	return b.String()
}

// emphasis converts the emphasis starting at s[i], returning how many
// bytes it consumed (0 when s[i] does not open one).
func emphasis(s string, i int) (int, string) {
	c := s[i]
	double := i+1 < len(s) && s[i+1] == c
	if c == '~' && !double {
		return 0, ""
	}
	delim := s[i : i+1]
	if double {
		delim = s[i : i+2]
	}
	// An opener follows a non-word character and precedes a non-space.
	if i > 0 && isWord(lastRune(s[:i])) && c == '_' {
		return 0, ""
	}
	start := i + len(delim)
	if start >= len(s) || s[start] == ' ' || s[start] == c {
		return 0, ""
	}
	// The closer: the next delimiter run of the same length that follows a
	// non-space and (for _) is not followed by a word character.
	for j := start + 1; j+len(delim) <= len(s); j++ {
		if s[j:j+len(delim)] != delim || s[j-1] == ' ' {
			continue
		}
		end := j + len(delim)
		if end < len(s) && s[end] == c {
			continue
		}
		if c == '_' && end < len(s) && isWord(firstRune(s[end:])) {
			continue
		}
		inner := inline(s[start:j])
		if strings.TrimSpace(inner) == "" {
			return 0, ""
		}
		switch {
		case c == '~':
			return end - i, "~" + inner + "~"
		case double:
			return end - i, "*" + inner + "*"
		default:
			return end - i, "_" + inner + "_"
		}
	}
	return 0, ""
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func lastRune(s string) rune { r, _ := utf8.DecodeLastRuneInString(s); return r }

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }

// textLen is the length Slack measures, in UTF-16 code units.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += runeLen16(r)
	}
	return n
}

func runeLen16(r rune) int {
	if w := utf16.RuneLen(r); w > 0 {
		return w
	}
	return 1
}

// splitMrkdwn cuts mrkdwn into pieces of at most limit characters (by
// textLen), at line breaks where it can, keeping code blocks closed within
// each piece: a fence open at a cut is closed and reopened.
func splitMrkdwn(s string, limit int) []string {
	if textLen(s) <= limit {
		return []string{s}
	}
	limit = max(limit, 16)
	const fence = "```"
	var (
		pieces  []string
		cur     strings.Builder
		curLen  int
		inFence bool
	)
	flush := func() {
		if curLen == 0 || (inFence && cur.String() == fence) {
			return
		}
		text := cur.String()
		if inFence {
			text += "\n" + fence
		}
		pieces = append(pieces, text)
		cur.Reset()
		curLen = 0
		if inFence {
			cur.WriteString(fence)
			curLen = len(fence)
		}
	}
	add := func(line string) {
		if curLen > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(line)
		curLen += textLen(line)
	}
	budget := limit - len(fence) - 1 // room to close an open fence
	for _, line := range strings.Split(s, "\n") {
		ll := textLen(line)
		if curLen > 0 && curLen+1+ll > budget {
			flush()
		}
		for curLen+1+ll > budget {
			// One line longer than a piece: cut it at a rune boundary.
			room := budget - curLen - 1
			head, tail := cutAt(line, room)
			if head == "" { // not even one rune fits beside the reopened fence
				flush()
				head, tail = cutAt(line, budget-curLen-1)
			}
			add(head)
			flush()
			line, ll = tail, textLen(tail)
		}
		add(line)
		if line == fence {
			inFence = !inFence
		}
	}
	if curLen > 0 {
		if inFence {
			cur.WriteString("\n" + fence)
		}
		pieces = append(pieces, cur.String())
	}
	return pieces
}

// cutAt splits s after at most n characters (by textLen), at a rune
// boundary, preferring the last space.
func cutAt(s string, n int) (string, string) {
	used, end := 0, 0
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if used+runeLen16(r) > n {
			break
		}
		used += runeLen16(r)
		end += size
	}
	if sp := strings.LastIndexByte(s[:end], ' '); sp > end/2 {
		end = sp + 1
	}
	return s[:end], s[end:]
}
