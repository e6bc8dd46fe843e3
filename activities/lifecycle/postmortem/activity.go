package postmortem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/lifecycle/jira"
	"github.com/datasev/datasev/workflows"
)

// EnvDir names the environment variable holding the directory postmortems
// are written to.
const EnvDir = "DATASEV_POSTMORTEM_DIR"

// DefaultDir is where postmortems go when EnvDir is unset, relative to the
// worker's working directory.
const DefaultDir = ".datasev/postmortems"

// Error types of the non-retryable application errors WritePostmortem
// returns.
const (
	// BadDirType: the postmortem directory cannot be created or written.
	BadDirType = "PostmortemBadDir"
	// BadReportType: the report has no incident ID.
	BadReportType = "PostmortemBadReport"
)

// Modes of what datasev writes: postmortems and incident documents hold
// an incident's whole record (alert text, people, decisions), readable by
// their owner and group, never by others.
const (
	// FileMode is the mode of every file written: 0640.
	FileMode os.FileMode = 0o640
	// DirMode is the mode of every directory created: 0750.
	DirMode os.FileMode = 0o750
)

// maxNameLen bounds a Name's length in bytes (the file name's before
// ".md"), well under the 255 bytes file systems allow with the temporary
// file's prefix and suffix.
const maxNameLen = 200

// Config is the activity's configuration.
type Config struct {
	// Dir is the absolute directory postmortems are written to.
	Dir string
	// IssuesRepo is the GitHub repository (owner/name) action items are
	// filed in (EnvIssuesRepo); empty files none.
	IssuesRepo string
	// Jira files action items in a Jira project instead (DATASEV_JIRA_*);
	// zero when unset.
	Jira jira.Config
}

// ConfigFromEnv reads EnvDir (default DefaultDir) and makes it absolute
// against the working directory, so a later change of directory does not
// move the postmortems. The directory is created when a postmortem is
// written.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	abs, err := DirFromEnv(getenv, EnvDir, DefaultDir)
	if err != nil {
		return Config{}, err
	}
	repo, err := RepoFromEnv(getenv, EnvIssuesRepo)
	if err != nil {
		return Config{}, err
	}
	jcfg, err := jira.ConfigFromEnv(getenv)
	if err != nil {
		return Config{}, err
	}
	if repo != "" && jcfg.Configured() {
		return Config{}, fmt.Errorf("action items go to one tracker: %s and %s are both set", EnvIssuesRepo, jira.EnvProject)
	}
	return Config{Dir: abs, IssuesRepo: repo, Jira: jcfg}, nil
}

// DirFromEnv reads the directory the variable name holds (def when unset)
// and makes it absolute against the working directory, so that a later
// change of directory does not move what is written there.
func DirFromEnv(getenv func(string) string, name, def string) (string, error) {
	dir := strings.TrimSpace(getenv(name))
	if dir == "" {
		dir = def
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", name, dir, err)
	}
	return abs, nil
}

// RepoFromEnv reads a GitHub repository, owner/name, from the variable
// name; "" when unset.
func RepoFromEnv(getenv func(string) string, name string) (string, error) {
	repo := strings.TrimSpace(getenv(name))
	if repo == "" {
		return "", nil
	}
	owner, rest, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || rest == "" || strings.Contains(rest, "/") || strings.ContainsAny(repo, " \t:@") {
		return "", fmt.Errorf("%s=%q: want owner/name, e.g. acme/incidents", name, repo)
	}
	return repo, nil
}

// Activities writes postmortems.
type Activities struct {
	// Dir is the directory postmortems are written to; empty means
	// DefaultDir.
	Dir string
	// Logger receives a line per postmortem written; nil means
	// slog.Default().
	Logger *slog.Logger
}

// New returns the activities for cfg.
func New(cfg Config, logger *slog.Logger) *Activities {
	return &Activities{Dir: cfg.Dir, Logger: logger}
}

// Register registers WritePostmortem under workflows.PostmortemActivityName.
func Register(w worker.ActivityRegistry, a *Activities) {
	w.RegisterActivityWithOptions(a.WritePostmortem, activity.RegisterOptions{Name: workflows.PostmortemActivityName})
}

