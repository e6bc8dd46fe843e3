package airflow_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/activities/support/actiontest"
)

func newClient(t *testing.T, cfg airflow.Config) *airflow.Client {
	t.Helper()
	c, err := airflow.NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAutoDetectsTheAPI(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			srv := aftest.New(aftest.Options{Version: api})
			defer srv.Close()
			c := newClient(t, airflow.Config{URL: srv.URL + "/", API: airflow.APIAuto, Username: "admin", Password: "admin"})
			v, err := c.Version(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if v.API != api || v.Version == "" {
				t.Fatalf("version %+v, want api %s", v, api)
			}
			wantMajor := map[string]string{airflow.APIv1: "2.", airflow.APIv2: "3."}[api]
			if !strings.HasPrefix(v.Version, wantMajor) {
				t.Errorf("version %q, want Airflow %sx", v.Version, wantMajor)
			}
			// v2 is asked first; an Airflow 2 answers it 404.
			var asked []string
			for _, r := range srv.RequestsTo(http.MethodGet, "/version") {
				asked = append(asked, r.Path)
			}
			wantAsked := map[string]string{
				airflow.APIv1: "/api/v2/version /api/v1/version /api/v1/version",
				airflow.APIv2: "/api/v2/version /api/v2/version",
			}[api]
			if got := strings.Join(asked, " "); got != wantAsked {
				t.Errorf("requests %q, want %q", got, wantAsked)
			}
			// The detection is cached.
			srv.SeedDAG("d", false, "a")
			if _, err := c.GetDAG(t.Context(), "d"); err != nil {
				t.Fatal(err)
			}
			if n := len(srv.RequestsTo(http.MethodGet, "/version")); n != len(asked) {
				t.Errorf("version asked again: %d requests", n)
			}
		})
	}
}

func TestNotAirflow(t *testing.T) {
	srv := aftest.New(aftest.Options{Version: "v1"})
	defer srv.Close()
	c := newClient(t, airflow.Config{URL: srv.URL + "/not-airflow", Username: "admin", Password: "admin"})
	_, err := c.Version(t.Context())
	actiontest.NonRetryable(t, err, airflow.NotFoundType, "neither /api/v2/version nor /api/v1/version")
}

func TestCredentialsRefused(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			srv := aftest.New(aftest.Options{Version: api, Username: "svc", Password: "right"})
			defer srv.Close()
			srv.SeedDAG("d", false, "a")
			for _, tc := range []struct {
				cfg    airflow.Config
				status string
			}{
				{airflow.Config{URL: srv.URL, API: api, Username: "svc", Password: "wrong"}, "401 Unauthorized"},
				{airflow.Config{URL: srv.URL, API: api, Token: "not-a-token"}, map[string]string{"v1": "401 Unauthorized", "v2": "403 Forbidden: Invalid JWT token"}[api]},
				{airflow.Config{URL: srv.URL, API: api}, "401 Unauthorized"},
			} {
				_, err := newClient(t, tc.cfg).GetDAG(t.Context(), "d")
				actiontest.NonRetryable(t, err, airflow.CredentialsType, "airflow: credentials refused", tc.status)
				if strings.Contains(err.Error(), "wrong") {
					t.Errorf("error leaks the password: %v", err)
				}
			}
			if api == airflow.APIv2 {
				// A refused password is asked once, not again as a refresh.
				if n := len(srv.RequestsTo(http.MethodPost, "/auth/token")); n != 1 {
					t.Errorf("%d token requests for a bad password, want 1", n)
				}
			}
			d, err := newClient(t, airflow.Config{URL: srv.URL, API: api, Username: "svc", Password: "right"}).GetDAG(t.Context(), "d")
			if err != nil || d.DAGID != "d" || d.IsPaused {
				t.Fatalf("good credentials: %+v %v", d, err)
			}
			// Basic auth is v1's; v2 takes only bearer tokens.
			wantAuth := map[string]string{airflow.APIv1: "basic", airflow.APIv2: "jwt"}[api]
			reqs := srv.RequestsTo(http.MethodGet, "/dags/d")
			if got := reqs[len(reqs)-1].Auth; got != wantAuth {
				t.Errorf("authenticated by %q, want %q", got, wantAuth)
			}
		})
	}
}

