package cli

import (
	"os"

	"github.com/datasev/datasev/starter/cli/reporoot"
)

// repoRoot returns the directory holding the go.mod of the datasev module,
// walking up from the working directory: run from a checkout, the commands
// find the sample roster there. ok is false outside a checkout.
func repoRoot() (dir string, ok bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	return reporoot.Find(wd)
}
