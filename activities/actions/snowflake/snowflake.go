// Package snowflake holds the Snowflake diagnostics a runbook runs when an
// incident opens: snowflake.query_failures, snowflake.copy_history,
// snowflake.task_history and snowflake.table_freshness; and the task
// remediations snowflake.execute_task (EXECUTE TASK) and
// snowflake.resume_task (ALTER TASK … RESUME), which run only within the
// target policy (targets.snowflake.tasks) and behind a runbook's approval.
//
// Each action is a spec (QueryFailuresSpec, …), an input struct and a
// method of Actions with the signature actions.Typed takes; the actions
// package registers them, this package does not import it.
//
// Every query goes through database/sql and the real gosnowflake driver
// (Open). Every value that comes from a runbook or an alert is a bind
// variable; object names are checked, normalized and either bound
// (IDENTIFIER(?), the table functions' string arguments) or, where SQL
// allows no bind (the database qualifying INFORMATION_SCHEMA, a column
// name), validated as identifiers and double-quoted. Windows are bounded in
// hours and results in rows; each query carries the tag
// datasev:<incident>:<step>, so the warehouse's own QUERY_HISTORY shows
// which incident ran it.
//
// Errors are typed: an unknown object (002003), missing privileges
// (003001), syntax errors (001003), invalid identifiers (000904), other
// compilation errors and rejected logins fail the activity non-retryably
// with Snowflake's code and message (ErrorDetails); network errors, 5xx,
// statement timeouts and expired sessions are retried by Temporal.
package snowflake

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/snowflakedb/gosnowflake"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// Bounds shared by the actions.
const (
	// DefaultHours is the window when a step gives none.
	DefaultHours = 6
	// DefaultLimit is the row limit when a step gives none.
	DefaultLimit = 100
	// MaxLimit caps every row limit: rows end up in the workflow history.
	MaxLimit = 500
	// MaxTextLen bounds each error message or query text kept in an output.
	MaxTextLen = 500
	// historyResultLimit is the RESULT_LIMIT passed to the
	// INFORMATION_SCHEMA history table functions, which keep the most
	// recent rows up to it before the WHERE clause filters them: their
	// maximum.
	historyResultLimit = 10000
	// maxQueryTag is Snowflake's limit on QUERY_TAG.
	maxQueryTag = 2000
	// detailRows bounds the rows shown in a result's Markdown detail.
	detailRows = 20
)

// Error types of the actions' application errors.
const (
	// NotConfiguredType: the worker has no Snowflake connection.
	NotConfiguredType = "SnowflakeNotConfigured"
	// BadRequestType: an input cannot work as written (a malformed table
	// or column name, a negative window).
	BadRequestType = "BadRequest"
	// NotFoundType: the object does not exist or the role may not see it
	// (002003 and kin). Non-retryable.
	NotFoundType = "SnowflakeNotFound"
	// PermissionType: the role lacks a privilege (003001, SQL state 42501).
	// Non-retryable.
	PermissionType = "SnowflakePermission"
	// SyntaxType: SQL syntax error (001003). Non-retryable.
	SyntaxType = "SnowflakeSyntax"
	// InvalidIdentifierType: an unknown column or identifier (000904).
	// Non-retryable.
	InvalidIdentifierType = "SnowflakeInvalidIdentifier"
	// SQLErrorType: another compilation or data error (SQL state class 42,
	// 22 or 0A). Non-retryable.
	SQLErrorType = "SnowflakeSQLError"
	// AuthType: the login was rejected or the connection is misconfigured
	// (wrong password or key, unknown account, role not granted).
	// Non-retryable: fix the configuration.
	AuthType = "SnowflakeAuth"
	// SessionType: the session expired and could not be renewed. Retried
	// on a new session.
	SessionType = "SnowflakeSession"
	// UnavailableType: network errors, HTTP 5xx and 429, timeouts and any
	// other failure. Retried.
	UnavailableType = "SnowflakeUnavailable"
)

