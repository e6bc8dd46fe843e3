package actions_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/runbooks"
)

type sample struct {
	Table    string            `json:"table" datasev:"required" desc:"fully qualified table"`
	Limit    int               `json:"limit" desc:"most rows"`
	Small    uint8             `json:"small"`
	Ratio    float64           `json:"ratio"`
	Force    bool              `json:"force"`
	Window   runbooks.Duration `json:"window"`
	Wait     time.Duration     `json:"wait"`
	Tags     []string          `json:"tags"`
	Labels   map[string]string `json:"labels"`
	Target   target            `json:"target"`
	Optional *int              `json:"optional"`
	Skipped  string            `json:"-"`
	internal string
}

type target struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

func TestInputsDerivedFromStruct(t *testing.T) {
	got := actions.InputsOf[sample]()
	want := []runbooks.InputSpec{
		{Name: "table", Type: runbooks.TypeString, Required: true, Description: "fully qualified table"},
		{Name: "limit", Type: runbooks.TypeInt, Description: "most rows"},
		{Name: "small", Type: runbooks.TypeInt},
		{Name: "ratio", Type: runbooks.TypeNumber},
		{Name: "force", Type: runbooks.TypeBool},
		{Name: "window", Type: runbooks.TypeDuration},
		{Name: "wait", Type: runbooks.TypeDuration},
		{Name: "tags", Type: runbooks.TypeList},
		{Name: "labels", Type: runbooks.TypeObject},
		{Name: "target", Type: runbooks.TypeObject},
		{Name: "optional", Type: runbooks.TypeInt},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("inputs:\n got %+v\nwant %+v", got, want)
	}
}

func TestDecodeAcceptsPayloadValues(t *testing.T) {
	// The values as they arrive through Temporal's JSON payloads.
	in, err := actions.Decode[sample]("x.y", map[string]any{
		"table":    "RAW.ORDERS",
		"limit":    float64(50),
		"small":    float64(255),
		"ratio":    float64(2),
		"force":    true,
		"window":   "6h",
		"wait":     "90s",
		"tags":     []any{"a", "b"},
		"labels":   map[string]any{"team": "data"},
		"target":   map[string]any{"schema": "RAW", "name": "ORDERS"},
		"optional": float64(7),
	})
	if err != nil {
		t.Fatal(err)
	}
	seven := 7
	want := sample{
		Table: "RAW.ORDERS", Limit: 50, Small: 255, Ratio: 2, Force: true,
		Window: runbooks.Duration(6 * time.Hour), Wait: 90 * time.Second,
		Tags: []string{"a", "b"}, Labels: map[string]string{"team": "data"},
		Target: target{Schema: "RAW", Name: "ORDERS"}, Optional: &seven,
	}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("got %+v\nwant %+v", in, want)
	}
	// Go callers' own types work too; null is absent.
	in, err = actions.Decode[sample]("x.y", map[string]any{"table": "T", "limit": int64(3), "wait": time.Minute, "optional": nil})
	if err != nil || in.Limit != 3 || in.Wait != time.Minute || in.Optional != nil {
		t.Fatalf("got %+v, %v", in, err)
	}
}

func TestDecodeErrorsNameTheInput(t *testing.T) {
	cases := []struct {
		name string
		with map[string]any
		want []string
	}{
		{"missing required", map[string]any{}, []string{`input "table" is required`}},
		{"empty required", map[string]any{"table": ""}, []string{`input "table" is required (got an empty string)`}},
		{"unknown key", map[string]any{"table": "T", "limt": 5},
			[]string{`unknown input "limt" (inputs: table, limit, small, ratio, force, window, wait, tags, labels, target, optional)`}},
		{"string for int", map[string]any{"table": "T", "limit": "5"}, []string{`input "limit": want a whole number, got string "5"`}},
		{"fraction for int", map[string]any{"table": "T", "limit": 5.5}, []string{`input "limit": want a whole number, got number 5.5`}},
		{"out of range", map[string]any{"table": "T", "small": float64(256)}, []string{`input "small": 256 is out of range`}},
		{"int for string", map[string]any{"table": float64(5)}, []string{`input "table": want string, got number 5`}},
		{"string for bool", map[string]any{"table": "T", "force": "yes"}, []string{`input "force": want bool, got string "yes"`}},
		{"bad duration", map[string]any{"table": "T", "window": "6 hours"}, []string{`input "window": want a duration such as 90s, 5m or 1h30m, got "6 hours"`}},
		{"number for duration", map[string]any{"table": "T", "window": float64(60)}, []string{`input "window": want duration, got number 60`}},
		{"negative duration", map[string]any{"table": "T", "wait": "-1m"}, []string{`input "wait": duration -1m0s is negative`}},
		{"string for list", map[string]any{"table": "T", "tags": "a,b"}, []string{`input "tags": want list, got string "a,b"`}},
		{"wrong element", map[string]any{"table": "T", "tags": []any{"a", float64(1)}}, []string{`input "tags": list: cannot unmarshal number`}},
		{"list for object", map[string]any{"table": "T", "labels": []any{"a"}}, []string{`input "labels": want object, got a list`}},
		{"unknown nested field", map[string]any{"table": "T", "target": map[string]any{"schema": "RAW", "tabel": "X"}}, []string{`input "target": object: unknown field "tabel"`}},
		{"every problem", map[string]any{"zz": 1, "aa": 2, "limit": "x"},
			[]string{`unknown input "aa"`, `unknown input "zz"`, `input "table" is required`, `input "limit": want a whole number`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := actions.Decode[sample]("snowflake.copy_history", tc.with)
			var ie *actions.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want *InputError, got %v", err)
			}
			if ie.Action != "snowflake.copy_history" || len(ie.Problems) != len(tc.want) {
				t.Fatalf("problems %q, want %d like %q", ie.Problems, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(ie.Problems[i], w) {
					t.Errorf("problem %d = %q, want prefix %q", i, ie.Problems[i], w)
				}
			}
			if !strings.HasPrefix(err.Error(), "snowflake.copy_history: ") {
				t.Errorf("error %q does not name the action", err)
			}
		})
	}
}

