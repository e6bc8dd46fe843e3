package runbooks_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/runbooks"
)

// The embedded library, alone and with the operator directory of the
// testdata, validates against the real actions registry: the worker would
// refuse to start otherwise.
func TestLibraryValidatesAgainstTheRegistry(t *testing.T) {
	for _, dir := range []string{"", "testdata/override"} {
		set, err := runbooks.Load(dir)
		if err != nil {
			t.Fatalf("load %q: %v", dir, err)
		}
		if set.Len() < 3 {
			t.Fatalf("%q: %d runbooks, want at least the 3 of the library", dir, set.Len())
		}
		if err := runbooks.Validate(set, actions.DefaultCatalog()); err != nil {
			t.Errorf("%q does not validate:\n%v", dir, err)
		}
	}
}

// The library embedded in every binary holds production runbooks only: a
// real alert must never run the dev demo. The demo's runbooks live in
// starter/dev/devstack/runbooks, which only the dev stack (go run ./starter/dev) loads.
func TestLibraryHoldsNoDemoRunbook(t *testing.T) {
	files, err := fs.Glob(runbooks.Library(), "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("the embedded library has no files: there is nothing to check")
	}
	for _, f := range files {
		if strings.HasPrefix(f, "demo") {
			t.Errorf("library file %s is a demo runbook", f)
		}
	}
	set, err := runbooks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() == 0 {
		t.Fatal("the embedded library loads no runbook: there is nothing to check")
	}
	for _, rb := range set.Runbooks() {
		if strings.HasPrefix(rb.Name, "demo") || strings.Contains(strings.ToLower(rb.Description), "demo") {
			t.Errorf("library runbook %s (%s) is a demo runbook", rb.Name, rb.Source)
		}
	}
	// The demo's alert, sent for real, runs no runbook.
	rb, err := set.Match(runbooks.AlertFacts{Source: "alertmanager", Title: "orders load failed",
		Labels: map[string]string{"alertname": "OrdersLoadFailed", "health_url": "http://169.254.169.254/"}})
	if err != nil {
		t.Errorf("matching the demo's alert: %v", err)
	} else if rb != nil {
		t.Errorf("alertname OrdersLoadFailed matches runbook %s (%s); want none", rb.Name, rb.Source)
	}
}
