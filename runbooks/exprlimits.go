package runbooks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
	"cel.dev/cel-go/parser"
)

// Expressions run inside workflow code, where a workflow task that does not
// yield within a second trips Temporal's deadlock detector, so every
// evaluation is bounded in work, in size and in time. CEL's cost limit alone
// bounds neither allocation nor time: it charges a call after the call has
// run, and charged list concatenation as one unit although the result
// holds both lists, so `[l + l].map(...)` nested twenty times built a list of
// a million elements for about 800 units, and encoding or returning it
// allocated some 200 MiB. The limits, in the order they apply:
//
//   - at validation, the expression's static cost estimate must stay within
//     CostLimit: an expression that costs more whatever the alert says is
//     refused before it can run;
//   - while it runs, CostLimit bounds the work (list concatenation is
//     charged by the length of its result), and the calls whose work or
//     result can outgrow their charge check their arguments first: strings
//     are at most MaxStringSize bytes, pairwise list and regular expression
//     matching at most CostLimit steps;
//   - its value is at most MaxValueSize (bytes of strings plus one per
//     element): it is recorded in the workflow history;
//   - an evaluation that still runs after EvalTimeout is stopped.
//
// Each of them fails the evaluation with an error that names the limit; in
// a workflow that fails the step.
const (
	// CostLimit bounds one evaluation, in CEL's cost units (about one per
	// operation, more for work proportional to a string's or list's size).
	CostLimit = 1_000_000
	// MaxStringSize bounds the strings an expression builds, in bytes.
	MaxStringSize = 1 << 20
	// MaxValueSize bounds an expression's value: bytes of strings and bytes
	// plus one per list element, map entry or scalar.
	MaxValueSize = 256 << 10
	// MaxRangeSize bounds lists.range(n).
	MaxRangeSize = 100_000
	// EvalTimeout stops an evaluation (a condition, or all the templates of
	// one step's inputs) that runs longer, as a last resort: the other
	// limits keep any expression far below it. Where the time shows (the
	// evaluation runs in a workflow side effect), the outcome is recorded,
	// so replay does not depend on it.
	EvalTimeout = 250 * time.Millisecond
)

// interruptEvery is how many comprehension iterations run between checks
// of the deadline.
const interruptEvery = 100

// costModels are the cost models that differ from CEL's: list
// concatenation costs the length of the list it makes (CEL charges 1, and
// its lists concatenate lazily, so repeated doubling cost nothing while
// the value grew exponentially).
//
// The list a comprehension builds (map, filter) grows by appending to its
// accumulator, one element at a time: those appends still cost 1.
func costModels() cel.EnvOption {
	return cel.CostModel(
		cost.Overload(overloads.AddList,
			cost.ManualCost(estimateAddList, trackAddList),
		),
		dynAdd,
	)
}

// dynAdd is the cost model of a + whose operands' types are only known
// when it runs (values read from step outputs are dyn): CEL charges such a
// call 1 whatever it builds, so chargeDynamicAdd charges it here as a
// typed + would be: a list by its length, a string by a tenth of its.
var dynAdd = cost.Overload(dynAddID, cost.ManualCost(
	func(cost.Estimator, *cost.AstNode, []cost.AstNode) *cost.CallEstimate { return nil },
	func(_ []ref.Val, result ref.Val) *uint64 {
		c := uint64(1)
		if n := listLen(result); n >= 0 {
			c = cost.SafeAdd(uint64(n), 1)
		} else if n := byteLen(result); n >= 0 {
			c = cost.SafeAdd(uint64(n/10), 1)
		}
		return &c
	}))

const dynAddID = "datasev_dyn_add"

type dynAddCall struct{}

func (dynAddCall) Function() string   { return operators.Add }
func (dynAddCall) OverloadID() string { return dynAddID }