func TestTypedPanicsOnBadInputStruct(t *testing.T) {
	for name, build := range map[string]func(){
		"not a struct": func() { actions.InputsOf[string]() },
		"typed, embedded": func() {
			actions.Typed(runbooks.ActionSpec{Name: "x.y", Description: "d"},
				func(context.Context, runbooks.ActionRequest, struct{ target }) (runbooks.ActionResult, error) {
					return runbooks.ActionResult{}, nil
				})
		},
		"no json tag": func() { actions.InputsOf[struct{ A string }]() },
		"unsupported": func() {
			actions.InputsOf[struct {
				C chan int `json:"c"`
			}]()
		},
		"bad name": func() {
			actions.InputsOf[struct {
				A string `json:"Table"`
			}]()
		},
		"unknown option": func() {
			actions.InputsOf[struct {
				A string `json:"a" datasev:"requried"`
			}]()
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			build()
		})
	}
}

func noop(context.Context, runbooks.ActionRequest) (runbooks.ActionResult, error) {
	return runbooks.ActionResult{Summary: "noop"}, nil
}

func TestRegisterRefusesMistakes(t *testing.T) {
	ok := runbooks.ActionSpec{Name: "x.check", Description: "checks"}
	for name, reg := range map[string]func(r *actions.Registry){
		"duplicate": func(r *actions.Registry) { r.Register(ok, noop); r.Register(ok, noop) },
		"bad name":  func(r *actions.Registry) { r.Register(runbooks.ActionSpec{Name: "check", Description: "d"}, noop) },
		"no description": func(r *actions.Registry) {
			r.Register(runbooks.ActionSpec{Name: "x.y"}, noop)
		},
		"no fn": func(r *actions.Registry) { r.Register(ok, nil) },
		"timer with fn": func(r *actions.Registry) {
			r.Register(runbooks.ActionSpec{Name: "x.wait", Description: "d", InWorkflow: true}, noop)
		},
		"bad input type": func(r *actions.Registry) {
			r.Register(runbooks.ActionSpec{Name: "x.y", Description: "d", Inputs: []runbooks.InputSpec{{Name: "a", Type: "text"}}}, noop)
		},
		"duplicate builtin": func(r *actions.Registry) {
			r.Add(actions.InWorkflow[struct{}](runbooks.ActionSpec{Name: "core.wait", Description: "again"}))
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := actions.New(actions.Deps{})
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			reg(r)
		})
	}
}

func TestLookupAndSpecs(t *testing.T) {
	r := actions.NewRegistry()
	r.Register(runbooks.ActionSpec{Name: "zeta.last", Description: "z"}, noop)
	r.Register(runbooks.ActionSpec{Name: "alpha.first", Description: "a", Inputs: []runbooks.InputSpec{{Name: "a", Type: runbooks.TypeString}}}, noop)
	r.Add(actions.InWorkflow[struct{}](runbooks.ActionSpec{Name: "mid.wait", Description: "m"}))

	var names []string
	for _, s := range r.Specs() {
		names = append(names, s.Name)
	}
	if strings.Join(names, " ") != "alpha.first mid.wait zeta.last" {
		t.Fatalf("Specs not sorted: %v", names)
	}
	s, ok := r.Lookup("alpha.first")
	if !ok || s.Description != "a" {
		t.Fatalf("Lookup: %+v %v", s, ok)
	}
	s.Inputs[0].Name = "mutated"
	if s2, _ := r.Lookup("alpha.first"); s2.Inputs[0].Name != "a" {
		t.Fatal("Lookup returned the registry's own slice")
	}
	if _, ok := r.Lookup("nope.nope"); ok {
		t.Fatal("Lookup found an unknown action")
	}
	if w, _ := r.Lookup("mid.wait"); !w.InWorkflow {
		t.Fatal("Timer did not mark the spec")
	}
	if _, ok := r.Func("mid.wait"); ok {
		t.Fatal("a timer action has an activity")
	}
	if _, ok := r.Func("zeta.last"); !ok {
		t.Fatal("no activity for zeta.last")
	}
}

