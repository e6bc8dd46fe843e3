package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/datasev/datasev/worker/config"
)

// The docs tests keep the README and docs/ honest: every `datasev …` command
// they show in a shell block is one the CLI takes, every relative link leads
// somewhere, and the configuration page names every variable the code reads.

// docsMovedCommands are the dev-only commands that left the production CLI
// for `go run ./starter/dev`. An example showing them as `datasev …` is
// reported without being run: while the move is under way the CLI may
// still know them, and `dev` would start a whole dev stack.
var docsMovedCommands = []string{"dev", "bench", "install-cli"}

// docsFlagsOnly are the commands that run a server until stopped: their
// examples are checked with -h appended, which parses every flag written
// and then stops before anything starts.
var docsFlagsOnly = []string{"serve"}

// docsForced are the variables an example may not set: the CLI must reach
// no Temporal server and read no configuration or key of the machine's.
var docsForced = []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE", "HOME", "XDG_CONFIG_HOME"}

// TestDocsCommands runs every datasev command line of the documents through
// Run and fails on a usage error (exit 2: an unknown command or flag, a
// missing required flag), on a command that moved to ./starter/dev, and on
// an example that is not concrete (shell expansions, placeholders).
func TestDocsCommands(t *testing.T) {
	root := docsRepoRoot(t)
	var cmds []docCommand
	for _, f := range docsFiles(t, root) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, docCommands(f, string(data))...)
	}
	// A floor, so that a broken extractor cannot pass by finding nothing.
	if len(cmds) < 20 {
		t.Fatalf("found %d datasev command lines in the documents; the extractor is broken or the examples are gone", len(cmds))
	}
	r := newDocsRunner(t, root)
	for _, c := range cmds {
		t.Run(fmt.Sprintf("%s:%d", c.file, c.line), func(t *testing.T) {
			if err := r.check(c); err != nil {
				t.Error(err)
			}
		})
	}
	t.Logf("checked %d datasev command lines", len(cmds))
}

// TestDocsCommandsCatchMistakes proves the checker fails: each wrong example
// is reported, and right ones pass.
func TestDocsCommandsCatchMistakes(t *testing.T) {
	root := docsRepoRoot(t)
	r := newDocsRunner(t, root)
	doc := "# Example\n\n" +
		"```sh\n" +
		"datasev list --frobnicate                 # 1: unknown flag\n" +
		"datasev frobnicate orders-load            # 2: unknown command\n" +
		"datasev ack orders-load                   # 3: --by missing\n" +
		"datasev dev --no-demo                     # 4: moved to go run ./starter/dev\n" +
		"datasev show \"$INCIDENT\"                  # 5: a shell expansion\n" +
		"datasev show ID                           # 6: a placeholder\n" +
		"datasev serve --adress 0.0.0.0:8080       # 7: a server's unknown flag\n" +
		"```\n\n" +
		"```console\n" +
		"$ datasev list --severity SEV2 \\\n" +
		"    --frobnicate                           \n" +
		"datasev: this output line is not a command\n" +
		"```\n\n" +
		"```sh\n" +
		"datasev list --severity SEV2              # right: exit 1, nothing listens\n" +
		"DATASEV_LOG_LEVEL=debug go run ./starter runbooks list\n" +
		"datasev serve --addr 127.0.0.1:0\n" +
		"go run ./starter/dev bench --n 10         # not the production CLI: not run\n" +
		"```\n\n" +
		"```yaml\n" +
		"datasev frobnicate: yaml is not run\n" +
		"```\n"
	cmds := docCommands("example.md", doc)
	// By line in doc: what the report of each wrong example must say.
	wrong := map[int]string{
		4:  "flag provided but not defined: -frobnicate",
		5:  `unknown command "frobnicate"`,
		6:  "--by required",
		7:  "dev is dev-only tooling now: write `go run ./starter/dev …`",
		8:  "shell expansion",
		9:  "placeholder",
		10: "flag provided but not defined: -adress",
		14: "flag provided but not defined: -frobnicate",
	}
	right := []int{20, 21, 22}
	var got []int
	for _, c := range cmds {
		got = append(got, c.line)
		err := r.check(c)
		switch want, isWrong := wrong[c.line]; {
		case isWrong && err == nil:
			t.Errorf("line %d (%s): the wrong example passed", c.line, c.text)
		case isWrong && !strings.Contains(err.Error(), want):
			t.Errorf("line %d: the report does not say %q:\n%v", c.line, want, err)
		case !isWrong && err != nil:
			t.Errorf("line %d (%s): a right example failed: %v", c.line, c.text, err)
		}
	}
	// The extractor found exactly the command lines: none in yaml, none in
	// console output, none for other programs.
	want := append([]int{4, 5, 6, 7, 8, 9, 10, 14}, right...)
	if !slices.Equal(got, want) {
		t.Errorf("command lines found on lines %v, want %v", got, want)
	}
}

