package runbooks

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func testVars() Vars {
	return Vars{
		Alert: AlertFacts{
			Source: "alertmanager", Title: "Orders load failed", DedupeKey: "orders", Severity: "SEV2",
			Status: "firing", Service: "orders", Dataset: "RAW.ORDERS",
			Labels: map[string]string{"alertname": "OrdersLoadFailed", "dag": "load_orders", "z": "26", "a": "1", "m": "13"},
		}.Vars(),
		Steps: map[string]any{
			// Numbers in outputs arrive as JSON numbers (float64).
			"health": map[string]any{"status": "ok", "summary": "200 OK", "output": map[string]any{
				"status": 200.0, "ok": true, "body": map[string]any{"state": "degraded", "lag": 12.5},
				"rows": []any{1.0, 2.0, 3.0},
			}},
			"skipped": map[string]any{"status": "skipped", "summary": "skipped", "output": map[string]any{}},
		},
		Incident: map[string]any{"id": "orders", "severity": "SEV2"},
	}
}

func TestEval(t *testing.T) {
	vars := testVars()
	for _, tc := range []struct {
		expr string
		want any
	}{
		{`alert.labels.alertname == "OrdersLoadFailed"`, true},
		{`alert.severity == "SEV1"`, false},
		{`"dag" in alert.labels && !("nope" in alert.labels)`, true},
		{`alert.labels.?nope.orValue("none")`, "none"},
		{`steps.health.status == "ok" && steps.health.output.ok`, true},
		// JSON numbers are doubles; equality and comparison work across
		// int and double.
		{`steps.health.output.status == 200`, true},
		{`steps.health.output.status >= 200 && steps.health.output.status < 300`, true},
		{`int(steps.health.output.status) + 1`, int64(201)},
		{`steps.health.output.body.lag * 2.0`, 25.0},
		{`steps.health.output.rows.size()`, int64(3)},
		{`steps.skipped.status == "ok" && steps.skipped.output.ok`, false}, // short-circuits the missing key
		{`has(steps.skipped.output.ok)`, false},
		{`incident.severity`, "SEV2"},
		{`alert.title.lowerAscii().contains("orders")`, true},
		{`alert.labels.dag.split("_")`, []any{"load", "orders"}},
		{`math.greatest([1, 5, 3])`, int64(5)},
		{`[3, 1, 2].sort()`, []any{int64(1), int64(2), int64(3)}},
		{`{"b": 1, "a": 2}`, map[string]any{"a": int64(2), "b": int64(1)}},
		{`alert.labels.filter(k, k.size() == 1)`, []any{"a", "m", "z"}}, // sorted keys
		{`{"z": 1, "b": 2, "a": 3}.map(k, k)`, []any{"a", "b", "z"}},    // sorted keys
		{`duration("90m")`, "1h30m0s"},
		{`timestamp("2026-01-02T03:04:05Z") + duration("1h")`, "2026-01-02T04:04:05Z"},
		{`null`, nil},
		{`b"hi"`, []byte("hi")},
		{`output`, map[string]any{}}, // not in a verify: empty
		{`"%s is %d".format(["lag", 3])`, "lag is 3"},
		{`base64.encode(b"x")`, "eA=="},
	} {
		got, err := Eval(tc.expr, vars)
		if err != nil {
			t.Errorf("Eval(%s): %v", tc.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Eval(%s) = %#v, want %#v", tc.expr, got, tc.want)
		}
	}
}

func TestEvalOutput(t *testing.T) {
	vars := testVars()
	vars.Output = map[string]any{"status": 503.0, "ok": false}
	if ok, err := EvalBool(`output.status == 503 && !output.ok`, vars); err != nil || !ok {
		t.Fatalf("until over output: %v, %v", ok, err)
	}
}

func TestEvalErrors(t *testing.T) {
	vars := testVars()
	for _, tc := range []struct {
		expr   string
		offset int // -1: runtime error without one
		msg    string
	}{
		{``, 0, "empty expression"},
		{`1 +`, 3, "Syntax error"},
		{`alert.source ==`, 15, "Syntax error"},
		{`nope == 1`, 0, "undeclared reference to 'nope'"},
		{"alert.source == 'x' &&\n  now() > 1", 28, "undeclared reference to 'now'"}, // no clock
		{`alert.labels.missing == "x"`, -1, "no such key: missing"},
		{`steps.health.output.status + 1`, -1, "no such overload"},
		{`[1, 2, 3].map(a, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(b, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(c, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(d, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(e, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(f, a + b + c + d + e + f))))))`, -1, "cost limit"},
		{`"é" + nope`, 7, "undeclared reference"}, // byte offset past a 2-byte rune
	} {
		_, err := Eval(tc.expr, vars)
		var ee *ExprError
		if !errors.As(err, &ee) {
			t.Errorf("Eval(%.40s): error %v, want an *ExprError", tc.expr, err)
			continue
		}
		if ee.Offset != tc.offset || !strings.Contains(ee.Msg, tc.msg) {
			t.Errorf("Eval(%.40s): offset %d msg %q, want offset %d and %q", tc.expr, ee.Offset, ee.Msg, tc.offset, tc.msg)
		}
	}
	if _, err := EvalBool(`alert.title`, vars); err == nil || !strings.Contains(err.Error(), "condition is a string, not true or false") {
		t.Errorf("EvalBool on a string: %v", err)
	}
}

// TestEvalDeterministic runs expressions whose result would follow Go's
// random map order if maps were iterated as they are: the result must be
// the same every time.
func TestEvalDeterministic(t *testing.T) {
	labels := map[string]any{}
	for i := 0; i < 50; i++ {
		labels[fmt.Sprintf("k%02d", i)] = fmt.Sprintf("v%d", i)
	}
	vars := Vars{Alert: map[string]any{"labels": labels}, Steps: map[string]any{
		"a": map[string]any{"status": "ok", "output": map[string]any{"m": labels}},
	}}
	exprs := []string{
		`alert.labels.map(k, k)`,
		`alert.labels.map(k, alert.labels[k]).join(",")`,
		`steps.a.output.m.filter(k, k.endsWith("7"))`,
		`{"q": 1, "w": 2, "e": 3, "r": 4, "t": 5, "y": 6}.map(k, k).join("")`,
		`alert.labels.exists(k, int(k.substring(1)) > 200)`, // error from every key: which one is reported must not vary
		`alert.labels.all(k, alert.labels[k + "x"] == "")`,  // same
		`"%s".format([alert.labels])`,
	}
	for _, e := range exprs {
		first, ferr := Eval(e, vars)
		for i := 0; i < 100; i++ {
			got, err := Eval(e, vars)
			if fmt.Sprint(err) != fmt.Sprint(ferr) || !reflect.DeepEqual(got, first) {
				t.Fatalf("Eval(%s) varies: %v / %v, then %v / %v", e, first, ferr, got, err)
			}
		}
	}
	with := map[string]any{"b": "${ alert.labels.nope }", "a": "${ alert.labels.missing }", "list": "${ alert.labels }"}
	_, ferr := Render(with, vars)
	for i := 0; i < 50; i++ {
		if _, err := Render(with, vars); fmt.Sprint(err) != fmt.Sprint(ferr) {
			t.Fatalf("Render's error varies: %v, then %v", ferr, err)
		}
	}
	if !strings.Contains(fmt.Sprint(ferr), "input a:") {
		t.Errorf("Render reports %v, want input a (keys in sorted order)", ferr)
	}
}

func TestRender(t *testing.T) {
	vars := testVars()
	with := map[string]any{
		"table":   "${ alert.dataset }",
		"status":  "${ steps.health.output.status }", // one template: keeps the type
		"ok":      "${ steps.health.output.ok }",     // bool
		"body":    "${ steps.health.output.body }",   // map
		"rows":    "${ steps.health.output.rows }",   // list
		"count":   "${ 2 + 3 }",                      // int
		"url":     "http://x/${ alert.labels.dag }?n=${ 1 + 1 }",
		"float":   "lag ${ steps.health.output.body.lag }s, status ${ steps.health.output.status }",
		"json":    "labels: ${ {'b': 1, 'a': [true, null, '<&>']} }",
		"null":    "x=${ null }",
		"escaped": "literal $${ alert.title } and $5",
		"braces":  "${ {'k': '}'}.k + \"{\" }",
		"raw":     `${ r'a\' }`,
		"plain":   "no template here",
		"nested":  map[string]any{"list": []any{"${ alert.source }", int64(3), "${ alert.labels.a == '1' }"}},
		"number":  int64(7),
		"spaced":  " ${ alert.source }", // not exactly one template: a string
	}
	orig := fmt.Sprint(with)
	got, err := Render(with, vars)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"table":   "RAW.ORDERS",
		"status":  200.0,
		"ok":      true,
		"body":    map[string]any{"state": "degraded", "lag": 12.5},
		"rows":    []any{1.0, 2.0, 3.0},
		"count":   int64(5),
		"url":     "http://x/load_orders?n=2",
		"float":   "lag 12.5s, status 200",
		"json":    `labels: {"a":[true,null,"<&>"],"b":1}`,
		"null":    "x=null",
		"escaped": "literal ${ alert.title } and $5",
		"braces":  "}{",
		"raw":     `a\`,
		"plain":   "no template here",
		"nested":  map[string]any{"list": []any{"alertmanager", int64(3), true}},
		"number":  int64(7),
		"spaced":  " alertmanager",
	}
	for k := range want {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Errorf("%s = %#v, want %#v", k, got[k], want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("rendered %d inputs, want %d", len(got), len(want))
	}
	if fmt.Sprint(with) != orig {
		t.Errorf("Render changed its input")
	}
	if r, err := Render(nil, vars); r != nil || err != nil {
		t.Errorf("Render(nil) = %v, %v", r, err)
	}
}

func TestRenderErrors(t *testing.T) {
	vars := testVars()
	for _, tc := range []struct {
		with   map[string]any
		input  string
		offset int
		msg    string
	}{
		{map[string]any{"url": "http://${ alert.labels.nope }/x"}, "url", -1, "no such key: nope"},
		{map[string]any{"url": "http://${ alert.labels.dag"}, "url", 7, "template ${ is not closed with }"},
		{map[string]any{"q": "a ${ 'x }"}, "q", 5, "string literal in template is not closed"},
		{map[string]any{"q": "a ${  }"}, "q", 2, "empty template"},
		{map[string]any{"q": "${ 1 + }"}, "q", 7, "Syntax error"},
		{map[string]any{"q": "ab ${ nope }"}, "q", 6, "undeclared reference to 'nope'"},
		{map[string]any{"o": map[string]any{"l": []any{"ok", "${ nope }"}}}, "o.l[1]", 3, "undeclared reference"},
	} {
		_, err := Render(tc.with, vars)
		var ie *InputError
		var ee *ExprError
		if !errors.As(err, &ie) || !errors.As(err, &ee) {
			t.Errorf("Render(%v): %v, want an input error wrapping an expression error", tc.with, err)
			continue
		}
		if ie.Input != tc.input || ee.Offset != tc.offset || !strings.Contains(ee.Msg, tc.msg) {
			t.Errorf("Render(%v): input %s offset %d %q; want %s, %d, %q", tc.with, ie.Input, ee.Offset, ee.Msg, tc.input, tc.offset, tc.msg)
		}
	}
}

func TestPartial(t *testing.T) {
	vars := Vars{Alert: AlertFacts{Source: "x", Labels: map[string]string{"a": "1"}}.Vars()}
	for _, tc := range []struct {
		expr string
		want any
	}{
		{`alert.source == "x" || steps.a.status == "ok"`, true},
		{`alert.source == "y" && steps.a.status == "ok"`, false},
		{`alert.source == "x" && steps.a.status == "ok"`, Unknown{}},
		{`output.ok`, Unknown{}},
		{`alert.labels.a`, "1"},
	} {
		got, err := EvalPartial(tc.expr, vars)
		if err != nil || got != tc.want {
			t.Errorf("EvalPartial(%s) = %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
	got, err := RenderPartial(map[string]any{"a": "${ alert.labels.a }", "b": "x ${ steps.s.summary }", "c": "${ steps.s.output }"}, vars)
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != "1" || got["b"] != (Unknown{}) || got["c"] != (Unknown{}) {
		t.Errorf("RenderPartial = %v", got)
	}
	b, _ := got["b"].(Unknown).MarshalJSON()
	if string(b) != `"<unknown until earlier steps run>"` {
		t.Errorf("Unknown as JSON: %s", b)
	}
}

func TestParseTemplate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []segment
	}{
		{"plain", nil},
		{"$5 and $${x}", []segment{{text: "$5 and ${x}"}}},
		{"${a}", []segment{{isExpr: true, expr: "a", start: 2, end: 3}}},
		{"x${ {'a': {'b': '}'}} }y", []segment{{text: "x"}, {isExpr: true, expr: " {'a': {'b': '}'}} ", start: 3, end: 22}, {text: "y"}}},
		{`${ "a\"}" }`, []segment{{isExpr: true, expr: ` "a\"}" `, start: 2, end: 10}}},
		{`${ '''}''' }`, []segment{{isExpr: true, expr: ` '''}''' `, start: 2, end: 11}}},
	} {
		got, err := parseTemplate(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseTemplate(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	if !HasTemplate("a ${ b }") || HasTemplate("a $${ b }") || HasTemplate("$x") {
		t.Error("HasTemplate")
	}
}
