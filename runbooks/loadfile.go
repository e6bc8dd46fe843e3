package runbooks

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/datasev/datasev/runbooks/internal/yamlpos"
)

// file is a runbook file as parsed: its name in messages, and its source
// and YAML tree for positions in messages.
type file struct {
	name string
	doc  *yamlpos.Doc
}

// pos is the position of the value at path, or of the nearest ancestor
// that exists (see yamlpos.Doc.Pos).
func (f *file) pos(at ...any) Pos {
	if f == nil {
		return Pos{1, 1}
	}
	return Pos(f.doc.Pos(at...))
}

// keyPos is the position of the key of the last element of path (for
// "unknown input" and the like), else as pos.
func (f *file) keyPos(at ...any) Pos {
	if f == nil {
		return Pos{1, 1}
	}
	return Pos(f.doc.KeyPos(at...))
}

// exprPos maps a byte offset within the string value at path onto the
// file (see yamlpos.Doc.ScalarPos). value is the decoded string.
func (f *file) exprPos(value string, offset int, at ...any) Pos {
	if f == nil {
		return Pos{1, 1}
	}
	return Pos(f.doc.ScalarPos(value, offset, at...))
}

// problem is one problem in the file, as an error.
func (f *file) problem(p Pos, format string, args ...any) error {
	return Problems{{File: f.name, Pos: p, Msg: fmt.Sprintf(format, args...)}}
}

// parseFile parses and decodes one runbook file strictly (see Parse); f
// keeps its source and tree for positions in later messages.
func parseFile(name string, src []byte) (rb *Runbook, f *file, err error) {
	src = yamlpos.NormalizeBreaks(src)
	f = &file{name: name, doc: yamlpos.New(src)}
	defer func() {
		if r := recover(); r != nil {
			rb, f, err = nil, nil, Problems{{File: name, Pos: Pos{1, 1}, Msg: fmt.Sprintf("cannot read this YAML (the YAML library failed: %v)", r)}}
		}
	}()
	m, err := f.parseBody(src)
	if err != nil {
		return nil, nil, err
	}
	rb, err = f.decode(m)
	if err != nil {
		return nil, nil, err
	}
	return rb, f, nil
}

// parseBody parses the file's one document, which must be a mapping
// without anchors, aliases or merge keys, and not nested too deep.
func (f *file) parseBody(src []byte) (*ast.MappingNode, error) {
	if len(src) > MaxFileSize {
		return nil, f.problem(Pos{1, 1}, "file is %d bytes; a runbook file may have at most %d", len(src), MaxFileSize)
	}
	if !utf8.Valid(src) {
		return nil, f.problem(Pos(f.doc.OffsetPos(invalidUTF8(src))), "file is not valid UTF-8")
	}
	parsed, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, Problems{syntaxProblem(f, err)}
	}
	var body ast.Node
	for _, doc := range parsed.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, isComment := doc.Body.(*ast.CommentGroupNode); isComment {
			continue
		}
		if body != nil {
			return nil, f.problem(nodePos(doc.Body), "a runbook file holds one runbook: remove the second document")
		}
		body = doc.Body
	}
	if body == nil {
		return nil, f.problem(Pos{1, 1}, "empty file: a runbook needs name, description, owner, match and steps")
	}
	if p, msg := checkTree(body, 0); msg != "" {
		return nil, f.problem(p, "%s", msg)
	}
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return nil, f.problem(nodePos(body), "a runbook is a mapping (name: ..., steps: ...), not %s", nodeKind(body))
	}
	f.doc.SetBody(m)
	return m, nil
}

// decode decodes the file's mapping strictly into a Runbook.
func (f *file) decode(m *ast.MappingNode) (*Runbook, error) {
	var ps Problems
	checkDurations(f, m, reflect.TypeOf(Runbook{}), &ps)
	if len(ps) > 0 {
		return nil, ps.Err()
	}
	rb := &Runbook{}
	if err := yaml.NodeToValue(m, rb, yaml.Strict()); err != nil {
		return nil, Problems{yamlProblem(f, err)}
	}
	rb.Source = f.name
	normalizeRunbook(rb)
	f.fillPositions(rb)
	if ps := f.nonFinite(rb); len(ps) > 0 {
		return nil, ps.Err()
	}
	return rb, nil
}

