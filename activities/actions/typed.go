package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/runbooks"
)

// InvalidInputType is the Temporal application error type of an action's
// input errors (unknown input, wrong type, missing required input). Those
// errors are non-retryable: a retry would fail the same way.
const InvalidInputType = "InvalidInput"

// Typed builds an action whose inputs are the fields of the struct In.
//
// spec carries the name, description, outputs and flags; Typed fills
// spec.Inputs from In, one input per exported field with a json tag:
//
//	type Input struct {
//		URL     string            `json:"url" datasev:"required" desc:"address to GET"`
//		Timeout runbooks.Duration `json:"timeout" desc:"bound on the request (default 10s)"`
//	}
//
// The json tag names the input ("-" skips the field), desc describes it, and
// datasev:"required" makes it required. Types map as: string → string,
// integers → int, floats → number, bool → bool, time.Duration and
// runbooks.Duration → duration (written "90s", "6h"), slices and arrays →
// list, maps and structs → object. A pointer field is an optional value of
// its element type.
//
// At run time the request's With is decoded into In strictly (see Decode);
// a bad input fails the activity with a non-retryable error of type
// InvalidInputType that names the input. A dry-run request to an action that
// changes things but has no dry run is refused the same way, so nothing
// changes by mistake. Typed panics when In is not a struct of supported
// fields: a programming error, caught at start-up.
func Typed[In any](spec runbooks.ActionSpec, fn func(ctx context.Context, req runbooks.ActionRequest, in In) (runbooks.ActionResult, error)) Action {
	fields := mustFields[In](spec.Name)
	spec.Inputs = inputSpecs(fields)
	name := spec.Name
	refuseDryRun := spec.Changes && !spec.DryRun
	run := func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
		if req.DryRun && refuseDryRun {
			return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(
				name+" has no dry run; it was not run", InvalidInputType, nil)
		}
		var in In
		if err := decode(name, fields, req.With, reflect.ValueOf(&in).Elem()); err != nil {
			return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(err.Error(), InvalidInputType, nil)
		}
		res, err := fn(ctx, req, in)
		if err == nil && res.Summary == "" {
			res.Summary = name + " done"
		}
		return res, err
	}
	return Action{Spec: spec, Fn: run}
}

// Timer builds a timer action (spec.InWorkflow is set for you) whose inputs are
// the fields of In, as for Typed. The workflow carries it out; it has no
// activity. The executor reads its inputs with Decode[In].
func InWorkflow[In any](spec runbooks.ActionSpec) Action {
	spec.InWorkflow = true
	spec.Inputs = inputSpecs(mustFields[In](spec.Name))
	return Action{Spec: spec}
}

// InputsOf returns the input specs Typed derives from In. It panics as
// Typed does.
func InputsOf[In any]() []runbooks.InputSpec {
	return inputSpecs(mustFields[In]("InputsOf"))
}

// Decode decodes an action's inputs into In strictly: an unknown key, a
// value of the wrong type or a missing required input is an *InputError
// that lists every problem. It is deterministic and does no I/O, so
// workflow code may call it (the executor decodes core.wait this way).
//
// Values are taken as they arrive through Temporal's JSON payloads: an int
// input accepts a whole number (5 or 5.0, not "5" or 5.5); a duration input
// takes a string such as "90s" (or a time.Duration from Go callers); lists
// and objects are decoded through JSON, unknown fields of nested structs
// included. A null value counts as absent; a required string input must not
// be empty.
func Decode[In any](action string, with map[string]any) (In, error) {
	var in In
	fields, err := fieldsFor(reflect.TypeFor[In]())
	if err != nil {
		return in, fmt.Errorf("%s: %w", action, err)
	}
	if err := decode(action, fields, with, reflect.ValueOf(&in).Elem()); err != nil {
		return in, err
	}
	return in, nil
}

// InputError lists what is wrong with an action's inputs.
type InputError struct {
	// Action names the action.
	Action string
	// Problems are sentences, one per input, in a stable order.
	Problems []string
}

func (e *InputError) Error() string {
	return e.Action + ": " + strings.Join(e.Problems, "; ")
}

