package ghact_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/temporal"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/support/actiontest"
)

var recent = map[string]any{"repo": repo, "branch": "main", "paths": []any{"models"}}

func TestPrimaryRateLimitRetriesAfterReset(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", time.Hour, map[string]string{"models/a.sql": "a\n"})
	reset := time.Now().Add(10 * time.Minute).Unix()
	f.srv.FailNext(1, http.StatusForbidden, map[string]string{
		"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset, 10)})
	_, err := f.run(t, ghact.RecentCommitsName, recent)
	actiontest.Retryable(t, err, "rate limit", "list commits of acme/analytics")
	appErr := appError(t, err)
	if appErr.Type() != ghact.RateLimitedType {
		t.Errorf("type %q", appErr.Type())
	}
	if d := appErr.NextRetryDelay(); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("NextRetryDelay %s, want the ~10m until the reset", d)
	}
}

func TestRateLimitDelayIsCapped(t *testing.T) {
	f := newFixture(t)
	reset := time.Now().Add(3 * time.Hour).Unix()
	f.srv.FailNext(1, http.StatusForbidden, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset, 10)})
	_, err := f.run(t, ghact.RecentCommitsName, recent)
	if d := appError(t, err).NextRetryDelay(); d != ghact.MaxRetryDelay {
		t.Errorf("NextRetryDelay %s, want the cap %s", d, ghact.MaxRetryDelay)
	}
}

func TestSecondaryRateLimitsHonourRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusForbidden} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFixture(t)
			f.commit("Ann", "init", time.Hour, map[string]string{"models/a.sql": "a\n"})
			f.srv.FailNext(1, status, map[string]string{"Retry-After": "42"})
			_, err := f.run(t, ghact.RecentCommitsName, recent)
			actiontest.Retryable(t, err, "secondary rate limit")
			appErr := appError(t, err)
			if appErr.Type() != ghact.RateLimitedType || appErr.NextRetryDelay() != 42*time.Second {
				t.Errorf("type %q, NextRetryDelay %s; want RateLimited after 42s", appErr.Type(), appErr.NextRetryDelay())
			}
		})
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", time.Hour, map[string]string{"models/a.sql": "a\n"})
	for _, status := range []int{500, 502, 503} {
		f.srv.FailNext(1, status, nil)
		_, err := f.run(t, ghact.RecentCommitsName, recent)
		actiontest.Retryable(t, err, fmt.Sprint(status))
	}
	res := f.mustRun(t, ghact.RecentCommitsName, recent)
	want(t, res.Output, "count", 1)
}

// A 503 that says when to come back is retried then (capped); one that
// does not keeps the retry policy's backoff.
func TestUnavailableHonoursRetryAfter(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", time.Hour, map[string]string{"models/a.sql": "a\n"})
	for _, tc := range []struct {
		retryAfter string
		want       time.Duration
	}{{"30", 30 * time.Second}, {"86400", ghact.MaxRetryDelay}} {
		f.srv.FailNext(1, http.StatusServiceUnavailable, map[string]string{"Retry-After": tc.retryAfter})
		_, err := f.run(t, ghact.RecentCommitsName, recent)
		actiontest.Retryable(t, err, "unavailable")
		if appErr := appError(t, err); appErr.Type() != ghact.UnavailableType || appErr.NextRetryDelay() != tc.want {
			t.Errorf("Retry-After %s: type %q, NextRetryDelay %s; want %s after %s", tc.retryAfter, appErr.Type(), appErr.NextRetryDelay(), ghact.UnavailableType, tc.want)
		}
	}
	res := f.mustRun(t, ghact.RecentCommitsName, recent)
	want(t, res.Output, "count", 1)
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	f := newFixture(t)
	f.srv.Close()
	_, err := f.run(t, ghact.RecentCommitsName, recent)
	actiontest.Retryable(t, err, "list commits of acme/analytics")
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	f := newFixture(t)
	f.commit("Ann", "init", time.Hour, map[string]string{"models/a.sql": "a\n"})
	_, err := f.run(t, ghact.RecentCommitsName, map[string]any{"repo": "acme/missing"})
	actiontest.NonRetryable(t, err, ghact.NotFoundType, "get repository acme/missing", "Not Found")
	_, err = f.run(t, ghact.MergePullRequestName, map[string]any{"repo": repo, "number": 99})
	actiontest.NonRetryable(t, err, ghact.NotFoundType, "pull request #99 of acme/analytics")
	f.srv.FailNextWith(1, ghtest.Fault{Status: 422, Message: "Validation Failed"})
	_, err = f.run(t, ghact.CreateIssueName, map[string]any{"repo": repo, "title": "x"})
	actiontest.NonRetryable(t, err, ghact.UnprocessableType, "Validation Failed", "acme/analytics")
	f.srv.FailNextWith(1, ghtest.Fault{Status: 403, Message: "Resource not accessible by integration"})
	_, err = f.run(t, ghact.RecentCommitsName, recent)
	actiontest.NonRetryable(t, err, ghact.ForbiddenType, "Resource not accessible by integration")
}

func TestBadCredentials(t *testing.T) {
	f := newFixture(t)
	env := f.srv.Env()
	env[ghact.EnvToken] = "ghp_wrong"
	f = fixtureFor(t, f.srv, env, 0)
	_, err := f.run(t, ghact.RecentCommitsName, recent)
	actiontest.NonRetryable(t, err, ghact.BadCredentialsType, "Bad credentials", ghact.EnvToken)
	if strings.Contains(err.Error(), "ghp_wrong") {
		t.Error("the error shows the token")
	}
}

