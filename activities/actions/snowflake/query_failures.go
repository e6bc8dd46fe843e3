package snowflake

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/runbooks"
)

// QueryFailuresName is snowflake.query_failures's action name.
const QueryFailuresName = "snowflake.query_failures"

// Windows of snowflake.query_failures, per source.
const (
	// MaxInfoSchemaHours is INFORMATION_SCHEMA.QUERY_HISTORY's reach: 7 days.
	MaxInfoSchemaHours = 7 * 24
	// MaxAccountUsageHours bounds the ACCOUNT_USAGE window (the view keeps a
	// year; a diagnostic needs far less).
	MaxAccountUsageHours = 30 * 24
)

// Sources of snowflake.query_failures.
const (
	SourceInformationSchema = "information_schema"
	SourceAccountUsage      = "account_usage"
)

// QueryFailuresSpec is snowflake.query_failures's spec; actions.Typed adds
// its inputs from QueryFailuresInput.
func QueryFailuresSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: QueryFailuresName,
		Description: "Failed queries in the last hours (default 6), newest first, filtered by warehouse, user, role, " +
			"database, schema or an object name found in the query text or error message; with counts per error code " +
			"and the first and last failure. Source information_schema (default) reads the " +
			"INFORMATION_SCHEMA.QUERY_HISTORY table function: no latency, up to 7 days, but only the 10,000 most recent " +
			"queries of the window are examined and only those the role may monitor. Source account_usage reads the " +
			"SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY view: up to 30 days here and every query of the account, but it lags " +
			"by up to 45 minutes, so the newest failures may be missing, and the role needs access to the SNOWFLAKE " +
			"database (e.g. database role SNOWFLAKE.GOVERNANCE_VIEWER).",
		Outputs: []string{"failures", "shown", "truncated", "hours", "source", "first_failure", "last_failure", "top_errors", "queries", "query_id"},
	}
}

// QueryFailuresInput is snowflake.query_failures's inputs.
type QueryFailuresInput struct {
	Hours            int    `json:"hours" desc:"window in hours, ending now (default 6; capped at 168, or 720 from account_usage)"`
	Warehouse        string `json:"warehouse" desc:"only queries on this warehouse"`
	User             string `json:"user" desc:"only queries by this user"`
	Role             string `json:"role" desc:"only queries run with this role"`
	Database         string `json:"database" desc:"only queries whose current database was this"`
	Schema           string `json:"schema" desc:"only queries whose current schema was this"`
	Object           string `json:"object" desc:"only queries whose text or error message mentions this name (case-insensitive)"`
	Limit            int    `json:"limit" desc:"most failed queries listed (default 100, at most 500); counts cover the whole window"`
	Source           string `json:"source" desc:"information_schema (default: recent, no latency) or account_usage (longer windows, up to 45 minutes behind)"`
	IncludeQueryText bool   `json:"include_query_text" desc:"keep the first 500 characters of each query's text in the output (off: query text may hold literals that do not belong in the incident's history)"`
}

// queryFailuresColumns are the columns the query selects, in order.
const queryFailuresColumns = `QUERY_ID, QUERY_TYPE, USER_NAME, ROLE_NAME, WAREHOUSE_NAME, DATABASE_NAME, SCHEMA_NAME,
       EXECUTION_STATUS, ERROR_CODE, ERROR_MESSAGE, START_TIME, END_TIME, QUERY_TAG, LEFT(QUERY_TEXT, 500) AS QUERY_TEXT,
       COUNT(*) OVER () AS FAILURES,
       COUNT(*) OVER (PARTITION BY ERROR_CODE) AS CODE_FAILURES,
       MIN(END_TIME) OVER () AS FIRST_FAILURE,
       MAX(END_TIME) OVER () AS LAST_FAILURE`

