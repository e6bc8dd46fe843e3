package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// devCommand is how the documentation runs this command.
const devCommand = "go run ./starter/dev"

// Every `go run ./starter/dev …` command line in a fenced code block of
// the README and docs/*.md parses with the dev binary's flags: a reader who
// pastes one gets no usage error.
func TestDocumentedCommandLines(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	found := 0
	for _, file := range files {
		lines, err := documentedCommandLines(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			found++
			if err := checkCommandLine(l.args); err != nil {
				t.Errorf("%s:%d: %s %s: %v", file, l.line, devCommand, strings.Join(l.args, " "), err)
			}
		}
	}
	if found == 0 {
		t.Fatalf("no %q command line in a fenced code block of %v", devCommand, files)
	}
	t.Logf("%d documented command lines parse", found)
}

// The check itself: a bad flag, a bad value, a stray argument or flags
// that cannot go together are usage errors.
func TestCheckCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{"--no-demo", "--port", "7243", "--state", "/tmp/x"}, {"bench", "--n", "300", "--dynamic-config", "a.b=1"},
		{"install-cli"}, {"help"}, {}, {"cluster", "--build-only"}, {"chaos", "--rounds", "2", "--workers", "3"},
		{"hold", "--incidents", "1000", "--workers", "1", "--address", "127.0.0.1:7233"}, {"cost", "--state", "/tmp/x"},
		{"storm", "--alerts", "10000", "--keys", "500", "--conns", "32", "--groups", "100"},
		{"hold", "--worker-env", "DATASEV_WORKER_WORKFLOW_POLLERS=8", "--worker-env", "DATASEV_WORKER_STICKY_TIMEOUT=30s"},
	} {
		if err := checkCommandLine(args); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
	for _, args := range [][]string{
		{"--frob"}, {"--port", "PORT"}, {"--port", "7233", "--ui-port", "7233"}, {"extra"},
		{"bench", "--n", "0"}, {"bench", "--address", "x:1", "--dynamic-config", "a=1"}, {"install-cli", "now"},
		{"cluster", "now"}, {"chaos", "--workers", "1"}, {"chaos", "--rounds", "-1"},
		{"hold", "--incidents", "0"}, {"hold", "--workers", "0"}, {"cost", "now"},
		{"storm", "--keys", "0"}, {"storm", "--storm-control", "drop"},
		{"hold", "--worker-env", "POLLERS"}, {"hold", "--worker-env", "DATASEV_TASK_QUEUE=x"},
	} {
		if err := checkCommandLine(args); err == nil {
			t.Errorf("%q: no usage error", args)
		}
	}
	for line, want := range map[string][]string{
		"go run ./starter/dev              # the demo":            {},
		"go run ./starter/dev --no-demo --state '/tmp/a b' && ls": {"--no-demo", "--state", "/tmp/a b"},
		"FOO=1 go run ./starter/dev [--port 7233] [--no-demo]":    {"--port", "7233", "--no-demo"},
		"go run ./starter/dev bench --n 200 | tee out.txt":        {"bench", "--n", "200"},
	} {
		args, ok := commandArgs(line)
		if !ok || strings.Join(args, "|") != strings.Join(want, "|") {
			t.Errorf("%q: args %q (found %v), want %q", line, args, ok, want)
		}
	}
	if _, ok := commandArgs("go run ./starter/dev/bench"); ok {
		t.Error("a package path under starter/dev counted as the command")
	}
}

// checkCommandLine parses args as run would, without running anything.
func checkCommandLine(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			return nil
		case "bench":
			fs, o := benchFlags(io.Discard)
			if err := parseFlags(fs, args[1:]); err != nil {
				return err
			}
			return o.check()
		case "install-cli":
			return parseFlags(installCLIFlags(io.Discard), args[1:])
		case "cluster":
			fs, _ := clusterFlags(io.Discard)
			return parseFlags(fs, args[1:])
		case "chaos":
			fs, o := chaosFlags(io.Discard)
			if err := parseFlags(fs, args[1:]); err != nil {
				return err
			}
			return o.check()
		case "hold":
			fs, o := holdFlags(io.Discard)
			if err := parseFlags(fs, args[1:]); err != nil {
				return err
			}
			return o.check()
		case "cost":
			fs, _ := costFlags(io.Discard)
			return parseFlags(fs, args[1:])
		case "storm":
			fs, o := stormFlags(io.Discard)
			if err := parseFlags(fs, args[1:]); err != nil {
				return err
			}
			return o.check()
		}
	}
	fs, o := stackFlags(io.Discard)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return o.check()
}

// commandLine is one documented command line.
type commandLine struct {
	line int
	args []string
}

// documentedCommandLines returns the dev command lines in file's fenced
// code blocks (``` or ~~~), a line ending in a backslash joined with the
// next.
func documentedCommandLines(file string) ([]commandLine, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out     []commandLine
		fence   string
		pending string
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence == "" {
			if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
				fence = trimmed[:3]
			}
			continue
		}
		if pending == "" && strings.HasPrefix(trimmed, fence) {
			fence = ""
			continue
		}
		if pending == "" {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += cont + " "
			continue
		}
		line, pending = pending+line, ""
		if args, ok := commandArgs(line); ok {
			out = append(out, commandLine{line: start, args: args})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// commandArgs returns the arguments after "go run ./starter/dev" in a shell
// line: shell words, up to a comment or an operator (&&, |, ;, >); a
// synopsis's brackets and ellipses are dropped. ok is false when the line
// does not run the command.
func commandArgs(line string) (args []string, ok bool) {
	for rest := line; ; {
		i := strings.Index(rest, devCommand)
		if i < 0 {
			return nil, false
		}
		rest = rest[i+len(devCommand):]
		if rest == "" || rest[0] == ' ' || rest[0] == '\t' {
			line = rest
			break
		}
	}
	args = []string{}
	for _, w := range shellWords(line) {
		if w.op {
			break
		}
		v := w.text
		if !w.quoted {
			v = strings.Trim(v, "[]")
			if v == "" || v == "..." || v == "…" {
				continue
			}
		}
		args = append(args, v)
	}
	return args, true
}

// word is a shell word; op marks a comment or an operator, where the
// command ends.
type word struct {
	text       string
	quoted, op bool
}

// shellWords splits a line into shell words: quotes (single and double)
// and backslash escapes are honoured, variables are not expanded.
func shellWords(line string) []word {
	var (
		out  []word
		cur  strings.Builder
		in   bool // inside a word
		q    bool // the word had quotes
		quot byte
	)
	flush := func() {
		if in {
			out = append(out, word{text: cur.String(), quoted: q})
		}
		cur.Reset()
		in, q = false, false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quot != 0:
			if c == quot {
				quot = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quot, in, q = c, true, true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			in = true
		case c == ' ' || c == '\t':
			flush()
		case !in && strings.IndexByte("#&|;<>", c) >= 0, in && strings.IndexByte("&|;<>", c) >= 0:
			flush()
			return append(out, word{text: line[i:], op: true})
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	flush()
	return out
}