// TestDocsLinks checks that every relative link of the documents leads to
// a file or directory of the repository, and that a #fragment names a
// heading of the Markdown file it points at.
func TestDocsLinks(t *testing.T) {
	root := docsRepoRoot(t)
	files := docsFiles(t, root)
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range docLinks(string(data)) {
			n++
			if err := checkDocLink(root, f, l.target); err != nil {
				t.Errorf("%s:%d: link %q: %v", f, l.line, l.target, err)
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d relative links in the documents; the extractor is broken", n)
	}
	// The check can fail: a made-up file and a made-up heading are caught.
	for _, bad := range []string{"docs/no-such-page.md", "docs/incidents.md#no-such-heading", "#no-such-heading"} {
		if err := checkDocLink(root, "README.md", bad); err == nil {
			t.Errorf("link %q from README.md passed the check", bad)
		}
	}
	if err := checkDocLink(root, "docs/quickstart.md", "../../outside.md"); err == nil {
		t.Error("a link out of the repository passed the check")
	}
}

// TestDocsConfigurationNamesEveryVariable: docs/configuration.md names every
// variable of config.Known, the list the code is checked against.
func TestDocsConfigurationNamesEveryVariable(t *testing.T) {
	root := docsRepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	for _, name := range append(slices.Clone(config.Known), config.EnvConfig) {
		if !docsNames(page, name) {
			t.Errorf("docs/configuration.md does not name %s (worker/config/known.go lists it)", name)
		}
	}
	// A name the page does not hold is reported.
	if docsNames(page, "DATASEV_NO_SUCH_THING") || docsNames("`DATASEV_SNOWFLAKE_PASSWORD_FILE`", "DATASEV_SNOWFLAKE_PASSWORD") {
		t.Error("docsNames finds names that are not there")
	}
}

// docsNames says whether page names the variable: as a whole word, or, for
// a prefix ending in "_" (DATASEV_EMAIL_LEADERSHIP_), as the start of one.
func docsNames(page, name string) bool {
	pattern := `(^|[^A-Z0-9_])` + regexp.QuoteMeta(name)
	if !strings.HasSuffix(name, "_") {
		pattern += `($|[^A-Z0-9_])`
	}
	return regexp.MustCompile(pattern).MatchString(page)
}

// docsRepoRoot is the repository root, two levels above this package.
func docsRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root %s: %v", root, err)
	}
	return root
}