// queryFailuresSQL returns the statement snowflake.query_failures runs and
// its bind values, for the inputs as given (after defaults and caps).
func queryFailuresSQL(in QueryFailuresInput, hours, limit int) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString("SELECT " + queryFailuresColumns + "\n")
	if in.Source == SourceAccountUsage {
		b.WriteString("FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY\n")
		b.WriteString("WHERE END_TIME >= DATEADD('hour', -?, CURRENT_TIMESTAMP())\n")
		b.WriteString("  AND UPPER(EXECUTION_STATUS) IN ('FAIL', 'INCIDENT')\n")
		args = append(args, hours)
	} else {
		b.WriteString("FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY(\n")
		b.WriteString("       END_TIME_RANGE_START => DATEADD('hour', -?, CURRENT_TIMESTAMP()),\n")
		b.WriteString("       RESULT_LIMIT => ?))\n")
		b.WriteString("WHERE EXECUTION_STATUS IN ('FAILED_WITH_ERROR', 'FAILED_WITH_INCIDENT')\n")
		args = append(args, hours, historyResultLimit)
	}
	for _, f := range []struct{ column, value string }{
		{"WAREHOUSE_NAME", in.Warehouse},
		{"USER_NAME", in.User},
		{"ROLE_NAME", in.Role},
		{"DATABASE_NAME", in.Database},
		{"SCHEMA_NAME", in.Schema},
	} {
		if v := strings.TrimSpace(f.value); v != "" {
			b.WriteString("  AND UPPER(" + f.column + ") = UPPER(?)\n")
			args = append(args, v)
		}
	}
	if v := strings.TrimSpace(in.Object); v != "" {
		b.WriteString("  AND (CONTAINS(UPPER(QUERY_TEXT), UPPER(?)) OR CONTAINS(UPPER(COALESCE(ERROR_MESSAGE, '')), UPPER(?)))\n")
		args = append(args, v, v)
	}
	b.WriteString("ORDER BY END_TIME DESC\nLIMIT ?")
	args = append(args, limit)
	return b.String(), args
}

// QueryFailures lists the failed queries of the window.
func (a *Actions) QueryFailures(ctx context.Context, req runbooks.ActionRequest, in QueryFailuresInput) (runbooks.ActionResult, error) {
	const action = QueryFailuresName
	in, hours, capped, limit, err := a.queryFailuresInput(in)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	query, args := queryFailuresSQL(in, hours, limit)
	f := &failedQueries{withText: in.IncludeQueryText, queries: []any{}, codes: map[string]*countedText{}}
	queryID, err := a.run(ctx, action, req, query, args, f.scan)
	if err != nil {
		return runbooks.ActionResult{}, err
	}

	top := topCounts(f.codes, 5)
	out := map[string]any{
		"failures":      f.total,
		"shown":         len(f.queries),
		"truncated":     f.total > int64(len(f.queries)),
		"hours":         hours,
		"source":        in.Source,
		"first_failure": timeString(f.first),
		"last_failure":  timeString(f.last),
		"top_errors":    errorCounts(top),
		"queries":       f.queries,
		"query_id":      queryID,
	}
	res := runbooks.ActionResult{Output: out, Summary: f.summary(top, hours, capped, describeFilters(in))}
	if len(f.table) > 0 {
		res.Detail = f.detail(top)
	}
	return res, nil
}

// queryFailuresInput checks in and applies its defaults: with a target
// policy, the session's database when the step names none; the source
// (information_schema by default) and, within the source's reach, the
// window and limit. It returns in with the database and source set.
func (a *Actions) queryFailuresInput(in QueryFailuresInput) (_ QueryFailuresInput, hours int, capped bool, limit int, err error) {
	const action = QueryFailuresName
	if err := a.ready(action); err != nil {
		return in, 0, false, 0, err
	}
	if a.targets.Configured() && strings.TrimSpace(in.Database) == "" {
		// With a policy, the failures read are those of an allowed
		// database: the session's, unless the step names one.
		in.Database = a.defaultDB
	}
	if err := a.database(action, strings.TrimSpace(in.Database)); err != nil {
		return in, 0, false, 0, err
	}
	in.Source = strings.ToLower(strings.TrimSpace(in.Source))
	maxHours := MaxInfoSchemaHours
	switch in.Source {
	case "":
		in.Source = SourceInformationSchema
	case SourceInformationSchema:
	case SourceAccountUsage:
		maxHours = MaxAccountUsageHours
	default:
		return in, 0, false, 0, badRequest(action, "source %q: want %s or %s", in.Source, SourceInformationSchema, SourceAccountUsage)
	}
	hours, capped, limit, err = bounds(action, in.Hours, maxHours, in.Limit)
	return in, hours, capped, limit, err
}

