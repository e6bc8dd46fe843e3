package runbooks

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxFileSize bounds one runbook file.
const MaxFileSize = 1 << 20

// maxDepth bounds the nesting of a runbook file's YAML.
const maxDepth = 64

// Problem is one thing wrong with a runbook file, at a line and column.
type Problem struct {
	File string
	Pos  Pos
	Msg  string
}

// Error formats the problem as file:line:col: message.
func (p Problem) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Column, p.Msg)
}

// Problems is every problem found, sorted by file and position. As an error
// it prints one problem per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps sorted as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Column < b.Pos.Column
	})
	return out
}

// Layer is a directory of runbook files: the *.yaml and *.yml files at its
// root.
type Layer struct {
	FS fs.FS
	// Prefix names the layer's files in messages and Runbook.Source:
	// "embedded:" for the library, a directory path ending in a separator
	// for an operator's directory.
	Prefix string
}

// Set is a loaded set of runbooks, sorted by name.
type Set struct {
	runbooks  []*Runbook
	files     []*file // files[i] holds runbooks[i]
	byName    map[string]int
	overrides []string
	regexps   map[string]*regexp.Regexp // compiled match regexps; nil when invalid
}

// Load loads the embedded library, then the extra layers (the dev
// command's demo runbooks; production passes none), and, when dir is not
// empty, the runbook files in dir: a file there overrides the earlier file
// of the same name (Overrides says which did). The Set holds every runbook
// that decoded; the error, a Problems, lists the files that did not, each
// problem with its file, line and column. Load does not validate: call
// Validate.
func Load(dir string, extra ...Layer) (*Set, error) {
	layers := append([]Layer{{FS: Library(), Prefix: "embedded:"}}, extra...)
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("runbook directory: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("runbook directory %s: not a directory", dir)
		}
		layers = append(layers, Layer{FS: os.DirFS(dir), Prefix: filepath.Clean(dir) + string(filepath.Separator)})
	}
	return LoadLayers(layers...)
}

// LoadLayers loads the runbook files of each layer; a file in a later layer
// overrides the file of the same name in an earlier one. Errors are as for
// Load; a layer that cannot be listed is an error of its own.
func LoadLayers(layers ...Layer) (*Set, error) {
	type entry struct {
		name, display string
		layer         Layer
	}
	chosen := map[string]entry{}
	var overrides []string
	for _, l := range layers {
		names, err := fs.Glob(l.FS, "*.yaml")
		if err != nil {
			return nil, fmt.Errorf("list runbooks in %s: %w", l.Prefix, err)
		}
		yml, err := fs.Glob(l.FS, "*.yml")
		if err != nil {
			return nil, fmt.Errorf("list runbooks in %s: %w", l.Prefix, err)
		}
		names = append(names, yml...)
		sort.Strings(names)
		for _, n := range names {
			e := entry{name: n, display: l.Prefix + n, layer: l}
			if prev, ok := chosen[n]; ok {
				overrides = append(overrides, fmt.Sprintf("%s overrides %s", e.display, prev.display))
			}
			chosen[n] = e
		}
	}
	set := &Set{byName: map[string]int{}, overrides: overrides, regexps: map[string]*regexp.Regexp{}}
	var problems Problems
	for _, n := range sortedKeys(chosen) {
		e := chosen[n]
		src, err := readFile(e.layer.FS, e.name)
		if err != nil {
			problems = append(problems, Problem{File: e.display, Pos: Pos{1, 1}, Msg: err.Error()})
			continue
		}
		rb, f, err := parseFile(e.display, src)
		if err != nil {
			var ps Problems
			if errors.As(err, &ps) {
				problems = append(problems, ps...)
			} else {
				problems = append(problems, Problem{File: e.display, Pos: Pos{1, 1}, Msg: err.Error()})
			}
			continue
		}
		set.runbooks = append(set.runbooks, rb)
		set.files = append(set.files, f)
	}
	set.sort()
	for i, rb := range set.runbooks {
		if j, dup := set.byName[rb.Name]; dup {
			other := set.files[j]
			problems = append(problems, Problem{File: set.files[i].name, Pos: set.files[i].pos("name"),
				Msg: fmt.Sprintf("runbook name %q is also used by %s:%s; names must be unique", rb.Name, other.name, other.pos("name"))})
			continue
		}
		set.byName[rb.Name] = i
	}
	set.compileRegexps()
	return set, problems.Err()
}

func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("file is %d bytes; a runbook file may have at most %d", st.Size(), MaxFileSize)
	}
	return fs.ReadFile(fsys, name)
}

