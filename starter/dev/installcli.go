package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/datasev/datasev/starter/dev/devstack"
)

// runInstallCLI builds the pinned Temporal CLI into <repo>/.bin, once, and
// prints its path (devstack.EnsureCLI); CI and the dev-server tests use it.
func runInstallCLI(ctx context.Context, e *env, args []string) error {
	if err := parseFlags(installCLIFlags(e.stderr), args); err != nil {
		return err
	}
	p, err := devstack.EnsureCLI(ctx, e.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, p)
	return nil
}

// installCLIFlags is install-cli's flag set (it has none), writing its
// errors and help to w.
func installCLIFlags(w io.Writer) *flag.FlagSet {
	return newFlagSet(w, "install-cli", "go run ./starter/dev install-cli")
}
