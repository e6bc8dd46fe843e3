// Package yamlpos finds where things are in a YAML document, for messages
// that name a line and a column: the value or key at a path of mapping keys
// and sequence indexes, the character at an offset within a scalar's value,
// the path of a parser token, and the place a person must edit to fix a
// syntax error. It knows YAML, not runbooks.
package yamlpos

import (
	"bytes"
	"sort"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// Pos is a line and a column, 1-based, the column counted in characters as
// the YAML library counts it.
type Pos struct {
	Line   int
	Column int
}

// start is the position of an empty document, or of a place that cannot be
// found.
var start = Pos{1, 1}

// Doc is the source of a YAML document and, once parsed, its body.
type Doc struct {
	src   []byte
	body  ast.Node
	lines []int // byte offset of each line's start
}

// NormalizeBreaks makes YAML's line breaks (\n, \r\n and \r) all \n, so
// that the parser's positions and a Doc's count lines alike. It returns src
// itself when there is nothing to change.
func NormalizeBreaks(src []byte) []byte {
	if bytes.IndexByte(src, '\r') < 0 {
		return src
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
}

// New returns the Doc of src, whose line breaks NormalizeBreaks has made
// \n. Positions within src are known at once; paths once SetBody gives the
// parsed body.
func New(src []byte) *Doc {
	d := &Doc{src: src, lines: []int{0}}
	for i, c := range src {
		if c == '\n' {
			d.lines = append(d.lines, i+1)
		}
	}
	return d
}

// SetBody gives the parsed document's body: the node paths start from. A
// nil body leaves the Doc without one.
func (d *Doc) SetBody(body ast.Node) {
	if body != nil {
		d.body = body
	}
}

// OffsetPos converts a byte offset in the source into a position.
func (d *Doc) OffsetPos(off int) Pos {
	off = min(max(off, 0), len(d.src))
	line := sort.Search(len(d.lines), func(i int) bool { return d.lines[i] > off }) - 1
	line = max(line, 0)
	col := utf8.RuneCount(d.src[d.lines[line]:off]) + 1
	return Pos{line + 1, col}
}

// posOffset converts a position into a byte offset in the source, or -1
// when the line is not there.
func (d *Doc) posOffset(p Pos) int {
	if p.Line < 1 || p.Line > len(d.lines) {
		return -1
	}
	off := d.lines[p.Line-1]
	for c := 1; c < p.Column && off < len(d.src) && d.src[off] != '\n'; c++ {
		_, n := utf8.DecodeRune(d.src[off:])
		off += n
	}
	return off
}

// line returns the text of line n (1-based), without its line break.
func (d *Doc) line(n int) []byte {
	if n < 1 || n > len(d.lines) {
		return nil
	}
	end := len(d.src)
	if n < len(d.lines) {
		end = d.lines[n] - 1
	}
	return d.src[d.lines[n-1]:end]
}

// Node finds the node at a path: string elements are mapping keys, int
// elements sequence indexes. It returns nil when the path is not there.
func (d *Doc) Node(at ...any) ast.Node {
	if d == nil || d.body == nil {
		return nil
	}
	n := d.body
	for _, el := range at {
		n = child(n, el)
		if n == nil {
			return nil
		}
	}
	return n
}

func child(n ast.Node, el any) ast.Node {
	if t, ok := n.(*ast.TagNode); ok {
		n = t.Value
	}
	switch key := el.(type) {
	case string:
		if m, ok := n.(*ast.MappingNode); ok {
			for _, mv := range m.Values {
				if mv != nil && KeyString(mv.Key) == key {
					return mv.Value
				}
			}
		}
	case int:
		if s, ok := n.(*ast.SequenceNode); ok && key >= 0 && key < len(s.Values) {
			return s.Values[key]
		}
	}
	return nil
}

// keyNode finds the mapping entry for the last element of a path.
func (d *Doc) keyNode(at ...any) *ast.MappingValueNode {
	if len(at) == 0 {
		return nil
	}
	parent := d.Node(at[:len(at)-1]...)
	if t, ok := parent.(*ast.TagNode); ok {
		parent = t.Value
	}
	key, ok := at[len(at)-1].(string)
	m, isMap := parent.(*ast.MappingNode)
	if !ok || !isMap {
		return nil
	}
	for _, mv := range m.Values {
		if mv != nil && KeyString(mv.Key) == key {
			return mv
		}
	}
	return nil
}

// Pos is the position of the value at a path; when the path is not there,
// of the key of its nearest ancestor that is, else of that ancestor.
func (d *Doc) Pos(at ...any) Pos {
	for i := len(at); i >= 0; i-- {
		n := d.Node(at[:i]...)
		if n == nil && i > 0 {
			continue
		}
		if n == nil {
			return start
		}
		if i < len(at) {
			// The element is missing: point at its parent's key when
			// there is one, else at the parent.
			if mv := d.keyNode(at[:i]...); mv != nil {
				return NodePos(mv)
			}
		}
		return NodePos(n)
	}
	return start
}

// KeyPos is the position of the key of the last element of a path (for
// "unknown input" and the like), else as Pos.
func (d *Doc) KeyPos(at ...any) Pos {
	if mv := d.keyNode(at...); mv != nil {
		return NodePos(mv)
	}
	return d.Pos(at...)
}

// NodePos is where a node starts: a mapping at its first key, a mapping
// entry at its key, a block scalar at its indicator.
func NodePos(n ast.Node) Pos {
	var tk *token.Token
	switch x := n.(type) {
	case nil:
		return start
	case *ast.MappingNode:
		if len(x.Values) > 0 && x.Values[0] != nil && x.Values[0].Key != nil {
			tk = x.Values[0].Key.GetToken()
		} else {
			tk = x.Start
		}
	case *ast.MappingValueNode:
		if x.Key != nil {
			tk = x.Key.GetToken()
		}
	case *ast.SequenceNode:
		tk = x.Start
	case *ast.LiteralNode:
		tk = x.Start
	case *ast.TagNode:
		tk = x.Start
	default:
		tk = n.GetToken()
	}
	return TokenPos(tk)
}

// TokenPos is where a token starts, or 1:1 when the token has no position.
func TokenPos(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil || tk.Position.Line <= 0 {
		return start
	}
	return Pos{tk.Position.Line, max(tk.Position.Column, 1)}
}

// KeyString is a mapping key as text.
func KeyString(k ast.MapKeyNode) string {
	if k == nil {
		return ""
	}
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// PathOf finds the path of the node, or mapping key, that holds a token
// (the token of a decoding error).
func (d *Doc) PathOf(tk *token.Token) ([]any, bool) {
	if tk == nil || d == nil || d.body == nil {
		return nil, false
	}
	return findToken(d.body, tk, nil)
}

func findToken(n ast.Node, tk *token.Token, at []any) ([]any, bool) {
	if n == nil {
		return nil, false
	}
	if n.GetToken() == tk {
		return at, true
	}
	switch x := n.(type) {
	case *ast.TagNode:
		return findToken(x.Value, tk, at)
	case *ast.MappingNode:
		if x.Start == tk {
			return at, true
		}
		for _, mv := range x.Values {
			if mv == nil {
				continue
			}
			key := KeyString(mv.Key)
			if mv.Key != nil && mv.Key.GetToken() == tk {
				return appendPath(at, key), true
			}
			if p, ok := findToken(mv.Value, tk, appendPath(at, key)); ok {
				return p, true
			}
		}
	case *ast.SequenceNode:
		if x.Start == tk {
			return at, true
		}
		for i, v := range x.Values {
			if p, ok := findToken(v, tk, appendPath(at, i)); ok {
				return p, true
			}
		}
	case *ast.LiteralNode:
		if x.Start == tk {
			return at, true
		}
	}
	return nil, false
}

func appendPath(at []any, more ...any) []any {
	out := make([]any, 0, len(at)+len(more))
	return append(append(out, at...), more...)
}
