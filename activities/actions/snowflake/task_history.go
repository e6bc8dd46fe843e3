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
	const action = TaskHistoryName
	if err := a.ready(action); err != nil {
		return runbooks.ActionResult{}, err
	}
	hours, capped, limit, err := bounds(action, in.Hours, MaxTaskHistoryHours, in.Limit)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	db, valid := oneName(in.Database)
	if !valid {
		return runbooks.ActionResult{}, badRequest(action, "database %q: want one identifier", in.Database)
	}
	var task objectName
	byTask := strings.TrimSpace(in.Task) != ""
	if byTask {
		if task, err = parseObjectName(in.Task); err != nil {
			return runbooks.ActionResult{}, badRequest(action, "task: %v", err)
		}
		if td := task.database(); td != "" {
			if db != "" && db != td {
				return runbooks.ActionResult{}, badRequest(action, "task %s is in database %s, not %s", task, td, db)
			}
			db = td
		}
	}
	if err := a.database(action, db); err != nil {
		return runbooks.ActionResult{}, err
	}
	bySchema := byTask && task.schema() != ""
	args := []any{hours, historyResultLimit}
	if byTask {
		args = append(args, task.name())
	}
	if bySchema {
		args = append(args, task.schema())
	}
	args = append(args, limit)

	var (
		runs, failed, skipped, cancelled int64
		first, last                      sql.NullTime
		list                             = []any{}
		listing                          [][]any
		byName                           = map[string]*countedText{}
		errs                             = map[string]*countedText{}
	)
	queryID, err := a.run(ctx, action, req, taskHistorySQL(db, byTask, bySchema), args, func(rows *sql.Rows) error {
		var (
			name, dbName, schema, state, code, msg, qid sql.NullString
			scheduled, started, completed, f, l         sql.NullTime
			nRuns, nFailed, nSkipped, nCancelled, nTask sql.NullInt64
		)
		if err := rows.Scan(&name, &dbName, &schema, &state, &code, &msg, &scheduled, &started, &completed, &qid,
			&nRuns, &nFailed, &nSkipped, &nCancelled, &nTask, &f, &l); err != nil {
			return err
		}
		runs, failed, skipped, cancelled, first, last = nRuns.Int64, nFailed.Int64, nSkipped.Int64, nCancelled.Int64, f, l
		full := strings.Join([]string{dbName.String, schema.String, name.String}, ".")
		list = append(list, map[string]any{
			"task":             full,
			"state":            nullString(state, 100),
			"error_code":       nullString(code, 20),
			"error_message":    nullString(msg, MaxTextLen),
			"scheduled_time":   timeString(scheduled),
			"query_start_time": timeString(started),
			"completed_time":   timeString(completed),
			"query_id":         nullString(qid, 100),
		})
		if _, ok := byName[full]; !ok {
			byName[full] = &countedText{key: full, text: full, count: nTask.Int64}
		}
		if code.Valid && code.String != "" {
			tally(errs, code.String, mdtext.Truncate(msg.String, 200))
		}
		listing = append(listing, []any{timeString(scheduled), state.String, full, code.String, msg.String})
		return nil
	})
	if err != nil {
		return runbooks.ActionResult{}, err
	}

	tasks := topCounts(byName, 10)
	tasksOut := make([]any, len(tasks))
	for i, c := range tasks {
		tasksOut[i] = map[string]any{"task": c.key, "runs": c.count}
	}
	top := topCounts(errs, 5)
	taskName := ""
	if byTask {
		taskName = task.String()
	}
	out := map[string]any{
		"hours":      hours,
		"task":       taskName,
		"database":   db,
		"runs":       runs,
		"failed":     failed,
		"skipped":    skipped,
		"cancelled":  cancelled,
		"first_run":  timeString(first),
		"last_run":   timeString(last),
		"by_task":    tasksOut,
		"top_errors": errorCounts(top),
		"task_runs":  list,
		"shown":      len(list),
		"truncated":  runs > int64(len(list)),
		"query_id":   queryID,
	}

	subject := "tasks"
	if byTask {
		subject = "task " + task.String()
	} else if db != "" {
		subject = "tasks in " + db
	}
	var sum strings.Builder
	if runs == 0 {
		fmt.Fprintf(&sum, "%s: no failed, cancelled or skipped runs in the last %dh", subject, hours)
	} else {
		var states []string
		for _, s := range []struct {
			n    int64
			word string
		}{{failed, "failed"}, {cancelled, "cancelled"}, {skipped, "skipped"}} {
			if s.n > 0 {
				states = append(states, fmt.Sprintf("%d %s", s.n, s.word))
			}
		}
		noun := "runs"
		if runs == 1 {
			noun = "run"
		}
		fmt.Fprintf(&sum, "%s: %s %s in the last %dh", subject, strings.Join(states, ", "), noun, hours)
		if !byTask && len(tasks) > 0 {
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
		if first.Valid && last.Valid {
			fmt.Fprintf(&sum, "; first %s, last %s", short(first.Time), short(last.Time))
		}
	}
	if capped {
		fmt.Fprintf(&sum, " (window capped at %dh)", hours)
	}
	res := runbooks.ActionResult{Output: out, Summary: sum.String()}
	if len(listing) > 0 {
		res.Detail = mdTable([]string{"scheduled", "state", "task", "code", "error"}, listing)
	}
	return res, nil
}
