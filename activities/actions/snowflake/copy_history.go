package snowflake

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/runbooks"
)

// CopyHistoryName is snowflake.copy_history's action name.
const CopyHistoryName = "snowflake.copy_history"

// MaxCopyHistoryHours is INFORMATION_SCHEMA.COPY_HISTORY's reach: 14 days.
const MaxCopyHistoryHours = 14 * 24

// CopyHistorySpec is snowflake.copy_history's spec; actions.Typed adds its
// inputs from CopyHistoryInput.
func CopyHistorySpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: CopyHistoryName,
		Description: "Load attempts into a table in the last hours (default 6), from the INFORMATION_SCHEMA.COPY_HISTORY " +
			"table function (COPY INTO and Snowpipe, up to 14 days): each file's status, rows loaded and parsed and " +
			"first error, failed and partial loads first; with counts of loaded, failed and partially loaded files " +
			"(errors = failed + partial) over the whole window. The table is database.schema.table, schema.table or " +
			"table (in the configured database and schema).",
		Outputs: []string{"table", "hours", "loads", "loaded", "failed", "partial", "errors", "rows_loaded", "rows_parsed",
			"first_load", "last_load", "last_error", "top_errors", "files", "shown", "truncated", "query_id"},
	}
}

// CopyHistoryInput is snowflake.copy_history's inputs.
type CopyHistoryInput struct {
	Table string `json:"table" datasev:"required" desc:"table loaded into: database.schema.table, schema.table or table; double-quote case-sensitive names"`
	Hours int    `json:"hours" desc:"window in hours, ending now (default 6, at most 336)"`
	Limit int    `json:"limit" desc:"most files listed, failed and partial loads first (default 100, at most 500); counts cover the whole window"`
}

func copyHistorySQL(db string) string {
	return `SELECT FILE_NAME, STAGE_LOCATION, STATUS, ROW_COUNT, ROW_PARSED, ERROR_COUNT,
       FIRST_ERROR_MESSAGE, FIRST_ERROR_LINE_NUMBER, FIRST_ERROR_COLUMN_NAME, LAST_LOAD_TIME, PIPE_NAME,
       COUNT(*) OVER () AS LOADS,
       SUM(IFF(UPPER(STATUS) = 'LOADED', 1, 0)) OVER () AS LOADED,
       SUM(IFF(UPPER(STATUS) = 'LOAD FAILED', 1, 0)) OVER () AS FAILED,
       SUM(IFF(UPPER(STATUS) = 'PARTIALLY LOADED', 1, 0)) OVER () AS PARTIAL,
       SUM(ROW_COUNT) OVER () AS ROWS_LOADED,
       SUM(ROW_PARSED) OVER () AS ROWS_PARSED,
       MIN(LAST_LOAD_TIME) OVER () AS FIRST_LOAD,
       MAX(LAST_LOAD_TIME) OVER () AS LAST_LOAD
FROM TABLE(` + infoSchema(db) + `.COPY_HISTORY(
       TABLE_NAME => ?,
       START_TIME => DATEADD('hour', -?, CURRENT_TIMESTAMP())))
ORDER BY IFF(UPPER(STATUS) = 'LOADED', 1, 0), LAST_LOAD_TIME DESC
LIMIT ?`
}

// CopyHistory lists the load attempts into a table.
func (a *Actions) CopyHistory(ctx context.Context, req runbooks.ActionRequest, in CopyHistoryInput) (runbooks.ActionResult, error) {
	const action = CopyHistoryName
	table, err := a.table(action, in.Table)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	hours, capped, limit, err := bounds(action, in.Hours, MaxCopyHistoryHours, in.Limit)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	l := &loadAttempts{files: []any{}, errs: map[string]*countedText{}}
	queryID, err := a.run(ctx, action, req, copyHistorySQL(table.database()), []any{table.String(), hours, limit}, l.scan)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	res := runbooks.ActionResult{Output: l.output(table, hours, queryID), Summary: l.summary(table, hours, capped)}
	if len(l.listing) > 0 {
		res.Detail = mdTable([]string{"last load", "status", "file", "rows loaded", "rows parsed", "first error"}, l.listing)
	}
	return res, nil
}

// loadAttempts gathers the rows of copyHistorySQL: the window's counts and
// first and last load (the same on every row), the files listed, the
// latest error and the files per error message.
type loadAttempts struct {
	loads, loaded, failed, partial, rowsLoaded, rowsParsed int64
	firstLoad, lastLoad                                    sql.NullTime
	files                                                  []any
	listing                                                [][]any
	lastError                                              map[string]any
	errs                                                   map[string]*countedText
}

