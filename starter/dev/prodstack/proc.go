package prodstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one program of the topology, run in its own process group so
// that a fault kills exactly it (and whatever it started), and started again
// with the same command line and environment.
type Process struct {
	// Name names the process in log lines and errors ("history", "worker-1").
	Name string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Env is the complete environment (nothing is inherited).
	Env []string
	// Dir is the working directory.
	Dir string
	// Credential runs the process as another user (nil: this one).
	Credential *syscall.Credential
	// Log receives the process's stdout and stderr, each line prefixed
	// with its name.
	Log io.Writer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	starts  int
}

// Start starts the process. It fails if it is already running.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s: already running (pid %d)", p.Name, p.cmd.Process.Pid)
		}
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.Credential}
	out := p.Log
	if out == nil {
		out = io.Discard
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("%s: start %s: %w", p.Name, p.Path, err)
	}
	p.starts++
	prefix := fmt.Sprintf("[%s] ", p.Name)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(out, "%s%s\n", prefix, sc.Bytes())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		pw.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// PID is the running process's pid, or 0.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.exited() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process is running.
func (p *Process) Running() bool { return p.PID() != 0 }

// Starts counts how often the process was started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Exited is closed when the current run of the process ends (nil before
// the first start).
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Kill sends SIGKILL to the process group, as a crash would, and waits for
// the process to be gone. A process not running is left alone.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, 10*time.Second) }

// Stop asks the process to stop (SIGTERM), waits up to grace, then kills
// it. A process not running is left alone.
func (p *Process) Stop(grace time.Duration) error {
	if err := p.signal(syscall.SIGTERM, grace); err == nil {
		return nil
	}
	return p.Kill()
}

// signal signals the process group and waits up to wait for the process
// to exit.
func (p *Process) signal(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: %s: %w", p.Name, sig, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("%s: still running %s after %s", p.Name, wait, sig)
	}
}

// Wait waits for the current run to end or ctx to be done, and returns how
// it ended.
func (p *Process) Wait(ctx context.Context) error {
	done := p.Exited()
	if done == nil {
		return fmt.Errorf("%s: never started", p.Name)
	}
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.exitErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// environ renders a variable map as an environment, sorted for stable logs.
func environ(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for _, k := range sortedKeys(vars) {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// baseEnv is what every process gets besides its own variables: a PATH and
// the locale, never the caller's secrets.
func baseEnv() map[string]string {
	env := map[string]string{
		"PATH": "/usr/local/bin:/usr/bin:/bin",
		"LANG": "C.UTF-8",
	}
	if tz := os.Getenv("TZ"); tz != "" {
		env["TZ"] = tz
	}
	return env
}
