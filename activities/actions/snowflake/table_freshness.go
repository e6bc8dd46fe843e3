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
	expected := in.ExpectedFreshness.Std()
	if expected <= 0 {
		return runbooks.ActionResult{}, badRequest(action, "expected_freshness must be positive, e.g. 1h")
	}
	column, valid := oneName(in.Column)
	if !valid {
		return runbooks.ActionResult{}, badRequest(action, "column %q: want one column name (letters, digits, _ and $, not starting with a digit; double-quote other names)", in.Column)
	}

	var (
		found                        bool
		catalog, schema, name, ttype sql.NullString
		rowCount                     sql.NullInt64
		lastAltered, now             sql.NullTime
	)
	var schemaArg any
	if s := table.schema(); s != "" {
		schemaArg = s
	}
	queryID, err := a.run(ctx, action, req, tablesSQL(table.database()), []any{schemaArg, table.name()}, func(rows *sql.Rows) error {
		found = true
		return rows.Scan(&catalog, &schema, &name, &ttype, &rowCount, &lastAltered, &now)
	})
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	if !found {
		where := "the configured database"
		if db := table.database(); db != "" {
			where = db
		}
		return runbooks.ActionResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: table %s not found in %s's INFORMATION_SCHEMA.TABLES: it does not exist or the role may not see it", action, table, where),
			NotFoundType, nil, ErrorDetails{Message: "not found in INFORMATION_SCHEMA.TABLES"})
	}
	full := objectName{parts: []string{catalog.String, schema.String, name.String}}

	var maxValue sql.NullTime
	var colNow sql.NullTime
	if column != "" {
		queryID, err = a.run(ctx, action, req, maxColumnSQL(column), []any{full.String()}, func(rows *sql.Rows) error {
			var v any
			if err := rows.Scan(&v, &colNow); err != nil {
				return err
			}
			switch x := v.(type) {
			case nil:
			case time.Time:
				maxValue = sql.NullTime{Time: x, Valid: true}
			default:
				return temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("%s: column %s of %s is not a timestamp or date (MAX is %T)", action, column, full, v),
					BadRequestType, nil)
			}
			return nil
		})
		if err != nil {
			return runbooks.ActionResult{}, err
		}
		if colNow.Valid {
			now = colNow
		}
	}

	checkedAt := now.Time
	if !now.Valid {
		checkedAt = time.Now()
	}
	minutes := func(t sql.NullTime) any {
		if !t.Valid {
			return nil
		}
		return int64(checkedAt.Sub(t.Time) / time.Minute)
	}
	out := map[string]any{
		"table":                    full.String(),
		"table_type":               nullString(ttype, 100),
		"row_count":                nullInt(rowCount),
		"last_altered":             timeString(lastAltered),
		"last_altered_age_minutes": minutes(lastAltered),
		"expected_minutes":         int64(expected / time.Minute),
		"checked_at":               checkedAt.UTC().Format(time.RFC3339Nano),
		"query_id":                 queryID,
	}
	judged, what := lastAltered, "last altered"
	if column != "" {
		out["column"] = column
		out["max_value"] = timeString(maxValue)
		out["column_age_minutes"] = minutes(maxValue)
		judged, what = maxValue, "newest "+column
	}
	ok, reason := true, ""
	var sum string
	if !judged.Valid {
		ok = false
		if column != "" {
			reason = fmt.Sprintf("no rows: MAX(%s) is NULL", column)
		} else {
			reason = "no LAST_ALTERED time"
		}
		out["age_minutes"] = nil
		sum = fmt.Sprintf("%s: %s (expected within %s) — stale", full, reason, human(expected))
	} else {
		age := checkedAt.Sub(judged.Time)
		out["age_minutes"] = int64(age / time.Minute)
		if age > expected {
			ok = false
			reason = fmt.Sprintf("%s is %s old, more than %s", what, human(age), human(expected))
		}
		verdict := "fresh"
		if !ok {
			verdict = "stale"
		}
		sum = fmt.Sprintf("%s: %s %s ago (%s), expected within %s — %s", full, what, human(age), short(judged.Time), human(expected), verdict)
	}
	out["ok"] = ok
	if reason != "" {
		out["reason"] = reason
	}
	res := runbooks.ActionResult{Output: out, Summary: sum}
	if !ok {
		var d strings.Builder
		fmt.Fprintf(&d, "**Stale table** %s: %s\n\n", full, reason)
		fmt.Fprintf(&d, "- last altered: %v\n", orNone(timeString(lastAltered)))
		if column != "" {
			fmt.Fprintf(&d, "- MAX(%s): %v\n", column, orNone(timeString(maxValue)))
		}
		fmt.Fprintf(&d, "- rows: %v\n- checked at: %s (Snowflake's clock)\n", orNone(nullInt(rowCount)), checkedAt.UTC().Format(time.RFC3339))
		res.Detail = d.String()
	}
	return res, nil
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
