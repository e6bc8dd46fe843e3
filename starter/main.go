// Command datasev is the front door of datasev: declare, list, inspect and
// act on incidents, and `datasev dev`, the one-command demo.
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
