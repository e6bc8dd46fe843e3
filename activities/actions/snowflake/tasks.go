package snowflake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/runbooks"
)

// Action names of the task remediations.
const (
	ExecuteTaskName = "snowflake.execute_task"
	ResumeTaskName  = "snowflake.resume_task"
)

// ExecuteTaskSpec is snowflake.execute_task's spec.
func ExecuteTaskSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: ExecuteTaskName,
		Description: "Run a Snowflake task once now (EXECUTE TASK <database.schema.task>), e.g. to re-run a failed load " +
			"task. The task is named in full and must be in the target policy (targets.snowflake.tasks). Each run of " +
			"the step asks Snowflake for one more run of the task. The dry run checks the name and the policy and " +
			"shows the statement.",
		Outputs: []string{"ok", "task", "statement", "status", "query_id", "dry_run"},
		DryRun:  true,
		Changes: true,
	}
}

// ResumeTaskSpec is snowflake.resume_task's spec.
func ResumeTaskSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: ResumeTaskName,
		Description: "Resume a suspended Snowflake task (ALTER TASK <database.schema.task> RESUME) so its schedule runs " +
			"it again; resuming a started task changes nothing. The task is named in full and must be in the target " +
			"policy (targets.snowflake.tasks). The dry run checks the name and the policy and shows the statement.",
		Outputs: []string{"ok", "task", "statement", "status", "query_id", "dry_run"},
		DryRun:  true,
		Changes: true,
	}
}

// TaskInput is the inputs of snowflake.execute_task and
// snowflake.resume_task.
type TaskInput struct {
	Task string `json:"task" datasev:"required" desc:"the task, fully qualified: database.schema.task (double-quote parts that need it)"`
}

// ExecuteTask runs a task once (EXECUTE TASK).
func (a *Actions) ExecuteTask(ctx context.Context, req runbooks.ActionRequest, in TaskInput) (runbooks.ActionResult, error) {
	return a.taskStatement(ctx, ExecuteTaskName, req, in, func(t string) string { return "EXECUTE TASK " + t })
}

// ResumeTask resumes a task (ALTER TASK … RESUME).
func (a *Actions) ResumeTask(ctx context.Context, req runbooks.ActionRequest, in TaskInput) (runbooks.ActionResult, error) {
	return a.taskStatement(ctx, ResumeTaskName, req, in, func(t string) string { return "ALTER TASK " + t + " RESUME" })
}

// taskName checks a task remediation's target: a connection, a target
// policy, a fully-qualified name that parses, and that the policy allows
// both its database and the task. It returns the name resolved
// (DATABASE.SCHEMA.TASK as Snowflake resolves it, for the policy and the
// output) and quoted (every part double-quoted, for the statement: SQL
// takes no bind variable for EXECUTE TASK's or ALTER TASK's name).
func (a *Actions) taskName(action, raw string) (resolved, quoted string, err error) {
	if err := a.ready(action); err != nil {
		return "", "", err
	}
	if err := a.targets.Remediation(action); err != nil {
		return "", "", remediationError(action, err)
	}
	t, err := parseObjectName(raw)
	if err != nil {
		return "", "", badRequest(action, "task: %v", err)
	}
	if len(t.parts) != 3 {
		return "", "", badRequest(action, "task %q: name it in full, database.schema.task, so the policy and the statement mean the same task", raw)
	}
	if err := a.database(action, t.database()); err != nil {
		return "", "", err
	}
	resolved = strings.Join(t.parts, ".")
	if err := a.targets.SnowflakeTask(t.parts[0], t.parts[1], t.parts[2]); err != nil {
		return "", "", remediationError(action, err)
	}
	q := make([]string, len(t.parts))
	for i, p := range t.parts {
		q[i] = quoteIdent(p)
	}
	return resolved, strings.Join(q, "."), nil
}

// remediationError prefixes a policy error with the action's name,
// keeping its type.
func remediationError(action string, err error) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return temporal.NewNonRetryableApplicationError(action+": "+ae.Message(), ae.Type(), nil)
	}
	return fmt.Errorf("%s: %w", action, err)
}

func (a *Actions) taskStatement(ctx context.Context, action string, req runbooks.ActionRequest, in TaskInput, stmt func(string) string) (runbooks.ActionResult, error) {
	resolved, quoted, err := a.taskName(action, in.Task)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	sqlText := stmt(quoted)
	out := map[string]any{"ok": true, "task": resolved, "statement": sqlText, "status": "", "query_id": "", "dry_run": req.DryRun}
	if req.DryRun {
		return runbooks.ActionResult{
			Output:  out,
			Summary: fmt.Sprintf("%s %s → would run: %s", action, resolved, sqlText),
			Detail:  fmt.Sprintf("Would run `%s` on Snowflake (task %s is within the target policy).\n", sqlText, resolved),
		}, nil
	}
	var status string
	qid, err := a.run(ctx, action, req, sqlText, nil, func(rows *sql.Rows) error {
		cols, err := rows.Columns()
		if err != nil || len(cols) == 0 {
			return err
		}
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if status == "" {
			status = vals[0].String
		}
		return nil
	})
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	out["status"], out["query_id"] = status, qid
	return runbooks.ActionResult{
		Output:  out,
		Summary: fmt.Sprintf("%s %s → %s", action, resolved, orStatus(status)),
		Detail:  fmt.Sprintf("Ran `%s` (query ID %s): %s\n", sqlText, qid, orStatus(status)),
	}, nil
}

func orStatus(s string) string {
	if s == "" {
		return "done"
	}
	return s
}
