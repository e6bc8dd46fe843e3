package incidentdoc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/workflows"
)

// Environment variables read by ConfigFromEnv.
const (
	// EnvDir is the directory Markdown incident documents are written to
	// when no repository is configured.
	EnvDir = "DATASEV_INCIDENT_DOC_DIR"
	// EnvRepo is the GitHub repository (owner/name) whose issues hold the
	// incident documents; unset keeps them as Markdown files.
	EnvRepo = "DATASEV_INCIDENT_DOC_REPO"
)

// DefaultDir is where documents go when EnvDir is unset, relative to the
// worker's working directory.
const DefaultDir = ".datasev/incidents"

// Label is the label an incident document's issue is opened with (and
// searched by).
const Label = "incident"

// Error types of the non-retryable application errors Sync returns
// (besides the GitHub ones, see ghact.Classify).
const (
	// BadDirType: the document directory cannot be created or written.
	BadDirType = "IncidentDocBadDir"
	// BadReportType: the report has no incident ID.
	BadReportType = "IncidentDocBadReport"
	// RenderType: the template failed on the report.
	RenderType = "IncidentDocRender"
	// NotConfiguredType: a repository is set but no GitHub client.
	NotConfiguredType = "IncidentDocNotConfigured"
)

// Config says where incident documents are kept.
type Config struct {
	// Dir is the absolute directory of the Markdown documents (used when
	// Repo is empty).
	Dir string
	// Repo is the GitHub repository (owner/name) of the issues; empty
	// keeps Markdown files.
	Repo string
}

// ConfigFromEnv reads EnvDir (default DefaultDir, made absolute against
// the working directory) and EnvRepo (owner/name). The directory may not
// be the postmortems' (postmortem.EnvDir): both name files by incident.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	abs, err := postmortem.DirFromEnv(getenv, EnvDir, DefaultDir)
	if err != nil {
		return Config{}, err
	}
	if pm, err := postmortem.DirFromEnv(getenv, postmortem.EnvDir, postmortem.DefaultDir); err == nil && pm == abs {
		return Config{}, fmt.Errorf("%s=%q is the postmortem directory (%s); give the incident documents their own", EnvDir, getenv(EnvDir), postmortem.EnvDir)
	}
	repo, err := postmortem.RepoFromEnv(getenv, EnvRepo)
	if err != nil {
		return Config{}, err
	}
	return Config{Dir: abs, Repo: repo}, nil
}

// Activities keeps incident documents.
type Activities struct {
	cfg    Config
	gh     *ghact.Actions
	logger *slog.Logger
}

