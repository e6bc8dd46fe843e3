package runbooks

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/datasev/datasev/runbooks/internal/yamlpos"
)

// syntaxProblem turns a YAML syntax error into a Problem where a person
// must edit to fix it, which is not always where the parser gave up (see
// yamlpos.Doc.SyntaxPos).
func syntaxProblem(f *file, err error) Problem {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return Problem{File: f.name, Pos: Pos{1, 1}, Msg: err.Error()}
	}
	p, msg := f.doc.SyntaxPos(ye.GetToken(), ye.GetMessage())
	return Problem{File: f.name, Pos: Pos(p), Msg: msg}
}

// yamlProblem turns a YAML library error into a Problem at its token,
// saying where in the runbook it is and, for an unknown field, what the
// known ones are.
func yamlProblem(f *file, err error) Problem {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return Problem{File: f.name, Pos: Pos{1, 1}, Msg: err.Error()}
	}
	tk := ye.GetToken()
	p := Pos(yamlpos.TokenPos(tk))
	msg := ye.GetMessage()
	at, found := f.doc.PathOf(tk)
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