// ErrorDetails are the details of the actions' Snowflake errors: the
// first detail of the temporal.ApplicationError.
type ErrorDetails struct {
	// Code is Snowflake's error code, six digits ("002003").
	Code string `json:"code"`
	// SQLState is the ANSI SQL state ("42S02").
	SQLState string `json:"sql_state,omitempty"`
	// Message is Snowflake's message.
	Message string `json:"message"`
	// QueryID is the failed statement's query ID, when there was one.
	QueryID string `json:"query_id,omitempty"`
}

// Actions carries out the Snowflake actions with one connection pool.
type Actions struct {
	db        *sql.DB
	targets   *target.Policy
	defaultDB string
}

// WithTargets returns a copy of a that checks the databases it reads
// against the target policy p (targets.snowflake.databases). defaultDB is
// the session's database (DATASEV_SNOWFLAKE_DATABASE), which a name
// without a database resolves in. With a nil p (no policy) the actions,
// which only read, reach any database the role can.
func (a *Actions) WithTargets(p *target.Policy, defaultDB string) *Actions {
	cp := *a
	cp.targets, cp.defaultDB = p, defaultDB
	return &cp
}

// database checks the database a statement reads, db or else the
// session's, against the target policy.
func (a *Actions) database(action, db string) error {
	if !a.targets.Configured() {
		return nil
	}
	eff := db
	if eff == "" {
		eff = a.defaultDB
	}
	if eff == "" {
		return temporal.NewNonRetryableApplicationError(action+": target policy: the statement names no database and the "+
			"worker has no default one (DATASEV_SNOWFLAKE_DATABASE); with a target policy, name the database", target.RefusedType, nil)
	}
	if err := a.targets.Database(eff); err != nil {
		var ae *temporal.ApplicationError
		errors.As(err, &ae)
		return temporal.NewNonRetryableApplicationError(action+": "+ae.Message(), ae.Type(), nil)
	}
	return nil
}

// table checks what the actions on one table check before they query: that
// the worker has a connection, that name parses as a table name, and that
// the target policy allows its database.
func (a *Actions) table(action, name string) (objectName, error) {
	if err := a.ready(action); err != nil {
		return objectName{}, err
	}
	t, err := parseObjectName(name)
	if err != nil {
		return objectName{}, badRequest(action, "table: %v", err)
	}
	if err := a.database(action, t.database()); err != nil {
		return objectName{}, err
	}
	return t, nil
}

// New returns the Snowflake actions using db (from Open). A nil db gives
// actions that fail non-retryably, saying Snowflake is not configured.
func New(db *sql.DB) *Actions { return &Actions{db: db} }

// QueryTag is the query tag of a step's statements:
// datasev:<incident>:<step>, at most 2000 bytes.
func QueryTag(req runbooks.ActionRequest) string {
	tag := "datasev:" + req.Incident + ":" + req.Step
	if len(tag) > maxQueryTag {
		tag = mdtext.Truncate(tag, maxQueryTag)
	}
	return tag
}

func badRequest(action, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(action+": "+fmt.Sprintf(format, args...), BadRequestType, nil)
}

func (a *Actions) ready(action string) error {
	if a == nil || a.db == nil {
		return temporal.NewNonRetryableApplicationError(
			action+": Snowflake is not configured on this worker (set DATASEV_SNOWFLAKE_ACCOUNT, _USER and a password or private key)",
			NotConfiguredType, nil)
	}
	return nil
}

// bounds returns a history action's window in hours (DefaultHours when
// hours is 0, capped at maxHours: capped says so) and its row limit
// (DefaultLimit when limit is 0, capped at MaxLimit).
func bounds(action string, hours, maxHours, limit int) (h int, capped bool, l int, err error) {
	if hours < 0 {
		return 0, false, 0, badRequest(action, "hours %d: want a positive window", hours)
	}
	if limit < 0 {
		return 0, false, 0, badRequest(action, "limit %d: want a positive row limit", limit)
	}
	h, capped = orDefault(hours, DefaultHours, maxHours)
	l, _ = orDefault(limit, DefaultLimit, MaxLimit)
	return h, capped, l, nil
}

