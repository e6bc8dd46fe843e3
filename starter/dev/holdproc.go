package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildWorker builds the worker binary (./worker, datasev-worker) into dir
// and returns its path; progress says so, since a cold build takes a
// minute.
func buildWorker(ctx context.Context, root, dir string, progress io.Writer) (string, error) {
	exe := filepath.Join(dir, "datasev-worker")
	fmt.Fprintf(progress, "building the worker binary (./worker) into %s…\n", dir)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, "./worker")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./worker: %w\n%s", err, holdTail(string(out), 2000))
	}
	return exe, nil
}

// holdTail is the end of s, at most n bytes.
func holdTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// holdNote is one notification the worker's log backend delivered: a
// line `"msg":"notification"` of its JSON log.
type holdNote struct {
	at                 time.Time // the log line's time
	kind, incident, to string
	subject            string
	worker             int // which worker process logged it (1, 2, …)
	// held marks a page the worker's pacing held for a digest (a line
	// "notification held for a digest"): it is delivered later, in a
	// digest, or on its own when alone in it.
	held bool
}

// holdWorker is a worker process started from the built binary, its JSON
// log on stderr read line by line: every notification is kept, every
// line written to logFile.
type holdWorker struct {
	n           int
	cmd         *exec.Cmd
	metricsAddr string
	started     time.Time
	done        chan struct{}
	waitErr     error

	mu     sync.Mutex
	notes  []holdNote
	lines  int
	lastAt time.Time // when the last log line arrived
}

// startHoldWorker starts exe with exactly env (plus PATH, HOME and TMPDIR
// from this process), its log appended to logFile.
func startHoldWorker(n int, exe string, env map[string]string, logFile io.Writer) (*holdWorker, error) {
	cmd := exec.Command(exe)
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Dir = filepath.Dir(exe)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logFile
	p := &holdWorker{n: n, cmd: cmd, metricsAddr: env["DATASEV_METRICS_ADDR"], done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("worker %d: start %s: %w", n, exe, err)
	}
	p.started = time.Now()
	var lw sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			line := sc.Bytes()
			lw.Lock()
			fmt.Fprintf(logFile, "worker-%d %s\n", n, line)
			lw.Unlock()
			p.take(line)
		}
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// take records one log line.
func (p *holdWorker) take(line []byte) {
	var l struct {
		Time     time.Time `json:"time"`
		Msg      string    `json:"msg"`
		Kind     string    `json:"kind"`
		Incident string    `json:"incident"`
		To       string    `json:"to"`
		Subject  string    `json:"subject"`
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines++
	p.lastAt = now
	if json.Unmarshal(line, &l) != nil || (l.Msg != "notification" && l.Msg != "notification held for a digest") {
		return
	}
	if l.Time.IsZero() {
		l.Time = now
	}
	p.notes = append(p.notes, holdNote{at: l.Time, kind: l.Kind, incident: l.Incident, to: l.To, subject: l.Subject, worker: p.n, held: l.Msg != "notification"})
}

// notifications returns a copy of the notifications logged so far.
func (p *holdWorker) notifications() []holdNote {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]holdNote(nil), p.notes...)
}

// quietSince is how long ago the last log line arrived (since start when
// none did).
func (p *holdWorker) quietSince() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastAt.IsZero() {
		return time.Since(p.started)
	}
	return time.Since(p.lastAt)
}

// running reports whether the process has not exited.
func (p *holdWorker) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM (the worker stops gracefully) and waits up to d,
// then kills it.
func (p *holdWorker) stop(d time.Duration) {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// pid is the process ID.
func (p *holdWorker) pid() int { return p.cmd.Process.Pid }

// rssBytes reads the process's resident set (VmRSS) and its peak (VmHWM)
// from /proc/<pid>/status.
func rssBytes(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("memory of process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		for _, f := range []struct {
			name string
			dst  *int64
		}{{"VmRSS:", &rss}, {"VmHWM:", &peak}} {
			if rest, ok := strings.CutPrefix(line, f.name); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("memory of process %d: %q: %w", pid, line, err)
				}
				*f.dst = kb * 1024
			}
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("memory of process %d: no VmRSS in /proc/%d/status", pid, pid)
	}
	return rss, peak, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// cpuTime reads the process's user plus system CPU time from
// /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time of process %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields counted from after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time of process %d: unreadable /proc/%d/stat", pid, pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time of process %d: short /proc/%d/stat", pid, pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("cpu time of process %d: %w", pid, err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// cpuPercent measures the process's CPU use over d, as a percentage of
// one core.
func cpuPercent(ctx context.Context, pid int, d time.Duration) (float64, error) {
	c0, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := sleepCtx(ctx, d); err != nil {
		return 0, err
	}
	c1, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	return 100 * float64(c1-c0) / float64(time.Since(t0)), nil
}

// loadAverage is the first three fields of /proc/loadavg, "" when
// unreadable.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// scrapeMetrics reads the worker's Prometheus endpoint and sums, per
// metric name, the samples whose name contains one of the substrings (of
// a histogram, its _count only).
func scrapeMetrics(ctx context.Context, addr string, substrings ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics at %s: %s", addr, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			name = line[:i]
			if j := strings.LastIndexByte(line, '}'); j > i {
				rest = strings.TrimSpace(line[j+1:])
			}
		}
		if strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") {
			continue
		}
		match := false
		for _, s := range substrings {
			if strings.Contains(name, s) {
				match = true
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest + " x")[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}
