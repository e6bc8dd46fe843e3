// Package devstack runs the pinned Temporal dev server for tests and the
// one-command demo: it builds the Temporal CLI from Go modules at a pinned
// version (never downloading a prebuilt binary), starts `temporal server
// start-dev` on loopback with an optional SQLite file and the Web UI, and
// makes sure datasev's custom search attributes exist.
package devstack

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/datasev/datasev/starter/cli/reporoot"
)

// TemporalCLIVersion is the pinned version of the Temporal CLI (and so of the
// dev server and UI embedded in it).
const TemporalCLIVersion = "v1.5.1"

// TemporalCLIModule is the package path `go install` builds the CLI from.
const TemporalCLIModule = "github.com/temporalio/cli/cmd/temporal"

// ModulePath is this repository's module path; RepoRoot looks for it.
const ModulePath = reporoot.ModulePath

// EnvCLI names the environment variable that points at an existing Temporal
// CLI binary to use instead of the pinned build.
const EnvCLI = "DATASEV_TEMPORAL_CLI"

// temporalCLIMainModule is the main module recorded in the CLI's build info.
const temporalCLIMainModule = "github.com/temporalio/cli"

// RepoRoot returns the directory holding the go.mod of module
// github.com/datasev/datasev, walking up from the working directory.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	if dir, ok := reporoot.Find(wd); ok {
		return dir, nil
	}
	return "", fmt.Errorf("repo root: no go.mod of module %s in %s or any parent directory", ModulePath, wd)
}

// EnsureCLI returns the path of the pinned Temporal CLI.
//
// If DATASEV_TEMPORAL_CLI is set it must name an existing binary, which is
// used as is. Otherwise the CLI lives at <repo>/.bin/temporal; when it is
// missing or not the pinned version it is built with `go install
// github.com/temporalio/cli/cmd/temporal@v1.5.1` (GOBIN=<repo>/.bin), which
// takes a few minutes the first time. A stamp file <repo>/.bin/temporal.version
// records the version built; a file lock on <repo>/.bin/.lock keeps
// concurrent callers (parallel test packages) from building twice.
//
// Progress lines go to progress, which may be nil.
func EnsureCLI(ctx context.Context, progress io.Writer) (string, error) {
	if progress == nil {
		progress = io.Discard
	}
	if p := os.Getenv(EnvCLI); p != "" {
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvCLI, p, err)
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s: not an executable file", EnvCLI, p)
		}
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	binDir := filepath.Join(root, ".bin")
	exe := filepath.Join(binDir, "temporal")
	stamp := filepath.Join(binDir, "temporal.version")

	// Fast path: no lock needed when the stamp already says the pinned version.
	if stamped(exe, stamp) {
		return exe, nil
	}
	if err := os.MkdirAll(binDir, 0o750); err != nil {
		return "", fmt.Errorf("temporal CLI: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(binDir, ".lock"), progress)
	if err != nil {
		return "", err
	}
	defer unlock()

	// Another process may have built it while we waited for the lock.
	if stamped(exe, stamp) {
		return exe, nil
	}
	// A binary built earlier without a stamp: trust its build info.
	if pinnedBuild(exe) {
		if err := writeStamp(stamp); err != nil {
			return "", err
		}
		return exe, nil
	}

	fmt.Fprintf(progress, "building the pinned Temporal CLI %s from Go modules (first run only, a few minutes)…\n", TemporalCLIVersion)
	start := time.Now()
	if err := goInstall(ctx, binDir); err != nil {
		return "", err
	}
	if !pinnedBuild(exe) {
		return "", fmt.Errorf("temporal CLI: built %s but its build info does not say %s@%s", exe, temporalCLIMainModule, TemporalCLIVersion)
	}
	if err := writeStamp(stamp); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "built the Temporal CLI %s in %s: %s\n", TemporalCLIVersion, time.Since(start).Round(time.Second), exe)
	return exe, nil
}

// stamped reports whether exe exists and the stamp names the pinned version.
func stamped(exe, stamp string) bool {
	b, err := os.ReadFile(stamp)
	if err != nil || strings.TrimSpace(string(b)) != TemporalCLIVersion {
		return false
	}
	st, err := os.Stat(exe)
	return err == nil && st.Mode().IsRegular()
}

// pinnedBuild reports whether exe is a Go binary built from the pinned CLI
// module version. The CLI's own --version says 0.0.0-DEV when built with
// `go install`, so the module version in the build info is what counts.
func pinnedBuild(exe string) bool {
	info, err := buildinfo.ReadFile(exe)
	if err != nil {
		return false
	}
	return info.Path == TemporalCLIModule && info.Main.Path == temporalCLIMainModule && info.Main.Version == TemporalCLIVersion
}

func writeStamp(stamp string) error {
	tmp := stamp + ".tmp"
	if err := os.WriteFile(tmp, []byte(TemporalCLIVersion+"\n"), 0o640); err != nil {
		return fmt.Errorf("temporal CLI stamp: %w", err)
	}
	if err := os.Rename(tmp, stamp); err != nil {
		return fmt.Errorf("temporal CLI stamp: %w", err)
	}
	return nil
}

// goInstall builds the pinned CLI into binDir.
func goInstall(ctx context.Context, binDir string) error {
	return GoInstall(ctx, "temporal CLI", TemporalCLIModule+"@"+TemporalCLIVersion, binDir)
}

// GoInstall runs `go install target` (a package@version) with GOBIN=dir;
// name names the program in errors, which carry the build's output tail.
func GoInstall(ctx context.Context, name, target, dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("%s: building it needs the go command: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, goTool, "install", target)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOBIN="+dir,
		// `go install pkg@version` ignores the current module; flags such
		// as -mod=vendor meant for it would make the install fail.
		"GOFLAGS=",
		"GOWORK=off",
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: go install %s: %w", name, target, ctx.Err())
		}
		return fmt.Errorf("%s: go install %s: %w\n%s", name, target, err, tail(out.String(), 4000))
	}
	return nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel
// the wait. The returned func releases it.
func lockFile(ctx context.Context, path string, progress io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("temporal CLI lock: %w", err)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("temporal CLI lock %s: %w", path, err)
		}
		if !told {
			fmt.Fprintf(progress, "waiting for another process building the Temporal CLI (lock %s)…\n", path)
			told = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("temporal CLI lock: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
