package sftest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Query is one statement the driver submitted to /queries/v1/query-request,
// as the server understood it.
type Query struct {
	// SQL is the statement text, exactly as sent.
	SQL string
	// Bindings are the bind variables by position: Bindings[0] is bind "1".
	Bindings []Binding
	// QueryTag is the statement's query tag: the QUERY_TAG request
	// parameter (gosnowflake.WithQueryTag) or else the session's
	// (ALTER SESSION SET QUERY_TAG).
	QueryTag string
	// Parameters are the request's parameters (QUERY_TAG among them).
	Parameters map[string]any
	// Session is the session the statement ran in.
	Session Session
	// QueryID is the ID the server gave the statement.
	QueryID string
	// RequestID is the driver's requestId for the statement.
	RequestID string
	// Describe is true for a describe-only request.
	Describe bool
}

// Binding is one bind variable as the driver sent it.
type Binding struct {
	// Name is the bind's key: "1", "2", … for positional binds.
	Name string
	// Type is the Snowflake type the driver chose: TEXT, FIXED, REAL,
	// BOOLEAN, TIMESTAMP_NTZ, …
	Type string
	// Value is the value as text; nil is SQL NULL.
	Value *string
}

// Go returns the binding as a Go value: nil for NULL, int64 for FIXED,
// float64 for REAL, bool for BOOLEAN, and the text otherwise.
func (b Binding) Go() any {
	if b.Value == nil {
		return nil
	}
	v := *b.Value
	switch strings.ToUpper(b.Type) {
	case "FIXED":
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
	case "REAL":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case "BOOLEAN":
		if bv, err := strconv.ParseBool(v); err == nil {
			return bv
		}
	}
	return v
}

// Args returns every binding as Binding.Go does, in position order.
func (q Query) Args() []any {
	out := make([]any, len(q.Bindings))
	for i, b := range q.Bindings {
		out[i] = b.Go()
	}
	return out
}

// Session describes the session a statement ran in.
type Session struct {
	ID        int64
	User      string
	Role      string
	Warehouse string
	Database  string
	Schema    string
}

// Handler answers a query with fixture data or a failure. It runs on the
// server's goroutines, one call per statement, possibly concurrently.
// A zero Result means "no fixture": the server answers SELECT 1 itself and
// fails anything else with code 000002.
type Handler func(Query) Result

// Result is a handler's answer: rows with their column types, or a
// failure.
type Result struct {
	// Columns describe the result's columns (Snowflake's rowtype).
	Columns []Column
	// Rows hold one value per column. Values are encoded for the column's
	// type: nil is NULL; numbers, bools, strings and time.Time are
	// accepted (a string is sent as is).
	Rows [][]any
	// Err, when set, makes the statement fail with this error.
	Err *Error
}

// IsZero reports whether r is the zero Result ("no fixture").
func (r Result) IsZero() bool { return r.Columns == nil && r.Rows == nil && r.Err == nil }

// Column is one column of a result set, as Snowflake's rowtype describes
// it. Type is Snowflake's lower-case type name: text, fixed, real,
// boolean, date, time, timestamp_ltz, timestamp_ntz, timestamp_tz,
// variant, object, array, binary.
type Column struct {
	Name      string
	Type      string
	Nullable  bool
	Precision int
	Scale     int
	Length    int
}

// Column constructors, nullable as most metadata columns are.

// Text is a VARCHAR column.
func Text(name string) Column {
	return Column{Name: name, Type: "text", Nullable: true, Length: 16777216}
}

// Fixed is a NUMBER(38,0) column.
func Fixed(name string) Column {
	return Column{Name: name, Type: "fixed", Nullable: true, Precision: 38}
}

// Number is a NUMBER(precision, scale) column.
func Number(name string, precision, scale int) Column {
	return Column{Name: name, Type: "fixed", Nullable: true, Precision: precision, Scale: scale}
}

// Real is a FLOAT column.
func Real(name string) Column { return Column{Name: name, Type: "real", Nullable: true} }

// Boolean is a BOOLEAN column.
func Boolean(name string) Column { return Column{Name: name, Type: "boolean", Nullable: true} }

// Date is a DATE column.
func Date(name string) Column { return Column{Name: name, Type: "date", Nullable: true} }

// TimestampLTZ is a TIMESTAMP_LTZ(9) column: the type of the metadata
// functions' times and of CURRENT_TIMESTAMP().
func TimestampLTZ(name string) Column {
	return Column{Name: name, Type: "timestamp_ltz", Nullable: true, Scale: 9}
}

// TimestampNTZ is a TIMESTAMP_NTZ(9) column.
func TimestampNTZ(name string) Column {
	return Column{Name: name, Type: "timestamp_ntz", Nullable: true, Scale: 9}
}

