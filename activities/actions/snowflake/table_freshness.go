package snowflake

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/runbooks"
)

// TableFreshnessName is snowflake.table_freshness's action name.
const TableFreshnessName = "snowflake.table_freshness"

// TableFreshnessSpec is snowflake.table_freshness's spec; actions.Typed
// adds its inputs from TableFreshnessInput.
func TableFreshnessSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: TableFreshnessName,
		Description: "Is a table fresh? Reads the table's LAST_ALTERED from INFORMATION_SCHEMA.TABLES and, when a " +
			"timestamp column is given, MAX(column) from the table (Snowflake usually answers it from partition " +
			"metadata), and compares the age of the newest of the two that applies — the column when given, else " +
			"LAST_ALTERED — with expected_freshness, against Snowflake's CURRENT_TIMESTAMP(). Output ok is false when " +
			"the table is stale or empty, so a check step fails and a verify step waits. TIMESTAMP_NTZ columns are " +
			"taken as UTC.",
		Outputs: []string{"ok", "reason", "table", "table_type", "row_count", "last_altered", "last_altered_age_minutes",
			"column", "max_value", "column_age_minutes", "age_minutes", "expected_minutes", "checked_at", "query_id"},
	}
}

// TableFreshnessInput is snowflake.table_freshness's inputs.
type TableFreshnessInput struct {
	Table             string            `json:"table" datasev:"required" desc:"database.schema.table, schema.table or table; double-quote case-sensitive names"`
	Column            string            `json:"column" desc:"timestamp or date column whose maximum is the data's freshness, e.g. loaded_at (default: use LAST_ALTERED)"`
	ExpectedFreshness runbooks.Duration `json:"expected_freshness" datasev:"required" desc:"how old the newest data may be, e.g. 1h"`
}

func tablesSQL(db string) string {
	return `SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ROW_COUNT, LAST_ALTERED, CURRENT_TIMESTAMP() AS NOW
FROM ` + infoSchema(db) + `.TABLES
WHERE TABLE_SCHEMA = COALESCE(?, CURRENT_SCHEMA()) AND TABLE_NAME = ?`
}

// maxColumnSQL reads the newest value of column, which has been parsed
// and is quoted: SQL takes no bind variable for a column name.
func maxColumnSQL(column string) string {
	return `SELECT MAX(` + quoteIdent(column) + `) AS MAX_VALUE, CURRENT_TIMESTAMP() AS NOW FROM IDENTIFIER(?)`
}

// TableFreshness checks how fresh a table is.
func (a *Actions) TableFreshness(ctx context.Context, req runbooks.ActionRequest, in TableFreshnessInput) (runbooks.ActionResult, error) {
	const action = TableFreshnessName
	table, err := a.table(action, in.Table)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	f := freshness{expected: in.ExpectedFreshness.Std()}
	if f.expected <= 0 {
		return runbooks.ActionResult{}, badRequest(action, "expected_freshness must be positive, e.g. 1h")
	}
	column, valid := oneName(in.Column)
	if !valid {
		return runbooks.ActionResult{}, badRequest(action, "column %q: want one column name (letters, digits, _ and $, not starting with a digit; double-quote other names)", in.Column)
	}
	f.column = column
	queryID, err := a.tableRow(ctx, req, table, &f.row)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	f.full = objectName{parts: []string{f.row.catalog.String, f.row.schema.String, f.row.name.String}}
	now := f.row.now
	if column != "" {
		var colNow sql.NullTime
		if queryID, err = a.columnMax(ctx, req, column, f.full, &f.maxValue, &colNow); err != nil {
			return runbooks.ActionResult{}, err
		}
		if colNow.Valid {
			now = colNow
		}
	}
	f.checkedAt = now.Time
	if !now.Valid {
		f.checkedAt = time.Now()
	}
	out, ok, sum := f.judge(queryID)
	res := runbooks.ActionResult{Output: out, Summary: sum}
	if !ok {
		res.Detail = f.detail(fmt.Sprint(out["reason"]))
	}
	return res, nil
}

// tableInfo is a table's row in INFORMATION_SCHEMA.TABLES, with
// Snowflake's clock.
type tableInfo struct {
	catalog, schema, name, ttype sql.NullString
	rowCount                     sql.NullInt64
	lastAltered, now             sql.NullTime
}

// tableRow reads table's row of INFORMATION_SCHEMA.TABLES into row; a
// table it does not list is a non-retryable NotFoundType error.
func (a *Actions) tableRow(ctx context.Context, req runbooks.ActionRequest, table objectName, row *tableInfo) (string, error) {
	const action = TableFreshnessName
	found := false
	var schemaArg any
	if s := table.schema(); s != "" {
		schemaArg = s
	}
	queryID, err := a.run(ctx, action, req, tablesSQL(table.database()), []any{schemaArg, table.name()}, func(rows *sql.Rows) error {
		found = true
		return rows.Scan(&row.catalog, &row.schema, &row.name, &row.ttype, &row.rowCount, &row.lastAltered, &row.now)
	})
	if err != nil {
		return "", err
	}
	if !found {
		where := "the configured database"
		if db := table.database(); db != "" {
			where = db
		}
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: table %s not found in %s's INFORMATION_SCHEMA.TABLES: it does not exist or the role may not see it", action, table, where),
			NotFoundType, nil, ErrorDetails{Message: "not found in INFORMATION_SCHEMA.TABLES"})
	}
	return queryID, nil
}