// chargeDynamicAdd charges the + calls that CEL dispatches at run time.
func chargeDynamicAdd(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
	call, ok := i.(interpreter.InterpretableCall)
	if !ok || call.Function() != operators.Add {
		return i, nil
	}
	switch call.OverloadID() {
	case overloads.AddList, overloads.AddString, overloads.AddBytes:
		return i, nil // charged by their models
	}
	return dynAddCharged{call}, nil
}

type dynAddCharged struct{ interpreter.InterpretableCall }

func (d dynAddCharged) Exec(f *interpreter.ExecutionFrame) ref.Val {
	res := d.InterpretableCall.Exec(f)
	if t := f.CostTracker(); t != nil && (listLen(res) >= 0 || byteLen(res) >= 0) {
		t.EvalBinary(f, d.ID(), dynAddCall{}, res, res, res)
	}
	return res
}

func (d dynAddCharged) Eval(a interpreter.Activation) ref.Val {
	return interpreter.EvalActivation(a, d.Exec)
}

func estimateAddList(est cost.Estimator, _ *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	if len(args) != 2 {
		return nil
	}
	size := cost.EstimateSize(est, args[0]).Add(cost.EstimateSize(est, args[1]))
	c := cost.CostEstimate{Min: 1, Max: 1}
	if !isAccumulator(args[0]) {
		c = cost.CostEstimate{Min: cost.SafeAdd(size.Min, 1), Max: cost.SafeAdd(size.Max, 1)}
	}
	return cost.NewCallEstimate(c, &size)
}

// isAccumulator reports whether n is a comprehension's accumulator, which
// expressions cannot name.
func isAccumulator(n cost.AstNode) bool {
	e := n.Expr()
	return e != nil && e.Kind() == celast.IdentKind && (e.AsIdent() == parser.HiddenAccumulatorName || e.AsIdent() == parser.AccumulatorName)
}

func trackAddList(args []ref.Val, result ref.Val) *uint64 {
	c := uint64(1)
	if _, appending := args[0].(traits.MutableLister); !appending {
		c = cost.SafeAdd(uint64(max(listLen(result), 0)), 1)
	}
	return &c
}

// limitError aborts an evaluation from inside a function: CEL turns the
// panic into the evaluation's error, which no surrounding && or || can
// absorb.
func limitError(format string, args ...any) {
	panic(interpreter.EvalCancelledError{Cause: interpreter.CostLimitExceeded, Message: fmt.Sprintf(format, args...)})
}

// guard checks a call's arguments before the call runs.
type guard struct {
	function, overload string
	check              func(args []ref.Val)
}

var guards = []guard{
	{"replace", "string_replace_string_string", checkReplace},
	{"replace", "string_replace_string_string_int", checkReplace},
	{"join", "list_join", checkJoin},
	{"join", "list_join_string", checkJoin},
	{"sets.contains", "list_sets_contains_list", checkPairwise("sets.contains")},
	{"sets.equivalent", "list_sets_equivalent_list", checkPairwise("sets.equivalent")},
	{"sets.intersects", "list_sets_intersects_list", checkPairwise("sets.intersects")},
	{"hasOnly", "list_hasOnly_list", checkPairwise("hasOnly")},
	{"hasAny", "list_hasAny_list", checkPairwise("hasAny")},
	{"hasAll", "list_hasAll_list", checkPairwise("hasAll")},
	{"hasExactly", "list_hasExactly_list", checkPairwise("hasExactly")},
}