// orDefault is v, or def when v is 0, capped at max; capped says it was.
func orDefault(v, def, max int) (int, bool) {
	switch {
	case v == 0:
		return def, false
	case v > max:
		return max, true
	}
	return v, false
}

// run executes one statement on its own pooled connection, tagged for
// the step, and hands each row to scan. It returns the statement's query
// ID. Errors are classified (see classify); a session that can no longer
// be renewed is dropped from the pool so the retry logs in afresh.
func (a *Actions) run(ctx context.Context, action string, req runbooks.ActionRequest, query string, args []any, scan func(*sql.Rows) error) (string, error) {
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return "", classify(action, err)
	}
	defer conn.Close()
	ids := make(chan string, 1)
	qctx := gosnowflake.WithQueryIDChan(gosnowflake.WithQueryTag(ctx, QueryTag(req)), ids)
	err = func() error {
		rows, err := conn.QueryContext(qctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}()
	var queryID string
	select {
	case queryID = <-ids:
	default:
	}
	if err != nil {
		if sessionLost(err) {
			// The driver renews an expired session token by itself; when
			// even the master token is gone, this connection is dead.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return queryID, classify(action, err)
	}
	return queryID, nil
}

// Snowflake error numbers the classification names.
const (
	codeInvalidIdentifier = 904
	codeSyntaxError       = 1003
	codeObjectNotFound    = 2003
	codeObjectNotFound2   = 2043 // "Object does not exist, or operation cannot be performed."
	codeUnknownFunction   = 2140
	codeInsufficientPriv  = 3001
)

// sessionLost reports whether err says the session is gone for good:
// 390111 (session no longer exists), 390112 (token expired, renewal
// failed), 390113/390115 (invalid tokens), 390114 (master token expired).
func sessionLost(err error) bool {
	var se *gosnowflake.SnowflakeError
	return errors.As(err, &se) && se.Number >= 390111 && se.Number <= 390115
}

// authCodes are the login rejections that a retry cannot fix.
var authCodes = map[int]bool{
	390100:                             true, // incorrect username or password
	390101:                             true, // user not found / authenticator not supported
	390102:                             true, // user temporarily locked
	390144:                             true, // JWT invalid
	390189:                             true, // role not granted to the user
	390190:                             true, // no role
	390201:                             true, // database/warehouse in the connection does not exist or is not authorized
	390202:                             true,
	390303:                             true, // invalid OAuth token
	390318:                             true, // expired OAuth token
	gosnowflake.ErrCodeFailedToConnect: true, // HTTP 401/403 at login: wrong account?
}

// classify turns a driver error into the activity's error.
func classify(action string, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		// Already classified (by a row scanner).
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The activity was cancelled or timed out: Temporal decides.
		return err
	}
	var se *gosnowflake.SnowflakeError
	if !errors.As(err, &se) {
		return temporal.NewApplicationError(fmt.Sprintf("%s: %v", action, err), UnavailableType)
	}
	d := ErrorDetails{
		Code:     fmt.Sprintf("%06d", se.Number),
		SQLState: se.SQLState,
		Message:  se.Message,
		QueryID:  se.QueryID,
	}
	if len(se.MessageArgs) > 0 {
		d.Message = fmt.Sprintf(se.Message, se.MessageArgs...)
	}
	msg := fmt.Sprintf("%s: Snowflake error %s", action, d.Code)
	if d.SQLState != "" {
		msg += " (" + d.SQLState + ")"
	}
	msg += ": " + oneLine(d.Message)
	if d.QueryID != "" {
		msg += " [query " + d.QueryID + "]"
	}
	typ, nonRetryable := "", true
	switch n := se.Number; {
	case n == codeObjectNotFound || n == codeObjectNotFound2 || n == codeUnknownFunction:
		typ = NotFoundType
	case n == codeInsufficientPriv || se.SQLState == "42501":
		typ = PermissionType
	case n == codeSyntaxError:
		typ = SyntaxType
	case n == codeInvalidIdentifier:
		typ = InvalidIdentifierType
	case authCodes[n] || (n >= gosnowflake.ErrCodeEmptyAccountCode && n <= gosnowflake.ErrCodeMissingTLSConfig):
		typ = AuthType
	case n >= 390111 && n <= 390115:
		typ, nonRetryable = SessionType, false
	case strings.HasPrefix(se.SQLState, "42") || strings.HasPrefix(se.SQLState, "22") || strings.HasPrefix(se.SQLState, "0A"):
		typ = SQLErrorType
	default:
		typ, nonRetryable = UnavailableType, false
	}
	if nonRetryable {
		return temporal.NewNonRetryableApplicationError(msg, typ, nil, d)
	}
	return temporal.NewApplicationError(msg, typ, d)
}