func TestStaticToken(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			srv := aftest.New(aftest.Options{Version: api, Token: "static-secret"})
			defer srv.Close()
			srv.SeedDAG("d", true, "a")
			dir := t.TempDir()
			file := filepath.Join(dir, "token")
			if err := os.WriteFile(file, []byte("static-secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{airflow.EnvURL: srv.URL, airflow.EnvTokenFile: file}
			cfg, err := airflow.ConfigFromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			d, err := newClient(t, cfg).GetDAG(t.Context(), "d")
			if err != nil || !d.IsPaused {
				t.Fatalf("%+v %v", d, err)
			}
			if n := srv.TokensIssued(); n != 0 {
				t.Errorf("a static token needs no /auth/token; %d issued", n)
			}
		})
	}
}

// An expired JWT is refreshed once: the request is repeated with a new
// token. When the new token is refused too, the error is final.
func TestJWTRefreshedOnce(t *testing.T) {
	srv := aftest.New(aftest.Options{Version: "v2"})
	defer srv.Close()
	srv.SeedDAG("d", false, "a")
	c := newClient(t, airflow.Config{URL: srv.URL, API: airflow.APIv2, Username: "admin", Password: "admin"})
	for range 3 {
		if _, err := c.GetDAG(t.Context(), "d"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.TokensIssued(); n != 1 {
		t.Fatalf("tokens issued %d, want 1 (cached)", n)
	}
	srv.ExpireTokens()
	if _, err := c.GetDAG(t.Context(), "d"); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := srv.TokensIssued(); n != 2 {
		t.Fatalf("tokens issued %d, want 2 (one refresh)", n)
	}
	// The refused request was answered 401 "Token Expired", as Airflow 3
	// does; the repeat carried the new token.
	refused := 0
	for _, r := range srv.RequestsTo(http.MethodGet, "/dags/d") {
		if r.Auth == "refused" {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d refused requests, want 1", refused)
	}

	// A refresh that does not help is final: one new token, no loop.
	srv.RefuseTokens(true)
	_, err := c.GetDAG(t.Context(), "d")
	actiontest.NonRetryable(t, err, airflow.CredentialsType, "airflow: credentials refused", "401 Unauthorized: Token Expired")
	if n := srv.TokensIssued(); n != 3 {
		t.Errorf("tokens issued %d, want 3 (one more refresh)", n)
	}
}

func TestNotFoundNamesWhatIsMissing(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			f.srv.SeedRun("orders", "r1", map[string]string{"load": "success"})
			_, err := f.client.GetDAG(t.Context(), "nope")
			actiontest.NonRetryable(t, err, airflow.NotFoundType, `airflow: DAG "nope" not found`)
			_, err = f.client.GetDAGRun(t.Context(), "orders", "r9")
			actiontest.NonRetryable(t, err, airflow.NotFoundType, `DAG run "r9" of DAG "orders" not found`)
			_, _, err = f.client.ListTaskInstances(t.Context(), "orders", "r9", nil)
			actiontest.NonRetryable(t, err, airflow.NotFoundType, `DAG run "r9" of DAG "orders" not found`, "r9")
		})
	}
}

func TestThrottlingAndUnavailableAreRetried(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{})
			f.srv.SeedDAG("d", false, "a")
			if _, err := f.client.GetDAG(t.Context(), "d"); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				status     int
				retryAfter string
				delay      time.Duration
				typ        string
			}{
				{429, "7", 7 * time.Second, airflow.ThrottledType},
				{429, "", 0, airflow.ThrottledType},
				{503, "", 0, airflow.UnavailableType},
				{503, "2", 2 * time.Second, airflow.UnavailableType},
				{429, "86400", airflow.MaxRetryDelay, airflow.ThrottledType},
				{503, "3600", airflow.MaxRetryDelay, airflow.UnavailableType},
				{502, "", 0, airflow.UnavailableType},
			} {
				f.srv.FailNext(1, tc.status, tc.retryAfter)
				_, err := f.client.GetDAG(t.Context(), "d")
				actiontest.RetryDelay(t, err, tc.delay)
				if !strings.Contains(err.Error(), fmt.Sprint(tc.status)) || airflow.StatusOf(err) != tc.status {
					t.Errorf("%d: error %v", tc.status, err)
				}
			}
			if _, err := f.client.GetDAG(t.Context(), "d"); err != nil {
				t.Fatalf("after the faults: %v", err)
			}
		})
	}
}