// New returns the activities for cfg. With cfg.Repo set, gh must be the
// worker's GitHub actions (ghact.New with a client); nil is an error.
// A nil logger means slog.Default().
func New(cfg Config, gh *ghact.Actions, logger *slog.Logger) (*Activities, error) {
	if cfg.Repo != "" && gh == nil {
		return nil, fmt.Errorf("%s=%s needs GitHub credentials: set %s (or %s) or the GitHub App variables %s, %s and %s",
			EnvRepo, cfg.Repo, ghact.EnvToken, ghact.EnvTokenFile, ghact.EnvAppID, ghact.EnvAppInstallationID, ghact.EnvAppPrivateKeyFile)
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Activities{cfg: cfg, gh: gh, logger: logger}, nil
}

// Register registers Sync under workflows.DocumentActivityName.
func Register(w worker.ActivityRegistry, a *Activities) {
	w.RegisterActivityWithOptions(a.Sync, activity.RegisterOptions{Name: workflows.DocumentActivityName})
}

// Marker is the hidden comment that identifies an incident's document
// issue: <!-- datasev:incident-document <name> -->, where name is
// postmortem.Name(key), the same injective name as the document's file
// (a key of plain characters is its own name; any other carries a hash of
// the whole key), so two incidents never share an issue.
func Marker(key string) string {
	return "<!-- datasev:incident-document " + postmortem.Name(key) + " -->"
}

// Sync writes r's incident document, replacing the whole of it with the
// current rendering, and says where it is. It is idempotent: an unchanged
// document is not written again, and a retry after a lost answer updates
// the document the first attempt created. With a repository the document
// is the issue carrying Marker(r.Key()) (a recurrence gets its own),
// labelled Label, closed (completed)
// once r is closed, its body kept under GitHub's limit (RenderMax); the URL
// is its html_url. Otherwise it is <Dir>/<postmortem.FileName(r.Key())>,
// written atomically, whole (postmortem.FileMode, in a directory created
// postmortem.DirMode); the URL is file://<path>.
func (a *Activities) Sync(ctx context.Context, r workflows.Report) (workflows.DocumentResult, error) {
	if strings.TrimSpace(r.ID) == "" {
		return workflows.DocumentResult{}, temporal.NewNonRetryableApplicationError("incident document: the report has no incident ID", BadReportType, nil)
	}
	if a.cfg.Repo != "" {
		return a.syncIssue(ctx, r)
	}
	return a.syncFile(ctx, r)
}

func (a *Activities) syncIssue(ctx context.Context, r workflows.Report) (workflows.DocumentResult, error) {
	if a.gh == nil {
		return workflows.DocumentResult{}, temporal.NewNonRetryableApplicationError(
			"incident document: "+EnvRepo+" is set but the worker has no GitHub client", NotConfiguredType, nil)
	}
	marker := Marker(r.Key())
	// The body, a blank line and the marker fit GitHub's limit.
	title, body, err := RenderMax(r, MaxIssueBody-2-utf8.RuneCountInString(marker))
	if err != nil {
		return workflows.DocumentResult{}, temporal.NewNonRetryableApplicationError(err.Error(), RenderType, err)
	}
	res, err := a.gh.UpsertIssue(ctx, ghact.UpsertIssueInput{
		Repo: a.cfg.Repo, Marker: marker, Title: title, Body: body, Labels: []string{Label},
		Closed: r.State == workflows.Closed, Number: issueNumber(r.Document, a.cfg.Repo),
	})
	if err != nil {
		// Returned as is: Temporal reads an application error's
		// retryability only when it is not wrapped. It names the
		// repository and what was asked.
		a.logger.Warn("incident document sync failed", "incident", r.ID, "repo", a.cfg.Repo, "error", err)
		return workflows.DocumentResult{}, err
	}
	attrs := []any{"incident", r.ID, "repo", a.cfg.Repo, "issue", res.Number, "url", res.URL, "state", r.State, "timeline", len(r.Timeline)}
	switch {
	case res.Created:
		a.logger.Info("incident document created", attrs...)
	case res.Updated:
		a.logger.Info("incident document updated", attrs...)
	default:
		a.logger.Debug("incident document unchanged", attrs...)
	}
	return workflows.DocumentResult{URL: res.URL}, nil
}

// issueNumber is the issue number in an earlier document URL
// (https://host/<repo>/issues/<n>) when it names an issue of repo, else 0.
func issueNumber(doc, repo string) int {
	u, err := url.Parse(doc)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return 0
	}
	p := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(p) < 4 || p[len(p)-2] != "issues" || !strings.EqualFold(p[len(p)-4]+"/"+p[len(p)-3], repo) {
		return 0
	}
	n, err := strconv.Atoi(p[len(p)-1])
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

func (a *Activities) syncFile(ctx context.Context, r workflows.Report) (workflows.DocumentResult, error) {
	_, body, err := Render(r)
	if err != nil {
		return workflows.DocumentResult{}, temporal.NewNonRetryableApplicationError(err.Error(), RenderType, err)
	}
	if err := ctx.Err(); err != nil {
		return workflows.DocumentResult{}, err
	}
	dir := a.cfg.Dir
	if err := os.MkdirAll(dir, postmortem.DirMode); err != nil {
		return workflows.DocumentResult{}, badDir(dir, "cannot create it", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return workflows.DocumentResult{}, badDir(dir, "cannot read it", err)
	} else if !fi.IsDir() {
		return workflows.DocumentResult{}, badDir(dir, "not a directory", nil)
	}
	path := filepath.Join(dir, postmortem.FileName(r.Key()))
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	doc := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
	content := []byte(body)
	attrs := []any{"incident", r.ID, "path", path, "state", r.State, "timeline", len(r.Timeline)}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		a.logger.Debug("incident document unchanged", attrs...)
		return workflows.DocumentResult{URL: doc}, nil
	}
	if err := writeFile(dir, path, content); err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			return workflows.DocumentResult{}, badDir(dir, "cannot write "+filepath.Base(path), err)
		}
		// A full disk or an I/O error may pass: retry.
		return workflows.DocumentResult{}, fmt.Errorf("incident document: write %s: %w", path, err)
	}
	a.logger.Info("incident document written", append(attrs, "bytes", len(content))...)
	return workflows.DocumentResult{URL: doc}, nil
}

func badDir(dir, what string, err error) error {
	msg := fmt.Sprintf("incident document directory %q (%s): %s", dir, EnvDir, what)
	if err != nil {
		msg += ": " + err.Error()
	}
	return temporal.NewNonRetryableApplicationError(msg, BadDirType, err)
}

// writeFile replaces path with content through a temporary file in dir
// renamed into place: readers see the old document or the new one.
func writeFile(dir, path string, content []byte) error {
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, postmortem.FileMode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