// columnMax reads MAX(column) of table into maxValue, with Snowflake's
// clock into now; a column whose MAX is not a time is a non-retryable
// BadRequestType error.
func (a *Actions) columnMax(ctx context.Context, req runbooks.ActionRequest, column string, table objectName, maxValue, now *sql.NullTime) (string, error) {
	const action = TableFreshnessName
	return a.run(ctx, action, req, maxColumnSQL(column), []any{table.String()}, func(rows *sql.Rows) error {
		var v any
		if err := rows.Scan(&v, now); err != nil {
			return err
		}
		switch x := v.(type) {
		case nil:
		case time.Time:
			*maxValue = sql.NullTime{Time: x, Valid: true}
		default:
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s: column %s of %s is not a timestamp or date (MAX is %T)", action, column, table, v),
				BadRequestType, nil)
		}
		return nil
	})
}

// freshness is what snowflake.table_freshness judges: the table's row, the
// column's newest value (when a column is given) and the expected
// freshness, at checkedAt (Snowflake's clock when it answered).
type freshness struct {
	full      objectName
	column    string
	expected  time.Duration
	row       tableInfo
	maxValue  sql.NullTime
	checkedAt time.Time
}

// minutes is t's age in minutes at checkedAt (nil when t is NULL).
func (f *freshness) minutes(t sql.NullTime) any {
	if !t.Valid {
		return nil
	}
	return int64(f.checkedAt.Sub(t.Time) / time.Minute)
}

// judge is the outputs, the verdict and the summary: the column's newest
// value (or, without a column, LAST_ALTERED) must be at most expected old.
func (f *freshness) judge(queryID string) (map[string]any, bool, string) {
	out := map[string]any{
		"table":                    f.full.String(),
		"table_type":               nullString(f.row.ttype, 100),
		"row_count":                nullInt(f.row.rowCount),
		"last_altered":             timeString(f.row.lastAltered),
		"last_altered_age_minutes": f.minutes(f.row.lastAltered),
		"expected_minutes":         int64(f.expected / time.Minute),
		"checked_at":               f.checkedAt.UTC().Format(time.RFC3339Nano),
		"query_id":                 queryID,
	}
	judged, what := f.row.lastAltered, "last altered"
	if f.column != "" {
		out["column"] = f.column
		out["max_value"] = timeString(f.maxValue)
		out["column_age_minutes"] = f.minutes(f.maxValue)
		judged, what = f.maxValue, "newest "+f.column
	}
	ok, reason := true, ""
	var sum string
	if !judged.Valid {
		ok = false
		if f.column != "" {
			reason = fmt.Sprintf("no rows: MAX(%s) is NULL", f.column)
		} else {
			reason = "no LAST_ALTERED time"
		}
		out["age_minutes"] = nil
		sum = fmt.Sprintf("%s: %s (expected within %s) — stale", f.full, reason, human(f.expected))
	} else {
		age := f.checkedAt.Sub(judged.Time)
		out["age_minutes"] = int64(age / time.Minute)
		if age > f.expected {
			ok = false
			reason = fmt.Sprintf("%s is %s old, more than %s", what, human(age), human(f.expected))
		}
		verdict := "fresh"
		if !ok {
			verdict = "stale"
		}
		sum = fmt.Sprintf("%s: %s %s ago (%s), expected within %s — %s", f.full, what, human(age), short(judged.Time), human(f.expected), verdict)
	}
	out["ok"] = ok
	if reason != "" {
		out["reason"] = reason
	}
	return out, ok, sum
}

// detail explains a stale table.
func (f *freshness) detail(reason string) string {
	var d strings.Builder
	fmt.Fprintf(&d, "**Stale table** %s: %s\n\n", f.full, reason)
	fmt.Fprintf(&d, "- last altered: %v\n", orNone(timeString(f.row.lastAltered)))
	if f.column != "" {
		fmt.Fprintf(&d, "- MAX(%s): %v\n", f.column, orNone(timeString(f.maxValue)))
	}
	fmt.Fprintf(&d, "- rows: %v\n- checked at: %s (Snowflake's clock)\n", orNone(nullInt(f.row.rowCount)), f.checkedAt.UTC().Format(time.RFC3339))
	return d.String()
}

func orNone(v any) any {
	if v == nil {
		return "none"
	}
	return v
}

// human writes a duration to the minute: "3h12m", "45m", "<1m".
func human(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "<1m"
	}
	s := strings.TrimSuffix(d.String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if neg {
		s = "-" + s
	}
	return s
}
