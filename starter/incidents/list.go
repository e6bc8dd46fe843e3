package incidents

import (
	"context"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/workflows"
)

// Filter selects incidents by their search attributes. Empty fields match
// anything.
type Filter struct {
	// Severity, e.g. "SEV2" (also "sev2" or "2").
	Severity string
	// Status is the incident state: triggered, acknowledged, …, closed.
	Status string
	// Service and Commander match exactly.
	Service   string
	Commander string
	// WorkflowID matches one workflow ID (all its runs).
	WorkflowID string
	// Open keeps running workflows only.
	Open bool
	// Limit caps the result; zero means 100.
	Limit int
}

// Query builds the visibility query for the filter, values escaped:
//
//	WorkflowType = 'Incident' AND DatasevSeverity = 'SEV2' AND ExecutionStatus = 'Running'
func (f Filter) Query() (string, error) {
	clauses := []string{"WorkflowType = " + quote(workflows.IncidentWorkflowName)}
	if f.WorkflowID != "" {
		clauses = append(clauses, "WorkflowId = "+quote(f.WorkflowID))
	}
	if f.Severity != "" {
		s, err := workflows.ParseSeverity(f.Severity)
		if err != nil {
			return "", err
		}
		clauses = append(clauses, workflows.SASeverity.GetName()+" = "+quote(string(s)))
	}
	if f.Status != "" {
		st := workflows.State(strings.ToLower(strings.TrimSpace(f.Status)))
		if !validState(st) {
			return "", fmt.Errorf("status %q: want one of %s", f.Status, strings.Join(stateNames(), ", "))
		}
		clauses = append(clauses, workflows.SAStatus.GetName()+" = "+quote(string(st)))
	}
	if f.Service != "" {
		clauses = append(clauses, workflows.SAService.GetName()+" = "+quote(f.Service))
	}
	if f.Commander != "" {
		clauses = append(clauses, workflows.SACommander.GetName()+" = "+quote(f.Commander))
	}
	if f.Open {
		clauses = append(clauses, "ExecutionStatus = 'Running'")
	}
	return strings.Join(clauses, " AND "), nil
}

var states = []workflows.State{
	workflows.Triggered, workflows.Acknowledged, workflows.Diagnosing, workflows.Mitigating,
	workflows.Monitoring, workflows.Resolved, workflows.Closed,
}

func validState(s workflows.State) bool {
	for _, v := range states {
		if v == s {
			return true
		}
	}
	return false
}

func stateNames() []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// quote makes a visibility-query string literal. The server's query parser
// reads backslash escapes, so backslashes and quotes are escaped with one.
// (Temporal's SQL visibility stores escape backslashes, double quotes and
// control characters once more, MySQL-style, so on SQLite and PostgreSQL a
// value containing them never matches; quotes work everywhere.)
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)
	return "'" + r.Replace(v) + "'"
}

// Summary is one incident in a list.
type Summary struct {
	WorkflowID string
	RunID      string
	StartTime  time.Time
	CloseTime  time.Time
	// Execution is the workflow's status: Running, Completed, Failed, …
	Execution string
	// Status, Severity, Service, Commander and Runbook are the search
	// attributes as the workflow last set them.
	Status    string
	Severity  string
	Service   string
	Commander string
	Runbook   string
	// Title is the alert's title; the static summary when the title is not
	// recorded; the workflow ID when neither is.
	Title string
}

// List finds incidents by their search attributes. Visibility is eventually
// consistent: a change made a moment ago may not show yet.
func List(ctx context.Context, c client.Client, f Filter) ([]Summary, error) {
	q, err := f.Query()
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []Summary
	var token []byte
	for len(out) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         q,
			PageSize:      int32(min(limit-len(out), 1000)),
			NextPageToken: token,
		})
		if err != nil {
			return nil, mapError(err, "", addressOf(c), nil)
		}
		for _, info := range resp.GetExecutions() {
			s := Summary{
				WorkflowID: info.GetExecution().GetWorkflowId(),
				RunID:      info.GetExecution().GetRunId(),
				StartTime:  info.GetStartTime().AsTime(),
				Execution:  executionStatus(info.GetStatus()),
				Status:     keyword(info.GetSearchAttributes(), workflows.SAStatus.GetName()),
				Severity:   keyword(info.GetSearchAttributes(), workflows.SASeverity.GetName()),
				Service:    keyword(info.GetSearchAttributes(), workflows.SAService.GetName()),
				Commander:  keyword(info.GetSearchAttributes(), workflows.SACommander.GetName()),
				Runbook:    keyword(info.GetSearchAttributes(), workflows.SARunbook.GetName()),
			}
			if ct := info.GetCloseTime(); ct != nil {
				s.CloseTime = ct.AsTime()
			}
			var title string
			if p := info.GetMemo().GetFields()[memoTitle]; decodeJSON(p, &title) && title != "" {
				s.Title = title
			} else if d, err := c.DescribeWorkflow(ctx, s.WorkflowID, s.RunID); err == nil {
				if sum, err := d.GetStaticSummary(); err == nil {
					s.Title = sum
				}
			}
			if s.Title == "" {
				s.Title = s.WorkflowID
			}
			out = append(out, s)
			if len(out) == limit {
				break
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return out, nil
}

// executionStatus names a workflow status the way the Temporal UI does.
func executionStatus(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "Running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "Completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "Failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "Canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "Terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "ContinuedAsNew"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "TimedOut"
	}
	return s.String()
}

// keyword reads a Keyword search attribute; search attributes are always
// plain JSON payloads.
func keyword(sa *commonpb.SearchAttributes, name string) string {
	var v string
	if decodeJSON(sa.GetIndexedFields()[name], &v) {
		return v
	}
	var list []string
	if decodeJSON(sa.GetIndexedFields()[name], &list) && len(list) > 0 {
		return list[0]
	}
	return ""
}