// failedQueries gathers the rows of queryFailuresSQL: the window's count
// and first and last failure (the same on every row), the queries listed
// and the failures per error code.
type failedQueries struct {
	withText    bool // list each query's text
	total       int64
	first, last sql.NullTime
	queries     []any
	table       [][]any
	codes       map[string]*countedText
}

// scan reads one row.
func (f *failedQueries) scan(rows *sql.Rows) error {
	var (
		id, qtype, user, role, wh, db, schema, status, code, msg, tag, text sql.NullString
		start, end, firstF, lastF                                           sql.NullTime
		failures, codeFailures                                              sql.NullInt64
	)
	if err := rows.Scan(&id, &qtype, &user, &role, &wh, &db, &schema, &status, &code, &msg, &start, &end, &tag, &text,
		&failures, &codeFailures, &firstF, &lastF); err != nil {
		return err
	}
	f.total, f.first, f.last = failures.Int64, firstF, lastF
	row := map[string]any{
		"query_id":      id.String,
		"query_type":    nullString(qtype, 100),
		"user":          nullString(user, 256),
		"role":          nullString(role, 256),
		"warehouse":     nullString(wh, 256),
		"database":      nullString(db, 256),
		"schema":        nullString(schema, 256),
		"status":        nullString(status, 100),
		"error_code":    nullString(code, 20),
		"error_message": nullString(msg, MaxTextLen),
		"start_time":    timeString(start),
		"end_time":      timeString(end),
		"query_tag":     nullString(tag, 256),
	}
	if f.withText {
		row["query_text"] = nullString(text, MaxTextLen)
	}
	f.queries = append(f.queries, row)
	key := code.String
	if key == "" {
		key = "(none)"
	}
	if _, ok := f.codes[key]; !ok {
		f.codes[key] = &countedText{key: key, text: mdtext.Truncate(msg.String, 200), count: codeFailures.Int64}
	}
	f.table = append(f.table, []any{timeString(end), code.String, msg.String, user.String, wh.String, id.String})
	return nil
}

// summary is the one-line answer: the failures in the window and scope,
// per error code, the first and last, and how many are listed.
func (f *failedQueries) summary(top []*countedText, hours int, capped bool, scope string) string {
	var sum strings.Builder
	if f.total == 0 {
		fmt.Fprintf(&sum, "no failed queries in the last %dh%s", hours, scope)
	} else {
		fmt.Fprintf(&sum, "%s in the last %dh%s", plural(f.total, "failed query", "failed queries"), hours, scope)
		parts := make([]string, len(top))
		for i, c := range top {
			parts[i] = fmt.Sprintf("%s ×%d", c.key, c.count)
		}
		fmt.Fprintf(&sum, ": %s", strings.Join(parts, ", "))
		writeSpan(&sum, f.first, f.last)
		if f.total > int64(len(f.queries)) {
			fmt.Fprintf(&sum, " (newest %d listed)", len(f.queries))
		}
	}
	writeCapped(&sum, capped, hours)
	return sum.String()
}

// detail is the top errors and the table of the queries listed.
func (f *failedQueries) detail(top []*countedText) string {
	var d strings.Builder
	if len(top) > 0 {
		d.WriteString("**Top errors**\n\n")
		for _, c := range top {
			fmt.Fprintf(&d, "- `%s` ×%d: %s\n", c.key, c.count, mdCell(c.text))
		}
		d.WriteString("\n")
	}
	d.WriteString(mdTable([]string{"end time", "code", "error", "user", "warehouse", "query ID"}, f.table))
	return d.String()
}

// describeFilters says which filters narrowed the search, for summaries.
func describeFilters(in QueryFailuresInput) string {
	var parts []string
	for _, f := range []struct{ name, value string }{
		{"warehouse", in.Warehouse}, {"user", in.User}, {"role", in.Role},
		{"database", in.Database}, {"schema", in.Schema}, {"mentioning", in.Object},
	} {
		if v := strings.TrimSpace(f.value); v != "" {
			parts = append(parts, f.name+" "+v)
		}
	}
	if in.Source == SourceAccountUsage {
		parts = append(parts, "from ACCOUNT_USAGE")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
