package yamlpos

import (
	"reflect"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// parse parses src as one document and returns its Doc with the body set.
func parse(t *testing.T, src string) *Doc {
	t.Helper()
	b := NormalizeBreaks([]byte(src))
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	d := New(b)
	d.SetBody(f.Docs[0].Body)
	return d
}

const sample = `top: 1
list:
  - a
  - {k: v, n: 2}
block: |
  first
  second é x
quoted: "a ${ b }"
`

func TestPos(t *testing.T) {
	d := parse(t, sample)
	for _, tc := range []struct {
		at       []any
		pos, key Pos
	}{
		{nil, Pos{1, 1}, Pos{1, 1}},
		{[]any{"top"}, Pos{1, 6}, Pos{1, 1}},
		{[]any{"list", 0}, Pos{3, 5}, Pos{3, 5}},
		{[]any{"list", 1, "n"}, Pos{4, 15}, Pos{4, 12}},
		{[]any{"list", 1, "missing"}, Pos{4, 6}, Pos{4, 6}}, // the mapping that lacks it
		{[]any{"list", 7}, Pos{2, 1}, Pos{2, 1}},            // the key of the list that lacks it
		{[]any{"nope", "deeper"}, Pos{1, 1}, Pos{1, 1}},
		{[]any{"block"}, Pos{5, 8}, Pos{5, 1}},
	} {
		if got := d.Pos(tc.at...); got != tc.pos {
			t.Errorf("Pos(%v) = %v, want %v", tc.at, got, tc.pos)
		}
		if got := d.KeyPos(tc.at...); got != tc.key {
			t.Errorf("KeyPos(%v) = %v, want %v", tc.at, got, tc.key)
		}
	}
	var nilDoc *Doc
	if n := nilDoc.Node("top"); n != nil {
		t.Errorf("a nil Doc has node %v", n)
	}
}

func TestScalarPos(t *testing.T) {
	d := parse(t, sample)
	for _, tc := range []struct {
		value  string
		offset int
		at     []any
		want   Pos
	}{
		{"first\nsecond é x\n", 6, []any{"block"}, Pos{7, 3}},   // "second", past the indicator line
		{"first\nsecond é x\n", 16, []any{"block"}, Pos{7, 12}}, // "x", after a 2-byte rune
		{"a ${ b }", 5, []any{"quoted"}, Pos{8, 15}},            // "b", inside the quotes
		{"a ${ b }", -1, []any{"quoted"}, Pos{8, 9}},
		{"zzz", 1, []any{"quoted"}, Pos{8, 9}}, // the value does not follow the source: its start
		{"v", 0, []any{"list", 1, "k"}, Pos{4, 9}},
	} {
		if got := d.ScalarPos(tc.value, tc.offset, tc.at...); got != tc.want {
			t.Errorf("ScalarPos(%q, %d, %v) = %v, want %v", tc.value, tc.offset, tc.at, got, tc.want)
		}
	}
}

func TestOffsetPos(t *testing.T) {
	d := New([]byte("ab\né\nc"))
	for off, want := range map[int]Pos{-5: {1, 1}, 0: {1, 1}, 2: {1, 3}, 3: {2, 1}, 5: {2, 2}, 6: {3, 1}, 99: {3, 2}} {
		if got := d.OffsetPos(off); got != want {
			t.Errorf("OffsetPos(%d) = %v, want %v", off, got, want)
		}
	}
	if got := NormalizeBreaks([]byte("a\r\nb\rc\n")); string(got) != "a\nb\nc\n" {
		t.Errorf("NormalizeBreaks = %q", got)
	}
}

func TestPathOf(t *testing.T) {
	d := parse(t, sample)
	for _, at := range [][]any{{"top"}, {"list", 0}, {"list", 1, "n"}, {"quoted"}} {
		n := d.Node(at...)
		got, ok := d.PathOf(n.GetToken())
		if !ok || !reflect.DeepEqual(got, at) {
			t.Errorf("PathOf(token of %v) = %v, %v", at, got, ok)
		}
	}
	// A key's token is the path of its entry.
	m := d.Node("list", 1).(*ast.MappingNode)
	if got, ok := d.PathOf(m.Values[1].Key.GetToken()); !ok || !reflect.DeepEqual(got, []any{"list", 1, "n"}) {
		t.Errorf("PathOf(key n) = %v, %v", got, ok)
	}
	if _, ok := d.PathOf(nil); ok {
		t.Error("PathOf(nil) found a path")
	}
}
