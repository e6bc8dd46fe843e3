package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/worker/codec"
	"github.com/datasev/datasev/workflows/oncall"
)

func TestSampleRoster(t *testing.T) {
	r, err := oncall.Load(filepath.Join("..", "..", "runbooks", "roster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Team != "data-platform" || r.TimeZone != "Europe/Berlin" {
		t.Errorf("team %q in %q", r.Team, r.TimeZone)
	}
	if n := len(r.People); n < 6 || n > 8 {
		t.Errorf("%d people, want 6–8", n)
	}
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at    time.Time
		shift string
	}{
		{time.Date(2026, 3, 10, 8, 0, 0, 0, loc), "day"},
		{time.Date(2026, 3, 10, 19, 59, 0, 0, loc), "day"},
		{time.Date(2026, 3, 10, 20, 0, 0, 0, loc), "night"},
		{time.Date(2026, 3, 11, 3, 0, 0, 0, loc), "night"},
	} {
		d, err := r.At(tc.at, loc)
		if err != nil {
			t.Fatal(err)
		}
		if d.Shift.Name != tc.shift {
			t.Errorf("%s: %s shift, want %s", tc.at, d.Shift.Name, tc.shift)
		}
		s := d.Shift
		if s.Commander == "" || s.Secondary == "" || s.Scribe == "" || s.Liaison == "" || len(s.SMEs) == 0 {
			t.Errorf("%s shift lacks a role: %+v", s.Name, s)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	fs := newFlagSet(&env{stderr: &bytes.Buffer{}}, "ack", "")
	by := fs.String("by", "", "")
	sig := fs.Bool("signal", false, "")
	pos, err := parse(fs, []string{"--by", "alice", "orders-load", "--signal"})
	if err != nil {
		t.Fatal(err)
	}
	if *by != "alice" || !*sig || len(pos) != 1 || pos[0] != "orders-load" {
		t.Errorf("by=%q signal=%v pos=%q", *by, *sig, pos)
	}
	fs = newFlagSet(&env{stderr: &bytes.Buffer{}}, "ack", "")
	by = fs.String("by", "", "")
	pos, err = parse(fs, []string{"orders-load", "--by", "bob"})
	if err != nil || *by != "bob" || len(pos) != 1 {
		t.Errorf("ID first: by=%q pos=%q err=%v", *by, pos, err)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestExitCodes(t *testing.T) {
	addr := closedPort(t)
	roster := filepath.Join("..", "..", "runbooks", "roster.yaml")
	envs := map[string]string{"TEMPORAL_ADDRESS": addr, EnvRoster: roster, "TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml")}
	getenv := func(k string) string { return envs[k] }
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{name: "no args", args: nil, code: 2, stderr: "Usage: datasev [--config FILE] COMMAND"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "request-approval"},
		{name: "help for a command", args: []string{"help", "sev"}, code: 0, stderr: "-severity"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{name: "dev lives in its own binary", args: []string{"dev", "--no-demo"}, code: 2, stderr: "dev is not in the datasev binary; in the repository, run `go run ./starter/dev`\n"},
		{name: "bench lives in the dev binary", args: []string{"bench"}, code: 2, stderr: "`go run ./starter/dev bench`"},
		{name: "install-cli lives in the dev binary", args: []string{"install-cli"}, code: 2, stderr: "`go run ./starter/dev install-cli`"},
		{name: "act without ID", args: []string{"ack", "--by", "alice"}, code: 2, stderr: "want one incident ID"},
		{name: "act without by", args: []string{"ack", "k"}, code: 2, stderr: "--by required"},
		{name: "bad flag", args: []string{"ack", "k", "--by", "alice", "--frob"}, code: 2, stderr: "flag provided but not defined: -frob"},
		{name: "bad severity", args: []string{"sev", "k", "--by", "alice", "--severity", "SEV9"}, code: 2, stderr: `severity "SEV9"`},
		{name: "role without person", args: []string{"role", "k", "--by", "alice", "--role", "scribe"}, code: 2, stderr: "--role and --person required"},
		{name: "declare without title and key", args: []string{"declare"}, code: 2, stderr: "--title and --key required"},
		{name: "declare with bad label", args: []string{"declare", "--title", "t", "--key", "k", "--label", "novalue"}, code: 2, stderr: "want key=value"},
		{name: "declare with an invalid alert", args: []string{"declare", "--title", "t", "--key", "has space"}, code: 1, stderr: "invalid alert: dedupe_key: whitespace"},
		{name: "declare with a key that takes another workflow's ID", args: []string{"declare", "--title", "t", "--key", "k/runbook"}, code: 1, stderr: `invalid alert: dedupe_key: "/" at byte 1 is not allowed`},
		{name: "declare with an oversized label", args: []string{"declare", "--title", "t", "--key", "k", "--label", "x=" + strings.Repeat("v", 1025)}, code: 1, stderr: `labels["x"]: value of 1025 bytes, at most 1024`},
		{name: "declare by a stranger", args: []string{"declare", "--title", "t", "--key", "k", "--by", "mallory"}, code: 1, stderr: `--by "mallory" is not on the data-platform roster`},
		{name: "list with a bad status", args: []string{"list", "--status", "asleep"}, code: 2, stderr: `status "asleep"`},
		{name: "server unreachable", args: []string{"ack", "k", "--by", "alice"}, code: 1, stderr: "cannot reach Temporal at " + addr},
		{name: "declare, server unreachable", args: []string{"declare", "--title", "t", "--key", "k"}, code: 1, stderr: "cannot reach Temporal at " + addr},
		{name: "missing roster", args: []string{"declare", "--title", "t", "--key", "k", "--roster", "/nonexistent/roster.yaml"}, code: 1, stderr: "read roster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code := Run(ctx, tt.args, getenv, &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errb.String())
			}
			if tt.stderr != "" && !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr misses %q:\n%s", tt.stderr, errb.String())
			}
			if tt.stdout != "" && !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("stdout misses %q:\n%s", tt.stdout, out.String())
			}
		})
	}
}

