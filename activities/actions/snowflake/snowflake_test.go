package snowflake_test

import (
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
	"github.com/datasev/datasev/runbooks"
)

// now is Snowflake's CURRENT_TIMESTAMP() in the fixtures.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fixture is a stand-in server, a pool through the real driver opened
// from the environment the stand-in gives, and the actions registered in
// the SDK's activity test environment the way actions.New wires them.
type fixture struct {
	srv *sftest.Server
	db  *sql.DB
	env *testsuite.TestActivityEnvironment

	mu       sync.Mutex
	handlers map[string]sftest.Handler // by a substring of the SQL
}

func setup(t *testing.T, opts sftest.Options, env map[string]string) *fixture {
	t.Helper()
	f := &fixture{handlers: map[string]sftest.Handler{}}
	srv, err := sftest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.OnQuery(f.route)
	f.srv = srv
	vars := srv.Env()
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := snowflake.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := snowflake.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	f.env = register(db)
	return f
}

func register(db *sql.DB) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestActivityEnvironment()
	sf := snowflake.New(db)
	r := actions.NewRegistry()
	r.Add(
		actions.Typed(snowflake.QueryFailuresSpec(), sf.QueryFailures),
		actions.Typed(snowflake.CopyHistorySpec(), sf.CopyHistory),
		actions.Typed(snowflake.TaskHistorySpec(), sf.TaskHistory),
		actions.Typed(snowflake.TableFreshnessSpec(), sf.TableFreshness),
	)
	r.RegisterWith(e)
	return e
}

func (f *fixture) on(sqlPart string, h sftest.Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[sqlPart] = h
}

func (f *fixture) route(q sftest.Query) sftest.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	for part, h := range f.handlers {
		if strings.Contains(q.SQL, part) {
			return h(q)
		}
	}
	return sftest.Result{}
}

func (f *fixture) run(t *testing.T, action, step string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	val, err := f.env.ExecuteActivity(action, runbooks.ActionRequest{Incident: "orders-load", Runbook: "snowflake-load-failed", Step: step, With: with})
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

// lastQuery is the last statement the stand-in ran whose SQL contains part.
func (f *fixture) lastQuery(t *testing.T, part string) sftest.Query {
	t.Helper()
	qs := f.srv.Queries()
	for i := len(qs) - 1; i >= 0; i-- {
		if strings.Contains(qs[i].SQL, part) {
			return qs[i]
		}
	}
	t.Fatalf("no statement containing %q ran", part)
	return sftest.Query{}
}

func checkQuery(t *testing.T, q sftest.Query, wantSQL string, wantArgs []any, wantTag string) {
	t.Helper()
	if q.SQL != wantSQL {
		t.Errorf("SQL:\n%s\nwant:\n%s", q.SQL, wantSQL)
	}
	if !reflect.DeepEqual(q.Args(), wantArgs) {
		t.Errorf("binds %#v, want %#v", q.Args(), wantArgs)
	}
	if q.QueryTag != wantTag {
		t.Errorf("query tag %q, want %q", q.QueryTag, wantTag)
	}
	// The session is the configured one: the read-only role and warehouse.
	if q.Session.Role != "DATASEV_READONLY" || q.Session.Warehouse != "DIAG_WH" || q.Session.Database != "ANALYTICS" {
		t.Errorf("session %+v", q.Session)
	}
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("want an application error, got %T %v", err, err)
	}
	return appErr
}

func nonRetryable(t *testing.T, err error, wantType, wantCode, wantMsg string) {
	t.Helper()
	appErr := appError(t, err)
	if !appErr.NonRetryable() || appErr.Type() != wantType {
		t.Errorf("error %v: non-retryable %v type %q, want non-retryable %q", err, appErr.NonRetryable(), appErr.Type(), wantType)
	}
	if !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("error %q does not say %q", err, wantMsg)
	}
	if wantCode != "" {
		var d snowflake.ErrorDetails
		if err := appErr.Details(&d); err != nil {
			t.Fatalf("details: %v", err)
		}
		if d.Code != wantCode || d.Message == "" {
			t.Errorf("details %+v, want code %s", d, wantCode)
		}
	}
}

func retryable(t *testing.T, err error, wantType string) {
	t.Helper()
	appErr := appError(t, err)
	if appErr.NonRetryable() || appErr.Type() != wantType {
		t.Errorf("error %v: non-retryable %v type %q, want retryable %q", err, appErr.NonRetryable(), appErr.Type(), wantType)
	}
}

func at(hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
}

var queryHistoryColumns = []sftest.Column{
	sftest.Text("QUERY_ID"), sftest.Text("QUERY_TYPE"), sftest.Text("USER_NAME"), sftest.Text("ROLE_NAME"),
	sftest.Text("WAREHOUSE_NAME"), sftest.Text("DATABASE_NAME"), sftest.Text("SCHEMA_NAME"), sftest.Text("EXECUTION_STATUS"),
	sftest.Text("ERROR_CODE"), sftest.Text("ERROR_MESSAGE"), sftest.TimestampLTZ("START_TIME"), sftest.TimestampLTZ("END_TIME"),
	sftest.Text("QUERY_TAG"), sftest.Text("QUERY_TEXT"),
	sftest.Fixed("FAILURES"), sftest.Fixed("CODE_FAILURES"), sftest.TimestampLTZ("FIRST_FAILURE"), sftest.TimestampLTZ("LAST_FAILURE"),
}

