package snowflake

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/datasev/datasev/activities/support/mdtext"
	"github.com/datasev/datasev/runbooks"
)

// TaskHistoryName is snowflake.task_history's action name.
const TaskHistoryName = "snowflake.task_history"

// MaxTaskHistoryHours is INFORMATION_SCHEMA.TASK_HISTORY's reach: 7 days.
const MaxTaskHistoryHours = 7 * 24

// TaskHistorySpec is snowflake.task_history's spec; actions.Typed adds its
// inputs from TaskHistoryInput.
func TaskHistorySpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: TaskHistoryName,
		Description: "Failed, cancelled and skipped task runs scheduled in the last hours (default 6), newest first, from " +
			"the INFORMATION_SCHEMA.TASK_HISTORY table function (up to 7 days; the 10,000 most recent runs of the window " +
			"are examined), for one task or every task of a database; with counts per state and per task and the " +
			"first and last problem run.",
		Outputs: []string{"hours", "task", "database", "runs", "failed", "skipped", "cancelled", "first_run", "last_run",
			"by_task", "top_errors", "task_runs", "shown", "truncated", "query_id"},
	}
}

// TaskHistoryInput is snowflake.task_history's inputs.
type TaskHistoryInput struct {
	Task     string `json:"task" desc:"one task: database.schema.task, schema.task or task (default: every task)"`
	Database string `json:"database" desc:"database whose tasks to read (default: the task's, else the configured database)"`
	Hours    int    `json:"hours" desc:"window of scheduled times in hours, ending now (default 6, at most 168)"`
	Limit    int    `json:"limit" desc:"most runs listed (default 100, at most 500); counts cover the whole window"`
}

func taskHistorySQL(db string, byTask, bySchema bool) string {
	var b strings.Builder
	b.WriteString(`SELECT NAME, DATABASE_NAME, SCHEMA_NAME, STATE, ERROR_CODE, ERROR_MESSAGE,
       SCHEDULED_TIME, QUERY_START_TIME, COMPLETED_TIME, QUERY_ID,
       COUNT(*) OVER () AS RUNS,
       SUM(IFF(STATE IN ('FAILED', 'FAILED_AND_AUTO_SUSPENDED'), 1, 0)) OVER () AS FAILED,
       SUM(IFF(STATE = 'SKIPPED', 1, 0)) OVER () AS SKIPPED,
       SUM(IFF(STATE = 'CANCELLED', 1, 0)) OVER () AS CANCELLED,
       COUNT(*) OVER (PARTITION BY DATABASE_NAME, SCHEMA_NAME, NAME) AS TASK_RUNS,
       MIN(SCHEDULED_TIME) OVER () AS FIRST_RUN,
       MAX(SCHEDULED_TIME) OVER () AS LAST_RUN
FROM TABLE(` + infoSchema(db) + `.TASK_HISTORY(
       SCHEDULED_TIME_RANGE_START => DATEADD('hour', -?, CURRENT_TIMESTAMP()),
       RESULT_LIMIT => ?`)
	if byTask {
		b.WriteString(",\n       TASK_NAME => ?")
	}
	b.WriteString("))\nWHERE STATE IN ('FAILED', 'FAILED_AND_AUTO_SUSPENDED', 'SKIPPED', 'CANCELLED')\n")
	if bySchema {
		b.WriteString("  AND SCHEMA_NAME = ?\n")
	}
	b.WriteString("ORDER BY SCHEDULED_TIME DESC\nLIMIT ?")
	return b.String()
}

// TaskHistory lists the task runs that failed, were cancelled or skipped.
func (a *Actions) TaskHistory(ctx context.Context, req runbooks.ActionRequest, in TaskHistoryInput) (runbooks.ActionResult, error) {
	q, err := a.taskHistoryQuery(in)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	t := newTaskRuns()
	queryID, err := a.run(ctx, TaskHistoryName, req, taskHistorySQL(q.db, q.byTask, q.bySchema), q.args(), t.scan)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	tasks := topCounts(t.byName, 10)
	top := topCounts(t.errs, 5)
	res := runbooks.ActionResult{Output: q.output(t, tasks, top, queryID), Summary: q.summary(t, tasks, top)}
	if len(t.listing) > 0 {
		res.Detail = mdTable([]string{"scheduled", "state", "task", "code", "error"}, t.listing)
	}
	return res, nil
}

// taskHistoryQuery is snowflake.task_history's inputs, checked: the window,
// the limit, the database and, when one task is asked for, the task.
type taskHistoryQuery struct {
	hours, limit     int
	capped           bool
	db               string
	task             objectName
	byTask, bySchema bool
}

// taskHistoryQuery checks in: the window and limit, the database, the task
// and that the task's database (when it names one) is the database asked
// for; the database read must be an allowed one.
func (a *Actions) taskHistoryQuery(in TaskHistoryInput) (taskHistoryQuery, error) {
	const action = TaskHistoryName
	var q taskHistoryQuery
	if err := a.ready(action); err != nil {
		return q, err
	}
	var err error
	if q.hours, q.capped, q.limit, err = bounds(action, in.Hours, MaxTaskHistoryHours, in.Limit); err != nil {
		return q, err
	}
	db, valid := oneName(in.Database)
	if !valid {
		return q, badRequest(action, "database %q: want one identifier", in.Database)
	}
	q.byTask = strings.TrimSpace(in.Task) != ""
	if q.byTask {
		if q.task, err = parseObjectName(in.Task); err != nil {
			return q, badRequest(action, "task: %v", err)
		}
		if td := q.task.database(); td != "" {
			if db != "" && db != td {
				return q, badRequest(action, "task %s is in database %s, not %s", q.task, td, db)
			}
			db = td
		}
	}
	if err := a.database(action, db); err != nil {
		return q, err
	}
	q.db = db
	q.bySchema = q.byTask && q.task.schema() != ""
	return q, nil
}