// guarded returns options that redefine the guarded overloads of env with
// their checks in front of the library's own implementations.
func guarded(env *cel.Env) ([]cel.EnvOption, error) {
	fns := env.Functions()
	var opts []cel.EnvOption
	for _, g := range guards {
		fd, ok := fns[g.function]
		if !ok {
			return nil, fmt.Errorf("guarded function %s is not declared", g.function)
		}
		bindings, err := fd.Bindings()
		if err != nil {
			return nil, err
		}
		var impl func(args []ref.Val) ref.Val
		for _, b := range bindings {
			if b.Operator == g.overload {
				impl = callOf(b.Unary, b.Binary, b.Function)
			}
		}
		var decl interface {
			ArgTypes() []*types.Type
			ResultType() *types.Type
			IsMemberFunction() bool
		}
		for _, od := range fd.OverloadDecls() {
			if od.ID() == g.overload {
				decl = od
			}
		}
		if impl == nil || decl == nil {
			return nil, fmt.Errorf("guarded overload %s of %s is not declared", g.overload, g.function)
		}
		check := g.check
		binding := cel.FunctionBinding(func(args ...ref.Val) ref.Val {
			check(args)
			return impl(args)
		})
		overload := cel.Overload
		if decl.IsMemberFunction() {
			overload = cel.MemberOverload
		}
		opts = append(opts, cel.Function(g.function, overload(g.overload, decl.ArgTypes(), decl.ResultType(), binding)))
	}
	return opts, nil
}

func callOf(unary func(ref.Val) ref.Val, binary func(ref.Val, ref.Val) ref.Val, fn func(...ref.Val) ref.Val) func([]ref.Val) ref.Val {
	return func(args []ref.Val) ref.Val {
		switch {
		case len(args) == 1 && unary != nil:
			return unary(args[0])
		case len(args) == 2 && binary != nil:
			return binary(args[0], args[1])
		case fn != nil:
			return fn(args...)
		}
		return types.NewErr("no such overload")
	}
}

// byteLen is the length in bytes of a string or bytes value, or -1.
func byteLen(v ref.Val) int {
	switch x := v.(type) {
	case types.String:
		return len(x)
	case types.Bytes:
		return len(x)
	}
	return -1
}

func listLen(v ref.Val) int {
	if l, ok := v.(traits.Lister); ok {
		if n, ok := l.Size().(types.Int); ok {
			return int(n)
		}
	}
	return -1
}

func stringTooLong(what string, n int) {
	limitError("expression too large: %s would make a string of %d bytes, more than the limit of %d", what, n, MaxStringSize)
}

func checkReplace(args []ref.Val) {
	if len(args) < 3 {
		return
	}
	s, okS := args[0].(types.String)
	old, okO := args[1].(types.String)
	repl, okR := args[2].(types.String)
	if !okS || !okO || !okR || len(repl) <= len(old) {
		return
	}
	count := strings.Count(string(s), string(old))
	if len(args) == 4 {
		if n, ok := args[3].(types.Int); ok && n >= 0 && int64(count) > int64(n) {
			count = int(n)
		}
	}
	if size := len(s) + count*(len(repl)-len(old)); size > MaxStringSize || count > MaxStringSize {
		stringTooLong("replace", max(size, count))
	}
}

func checkJoin(args []ref.Val) {
	l, ok := args[0].(traits.Lister)
	if !ok {
		return
	}
	sep := 0
	if len(args) == 2 {
		sep = max(byteLen(args[1]), 0)
	}
	size, n := 0, 0
	it := l.Iterator()
	for it.HasNext() == types.True {
		if n > 0 {
			size += sep
		}
		size += max(byteLen(it.Next()), 0)
		n++
		if size > MaxStringSize {
			stringTooLong("join", size)
		}
	}
}

// guardMatches bounds regular expression matching, which takes time
// proportional to the text's length times the pattern's and which CEL
// charges only once the match has run. matches has one binding for both
// its overloads, which cannot be redefined per overload, so the check is
// a decorator; like CEL's own regular expression size check it evaluates
// the arguments before the call does.
func guardMatches(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
	if call, ok := i.(interpreter.InterpretableCall); ok && call.Function() == overloads.Matches && len(call.Args()) == 2 {
		return matchesCall{call}, nil
	}
	return i, nil
}

type matchesCall struct{ interpreter.InterpretableCall }

