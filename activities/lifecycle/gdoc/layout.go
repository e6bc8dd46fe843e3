package gdoc

import (
	"strconv"
	"strings"

	"google.golang.org/api/docs/v1"

	"github.com/datasev/datasev/workflows"
)

// para is one paragraph of the document's body: its text (the text runs'
// content, newline included) and its [start, end) indexes.
type para struct {
	text       string
	start, end int64
}

// layout is what the store reads from a document: its paragraphs and
// where its sections are (-1: absent).
type layout struct {
	revision string
	paras    []para
	// bodyEnd is the body's end index (the last paragraph's end).
	bodyEnd                      int64
	header, timeline, postmortem int
	// full is the whole body text (for placeholders).
	full string
}

// readLayout reads d's body. Structural elements other than paragraphs
// (tables, tables of contents, section breaks) are skipped: the sections
// hold paragraphs only.
func readLayout(d *docs.Document) layout {
	l := layout{revision: d.RevisionId, header: -1, timeline: -1, postmortem: -1}
	var all strings.Builder
	if d.Body != nil {
		for _, el := range d.Body.Content {
			if el.EndIndex > l.bodyEnd {
				l.bodyEnd = el.EndIndex
			}
			if el.Paragraph == nil {
				continue
			}
			var b strings.Builder
			for _, pe := range el.Paragraph.Elements {
				if pe.TextRun != nil {
					b.WriteString(pe.TextRun.Content)
				}
			}
			p := para{text: b.String(), start: el.StartIndex, end: el.EndIndex}
			all.WriteString(p.text)
			n := len(l.paras)
			switch strings.TrimSpace(p.text) {
			case HeaderHeading:
				if l.header < 0 {
					l.header = n
				}
			case TimelineHeading:
				if l.timeline < 0 {
					l.timeline = n
				}
			case PostmortemHeading:
				if l.postmortem < 0 {
					l.postmortem = n
				}
			}
			l.paras = append(l.paras, p)
		}
	}
	l.full = all.String()
	return l
}

// ordered reports whether the sections are present, each once read, in
// order header < timeline (< postmortem when present).
func (l layout) ordered() bool {
	return l.header >= 0 && l.timeline > l.header && (l.postmortem < 0 || l.postmortem > l.timeline)
}

// section is the paragraphs after heading h up to the next heading (or
// the end), as [from, to) paragraph numbers.
func (l layout) section(h int) (from, to int) {
	from, to = h+1, len(l.paras)
	for _, other := range []int{l.header, l.timeline, l.postmortem} {
		if other > h && other < to {
			to = other
		}
	}
	return from, to
}

func (l layout) text(from, to int) string {
	var b strings.Builder
	for _, p := range l.paras[from:to] {
		b.WriteString(p.text)
	}
	return b.String()
}

// written is the highest entry number in the timeline section (0: none).
// The highest, not a count: an entry a person deleted is not written
// again, and a person's own paragraph in the section counts for nothing.
func (l layout) written() int {
	from, to := l.section(l.timeline)
	high := 0
	for _, p := range l.paras[from:to] {
		if m := seqRe.FindStringSubmatch(p.text); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > high {
				high = n
			}
		}
	}
	return high
}

// insertAt inserts text at index and gives the paragraphs it creates the
// normal style (an inserted paragraph takes the style of the one it is
// inserted into, a heading here). text starts or ends with a newline.
func insertAt(index int64, text string, styleFrom int64) []*docs.Request {
	reqs := []*docs.Request{{InsertText: &docs.InsertTextRequest{Text: text, Location: &docs.Location{Index: index}}}}
	end := index + units(text)
	if styleFrom < end {
		reqs = append(reqs, &docs.Request{UpdateParagraphStyle: &docs.UpdateParagraphStyleRequest{
			Range:          &docs.Range{StartIndex: styleFrom, EndIndex: end},
			ParagraphStyle: &docs.ParagraphStyle{NamedStyleType: "NORMAL_TEXT"},
			Fields:         "namedStyleType",
		}})
	}
	return reqs
}

