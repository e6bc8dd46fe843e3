// Package ghact holds the GitHub runbook actions: github.recent_commits
// finds and ranks the commits that touched the files behind an incident,
// github.revert_commit reverts one through a pull request (pure REST, no
// local git), github.merge_pull_request merges a pull request,
// github.comment and github.create_issue write to issues and pull requests.
//
// Each action is a spec (RecentCommitsSpec, RevertCommitSpec, …), an input
// struct and a method of Actions with the signature actions.Typed takes.
// The actions package registers them; this package does not import it. The
// client is go-github's, built once by the worker with NewClient from a
// Config (ConfigFromEnv): a token or a GitHub App installation, read from
// the environment or files, never from runbook inputs.
//
// Errors are typed (see Classify): bad credentials, refused access, 404 and
// 422 answers are non-retryable application errors that name what was
// asked; rate limits are retryable with NextRetryDelay set to the reset or
// Retry-After time; 5xx and network errors are retryable.
package ghact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/retryafter"
	"github.com/datasev/datasev/activities/support/secret"
	"github.com/datasev/datasev/activities/support/target"
)

// Environment variables read by ConfigFromEnv.
const (
	// EnvToken is a personal access or fine-grained token.
	EnvToken = "DATASEV_GITHUB_TOKEN"
	// EnvTokenFile names a file holding the token (for mounted secrets).
	EnvTokenFile = "DATASEV_GITHUB_TOKEN_FILE"
	// EnvAppID is the GitHub App's ID.
	EnvAppID = "DATASEV_GITHUB_APP_ID"
	// EnvAppInstallationID is the App installation's ID.
	EnvAppInstallationID = "DATASEV_GITHUB_APP_INSTALLATION_ID"
	// EnvAppPrivateKeyFile names the App's PEM private key file.
	EnvAppPrivateKeyFile = "DATASEV_GITHUB_APP_PRIVATE_KEY_FILE"
	// EnvAPIURL is the API base URL for GitHub Enterprise Server (or a
	// stand-in); unset means https://api.github.com/.
	EnvAPIURL = "DATASEV_GITHUB_API_URL"
	// EnvMergeMethod is github.merge_pull_request's default method:
	// merge, squash (the default) or rebase.
	EnvMergeMethod = "DATASEV_GITHUB_MERGE_METHOD"
)

// DefaultMergeMethod is the merge method when neither the step nor the
// configuration names one.
const DefaultMergeMethod = "squash"

// MaxRetryDelay caps the NextRetryDelay taken from rate-limit headers.
const MaxRetryDelay = 15 * time.Minute

// Config is how the worker reaches GitHub. It holds secrets: never log it
// or pass it through workflows.
type Config struct {
	// Token is a token; "" when a GitHub App is used.
	Token string
	// AppID, InstallationID and AppPrivateKey (PEM) define a GitHub App
	// installation.
	AppID          int64
	InstallationID int64
	AppPrivateKey  []byte
	// APIURL is the API base URL; "" for api.github.com.
	APIURL string
	// MergeMethod is the default merge method ("" for DefaultMergeMethod).
	MergeMethod string
}

// Configured reports whether cfg carries credentials.
func (c Config) Configured() bool { return c.Token != "" || c.AppID != 0 }

// String names the auth mode without secrets.
func (c Config) String() string {
	api := c.APIURL
	if api == "" {
		api = "https://api.github.com/"
	}
	switch {
	case c.Token != "":
		return "token auth at " + api
	case c.AppID != 0:
		return fmt.Sprintf("GitHub App %d (installation %d) at %s", c.AppID, c.InstallationID, api)
	}
	return "not configured"
}

