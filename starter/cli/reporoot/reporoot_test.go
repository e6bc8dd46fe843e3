package reporoot

import (
	"os"
	"path/filepath"
	"testing"
)

func TestModule(t *testing.T) {
	for _, tc := range []struct{ gomod, want string }{
		{"module github.com/datasev/datasev\n\ngo 1.26\n", ModulePath},
		{"// a comment\nmodule \"example.com/quoted\" // trailing\n", "example.com/quoted"},
		{"go 1.26\n", ""},
		{"module\n", ""},
	} {
		if got := Module([]byte(tc.gomod)); got != tc.want {
			t.Errorf("Module(%q) = %q, want %q", tc.gomod, got, tc.want)
		}
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+ModulePath+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	// Another module's go.mod between the start and the root is passed over.
	if err := os.WriteFile(filepath.Join(root, "a", "go.mod"), []byte("module example.com/other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, ok := Find(sub); !ok || got != root {
		t.Errorf("Find(%s) = %q, %v; want %q, true", sub, got, ok, root)
	}
	other := t.TempDir()
	if got, ok := Find(other); ok {
		t.Errorf("Find(%s) = %q, true; want not found", other, got)
	}
}