// FileName is the file a report's postmortem (and, without a repository,
// its incident document) is written to: Name(key) and ".md".
func FileName(key string) string { return Name(key) + ".md" }

// nameHashLen is how many hex digits of the key's SHA-256 a lossy Name
// carries: 64 bits.
const nameHashLen = 16

// Name is a key (an incident ID, or Report.Key for a recurrence) as a file
// name and marker: readable and injective, so two keys never share a file
// or an issue.
//
// A key of lower-case letters, digits, '.', '_', '@' and single '-' (not
// starting with '.', at most maxNameLen bytes) is its own name, as before.
// Any other key is lossy as a name: its readable prefix (each run of other
// characters as one '_', cut to fit) is followed by '~' and a hash of the
// whole key. A plain name never holds '~', so the two kinds cannot meet;
// upper case counts as lossy, so names differing only in case (one file
// on macOS and Windows) differ in their hashes; no name holds "--", ':',
// '<', '>' or white space, so it sits unchanged in an HTML comment marker.
func Name(key string) string {
	var b strings.Builder
	lossy := key == "" || strings.HasPrefix(key, ".")
	gap := false
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '@':
			b.WriteRune(r)
			gap = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r)
			lossy, gap = true, false
		case r == '-':
			if s := b.String(); strings.HasSuffix(s, "-") {
				lossy = true
				continue
			}
			b.WriteRune(r)
			gap = false
		default:
			lossy = true
			if !gap {
				b.WriteByte('_')
				gap = true
			}
		}
	}
	name := b.String()
	if !lossy && len(name) <= maxNameLen {
		return name
	}
	name = strings.TrimLeft(name, ".")
	if room := maxNameLen - 1 - nameHashLen; len(name) > room {
		name = name[:room]
	}
	name = strings.TrimRight(name, "-")
	if name == "" {
		name = "incident"
	}
	sum := sha256.Sum256([]byte(key))
	return name + "~" + hex.EncodeToString(sum[:])[:nameHashLen]
}

// WritePostmortem renders r and writes it to <Dir>/<FileName(r.Key())>
// (a recurrence's file is named with its trigger time, beside the first's)
// atomically (a temporary file renamed into place), as FileMode in a
// directory it creates DirMode, and returns the path.
// A retry writes the same bytes; an unchanged file is left alone. A
// directory that cannot be created or written, or a report without an ID,
// is a non-retryable error naming what is wrong.
func (a *Activities) WritePostmortem(ctx context.Context, r workflows.Report) (string, error) {
	if strings.TrimSpace(r.ID) == "" {
		return "", temporal.NewNonRetryableApplicationError("postmortem: the report has no incident ID", BadReportType, nil)
	}
	dir := a.Dir
	if dir == "" {
		dir = DefaultDir
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return "", badDir(dir, "cannot create it", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return "", badDir(dir, "cannot read it", err)
	} else if !fi.IsDir() {
		return "", badDir(dir, "not a directory", nil)
	}
	path := filepath.Join(dir, FileName(r.Key()))
	content := []byte(Render(r))
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		a.logger().Info("postmortem unchanged", "incident", r.ID, "path", path)
		return path, nil
	}
	if err := writeAtomic(dir, path, content); err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			return "", badDir(dir, "cannot write "+filepath.Base(path), err)
		}
		// Anything else (a full disk, an I/O error) may pass: retry.
		return "", fmt.Errorf("postmortem: write %s: %w", path, err)
	}
	a.logger().Info("postmortem written", "incident", r.ID, "path", path, "bytes", len(content))
	return path, nil
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

func badDir(dir, what string, err error) error {
	msg := fmt.Sprintf("postmortem directory %q (%s): %s", dir, EnvDir, what)
	if err != nil {
		msg += ": " + err.Error()
	}
	return temporal.NewNonRetryableApplicationError(msg, BadDirType, err)
}

// writeAtomic writes content to a temporary file in dir and renames it to
// path, so readers see the old file or the new one, never a partial one.
func writeAtomic(dir, path string, content []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(content); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, FileMode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
