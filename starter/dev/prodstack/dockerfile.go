package prodstack

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Image is what worker/Dockerfile says about the datasev image: the
// commands that build its binaries and how the image runs them.
type Image struct {
	// BuildEnv is the build stage's ENV (CGO_ENABLED=0).
	BuildEnv map[string]string
	// Builds are the build stage's `go build` commands, in order, each as
	// its argument list after "go" (["build", "-trimpath", …, "-o",
	// "/out/datasev-worker", "./worker"]).
	Builds [][]string
	// Env is the final stage's ENV (HOME, XDG_CACHE_HOME, DATASEV_ROSTER).
	Env map[string]string
	// UID and GID are the final stage's USER.
	UID, GID int
	// WorkDir is the final stage's WORKDIR.
	WorkDir string
}

// ReadImage reads the Dockerfile at path. It understands what that file
// uses: FROM stages, ENV k=v lists, RUN with continuation lines and &&,
// USER uid:gid and WORKDIR.
func ReadImage(path string) (Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Image{}, fmt.Errorf("read the Dockerfile: %w", err)
	}
	img := Image{BuildEnv: map[string]string{}, Env: map[string]string{}}
	stage := 0
	for n, line := range dockerLines(b) {
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			stage++
			img.Env = map[string]string{}
		case "ENV":
			env := img.Env
			if stage == 1 {
				env = img.BuildEnv
			}
			words, err := shellWords(rest)
			if err != nil {
				return Image{}, fmt.Errorf("%s: instruction %d (ENV): %w", path, n+1, err)
			}
			for _, w := range words {
				k, v, ok := strings.Cut(w, "=")
				if !ok {
					return Image{}, fmt.Errorf("%s: instruction %d: ENV %q is not k=v", path, n+1, w)
				}
				env[k] = v
			}
		case "RUN":
			if stage != 1 {
				continue
			}
			for _, part := range strings.Split(rest, "&&") {
				words, err := shellWords(part)
				if err != nil {
					return Image{}, fmt.Errorf("%s: instruction %d (RUN): %w", path, n+1, err)
				}
				for len(words) > 0 && strings.HasPrefix(words[0], "--mount=") {
					words = words[1:]
				}
				if len(words) >= 2 && words[0] == "go" && words[1] == "build" {
					img.Builds = append(img.Builds, words[1:])
				}
			}
		case "USER":
			u, g, _ := strings.Cut(rest, ":")
			if img.UID, err = strconv.Atoi(u); err != nil {
				return Image{}, fmt.Errorf("%s: USER %q: want a numeric uid:gid", path, rest)
			}
			if img.GID, err = strconv.Atoi(g); err != nil {
				return Image{}, fmt.Errorf("%s: USER %q: want a numeric uid:gid", path, rest)
			}
		case "WORKDIR":
			img.WorkDir = rest
		}
	}
	if len(img.Builds) == 0 {
		return Image{}, fmt.Errorf("%s: no `go build` in the build stage", path)
	}
	if img.UID == 0 {
		return Image{}, fmt.Errorf("%s: the image runs as root (no USER uid:gid)", path)
	}
	return img, nil
}

// dockerLines returns the Dockerfile's instructions: comments dropped,
// continuation lines joined.
func dockerLines(b []byte) []string {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	return out
}

// shellWords splits s into words the way sh would for the plain forms the
// Dockerfile uses: blanks separate, double or single quotes group.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// BuildImageBinaries runs the image's `go build` commands in the repository
// root with the build stage's environment, writing each output (the image's
// /out/NAME) to dir/NAME, and returns NAME → path. This is the image's
// build without Docker: the same commands, flags and environment.
func BuildImageBinaries(ctx context.Context, root, dir string, img Image, progress io.Writer) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, b := range img.Builds {
		args := append([]string(nil), b...)
		name := ""
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-o" {
				name = filepath.Base(args[i+1])
				args[i+1] = filepath.Join(dir, name)
			}
		}
		if name == "" {
			return nil, fmt.Errorf("go %s: no -o output", strings.Join(b, " "))
		}
		start := time.Now()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = os.Environ()
		for k, v := range img.BuildEnv {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if o, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(b, " "), err, o)
		}
		fmt.Fprintf(progress, "built %s as the image does (go %s) in %s\n", name, strings.Join(b, " "), time.Since(start).Round(time.Millisecond))
		out[name] = filepath.Join(dir, name)
	}
	return out, nil
}
