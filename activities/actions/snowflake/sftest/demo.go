package sftest

import (
	"strings"
	"sync"
	"time"
)

// Demo is the one-command demo's Snowflake: an orders load into
// ANALYTICS.RAW.ORDERS that started failing two hours ago, as the datasev
// Snowflake actions see it. Its Handler answers their statements
// (INFORMATION_SCHEMA.QUERY_HISTORY, COPY_HISTORY, TASK_HISTORY, TABLES and
// MAX(column) of a table); Recover makes the next load succeed, so that a
// runbook's verify step sees the table fresh again.
//
// Times are relative to the clock given to NewDemo, read at each query.
type Demo struct {
	now func() time.Time

	mu        sync.Mutex
	recovered time.Time // zero while the load keeps failing
}

// Demo objects.
const (
	DemoDatabase  = "ANALYTICS"
	DemoSchema    = "RAW"
	DemoTable     = "ORDERS"
	DemoColumn    = "LOADED_AT"
	DemoTask      = "LOAD_ORDERS"
	DemoWarehouse = "LOAD_WH"
	DemoUser      = "AIRFLOW"
	DemoStage     = "s3://datasev-demo-landing/orders/"
)

// NewDemo returns the demo data; now is the clock (time.Now when nil).
func NewDemo(now func() time.Time) *Demo {
	if now == nil {
		now = time.Now
	}
	return &Demo{now: now}
}

// Recover makes the load succeed from now on: the table is fresh.
func (d *Demo) Recover() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recovered = d.now()
}

// Handler answers the datasev Snowflake actions' statements; anything else
// gets the server's default answer.
func (d *Demo) Handler(q Query) Result {
	now := d.now().UTC().Truncate(time.Second)
	d.mu.Lock()
	recovered := d.recovered
	d.mu.Unlock()
	sql := q.SQL
	switch {
	case strings.Contains(sql, "QUERY_HISTORY"):
		return d.queryHistory(now, recovered)
	case strings.Contains(sql, "COPY_HISTORY"):
		if !mentions(q, DemoTable) {
			return Rows(demoCopyColumns)
		}
		return d.copyHistory(now, recovered)
	case strings.Contains(sql, "TASK_HISTORY"):
		return d.taskHistory(now, recovered)
	case strings.Contains(sql, "INFORMATION_SCHEMA.TABLES"):
		if !mentions(q, DemoTable) {
			return Rows(demoTablesColumns)
		}
		return Rows(demoTablesColumns, []any{DemoDatabase, DemoSchema, DemoTable, "BASE TABLE", 1_204_311, d.lastLoad(now, recovered), now})
	case strings.Contains(sql, "MAX(") && strings.Contains(sql, "IDENTIFIER(?)"):
		if !mentions(q, DemoTable) {
			return ObjectNotFound("Table", bindText(q))
		}
		if !strings.Contains(strings.ToUpper(sql), `"`+DemoColumn+`"`) {
			col := sql[strings.Index(sql, "MAX(")+4:]
			if i := strings.Index(col, ")"); i >= 0 {
				col = col[:i]
			}
			return InvalidIdentifier(col)
		}
		return Rows([]Column{TimestampNTZ("MAX_VALUE"), TimestampLTZ("NOW")}, []any{d.lastLoad(now, recovered), now})
	}
	return Result{}
}

// mentions reports whether a bind names the demo's table.
func mentions(q Query, name string) bool {
	for _, b := range q.Bindings {
		if b.Value != nil && strings.Contains(strings.ToUpper(*b.Value), name) {
			return true
		}
	}
	return false
}

func bindText(q Query) string {
	for _, b := range q.Bindings {
		if b.Value != nil {
			return *b.Value
		}
	}
	return ""
}

// failingSince is when the load started failing: two hours before now.
func failingSince(now time.Time) time.Time { return now.Add(-2 * time.Hour).Truncate(time.Hour) }

// lastLoad is the newest data: the last good load before the failures, or
// the recovery.
func (d *Demo) lastLoad(now, recovered time.Time) time.Time {
	if !recovered.IsZero() {
		return recovered
	}
	return failingSince(now).Add(-5 * time.Minute)
}

const demoError = "Numeric value 'N/A' is not recognized\n  File 'orders/%s', line 17, character 42\n  Row 16, column \"ORDERS\"[\"AMOUNT\":4]"

// failedLoads are the hourly loads since the failures began, newest first.
func failedLoads(now time.Time) []time.Time {
	var out []time.Time
	for t := failingSince(now); !t.After(now); t = t.Add(30 * time.Minute) {
		out = append([]time.Time{t}, out...)
	}
	return out
}

func fileName(t time.Time) string {
	return "dt=" + t.Format("2006-01-02") + "/hr=" + t.Format("15") + "/orders_" + t.Format("1504") + ".csv"
}

var demoQueryColumns = []Column{
	Text("QUERY_ID"), Text("QUERY_TYPE"), Text("USER_NAME"), Text("ROLE_NAME"), Text("WAREHOUSE_NAME"),
	Text("DATABASE_NAME"), Text("SCHEMA_NAME"), Text("EXECUTION_STATUS"), Text("ERROR_CODE"), Text("ERROR_MESSAGE"),
	TimestampLTZ("START_TIME"), TimestampLTZ("END_TIME"), Text("QUERY_TAG"), Text("QUERY_TEXT"),
	Fixed("FAILURES"), Fixed("CODE_FAILURES"), TimestampLTZ("FIRST_FAILURE"), TimestampLTZ("LAST_FAILURE"),
}

