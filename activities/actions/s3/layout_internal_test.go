package s3act

import (
	"testing"
	"time"
)

func TestParseLayout(t *testing.T) {
	for _, c := range []struct {
		layout   string
		levels   int
		sortable bool
		finest   unit
		render   string // 2026-03-01T07:05Z
		prev     string
	}{
		{"dt=YYYY-MM-DD/hr=HH", 2, true, hour, "dt=2026-03-01/hr=07", "dt=2026-03-01/hr=06"},
		{"/YYYY/MM/DD/", 3, true, day, "2026/03/01", "2026/02/28"},
		{"year=YYYY/month=MM", 2, true, month, "year=2026/month=03", "year=2026/month=02"},
		{"dt=YYYYMMDDHHmm", 1, true, minute, "dt=202603010705", "dt=202603010704"},
		{"d=DD-MM-YYYY", 1, false, day, "d=01-03-2026", "d=28-02-2026"},
		{"batch_1=YYYY", 1, true, year, "batch_1=2026", "batch_1=2025"},
	} {
		l, err := parseLayout(c.layout)
		if err != nil {
			t.Errorf("%s: %v", c.layout, err)
			continue
		}
		at := time.Date(2026, 3, 1, 7, 5, 0, 0, time.UTC)
		if len(l.levels) != c.levels || l.sortable != c.sortable || l.finest != c.finest {
			t.Errorf("%s: %d levels, sortable %v, finest %d", c.layout, len(l.levels), l.sortable, l.finest)
		}
		if got := l.render(at); got != c.render {
			t.Errorf("%s: render %q, want %q", c.layout, got, c.render)
		}
		start := parseAll(t, l, c.render)
		if got := l.render(l.prev(start)); got != c.prev {
			t.Errorf("%s: prev %q, want %q", c.layout, got, c.prev)
		}
	}
	for _, bad := range []string{"", "/", "dt=YYYY//hr=HH", "static/dt=YYYY", "YYYY/YYYY", "MM", "YYYY/HH"} {
		if _, err := parseLayout(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// parseAll reads a whole rendered path back into its partition's start.
func parseAll(t *testing.T, l layout, path string) time.Time {
	t.Helper()
	var f fields
	rest := path
	for i := range l.levels {
		v := rest
		if i < len(l.levels)-1 {
			var ok bool
			v, rest, ok = cut(rest)
			if !ok {
				t.Fatalf("%s: too few levels in %q", l.text, path)
			}
		}
		var ok bool
		if f, ok = l.parseLevel(i, v, f); !ok {
			t.Fatalf("%s: level %d %q does not parse", l.text, i, v)
		}
	}
	return f.time()
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestParseLevelRefuses(t *testing.T) {
	l, err := parseLayout("dt=YYYY-MM-DD/hr=HH")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"dt=2026-1-01", "dt=2026-13-01", "dt=2026-02-29", "dt=2026-02-01x", "date=2026-02-01", "dt=20a6-02-01", "dt="} {
		if _, ok := l.parseLevel(0, v, fields{}); ok {
			t.Errorf("%q parsed", v)
		}
	}
	if _, ok := l.parseLevel(0, "dt=2028-02-29", fields{}); !ok {
		t.Error("a leap day did not parse")
	}
	if _, ok := l.parseLevel(1, "hr=24", fields{}); ok {
		t.Error("hr=24 parsed")
	}
}

func TestHumanFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Second: "12s", 43*time.Minute + 59*time.Second: "43m", 2 * time.Hour: "2h",
		2*time.Hour + 13*time.Minute: "2h13m", 75 * time.Hour: "3d3h", 48 * time.Hour: "2d", -5 * time.Minute: "-5m",
	} {
		if got := humanAge(d); got != want {
			t.Errorf("humanAge(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3563520: "3.4 MiB", 5 << 40: "5.0 TiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
	for rel, want := range map[string]bool{
		"part-0.parquet": false, "hr=07/part-0": false, "_SUCCESS": true, "_temporary/0/x": true,
		"hr=07/.part-0.crc": true, "hr=07/": true, "": true,
	} {
		if got := hidden(rel); got != want {
			t.Errorf("hidden(%q) = %v", rel, got)
		}
	}
}
