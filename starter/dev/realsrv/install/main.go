// Command install builds the pinned real servers of package realsrv
// (Alertmanager, versitygw) into <repo>/.bin, so that their tests need not:
//
//	go run ./starter/dev/realsrv/install
//
// A CI job can run it before the tests; each build takes a few minutes the
// first time and nothing afterwards.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/datasev/datasev/starter/dev/realsrv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, t := range realsrv.Tools() {
		exe, err := t.Ensure(ctx, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "install:", err)
			os.Exit(1)
		}
		fmt.Println(exe)
	}
}
