package yamlpos

import (
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// ScalarPos maps a byte offset within the string value at a path onto the
// file; value is the decoded string. It walks the source and the value
// together, matching every non-blank character, so it holds for plain,
// quoted and block scalars alike; escapes it cannot follow (\u00e9) fall
// back to the scalar's start. A negative offset is the scalar's start.
func (d *Doc) ScalarPos(value string, offset int, at ...any) Pos {
	n := d.Node(at...)
	if t, ok := n.(*ast.TagNode); ok {
		n = t.Value
	}
	if n == nil {
		return d.Pos(at...)
	}
	begin := NodePos(n)
	if offset < 0 {
		return begin
	}
	so := d.textStart(n, begin)
	if so < 0 {
		return begin
	}
	if at, ok := d.follow(value, min(offset, len(value)), so); ok {
		return d.OffsetPos(at)
	}
	return begin
}

// textStart is the byte offset where a scalar's text starts: past a block
// scalar's indicator line, past a quote. It is -1 when there is no text.
func (d *Doc) textStart(n ast.Node, begin Pos) int {
	so := d.posOffset(begin)
	if so < 0 {
		return -1
	}
	switch x := n.(type) {
	case *ast.LiteralNode:
		// Skip the indicator line (| or >, with its modifiers).
		i := indexByteFrom(d.src, so, '\n')
		if i < 0 {
			return -1
		}
		return i + 1
	case *ast.StringNode:
		if tk := x.GetToken(); tk != nil && (tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType) {
			return so + 1
		}
	}
	return so
}

// follow walks value up to offset and the source from so together and
// returns the source offset of value[offset]; false when the two part.
func (d *Doc) follow(value string, offset, so int) (int, bool) {
	limit := min(len(d.src), so+2*len(value)+256)
	match := func(c byte) bool {
		for k := so; k < limit; k++ {
			if d.src[k] == c {
				so = k
				return true
			}
		}
		return false
	}
	for i := 0; i < offset; i++ {
		c := value[i]
		if isBlank(c) {
			continue
		}
		if !match(c) {
			return 0, false
		}
		so++
	}
	if offset < len(value) && !isBlank(value[offset]) && !match(value[offset]) {
		return 0, false
	}
	return so, true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func indexByteFrom(b []byte, from int, c byte) int {
	for i := from; i < len(b); i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}