// args are taskHistorySQL's arguments, in its placeholders' order.
func (q taskHistoryQuery) args() []any {
	args := []any{q.hours, historyResultLimit}
	if q.byTask {
		args = append(args, q.task.name())
	}
	if q.bySchema {
		args = append(args, q.task.schema())
	}
	return append(args, q.limit)
}

// taskRuns gathers the rows of taskHistorySQL: the window's counts (the
// same on every row), the runs listed and the counts per task and per
// error code.
type taskRuns struct {
	runs, failed, skipped, cancelled int64
	first, last                      sql.NullTime
	list                             []any
	listing                          [][]any
	byName                           map[string]*countedText
	errs                             map[string]*countedText
}

func newTaskRuns() *taskRuns {
	return &taskRuns{list: []any{}, byName: map[string]*countedText{}, errs: map[string]*countedText{}}
}

// scan reads one row.
func (t *taskRuns) scan(rows *sql.Rows) error {
	var (
		name, dbName, schema, state, code, msg, qid sql.NullString
		scheduled, started, completed, f, l         sql.NullTime
		nRuns, nFailed, nSkipped, nCancelled, nTask sql.NullInt64
	)
	if err := rows.Scan(&name, &dbName, &schema, &state, &code, &msg, &scheduled, &started, &completed, &qid,
		&nRuns, &nFailed, &nSkipped, &nCancelled, &nTask, &f, &l); err != nil {
		return err
	}
	t.runs, t.failed, t.skipped, t.cancelled, t.first, t.last = nRuns.Int64, nFailed.Int64, nSkipped.Int64, nCancelled.Int64, f, l
	full := strings.Join([]string{dbName.String, schema.String, name.String}, ".")
	t.list = append(t.list, map[string]any{
		"task":             full,
		"state":            nullString(state, 100),
		"error_code":       nullString(code, 20),
		"error_message":    nullString(msg, MaxTextLen),
		"scheduled_time":   timeString(scheduled),
		"query_start_time": timeString(started),
		"completed_time":   timeString(completed),
		"query_id":         nullString(qid, 100),
	})
	if _, ok := t.byName[full]; !ok {
		t.byName[full] = &countedText{key: full, text: full, count: nTask.Int64}
	}
	if code.Valid && code.String != "" {
		tally(t.errs, code.String, mdtext.Truncate(msg.String, 200))
	}
	t.listing = append(t.listing, []any{timeString(scheduled), state.String, full, code.String, msg.String})
	return nil
}

// output is the action's outputs.
func (q taskHistoryQuery) output(t *taskRuns, tasks, top []*countedText, queryID string) map[string]any {
	tasksOut := make([]any, len(tasks))
	for i, c := range tasks {
		tasksOut[i] = map[string]any{"task": c.key, "runs": c.count}
	}
	taskName := ""
	if q.byTask {
		taskName = q.task.String()
	}
	return map[string]any{
		"hours":      q.hours,
		"task":       taskName,
		"database":   q.db,
		"runs":       t.runs,
		"failed":     t.failed,
		"skipped":    t.skipped,
		"cancelled":  t.cancelled,
		"first_run":  timeString(t.first),
		"last_run":   timeString(t.last),
		"by_task":    tasksOut,
		"top_errors": errorCounts(top),
		"task_runs":  t.list,
		"shown":      len(t.list),
		"truncated":  t.runs > int64(len(t.list)),
		"query_id":   queryID,
	}
}

// summary is the one-line answer: the runs per state, the tasks with most
// of them (for every task), the top error and the first and last run.
func (q taskHistoryQuery) summary(t *taskRuns, tasks, top []*countedText) string {
	subject := "tasks"
	if q.byTask {
		subject = "task " + q.task.String()
	} else if q.db != "" {
		subject = "tasks in " + q.db
	}
	var sum strings.Builder
	if t.runs == 0 {
		fmt.Fprintf(&sum, "%s: no failed, cancelled or skipped runs in the last %dh", subject, q.hours)
	} else {
		var states []string
		for _, s := range []struct {
			n    int64
			word string
		}{{t.failed, "failed"}, {t.cancelled, "cancelled"}, {t.skipped, "skipped"}} {
			if s.n > 0 {
				states = append(states, fmt.Sprintf("%d %s", s.n, s.word))
			}
		}
		noun := "runs"
		if t.runs == 1 {
			noun = "run"
		}
		fmt.Fprintf(&sum, "%s: %s %s in the last %dh", subject, strings.Join(states, ", "), noun, q.hours)
		if !q.byTask && len(tasks) > 0 {
			parts := make([]string, 0, 3)
			for i, c := range tasks {
				if i == 3 {
					break
				}
				parts = append(parts, fmt.Sprintf("%s ×%d", c.key, c.count))
			}
			fmt.Fprintf(&sum, " (%s)", strings.Join(parts, ", "))
		}
		if len(top) > 0 {
			fmt.Fprintf(&sum, "; top error %s: %s", top[0].key, mdtext.Truncate(oneLine(top[0].text), 120))
		}
		writeSpan(&sum, t.first, t.last)
	}
	writeCapped(&sum, q.capped, q.hours)
	return sum.String()
}