// failures are the failed loads before any recovery, newest first.
func failures(now, recovered time.Time) []time.Time {
	var out []time.Time
	for _, t := range failedLoads(now) {
		if recovered.IsZero() || t.Before(recovered) {
			out = append(out, t)
		}
	}
	return out
}

func (d *Demo) queryHistory(now, recovered time.Time) Result {
	loads := failures(now, recovered)
	rows := make([][]any, 0, len(loads))
	for _, t := range loads {
		rows = append(rows, []any{
			"01bdemo0-0000-0000-0000-" + t.Format("200601021504"), "COPY", DemoUser, "LOADER", DemoWarehouse, DemoDatabase, DemoSchema,
			"FAILED_WITH_ERROR", "100038", strings.Replace(demoError, "%s", fileName(t), 1), t, t.Add(40 * time.Second), "airflow:load_orders",
			"COPY INTO RAW.ORDERS FROM @RAW.LANDING/orders/ FILE_FORMAT = (TYPE = CSV)",
			len(loads), len(loads), loads[len(loads)-1].Add(40 * time.Second), loads[0].Add(40 * time.Second),
		})
	}
	return Rows(demoQueryColumns, rows...)
}

var demoCopyColumns = []Column{
	Text("FILE_NAME"), Text("STAGE_LOCATION"), Text("STATUS"), Fixed("ROW_COUNT"), Fixed("ROW_PARSED"), Fixed("ERROR_COUNT"),
	Text("FIRST_ERROR_MESSAGE"), Fixed("FIRST_ERROR_LINE_NUMBER"), Text("FIRST_ERROR_COLUMN_NAME"), TimestampLTZ("LAST_LOAD_TIME"),
	Text("PIPE_NAME"), Fixed("LOADS"), Fixed("LOADED"), Fixed("FAILED"), Fixed("PARTIAL"), Fixed("ROWS_LOADED"),
	Fixed("ROWS_PARSED"), TimestampLTZ("FIRST_LOAD"), TimestampLTZ("LAST_LOAD"),
}

func (d *Demo) copyHistory(now, recovered time.Time) Result {
	type load struct {
		at     time.Time
		failed bool
	}
	var loads []load
	if !recovered.IsZero() {
		loads = append(loads, load{at: recovered})
	}
	for _, t := range failures(now, recovered) {
		loads = append(loads, load{at: t, failed: true})
	}
	good := failingSince(now).Add(-5 * time.Minute)
	for i := 0; i < 4; i++ {
		loads = append(loads, load{at: good.Add(-time.Duration(i) * 30 * time.Minute)})
	}
	var nLoaded, nFailed, rowsLoaded, rowsParsed int64
	for _, l := range loads {
		rowsParsed += 2500
		if l.failed {
			nFailed++
		} else {
			nLoaded++
			rowsLoaded += 2500
		}
	}
	first, last := loads[len(loads)-1].at, loads[0].at
	for _, l := range loads {
		if l.at.After(last) {
			last = l.at
		}
	}
	rows := make([][]any, 0, len(loads))
	for _, l := range loads {
		if l.failed {
			rows = append(rows, []any{fileName(l.at), DemoStage, "Load failed", 0, 2500, 1,
				strings.Replace(demoError, "%s", fileName(l.at), 1), 17, `"ORDERS"["AMOUNT":4]`, l.at.Add(40 * time.Second), nil,
				len(loads), nLoaded, nFailed, 0, rowsLoaded, rowsParsed, first, last.Add(40 * time.Second)})
		} else {
			rows = append(rows, []any{fileName(l.at), DemoStage, "Loaded", 2500, 2500, 0, nil, nil, nil, l.at.Add(40 * time.Second), nil,
				len(loads), nLoaded, nFailed, 0, rowsLoaded, rowsParsed, first, last.Add(40 * time.Second)})
		}
	}
	// Failed loads first, newest first, as the action orders them.
	return Rows(demoCopyColumns, rows...)
}

var demoTaskColumns = []Column{
	Text("NAME"), Text("DATABASE_NAME"), Text("SCHEMA_NAME"), Text("STATE"), Text("ERROR_CODE"), Text("ERROR_MESSAGE"),
	TimestampLTZ("SCHEDULED_TIME"), TimestampLTZ("QUERY_START_TIME"), TimestampLTZ("COMPLETED_TIME"), Text("QUERY_ID"),
	Fixed("RUNS"), Fixed("FAILED"), Fixed("SKIPPED"), Fixed("CANCELLED"), Fixed("TASK_RUNS"),
	TimestampLTZ("FIRST_RUN"), TimestampLTZ("LAST_RUN"),
}

func (d *Demo) taskHistory(now, recovered time.Time) Result {
	loads := failures(now, recovered)
	rows := make([][]any, 0, len(loads))
	for _, t := range loads {
		rows = append(rows, []any{DemoTask, DemoDatabase, "OPS", "FAILED", "100038", strings.Replace(demoError, "%s", fileName(t), 1),
			t, t.Add(2 * time.Second), t.Add(42 * time.Second), "01bdemo1-0000-0000-0000-" + t.Format("200601021504"),
			len(loads), len(loads), 0, 0, len(loads), loads[len(loads)-1], loads[0]})
	}
	return Rows(demoTaskColumns, rows...)
}

var demoTablesColumns = []Column{
	Text("TABLE_CATALOG"), Text("TABLE_SCHEMA"), Text("TABLE_NAME"), Text("TABLE_TYPE"), Fixed("ROW_COUNT"),
	TimestampLTZ("LAST_ALTERED"), TimestampLTZ("NOW"),
}
