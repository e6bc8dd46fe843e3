// Package realsrv runs real servers, built from their Go modules at pinned
// versions, for tests that check datasev against the real thing beside the
// protocol stand-ins: Prometheus Alertmanager delivering to the intake, and
// versitygw (an S3 gateway that checks SigV4) serving the S3 actions.
//
// Each server is a Tool: a `go install module/cmd@version` into <repo>/.bin,
// built once and recognized afterwards by its build info. It is dev-only
// code: nothing shipped links it.
package realsrv

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/datasev/datasev/starter/dev/devstack"
)

// Tool is a Go command pinned to one version of its module.
type Tool struct {
	// Name is the binary's file name, e.g. "alertmanager".
	Name string
	// Package is the main package `go install` builds, e.g.
	// github.com/prometheus/alertmanager/cmd/alertmanager.
	Package string
	// Module is the package's module, as the binary's build info records it.
	Module string
	// Version is the pinned module version, e.g. v0.31.1.
	Version string
}

// Target is what `go install` is given: Package@Version.
func (t Tool) Target() string { return t.Package + "@" + t.Version }

// Ensure returns the path of the pinned build of t, <repo>/.bin/<Name>,
// building it with `go install Package@Version` when the file there is
// missing or its build info names another package, module or version.
//
// The build goes to a fresh temporary directory inside <repo>/.bin and is
// renamed into place only once its build info checks out, so no lock is
// needed: callers racing to build each rename a complete, pinned binary
// over the same name, and a failed or interrupted build leaves nothing
// behind. Progress lines go to progress, which may be nil.
func (t Tool) Ensure(ctx context.Context, progress io.Writer) (string, error) {
	if progress == nil {
		progress = io.Discard
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.Name, err)
	}
	binDir := filepath.Join(root, ".bin")
	exe := filepath.Join(binDir, t.Name)
	if err := t.check(exe); err == nil {
		return exe, nil
	}
	if err := os.MkdirAll(binDir, 0o750); err != nil {
		return "", fmt.Errorf("%s: %w", t.Name, err)
	}
	tmp, err := os.MkdirTemp(binDir, ".build-"+t.Name+"-")
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.Name, err)
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintf(progress, "building %s from Go modules (first run only, a few minutes)…\n", t.Target())
	start := time.Now()
	if err := t.goInstall(ctx, tmp); err != nil {
		return "", err
	}
	built := filepath.Join(tmp, t.Name)
	if err := t.check(built); err != nil {
		return "", fmt.Errorf("%s: go install %s: %w", t.Name, t.Target(), err)
	}
	if err := os.Rename(built, exe); err != nil {
		return "", fmt.Errorf("%s: moving the build into place: %w", t.Name, err)
	}
	fmt.Fprintf(progress, "built %s in %s: %s\n", t.Target(), time.Since(start).Round(time.Second), exe)
	return exe, nil
}

// check says why exe is not the pinned build of t, or nil when it is. The
// build info is what counts: commands built with `go install` often report
// a development version of their own.
func (t Tool) check(exe string) error {
	info, err := buildinfo.ReadFile(exe)
	if err != nil {
		return fmt.Errorf("reading the build info of %s: %w", exe, err)
	}
	if info.Path != t.Package || info.Main.Path != t.Module || info.Main.Version != t.Version {
		return fmt.Errorf("%s is %s (module %s@%s), want %s (module %s@%s)",
			exe, info.Path, info.Main.Path, info.Main.Version, t.Package, t.Module, t.Version)
	}
	return nil
}

// goInstall builds t into dir.
func (t Tool) goInstall(ctx context.Context, dir string) error {
	return devstack.GoInstall(ctx, t.Name, t.Target(), dir)
}

// Tools are the pinned real servers of this package.
func Tools() []Tool { return []Tool{Alertmanager, VersityGW} }
