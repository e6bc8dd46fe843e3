// Command datasev is datasev's command line, one of the two binaries that
// ship (with ./worker): declare, list, inspect and act on incidents,
// validate and dry-run runbooks, check the configuration, and serve the
// alert intake with the Slack app (`datasev serve`). Its commands live in
// starter/cli.
//
// The dev stack (a Temporal dev server, the worker, the protocol stand-ins
// and the demo incidents), the benchmark and the pinned Temporal CLI's
// installer are the dev-only command ./starter/dev (`go run ./starter/dev`),
// which is not shipped; deps_test.go checks that neither shipped binary
// links a stand-in or the testing package beyond the named exceptions.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/datasev/datasev/starter/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
