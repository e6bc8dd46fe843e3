package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRunState(t *testing.T) {
	// A temporary directory goes with done, unless kept.
	for _, keep := range []bool{false, true} {
		dir, logf, done, err := runState("x", "", "x.log", keep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := logf.WriteString("line\n"); err != nil {
			t.Fatal(err)
		}
		done()
		_, err = os.Stat(dir)
		if keep != (err == nil) {
			t.Errorf("keep=%v: after done, stat %s: %v", keep, dir, err)
		}
		if keep {
			os.RemoveAll(dir)
		}
	}
	// A given directory is made, kept, and its log appended to.
	given := filepath.Join(t.TempDir(), "a", "b")
	for range 2 {
		_, logf, done, err := runState("x", given, "x.log", false)
		if err != nil {
			t.Fatal(err)
		}
		logf.WriteString("line\n")
		done()
	}
	b, err := os.ReadFile(filepath.Join(given, "x.log"))
	if err != nil || string(b) != "line\nline\n" {
		t.Errorf("log %q %v, want two lines", b, err)
	}
	// A directory that cannot be made says which.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if _, _, _, err := runState("x", filepath.Join(file, "sub"), "x.log", false); err == nil {
		t.Error("a state directory under a file was accepted")
	}
}