// field is one input of a typed action.
type field struct {
	spec  runbooks.InputSpec
	index []int
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	rbDurationType  = reflect.TypeFor[runbooks.Duration]()
	fieldCache      sync.Map // reflect.Type → []field
	errNotSupported = fmt.Errorf("not supported")
)

func mustFields[In any](action string) []field {
	fields, err := fieldsFor(reflect.TypeFor[In]())
	if err != nil {
		panic(fmt.Sprintf("actions: %s: %v", action, err))
	}
	return fields
}

func inputSpecs(fields []field) []runbooks.InputSpec {
	out := make([]runbooks.InputSpec, len(fields))
	for i, f := range fields {
		out[i] = f.spec
	}
	return out
}

func fieldsFor(t reflect.Type) ([]field, error) {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]field), nil
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("input type %s is not a struct", t)
	}
	var fields []field
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-":
			continue
		case sf.Anonymous:
			return nil, fmt.Errorf("field %s: embedded fields are not supported; name each input", sf.Name)
		case !sf.IsExported():
			continue
		case !hasTag || name == "":
			return nil, fmt.Errorf("field %s has no json tag naming its input", sf.Name)
		case !inputName.MatchString(name):
			return nil, fmt.Errorf("field %s: input name %q: want lower case letters, digits and underscores", sf.Name, name)
		case seen[name]:
			return nil, fmt.Errorf("field %s: input %q declared twice", sf.Name, name)
		}
		seen[name] = true
		typ, err := inputType(sf.Type)
		if err != nil {
			return nil, fmt.Errorf("field %s (%s): type %s %w", sf.Name, name, sf.Type, err)
		}
		req := false
		for opt := range strings.SplitSeq(sf.Tag.Get("datasev"), ",") {
			switch strings.TrimSpace(opt) {
			case "":
			case "required":
				req = true
			default:
				return nil, fmt.Errorf("field %s: unknown datasev tag option %q", sf.Name, opt)
			}
		}
		fields = append(fields, field{
			spec:  runbooks.InputSpec{Name: name, Type: typ, Required: req, Description: sf.Tag.Get("desc")},
			index: sf.Index,
		})
	}
	fieldCache.Store(t, fields)
	return fields, nil
}

func inputType(t reflect.Type) (runbooks.InputType, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType || t == rbDurationType {
		return runbooks.TypeDuration, nil
	}
	switch t.Kind() {
	case reflect.String:
		return runbooks.TypeString, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return runbooks.TypeInt, nil
	case reflect.Float32, reflect.Float64:
		return runbooks.TypeNumber, nil
	case reflect.Bool:
		return runbooks.TypeBool, nil
	case reflect.Slice, reflect.Array:
		return runbooks.TypeList, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return "", fmt.Errorf("%w: object keys must be strings", errNotSupported)
		}
		return runbooks.TypeObject, nil
	case reflect.Struct:
		return runbooks.TypeObject, nil
	}
	return "", errNotSupported
}

// decode sets dst's fields from with, collecting every problem.
func decode(action string, fields []field, with map[string]any, dst reflect.Value) error {
	var problems []string
	known := make(map[string]bool, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		known[f.spec.Name] = true
		names[i] = f.spec.Name
	}
	var unknown []string
	for k := range with {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		accepted := "it takes no inputs"
		if len(names) > 0 {
			accepted = "inputs: " + strings.Join(names, ", ")
		}
		problems = append(problems, fmt.Sprintf("unknown input %q (%s)", k, accepted))
	}
	for _, f := range fields {
		v, present := with[f.spec.Name]
		if !present || v == nil {
			if f.spec.Required {
				problems = append(problems, fmt.Sprintf("input %q is required", f.spec.Name))
			}
			continue
		}
		if s, ok := v.(string); ok && s == "" && f.spec.Required {
			problems = append(problems, fmt.Sprintf("input %q is required (got an empty string)", f.spec.Name))
			continue
		}
		if err := assign(dst.FieldByIndex(f.index), f.spec.Type, v); err != nil {
			problems = append(problems, fmt.Sprintf("input %q: %v", f.spec.Name, err))
		}
	}
	if len(problems) > 0 {
		return &InputError{Action: action, Problems: problems}
	}
	return nil
}