// A failed detection is retryable and not remembered.
func TestDetectionFailureIsRetried(t *testing.T) {
	srv := aftest.New(aftest.Options{Version: "v2"})
	defer srv.Close()
	srv.SeedDAG("d", false, "a")
	c := newClient(t, airflow.Config{URL: srv.URL, Username: "admin", Password: "admin"})
	srv.FailNext(1, http.StatusServiceUnavailable, "4")
	_, err := c.GetDAG(t.Context(), "d")
	actiontest.RetryDelay(t, err, 4*time.Second)
	if _, err := c.GetDAG(t.Context(), "d"); err != nil {
		t.Fatal(err)
	}
	if api, _ := c.API(t.Context()); api != airflow.APIv2 {
		t.Errorf("api %q", api)
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	srv := aftest.New(aftest.Options{Version: "v1"})
	url := srv.URL
	srv.Close()
	c := newClient(t, airflow.Config{URL: url, API: airflow.APIv1, Username: "admin", Password: "admin"})
	_, err := c.GetDAG(t.Context(), "d")
	actiontest.RetryDelay(t, err, 0)
	if !strings.Contains(err.Error(), "GET /api/v1/dags/d") {
		t.Errorf("error %v does not say which request", err)
	}
}

func TestPagination(t *testing.T) {
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{MaxPageLimit: 40})
			states := map[string]string{}
			for i := range 250 {
				s := "success"
				if i%5 == 0 {
					s = "failed"
				}
				states[fmt.Sprintf("t%03d", i)] = s
			}
			f.srv.SeedRun("big", "r1", states)
			all, truncated, err := f.client.ListTaskInstances(t.Context(), "big", "r1", nil)
			if err != nil || len(all) != 250 || truncated {
				t.Fatalf("all: %d truncated %v err %v", len(all), truncated, err)
			}
			seen := map[string]bool{}
			for _, ti := range all {
				if seen[ti.TaskID] {
					t.Fatalf("task %s listed twice", ti.TaskID)
				}
				seen[ti.TaskID] = true
				// Each item keeps its own state across pages.
				if ti.StateName() != states[ti.TaskID] {
					t.Errorf("task %s: state %s, want %s", ti.TaskID, ti.StateName(), states[ti.TaskID])
				}
			}
			// The server caps limit at 40: 250 tasks take 7 pages.
			if n := len(f.srv.RequestsTo(http.MethodGet, "/taskInstances")); n != 7 {
				t.Errorf("%d page requests, want 7", n)
			}
			failed, _, err := f.client.ListTaskInstances(t.Context(), "big", "r1", []string{"failed", "upstream_failed"})
			if err != nil || len(failed) != 50 {
				t.Fatalf("failed: %d %v", len(failed), err)
			}
			last := f.srv.RequestsTo(http.MethodGet, "/taskInstances")
			if q := last[len(last)-1].Query["state"]; strings.Join(q, ",") != "failed,upstream_failed" {
				t.Errorf("state query %v", q)
			}
		})
	}
}

func TestListDAGRunsWindow(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			f := newFixture(t, api, aftest.Options{Now: func() time.Time { return now }})
			for i, age := range []time.Duration{time.Hour, 5 * time.Hour, 30 * time.Hour, 50 * time.Hour} {
				f.srv.SeedRunAt("d", fmt.Sprintf("r%d", i), now.Add(-age), map[string]string{"a": "success"})
			}
			runs, truncated, err := f.client.ListDAGRuns(t.Context(), "d", now.Add(-24*time.Hour), 0)
			if err != nil || truncated {
				t.Fatal(err, truncated)
			}
			var ids []string
			for _, r := range runs {
				ids = append(ids, r.RunID)
				if r.LogicalDate == nil || r.State != "success" || r.DAGID != "d" {
					t.Errorf("run %+v", r)
				}
			}
			if got := strings.Join(ids, ","); got != "r0,r1" {
				t.Errorf("runs %s, want r0,r1 (newest first, within 24h)", got)
			}
			runs, truncated, err = f.client.ListDAGRuns(t.Context(), "d", time.Time{}, 3)
			if err != nil || len(runs) != 3 || !truncated {
				t.Errorf("bounded: %d runs, truncated %v, %v", len(runs), truncated, err)
			}
		})
	}
}