// ConfigFromEnv reads the DATASEV_GITHUB_* variables through getenv and the
// files they name. Setting both a token and an App is an error; setting
// neither gives a Config that is not Configured (the worker then runs
// without a GitHub client).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{APIURL: env(EnvAPIURL), MergeMethod: strings.ToLower(env(EnvMergeMethod))}
	switch cfg.MergeMethod {
	case "", "merge", "squash", "rebase":
	default:
		return Config{}, fmt.Errorf("%s=%q: want merge, squash or rebase", EnvMergeMethod, cfg.MergeMethod)
	}
	if cfg.MergeMethod == "" {
		cfg.MergeMethod = DefaultMergeMethod
	}
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		switch {
		case err != nil:
			return Config{}, fmt.Errorf("%s=%q: %w", EnvAPIURL, cfg.APIURL, err)
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			return Config{}, fmt.Errorf("%s=%q: want an http or https URL", EnvAPIURL, cfg.APIURL)
		case u.User != nil:
			return Config{}, fmt.Errorf("%s: no credentials in the URL; use %s or the App variables", EnvAPIURL, EnvToken)
		}
	}
	tok, err := secret.FromEnv(getenv, EnvToken)
	if err != nil {
		return Config{}, err
	}
	tok = strings.TrimSpace(tok)
	appID, instID, keyFile := env(EnvAppID), env(EnvAppInstallationID), env(EnvAppPrivateKeyFile)
	app := appID != "" || instID != "" || keyFile != ""
	switch {
	case tok != "" && app:
		return Config{}, fmt.Errorf("GitHub auth: set a token (%s) or a GitHub App (%s, %s, %s), not both",
			EnvToken, EnvAppID, EnvAppInstallationID, EnvAppPrivateKeyFile)
	case tok != "":
		cfg.Token = tok
		return cfg, nil
	case !app:
		return cfg, nil
	case appID == "" || instID == "" || keyFile == "":
		return Config{}, fmt.Errorf("GitHub App auth needs all of %s, %s and %s", EnvAppID, EnvAppInstallationID, EnvAppPrivateKeyFile)
	}
	if cfg.AppID, err = strconv.ParseInt(appID, 10, 64); err != nil || cfg.AppID <= 0 {
		return Config{}, fmt.Errorf("%s=%q: want a positive whole number", EnvAppID, appID)
	}
	if cfg.InstallationID, err = strconv.ParseInt(instID, 10, 64); err != nil || cfg.InstallationID <= 0 {
		return Config{}, fmt.Errorf("%s=%q: want a positive whole number", EnvAppInstallationID, instID)
	}
	if cfg.AppPrivateKey, err = os.ReadFile(keyFile); err != nil {
		return Config{}, fmt.Errorf("%s: %w", EnvAppPrivateKeyFile, err)
	}
	return cfg, nil
}

// NewClient builds go-github's client for cfg over base (nil for
// http.DefaultTransport). It returns nil and no error when cfg is not
// Configured. It contacts nothing: an App's installation token is fetched
// at the first request and refreshed before it expires.
func NewClient(cfg Config, base http.RoundTripper) (*github.Client, error) {
	if !cfg.Configured() {
		return nil, nil
	}
	if base == nil {
		base = http.DefaultTransport
	}
	hc := &http.Client{Transport: base, Timeout: 60 * time.Second}
	var app *ghinstallation.Transport
	if cfg.Token == "" {
		var err error
		app, err = ghinstallation.New(base, cfg.AppID, cfg.InstallationID, cfg.AppPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("github app %d: private key: %w", cfg.AppID, err)
		}
		hc.Transport = app
	}
	c := github.NewClient(hc)
	if cfg.Token != "" {
		c = c.WithAuthToken(cfg.Token)
	}
	if cfg.APIURL != "" {
		var err error
		if c, err = c.WithEnterpriseURLs(cfg.APIURL, cfg.APIURL); err != nil {
			return nil, fmt.Errorf("%s=%q: %w", EnvAPIURL, cfg.APIURL, err)
		}
	}
	if app != nil {
		app.BaseURL = strings.TrimSuffix(c.BaseURL.String(), "/")
	}
	c.UserAgent = "datasev"
	return c, nil
}

// Actions carries out the GitHub actions with one client.
type Actions struct {
	c       *github.Client
	targets *target.Policy
	cfg     Config
	now     func() time.Time
	logger  *slog.Logger
	perPage int
}

// New returns the GitHub actions using c and cfg's defaults (the merge
// method). A nil c gives actions that fail, non-retryably, when they run.
func New(c *github.Client, cfg Config) *Actions {
	if cfg.MergeMethod == "" {
		cfg.MergeMethod = DefaultMergeMethod
	}
	return &Actions{c: c, cfg: cfg, now: time.Now, logger: slog.Default()}
}

// WithTargets returns a copy of a that checks repositories and base
// branches against the target policy p (targets.github.*). With a nil p
// (no policy) github.recent_commits reads any repository the credentials
// can, and the actions that change something refuse to run.
func (a *Actions) WithTargets(p *target.Policy) *Actions {
	cp := *a
	cp.targets = p
	return &cp
}