func (s *Set) sort() {
	idx := make([]int, len(s.runbooks))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ra, rb := s.runbooks[idx[a]], s.runbooks[idx[b]]
		if ra.Name != rb.Name {
			return ra.Name < rb.Name
		}
		return ra.Source < rb.Source
	})
	rbs := make([]*Runbook, len(idx))
	fs := make([]*file, len(idx))
	for i, j := range idx {
		rbs[i], fs[i] = s.runbooks[j], s.files[j]
	}
	s.runbooks, s.files = rbs, fs
}

// Runbooks returns the runbooks, sorted by name. Treat them as read-only.
func (s *Set) Runbooks() []*Runbook { return append([]*Runbook(nil), s.runbooks...) }

// Len is the number of runbooks.
func (s *Set) Len() int { return len(s.runbooks) }

// Get returns the named runbook. Treat it as read-only.
func (s *Set) Get(name string) (*Runbook, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return s.runbooks[i], true
}

// Overrides says which operator files replaced library files of the same
// name, one sentence each ("/etc/runbooks/x.yaml overrides embedded:x.yaml").
func (s *Set) Overrides() []string { return append([]string(nil), s.overrides...) }

// Parse decodes one runbook file strictly: an unknown field, a value of the
// wrong type, a bad duration, a duplicate key, an anchor or alias, or more
// than one document is an error naming the line and column (a Problems).
// name is the file's name in messages and Runbook.Source. Parse does not
// validate: see Validate. It never panics.
func Parse(name string, src []byte) (*Runbook, error) {
	rb, _, err := parseFile(name, src)
	return rb, err
}

// file is a runbook file as parsed: its source and YAML tree, for
// positions in messages.
type file struct {
	name  string
	src   []byte
	body  *ast.MappingNode
	lines []int // byte offset of each line's start
}

func parseFile(name string, src []byte) (rb *Runbook, f *file, err error) {
	// YAML's line breaks are \n, \r\n and \r; make them all \n so that
	// the parser's positions and ours count lines alike.
	if bytes.IndexByte(src, '\r') >= 0 {
		src = bytes.ReplaceAll(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	}
	f = &file{name: name, src: src}
	f.indexLines()
	problem := func(p Pos, format string, args ...any) (*Runbook, *file, error) {
		return nil, nil, Problems{{File: name, Pos: p, Msg: fmt.Sprintf(format, args...)}}
	}
	defer func() {
		if r := recover(); r != nil {
			rb, f, err = nil, nil, Problems{{File: name, Pos: Pos{1, 1}, Msg: fmt.Sprintf("cannot read this YAML (the YAML library failed: %v)", r)}}
		}
	}()
	if len(src) > MaxFileSize {
		return problem(Pos{1, 1}, "file is %d bytes; a runbook file may have at most %d", len(src), MaxFileSize)
	}
	if !utf8.Valid(src) {
		return problem(f.offsetPos(invalidUTF8(src)), "file is not valid UTF-8")
	}
	parsed, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, nil, Problems{yamlProblem(f, err)}
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
			return problem(nodePos(doc.Body), "a runbook file holds one runbook: remove the second document")
		}
		body = doc.Body
	}
	if body == nil {
		return problem(Pos{1, 1}, "empty file: a runbook needs name, description, owner, match and steps")
	}
	if p, msg := checkTree(body, 0); msg != "" {
		return problem(p, "%s", msg)
	}
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return problem(nodePos(body), "a runbook is a mapping (name: ..., steps: ...), not %s", nodeKind(body))
	}
	f.body = m
	var ps Problems
	checkDurations(f, m, reflect.TypeOf(Runbook{}), &ps)
	if len(ps) > 0 {
		return nil, nil, ps.Err()
	}
	rb = &Runbook{}
	if err := yaml.NodeToValue(m, rb, yaml.Strict()); err != nil {
		return nil, nil, Problems{yamlProblem(f, err)}
	}
	rb.Source = name
	normalizeRunbook(rb)
	f.fillPositions(rb)
	if ps := f.nonFinite(rb); len(ps) > 0 {
		return nil, nil, ps.Err()
	}
	return rb, f, nil
}

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
			if c := s.callPtr(); c != nil {
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

// yamlProblem turns a YAML library error into a Problem at its token,
// saying where in the runbook it is and, for an unknown field, what the
// known ones are.
func yamlProblem(f *file, err error) Problem {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return Problem{File: f.name, Pos: Pos{1, 1}, Msg: err.Error()}
	}
	p := Pos{1, 1}
	tk := ye.GetToken()
	if tk != nil && tk.Position != nil && tk.Position.Line > 0 {
		p = Pos{tk.Position.Line, max(tk.Position.Column, 1)}
	}
	msg := ye.GetMessage()
	at, found := f.pathOf(tk)
	var (
		unknown  *yaml.UnknownFieldError
		typeErr  *yaml.TypeError
		nodeType *yaml.UnexpectedNodeTypeError
	)
	switch {
	case !found:
	case errors.As(err, &unknown) && len(at) > 0:
		parent := at[:len(at)-1]
		where := "here"
		if len(parent) > 0 {
			where = "in " + pathString(parent...)
		}
		msg = fmt.Sprintf("unknown field %q %s", fmt.Sprint(at[len(at)-1]), where)
		if t, ok := typeAt(reflect.TypeOf(Runbook{}), parent); ok {
			msg += "; known fields: " + strings.Join(yamlFields(t), ", ")
		}
	case errors.As(err, &typeErr) && typeErr.DstType != nil:
		got := "a value"
		if typeErr.SrcType != nil {
			got = goTypeName(typeErr.SrcType)
		}
		msg = fmt.Sprintf("%s: want %s, got %s", orTop(at), goTypeName(typeErr.DstType), got)
	case errors.As(err, &nodeType):
		msg = fmt.Sprintf("%s: want %s, got %s", orTop(at), nodeTypeName(nodeType.Expected), nodeTypeName(nodeType.Actual))
	}
	return Problem{File: f.name, Pos: p, Msg: msg}
}