// TimestampTZ is a TIMESTAMP_TZ(9) column.
func TimestampTZ(name string) Column {
	return Column{Name: name, Type: "timestamp_tz", Nullable: true, Scale: 9}
}

// Rows is a Result with the given columns and rows.
func Rows(cols []Column, rows ...[]any) Result {
	if rows == nil {
		rows = [][]any{}
	}
	return Result{Columns: cols, Rows: rows}
}

// Error is a statement failure as Snowflake reports it.
type Error struct {
	// Code is Snowflake's six-digit error code, e.g. "002003".
	Code string
	// SQLState is the ANSI SQL state, e.g. "42S02".
	SQLState string
	// Message is Snowflake's message.
	Message string
}

// Fail is a Result failing with the given code, SQL state and message.
func Fail(code, sqlState, message string) Result {
	return Result{Err: &Error{Code: code, SQLState: sqlState, Message: message}}
}

// ObjectNotFound is Snowflake's 002003: the object does not exist, or the
// role may not see it. kind is e.g. "Object" or "Table".
func ObjectNotFound(kind, name string) Result {
	if kind == "" {
		kind = "Object"
	}
	return Fail("002003", "42S02", fmt.Sprintf("SQL compilation error:\n%s '%s' does not exist or not authorized.", kind, name))
}

// InvalidIdentifier is Snowflake's 000904.
func InvalidIdentifier(ident string) Result {
	return Fail("000904", "42000", fmt.Sprintf("SQL compilation error: error line 1 at position 7\ninvalid identifier '%s'", ident))
}

// SyntaxError is Snowflake's 001003.
func SyntaxError(near string) Result {
	return Fail("001003", "42000", fmt.Sprintf("SQL compilation error:\nsyntax error line 1 at position 0 unexpected '%s'.", near))
}

// InsufficientPrivileges is Snowflake's 003001.
func InsufficientPrivileges(operation, object string) Result {
	return Fail("003001", "42501", fmt.Sprintf("SQL access control error:\nInsufficient privileges to operate on %s '%s'", operation, object))
}

// encodeRow encodes one row's values as the JSON rowset's strings.
func encodeRow(cols []Column, row []any) ([]*string, error) {
	if len(row) != len(cols) {
		return nil, fmt.Errorf("row has %d values for %d columns", len(row), len(cols))
	}
	out := make([]*string, len(row))
	for i, v := range row {
		s, err := encodeValue(cols[i], v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
		out[i] = s
	}
	return out, nil
}

func encodeValue(col Column, v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	if p, ok := v.(*string); ok {
		return p, nil
	}
	str := func(s string) (*string, error) { return &s, nil }
	if s, ok := v.(string); ok {
		return str(s)
	}
	switch col.Type {
	case "fixed":
		switch x := v.(type) {
		case int:
			return str(strconv.Itoa(x))
		case int32:
			return str(strconv.FormatInt(int64(x), 10))
		case int64:
			return str(strconv.FormatInt(x, 10))
		case uint64:
			return str(strconv.FormatUint(x, 10))
		case float64:
			return str(strconv.FormatFloat(x, 'f', col.Scale, 64))
		}
	case "real":
		switch x := v.(type) {
		case float64:
			return str(strconv.FormatFloat(x, 'g', -1, 64))
		case int:
			return str(strconv.Itoa(x))
		case int64:
			return str(strconv.FormatInt(x, 10))
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			if b {
				return str("1")
			}
			return str("0")
		}
	case "date":
		if t, ok := v.(time.Time); ok {
			d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			return str(strconv.FormatInt(d.Unix()/86400, 10))
		}
	case "time":
		if t, ok := v.(time.Time); ok {
			secs := t.Hour()*3600 + t.Minute()*60 + t.Second()
			return str(fmt.Sprintf("%d.%09d", secs, t.Nanosecond()))
		}
	case "timestamp_ltz":
		if t, ok := v.(time.Time); ok {
			return str(epoch(t))
		}
	case "timestamp_ntz":
		if t, ok := v.(time.Time); ok {
			// NTZ carries the wall clock, sent as if it were UTC.
			w := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
			return str(epoch(w))
		}
	case "timestamp_tz":
		if t, ok := v.(time.Time); ok {
			_, off := t.Zone()
			return str(fmt.Sprintf("%s %d", epoch(t), off/60+1440))
		}
	case "text", "variant", "object", "array":
		return str(fmt.Sprint(v))
	}
	return nil, fmt.Errorf("cannot encode %T as %s", v, col.Type)
}

// epoch is a time as Snowflake's JSON rowset writes it, and as the driver
// reads it back: whole seconds since the epoch (rounded down), a dot and
// nine digits of fraction.
func epoch(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