// docsFiles lists the documents, relative to root: README.md, SECURITY.md
// and docs/*.md.
func docsFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md", "SECURITY.md"}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatalf("no docs/*.md under %s", root)
	}
	for _, p := range pages {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	return files
}

// docBlock is a fenced code block: its info string's first word and its
// lines, each with its line number in the file.
type docBlock struct {
	info  string
	lines []docLine
}

type docLine struct {
	n    int
	text string
}

// docBlocks returns the fenced code blocks of a Markdown document, and the
// lines outside them.
func docBlocks(doc string) (blocks []docBlock, prose []docLine) {
	var cur *docBlock
	var fence string
	for i, line := range strings.Split(doc, "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if cur == nil {
			if f := docFence(trimmed); f != "" {
				info, _, _ := strings.Cut(strings.TrimSpace(trimmed[len(f):]), " ")
				cur, fence = &docBlock{info: info}, f
				continue
			}
			prose = append(prose, docLine{n, line})
			continue
		}
		if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.lines = append(cur.lines, docLine{n, line})
	}
	if cur != nil {
		blocks = append(blocks, *cur)
	}
	return blocks, prose
}

// docFence returns the fence a line opens (``` or ~~~, or longer), or "".
func docFence(trimmed string) string {
	for _, c := range []string{"`", "~"} {
		n := len(trimmed) - len(strings.TrimLeft(trimmed, c))
		if n >= 3 {
			return strings.Repeat(c, n)
		}
	}
	return ""
}

// docShellInfo are the info strings of blocks whose lines are commands.
var docShellInfo = []string{"", "sh", "bash", "shell", "console", "zsh"}

// docCommand is one datasev command line of a document.
type docCommand struct {
	file string
	line int
	// text is the line as written (continuations joined).
	text string
	// env holds the VAR=value assignments before the command.
	env map[string]string
	// args are the CLI's arguments, after `datasev` or `go run ./starter`.
	args []string
	// problem, when set, is why the line cannot be run as written.
	problem string
}

// docCommands returns the datasev command lines of the shell blocks of a
// document: lines that run `datasev`, `./datasev` or `go run ./starter`,
// after VAR=value assignments or `docker compose exec|run … SERVICE`. In a
// block that shows prompts ("$ "), only the prompted lines are commands.
func docCommands(file, doc string) []docCommand {
	blocks, _ := docBlocks(doc)
	var cmds []docCommand
	for _, b := range blocks {
		if !slices.Contains(docShellInfo, b.info) {
			continue
		}
		prompted := slices.ContainsFunc(b.lines, func(l docLine) bool {
			return strings.HasPrefix(strings.TrimSpace(l.text), "$ ")
		})
		for i := 0; i < len(b.lines); i++ {
			start := b.lines[i].n
			text := strings.TrimSpace(b.lines[i].text)
			if prompted {
				var ok bool
				if text, ok = strings.CutPrefix(text, "$ "); !ok {
					continue
				}
			}
			for strings.HasSuffix(text, `\`) && i+1 < len(b.lines) {
				i++
				text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(b.lines[i].text)
			}
			if c, ok := docParseCommand(file, start, text); ok {
				cmds = append(cmds, c)
			}
		}
	}
	return cmds
}

// docPlaceholder matches words that stand for something to fill in: ID,
// FILE, P, <name>, [DIR], … .
var docPlaceholder = regexp.MustCompile(`^[A-Z][A-Z_]*$|^<.*>$|^\[.*\]$|…|\.\.\.`)

// docParseCommand reads one shell line; ok is false when it runs no
// datasev command.
func docParseCommand(file string, line int, text string) (c docCommand, ok bool) {
	words, err := shellWords(text)
	c = docCommand{file: file, line: line, text: text, env: map[string]string{}}
	i := 0
	for ; i < len(words); i++ {
		k, v, isAssign := strings.Cut(words[i].text, "=")
		if !isAssign || !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
			break
		}
		c.env[k] = v
	}
	rest := words[i:]
	if len(rest) > 1 && rest[0].text == "docker" {
		j := slices.IndexFunc(rest, func(w shellWord) bool { return w.text == "datasev" })
		if j < 0 {
			return c, false
		}
		rest = rest[j:]
	}
	switch {
	case len(rest) >= 1 && (rest[0].text == "datasev" || rest[0].text == "./datasev"):
		rest = rest[1:]
	case len(rest) >= 3 && rest[0].text == "go" && rest[1].text == "run" && rest[2].text == "./starter":
		rest = rest[3:]
	default:
		return c, false
	}
	if err != nil {
		c.problem = fmt.Sprintf("cannot read it as a shell line: %v", err)
		return c, true
	}
	for _, w := range rest {
		switch {
		case w.expands:
			c.problem = fmt.Sprintf("%q needs a shell expansion ($VAR, $(…), `…`); write the example concretely", w.text)
		case docPlaceholder.MatchString(w.text):
			c.problem = fmt.Sprintf("%q looks like a placeholder; write the example concretely", w.text)
		}
		c.args = append(c.args, w.text)
	}
	return c, true
}

// shellWord is a word of a shell line, quotes removed; expands says it
// holds an unquoted or double-quoted $ or backquote.
type shellWord struct {
	text    string
	expands bool
}

// shellWords splits a line into words as a POSIX shell would for a simple
// command: quotes and backslashes, a # comment, and the end of the command
// at a |, ;, &, < or >. It returns the words read before an error.
func shellWords(line string) ([]shellWord, error) {
	var (
		words   []shellWord
		cur     strings.Builder
		inWord  bool
		expands bool
	)
	flush := func() {
		if inWord {
			words = append(words, shellWord{cur.String(), expands})
		}
		cur.Reset()
		inWord, expands = false, false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			return words, nil
		case strings.IndexByte("|;&<>", c) >= 0:
			flush()
			return words, nil
		case c == '\\':
			inWord = true
			if i+1 < len(line) {
				i++
				cur.WriteByte(line[i])
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return words, errors.New("unterminated ' quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			closed := false
			for i++; i < len(line); i++ {
				d := line[i]
				if d == '"' {
					closed = true
					break
				}
				if d == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
					cur.WriteByte(line[i])
					continue
				}
				if d == '$' || d == '`' {
					expands = true
				}
				cur.WriteByte(d)
			}
			if !closed {
				return words, errors.New(`unterminated " quote`)
			}
		case c == '$' || c == '`':
			inWord, expands = true, true
			cur.WriteByte(c)
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	flush()
	return words, nil
}

// docsRunner runs documented commands through Run, hermetically: in a
// scratch working directory that sees the repository's runbooks/ and
// worker/ (so relative paths in examples resolve and files they write land
// in the scratch directory), against a Temporal address nothing listens on.
type docsRunner struct {
	base map[string]string
}

func newDocsRunner(t *testing.T, root string) *docsRunner {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"runbooks", "worker"} {
		if err := os.Symlink(filepath.Join(root, d), filepath.Join(dir, d)); err != nil {
			t.Logf("examples reading %s/ will not find it: %v", d, err)
		}
	}
	t.Chdir(dir)
	return &docsRunner{base: map[string]string{
		"TEMPORAL_ADDRESS":     docsClosedAddr(t),
		"TEMPORAL_NAMESPACE":   "default",
		"TEMPORAL_CONFIG_FILE": filepath.Join(dir, "no-temporal-config.toml"),
		"TEMPORAL_PROFILE":     "",
		"HOME":                 filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME":      filepath.Join(dir, "config"),
	}}
}

// docsClosedAddr returns a 127.0.0.1 address nothing listens on.
func docsClosedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// check runs one command and says what is wrong with it, or nil.
func (r *docsRunner) check(c docCommand) error {
	where := fmt.Sprintf("%s:%d: `%s`", c.file, c.line, c.text)
	if c.problem != "" {
		return fmt.Errorf("%s: %s", where, c.problem)
	}
	args := c.args
	cmd := docsCommandName(args)
	if slices.Contains(docsMovedCommands, cmd) {
		moved := "go run ./starter/dev " + cmd + " …"
		if cmd == "dev" {
			moved = "go run ./starter/dev …"
		}
		return fmt.Errorf("%s: %s is dev-only tooling now: write `%s`", where, cmd, moved)
	}
	if slices.Contains(docsFlagsOnly, cmd) {
		args = append(slices.Clone(args), "-h")
	}
	env := map[string]string{}
	for k, v := range c.env {
		env[k] = v
	}
	for _, k := range docsForced {
		env[k] = r.base[k]
	}
	getenv := func(k string) string { return env[k] }
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := Run(ctx, args, getenv, &out, &errb)
	if code == exitUsage {
		return fmt.Errorf("%s: exit 2, a usage error:\n%s", where, errb.String())
	}
	return nil
}

// docsCommandName is the command args run, after a leading --config FILE.
func docsCommandName(args []string) string {
	for len(args) > 0 {
		switch {
		case args[0] == "--config" || args[0] == "-config":
			args = args[min(2, len(args)):]
		case strings.HasPrefix(args[0], "--config="):
			args = args[1:]
		default:
			return args[0]
		}
	}
	return ""
}

// docLink is a Markdown link's target and its line.
type docLink struct {
	line   int
	target string
}

var (
	docCodeSpan  = regexp.MustCompile("`+[^`]*`+")
	docLinkRE    = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	docURLScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// docLinks returns the relative link targets outside code: inline links
// and images, without URLs that name a scheme (https:, mailto:).
func docLinks(doc string) []docLink {
	_, prose := docBlocks(doc)
	var links []docLink
	for _, l := range prose {
		text := docCodeSpan.ReplaceAllString(l.text, "")
		for _, m := range docLinkRE.FindAllStringSubmatch(text, -1) {
			if docURLScheme.MatchString(m[1]) {
				continue
			}
			links = append(links, docLink{l.n, m[1]})
		}
	}
	return links
}

// checkDocLink checks a relative link of file (relative to root): its path
// exists inside the repository, and its #fragment, if any, is a heading of
// the Markdown file it leads to.
func checkDocLink(root, file, target string) error {
	path, frag, _ := strings.Cut(target, "#")
	dest := filepath.Join(root, filepath.FromSlash(file))
	if path != "" {
		dest = filepath.Join(filepath.Dir(dest), filepath.FromSlash(path))
		rel, err := filepath.Rel(root, dest)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("leads out of the repository")
		}
		if _, err := os.Stat(dest); err != nil {
			return fmt.Errorf("no such file: %s", filepath.ToSlash(rel))
		}
	}
	if frag == "" {
		return nil
	}
	if !strings.HasSuffix(dest, ".md") {
		return nil
	}
	data, err := os.ReadFile(dest)
	if err != nil {
		return err
	}
	anchors := docAnchors(string(data))
	if !slices.Contains(anchors, frag) {
		return fmt.Errorf("no heading #%s in %s (there are: %s)", frag, filepath.Base(dest), strings.Join(anchors, ", "))
	}
	return nil
}

var (
	docHeading    = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	docInlineLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// docAnchors returns the anchors of a Markdown document's headings, as
// GitHub makes them: the text without markup, lower case, without
// punctuation, spaces as hyphens; a repeated one gets -1, -2, … .
func docAnchors(doc string) []string {
	_, prose := docBlocks(doc)
	seen := map[string]int{}
	var anchors []string
	for _, l := range prose {
		m := docHeading.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		text := docInlineLink.ReplaceAllString(m[1], "$1")
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_' || r == '-':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			seen[a]++
			a = fmt.Sprintf("%s-%d", a, n)
		} else {
			seen[a] = 1
		}
		anchors = append(anchors, a)
	}
	return anchors
}