// repo checks what every GitHub runbook action checks before it calls
// GitHub: that the worker has a client; for an action that changes
// something (changes), that the target policy allows remediations at all;
// then it parses repo as owner/name and checks it against the policy.
func (a *Actions) repo(action, repo string, changes bool) (string, string, error) {
	if err := a.ready(action); err != nil {
		return "", "", err
	}
	if changes {
		if err := a.targets.Remediation(action); err != nil {
			return "", "", policyErr(action, err)
		}
	}
	owner, name, err := splitRepo(action, repo)
	if err != nil {
		return "", "", err
	}
	if err := a.targets.Repository(owner + "/" + name); err != nil {
		return "", "", policyErr(action, err)
	}
	return owner, name, nil
}

// base checks a base branch of owner/repo against the target policy,
// looking up the default branch (def, when not known yet) only when the
// policy needs it.
func (a *Actions) base(ctx context.Context, action, owner, repo, branch, def string) error {
	if !a.targets.Configured() || len(a.targets.List(target.KeyGitHubBaseBranches)) > 0 {
		return policyErr(action, a.targets.BaseBranch(owner+"/"+repo, branch, def))
	}
	if def == "" {
		var err error
		if def, err = a.defaultBranch(ctx, action, owner, repo); err != nil {
			return err
		}
	}
	return policyErr(action, a.targets.BaseBranch(owner+"/"+repo, branch, def))
}

// policyErr puts the action's name in front of a target policy refusal.
func policyErr(action string, err error) error {
	var ae *temporal.ApplicationError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	return temporal.NewNonRetryableApplicationError(action+": "+ae.Message(), ae.Type(), nil)
}

// WithClock returns a copy of a whose clock is now (for time windows and
// recency); the default is time.Now.
func (a *Actions) WithClock(now func() time.Time) *Actions {
	cp := *a
	cp.now = now
	return &cp
}

// WithPageSize returns a copy of a that lists commits n per page (default
// 100, GitHub's maximum); tests use small pages to exercise pagination.
func (a *Actions) WithPageSize(n int) *Actions {
	cp := *a
	cp.perPage = n
	return &cp
}

// Types of the actions' application errors.
const (
	// NotConfiguredType: the worker has no GitHub client.
	NotConfiguredType = "NotConfigured"
	// BadRequestType: the inputs cannot work as written.
	BadRequestType = "BadRequest"
	// BadCredentialsType: GitHub refused the worker's credentials (401).
	BadCredentialsType = "BadCredentials"
	// ForbiddenType: the credentials may not do this (403).
	ForbiddenType = "Forbidden"
	// NotFoundType: no such repository, commit, branch, path or number
	// (404; also what GitHub answers when the credentials cannot see it).
	NotFoundType = "NotFound"
	// UnprocessableType: GitHub refused the request's content (422).
	UnprocessableType = "Unprocessable"
	// ConflictType: a 405 or 409 answer (not mergeable, head moved).
	ConflictType = "Conflict"
	// ClientErrorType: another 4xx answer.
	ClientErrorType = "GitHubClientError"
	// RateLimitedType: a primary or secondary rate limit; retryable after
	// NextRetryDelay.
	RateLimitedType = "RateLimited"
	// UnavailableType: a 5xx answer that said when to come back
	// (Retry-After); retryable after NextRetryDelay. 5xx answers without
	// Retry-After are plain retryable errors.
	UnavailableType = "GitHubUnavailable"
	// RevertRefusedType: github.revert_commit will not revert
	// automatically; a human must.
	RevertRefusedType = "RevertRefused"
)

func (a *Actions) ready(action string) error {
	if a == nil || a.c == nil {
		return temporal.NewNonRetryableApplicationError(
			action+": the worker has no GitHub client; set "+EnvToken+" (or "+EnvTokenFile+
				") or the GitHub App variables "+EnvAppID+", "+EnvAppInstallationID+" and "+EnvAppPrivateKeyFile,
			NotConfiguredType, nil)
	}
	return nil
}

func badRequest(action, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(action+": "+fmt.Sprintf(format, args...), BadRequestType, nil)
}

