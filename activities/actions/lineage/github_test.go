package lineage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
)

const contentsRoute = "GET /repos/{owner}/{repo}/contents/{path}"

// githubLimit is GitHub's documented bound on content inline in the
// contents API's JSON: for a file of 1–100 MB, "content" is empty and
// "encoding" is "none", and the raw media type must be used.
const githubLimit = 1 << 20

// largeFiles applies githubLimit to the stand-in's contents answers (it
// inlines every size), so the client meets what GitHub sends for a large
// manifest. afterLookup, when set, runs once after the first contents
// lookup, before the client downloads the file.
type largeFiles struct {
	base        http.RoundTripper
	afterLookup func()
	beforeRaw   func() // runs before each raw download
	done        atomic.Bool
}

func (l *largeFiles) RoundTrip(r *http.Request) (*http.Response, error) {
	if l.beforeRaw != nil && strings.Contains(r.Header.Get("Accept"), "raw") {
		l.beforeRaw()
	}
	resp, err := l.base.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "/contents/") || strings.Contains(r.Header.Get("Accept"), "raw") || resp.StatusCode != 200 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var file map[string]any
	if json.Unmarshal(body, &file) == nil {
		if size, _ := file["size"].(float64); size > githubLimit {
			file["content"], file["encoding"] = "", "none"
			body, _ = json.Marshal(file)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	if l.afterLookup != nil && !l.done.Swap(true) {
		l.afterLookup()
	}
	return resp, nil
}

func githubFixture(t *testing.T, token string, rt *largeFiles) (*ghtest.Server, *lineage.Cache) {
	t.Helper()
	srv := ghtest.New()
	t.Cleanup(srv.Close)
	env := srv.Env()
	if token != "" {
		env["DATASEV_GITHUB_TOKEN"] = token
	}
	cfg, err := ghact.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if rt == nil {
		rt = &largeFiles{}
	}
	rt.base = http.DefaultTransport
	c, err := ghact.NewClient(cfg, rt)
	if err != nil {
		t.Fatal(err)
	}
	srv.CreateRepo("acme/analytics", "main")
	return srv, lineage.NewCache(lineage.Sources{GitHub: c}, lineage.CacheOptions{Logger: quiet})
}

func TestGitHubSource(t *testing.T) {
	srv, cache := githubFixture(t, "", nil)
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	srv.Commit("acme/analytics", "main", "Ana <ana@acme.example>", "dbt docs generate",
		map[string]string{"target/manifest.json": string(manifesttest.Generate(shop()))}, at)
	e := register(lineage.NewWithCache(cache))
	uri := "github://acme/analytics/target/manifest.json@main"
	for range 3 {
		res, err := run(t, e, lineage.DownstreamName, map[string]any{"manifest": uri, "node": "stg_orders"})
		if err != nil {
			t.Fatal(err)
		}
		if num(res.Output["count"]) != 9 {
			t.Fatalf("output %v", res.Output)
		}
	}
	if cache.Loads() != 1 || srv.Count(contentsRoute) != 3 {
		t.Errorf("3 runs: %d loads (want 1), %d contents lookups (want 3)", cache.Loads(), srv.Count(contentsRoute))
	}

	// A new commit changes the file's blob: loaded again.
	p := shop()
	p.Models = append(p.Models, manifesttest.Model{Name: "orders_v2", Refs: []string{"stg_orders"}})
	srv.Commit("acme/analytics", "main", "Ana <ana@acme.example>", "add orders_v2",
		map[string]string{"target/manifest.json": string(manifesttest.Generate(p))}, at.Add(time.Hour))
	res, err := run(t, e, lineage.DownstreamName, map[string]any{"manifest": uri, "node": "stg_orders"})
	if err != nil {
		t.Fatal(err)
	}
	if num(res.Output["count"]) != 10 || cache.Loads() != 2 {
		t.Errorf("after a commit: count %v, loads %d", res.Output["count"], cache.Loads())
	}

	_, err = run(t, e, lineage.DownstreamName, map[string]any{"manifest": "github://acme/analytics/prod/manifest.json@main", "node": "orders"})
	wantErr(t, err, lineage.NotFoundType, true, "github://acme/analytics/prod/manifest.json@main")
	_, err = run(t, e, lineage.DownstreamName, map[string]any{"manifest": "github://acme/nope/target/manifest.json", "node": "orders"})
	wantErr(t, err, lineage.NotFoundType, true, "acme/nope")

	reset := time.Now().Add(10 * time.Minute)
	srv.FailNext(1, http.StatusForbidden, map[string]string{
		"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
		"X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10),
	})
	_, err = run(t, e, lineage.DownstreamName, map[string]any{"manifest": uri, "node": "orders"})
	wantErr(t, err, lineage.RateLimitedType, false, "rate limit")
	if d := appErr(t, err).NextRetryDelay(); d < 5*time.Minute || d > 11*time.Minute {
		t.Errorf("rate limit: next retry in %s, want about 10m", d)
	}
}

// A manifest over 1 MB is not inline in the contents API: it is streamed
// with the raw media type and checked against the blob sha.
func TestGitHubLargeManifest(t *testing.T) {
	_, big := manifesttest.Large(400, 7)
	if len(big) <= githubLimit {
		t.Fatalf("the large manifest is only %d bytes", len(big))
	}
	srv, cache := githubFixture(t, "", nil)
	srv.Commit("acme/analytics", "main", "Ana <ana@acme.example>", "big", map[string]string{"dbt/manifest.json": string(big)}, time.Now())
	g, err := cache.Graph(t.Context(), "github://acme/analytics/dbt/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() < 380 || srv.Count(contentsRoute) != 2 {
		t.Errorf("%d nodes, %d contents requests (want a lookup and a raw download)", g.Len(), srv.Count(contentsRoute))
	}
}

// A commit landing between the lookup and the download is caught by the
// blob sha check: a retryable error, and nothing cached.
func TestGitHubChangedDuringDownload(t *testing.T) {
	_, big := manifesttest.Large(400, 7)
	_, big2 := manifesttest.Large(400, 8)
	rt := &largeFiles{}
	srv, cache := githubFixture(t, "", rt)
	srv.Commit("acme/analytics", "main", "Ana <ana@acme.example>", "v1", map[string]string{"dbt/manifest.json": string(big)}, time.Now())
	rt.afterLookup = func() {
		srv.Commit("acme/analytics", "main", "Ana <ana@acme.example>", "v2", map[string]string{"dbt/manifest.json": string(big2)}, time.Now())
	}
	uri := "github://acme/analytics/dbt/manifest.json@main"
	_, err := cache.Graph(t.Context(), uri)
	if err == nil || !strings.Contains(err.Error(), "changed while it was downloaded") {
		t.Fatalf("want a changed-during-download error, got %v", err)
	}
	// The retry reads the new version.
	if _, err := cache.Graph(t.Context(), uri); err != nil {
		t.Fatal(err)
	}
}

func TestGitHubBadToken(t *testing.T) {
	srv, cache := githubFixture(t, "ghp_wrong", nil)
	srv.Commit("acme/analytics", "main", "Ana <ana@acme.example>", "m", map[string]string{"manifest.json": "{}"}, time.Now())
	e := register(lineage.NewWithCache(cache))
	_, err := run(t, e, lineage.UpstreamName, map[string]any{"manifest": "github://acme/analytics/manifest.json", "node": "orders"})
	wantErr(t, err, lineage.AccessDeniedType, true, "credentials", "DATASEV_GITHUB_TOKEN")
}

// A caller that gives up does not abort the load others share: it
// finishes in the background and is cached.
func TestGitHubCallerCancels(t *testing.T) {
	_, big := manifesttest.Large(400, 7)
	gate := make(chan struct{})
	started := make(chan struct{}, 1)
	rt := &largeFiles{beforeRaw: func() {
		started <- struct{}{}
		<-gate
	}}
	srv, cache := githubFixture(t, "", rt)
	srv.Commit("acme/analytics", "main", "Ana <ana@acme.example>", "big", map[string]string{"dbt/manifest.json": string(big)}, time.Now())
	uri := "github://acme/analytics/dbt/manifest.json"
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := cache.Graph(ctx, uri)
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(gate)
	g, err := cache.Graph(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() < 380 || cache.Loads() != 1 || srv.Count(contentsRoute) != 3 {
		t.Errorf("%d nodes, %d loads (want 1), %d contents requests (want 2 lookups and 1 download)", g.Len(), cache.Loads(), srv.Count(contentsRoute))
	}
}

// GitHub's waits become NextRetryDelay, capped as the GitHub actions cap
// them: a 429 or a 5xx with Retry-After is retried after it, a rate limit
// resetting hours away or a Retry-After of a day after the cap, and a 5xx
// without Retry-After on the activity's retry policy. Each case has its
// own client: go-github remembers a rate limit and refuses requests until
// it is over.
func TestGitHubRetryAfter(t *testing.T) {
	const uri = "github://acme/analytics/target/manifest.json@main"
	in := map[string]any{"manifest": uri, "node": "orders"}
	fixture := func(t *testing.T) (*ghtest.Server, *testsuite.TestActivityEnvironment) {
		srv, cache := githubFixture(t, "", nil)
		srv.Commit("acme/analytics", "main", "Ana <ana@acme.example>", "dbt docs generate",
			map[string]string{"target/manifest.json": string(manifesttest.Generate(shop()))}, time.Now())
		return srv, register(lineage.NewWithCache(cache))
	}
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		typ    string
		delay  time.Duration
	}{
		{"429 Retry-After 30", http.StatusTooManyRequests, map[string]string{"Retry-After": "30"}, lineage.RateLimitedType, 30 * time.Second},
		{"429 without Retry-After", http.StatusTooManyRequests, nil, lineage.RateLimitedType, time.Minute},
		{"503 Retry-After 30", http.StatusServiceUnavailable, map[string]string{"Retry-After": "30"}, lineage.UnavailableType, 30 * time.Second},
		{"503 Retry-After a day", http.StatusServiceUnavailable, map[string]string{"Retry-After": "86400"}, lineage.UnavailableType, ghact.MaxRetryDelay},
		{"503 Retry-After an HTTP date 2h away", http.StatusServiceUnavailable, map[string]string{
			"Retry-After": time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)}, lineage.UnavailableType, ghact.MaxRetryDelay},
		{"secondary rate limit Retry-After a day", http.StatusForbidden, map[string]string{"Retry-After": "86400"}, lineage.RateLimitedType, ghact.MaxRetryDelay},
		{"primary rate limit resetting in 3h", http.StatusForbidden, map[string]string{
			"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
			"X-RateLimit-Reset": strconv.FormatInt(time.Now().Add(3*time.Hour).Unix(), 10)}, lineage.RateLimitedType, ghact.MaxRetryDelay},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, e := fixture(t)
			srv.FailNext(1, tc.status, tc.header)
			_, err := run(t, e, lineage.DownstreamName, in)
			wantErr(t, err, tc.typ, false, uri, "retrying in")
			if d := appErr(t, err).NextRetryDelay(); d != tc.delay {
				t.Errorf("NextRetryDelay %s, want %s: %v", d, tc.delay, err)
			}
		})
	}

	t.Run("503 without Retry-After", func(t *testing.T) {
		srv, e := fixture(t)
		srv.FailNext(1, http.StatusServiceUnavailable, nil)
		_, err := run(t, e, lineage.DownstreamName, in)
		if err == nil {
			t.Fatal("want an error for a 503")
		}
		ae := appErr(t, err)
		if ae.NonRetryable() || ae.NextRetryDelay() != 0 || ae.Type() == lineage.UnavailableType || !strings.Contains(err.Error(), "503") {
			t.Errorf("type %q non-retryable %v NextRetryDelay %s; want a plain retryable error naming the 503: %v",
				ae.Type(), ae.NonRetryable(), ae.NextRetryDelay(), err)
		}
		// The fault is spent: the retry loads the manifest.
		res, err := run(t, e, lineage.DownstreamName, in)
		if err != nil {
			t.Fatal(err)
		}
		if num(res.Output["count"]) == 0 {
			t.Errorf("output %v", res.Output)
		}
	})
}
