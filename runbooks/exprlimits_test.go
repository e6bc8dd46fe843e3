package runbooks

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// doubling is the expression that allocated ~200 MiB in half a second
// before the limits: list concatenation cost one unit and concatenated
// lazily, so n nested doublings of seed built a list of 2^n elements for
// about 40·n units, which returning, encoding or comparing it then
// materialized.
func doubling(seed string, n int) string {
	out := fmt.Sprintf("v%d", n)
	for i := n; i > 0; i-- {
		out = fmt.Sprintf("[v%d + v%d].map(v%d, %s)[0]", i-1, i-1, i, out)
	}
	return fmt.Sprintf("[%s].map(v0, %s)[0]", seed, out)
}

// TestExprRefusedStatically: an expression that is too costly whatever its
// inputs fails to compile, so validation refuses its runbook, with a
// message that names the limit.
func TestExprRefusedStatically(t *testing.T) {
	for _, expr := range []string{
		doubling("[1]", 20),
		"json.encode(" + doubling("[1]", 20) + ")",
		`"%s".format([` + doubling("[1]", 20) + `])`,
		doubling("[1]", 24) + " == " + doubling("[1]", 24),
		doubling("[1]", 20) + ".sort()",
		`lists.range(1000000).size()`,
		`lists.range(1000).map(i, lists.range(1000).map(j, j)).size()`,
		`lists.range(20000).map(i, i).sortBy(x, -x).size()`,
		`["a,".replace("a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")].map(s, [s.replace(",", s)].map(t, [t.replace(",", t)].map(u, u.split(",").size())))`,
	} {
		_, err := Eval(expr, testVars())
		var ee *ExprError
		if !errors.As(err, &ee) || !strings.Contains(ee.Msg, "expression too costly: its estimated cost is") || !strings.Contains(ee.Msg, "the cost limit of 1000000") {
			t.Errorf("Eval(%.60s): %v, want refused by its estimated cost", expr, err)
		}
	}
}

func TestValidateRefusesCostlyExpression(t *testing.T) {
	rb := &Runbook{
		Name: "costly", Description: "d", Owner: "o", Source: "code",
		Match: Match{Service: "x"},
		Steps: []Step{{
			ID: "a", Pos: Pos{7, 3}, When: doubling("[1]", 20) + ".size() > 0",
			Check: &Call{Action: "core.http", With: map[string]any{"url": "${ 'http://x/' + string(" + doubling("[1]", 20) + ".size()) }"}},
		}},
	}
	err := ValidateRunbook(rb, testCatalog())
	if err == nil || strings.Count(err.Error(), "expression too costly: its estimated cost is at least") != 2 {
		t.Fatalf("validate: %v, want the when and the input refused by their estimated cost", err)
	}
}

// bigVars are inputs at sizes an alert or a step could bring: the
// expressions below depend on them, so their estimates are unbounded and
// only the runtime limits can stop them.
func bigVars() Vars {
	list := make([]any, 2000)
	for i := range list {
		list[i] = int64(i)
	}
	v := testVars()
	v.Alert["description"] = strings.Repeat("a", 200_000)
	v.Alert["labels"] = map[string]any{"n": "200000", "sep": strings.Repeat(",", 1000)}
	v.Steps = map[string]any{"a": map[string]any{"status": "ok", "summary": "", "output": map[string]any{"rows": list, "text": strings.Repeat("x", 1000)}}}
	return v
}

