package yamlpos

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// FuzzSyntaxPos feeds arbitrary text to the YAML parser and the errors to
// SyntaxPos, which must not panic and must name a place inside the text.
// Run it longer with
//
//	go test ./runbooks/internal/yamlpos -run '^$' -fuzz FuzzSyntaxPos -fuzztime 60s
func FuzzSyntaxPos(f *testing.F) {
	for _, seed := range []string{
		"a:\n  - id: x\n      b: c\n",
		"a: {b: c\n- d\n",
		"a: [b, c\nd: e\n",
		"a: \"b\nc: \"d\"\n",
		"a: 'b\nc: 'd'\n",
		"a: {b: c,  # x\n- d\n",
		"a:\n\tb: c\n",
		"a: b\na: c\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		src := NormalizeBreaks(data)
		_, err := parser.ParseBytes(src, 0)
		var ye yaml.Error
		if !errors.As(err, &ye) {
			return
		}
		d := New(src)
		p, msg := d.SyntaxPos(ye.GetToken(), ye.GetMessage())
		if p.Line < 1 || p.Column < 1 || p.Line > len(d.lines) || msg == "" {
			t.Fatalf("SyntaxPos = %v %q for a text of %d lines", p, msg, len(d.lines))
		}
		if lineLen := utf8.RuneCount(d.line(p.Line)); p.Column > lineLen+1 && p != TokenPos(ye.GetToken()) {
			t.Fatalf("SyntaxPos moved to %v, past the end of line %d (%d characters)", p, p.Line, lineLen)
		}
	})
}
