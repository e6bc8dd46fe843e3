package runbooks

import "testing"

func TestLibraryValidates(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if set.Len() < 4 {
		t.Fatalf("library has %d runbooks, want at least 4", set.Len())
	}
	if err := Validate(set, testCatalog()); err != nil {
		t.Fatalf("library does not validate:\n%v", err)
	}
}
