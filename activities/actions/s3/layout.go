package s3act

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A partition layout is the directories below a prefix, one per level, with
// date fields: "dt=YYYY-MM-DD/hr=HH", "year=YYYY/month=MM/day=DD",
// "YYYY/MM/DD/HH", "dt=YYYYMMDD". Fields are fixed width and zero padded;
// everything else in a level is literal text. A partition's value is read
// as a UTC time.

// unit is a date field.
type unit int

const (
	year unit = iota
	month
	day
	hour
	minute
	numUnits
)

var units = [numUnits]struct {
	token string
	width int
	min   int
	max   int
	name  string
}{
	year:   {"YYYY", 4, 1, 9999, "year"},
	month:  {"MM", 2, 1, 12, "month"},
	day:    {"DD", 2, 1, 31, "day"},
	hour:   {"HH", 2, 0, 23, "hour"},
	minute: {"mm", 2, 0, 59, "minute"},
}

// part is literal text or a field.
type part struct {
	lit   string
	field unit
	isLit bool
}

// layout is a parsed partition layout.
type layout struct {
	text   string
	levels [][]part
	// has marks the fields present.
	has [numUnits]bool
	// finest is the smallest field: a partition covers one of it.
	finest unit
	// sortable is true when the fields appear from year down to the finest
	// in order, so that the values' byte order is their time order.
	sortable bool
}

// fields are a partition's date fields, as far as read.
type fields [numUnits]int

func parseLayout(s string) (layout, error) {
	l := layout{text: strings.Trim(strings.TrimSpace(s), "/")}
	if l.text == "" {
		return l, fmt.Errorf("layout is empty; write the partition directories with date fields, e.g. dt=YYYY-MM-DD/hr=HH")
	}
	var order []unit
	for _, seg := range strings.Split(l.text, "/") {
		if seg == "" {
			return l, fmt.Errorf("layout %q has an empty level", s)
		}
		var parts []part
		nFields := 0
		for rest := seg; rest != ""; {
			u, ok := tokenAt(rest)
			if !ok {
				if n := len(parts); n > 0 && parts[n-1].isLit {
					parts[n-1].lit += rest[:1]
				} else {
					parts = append(parts, part{lit: rest[:1], isLit: true})
				}
				rest = rest[1:]
				continue
			}
			if l.has[u] {
				return l, fmt.Errorf("layout %q has %s twice", s, units[u].token)
			}
			l.has[u] = true
			order = append(order, u)
			parts = append(parts, part{field: u})
			nFields++
			rest = rest[len(units[u].token):]
		}
		if nFields == 0 {
			return l, fmt.Errorf("layout level %q has no date field (YYYY, MM, DD, HH, mm); fixed directories belong in prefix", seg)
		}
		l.levels = append(l.levels, parts)
	}
	if !l.has[year] {
		return l, fmt.Errorf("layout %q has no year (YYYY)", s)
	}
	for u := month; u < numUnits; u++ {
		if l.has[u] && !l.has[u-1] {
			return l, fmt.Errorf("layout %q has %s without %s", s, units[u].token, units[u-1].token)
		}
	}
	for u := year; u < numUnits; u++ {
		if l.has[u] {
			l.finest = u
		}
	}
	l.sortable = true
	for i, u := range order {
		if u != unit(i) {
			l.sortable = false
		}
	}
	return l, nil
}

// tokenAt reports the field token s starts with.
func tokenAt(s string) (unit, bool) {
	for u := year; u < numUnits; u++ {
		if strings.HasPrefix(s, units[u].token) {
			return u, true
		}
	}
	return 0, false
}

// parseLevel reads level i's value v into f (a copy of the fields read so
// far). It fails when v does not fit the layout.
func (l layout) parseLevel(i int, v string, f fields) (fields, bool) {
	rest := v
	for _, p := range l.levels[i] {
		if p.isLit {
			var ok bool
			if rest, ok = strings.CutPrefix(rest, p.lit); !ok {
				return f, false
			}
			continue
		}
		w := units[p.field].width
		if len(rest) < w {
			return f, false
		}
		digits := rest[:w]
		for _, c := range []byte(digits) {
			if c < '0' || c > '9' {
				return f, false
			}
		}
		n, _ := strconv.Atoi(digits)
		if n < units[p.field].min || n > units[p.field].max {
			return f, false
		}
		f[p.field] = n
		rest = rest[w:]
	}
	if rest != "" {
		return f, false
	}
	if l.has[day] && f[day] != 0 && f[month] != 0 {
		// Refuse days the month does not have (2026-02-30).
		if t := time.Date(f[year], time.Month(f[month]), f[day], 0, 0, 0, 0, time.UTC); t.Day() != f[day] {
			return f, false
		}
	}
	return f, true
}

// time is the start of the partition the fields name; fields not read yet
// count as their smallest value.
func (f fields) time() time.Time {
	m, d := f[month], f[day]
	if m == 0 {
		m = 1
	}
	if d == 0 {
		d = 1
	}
	return time.Date(f[year], time.Month(m), d, f[hour], f[minute], 0, 0, time.UTC)
}

// renderLevel writes level i for time t.
func (l layout) renderLevel(i int, t time.Time) string {
	var b strings.Builder
	for _, p := range l.levels[i] {
		if p.isLit {
			b.WriteString(p.lit)
			continue
		}
		var n int
		switch p.field {
		case year:
			n = t.Year()
		case month:
			n = int(t.Month())
		case day:
			n = t.Day()
		case hour:
			n = t.Hour()
		case minute:
			n = t.Minute()
		}
		fmt.Fprintf(&b, "%0*d", units[p.field].width, n)
	}
	return b.String()
}

// render writes the whole partition path for time t, without a trailing
// slash.
func (l layout) render(t time.Time) string {
	out := make([]string, len(l.levels))
	for i := range l.levels {
		out[i] = l.renderLevel(i, t)
	}
	return strings.Join(out, "/")
}

// prev is the start of the partition before the one starting at t.
func (l layout) prev(t time.Time) time.Time {
	switch l.finest {
	case year:
		return t.AddDate(-1, 0, 0)
	case month:
		return t.AddDate(0, -1, 0)
	case day:
		return t.AddDate(0, 0, -1)
	case hour:
		return t.Add(-time.Hour)
	}
	return t.Add(-time.Minute)
}

// period is how long one partition covers, roughly (months and years are
// taken as 31 and 366 days): the scan hint's unit.
func (l layout) period() time.Duration {
	switch l.finest {
	case year:
		return 366 * 24 * time.Hour
	case month:
		return 31 * 24 * time.Hour
	case day:
		return 24 * time.Hour
	case hour:
		return time.Hour
	}
	return time.Minute
}