func assign(dst reflect.Value, typ runbooks.InputType, v any) error {
	if dst.Kind() == reflect.Pointer {
		p := reflect.New(dst.Type().Elem())
		if err := assign(p.Elem(), typ, v); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	}
	wrong := func() error { return fmt.Errorf("want %s, got %s", typ, describe(v)) }
	switch typ {
	case runbooks.TypeString:
		s, ok := v.(string)
		if !ok {
			return wrong()
		}
		dst.SetString(s)
	case runbooks.TypeBool:
		b, ok := v.(bool)
		if !ok {
			return wrong()
		}
		dst.SetBool(b)
	case runbooks.TypeDuration:
		var d time.Duration
		switch x := v.(type) {
		case string:
			var err error
			if d, err = time.ParseDuration(x); err != nil {
				return fmt.Errorf("want a duration such as 90s, 5m or 1h30m, got %q", x)
			}
		case time.Duration:
			d = x
		case runbooks.Duration:
			d = x.Std()
		default:
			return wrong()
		}
		if d < 0 {
			return fmt.Errorf("duration %s is negative", d)
		}
		dst.SetInt(int64(d))
	case runbooks.TypeInt:
		if err := setInt(dst, v); err != nil {
			return err
		}
	case runbooks.TypeNumber:
		f, ok := number(v)
		if !ok {
			return wrong()
		}
		dst.SetFloat(f)
	case runbooks.TypeList, runbooks.TypeObject:
		rv := reflect.ValueOf(v)
		k := rv.Kind()
		if typ == runbooks.TypeList && k != reflect.Slice && k != reflect.Array {
			return wrong()
		}
		if typ == runbooks.TypeObject && k != reflect.Map && k != reflect.Struct {
			return wrong()
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("cannot encode %s: %v", typ, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst.Addr().Interface()); err != nil {
			return fmt.Errorf("%s: %s", typ, strings.TrimPrefix(err.Error(), "json: "))
		}
	default:
		return fmt.Errorf("unsupported input type %q", typ)
	}
	return nil
}

// setInt sets the integer dst from a whole number of any Go type or a
// json.Number, refusing fractions and values out of dst's range.
func setInt(dst reflect.Value, v any) error {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			v = i
		} else if f, err := n.Float64(); err == nil {
			v = f
		}
	}
	unsigned := false
	switch dst.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		unsigned = true
	}
	outOfRange := fmt.Errorf("%v is out of range", v)
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i := rv.Int()
		if unsigned {
			if i < 0 || dst.OverflowUint(uint64(i)) {
				return outOfRange
			}
			dst.SetUint(uint64(i))
			return nil
		}
		if dst.OverflowInt(i) {
			return outOfRange
		}
		dst.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u := rv.Uint()
		if unsigned {
			if dst.OverflowUint(u) {
				return outOfRange
			}
			dst.SetUint(u)
			return nil
		}
		if u > math.MaxInt64 || dst.OverflowInt(int64(u)) {
			return outOfRange
		}
		dst.SetInt(int64(u))
		return nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			return fmt.Errorf("want a whole number, got %s", describe(v))
		}
		bits := dst.Type().Bits()
		if unsigned {
			if f < 0 || f >= math.Ldexp(1, bits) {
				return outOfRange
			}
			dst.SetUint(uint64(f))
			return nil
		}
		if f < -math.Ldexp(1, bits-1) || f >= math.Ldexp(1, bits-1) {
			return outOfRange
		}
		dst.SetInt(int64(f))
		return nil
	}
	return fmt.Errorf("want a whole number, got %s", describe(v))
}

// number returns v as a float64 when it is any Go number or a json.Number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// describe names a value's type for an error message, with a short excerpt.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("bool %t", x)
	case json.Number:
		return "number " + x.String()
	}
	if _, ok := number(v); ok {
		return fmt.Sprintf("number %v", v)
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
