package runbooks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// Expressions are CEL (https://cel.dev), the one expression language of a
// runbook: `when:` conditions, verify `until:` conditions and the templates
// in string inputs ("${ alert.labels.table }").
//
// They see these variables, all maps:
//
//	alert     source, title, description, dedupe_key, severity, status,
//	          service, dataset, labels (a map of strings)
//	steps     step id → {status: ok|failed|skipped|denied, output: map, summary: string}
//	incident  id, severity
//	output    this try's output, in a verify step's until only
//
// Evaluation is deterministic and pure, so it may run inside workflow code:
// no function reads the clock or anything else outside its arguments, maps
// are iterated in sorted key order, and every evaluation is bounded in
// cost, size and time (see CostLimit).
//
// Vars are the values an expression sees. Nil maps are empty.
type Vars struct {
	// Alert is the alert: source, title, description, dedupe_key,
	// severity, status, service, dataset and labels.
	Alert map[string]any
	// Steps maps a step's id to {status, output, summary}, for the steps
	// that have finished or been skipped.
	Steps map[string]any
	// Output is this try's output, for a verify step's until.
	Output map[string]any
	// Incident is {id, severity}.
	Incident map[string]any
}

// AlertFields are the keys of the alert variable.
var AlertFields = []string{"dedupe_key", "dataset", "description", "labels", "service", "severity", "source", "status", "title"}

// StepFields are the keys of each steps.<id> value.
var StepFields = []string{"output", "status", "summary"}

// IncidentFields are the keys of the incident variable.
var IncidentFields = []string{"id", "severity"}

// Step statuses as expressions see them in steps.<id>.status.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
	StatusDenied  = "denied"
)

// Limits on expression text.
const (
	maxExprLen   = 4096
	maxExprDepth = 64
)

// ExprError is an expression or template that does not compile or
// evaluate.
type ExprError struct {
	// Text is the string the expression came from: a condition, or a whole
	// templated input value.
	Text string
	// Offset is the byte offset in Text where the problem is, or -1 when
	// unknown (most evaluation errors).
	Offset int
	// Msg says what is wrong.
	Msg string
}

func (e *ExprError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s (in %s at offset %d)", e.Msg, quoteExpr(e.Text), e.Offset)
	}
	return fmt.Sprintf("%s (in %s)", e.Msg, quoteExpr(e.Text))
}

func quoteExpr(s string) string {
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return strconv.Quote(s)
}

// exprKind picks the variables an expression may use.
type exprKind int

const (
	// kindCondition: alert, steps, incident (when: and templates).
	kindCondition exprKind = iota
	// kindUntil: alert, steps, incident and output (verify until:).
	kindUntil
)

var (
	envOnce sync.Once
	envs    [2]*cel.Env
	envErr  error
)

func celEnv(kind exprKind) (*cel.Env, error) {
	envOnce.Do(func() {
		for k := range envs {
			envs[k], envErr = newEnv(exprKind(k) == kindUntil)
			if envErr != nil {
				return
			}
		}
	})
	return envs[kind], envErr
}