func TestWithoutClient(t *testing.T) {
	e := register(ghact.New(nil, ghact.Config{}))
	f := &fixture{env: e}
	for name, with := range map[string]map[string]any{
		ghact.RecentCommitsName:    recent,
		ghact.RevertCommitName:     {"repo": repo, "sha": "abcdef0"},
		ghact.MergePullRequestName: {"repo": repo, "number": 1},
		ghact.CommentName:          {"repo": repo, "number": 1, "body": "x"},
		ghact.CreateIssueName:      {"repo": repo, "title": "x"},
	} {
		_, err := f.run(t, name, with)
		actiontest.NonRetryable(t, err, ghact.NotConfiguredType, "no GitHub client", ghact.EnvToken, ghact.EnvAppID)
	}
}

func TestClassifyDirect(t *testing.T) {
	if ghact.Classify("a", "b", nil) != nil {
		t.Error("nil error classified")
	}
	resp := &http.Response{StatusCode: 502, Header: http.Header{}, Request: &http.Request{Method: "GET"}}
	err := ghact.Classify("github.x", "get y", &github.ErrorResponse{Response: resp, Message: "Bad Gateway"})
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) || !strings.Contains(err.Error(), "github.x: get y") {
		t.Errorf("5xx: %v", err)
	}
}

func writeKey(t *testing.T, srv *ghtest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(srv.AppPrivateKey)})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAppAuthEndToEnd(t *testing.T) {
	srv := ghtest.New()
	t.Cleanup(srv.Close)
	srv.CreateRepo(repo, "main")
	srv.Commit(repo, "main", "Ann", "init", map[string]string{"models/a.sql": "a\n"}, now.Add(-time.Hour))
	env := map[string]string{
		ghact.EnvAPIURL: srv.URL, ghact.EnvAppID: strconv.FormatInt(srv.AppID, 10),
		ghact.EnvAppInstallationID: strconv.FormatInt(srv.InstallationID, 10), ghact.EnvAppPrivateKeyFile: writeKey(t, srv),
	}
	f := fixtureFor(t, srv, env, 0)
	res := f.mustRun(t, ghact.RecentCommitsName, map[string]any{"repo": repo, "paths": []any{"models/a.sql"}})
	want(t, res.Output, "count", 1)
	res = f.mustRun(t, ghact.CreateIssueName, map[string]any{"repo": repo, "title": "follow up"})
	want(t, res.Output, "created", true)
	if n := srv.Count("POST /app/installations/{id}/access_tokens"); n != 1 {
		t.Errorf("%d installation token requests, want 1 (reused)", n)
	}

	// Another installation: GitHub answers 404 to the token request.
	env[ghact.EnvAppInstallationID] = "999"
	f = fixtureFor(t, srv, env, 0)
	_, err := f.run(t, ghact.RecentCommitsName, recent)
	actiontest.NonRetryable(t, err, ghact.BadCredentialsType, "installation token", ghact.EnvAppInstallationID)
}

func TestStandInEnvNamesAgree(t *testing.T) {
	srv := ghtest.New()
	defer srv.Close()
	env := srv.Env()
	if env[ghact.EnvAPIURL] != srv.URL || env[ghact.EnvToken] != srv.Token || len(env) != 2 {
		t.Errorf("ghtest.Env %v does not use ghact's names", env)
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte("ghp_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	cfg, err := ghact.ConfigFromEnv(get(nil))
	if err != nil || cfg.Configured() || cfg.MergeMethod != "squash" {
		t.Fatalf("empty: %+v %v", cfg, err)
	}
	if c, err := ghact.NewClient(cfg, nil); c != nil || err != nil {
		t.Errorf("unconfigured client %v %v", c, err)
	}
	cfg, err = ghact.ConfigFromEnv(get(map[string]string{ghact.EnvTokenFile: tokFile, ghact.EnvMergeMethod: "Rebase"}))
	if err != nil || cfg.Token != "ghp_fromfile" || cfg.MergeMethod != "rebase" {
		t.Fatalf("token file: %+v %v", cfg, err)
	}
	if strings.Contains(cfg.String(), "ghp_") {
		t.Error("String shows the token")
	}
	for name, env := range map[string]map[string]string{
		"both":          {ghact.EnvToken: "t", ghact.EnvAppID: "1", ghact.EnvAppInstallationID: "2", ghact.EnvAppPrivateKeyFile: tokFile},
		"token twice":   {ghact.EnvToken: "t", ghact.EnvTokenFile: tokFile},
		"partial app":   {ghact.EnvAppID: "1"},
		"bad app id":    {ghact.EnvAppID: "x", ghact.EnvAppInstallationID: "2", ghact.EnvAppPrivateKeyFile: tokFile},
		"missing key":   {ghact.EnvAppID: "1", ghact.EnvAppInstallationID: "2", ghact.EnvAppPrivateKeyFile: filepath.Join(dir, "nope")},
		"bad method":    {ghact.EnvToken: "t", ghact.EnvMergeMethod: "fast-forward"},
		"bad url":       {ghact.EnvToken: "t", ghact.EnvAPIURL: "ftp://x"},
		"creds in url":  {ghact.EnvToken: "t", ghact.EnvAPIURL: "https://u:p@ghe.example.com/api/v3/"},
		"missing token": {ghact.EnvTokenFile: filepath.Join(dir, "nope")},
	} {
		if _, err := ghact.ConfigFromEnv(get(env)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A key file that is not a key fails at NewClient, before any request.
	cfg, err = ghact.ConfigFromEnv(get(map[string]string{ghact.EnvAppID: "1", ghact.EnvAppInstallationID: "2", ghact.EnvAppPrivateKeyFile: tokFile}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ghact.NewClient(cfg, nil); err == nil {
		t.Error("NewClient accepted a bad private key")
	}
}