// TestExprLimitsAtRuntime: expressions whose cost depends on their inputs
// pass validation and fail when they run, with an error naming the limit.
func TestExprLimitsAtRuntime(t *testing.T) {
	for _, tc := range []struct {
		expr, msg string
	}{
		// the doubling, seeded from a step's output of unknown length:
		// list concatenation is now charged by the length of its result
		{doubling("steps.a.output.rows", 12) + ".size()", "expression too costly: it exceeded the cost limit of 1000000"},
		{"json.encode(" + doubling("steps.a.output.rows", 12) + ")", "expression too costly: it exceeded the cost limit of 1000000"},
		{doubling("steps.a.output.rows", 12) + " == " + doubling("steps.a.output.rows", 12), "expression too costly: it exceeded the cost limit of 1000000"},
		// the same with a string read from a step (its + is dispatched
		// when it runs, which CEL charged 1)
		{doubling("steps.a.output.text", 14) + ".size()", "expression too costly: it exceeded the cost limit of 1000000"},
		// pairwise list functions are checked before they run
		{`sets.contains(steps.a.output.rows, steps.a.output.rows)`, "sets.contains over lists of 2000 and 2000 elements would exceed the cost limit of 1000000"},
		{`steps.a.output.rows.hasAll(steps.a.output.rows)`, "hasAll over lists of 2000 and 2000 elements would exceed the cost limit of 1000000"},
		// string builders are checked before they allocate
		{`alert.description.replace("a", "bbbbbbbbbb").size()`, "replace would make a string of 2000000 bytes, more than the limit of 1048576"},
		{`steps.a.output.rows.map(r, string(r)).join(alert.labels.sep).size()`, "join would make a string of"},
		{`alert.description.matches("^(a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q|r|s|t|u|v|w|x|y|z)+$")`, "matches over 200000 bytes of text with a pattern of 56 bytes would exceed the cost limit of 1000000"},
		// the value is recorded in the workflow history
		{`alert.description + alert.description`, "its value has size 400000, more than the limit of 262144"},
		{`lists.range(int(alert.labels.n)).size()`, "lists.range"},
	} {
		_, err := Eval(tc.expr, bigVars())
		var ee *ExprError
		if !errors.As(err, &ee) || !strings.Contains(ee.Msg, tc.msg) {
			t.Errorf("Eval(%.60s): %v, want %q", tc.expr, err, tc.msg)
		}
		// The dry run has the same limits. What reads steps is unknown to
		// it: the answer is Unknown, or the same limit when the expression
		// is costly before any step's value is needed; never a value.
		got, err := EvalPartial(tc.expr, bigVars())
		if strings.Contains(tc.expr, "steps.") {
			_, unknown := got.(Unknown)
			if !(err == nil && unknown) && !(err != nil && strings.Contains(err.Error(), tc.msg)) {
				t.Errorf("EvalPartial(%.60s) = %v, %v; want Unknown or %q", tc.expr, got, err, tc.msg)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("EvalPartial(%.60s): %v, want %q", tc.expr, err, tc.msg)
		}
	}
	// A template's value and its text are bounded too.
	_, err := Render(map[string]any{"body": "x${ alert.description }${ alert.description }"}, bigVars())
	if err == nil || !strings.Contains(err.Error(), "input body: template too large: its text is more than the limit of 262144 bytes") {
		t.Errorf("Render: %v", err)
	}
}

// TestExprDeadline: an evaluation still running at its deadline stops with
// an error naming the time limit. The deadline has passed before it
// starts, so the test does not depend on timing.
func TestExprDeadline(t *testing.T) {
	ctx, cancel := evalContext()
	cancel()
	c := compile(kindUntil, `steps.a.output.rows.all(r, r >= 0)`)
	if c.err != nil {
		t.Fatal(c.err)
	}
	_, err := run(ctx, c, "x", bigVars())
	if err == nil || !strings.Contains(err.Error(), "expression too slow: it ran longer than the time limit of 250ms") {
		t.Fatalf("run after the deadline: %v", err)
	}
}

// BenchmarkExprPathological reports what the pathological expressions
// allocate now (B/op): before the limits, doubling("[1]", 20) returned a
// list of 2^20 elements for 104 MiB, its json.encode allocated 194 MiB,
// .sort() 280 MiB and doubling 24 compared with itself 3.8 GiB.
func BenchmarkExprPathological(b *testing.B) {
	for _, bc := range []struct{ name, expr string }{
		{"doubling20", doubling("[1]", 20)},
		{"doubling20-json", "json.encode(" + doubling("[1]", 20) + ")"},
		{"doubling20-sort", doubling("[1]", 20) + ".sort()"},
		{"doubling24-equal", doubling("[1]", 24) + " == " + doubling("[1]", 24)},
		{"doubling12-input", "json.encode(" + doubling("steps.a.output.rows", 12) + ")"},
		{"sets-input", `sets.contains(steps.a.output.rows, steps.a.output.rows)`},
		{"replace-input", `alert.description.replace("a", "bbbbbbbbbb").size()`},
	} {
		vars := bigVars()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Eval(bc.expr, vars); err == nil {
					b.Fatal("no error")
				}
			}
		})
	}
}