// v2 refuses unknown fields and a missing logical_date with 422; the
// client's bodies pass, and the stand-in does refuse a wrong body (so the
// check can fail).
func TestV2StrictBodies(t *testing.T) {
	f := newFixture(t, airflow.APIv2, aftest.Options{})
	f.srv.SeedRun("d", "r1", map[string]string{"a": "failed", "b": "upstream_failed"})
	if _, err := f.client.TriggerDAGRun(t.Context(), "d", "x1", map[string]any{"k": 1}, nil); err != nil {
		t.Fatal(err)
	}
	ld := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	r, err := f.client.TriggerDAGRun(t.Context(), "d", "x2", nil, &ld)
	if err != nil || r.LogicalDate == nil || !r.LogicalDate.Equal(ld) {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := f.client.ClearTaskInstances(t.Context(), "d", airflow.ClearTaskInstances{DryRun: true, DAGRunID: "r1", OnlyFailed: true}); err != nil {
		t.Fatal(err)
	}
	trig := f.srv.RequestsTo(http.MethodPost, "/dagRuns")
	if v, ok := trig[0].Body["logical_date"]; !ok || v != nil {
		t.Errorf("logical_date must be sent, as null: %v", trig[0].Body)
	}

	// The stand-in's validation, by hand.
	tok := f.token(t)
	for _, tc := range []struct{ path, body, want string }{
		{"/api/v2/dags/d/dagRuns", `{"dag_run_id":"y","logical_date":null,"execution_date":null}`, `"extra_forbidden"`},
		{"/api/v2/dags/d/dagRuns", `{"dag_run_id":"y"}`, `"missing"`},
		{"/api/v2/dags/d/clearTaskInstances", `{"dry_run":true,"include_subdags":true}`, `"include_subdags"`},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+tc.path, bytes.NewBufferString(tc.body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		b, _ := json.Marshal(out)
		if resp.StatusCode != 422 || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, resp.StatusCode, b)
		}
	}
	// The client reports a 422 with the server's detail.
	_, err = f.client.TriggerDAGRun(t.Context(), "d", "bad id!", nil, nil)
	actiontest.NonRetryable(t, err, airflow.BadRequestType, "400", "does not match")
}

func (f *fixture) token(t *testing.T) string {
	t.Helper()
	resp, err := http.Post(f.srv.URL+"/auth/token", "application/json", strings.NewReader(`{"username":"admin","password":"admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil || strings.Count(out.AccessToken, ".") != 2 {
		t.Fatalf("/auth/token: %d %+v", resp.StatusCode, out)
	}
	return out.AccessToken
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := airflow.ConfigFromEnv(env(nil))
	if err != nil || cfg != (airflow.Config{}) {
		t.Errorf("empty environment: %+v, %v", cfg, err)
	}
	if _, err := airflow.NewClient(cfg, nil); err == nil || !strings.Contains(err.Error(), airflow.EnvURL) {
		t.Errorf("unset URL: %v", err)
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = airflow.ConfigFromEnv(env(map[string]string{
		airflow.EnvURL: "https://airflow.internal", airflow.EnvAPI: "V2", airflow.EnvUsername: "svc", airflow.EnvPasswordFile: pw,
	}))
	wantCfg := airflow.Config{URL: "https://airflow.internal", API: "v2", Username: "svc", Password: "s3cret"}
	if err != nil || cfg != wantCfg {
		t.Errorf("got %+v, %v; want %+v", cfg, err, wantCfg)
	}
	if s := cfg.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "svc") {
		t.Errorf("String() %q", s)
	}
	for _, bad := range []map[string]string{
		{airflow.EnvURL: "airflow:8080"},
		{airflow.EnvURL: "http://u:p@airflow:8080"},
		{airflow.EnvURL: "http://airflow", airflow.EnvAPI: "v3"},
		{airflow.EnvURL: "http://airflow", airflow.EnvUsername: "svc"},
		{airflow.EnvURL: "http://airflow", airflow.EnvTokenFile: filepath.Join(dir, "missing")},
	} {
		if _, err := airflow.ConfigFromEnv(env(bad)); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