// notRunbook says whether src is YAML that is not a runbook at all: one or
// more documents, each a mapping with keys and none of them a runbook's
// field. It returns the documents' top-level keys. A mapping with no keys,
// or with one runbook field among typos, is a (broken) runbook.
func notRunbook(src []byte) (keys []string, ok bool) {
	defer func() {
		if recover() != nil {
			keys, ok = nil, false
		}
	}()
	src = yamlpos.NormalizeBreaks(src)
	if len(src) > MaxFileSize || !utf8.Valid(src) {
		return nil, false
	}
	parsed, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, false
	}
	fields := yamlFields(reflect.TypeOf(Runbook{}))
	for _, doc := range parsed.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, isComment := doc.Body.(*ast.CommentGroupNode); isComment {
			continue
		}
		m, isMap := doc.Body.(*ast.MappingNode)
		if !isMap || len(m.Values) == 0 {
			return nil, false
		}
		for _, mv := range m.Values {
			if mv == nil || mv.Key == nil || slices.Contains(fields, yamlpos.KeyString(mv.Key)) {
				return nil, false
			}
			keys = append(keys, yamlpos.KeyString(mv.Key))
		}
	}
	return keys, len(keys) > 0
}

// nodePos is where a node starts (see yamlpos.NodePos).
func nodePos(n ast.Node) Pos { return Pos(yamlpos.NodePos(n)) }

// nonFinite reports .inf and .nan values: a runbook travels as JSON (into
// the incident's workflow input), which has no such numbers.
func (f *file) nonFinite(rb *Runbook) Problems {
	var ps Problems
	bad := func(x float64) bool { return math.IsInf(x, 0) || math.IsNaN(x) }
	var value func(v any, at []any)
	value = func(v any, at []any) {
		switch x := v.(type) {
		case float64:
			if bad(x) {
				ps = append(ps, Problem{File: f.name, Pos: f.pos(at...), Msg: fmt.Sprintf("%s: %v is not a number a runbook can hold", pathString(at...), x)})
			}
		case map[string]any:
			for _, k := range sortedKeys(x) {
				value(x[k], appendPath(at, k))
			}
		case []any:
			for i, e := range x {
				value(e, appendPath(at, i))
			}
		}
	}
	var steps func(ss []Step, at []any)
	steps = func(ss []Step, at []any) {
		for i := range ss {
			s := &ss[i]
			p := appendPath(at, i)
			if c := s.ActionCall(); c != nil {
				value(c.With, appendPath(p, s.Kind(), "with"))
			}
			if s.Verify != nil && bad(s.Verify.Backoff) {
				value(s.Verify.Backoff, appendPath(p, "verify", "backoff"))
			}
			steps(s.Parallel, appendPath(p, "parallel"))
		}
	}
	steps(rb.Steps, []any{"steps"})
	return ps
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return 0
}

// checkTree rejects anchors, aliases and merge keys (a runbook is read by
// people in review: write values out) and nesting deeper than maxDepth.
func checkTree(n ast.Node, depth int) (Pos, string) {
	if n == nil {
		return Pos{}, ""
	}
	if depth > maxDepth {
		return nodePos(n), fmt.Sprintf("nested more than %d levels deep", maxDepth)
	}
	switch x := n.(type) {
	case *ast.AnchorNode:
		return nodePos(n), "anchors (&name) are not supported in runbooks: write the value out"
	case *ast.AliasNode:
		return nodePos(n), "aliases (*name) are not supported in runbooks: write the value out"
	case *ast.MergeKeyNode:
		return nodePos(n), "merge keys (<<) are not supported in runbooks: write the values out"
	case *ast.MappingNode:
		for _, v := range x.Values {
			if p, msg := checkTree(v, depth+1); msg != "" {
				return p, msg
			}
		}
	case *ast.MappingValueNode:
		if p, msg := checkTree(x.Key, depth+1); msg != "" {
			return p, msg
		}
		return checkTree(x.Value, depth+1)
	case *ast.MappingKeyNode:
		return checkTree(x.Value, depth+1)
	case *ast.SequenceNode:
		for _, v := range x.Values {
			if p, msg := checkTree(v, depth+1); msg != "" {
				return p, msg
			}
		}
	case *ast.TagNode:
		return checkTree(x.Value, depth+1)
	}
	return Pos{}, ""
}

