package realsrv_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/dev/realsrv"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/worker/service/servicetest"
)

// One dev server and one worker serve the package's Temporal tests; -short
// runs none of the tests (each builds and runs a real server).
var tc client.Client

func TestMain(m *testing.M) {
	os.Exit(devstack.RunTests(m, func(s *devstack.Server) (func(), error) {
		tc = s.Client()
		return servicetest.Start(tc, service.Config{}, nil)
	}))
}

// ensure returns the pinned build of tool, building it on the first run
// (minutes). A failed build fails the test: only -short skips it.
func ensure(t *testing.T, tool realsrv.Tool) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("builds and runs %s (not with -short)", tool.Target())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	exe, err := tool.Ensure(ctx, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// logWriter writes progress lines to the test's log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