// splitRepo parses "owner/name".
func splitRepo(action, repo string) (string, string, error) {
	r := strings.TrimSpace(repo)
	if strings.Contains(r, "://") || strings.HasPrefix(r, "git@") {
		return "", "", badRequest(action, "repo %q: give owner/name, not a URL", repo)
	}
	r = strings.TrimSuffix(r, ".git")
	owner, name, ok := strings.Cut(r, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(name, "/ ") || strings.ContainsAny(owner, " ") {
		return "", "", badRequest(action, "repo %q: want owner/name, e.g. acme/analytics", repo)
	}
	return owner, name, nil
}

// Classify turns an error from go-github into the action's error. action
// names the action and what describes the request ("list commits of
// acme/dbt touching models/x.sql"). Rate limits become retryable
// application errors whose NextRetryDelay is the wait GitHub asked for
// (capped at MaxRetryDelay); 401, 403, 404, 405, 409, 422 and other 4xx
// answers are non-retryable and carry GitHub's message; a 5xx with
// Retry-After is retryable after it (capped too); other 5xx, network
// errors and cancellations are returned wrapped, retryable.
func Classify(action, what string, err error) error {
	if err == nil {
		return nil
	}
	prefix := action + ": " + what
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	var er *github.ErrorResponse
	var he *ghinstallation.HTTPError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", prefix, err)
	case errors.As(err, &rl):
		wait := time.Until(rl.Rate.Reset.Time)
		return rateLimited(prefix, fmt.Sprintf("GitHub rate limit exhausted (%d/hour), resets at %s",
			rl.Rate.Limit, rl.Rate.Reset.UTC().Format(time.RFC3339)), wait, err)
	case errors.As(err, &ab):
		wait := time.Minute
		if ab.RetryAfter != nil {
			wait = *ab.RetryAfter
		}
		return rateLimited(prefix, "GitHub secondary rate limit: "+ab.Message, wait, err)
	case errors.As(err, &he) && he.Response != nil:
		code := he.Response.StatusCode
		if code == http.StatusUnauthorized || code == http.StatusNotFound || code == http.StatusForbidden {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"%s: GitHub refused the App's installation token request (%s); check %s, %s and the key in %s",
				prefix, he.Response.Status, EnvAppID, EnvAppInstallationID, EnvAppPrivateKeyFile), BadCredentialsType, err)
		}
		return fmt.Errorf("%s: %w", prefix, err)
	case errors.As(err, &er) && er.Response != nil:
		return classifyResponse(prefix, er, err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func classifyResponse(prefix string, er *github.ErrorResponse, err error) error {
	code := er.Response.StatusCode
	msg := er.Message
	if msg == "" {
		msg = http.StatusText(code)
	}
	for _, e := range er.Errors {
		detail := e.Message
		if detail == "" {
			detail = strings.TrimSpace(e.Resource + " " + e.Field + " " + e.Code)
		}
		if detail != "" && detail != msg {
			msg += "; " + detail
		}
	}
	nonRetryable := func(typ, text string) error {
		return temporal.NewNonRetryableApplicationError(prefix+": "+text, typ, err)
	}
	retryAfter := retryafter.Parse(er.Response.Header.Get("Retry-After"), time.Now())
	switch {
	case code == http.StatusTooManyRequests ||
		(code == http.StatusForbidden && (retryAfter > 0 || strings.Contains(strings.ToLower(msg), "rate limit"))):
		if retryAfter <= 0 {
			retryAfter = time.Minute
		}
		return rateLimited(prefix, "GitHub rate limit: "+msg, retryAfter, err)
	case code == http.StatusUnauthorized:
		return nonRetryable(BadCredentialsType, "GitHub refused the worker's credentials ("+msg+"); check "+EnvToken+" or the GitHub App variables")
	case code == http.StatusForbidden:
		return nonRetryable(ForbiddenType, "forbidden: "+msg+" (the token or App lacks the permission)")
	case code == http.StatusNotFound:
		return nonRetryable(NotFoundType, "not found: "+msg+" (it does not exist, or the credentials cannot see it)")
	case code == http.StatusUnprocessableEntity:
		return nonRetryable(UnprocessableType, "refused: "+msg)
	case code == http.StatusMethodNotAllowed || code == http.StatusConflict:
		return nonRetryable(ConflictType, msg)
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout:
		return nonRetryable(ClientErrorType, fmt.Sprintf("%d: %s", code, msg))
	case code >= 500 && retryAfter > 0:
		wait := retryafter.Bound(retryAfter, time.Second, MaxRetryDelay)
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("%s: GitHub unavailable (%d: %s); retry in %s", prefix, code, msg, wait.Round(time.Second)), UnavailableType,
			temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: err})
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func rateLimited(prefix, msg string, wait time.Duration, cause error) error {
	wait = retryafter.Bound(wait, time.Second, MaxRetryDelay)
	return temporal.NewApplicationErrorWithOptions(
		fmt.Sprintf("%s: %s; retry in %s", prefix, msg, wait.Round(time.Second)), RateLimitedType,
		temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: cause})
}

// statusOf is an error's HTTP status, 0 when it has none.
func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}