func (m matchesCall) Exec(f *interpreter.ExecutionFrame) ref.Val {
	args := m.Args()
	text, pattern := byteLen(args[0].Exec(f)), byteLen(args[1].Exec(f))
	if text >= 0 && pattern >= 0 && int64(text+1)*int64(pattern+1) > 10*CostLimit {
		limitError("expression too costly: matches over %d bytes of text with a pattern of %d bytes would exceed the cost limit of %d", text, pattern, CostLimit)
	}
	return m.InterpretableCall.Exec(f)
}

func (m matchesCall) Eval(a interpreter.Activation) ref.Val {
	return interpreter.EvalActivation(a, m.Exec)
}

// checkPairwise bounds the set functions, which compare every element of
// one list with every element of the other.
func checkPairwise(name string) func([]ref.Val) {
	return func(args []ref.Val) {
		if len(args) == 2 {
			a, b := listLen(args[0]), listLen(args[1])
			if int64(a)*int64(b) > CostLimit {
				limitError("expression too costly: %s over lists of %d and %d elements would exceed the cost limit of %d", name, a, b, CostLimit)
			}
		}
	}
}

// valueSizer measures a value as MaxValueSize counts it, stopping soon
// after the limit.
var valueSizer = types.NewSizeCalculator(
	types.SizeCalculatorStringUnitLength(1),
	types.SizeCalculatorMaxDepth(64),
	types.SizeCalculatorMaxTraversal(MaxValueSize+1),
)

// checkValueSize fails when v is larger than MaxValueSize.
func checkValueSize(v ref.Val) error {
	if types.IsUnknown(v) || types.IsError(v) {
		return nil
	}
	size := valueSizer.ApproximateAggregateSize(v)
	if size.LimitExceeded || size.Size > MaxValueSize {
		if size.LimitExceeded || size.Size == math.MaxUint32 {
			return fmt.Errorf("expression too large: its value is more than the limit of %d (bytes of strings plus one per element), or nested more than 64 deep", MaxValueSize)
		}
		return fmt.Errorf("expression too large: its value has size %d, more than the limit of %d (bytes of strings plus one per element)", size.Size, MaxValueSize)
	}
	return nil
}

// evalContext is the context of one evaluation: its deadline is
// EvalTimeout from now.
func evalContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), EvalTimeout)
}

// limitMessage says which limit an evaluation error is, or "".
func limitMessage(err error) string {
	slow := fmt.Sprintf("expression too slow: it ran longer than the time limit of %s", EvalTimeout)
	if errors.Is(err, interpreter.InterruptError{}) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return slow
	}
	var cancelled interpreter.EvalCancelledError
	if !errors.As(err, &cancelled) {
		return ""
	}
	switch {
	case cancelled.Cause == interpreter.ContextCancelled:
		return slow
	case strings.HasPrefix(cancelled.Message, "expression too"):
		return cancelled.Message
	case strings.Contains(cancelled.Message, "cost limit"):
		return fmt.Sprintf("expression too costly: it exceeded the cost limit of %d", CostLimit)
	}
	return cancelled.Message
}

// estimateProblem says why a compiled expression's static cost estimate
// is over CostLimit, or "". The variables' sizes are unknown, so the
// estimate is unbounded for most expressions that read step outputs; what
// it refuses is the work the expression does whatever its inputs are.
func estimateProblem(c *compiled) string {
	est, err := c.env.EstimateCost(c.ast, noHints{})
	if err != nil {
		return ""
	}
	switch {
	case est.Min > CostLimit:
		return fmt.Sprintf("expression too costly: its estimated cost is at least %d, more than the cost limit of %d", est.Min, CostLimit)
	case est.Max > CostLimit && est.Max != math.MaxUint64:
		return fmt.Sprintf("expression too costly: its estimated cost is up to %d, more than the cost limit of %d", est.Max, CostLimit)
	}
	return ""
}

// noHints leaves every size to CEL's estimator.
type noHints struct{}

func (noHints) EstimateSize(cost.AstNode) *cost.SizeEstimate { return nil }

func (noHints) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}
