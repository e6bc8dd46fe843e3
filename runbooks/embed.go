package runbooks

import (
	"embed"
	"io/fs"
)

//go:embed library/*.yaml
var library embed.FS

// Library returns the runbooks embedded in the binaries: the files of
// runbooks/library. Production runbooks only: every alert that matches one
// runs it. The dev demo's runbooks live in starter/dev/devstack/runbooks, which
// only the dev stack (go run ./starter/dev) loads.
func Library() fs.FS {
	sub, err := fs.Sub(library, "library")
	if err != nil {
		panic(err) // the embedded tree always has the directory
	}
	return sub
}