func nodeKind(n ast.Node) string {
	switch n.(type) {
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "null"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode:
		return "a number"
	case *ast.BoolNode:
		return "a bool"
	}
	return "a " + strings.ToLower(n.Type().String())
}

var durationType = reflect.TypeOf(Duration(0))

// checkDurations finds the scalars that decode into Durations, guided by
// the Go type, and reports the bad ones at their positions (the YAML
// library reports a text unmarshaler's error without one).
func checkDurations(f *file, n ast.Node, t reflect.Type, ps *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if tn, ok := n.(*ast.TagNode); ok {
		n = tn.Value
	}
	switch {
	case t == durationType:
		if n == nil {
			return
		}
		if _, null := n.(*ast.NullNode); null {
			return
		}
		var d Duration
		text := scalarText(n)
		if err := d.UnmarshalText([]byte(text)); err != nil {
			*ps = append(*ps, Problem{File: f.name, Pos: nodePos(n), Msg: err.Error()})
		}
	case t.Kind() == reflect.Struct:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			return
		}
		for _, mv := range m.Values {
			if mv == nil || mv.Key == nil {
				continue
			}
			if ft, ok := fieldType(t, yamlpos.KeyString(mv.Key)); ok {
				checkDurations(f, mv.Value, ft, ps)
			}
		}
	case t.Kind() == reflect.Slice:
		s, ok := n.(*ast.SequenceNode)
		if !ok {
			return
		}
		for _, v := range s.Values {
			checkDurations(f, v, t.Elem(), ps)
		}
	}
}

func scalarText(n ast.Node) string {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value
	case *ast.LiteralNode:
		if x.Value != nil {
			return x.Value.Value
		}
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// normalizeRunbook makes YAML's integers int64 (uint64 only when too big
// for int64) throughout the inputs, so inputs look the same however they
// were written.
func normalizeRunbook(rb *Runbook) {
	var steps func([]Step)
	steps = func(ss []Step) {
		for i := range ss {
			s := &ss[i]
			for _, c := range []*Call{s.ActionCall()} {
				if c != nil && c.With != nil {
					c.With = normalizeValue(c.With).(map[string]any)
				}
			}
			steps(s.Parallel)
		}
	}
	steps(rb.Steps)
}

// ActionCall is the step's action call (its check, remediation or
// verification), or nil for a parallel step.
func (s *Step) ActionCall() *Call {
	switch {
	case s.Check != nil:
		return s.Check
	case s.Remediate != nil:
		return &s.Remediate.Call
	case s.Verify != nil:
		return &s.Verify.Call
	}
	return nil
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return x
	case int:
		return int64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	}
	return v
}

// fillPositions sets Step.Pos from the YAML tree.
func (f *file) fillPositions(rb *Runbook) {
	var fill func(steps []Step, at []any)
	fill = func(steps []Step, at []any) {
		for i := range steps {
			p := appendPath(at, i)
			steps[i].Pos = f.pos(p...)
			fill(steps[i].Parallel, appendPath(p, "parallel"))
		}
	}
	fill(rb.Steps, []any{"steps"})
}

func appendPath(at []any, more ...any) []any {
	out := make([]any, 0, len(at)+len(more))
	return append(append(out, at...), more...)
}

// pathString formats a path for messages: steps[2].check.with.url.
func pathString(at ...any) string {
	var b strings.Builder
	for _, el := range at {
		switch x := el.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", x)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, x)
		}
	}
	return b.String()
}