func TestQueryFailures(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.on("QUERY_HISTORY", func(q sftest.Query) sftest.Result {
		// Three failures in the window; the limit lets two through.
		return sftest.Rows(queryHistoryColumns,
			[]any{"01-a", "COPY", "AIRFLOW", "LOADER", "LOAD_WH", "ANALYTICS", "RAW", "FAILED_WITH_ERROR", "100038",
				"Numeric value 'abc' is not recognized", at("11:50"), at("11:51"), "airflow:orders", "COPY INTO RAW.ORDERS FROM @stage", 3, 2, at("09:12"), at("11:51")},
			[]any{"01-b", "COPY", "AIRFLOW", "LOADER", "LOAD_WH", "ANALYTICS", "RAW", "FAILED_WITH_ERROR", "002003",
				"SQL compilation error:\nTable 'RAW.ORDERS_STAGE' does not exist or not authorized.", at("10:00"), at("10:01"), nil, "INSERT INTO RAW.ORDERS SELECT * FROM RAW.ORDERS_STAGE", 3, 1, at("09:12"), at("11:51")},
		)
	})
	res, err := f.run(t, snowflake.QueryFailuresName, "sf_failures", map[string]any{
		"hours": 12, "warehouse": "load_wh", "user": "airflow", "object": "raw.orders", "limit": 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	q := f.lastQuery(t, "QUERY_HISTORY")
	checkQuery(t, q, `SELECT QUERY_ID, QUERY_TYPE, USER_NAME, ROLE_NAME, WAREHOUSE_NAME, DATABASE_NAME, SCHEMA_NAME,
       EXECUTION_STATUS, ERROR_CODE, ERROR_MESSAGE, START_TIME, END_TIME, QUERY_TAG, LEFT(QUERY_TEXT, 500) AS QUERY_TEXT,
       COUNT(*) OVER () AS FAILURES,
       COUNT(*) OVER (PARTITION BY ERROR_CODE) AS CODE_FAILURES,
       MIN(END_TIME) OVER () AS FIRST_FAILURE,
       MAX(END_TIME) OVER () AS LAST_FAILURE
FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY(
       END_TIME_RANGE_START => DATEADD('hour', -?, CURRENT_TIMESTAMP()),
       RESULT_LIMIT => ?))
WHERE EXECUTION_STATUS IN ('FAILED_WITH_ERROR', 'FAILED_WITH_INCIDENT')
  AND UPPER(WAREHOUSE_NAME) = UPPER(?)
  AND UPPER(USER_NAME) = UPPER(?)
  AND (CONTAINS(UPPER(QUERY_TEXT), UPPER(?)) OR CONTAINS(UPPER(COALESCE(ERROR_MESSAGE, '')), UPPER(?)))
ORDER BY END_TIME DESC
LIMIT ?`, []any{int64(12), int64(10000), "load_wh", "airflow", "raw.orders", "raw.orders", int64(2)}, "datasev:orders-load:sf_failures")
	if q.Bindings[0].Type != "FIXED" || q.Bindings[2].Type != "TEXT" {
		t.Errorf("bind types %+v", q.Bindings)
	}

	out := res.Output
	if out["failures"] != float64(3) || out["shown"] != float64(2) || out["truncated"] != true || out["hours"] != float64(12) ||
		out["source"] != "information_schema" || out["first_failure"] != "2025-06-01T09:12:00Z" || out["last_failure"] != "2025-06-01T11:51:00Z" {
		t.Errorf("output %v", out)
	}
	if id, _ := out["query_id"].(string); id == "" {
		t.Errorf("no query_id: %v", out["query_id"])
	}
	top, _ := out["top_errors"].([]any)
	if len(top) != 2 || top[0].(map[string]any)["code"] != "100038" || top[0].(map[string]any)["count"] != float64(2) {
		t.Errorf("top errors %v", top)
	}
	rows, _ := out["queries"].([]any)
	if len(rows) != 2 {
		t.Fatalf("queries %v", out["queries"])
	}
	first := rows[0].(map[string]any)
	if first["query_id"] != "01-a" || first["error_code"] != "100038" || first["end_time"] != "2025-06-01T11:51:00Z" || first["warehouse"] != "LOAD_WH" {
		t.Errorf("first row %v", first)
	}
	if _, ok := first["query_text"]; ok {
		t.Errorf("query text kept without include_query_text: %v", first)
	}
	if rows[1].(map[string]any)["query_tag"] != nil {
		t.Errorf("NULL query tag: %v", rows[1])
	}
	want := "3 failed queries in the last 12h (warehouse load_wh, user airflow, mentioning raw.orders): 100038 ×2, 002003 ×1; first 2025-06-01 09:12Z, last 2025-06-01 11:51Z (newest 2 listed)"
	if res.Summary != want {
		t.Errorf("summary %q\nwant    %q", res.Summary, want)
	}
	if !strings.Contains(res.Detail, "| 2025-06-01T11:51:00Z | 100038 | Numeric value 'abc' is not recognized | AIRFLOW | LOAD_WH | 01-a |") {
		t.Errorf("detail %s", res.Detail)
	}

	// Query text only on request; no failures reads as such.
	res, err = f.run(t, snowflake.QueryFailuresName, "sf_failures", map[string]any{"include_query_text": true})
	if err != nil {
		t.Fatal(err)
	}
	if rows := res.Output["queries"].([]any); rows[0].(map[string]any)["query_text"] != "COPY INTO RAW.ORDERS FROM @stage" {
		t.Errorf("query text: %v", rows[0])
	}
	q = f.lastQuery(t, "QUERY_HISTORY")
	if !reflect.DeepEqual(q.Args(), []any{int64(6), int64(10000), int64(100)}) {
		t.Errorf("defaults: binds %v", q.Args())
	}
	f.on("QUERY_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(queryHistoryColumns) })
	res, err = f.run(t, snowflake.QueryFailuresName, "sf_failures", nil)
	if err != nil || res.Summary != "no failed queries in the last 6h" || res.Output["failures"] != float64(0) || res.Detail != "" {
		t.Errorf("none: %+v %v", res, err)
	}
}

func TestQueryFailuresAccountUsageAndCaps(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.on("QUERY_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(queryHistoryColumns) })
	res, err := f.run(t, snowflake.QueryFailuresName, "s", map[string]any{"source": "account_usage", "hours": 100000, "limit": 100000, "role": "transformer"})
	if err != nil {
		t.Fatal(err)
	}
	q := f.lastQuery(t, "QUERY_HISTORY")
	if !strings.Contains(q.SQL, "FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY\nWHERE END_TIME >= DATEADD('hour', -?, CURRENT_TIMESTAMP())\n  AND UPPER(EXECUTION_STATUS) IN ('FAIL', 'INCIDENT')\n  AND UPPER(ROLE_NAME) = UPPER(?)\n") {
		t.Errorf("SQL %s", q.SQL)
	}
	if !reflect.DeepEqual(q.Args(), []any{int64(720), "transformer", int64(500)}) {
		t.Errorf("binds %v", q.Args())
	}
	if res.Summary != "no failed queries in the last 720h (role transformer, from ACCOUNT_USAGE) (window capped at 720h)" {
		t.Errorf("summary %q", res.Summary)
	}
	res, err = f.run(t, snowflake.QueryFailuresName, "s", map[string]any{"hours": 1000})
	if err != nil || res.Output["hours"] != float64(168) {
		t.Errorf("information_schema cap: %v %v", res.Output, err)
	}

	n := len(f.srv.Queries())
	for with, want := range map[string]map[string]any{
		"hours -1: want a positive window":                           {"hours": -1},
		"limit -5: want a positive row limit":                        {"limit": -5},
		`source "history": want information_schema or account_usage`: {"source": "history"},
	} {
		_, err := f.run(t, snowflake.QueryFailuresName, "s", want)
		nonRetryable(t, err, snowflake.BadRequestType, "", with)
	}
	_, err = f.run(t, snowflake.QueryFailuresName, "s", map[string]any{"warehouse_name": "x"})
	nonRetryable(t, err, actions.InvalidInputType, "", `unknown input "warehouse_name"`)
	if len(f.srv.Queries()) != n {
		t.Errorf("bad inputs reached Snowflake")
	}
}

var copyHistoryColumns = []sftest.Column{
	sftest.Text("FILE_NAME"), sftest.Text("STAGE_LOCATION"), sftest.Text("STATUS"), sftest.Fixed("ROW_COUNT"),
	sftest.Fixed("ROW_PARSED"), sftest.Fixed("ERROR_COUNT"), sftest.Text("FIRST_ERROR_MESSAGE"), sftest.Fixed("FIRST_ERROR_LINE_NUMBER"),
	sftest.Text("FIRST_ERROR_COLUMN_NAME"), sftest.TimestampLTZ("LAST_LOAD_TIME"), sftest.Text("PIPE_NAME"),
	sftest.Fixed("LOADS"), sftest.Fixed("LOADED"), sftest.Fixed("FAILED"), sftest.Fixed("PARTIAL"),
	sftest.Fixed("ROWS_LOADED"), sftest.Fixed("ROWS_PARSED"), sftest.TimestampLTZ("FIRST_LOAD"), sftest.TimestampLTZ("LAST_LOAD"),
}

func TestCopyHistory(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.on("COPY_HISTORY", func(q sftest.Query) sftest.Result {
		return sftest.Rows(copyHistoryColumns,
			[]any{"dt=2025-06-01/orders_0042.csv", "s3://landing/orders/", "Load failed", 0, 1000, 1, "Numeric value 'abc' is not recognized", 17, `"ORDERS"["AMOUNT":3]`, at("11:40"), nil, 5, 3, 1, 1, 3900, 4000, at("07:00"), at("11:40")},
			[]any{"dt=2025-06-01/orders_0041.csv", "s3://landing/orders/", "Partially loaded", 900, 1000, 100, "Numeric value 'abc' is not recognized", 3, `"ORDERS"["AMOUNT":3]`, at("10:40"), nil, 5, 3, 1, 1, 3900, 4000, at("07:00"), at("11:40")},
			[]any{"dt=2025-06-01/orders_0040.csv", "s3://landing/orders/", "Loaded", 1000, 1000, 0, nil, nil, nil, at("09:40"), nil, 5, 3, 1, 1, 3900, 4000, at("07:00"), at("11:40")},
		)
	})
	res, err := f.run(t, snowflake.CopyHistoryName, "copy_history", map[string]any{"table": "analytics.raw.orders", "limit": 3})
	if err != nil {
		t.Fatal(err)
	}
	checkQuery(t, f.lastQuery(t, "COPY_HISTORY"), `SELECT FILE_NAME, STAGE_LOCATION, STATUS, ROW_COUNT, ROW_PARSED, ERROR_COUNT,
       FIRST_ERROR_MESSAGE, FIRST_ERROR_LINE_NUMBER, FIRST_ERROR_COLUMN_NAME, LAST_LOAD_TIME, PIPE_NAME,
       COUNT(*) OVER () AS LOADS,
       SUM(IFF(UPPER(STATUS) = 'LOADED', 1, 0)) OVER () AS LOADED,
       SUM(IFF(UPPER(STATUS) = 'LOAD FAILED', 1, 0)) OVER () AS FAILED,
       SUM(IFF(UPPER(STATUS) = 'PARTIALLY LOADED', 1, 0)) OVER () AS PARTIAL,
       SUM(ROW_COUNT) OVER () AS ROWS_LOADED,
       SUM(ROW_PARSED) OVER () AS ROWS_PARSED,
       MIN(LAST_LOAD_TIME) OVER () AS FIRST_LOAD,
       MAX(LAST_LOAD_TIME) OVER () AS LAST_LOAD
FROM TABLE("ANALYTICS".INFORMATION_SCHEMA.COPY_HISTORY(
       TABLE_NAME => ?,
       START_TIME => DATEADD('hour', -?, CURRENT_TIMESTAMP())))
ORDER BY IFF(UPPER(STATUS) = 'LOADED', 1, 0), LAST_LOAD_TIME DESC
LIMIT ?`, []any{"ANALYTICS.RAW.ORDERS", int64(6), int64(3)}, "datasev:orders-load:copy_history")

	out := res.Output
	for k, want := range map[string]any{
		"table": "ANALYTICS.RAW.ORDERS", "hours": float64(6), "loads": float64(5), "loaded": float64(3), "failed": float64(1),
		"partial": float64(1), "errors": float64(2), "rows_loaded": float64(3900), "rows_parsed": float64(4000),
		"first_load": "2025-06-01T07:00:00Z", "last_load": "2025-06-01T11:40:00Z", "shown": float64(3), "truncated": true,
	} {
		if !reflect.DeepEqual(out[k], want) {
			t.Errorf("output %s = %#v, want %#v", k, out[k], want)
		}
	}
	last, _ := out["last_error"].(map[string]any)
	if last["file"] != "dt=2025-06-01/orders_0042.csv" || last["line"] != float64(17) || last["column"] != `"ORDERS"["AMOUNT":3]` {
		t.Errorf("last error %v", last)
	}
	top, _ := out["top_errors"].([]any)
	if len(top) != 1 || top[0].(map[string]any)["files"] != float64(2) {
		t.Errorf("top errors %v", top)
	}
	files, _ := out["files"].([]any)
	if len(files) != 3 || files[2].(map[string]any)["first_error"] != nil || files[2].(map[string]any)["rows_loaded"] != float64(1000) {
		t.Errorf("files %v", files)
	}
	want := "ANALYTICS.RAW.ORDERS: 1 of 5 files failed, 1 partially loaded in the last 6h (3900 of 4000 rows loaded); latest error in dt=2025-06-01/orders_0042.csv: Numeric value 'abc' is not recognized; last attempt 2025-06-01 11:40Z"
	if res.Summary != want {
		t.Errorf("summary %q\nwant    %q", res.Summary, want)
	}

	// A case-sensitive name is quoted; an unqualified one reads the
	// configured database's INFORMATION_SCHEMA.
	f.on("COPY_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(copyHistoryColumns) })
	res, err = f.run(t, snowflake.CopyHistoryName, "c", map[string]any{"table": `raw."Orders ""v2"""`, "hours": 1000})
	if err != nil {
		t.Fatal(err)
	}
	q := f.lastQuery(t, "COPY_HISTORY")
	if !strings.Contains(q.SQL, "FROM TABLE(INFORMATION_SCHEMA.COPY_HISTORY(") ||
		!reflect.DeepEqual(q.Args(), []any{`RAW."Orders ""v2"""`, int64(336), int64(100)}) {
		t.Errorf("SQL %s binds %v", q.SQL, q.Args())
	}
	if res.Summary != `RAW."Orders ""v2""": no load attempts in the last 336h (window capped at 336h)` || res.Output["errors"] != float64(0) {
		t.Errorf("summary %q output %v", res.Summary, res.Output)
	}

	// Names that are not identifiers never reach Snowflake.
	n := len(f.srv.Queries())
	for _, bad := range []string{"orders; DROP TABLE x", "raw.orders'--", "a.b.c.d", `"unterminated`, "raw.", "1orders"} {
		_, err := f.run(t, snowflake.CopyHistoryName, "c", map[string]any{"table": bad})
		nonRetryable(t, err, snowflake.BadRequestType, "", "table:")
	}
	if len(f.srv.Queries()) != n {
		t.Errorf("a bad table name reached Snowflake")
	}
}

var taskHistoryColumns = []sftest.Column{
	sftest.Text("NAME"), sftest.Text("DATABASE_NAME"), sftest.Text("SCHEMA_NAME"), sftest.Text("STATE"),
	sftest.Text("ERROR_CODE"), sftest.Text("ERROR_MESSAGE"), sftest.TimestampLTZ("SCHEDULED_TIME"),
	sftest.TimestampLTZ("QUERY_START_TIME"), sftest.TimestampLTZ("COMPLETED_TIME"), sftest.Text("QUERY_ID"),
	sftest.Fixed("RUNS"), sftest.Fixed("FAILED"), sftest.Fixed("SKIPPED"), sftest.Fixed("CANCELLED"),
	sftest.Fixed("TASK_RUNS"), sftest.TimestampLTZ("FIRST_RUN"), sftest.TimestampLTZ("LAST_RUN"),
}

func TestTaskHistory(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.on("TASK_HISTORY", func(q sftest.Query) sftest.Result {
		return sftest.Rows(taskHistoryColumns,
			[]any{"LOAD_ORDERS", "ANALYTICS", "OPS", "FAILED", "100038", "Numeric value 'abc' is not recognized", at("11:00"), at("11:00"), at("11:02"), "01-t1", 3, 2, 1, 0, 3, at("09:00"), at("11:00")},
			[]any{"LOAD_ORDERS", "ANALYTICS", "OPS", "SKIPPED", nil, nil, at("10:00"), nil, at("10:00"), nil, 3, 2, 1, 0, 3, at("09:00"), at("11:00")},
			[]any{"LOAD_ORDERS", "ANALYTICS", "OPS", "FAILED", "100038", "Numeric value 'abc' is not recognized", at("09:00"), at("09:00"), at("09:01"), "01-t3", 3, 2, 1, 0, 3, at("09:00"), at("11:00")},
		)
	})
	res, err := f.run(t, snowflake.TaskHistoryName, "tasks", map[string]any{"task": "analytics.ops.load_orders"})
	if err != nil {
		t.Fatal(err)
	}
	checkQuery(t, f.lastQuery(t, "TASK_HISTORY"), `SELECT NAME, DATABASE_NAME, SCHEMA_NAME, STATE, ERROR_CODE, ERROR_MESSAGE,
       SCHEDULED_TIME, QUERY_START_TIME, COMPLETED_TIME, QUERY_ID,
       COUNT(*) OVER () AS RUNS,
       SUM(IFF(STATE IN ('FAILED', 'FAILED_AND_AUTO_SUSPENDED'), 1, 0)) OVER () AS FAILED,
       SUM(IFF(STATE = 'SKIPPED', 1, 0)) OVER () AS SKIPPED,
       SUM(IFF(STATE = 'CANCELLED', 1, 0)) OVER () AS CANCELLED,
       COUNT(*) OVER (PARTITION BY DATABASE_NAME, SCHEMA_NAME, NAME) AS TASK_RUNS,
       MIN(SCHEDULED_TIME) OVER () AS FIRST_RUN,
       MAX(SCHEDULED_TIME) OVER () AS LAST_RUN
FROM TABLE("ANALYTICS".INFORMATION_SCHEMA.TASK_HISTORY(
       SCHEDULED_TIME_RANGE_START => DATEADD('hour', -?, CURRENT_TIMESTAMP()),
       RESULT_LIMIT => ?,
       TASK_NAME => ?))
WHERE STATE IN ('FAILED', 'FAILED_AND_AUTO_SUSPENDED', 'SKIPPED', 'CANCELLED')
  AND SCHEMA_NAME = ?
ORDER BY SCHEDULED_TIME DESC
LIMIT ?`, []any{int64(6), int64(10000), "LOAD_ORDERS", "OPS", int64(100)}, "datasev:orders-load:tasks")
	out := res.Output
	for k, want := range map[string]any{
		"task": "ANALYTICS.OPS.LOAD_ORDERS", "database": "ANALYTICS", "runs": float64(3), "failed": float64(2), "skipped": float64(1),
		"cancelled": float64(0), "first_run": "2025-06-01T09:00:00Z", "last_run": "2025-06-01T11:00:00Z", "shown": float64(3), "truncated": false,
	} {
		if !reflect.DeepEqual(out[k], want) {
			t.Errorf("output %s = %#v, want %#v", k, out[k], want)
		}
	}
	runs, _ := out["task_runs"].([]any)
	if len(runs) != 3 || runs[1].(map[string]any)["state"] != "SKIPPED" || runs[1].(map[string]any)["query_start_time"] != nil {
		t.Errorf("runs %v", runs)
	}
	want := "task ANALYTICS.OPS.LOAD_ORDERS: 2 failed, 1 skipped runs in the last 6h; top error 100038: Numeric value 'abc' is not recognized; first 2025-06-01 09:00Z, last 2025-06-01 11:00Z"
	if res.Summary != want {
		t.Errorf("summary %q\nwant    %q", res.Summary, want)
	}

	// Every task of the configured database; no TASK_NAME argument.
	f.on("TASK_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(taskHistoryColumns) })
	res, err = f.run(t, snowflake.TaskHistoryName, "tasks", map[string]any{"hours": 2, "limit": 10})
	if err != nil {
		t.Fatal(err)
	}
	q := f.lastQuery(t, "TASK_HISTORY")
	if strings.Contains(q.SQL, "TASK_NAME") || strings.Contains(q.SQL, "SCHEMA_NAME = ?") || !strings.Contains(q.SQL, "FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(") ||
		!reflect.DeepEqual(q.Args(), []any{int64(2), int64(10000), int64(10)}) {
		t.Errorf("SQL %s binds %v", q.SQL, q.Args())
	}
	if res.Summary != "tasks: no failed, cancelled or skipped runs in the last 2h" {
		t.Errorf("summary %q", res.Summary)
	}
	_, err = f.run(t, snowflake.TaskHistoryName, "tasks", map[string]any{"task": "other.ops.t", "database": "analytics"})
	nonRetryable(t, err, snowflake.BadRequestType, "", "task OTHER.OPS.T is in database OTHER, not ANALYTICS")
}

var tablesColumns = []sftest.Column{
	sftest.Text("TABLE_CATALOG"), sftest.Text("TABLE_SCHEMA"), sftest.Text("TABLE_NAME"), sftest.Text("TABLE_TYPE"),
	sftest.Fixed("ROW_COUNT"), sftest.TimestampLTZ("LAST_ALTERED"), sftest.TimestampLTZ("NOW"),
}

func TestTableFreshness(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.on("INFORMATION_SCHEMA.TABLES", func(q sftest.Query) sftest.Result {
		if q.Args()[1] != "ORDERS" {
			return sftest.Rows(tablesColumns)
		}
		return sftest.Rows(tablesColumns, []any{"ANALYTICS", "RAW", "ORDERS", "BASE TABLE", 123456, at("11:30"), now})
	})
	maxValue := any(at("08:48"))
	f.on("MAX(", func(q sftest.Query) sftest.Result {
		if strings.Contains(q.SQL, `"NOPE"`) {
			return sftest.InvalidIdentifier(`"NOPE"`)
		}
		col := sftest.TimestampNTZ("MAX_VALUE")
		if _, ok := maxValue.(string); ok {
			col = sftest.Text("MAX_VALUE")
		}
		return sftest.Rows([]sftest.Column{col, sftest.TimestampLTZ("NOW")}, []any{maxValue, now})
	})

	// Stale by the column, although the table was altered recently.
	res, err := f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "raw.orders", "column": "loaded_at", "expected_freshness": "1h"})
	if err != nil {
		t.Fatal(err)
	}
	checkQuery(t, f.lastQuery(t, "INFORMATION_SCHEMA.TABLES"), `SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ROW_COUNT, LAST_ALTERED, CURRENT_TIMESTAMP() AS NOW
FROM INFORMATION_SCHEMA.TABLES
WHERE TABLE_SCHEMA = COALESCE(?, CURRENT_SCHEMA()) AND TABLE_NAME = ?`, []any{"RAW", "ORDERS"}, "datasev:orders-load:fresh")
	checkQuery(t, f.lastQuery(t, "MAX("), `SELECT MAX("LOADED_AT") AS MAX_VALUE, CURRENT_TIMESTAMP() AS NOW FROM IDENTIFIER(?)`,
		[]any{"ANALYTICS.RAW.ORDERS"}, "datasev:orders-load:fresh")
	out := res.Output
	for k, want := range map[string]any{
		"ok": false, "reason": "newest LOADED_AT is 3h12m old, more than 1h", "table": "ANALYTICS.RAW.ORDERS", "table_type": "BASE TABLE",
		"row_count": float64(123456), "last_altered": "2025-06-01T11:30:00Z", "last_altered_age_minutes": float64(30), "column": "LOADED_AT",
		"max_value": "2025-06-01T08:48:00Z", "column_age_minutes": float64(192), "age_minutes": float64(192), "expected_minutes": float64(60),
		"checked_at": "2025-06-01T12:00:00Z",
	} {
		if !reflect.DeepEqual(out[k], want) {
			t.Errorf("output %s = %#v, want %#v", k, out[k], want)
		}
	}
	if res.Summary != "ANALYTICS.RAW.ORDERS: newest LOADED_AT 3h12m ago (2025-06-01 08:48Z), expected within 1h — stale" || !strings.Contains(res.Detail, "**Stale table**") {
		t.Errorf("summary %q detail %q", res.Summary, res.Detail)
	}

	// Fresh by LAST_ALTERED alone; the session's schema when unqualified.
	res, err = f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "orders", "expected_freshness": "45m"})
	if err != nil {
		t.Fatal(err)
	}
	if q := f.lastQuery(t, "INFORMATION_SCHEMA.TABLES"); !reflect.DeepEqual(q.Args(), []any{nil, "ORDERS"}) || q.Bindings[0].Type != "TEXT" {
		t.Errorf("binds %+v", q.Bindings)
	}
	if res.Output["ok"] != true || res.Output["age_minutes"] != float64(30) || res.Output["reason"] != nil || res.Detail != "" ||
		res.Summary != "ANALYTICS.RAW.ORDERS: last altered 30m ago (2025-06-01 11:30Z), expected within 45m — fresh" {
		t.Errorf("fresh: %+v", res)
	}

	// An empty table is not fresh.
	maxValue = nil
	res, err = f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "raw.orders", "column": "loaded_at", "expected_freshness": "1h"})
	if err != nil || res.Output["ok"] != false || res.Output["reason"] != "no rows: MAX(LOADED_AT) is NULL" || res.Output["age_minutes"] != nil {
		t.Errorf("empty: %+v %v", res.Output, err)
	}
	// A column that is not a time, an unknown column, an unknown table.
	maxValue = "2025-06-01"
	_, err = f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "raw.orders", "column": "loaded_on", "expected_freshness": "1h"})
	nonRetryable(t, err, snowflake.BadRequestType, "", "column LOADED_ON of ANALYTICS.RAW.ORDERS is not a timestamp or date")
	_, err = f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "raw.orders", "column": "nope", "expected_freshness": "1h"})
	nonRetryable(t, err, snowflake.InvalidIdentifierType, "000904", `Snowflake error 000904 (42000): SQL compilation error: error line 1 at position 7 invalid identifier '"NOPE"'`)
	_, err = f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "raw.missing", "expected_freshness": "1h"})
	nonRetryable(t, err, snowflake.NotFoundType, "", "table RAW.MISSING not found in the configured database's INFORMATION_SCHEMA.TABLES")

	// Column names are identifiers, never SQL.
	n := len(f.srv.Queries())
	for _, bad := range []string{`loaded_at) FROM x; --`, "a.b", `"x`, "1col"} {
		_, err := f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "raw.orders", "column": bad, "expected_freshness": "1h"})
		nonRetryable(t, err, snowflake.BadRequestType, "", "column")
	}
	_, err = f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "raw.orders", "expected_freshness": "0s"})
	nonRetryable(t, err, snowflake.BadRequestType, "", "expected_freshness must be positive")
	if len(f.srv.Queries()) != n {
		t.Errorf("a bad input reached Snowflake")
	}
}