// Object names.

var unquotedIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// objectName is a table or task name, up to database.schema.name, each
// part normalized as Snowflake resolves it: unquoted parts upper-cased,
// quoted parts kept as written.
type objectName struct {
	parts []string
}

// parseObjectName parses name, "schema.name" or "database.schema.name";
// each part an unquoted identifier (^[A-Za-z_][A-Za-z0-9_$]*$) or a
// double-quoted one ("" for a quote inside).
func parseObjectName(s string) (objectName, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return objectName{}, errors.New("empty name")
	}
	var parts []string
	for i := 0; i <= len(s); {
		if i == len(s) {
			return objectName{}, fmt.Errorf("%q ends with a dot", s)
		}
		var part string
		if s[i] == '"' {
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return objectName{}, fmt.Errorf("%q: unterminated quoted identifier", s)
			}
			part = b.String()
			if part == "" || !utf8.ValidString(part) {
				return objectName{}, fmt.Errorf("%q: empty or invalid quoted identifier", s)
			}
			i = j
		} else {
			j := strings.IndexByte(s[i:], '.')
			if j < 0 {
				j = len(s) - i
			}
			raw := s[i : i+j]
			if !unquotedIdent.MatchString(raw) {
				return objectName{}, fmt.Errorf("%q: %q is not an identifier (letters, digits, _ and $, not starting with a digit; double-quote other names)", s, raw)
			}
			part = strings.ToUpper(raw)
			i += j
		}
		parts = append(parts, part)
		if i == len(s) {
			break
		}
		if s[i] != '.' {
			return objectName{}, fmt.Errorf("%q: want parts separated by dots", s)
		}
		i++
	}
	if len(parts) > 3 {
		return objectName{}, fmt.Errorf("%q: at most database.schema.name", s)
	}
	return objectName{parts: parts}, nil
}

// oneName parses s as a single identifier (no dots outside quotes) and
// returns it normalized; a blank s gives "". valid is false when s is
// neither.
func oneName(s string) (name string, valid bool) {
	if strings.TrimSpace(s) == "" {
		return "", true
	}
	o, err := parseObjectName(s)
	if err != nil || len(o.parts) != 1 {
		return "", false
	}
	return o.name(), true
}

// name is the last part; schema and database are "" when not given.
func (o objectName) name() string { return o.parts[len(o.parts)-1] }

func (o objectName) schema() string {
	if len(o.parts) >= 2 {
		return o.parts[len(o.parts)-2]
	}
	return ""
}

func (o objectName) database() string {
	if len(o.parts) == 3 {
		return o.parts[0]
	}
	return ""
}

