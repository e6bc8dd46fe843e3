package webui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/dev/devstack"
)

// The environment the browser tests read.
const (
	// EnvChromium names the Chromium binary; unset, the test looks for
	// chromium, chromium-browser and google-chrome on PATH.
	EnvChromium = "DATASEV_CHROMIUM"
	// EnvRequireBrowser=1 (or CI=true) makes a missing prerequisite (no
	// Chromium, no unshare or ip, not root) a failure rather than a skip.
	EnvRequireBrowser = "DATASEV_REQUIRE_BROWSER"
	// EnvArtifacts names a directory the screenshots are written to; unset,
	// they go to the test's temporary directory (removed afterwards).
	EnvArtifacts = "DATASEV_ARTIFACTS"
	// envIsolated marks the run of the test binary inside the network
	// namespace that isolated starts.
	envIsolated = "DATASEV_WEBUI_ISOLATED"
	// envIP hands the inner run the ip binary isolated found.
	envIP = "DATASEV_WEBUI_IP"
)

// isolatedTimeout bounds the run inside the namespace: dev server, worker,
// incident, browser and every page. -test.timeout then makes a stuck run
// fail with its goroutines rather than hang CI.
const isolatedTimeout = 3 * time.Minute

// required reports whether a missing prerequisite must fail the test: in
// CI, or when asked.
func required() bool {
	return os.Getenv(EnvRequireBrowser) == "1" || os.Getenv("CI") == "true"
}

// isolated runs the calling test again, in a fresh copy of this test
// binary inside network and PID namespaces of its own: only a loopback
// interface, so nothing the dev server or Chromium starts can reach
// anything but 127.0.0.1 (Chromium probes IPv6 reachability on its own,
// with no switch to turn it off), and every process the run starts dies
// with it. It reports whether the caller is that inner run, which does the
// test's work; otherwise it has run it (relaying its output) and the
// caller returns.
//
// Namespaces take root. Without root, unshare, ip or Chromium the test
// fails in CI (CI=true or DATASEV_REQUIRE_BROWSER=1) and is skipped with
// the reason elsewhere.
func isolated(t *testing.T) (inside bool) {
	t.Helper()
	if os.Getenv(envIsolated) == "1" {
		loopbackOnly(t)
		return true
	}
	if testing.Short() {
		t.Skip("needs the dev server and Chromium (not with -short)")
	}
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if required() {
			t.Fatalf("%s (a failure, not a skip, with CI=true or %s=1)", msg, EnvRequireBrowser)
		}
		t.Skipf("%s; skipped outside CI (CI=true or %s=1 makes this a failure)", msg, EnvRequireBrowser)
	}
	chromium, err := findChromium()
	if err != nil {
		missing("%v", err)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		missing("the browser runs in a network namespace of its own: unshare not found (Debian package util-linux)")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		missing("the browser runs in a network namespace of its own: ip not found to bring its loopback up (Debian package iproute2)")
	}
	if uid := os.Geteuid(); uid != 0 {
		missing("the browser runs in a network namespace of its own (unshare --net), which takes root; running as uid %d", uid)
	}
	ns := []string{"--net", "--pid", "--fork", "--kill-child"}
	if out, err := exec.CommandContext(t.Context(), unshare, append(ns, ip, "link", "set", "lo", "up")...).CombinedOutput(); err != nil {
		missing("cannot make a network namespace (unshare %s): %v: %s", strings.Join(ns, " "), err, bytes.TrimSpace(out))
	}

	ctx, cancel := context.WithTimeout(t.Context(), isolatedTimeout+30*time.Second)
	defer cancel()
	// Outside the namespace: the first build of the pinned CLI needs the
	// module proxy. Inside, the run uses this binary as is.
	cli, err := devstack.EnsureCLI(ctx, &logWriter{t: t, prefix: "temporal CLI: "})
	if err != nil {
		t.Fatalf("pinned Temporal CLI: %v", err)
	}
	artifacts := os.Getenv(EnvArtifacts)
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatalf("%s=%s: %v", EnvArtifacts, artifacts, err)
	}
	for _, name := range screenshots { // none left from an earlier run
		if err := os.Remove(filepath.Join(artifacts, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("screenshot of an earlier run: %v", err)
		}
	}
	test := "^" + t.Name() + "$"
	cmd := exec.CommandContext(ctx, unshare, append(ns, "--", os.Args[0],
		"-test.run="+test, "-test.count=1", "-test.v", "-test.timeout="+isolatedTimeout.String())...)
	cmd.Env = append(os.Environ(),
		envIsolated+"=1",
		EnvArtifacts+"="+artifacts,
		EnvChromium+"="+chromium,
		envIP+"="+ip,
		devstack.EnvCLI+"="+cli,
	)
	out := &logWriter{t: t, prefix: "netns: "}
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(out, &tail)
	cmd.Stderr = cmd.Stdout
	// Killing unshare kills the run (--kill-child), and with it every
	// process in its PID namespace: the dev server, the worker, Chromium.
	// unshare dies when the context ends or this process does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 10 * time.Second
	t.Logf("running %s in its own network namespace (loopback only); screenshots go to %s", t.Name(), artifacts)
	err = cmd.Run()
	out.Flush()
	if err != nil {
		t.Fatalf("%s inside the network namespace: %v (its output is above)", t.Name(), err)
	}
	if !strings.Contains(tail.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("%s inside the network namespace did not report a pass (its output is above)", t.Name())
	}
	var shots []string
	for _, name := range screenshots {
		p := filepath.Join(artifacts, name)
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s missing or empty: %v", p, err)
			continue
		}
		shots = append(shots, p)
	}
	t.Logf("screenshots:\n  %s", strings.Join(shots, "\n  "))
	return false
}

// loopbackOnly brings the namespace's loopback up and fails the test unless
// it is the only interface: the run must not be able to reach anything
// else.
func loopbackOnly(t *testing.T) {
	t.Helper()
	ip := os.Getenv(envIP)
	if ip == "" {
		ip = "ip"
	}
	// The probe in isolated brought up the loopback of its own namespace,
	// not of this one.
	if out, err := exec.CommandContext(t.Context(), ip, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, bytes.TrimSpace(out))
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatalf("network interfaces: %v", err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			t.Fatalf("the network namespace has interface %s (%v) besides the loopback", i.Name, i.Flags)
		}
		if i.Flags&net.FlagUp == 0 {
			t.Fatalf("the loopback %s is down after ip link set lo up", i.Name)
		}
	}
}

// findChromium returns DATASEV_CHROMIUM or the first Chromium on PATH.
func findChromium() (string, error) {
	if exe := os.Getenv(EnvChromium); exe != "" {
		if _, err := os.Stat(exe); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvChromium, exe, err)
		}
		return exe, nil
	}
	names := []string{"chromium", "chromium-browser", "google-chrome"}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium on PATH (" + strings.Join(names, ", ") + "): apt-get install chromium, or set " + EnvChromium)
}

// logWriter logs each line written to it with t.Log: the inner run's
// output becomes the outer test's, indented, so `go test -json` still
// parses it.
type logWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.t.Log(w.prefix + string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// Flush logs what is left after the last newline.
func (w *logWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.t.Log(w.prefix + string(w.buf))
		w.buf = nil
	}
}

// tailBuffer keeps the last 64 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if n := len(b.buf) - 64<<10; n > 0 {
		b.buf = slices.Clone(b.buf[n:])
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
