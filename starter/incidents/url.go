package incidents

import (
	"fmt"
	"net/url"
	"strings"
)

// WorkflowURL links to a workflow's history in the Temporal Web UI whose
// base URL is uiURL. The UI's history page needs a run ID; with runID ""
// the link opens the workflow list filtered to that workflow ID, whose
// newest run is one click away.
func WorkflowURL(uiURL, namespace, workflowID, runID string) string {
	base := strings.TrimRight(uiURL, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows"
	if runID == "" {
		return base + "?query=" + url.QueryEscape(fmt.Sprintf("WorkflowId=%q", workflowID))
	}
	return base + "/" + url.PathEscape(workflowID) + "/" + url.PathEscape(runID) + "/history"
}
