package devstack

import (
	"embed"
	"io/fs"

	"github.com/datasev/datasev/runbooks"
)

//go:embed runbooks/*.yaml
var demoRunbooks embed.FS

// DemoRunbooksPrefix names the demo runbooks' files in messages and
// Runbook.Source.
const DemoRunbooksPrefix = "dev:"

// DemoRunbooks is the layer of runbooks the dev demo needs beside the
// library (demo-orders-load, which matches alertname OrdersLoadFailed): the
// files of starter/dev/devstack/runbooks. Only the dev stack (`go run
// ./starter/dev`) loads it, so a real alert of that name never runs the
// demo in production; the shipped binaries do not even carry it.
func DemoRunbooks() runbooks.Layer {
	sub, err := fs.Sub(demoRunbooks, "runbooks")
	if err != nil {
		panic(err) // the embedded tree always has the directory
	}
	return runbooks.Layer{FS: sub, Prefix: DemoRunbooksPrefix}
}