func TestDefaultCatalog(t *testing.T) {
	c := actions.DefaultCatalog()
	var names []string
	for _, s := range c.Specs() {
		names = append(names, s.Name)
	}
	if strings.Join(names, " ") != "airflow.clear_tasks airflow.failed_tasks airflow.trigger_dag airflow.wait_dag_run "+
		"core.http core.page core.wait "+
		"dbtcloud.rerun_job dbtcloud.retry_run "+
		"github.comment github.create_issue github.merge_pull_request github.recent_commits github.revert_commit "+
		"lineage.downstream lineage.upstream "+
		"s3.inspect_prefix s3.latest_partition s3.object_head "+
		"slack.notify_consumers "+
		"snowflake.copy_history snowflake.execute_task snowflake.query_failures snowflake.resume_task snowflake.table_freshness snowflake.task_history" {
		t.Fatalf("built-ins: %v", names)
	}
	// Every action that changes the outside world offers a dry run, so the
	// approver always sees what it would do.
	for _, s := range c.Specs() {
		if s.Changes && !s.DryRun {
			t.Errorf("%s changes things but has no dry run", s.Name)
		}
	}
	h, _ := c.Lookup("core.http")
	if in, ok := h.Input("url"); !ok || !in.Required || in.Type != runbooks.TypeString {
		t.Errorf("core.http url: %+v", in)
	}
	if in, _ := h.Input("expect_status"); in.Type != runbooks.TypeInt {
		t.Errorf("core.http expect_status: %+v", in)
	}
	if in, _ := h.Input("timeout"); in.Type != runbooks.TypeDuration {
		t.Errorf("core.http timeout: %+v", in)
	}
	if h.Changes || h.InWorkflow {
		t.Errorf("core.http flags: %+v", h)
	}
	w, _ := c.Lookup("core.wait")
	if in, ok := w.Input("duration"); !w.InWorkflow || !ok || !in.Required || in.Type != runbooks.TypeDuration {
		t.Errorf("core.wait: %+v", w)
	}
	p, _ := c.Lookup("core.page")
	if in, _ := p.Input("message"); !in.Required {
		t.Errorf("core.page message: %+v", in)
	}
	for _, name := range []string{"to", "role"} {
		if in, ok := p.Input(name); !ok || in.Required {
			t.Errorf("core.page %s: %+v", name, in)
		}
	}
}

type restartIn struct {
	DAG string `json:"dag" datasev:"required"`
}

func TestActivitiesThroughTheSDK(t *testing.T) {
	var calls int
	r := actions.NewRegistry()
	r.Add(
		actions.Typed(runbooks.ActionSpec{Name: "demo.restart", Description: "restarts", Changes: true},
			func(_ context.Context, req runbooks.ActionRequest, in restartIn) (runbooks.ActionResult, error) {
				calls++
				return runbooks.ActionResult{Output: map[string]any{"dag": in.DAG, "incident": req.Incident}}, nil
			}),
		actions.InWorkflow[struct{}](runbooks.ActionSpec{Name: "demo.wait", Description: "waits"}),
	)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	r.RegisterWith(env)

	val, err := env.ExecuteActivity("demo.restart", runbooks.ActionRequest{Incident: "inc-1", With: map[string]any{"dag": "load_orders"}})
	if err != nil {
		t.Fatal(err)
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Output["dag"] != "load_orders" || res.Output["incident"] != "inc-1" || res.Summary != "demo.restart done" {
		t.Fatalf("result %+v", res)
	}

	assertNonRetryable := func(err error, wantMsg string) {
		t.Helper()
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) {
			t.Fatalf("want an application error, got %v", err)
		}
		if !appErr.NonRetryable() || appErr.Type() != actions.InvalidInputType {
			t.Errorf("error %v: non-retryable %v, type %q", err, appErr.NonRetryable(), appErr.Type())
		}
		if !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("error %q does not say %q", err, wantMsg)
		}
	}
	_, err = env.ExecuteActivity("demo.restart", runbooks.ActionRequest{With: map[string]any{"dag": "x", "force": true}})
	assertNonRetryable(err, `demo.restart: unknown input "force" (inputs: dag)`)
	_, err = env.ExecuteActivity("demo.restart", runbooks.ActionRequest{With: map[string]any{"dag": 3}})
	assertNonRetryable(err, `input "dag": want string, got number 3`)
	_, err = env.ExecuteActivity("demo.restart", runbooks.ActionRequest{})
	assertNonRetryable(err, `input "dag" is required`)
	_, err = env.ExecuteActivity("demo.restart", runbooks.ActionRequest{With: map[string]any{"dag": "x"}, DryRun: true})
	assertNonRetryable(err, "demo.restart has no dry run")
	if calls != 1 {
		t.Fatalf("action ran %d times, want once", calls)
	}
	if _, err := env.ExecuteActivity("demo.wait", runbooks.ActionRequest{}); err == nil {
		t.Fatal("a timer action was registered as an activity")
	}
}