func orTop(at []any) string {
	if len(at) == 0 {
		return "the runbook"
	}
	return pathString(at...)
}

func goTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "a duration such as 90s or 5m"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "a list"
	case t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return "a mapping"
	}
	return "a value"
}

func nodeTypeName(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.StringType, ast.LiteralType:
		return "a string"
	case ast.IntegerType:
		return "an integer"
	case ast.FloatType:
		return "a number"
	case ast.BoolType:
		return "true or false"
	case ast.NullType:
		return "null"
	}
	return strings.ToLower(t.String())
}

// typeAt follows a path through the Go types a runbook decodes into.
func typeAt(t reflect.Type, at []any) (reflect.Type, bool) {
	for _, el := range at {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch x := el.(type) {
		case string:
			if t.Kind() != reflect.Struct {
				return nil, false
			}
			ft, ok := fieldType(t, x)
			if !ok {
				return nil, false
			}
			t = ft
		case int:
			if t.Kind() != reflect.Slice {
				return nil, false
			}
			t = t.Elem()
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t, t.Kind() == reflect.Struct
}

// yamlFields lists the YAML keys of a struct, inline structs' included.
func yamlFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		switch {
		case name == "-":
		case strings.Contains(opts, "inline"):
			out = append(out, yamlFields(sf.Type)...)
		case name != "":
			out = append(out, name)
		}
	}
	return out
}

