package devstack_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/devstack"
)

// The demo's runbooks load beside the library for dev, validate against
// the real actions, and match the demo's alert.
func TestDemoRunbooks(t *testing.T) {
	set, err := runbooks.Load("", devstack.DemoRunbooks())
	if err != nil {
		t.Fatal(err)
	}
	if err := runbooks.Validate(set, actions.DefaultCatalog()); err != nil {
		t.Fatalf("the library with the demo's runbooks does not validate:\n%v", err)
	}
	rb, err := set.Match(runbooks.AlertFacts{Source: "alertmanager", Labels: map[string]string{"alertname": "OrdersLoadFailed"}})
	if err != nil || rb == nil || rb.Name != "demo-orders-load" || rb.Source != devstack.DemoRunbooksPrefix+"demo-orders-load.yaml" {
		t.Fatalf("the demo alert matches %+v (%v); want demo-orders-load from %s", rb, err, devstack.DemoRunbooksPrefix)
	}
	if len(set.Overrides()) != 0 {
		t.Errorf("a demo runbook overrides a library one: %q", set.Overrides())
	}
}

// The production worker does not carry the dev stack, so not its demo
// runbooks either; and the library package embeds no demo file.
func TestWorkerDoesNotCarryTheDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/datasev/datasev/worker").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./worker: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/datasev/datasev/starter/") {
			t.Errorf("the worker imports %s", p)
		}
	}
	out, err = exec.Command("go", "list", "-f", "{{join .EmbedFiles \" \"}}", "github.com/datasev/datasev/runbooks").CombinedOutput()
	if err != nil {
		t.Fatalf("go list ./runbooks: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "library/") || strings.Contains(string(out), "demo") {
		t.Errorf("the runbooks package embeds %s", out)
	}
}
