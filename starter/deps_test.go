package main

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// module is this repository's module path.
const module = "github.com/datasev/datasev"

// shipped are the binaries the image ships (worker/Dockerfile).
var shipped = []string{module + "/worker", module + "/starter"}

// exceptions are the packages that may import a restricted package into a
// shipped binary, each with why: test code that third-party modules the
// binaries need put in their non-test files. Any other importer fails the
// test.
var exceptions = map[string]map[string]string{
	"testing": {
		"go.temporal.io/sdk/internal": "the Temporal Go SDK keeps its workflow test suite (workflow_testsuite.go) in the internal " +
			"package every client and worker imports",
		"github.com/apache/thrift/lib/go/thrift": "thrift's logger.go defines TestLogger(testing.TB); thrift comes with the " +
			"Snowflake driver (gosnowflake → arrow-go's parquet)",
		"net/http/httptest": "httptest itself imports testing; it is allowed only from testify/assert (below)",
	},
	"net/http/httptest": {
		"github.com/stretchr/testify/assert": "testify's HTTP assertions; testify is allowed only from the Temporal SDK (below)",
	},
	"github.com/stretchr/testify/...": {
		"go.temporal.io/sdk/internal":     "the SDK's workflow test suite uses testify's mock and require",
		"github.com/stretchr/testify/...": "testify's packages import each other",
	},
}

// The shipped binaries link no protocol stand-in (a package of this module
// whose name ends in "test"), nothing of the dev-only command
// (starter/dev/...), no gofakes3, and neither testing nor
// net/http/httptest nor testify except through the third-party importers
// named in exceptions. Checked with cgo on and off (the image builds with
// CGO_ENABLED=0).
func TestShippedBinariesLinkNoTestCode(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the binaries' packages: %v", err)
	}
	for _, cgo := range []string{"0", "1"} {
		for _, bin := range shipped {
			graph := deps(t, goTool, bin, cgo)
			if len(graph) < 100 {
				t.Fatalf("%s (CGO_ENABLED=%s): only %d packages listed", bin, cgo, len(graph))
			}
			for _, problem := range testCode(graph) {
				t.Errorf("%s (CGO_ENABLED=%s): %s", bin, cgo, problem)
			}
		}
	}
}

// The check finds what it must: a stand-in, a dev package, gofakes3, and
// testing imported by a package of ours.
func TestTestCodeFindsTestCode(t *testing.T) {
	graph := map[string][]string{
		module + "/worker":                                {"testing", module + "/activities/actions/s3/s3test", module + "/starter/dev/devstack"},
		module + "/activities/actions/s3/s3test":          {"github.com/johannesboyne/gofakes3/backend/s3mem"},
		"go.temporal.io/sdk/internal":                     {"testing", "github.com/stretchr/testify/mock"},
		"github.com/stretchr/testify/mock":                {"github.com/stretchr/testify/assert"},
		"github.com/stretchr/testify/assert":              {"net/http/httptest"},
		"net/http/httptest":                               {"testing"},
		"github.com/johannesboyne/gofakes3/backend/s3mem": nil,
		module + "/starter/dev/devstack":                  nil,
		"testing":                                         nil,
	}
	got := strings.Join(testCode(graph), "\n")
	for _, want := range []string{
		"testing imported by " + module + "/worker",
		"stand-in " + module + "/activities/actions/s3/s3test",
		"dev-only package " + module + "/starter/dev/devstack",
		"gofakes3 package github.com/johannesboyne/gofakes3/backend/s3mem",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems miss %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "go.temporal.io/sdk/internal") || strings.Contains(got, "testify") || strings.Contains(got, "httptest") {
		t.Errorf("an allowed importer is reported:\n%s", got)
	}
}

// deps is bin's package graph: each package with its imports.
func deps(t *testing.T, goTool, bin, cgo string) map[string][]string {
	t.Helper()
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", bin)
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s (CGO_ENABLED=%s): %v\n%s", bin, cgo, err, stderr.String())
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			graph[f[0]] = f[1:]
		}
	}
	return graph
}

// testCode lists what graph links that a shipped binary must not, sorted.
func testCode(graph map[string][]string) []string {
	var problems []string
	importers := map[string][]string{}
	for pkg, imports := range graph {
		for _, imp := range imports {
			importers[imp] = append(importers[imp], pkg)
		}
		switch {
		case strings.HasPrefix(pkg, module+"/starter/dev/") || pkg == module+"/starter/dev":
			problems = append(problems, "dev-only package "+pkg)
		case strings.HasPrefix(pkg, module+"/") && strings.HasSuffix(path.Base(pkg), "test"):
			problems = append(problems, "stand-in "+pkg)
		case pkg == "github.com/johannesboyne/gofakes3" || strings.HasPrefix(pkg, "github.com/johannesboyne/gofakes3/"):
			problems = append(problems, "gofakes3 package "+pkg)
		}
	}
	for pkg := range graph {
		restricted := restrictedAs(pkg)
		if restricted == "" {
			continue
		}
		for _, by := range importers[pkg] {
			if !allowed(exceptions[restricted], by) {
				problems = append(problems, pkg+" imported by "+by)
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// restrictedAs is the key of exceptions that restricts pkg, or "".
func restrictedAs(pkg string) string {
	switch {
	case pkg == "testing" || strings.HasPrefix(pkg, "testing/"):
		return "testing"
	case pkg == "net/http/httptest":
		return pkg
	case strings.HasPrefix(pkg, "github.com/stretchr/testify/"):
		return "github.com/stretchr/testify/..."
	}
	return ""
}

// allowed reports whether importers names by: its path, or a pattern
// "P/..." with by under P.
func allowed(importers map[string]string, by string) bool {
	for name := range importers {
		if p, ok := strings.CutSuffix(name, "/..."); ok && strings.HasPrefix(by, p+"/") || name == by {
			return true
		}
	}
	return false
}