// codec-key prints a line the keyring accepts, with the ID asked for.
func TestCodecKey(t *testing.T) {
	code, out, errs := runCLI(t, nil, "codec-key", "--id", "k1")
	if code != 0 {
		t.Fatalf("codec-key: exit %d: %s", code, errs)
	}
	line := strings.TrimSpace(out)
	if !strings.HasPrefix(line, "k1:") {
		t.Fatalf("codec-key printed %q, want k1:<key>", line)
	}
	file := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, on, err := codec.KeyringFromEnv(func(name string) string {
		if name == "DATASEV_CODEC_KEYS_FILE" {
			return file
		}
		return ""
	})
	if err != nil || !on || k.Active() != "k1" {
		t.Fatalf("keyring from the printed line: %v, on %v, active %v", err, on, k)
	}
	if code, _, _ := runCLI(t, nil, "codec-key", "extra"); code != 2 {
		t.Errorf("codec-key with an argument: exit %d, want 2", code)
	}
}

// The closure-input commands need their text before they dial anything.
func TestClosureCommandsNeedText(t *testing.T) {
	for _, cmd := range []string{"root-cause", "factor", "action-item"} {
		code, _, errs := runCLI(t, nil, cmd, "orders-load", "--by", "alice")
		if code != 2 || !strings.Contains(errs, cmd+": --text required") {
			t.Errorf("%s without --text: exit %d, %q", cmd, code, errs)
		}
	}
	if code, _, errs := runCLI(t, nil, "root-cause", "orders-load", "--by", "alice", "--owner", "bob", "--text", "x"); code != 2 || !strings.Contains(errs, "owner") {
		t.Errorf("root-cause --owner: exit %d, %q; want a usage error (only action items have owners)", code, errs)
	}
}