// scan reads one row.
func (l *loadAttempts) scan(rows *sql.Rows) error {
	var (
		file, stage, status, firstErr, errColumn, pipe           sql.NullString
		rowCount, rowParsed, errCount, errLine                   sql.NullInt64
		loadTime, first, last                                    sql.NullTime
		nLoads, nLoaded, nFailed, nPartial, sumLoaded, sumParsed sql.NullInt64
	)
	if err := rows.Scan(&file, &stage, &status, &rowCount, &rowParsed, &errCount, &firstErr, &errLine, &errColumn, &loadTime, &pipe,
		&nLoads, &nLoaded, &nFailed, &nPartial, &sumLoaded, &sumParsed, &first, &last); err != nil {
		return err
	}
	l.loads, l.loaded, l.failed, l.partial = nLoads.Int64, nLoaded.Int64, nFailed.Int64, nPartial.Int64
	l.rowsLoaded, l.rowsParsed, l.firstLoad, l.lastLoad = sumLoaded.Int64, sumParsed.Int64, first, last
	row := map[string]any{
		"file":               nullString(file, 1024),
		"stage_location":     nullString(stage, 1024),
		"status":             nullString(status, 100),
		"rows_loaded":        nullInt(rowCount),
		"rows_parsed":        nullInt(rowParsed),
		"error_count":        nullInt(errCount),
		"first_error":        nullString(firstErr, MaxTextLen),
		"first_error_line":   nullInt(errLine),
		"first_error_column": nullString(errColumn, 256),
		"last_load_time":     timeString(loadTime),
		"pipe":               nullString(pipe, 256),
	}
	l.files = append(l.files, row)
	isError := !strings.EqualFold(status.String, "LOADED")
	if isError && firstErr.Valid && firstErr.String != "" {
		// Rows come failures first, newest first: the first one is the
		// latest error.
		if l.lastError == nil {
			l.lastError = map[string]any{
				"file": row["file"], "status": row["status"], "message": row["first_error"],
				"line": row["first_error_line"], "column": row["first_error_column"], "time": row["last_load_time"],
			}
		}
		key := mdtext.Truncate(firstErr.String, 200)
		tally(l.errs, key, key)
	}
	l.listing = append(l.listing, []any{timeString(loadTime), status.String, file.String, nullInt(rowCount), nullInt(rowParsed), firstErr.String})
	return nil
}

// output is the action's outputs.
func (l *loadAttempts) output(table objectName, hours int, queryID string) map[string]any {
	top := topCounts(l.errs, 5)
	topOut := make([]any, len(top))
	for i, c := range top {
		topOut[i] = map[string]any{"message": c.text, "files": c.count}
	}
	return map[string]any{
		"table":       table.String(),
		"hours":       hours,
		"loads":       l.loads,
		"loaded":      l.loaded,
		"failed":      l.failed,
		"partial":     l.partial,
		"errors":      l.failed + l.partial,
		"rows_loaded": l.rowsLoaded,
		"rows_parsed": l.rowsParsed,
		"first_load":  timeString(l.firstLoad),
		"last_load":   timeString(l.lastLoad),
		"last_error":  l.lastError,
		"top_errors":  topOut,
		"files":       l.files,
		"shown":       len(l.files),
		"truncated":   l.loads > int64(len(l.files)),
		"query_id":    queryID,
	}
}

// summary is the one-line answer: the files loaded or failed, the rows,
// the latest error and the last attempt.
func (l *loadAttempts) summary(table objectName, hours int, capped bool) string {
	var sum strings.Builder
	switch {
	case l.loads == 0:
		fmt.Fprintf(&sum, "%s: no load attempts in the last %dh", table, hours)
	case l.failed+l.partial == 0:
		fmt.Fprintf(&sum, "%s: %s in the last %dh, all loaded (%d rows)", table, plural(l.loads, "file", "files"), hours, l.rowsLoaded)
	default:
		fmt.Fprintf(&sum, "%s: %d of %s failed", table, l.failed, plural(l.loads, "file", "files"))
		if l.partial > 0 {
			fmt.Fprintf(&sum, ", %d partially loaded", l.partial)
		}
		fmt.Fprintf(&sum, " in the last %dh (%d of %d rows loaded)", hours, l.rowsLoaded, l.rowsParsed)
		if l.lastError != nil {
			fmt.Fprintf(&sum, "; latest error in %v: %s", l.lastError["file"], mdtext.Truncate(oneLine(fmt.Sprint(l.lastError["message"])), 160))
		}
	}
	if l.loads > 0 && l.lastLoad.Valid {
		fmt.Fprintf(&sum, "; last attempt %s", short(l.lastLoad.Time))
	}
	writeCapped(&sum, capped, hours)
	return sum.String()
}