// pathOf finds the path of the node (or mapping key) that holds tk.
func (f *file) pathOf(tk *token.Token) ([]any, bool) {
	if tk == nil || f.body == nil {
		return nil, false
	}
	var find func(n ast.Node, at []any) ([]any, bool)
	find = func(n ast.Node, at []any) ([]any, bool) {
		if n == nil {
			return nil, false
		}
		if n.GetToken() == tk {
			return at, true
		}
		switch x := n.(type) {
		case *ast.TagNode:
			return find(x.Value, at)
		case *ast.MappingNode:
			if x.Start == tk {
				return at, true
			}
			for _, mv := range x.Values {
				if mv == nil {
					continue
				}
				key := keyString(mv.Key)
				if mv.Key != nil && mv.Key.GetToken() == tk {
					return appendPath(at, key), true
				}
				if p, ok := find(mv.Value, appendPath(at, key)); ok {
					return p, true
				}
			}
		case *ast.SequenceNode:
			if x.Start == tk {
				return at, true
			}
			for i, v := range x.Values {
				if p, ok := find(v, appendPath(at, i)); ok {
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
	return find(f.body, nil)
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

// nodePos is where a node starts: a mapping at its first key, a block
// scalar at its indicator.
func nodePos(n ast.Node) Pos {
	var tk *token.Token
	switch x := n.(type) {
	case nil:
		return Pos{1, 1}
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
	if tk == nil || tk.Position == nil || tk.Position.Line <= 0 {
		return Pos{1, 1}
	}
	return Pos{tk.Position.Line, max(tk.Position.Column, 1)}
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
			if ft, ok := fieldType(t, keyString(mv.Key)); ok {
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

// fieldType finds the field a YAML key decodes into, through inline
// (embedded) structs.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") || (sf.Anonymous && name == "") {
			if ft, ok := fieldType(sf.Type, key); ok {
				return ft, true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		if name == key {
			return sf.Type, true
		}
	}
	return nil, false
}

func keyString(k ast.MapKeyNode) string {
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

// normalizeRunbook makes YAML's integers int64 (uint64 only when too big
// for int64) throughout the inputs, so inputs look the same however they
// were written.
func normalizeRunbook(rb *Runbook) {
	var steps func([]Step)
	steps = func(ss []Step) {
		for i := range ss {
			s := &ss[i]
			for _, c := range []*Call{s.callPtr()} {
				if c != nil && c.With != nil {
					c.With = normalizeValue(c.With).(map[string]any)
				}
			}
			steps(s.Parallel)
		}
	}
	steps(rb.Steps)
}

func (s *Step) callPtr() *Call {
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

func (f *file) indexLines() {
	f.lines = []int{0}
	for i, c := range f.src {
		if c == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
}

// offsetPos converts a byte offset in the source into a line and column
// (1-based, the column counted in characters as the YAML library does).
func (f *file) offsetPos(off int) Pos {
	if off < 0 {
		off = 0
	}
	if off > len(f.src) {
		off = len(f.src)
	}
	line := sort.Search(len(f.lines), func(i int) bool { return f.lines[i] > off }) - 1
	if line < 0 {
		line = 0
	}
	col := utf8.RuneCount(f.src[f.lines[line]:off]) + 1
	return Pos{line + 1, col}
}

// posOffset converts a line and column into a byte offset in the source.
func (f *file) posOffset(p Pos) int {
	if p.Line < 1 || p.Line > len(f.lines) {
		return -1
	}
	off := f.lines[p.Line-1]
	for c := 1; c < p.Column && off < len(f.src) && f.src[off] != '\n'; c++ {
		_, n := utf8.DecodeRune(f.src[off:])
		off += n
	}
	return off
}

// node finds the node at path: string elements are mapping keys, int
// elements sequence indexes. It returns nil when the path is not there.
func (f *file) node(at ...any) ast.Node {
	if f == nil || f.body == nil {
		return nil
	}
	var n ast.Node = f.body
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
				if mv != nil && keyString(mv.Key) == key {
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

// keyNode finds the mapping entry for the last element of path.
func (f *file) keyNode(at ...any) *ast.MappingValueNode {
	if len(at) == 0 {
		return nil
	}
	parent := f.node(at[:len(at)-1]...)
	if t, ok := parent.(*ast.TagNode); ok {
		parent = t.Value
	}
	key, ok := at[len(at)-1].(string)
	m, isMap := parent.(*ast.MappingNode)
	if !ok || !isMap {
		return nil
	}
	for _, mv := range m.Values {
		if mv != nil && keyString(mv.Key) == key {
			return mv
		}
	}
	return nil
}

// pos is the position of the value at path, or of the nearest ancestor
// that exists.
func (f *file) pos(at ...any) Pos {
	for i := len(at); i >= 0; i-- {
		if n := f.node(at[:i]...); n != nil || i == 0 {
			if n == nil {
				return Pos{1, 1}
			}
			if i < len(at) {
				// The element is missing: point at its parent's key when
				// there is one, else at the parent.
				if mv := f.keyNode(at[:i]...); mv != nil {
					return nodePos(mv)
				}
			}
			return nodePos(n)
		}
	}
	return Pos{1, 1}
}

// keyPos is the position of the key of the last element of path (for
// "unknown input" and the like), else as pos.
func (f *file) keyPos(at ...any) Pos {
	if mv := f.keyNode(at...); mv != nil {
		return nodePos(mv)
	}
	return f.pos(at...)
}

// exprPos maps a byte offset within the string value at path onto the
// file. value is the decoded string. The mapping walks the source and the
// value together, matching every non-blank character, so it holds for
// plain, quoted and block scalars alike; escapes it cannot follow (\u00e9)
// fall back to the scalar's start.
func (f *file) exprPos(value string, offset int, at ...any) Pos {
	n := f.node(at...)
	if t, ok := n.(*ast.TagNode); ok {
		n = t.Value
	}
	if n == nil {
		return f.pos(at...)
	}
	start := nodePos(n)
	if offset < 0 {
		return start
	}
	so := f.posOffset(start)
	if so < 0 {
		return start
	}
	switch x := n.(type) {
	case *ast.LiteralNode:
		// Skip the indicator line (| or >, with its modifiers).
		i := indexByteFrom(f.src, so, '\n')
		if i < 0 {
			return start
		}
		so = i + 1
	case *ast.StringNode:
		if tk := x.GetToken(); tk != nil && (tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType) {
			so++
		}
	}
	limit := min(len(f.src), so+2*len(value)+256)
	match := func(c byte) bool {
		for k := so; k < limit; k++ {
			if f.src[k] == c {
				so = k
				return true
			}
		}
		return false
	}
	if offset > len(value) {
		offset = len(value)
	}
	for i := 0; i < offset; i++ {
		c := value[i]
		if isBlank(c) {
			continue
		}
		if !match(c) {
			return start
		}
		so++
	}
	if offset < len(value) && !isBlank(value[offset]) {
		if !match(value[offset]) {
			return start
		}
	}
	return f.offsetPos(so)
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
