// Package reporoot finds the checkout of the datasev module: the directory
// holding its go.mod. The CLI looks there for the sample roster; the dev
// tooling for the pinned Temporal CLI. It uses the standard library only, so
// that light packages can import it.
package reporoot

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ModulePath is the datasev module's path; Find looks for its go.mod.
const ModulePath = "github.com/datasev/datasev"

// Find returns the directory holding the go.mod of module ModulePath,
// walking up from dir. ok is false when neither dir nor any parent holds
// it.
func Find(dir string) (root string, ok bool) {
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && Module(data) == ModulePath {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Module returns the module path a go.mod declares, or "".
func Module(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		fields := strings.Fields(line)
		if len(fields) != 2 || fields[0] != "module" {
			continue
		}
		if p, err := strconv.Unquote(fields[1]); err == nil {
			return p
		}
		return fields[1]
	}
	return ""
}