// Snowflake's errors about the request itself are non-retryable and carry
// its code and message; others retry.
func TestErrorsMapToTemporal(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	for _, tc := range []struct {
		result   sftest.Result
		typ      string
		code     string
		retry    bool
		contains string
	}{
		{sftest.ObjectNotFound("Table", "RAW.ORDERS"), snowflake.NotFoundType, "002003", false, "Snowflake error 002003 (42S02): SQL compilation error: Table 'RAW.ORDERS' does not exist or not authorized."},
		{sftest.InsufficientPrivileges("table", "ORDERS"), snowflake.PermissionType, "003001", false, "Insufficient privileges"},
		{sftest.SyntaxError("FROM"), snowflake.SyntaxType, "001003", false, "syntax error"},
		{sftest.InvalidIdentifier("LOADED_AT"), snowflake.InvalidIdentifierType, "000904", false, "invalid identifier 'LOADED_AT'"},
		{sftest.Fail("002140", "42601", "SQL compilation error:\nUnknown function COPY_HISTORY"), snowflake.NotFoundType, "002140", false, "Unknown function"},
		{sftest.Fail("090105", "22000", "Cannot perform SELECT. This session does not have a current database."), snowflake.SQLErrorType, "090105", false, "current database"},
		{sftest.Fail("000630", "57014", "Statement reached its statement or warehouse timeout of 60 second(s) and was canceled."), snowflake.UnavailableType, "000630", true, "timeout"},
		{sftest.Fail("000625", "57014", "Statement '01-x' has locks on DML."), snowflake.UnavailableType, "000625", true, "locks"},
	} {
		f.on("COPY_HISTORY", func(sftest.Query) sftest.Result { return tc.result })
		_, err := f.run(t, snowflake.CopyHistoryName, "c", map[string]any{"table": "raw.orders"})
		if tc.retry {
			retryable(t, err, tc.typ)
		} else {
			nonRetryable(t, err, tc.typ, tc.code, tc.contains)
		}
		var d snowflake.ErrorDetails
		if err := appError(t, err).Details(&d); err != nil || d.Code != tc.code || d.QueryID == "" || d.SQLState != tc.result.Err.SQLState {
			t.Errorf("%s: details %+v %v", tc.code, d, err)
		}
		if msg := appError(t, err).Message(); !strings.HasPrefix(msg, "snowflake.copy_history: Snowflake error "+tc.code) || !strings.Contains(msg, tc.contains) {
			t.Errorf("message %q", msg)
		}
	}
}

