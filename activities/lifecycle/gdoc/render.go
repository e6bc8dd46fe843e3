package gdoc

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/workflows"
)

// The section headings the store keeps in the document, each a paragraph
// of its own. A template may hold them where its author wants the sections
// (each once, in this order); those missing are added at the end.
const (
	// HeaderHeading starts the header: the incident's current state,
	// rewritten whole whenever it changes.
	HeaderHeading = "Status (kept current by datasev)"
	// TimelineHeading starts the timeline: one paragraph per entry,
	// "#<n> ...", appended and never rewritten.
	TimelineHeading = "Timeline (appended by datasev)"
	// PostmortemHeading starts the postmortem, written at closure; it runs
	// to the end of the document.
	PostmortemHeading = "Postmortem (written by datasev at closure)"
)

// Template placeholders replaced (documents.batchUpdate replaceAllText)
// wherever the template holds them, once: the incident's ID and title.
const (
	PlaceholderID    = "{{incident_id}}"
	PlaceholderTitle = "{{incident_title}}"
)

// Limits on what one document holds.
const (
	// maxLine is the longest paragraph written, in characters; longer
	// entries are cut with "…".
	maxLine = 2000
	// maxHeader bounds the header (findings and approvals are many at
	// worst), in characters.
	maxHeader = 20000
	// maxPostmortem bounds the postmortem section, in characters.
	maxPostmortem = 200000
	// chunk is the most timeline entries one batchUpdate appends.
	chunk = 100
)

// seqRe finds an entry's sequence number at the start of a timeline
// paragraph.
var seqRe = regexp.MustCompile(`^#([0-9]{1,9})\b`)

// clean makes s one paragraph's worth of text the Docs API keeps as is:
// line and paragraph separators and tabs become spaces, the control
// characters and private use code points the API strips from inserted text
// are dropped (else the document would never read back as written), and
// the result is cut to max characters.
func clean(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r == '\v' || r == '\f' || r == 0x2028 || r == 0x2029 || r == 0x85:
			return ' '
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || (r >= 0xE000 && r <= 0xF8FF):
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

// units is the length of s in UTF-16 code units, the Docs API's index
// unit.
func units(s string) int64 {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return int64(n)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "not yet"
	}
	return t.UTC().Format(time.DateTime) + " UTC"
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// HeaderLines are the header's paragraphs for r: what, how bad, who, when,
// what waits on a decision, what was found. Depends only on r.
func HeaderLines(r workflows.Report) []string {
	lines := []string{
		incidentdoc.Title(r),
		fmt.Sprintf("Incident %s · severity %s · state %s · alerts %d", r.ID, dash(string(r.Severity)), dash(string(r.State)), r.AlertCount),
	}
	if r.Service != "" || r.Dataset != "" {
		lines = append(lines, fmt.Sprintf("Service %s · dataset %s", dash(r.Service), dash(r.Dataset)))
	}
	if r.Runbook != "" {
		rb := "Runbook " + r.Runbook
		if r.RunbookStatus != "" {
			rb += " (" + r.RunbookStatus + ")"
		}
		lines = append(lines, rb)
	}
	lines = append(lines, fmt.Sprintf("Commander %s · Scribe %s · Liaison %s · SMEs %s",
		dash(r.Roles.Commander), dash(r.Roles.Scribe), dash(r.Roles.Liaison), dash(strings.Join(r.Roles.SMEs, ", "))))
	lines = append(lines, fmt.Sprintf("Triggered %s · acknowledged %s · mitigated %s · resolved %s · closed %s",
		stamp(r.TriggeredAt), stamp(r.AckedAt), stamp(r.MitigatedAt), stamp(r.ResolvedAt), stamp(r.ClosedAt)))
	for _, ap := range r.Approvals {
		if ap.Status == workflows.ApprovalPending {
			lines = append(lines, fmt.Sprintf("Waiting for the %s's decision: %s (%s, asked by %s)", dash(string(ap.Approver)), dash(ap.Action), ap.ID, dash(ap.RequestedBy)))
		}
	}
	for _, f := range r.Findings {
		lines = append(lines, "Finding: "+f)
	}
	out := make([]string, 0, len(lines))
	total := 0
	for i, l := range lines {
		l = clean(l, maxLine)
		if l == "" {
			l = "—"
		}
		if total+len(l) > maxHeader {
			out = append(out, fmt.Sprintf("… %d more lines left out to keep the header short", len(lines)-i))
			break
		}
		total += len(l)
		out = append(out, l)
	}
	return out
}

// EntryLine is timeline entry seq (1-based, its place in r.Timeline) as
// one paragraph, starting "#<seq> " so that the document itself says what
// was written.
func EntryLine(seq int, e workflows.TimelineEntry) string {
	who := dash(e.Who)
	var via []string
	if e.Via != "" {
		via = append(via, "via "+e.Via)
	}
	if e.Verified != "" {
		via = append(via, e.Verified)
	}
	if len(via) > 0 {
		who += " (" + strings.Join(via, ", ") + ")"
	}
	s := "#" + strconv.Itoa(seq) + "  " + stamp(e.At) + "  " + who + "  [" + dash(e.Kind) + "] " + dash(e.What)
	if strings.TrimSpace(e.Why) != "" {
		s += " — " + e.Why
	}
	return clean(s, maxLine)
}

// PostmortemLines is r's postmortem (postmortem.Render, Markdown kept as
// text), one paragraph per line, bounded.
func PostmortemLines(r workflows.Report) []string {
	md := strings.TrimRight(postmortem.Render(r), "\n")
	var out []string
	total := 0
	for _, l := range strings.Split(md, "\n") {
		l = clean(l, maxLine)
		if total+len(l) > maxPostmortem {
			out = append(out, "… the rest of the postmortem is left out here; the full text is in the postmortem file")
			break
		}
		total += len(l) + 1
		out = append(out, l)
	}
	return out
}
