package mdtext

import (
	"testing"
	"time"
	"unicode/utf8"
)

func TestEscaping(t *testing.T) {
	at := time.Date(2026, 3, 2, 15, 20, 9, 0, time.FixedZone("CET", 3600))
	for _, c := range []struct{ name, got, want string }{
		{"inline folds lines and escapes HTML", Inline("a\n  <!-- datasev:x -->\tb"), "a &lt;!-- datasev:x --&gt; b"},
		{"cell escapes pipes, backslashes, newlines", Cell(" a|b\\c\r\nd<e> "), `a\|b\\c<br>d&lt;e&gt;`},
		{"block keeps lines", Block("a\r\nb\rc <b>"), "a\nb\nc &lt;b&gt;"},
		{"code blank", Code("  "), "`-`"},
		{"code plain", Code("orders.sql"), "`orders.sql`"},
		{"code with backticks", Code("a `b` c"), "``a `b` c``"},
		{"code edge backtick", Code("`x"), "`` `x ``"},
		{"link url", Link(" https://github.com/acme/x/issues/1 "), "<https://github.com/acme/x/issues/1>"},
		{"link file", Link("file:///tmp/a b.md"), "file:///tmp/a b.md"},
		{"link html", Link("https://x/<script>"), "https://x/&lt;script&gt;"},
		{"attribution both", Attribution("alice", at), " _(by alice, 2026-03-02 14:20 UTC)_"},
		{"attribution who", Attribution("a<b", time.Time{}), " _(by a&lt;b)_"},
		{"attribution none", Attribution("", time.Time{}), ""},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer line of text", 10, "a longe…"},
		{"ééééé", 8, "éé…"}, // "é" is 2 bytes, "…" 3: a cut at byte 5 backs off to byte 4
		{"", 0, ""},
	} {
		got := Truncate(c.s, c.n)
		if got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
		if len(got) > c.n || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q: %d bytes or invalid UTF-8", c.s, c.n, got, len(got))
		}
	}
}