func newEnv(withOutput bool) (*cel.Env, error) {
	mapType := cel.MapType(cel.StringType, cel.DynType)
	opts := []cel.EnvOption{
		cel.Variable("alert", mapType),
		cel.Variable("steps", mapType),
		cel.Variable("incident", mapType),
		cel.CustomTypeAdapter(adapter{}),
		cel.OptionalTypes(),
		// 200 < 200.5 and output.rows > 0 work across int and double:
		// numbers in step outputs are JSON numbers (doubles).
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(maxExprLen),
		cel.ParserRecursionLimit(maxExprDepth),
		// Pure extension libraries only: none reads the clock, the
		// environment or a random source.
		ext.Strings(),
		ext.Math(),
		ext.Lists(ext.ListsMaxRangeSize(MaxRangeSize)),
		ext.Sets(),
		// base64 and json.encode; json.parse (version 2) is left out: its
		// cost estimate alone exceeds the limit.
		ext.Encoders(ext.EncodersVersion(1)),
		costModels(),
	}
	if withOutput {
		opts = append(opts, cel.Variable("output", mapType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	g, err := guarded(env)
	if err != nil {
		return nil, err
	}
	return env.Extend(g...)
}

// compiled is a checked expression and its programs.
type compiled struct {
	env  *cel.Env
	ast  *cel.Ast
	prog cel.Program
	err  *ExprError // compile error; Offset is relative to the expression

	// partial is the program for dry runs, built when first needed.
	partialOnce sync.Once
	partial     cel.Program
	partialErr  error
}

// programOptions are the options of every program.
func programOptions() []cel.ProgramOption {
	return []cel.ProgramOption{
		cel.CostLimit(CostLimit),
		cel.InterruptCheckFrequency(interruptEvery),
		cel.CustomDecoratorV2(sortMapLiterals),
		cel.CustomDecoratorV2(guardMatches),
		cel.CustomDecoratorV2(chargeDynamicAdd),
	}
}

type cacheKey struct {
	kind exprKind
	text string
}

// maxCache bounds the program cache; it is cleared when full. Runbooks hold
// a few hundred expressions at most, so this only matters when something
// feeds arbitrary text.
const maxCache = 4096

var cache = struct {
	sync.RWMutex
	m map[cacheKey]*compiled
}{m: map[cacheKey]*compiled{}}

// compile compiles text (an expression, not a template) for kind, from
// the cache when it was compiled before. It is a pure function of its
// arguments.
func compile(kind exprKind, text string) *compiled {
	key := cacheKey{kind, text}
	cache.RLock()
	c, ok := cache.m[key]
	cache.RUnlock()
	if ok {
		return c
	}
	c = compileUncached(kind, text)
	cache.Lock()
	if len(cache.m) >= maxCache {
		clear(cache.m)
	}
	cache.m[key] = c
	cache.Unlock()
	return c
}

func compileUncached(kind exprKind, text string) *compiled {
	env, err := celEnv(kind)
	if err != nil {
		return &compiled{err: &ExprError{Text: text, Offset: -1, Msg: "expression environment: " + err.Error()}}
	}
	if strings.TrimSpace(text) == "" {
		return &compiled{err: &ExprError{Text: text, Offset: 0, Msg: "empty expression"}}
	}
	ast, iss := env.Compile(text)
	if iss != nil && iss.Err() != nil {
		return &compiled{err: issueError(text, iss)}
	}
	prog, err := env.Program(ast, programOptions()...)
	if err != nil {
		return &compiled{err: &ExprError{Text: text, Offset: -1, Msg: err.Error()}}
	}
	c := &compiled{env: env, ast: ast, prog: prog}
	if msg := estimateProblem(c); msg != "" {
		return &compiled{err: &ExprError{Text: text, Offset: -1, Msg: msg}}
	}
	return c
}

// issueError turns CEL's first issue into an ExprError whose offset is a
// byte offset into text.
func issueError(text string, iss *cel.Issues) *ExprError {
	errs := iss.Errors()
	if len(errs) == 0 {
		return &ExprError{Text: text, Offset: -1, Msg: iss.Err().Error()}
	}
	e := errs[0]
	msg := strings.TrimSuffix(e.Message, " (in container '')")
	off := -1
	if loc := e.Location; loc != nil && loc.Line() > 0 {
		off = lineColOffset(text, loc.Line(), loc.Column())
	}
	return &ExprError{Text: text, Offset: off, Msg: msg}
}

// lineColOffset converts CEL's 1-based line and 0-based column (in code
// points) into a byte offset in text.
func lineColOffset(text string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	for c := 0; c < col && off < len(text); c++ {
		_, n := utf8.DecodeRuneInString(text[off:])
		off += n
	}
	return off
}

// runeOffset converts a code-point offset into a byte offset in text.
func runeOffset(text string, runes int) int {
	off := 0
	for i := 0; i < runes && off < len(text); i++ {
		_, n := utf8.DecodeRuneInString(text[off:])
		off += n
	}
	return off
}

// Eval evaluates a CEL expression over vars and returns its value as plain
// Go data: nil, bool, int64, uint64, float64, string, []byte, []any,
// map[string]any; durations and timestamps as strings ("1h30m0s",
// RFC 3339). The same expression and vars always give the same result.
func Eval(expr string, vars Vars) (any, error) {
	c := compile(kindUntil, expr)
	if c.err != nil {
		return nil, c.err
	}
	ctx, cancel := evalContext()
	defer cancel()
	return run(ctx, c, expr, vars)
}

// EvalBool evaluates a condition: the expression must yield true or false.
func EvalBool(expr string, vars Vars) (bool, error) {
	v, err := Eval(expr, vars)
	if err != nil {
		return false, err
	}
	return asCondition(expr, v)
}

// asCondition is a condition's value as true or false, or the error of a
// condition that yields anything else.
func asCondition(expr string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, &ExprError{Text: expr, Offset: -1, Msg: fmt.Sprintf("condition is %s, not true or false", typeName(v))}
	}
	return b, nil
}

func run(ctx context.Context, c *compiled, text string, vars Vars) (any, error) {
	val, _, err := c.prog.ContextEval(ctx, activation(vars))
	if err != nil {
		return nil, &ExprError{Text: text, Offset: -1, Msg: evalMessage(err)}
	}
	if err := checkValueSize(val); err != nil {
		return nil, &ExprError{Text: text, Offset: -1, Msg: err.Error()}
	}
	out, err := toNative(val)
	if err != nil {
		return nil, &ExprError{Text: text, Offset: -1, Msg: err.Error()}
	}
	return out, nil
}

// runPartial evaluates with steps and output unknown, as a dry run sees
// them: a value that depends on them is Unknown.
func runPartial(ctx context.Context, c *compiled, text string, vars Vars) (any, error) {
	c.partialOnce.Do(func() {
		c.partial, c.partialErr = c.env.Program(c.ast, append(programOptions(), cel.EvalOptions(cel.OptPartialEval))...)
	})
	if c.partialErr != nil {
		return nil, &ExprError{Text: text, Offset: -1, Msg: c.partialErr.Error()}
	}
	act, err := cel.PartialVars(map[string]any{
		"alert":    orEmpty(vars.Alert),
		"incident": orEmpty(vars.Incident),
	}, cel.AttributePattern("steps"), cel.AttributePattern("output"))
	if err != nil {
		return nil, &ExprError{Text: text, Offset: -1, Msg: err.Error()}
	}
	val, _, err := c.partial.ContextEval(ctx, act)
	if types.IsUnknown(val) {
		return Unknown{}, nil
	}
	if err != nil {
		return nil, &ExprError{Text: text, Offset: -1, Msg: evalMessage(err)}
	}
	if err := checkValueSize(val); err != nil {
		return nil, &ExprError{Text: text, Offset: -1, Msg: err.Error()}
	}
	out, err := toNative(val)
	if err != nil {
		return nil, &ExprError{Text: text, Offset: -1, Msg: err.Error()}
	}
	return out, nil
}

// Unknown stands for a value a dry run cannot know: it depends on steps
// that have not run, or on a verify's output.
type Unknown struct{}

func (Unknown) String() string { return "<unknown until earlier steps run>" }

// MarshalJSON writes an Unknown as its string.
func (u Unknown) MarshalJSON() ([]byte, error) { return marshalJSON(u.String()) }

// EvalPartial evaluates expr as a dry run does: alert and incident are
// known; steps and output are not, and a value that depends on them is
// Unknown. CEL's logic still decides what it can: `false && steps.a.x` is
// false.
func EvalPartial(expr string, vars Vars) (any, error) {
	c := compile(kindUntil, expr)
	if c.err != nil {
		return nil, c.err
	}
	ctx, cancel := evalContext()
	defer cancel()
	return runPartial(ctx, c, expr, vars)
}

// RenderPartial renders inputs as a dry run does (see EvalPartial): an
// input whose template depends on steps is Unknown.
func RenderPartial(with map[string]any, vars Vars) (map[string]any, error) {
	return renderInputs(with, vars, true)
}

func evalMessage(err error) string {
	if msg := limitMessage(err); msg != "" {
		return msg
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "no such overload") {
		return msg + ": the operands' types do not fit (numbers in step outputs are JSON numbers, i.e. doubles: convert with int() or compare instead)"
	}
	if strings.Contains(msg, "cost limit exceeded") {
		return fmt.Sprintf("expression too costly: it exceeded the cost limit of %d", CostLimit)
	}
	return msg
}

func activation(vars Vars) map[string]any {
	return map[string]any{
		"alert":    orEmpty(vars.Alert),
		"steps":    orEmpty(vars.Steps),
		"incident": orEmpty(vars.Incident),
		"output":   orEmpty(vars.Output),
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// Render returns a copy of with in which every templated string, in maps
// and lists too, is replaced by its value. A string that is exactly one
// template ("${ expr }") takes the expression's value and type; any other
// string with templates gets each value formatted into it. "$${" stands for
// a literal "${". Errors name the input; keys are rendered in sorted order,
// so the first error reported is always the same one.
func Render(with map[string]any, vars Vars) (map[string]any, error) {
	return renderInputs(with, vars, false)
}

func renderInputs(with map[string]any, vars Vars, partial bool) (map[string]any, error) {
	if with == nil {
		return nil, nil
	}
	ctx, cancel := evalContext()
	defer cancel()
	v, err := renderValue(ctx, with, vars, "", partial)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// RenderString renders one string as Render does.
func RenderString(s string, vars Vars) (any, error) {
	ctx, cancel := evalContext()
	defer cancel()
	return renderString(ctx, s, vars, false)
}

func renderValue(ctx context.Context, v any, vars Vars, path string, partial bool) (any, error) {
	switch x := v.(type) {
	case string:
		r, err := renderString(ctx, x, vars, partial)
		if err != nil {
			return nil, inputError(path, err)
		}
		return r, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			r, err := renderValue(ctx, x[k], vars, joinPath(path, k), partial)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := renderValue(ctx, e, vars, fmt.Sprintf("%s[%d]", path, i), partial)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// InputError is a templated input that failed to render.
type InputError struct {
	// Input is the input's path under with: ("table", "query.params[0]").
	Input string
	Err   error
}

func (e *InputError) Error() string { return "input " + e.Input + ": " + e.Err.Error() }

func (e *InputError) Unwrap() error { return e.Err }

func inputError(path string, err error) error {
	if path == "" {
		return err
	}
	return &InputError{Input: path, Err: err}
}

// renderString renders s. When partial is set, steps and output are
// unknown: values that depend on them come back as Unknown (dry runs).
func renderString(ctx context.Context, s string, vars Vars, partial bool) (any, error) {
	segs, err := parseTemplate(s)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return s, nil
	}
	eval := func(sg segment) (any, error) {
		c := compile(kindCondition, sg.expr)
		if c.err != nil {
			e := *c.err
			e.Text = s
			if e.Offset >= 0 {
				e.Offset += sg.start
			}
			return nil, &e
		}
		var (
			v   any
			err error
		)
		if partial {
			v, err = runPartial(ctx, c, sg.expr, vars)
		} else {
			v, err = run(ctx, c, sg.expr, vars)
		}
		if err != nil {
			var ee *ExprError
			if errors.As(err, &ee) {
				e := *ee
				e.Text = s
				return nil, &e
			}
			return nil, err
		}
		return v, nil
	}
	if len(segs) == 1 && segs[0].isExpr && segs[0].start == 2 && segs[0].end == len(s)-1 {
		return eval(segs[0])
	}
	var b strings.Builder
	for _, sg := range segs {
		if !sg.isExpr {
			b.WriteString(sg.text)
			continue
		}
		v, err := eval(sg)
		if err != nil {
			return nil, err
		}
		if u, ok := v.(Unknown); ok {
			return u, nil
		}
		b.WriteString(formatValue(v))
		if b.Len() > MaxValueSize {
			return nil, &ExprError{Text: s, Offset: -1, Msg: fmt.Sprintf("template too large: its text is more than the limit of %d bytes", MaxValueSize)}
		}
	}
	return b.String(), nil
}

// segment is a piece of a template: literal text or an expression.
type segment struct {
	isExpr bool
	text   string // literal text (with "$${" already turned into "${")
	expr   string // the expression between "${" and "}"
	// start and end are the byte offsets of the expression in the string.
	start, end int
}

// HasTemplate reports whether s holds a template.
func HasTemplate(s string) bool {
	segs, err := parseTemplate(s)
	if err != nil {
		return true
	}
	for _, sg := range segs {
		if sg.isExpr {
			return true
		}
	}
	return false
}

// parseTemplate splits s into literal text and "${ expr }" expressions. It
// returns no segments when s has no template and no "$${" escape. The end
// of an expression is the first "}" outside brackets and string literals,
// so maps and strings with braces work inside a template.
func parseTemplate(s string) ([]segment, error) {
	if !strings.Contains(s, "${") {
		return nil, nil
	}
	var (
		segs []segment
		lit  strings.Builder
	)
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		j += i
		if j > 0 && s[j-1] == '$' {
			// "$${" is a literal "${".
			lit.WriteString(s[i:j-1] + "${")
			i = j + 2
			continue
		}
		lit.WriteString(s[i:j])
		end, err := templateEnd(s, j+2)
		if err != nil {
			return nil, err
		}
		if lit.Len() > 0 {
			segs = append(segs, segment{text: lit.String()})
			lit.Reset()
		}
		expr := s[j+2 : end]
		if strings.TrimSpace(expr) == "" {
			return nil, &ExprError{Text: s, Offset: j, Msg: "empty template ${}"}
		}
		segs = append(segs, segment{isExpr: true, expr: expr, start: j + 2, end: end})
		i = end + 1
	}
	if lit.Len() > 0 {
		segs = append(segs, segment{text: lit.String()})
	}
	return segs, nil
}

// templateEnd finds the "}" that closes the template whose expression
// starts at from.
func templateEnd(s string, from int) (int, error) {
	depth := 0
	for i := from; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '"':
			end, err := skipString(s, i, from)
			if err != nil {
				return 0, err
			}
			i = end
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i, nil
			}
			depth--
		}
	}
	return 0, &ExprError{Text: s, Offset: from - 2, Msg: "template ${ is not closed with }"}
}

// skipString returns the offset of the quote closing the CEL string
// literal that opens at s[i]. Raw strings (r"...", rb'...') take
// backslashes literally.
func skipString(s string, i, exprStart int) (int, error) {
	q := s[i]
	raw := false
	k := i - 1
	for ; k >= exprStart && k >= i-2; k-- {
		c := s[k] | 0x20
		if c != 'r' && c != 'b' {
			break
		}
		if c == 'r' {
			raw = true
		}
	}
	if raw && k >= exprStart && isIdentByte(s[k]) {
		raw = false // "bar'x'": the r ends an identifier, not a prefix
	}
	delim := string(q)
	if strings.HasPrefix(s[i:], strings.Repeat(delim, 3)) {
		delim = strings.Repeat(delim, 3)
	}
	for k := i + len(delim); k < len(s); k++ {
		switch {
		case s[k] == '\\' && !raw:
			k++
		case strings.HasPrefix(s[k:], delim):
			return k + len(delim) - 1, nil
		case s[k] == '\n' && len(delim) == 1:
			return 0, &ExprError{Text: s, Offset: i, Msg: "string literal in template is not closed"}
		}
	}
	return 0, &ExprError{Text: s, Offset: i, Msg: "string literal in template is not closed"}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// formatValue formats a value into a string template: strings as they are,
// whole numbers without a decimal point, null as "null", lists and maps as
// JSON with sorted keys.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return formatFloat(x)
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	}
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// marshalJSON is json.Marshal without HTML escaping: "a&b" stays a&b.
func marshalJSON(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// toNative converts a CEL value into plain Go data, visiting map keys in
// sorted order.
func toNative(v ref.Val) (any, error) {
	switch x := v.(type) {
	case *types.Err:
		return nil, x
	case *types.Unknown:
		return nil, errors.New("value depends on unknown data")
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		return float64(x), nil
	case types.String:
		return string(x), nil
	case types.Bytes:
		return []byte(x), nil
	case types.Duration:
		return x.Duration.String(), nil
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339Nano), nil
	case *types.Optional:
		if !x.HasValue() {
			return nil, nil
		}
		return toNative(x.GetValue())
	case ref.Type:
		return x.TypeName(), nil
	case traits.Mapper:
		out := map[string]any{}
		it := sortedMap{x}.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok := k.(types.String)
			var key string
			if ok {
				key = string(ks)
			} else {
				kn, err := toNative(k)
				if err != nil {
					return nil, err
				}
				key = formatValue(kn)
			}
			ev, err := toNative(x.Get(k))
			if err != nil {
				return nil, err
			}
			out[key] = ev
		}
		return out, nil
	case traits.Lister:
		n, ok := x.Size().(types.Int)
		if !ok {
			return nil, errors.New("list of unknown size")
		}
		out := make([]any, 0, int(n))
		for i := types.Int(0); i < n; i++ {
			ev, err := toNative(x.Get(i))
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value of type %s", v.Type().TypeName())
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a bool"
	case int64, uint64:
		return "an int"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// adapter turns Go values into CEL values. Maps come back as sortedMap so
// that comprehensions over them (map, filter, exists, …) visit keys in
// sorted order, never in Go's random map order.
type adapter struct{}

func (a adapter) NativeToValue(v any) ref.Val {
	switch x := v.(type) {
	case nil:
		return types.NullValue
	case sortedMap:
		return x
	case traits.Mapper:
		return sortedMap{x}
	case ref.Val:
		return x
	case map[string]any:
		return sortedMap{types.NewStringInterfaceMap(a, x)}
	case map[string]string:
		return sortedMap{types.NewStringStringMap(a, x)}
	case []any:
		return types.NewDynamicList(a, x)
	case []string:
		return types.NewStringList(a, x)
	case []byte:
		return types.Bytes(x)
	case int:
		return types.Int(x)
	case uint64:
		return types.Uint(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.IsNil() {
			return sortedMap{types.NewStringInterfaceMap(a, map[string]any{})}
		}
		return sortedMap{types.NewDynamicMap(a, v)}
	case reflect.Slice:
		if rv.IsNil() {
			return types.NewDynamicList(a, []any{})
		}
		return types.NewDynamicList(a, v)
	case reflect.Array:
		return types.NewDynamicList(a, v)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

// sortedMap is a CEL map whose iterator visits keys in sorted order.
type sortedMap struct{ traits.Mapper }

// Iterator visits the keys in order: bools, then numbers, then strings.
func (m sortedMap) Iterator() traits.Iterator {
	var keys []ref.Val
	it := m.Mapper.Iterator()
	for it.HasNext() == types.True {
		keys = append(keys, it.Next())
	}
	sort.SliceStable(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	return &keyIterator{keys: keys}
}

func keyRank(v ref.Val) int {
	switch v.(type) {
	case types.Bool:
		return 0
	case types.Int, types.Uint, types.Double:
		return 1
	case types.String:
		return 2
	}
	return 3
}

func keyLess(a, b ref.Val) bool {
	ra, rb := keyRank(a), keyRank(b)
	if ra != rb {
		return ra < rb
	}
	switch x := a.(type) {
	case types.Bool:
		return !bool(x) && bool(b.(types.Bool))
	case types.String:
		return x < b.(types.String)
	}
	if c, ok := a.(traits.Comparer); ok {
		if r, ok := c.Compare(b).(types.Int); ok {
			return r < 0
		}
	}
	return fmt.Sprint(a.Value()) < fmt.Sprint(b.Value())
}

type keyIterator struct {
	keys []ref.Val
	i    int
}

func (it *keyIterator) HasNext() ref.Val { return types.Bool(it.i < len(it.keys)) }

func (it *keyIterator) Next() ref.Val {
	if it.i >= len(it.keys) {
		return nil
	}
	k := it.keys[it.i]
	it.i++
	return k
}

func (it *keyIterator) ConvertToNative(reflect.Type) (any, error) {
	return nil, errors.New("type conversion on iterators not supported")
}
func (it *keyIterator) ConvertToType(ref.Type) ref.Val { return types.NewErr("no such overload") }
func (it *keyIterator) Equal(ref.Val) ref.Val          { return types.NewErr("no such overload") }
func (it *keyIterator) Type() ref.Type                 { return types.IteratorType }
func (it *keyIterator) Value() any                     { return nil }

// sortMapLiterals makes map literals ({"b": 1, "a": 2}) sortedMaps too.
func sortMapLiterals(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
	if c, ok := i.(interpreter.InterpretableConstructor); ok && c.Type() == types.MapType {
		return sortedConstructor{c}, nil
	}
	return i, nil
}

type sortedConstructor struct {
	interpreter.InterpretableConstructor
}

func (s sortedConstructor) Exec(f *interpreter.ExecutionFrame) ref.Val {
	return sortedVal(s.InterpretableConstructor.Exec(f))
}

func (s sortedConstructor) Eval(a interpreter.Activation) ref.Val {
	return sortedVal(s.InterpretableConstructor.Eval(a))
}

func sortedVal(v ref.Val) ref.Val {
	if m, ok := v.(traits.Mapper); ok {
		if _, done := m.(sortedMap); !done {
			return sortedMap{m}
		}
	}
	return v
}
