package intake

import (
	"testing"

	"github.com/datasev/datasev/starter/incidents"
)

// The ui_url links the intake answers with come from incidents.WorkflowURL:
// the run's history page, or the workflow list filtered to the ID when the
// run is unknown; IDs are escaped.
func TestWorkflowURL(t *testing.T) {
	got := incidents.WorkflowURL("http://127.0.0.1:8233/", "default", "incident-orders/daily load", "run-1")
	want := "http://127.0.0.1:8233/namespaces/default/workflows/incident-orders%2Fdaily%20load/run-1/history"
	if got != want {
		t.Errorf("WorkflowURL = %q, want %q", got, want)
	}
	if got := incidents.WorkflowURL("http://x", "ns", "incident-a", ""); got != `http://x/namespaces/ns/workflows?query=WorkflowId%3D%22incident-a%22` {
		t.Errorf("WorkflowURL without run = %q", got)
	}
}
