package runbooks_test

import (
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
		if set.Len() < 4 {
			t.Fatalf("%q: %d runbooks, want at least the 4 of the library", dir, set.Len())
		}
		if err := runbooks.Validate(set, actions.DefaultCatalog()); err != nil {
			t.Errorf("%q does not validate:\n%v", dir, err)
		}
	}
}