// String is the name as SQL writes it: unquoted where Snowflake would
// resolve it unchanged, double-quoted otherwise. It is what IDENTIFIER(?)
// and the table functions' name arguments are bound to.
func (o objectName) String() string {
	out := make([]string, len(o.parts))
	for i, p := range o.parts {
		out[i] = quoteIfNeeded(p)
	}
	return strings.Join(out, ".")
}

var plainUpperIdent = regexp.MustCompile(`^[A-Z_][A-Z0-9_$]*$`)

func quoteIfNeeded(part string) string {
	if plainUpperIdent.MatchString(part) {
		return part
	}
	return quoteIdent(part)
}

// quoteIdent double-quotes an identifier.
func quoteIdent(part string) string {
	return `"` + strings.ReplaceAll(part, `"`, `""`) + `"`
}

// infoSchema is the INFORMATION_SCHEMA of database db ("" for the
// session's current database). db comes from parseObjectName, and is
// quoted: SQL takes no bind variable there.
func infoSchema(db string) string {
	if db == "" {
		return "INFORMATION_SCHEMA"
	}
	return quoteIdent(db) + ".INFORMATION_SCHEMA"
}

// Output helpers.

var spaces = regexp.MustCompile(`\s+`)

// oneLine folds a message's line breaks and runs of spaces into single
// spaces, for summaries and error messages.
func oneLine(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

func nullString(s sql.NullString, n int) any {
	if !s.Valid {
		return nil
	}
	return mdtext.Truncate(s.String, n)
}

func nullInt(i sql.NullInt64) any {
	if !i.Valid {
		return nil
	}
	return i.Int64
}

// timeString is a time for outputs: RFC 3339 in UTC.
func timeString(t sql.NullTime) any {
	if !t.Valid {
		return nil
	}
	return t.Time.UTC().Format(time.RFC3339Nano)
}

// short is a time for summaries.
func short(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }

// writeSpan adds "; first …, last …" to a history's summary when both
// times are known.
func writeSpan(sum *strings.Builder, first, last sql.NullTime) {
	if first.Valid && last.Valid {
		fmt.Fprintf(sum, "; first %s, last %s", short(first.Time), short(last.Time))
	}
}

// writeCapped adds to a history's summary that its window was capped at
// the source's reach, when it was.
func writeCapped(sum *strings.Builder, capped bool, hours int) {
	if capped {
		fmt.Fprintf(sum, " (window capped at %dh)", hours)
	}
}

// plural writes "1 load" or "2 loads".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// countedText is a message and how often it occurred.
type countedText struct {
	key   string
	text  string
	count int64
}

// tally adds one occurrence of key to m; text describes the key when it is
// new.
func tally(m map[string]*countedText, key, text string) {
	if c, ok := m[key]; ok {
		c.count++
		return
	}
	m[key] = &countedText{key: key, text: text, count: 1}
}

// errorCounts is the top_errors output of error codes: code, count and
// message of each.
func errorCounts(top []*countedText) []any {
	out := make([]any, len(top))
	for i, c := range top {
		out[i] = map[string]any{"code": c.key, "count": c.count, "message": c.text}
	}
	return out
}

// topCounts sorts by count (descending), then key, and keeps n.
func topCounts(m map[string]*countedText, n int) []*countedText {
	out := make([]*countedText, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].count != out[j].count {
			return out[i].count > out[j].count
		}
		return out[i].key < out[j].key
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// mdCell escapes a value for a Markdown table cell.
func mdCell(v any) string {
	if v == nil {
		return ""
	}
	s := fmt.Sprint(v)
	s = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return mdtext.Truncate(s, 160)
}

// mdTable renders rows (at most detailRows) as a Markdown table.
func mdTable(header []string, rows [][]any) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for i, r := range rows {
		if i == detailRows {
			break
		}
		cells := make([]string, len(r))
		for j, v := range r {
			cells[j] = mdCell(v)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	if len(rows) > detailRows {
		fmt.Fprintf(&b, "\n… and %d more rows in the output.\n", len(rows)-detailRows)
	}
	return b.String()
}