// An expired session token is renewed by the driver and the query repeated
// on the same session: the action succeeds. An expired master token fails
// the attempt, retryably, and drops the connection, so the retry logs in
// afresh.
func TestSessionExpiry(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.on("COPY_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(copyHistoryColumns) })
	with := map[string]any{"table": "raw.orders"}
	if _, err := f.run(t, snowflake.CopyHistoryName, "c", with); err != nil {
		t.Fatal(err)
	}
	f.srv.ExpireSessions()
	if _, err := f.run(t, snowflake.CopyHistoryName, "c", with); err != nil {
		t.Fatalf("after the session expired: %v", err)
	}
	count := func(path string) int {
		n := 0
		for _, r := range f.srv.Requests() {
			if r.Path == path {
				n++
			}
		}
		return n
	}
	if count(sftest.TokenPath) != 1 || len(f.srv.Logins()) != 1 || len(f.srv.Queries()) != 2 {
		t.Errorf("renewals %d logins %d queries %d", count(sftest.TokenPath), len(f.srv.Logins()), len(f.srv.Queries()))
	}

	f.srv.ExpireMasterTokens()
	_, err := f.run(t, snowflake.CopyHistoryName, "c", with)
	retryable(t, err, snowflake.SessionType)
	if !strings.Contains(err.Error(), "390114") {
		t.Errorf("error %v", err)
	}
	if _, err := f.run(t, snowflake.CopyHistoryName, "c", with); err != nil {
		t.Fatalf("retry after the master token expired: %v", err)
	}
	if len(f.srv.Logins()) != 2 {
		t.Errorf("logins %d: the dead session was not replaced", len(f.srv.Logins()))
	}
}

// HTTP 5xx and refused connections are retried by the driver, then by
// Temporal.
func TestNetworkErrorsRetry(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.on("COPY_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(copyHistoryColumns) })
	with := map[string]any{"table": "raw.orders"}
	if _, err := f.run(t, snowflake.CopyHistoryName, "c", with); err != nil {
		t.Fatal(err)
	}
	// The driver retries once (DATASEV_SNOWFLAKE_MAX_RETRIES=1 here): one
	// 503 is absorbed, two fail the attempt.
	f.srv.FailNext(sftest.QueryPath, 503)
	if _, err := f.run(t, snowflake.CopyHistoryName, "c", with); err != nil {
		t.Fatalf("one 503: %v", err)
	}
	f.srv.FailNext(sftest.QueryPath, 503, 502)
	_, err := f.run(t, snowflake.CopyHistoryName, "c", with)
	retryable(t, err, snowflake.UnavailableType)

	f.srv.Close()
	_, err = f.run(t, snowflake.CopyHistoryName, "c", with)
	retryable(t, err, snowflake.UnavailableType)
}

func TestLoginRejected(t *testing.T) {
	f := setup(t, sftest.Options{}, map[string]string{"DATASEV_SNOWFLAKE_PASSWORD": "wrong"})
	_, err := f.run(t, snowflake.CopyHistoryName, "c", map[string]any{"table": "raw.orders"})
	nonRetryable(t, err, snowflake.AuthType, "390100", "Incorrect username or password was specified.")
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the password leaked into the error: %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	e := register(nil)
	_, err := e.ExecuteActivity(snowflake.TaskHistoryName, runbooks.ActionRequest{Incident: "i", Step: "s"})
	nonRetryable(t, err, snowflake.NotConfiguredType, "", "Snowflake is not configured on this worker")
}

// Nothing but the stand-in is contacted: the driver's cloud platform
// detection is off and no telemetry is sent.
func TestOnlyLoopback(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	f.on("TASK_HISTORY", func(sftest.Query) sftest.Result { return sftest.Rows(taskHistoryColumns) })
	if _, err := f.run(t, snowflake.TaskHistoryName, "t", nil); err != nil {
		t.Fatal(err)
	}
	for _, lg := range f.srv.Logins() {
		if !reflect.DeepEqual(lg.Platform, []string{"disabled"}) {
			t.Errorf("platform detection: %v", lg.Platform)
		}
		if lg.Application != "datasev" || lg.SessionParameters["GO_QUERY_RESULT_FORMAT"] != "json" {
			t.Errorf("login %+v", lg)
		}
	}
	for _, r := range f.srv.Requests() {
		if r.Path == sftest.TelemetryPath {
			t.Errorf("telemetry sent")
		}
	}
}

func TestSpecs(t *testing.T) {
	for _, spec := range []runbooks.ActionSpec{snowflake.QueryFailuresSpec(), snowflake.CopyHistorySpec(), snowflake.TaskHistorySpec(), snowflake.TableFreshnessSpec()} {
		if spec.Changes || spec.DryRun || spec.InWorkflow || !strings.HasPrefix(spec.Name, "snowflake.") || spec.Description == "" {
			t.Errorf("spec %+v", spec)
		}
	}
	if !strings.Contains(snowflake.QueryFailuresSpec().Description, "45 minutes") {
		t.Errorf("query_failures does not document ACCOUNT_USAGE's latency")
	}
}

// The demo's data answers every action the way the runbook expects: a
// failing load until Recover, then a fresh table.
func TestDemoData(t *testing.T) {
	f := setup(t, sftest.Options{}, nil)
	clock := now.Add(17 * time.Minute)
	demo := sftest.NewDemo(func() time.Time { return clock })
	f.srv.OnQuery(demo.Handler)

	res, err := f.run(t, snowflake.CopyHistoryName, "copy_history", map[string]any{"table": "ANALYTICS.RAW.ORDERS"})
	if err != nil || res.Output["errors"] != float64(5) || res.Output["loaded"] != float64(4) || res.Output["last_error"] == nil {
		t.Fatalf("copy_history: %+v %v", res, err)
	}
	t.Log(res.Summary)
	res, err = f.run(t, snowflake.QueryFailuresName, "failures", map[string]any{"warehouse": sftest.DemoWarehouse})
	if err != nil || res.Output["failures"] != float64(5) {
		t.Fatalf("query_failures: %+v %v", res, err)
	}
	t.Log(res.Summary)
	res, err = f.run(t, snowflake.TaskHistoryName, "tasks", map[string]any{"task": "analytics.ops.load_orders"})
	if err != nil || res.Output["failed"] != float64(5) {
		t.Fatalf("task_history: %+v %v", res, err)
	}
	t.Log(res.Summary)
	fresh := map[string]any{"table": "analytics.raw.orders", "column": "loaded_at", "expected_freshness": "1h"}
	res, err = f.run(t, snowflake.TableFreshnessName, "fresh", fresh)
	if err != nil || res.Output["ok"] != false {
		t.Fatalf("table_freshness: %+v %v", res, err)
	}
	t.Log(res.Summary)
	_, err = f.run(t, snowflake.TableFreshnessName, "fresh", map[string]any{"table": "raw.customers", "expected_freshness": "1h"})
	nonRetryable(t, err, snowflake.NotFoundType, "", "RAW.CUSTOMERS not found")

	demo.Recover()
	clock = clock.Add(10 * time.Minute)
	res, err = f.run(t, snowflake.TableFreshnessName, "fresh", fresh)
	if err != nil || res.Output["ok"] != true || res.Output["age_minutes"] != float64(10) {
		t.Fatalf("after recovery: %+v %v", res, err)
	}
	res, err = f.run(t, snowflake.CopyHistoryName, "copy_history", map[string]any{"table": "ANALYTICS.RAW.ORDERS"})
	if err != nil || res.Output["loaded"] != float64(5) {
		t.Fatalf("copy_history after recovery: %+v %v", res, err)
	}
}