// structure returns the requests that add the missing section headings
// (and, for a closed incident, the postmortem's) at the end of the body,
// as headings, and replace the template's placeholders; nil when there is
// nothing to do. Run alone, before plan.
func structure(l layout, r workflows.Report) []*docs.Request {
	var reqs []*docs.Request
	for _, ph := range []struct{ from, to string }{{PlaceholderID, r.ID}, {PlaceholderTitle, r.Title}} {
		if strings.Contains(l.full, ph.from) {
			reqs = append(reqs, &docs.Request{ReplaceAllText: &docs.ReplaceAllTextRequest{
				ContainsText: &docs.SubstringMatchCriteria{Text: ph.from, MatchCase: true},
				ReplaceText:  clean(ph.to, 500), ForceSendFields: []string{"ReplaceText"},
			}})
		}
	}
	if len(reqs) > 0 {
		return reqs
	}
	var missing []string
	switch {
	case l.header < 0 && l.timeline < 0:
		missing = []string{HeaderHeading, TimelineHeading}
	case l.header < 0 || l.timeline < 0 || !l.ordered():
		// A heading out of place (a person moved or deleted one): leave
		// the document alone rather than guess.
		if l.header >= 0 && l.timeline < 0 && l.postmortem < 0 {
			missing = []string{TimelineHeading}
		} else {
			return nil
		}
	}
	if r.State == workflows.Closed && l.postmortem < 0 {
		missing = append(missing, PostmortemHeading)
	}
	if len(missing) == 0 {
		return nil
	}
	at := l.bodyEnd - 1 // before the body's final newline
	text := "\n" + strings.Join(missing, "\n")
	reqs = append(reqs, &docs.Request{InsertText: &docs.InsertTextRequest{Text: text, Location: &docs.Location{Index: at}}})
	pos := at + 1
	for _, h := range missing {
		reqs = append(reqs, &docs.Request{UpdateParagraphStyle: &docs.UpdateParagraphStyleRequest{
			Range:          &docs.Range{StartIndex: pos, EndIndex: pos + units(h)},
			ParagraphStyle: &docs.ParagraphStyle{NamedStyleType: "HEADING_2"},
			Fields:         "namedStyleType",
		}})
		pos += units(h) + 1
	}
	return reqs
}

// plan returns the requests that bring the document's sections up to r
// (nil: up to date) and how many timeline entries they append. Requests
// go from the end of the document backwards, so each one's indexes,
// computed from l, still hold when it applies: the postmortem section
// (last), then the timeline's new entries (before the postmortem
// heading, or at the end), then the header.
func plan(l layout, r workflows.Report) (reqs []*docs.Request, appended int) {
	if !l.ordered() {
		return nil, 0
	}
	last := l.paras[len(l.paras)-1]
	// Postmortem.
	if l.postmortem >= 0 && r.State == workflows.Closed {
		from, to := l.section(l.postmortem)
		want := strings.Join(PostmortemLines(r), "\n") + "\n"
		if have := l.text(from, to); have != want {
			if from < to {
				// Empty the section down to the body's final newline, then
				// write into that last paragraph.
				start := l.paras[from].start
				if start < last.end-1 {
					reqs = append(reqs, &docs.Request{DeleteContentRange: &docs.DeleteContentRangeRequest{
						Range: &docs.Range{StartIndex: start, EndIndex: last.end - 1}}})
				}
				reqs = append(reqs, insertAt(start, strings.TrimSuffix(want, "\n"), start)...)
			} else {
				at := last.end - 1
				reqs = append(reqs, insertAt(at, "\n"+strings.TrimSuffix(want, "\n"), at+1)...)
			}
		}
	}
	// Timeline.
	done := l.written()
	if done < len(r.Timeline) {
		n := min(chunk, len(r.Timeline)-done)
		lines := make([]string, n)
		for i := range n {
			lines[i] = EntryLine(done+i+1, r.Timeline[done+i])
		}
		if l.postmortem >= 0 {
			at := l.paras[l.postmortem].start
			reqs = append(reqs, insertAt(at, strings.Join(lines, "\n")+"\n", at)...)
		} else {
			at := last.end - 1
			reqs = append(reqs, insertAt(at, "\n"+strings.Join(lines, "\n"), at+1)...)
		}
		appended = n
	}
	// Header.
	from, to := l.section(l.header)
	want := strings.Join(HeaderLines(r), "\n") + "\n"
	if have := l.text(from, to); have != want {
		start := l.paras[l.timeline].start
		if from < to {
			start = l.paras[from].start
			reqs = append(reqs, &docs.Request{DeleteContentRange: &docs.DeleteContentRangeRequest{
				Range: &docs.Range{StartIndex: start, EndIndex: l.paras[l.timeline].start}}})
		}
		reqs = append(reqs, insertAt(start, want, start)...)
	}
	return reqs, appended
}
