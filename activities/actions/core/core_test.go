package core_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/core"
	"github.com/datasev/datasev/activities/support/actiontest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// env runs the actions through the SDK's activity test environment, as the
// worker registers them.
func env(t *testing.T, deps actions.Deps) *testsuite.TestActivityEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	e := s.NewTestActivityEnvironment()
	actions.New(deps).RegisterWith(e)
	return e
}

func run(t *testing.T, e *testsuite.TestActivityEnvironment, action string, with map[string]any) (runbooks.ActionResult, error) {
	t.Helper()
	return runReq(t, e, action, runbooks.ActionRequest{Incident: "inc-1", Runbook: "rb", Step: "s1", With: with})
}

func runReq(t *testing.T, e *testsuite.TestActivityEnvironment, action string, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(action, req)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	var res runbooks.ActionResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func jsonServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Run-State", "done")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			fmt.Fprint(w, body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPJSONExpectPasses(t *testing.T) {
	srv := jsonServer(t, 200, `{"state":"success","count":5,"ratio":0.5,"runs":[{"id":"a"}]}`)
	e := env(t, actions.Deps{Targets: local(t), HTTPClient: srv.Client()})
	res, err := run(t, e, "core.http", map[string]any{
		"url":    srv.URL + "/api/dag",
		"expect": `body.state == "success" && body.count == 5 && body.count > 4 && body.ratio < 1.0 && size(body.runs) == 1 && headers["x-run-state"] == "done" && status == 200`,
	})
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output
	if out["ok"] != true || out["status"] != float64(200) || out["truncated"] != false {
		t.Fatalf("output %v", out)
	}
	body, _ := out["body"].(map[string]any)
	if body["state"] != "success" || body["count"] != float64(5) {
		t.Fatalf("body %v", out["body"])
	}
	if _, ok := out["elapsed_ms"].(float64); !ok {
		t.Errorf("elapsed_ms %v", out["elapsed_ms"])
	}
	want := "core.http GET " + srv.URL + "/api/dag → 200 ok ("
	if !strings.HasPrefix(res.Summary, want) {
		t.Errorf("summary %q, want prefix %q", res.Summary, want)
	}
}

func TestHTTPJSONExpectFailsWithoutError(t *testing.T) {
	srv := jsonServer(t, 200, `{"state":"running"}`)
	e := env(t, actions.Deps{Targets: local(t), HTTPClient: srv.Client()})
	for expect, reason := range map[string]string{
		`body.state == "success"`: `expect body.state == "success" is false`,
		`body.finished_at != ""`:  `no such key: finished_at`,
	} {
		res, err := run(t, e, "core.http", map[string]any{"url": srv.URL, "expect": expect})
		if err != nil {
			t.Fatalf("%s: a failed expectation is not an activity error: %v", expect, err)
		}
		if res.Output["ok"] != false || res.Output["status"] != float64(200) {
			t.Fatalf("%s: output %v", expect, res.Output)
		}
		if got, _ := res.Output["reason"].(string); !strings.Contains(got, reason) {
			t.Errorf("%s: reason %q, want %q", expect, got, reason)
		}
		if !strings.Contains(res.Summary, "→ 200 not ok") || !strings.Contains(res.Detail, `"running"`) {
			t.Errorf("summary %q detail %q", res.Summary, res.Detail)
		}
	}
}

func TestHTTPStatusMismatchIsNotOK(t *testing.T) {
	srv := jsonServer(t, 500, `{"error":"boom"}`)
	e := env(t, actions.Deps{Targets: local(t), HTTPClient: srv.Client()})
	res, err := run(t, e, "core.http", map[string]any{"url": srv.URL, "expect": `body.state == "success"`})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output["ok"] != false || res.Output["status"] != float64(500) || res.Output["reason"] != "status 500, want 200" {
		t.Fatalf("output %v", res.Output)
	}
	// The status the check expects is configurable.
	res, err = run(t, e, "core.http", map[string]any{"url": srv.URL, "expect_status": 500, "expect": `body.error == "boom"`})
	if err != nil || res.Output["ok"] != true {
		t.Fatalf("expect_status 500: %v %v", res.Output, err)
	}
	// HEAD checks the status alone.
	res, err = run(t, e, "core.http", map[string]any{"url": srv.URL, "method": "head", "expect_status": float64(500)})
	if err != nil || res.Output["ok"] != true || res.Output["body"] != "" || !strings.Contains(res.Summary, "HEAD") {
		t.Fatalf("HEAD: %+v %v", res, err)
	}
}

func TestHTTPTextBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "healthy")
	}))
	t.Cleanup(srv.Close)
	e := env(t, actions.Deps{Targets: local(t), HTTPClient: srv.Client()})
	res, err := run(t, e, "core.http", map[string]any{"url": srv.URL, "expect": `body.startsWith("heal") && body.upperAscii() == "HEALTHY"`})
	if err != nil || res.Output["ok"] != true || res.Output["body"] != "healthy" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestHTTPRedirects(t *testing.T) {
	other := jsonServer(t, 200, `{"state":"success"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"state":"success"}`)
		}
	}))
	t.Cleanup(srv.Close)
	e := env(t, actions.Deps{Targets: local(t), HTTPClient: &http.Client{Timeout: 5 * time.Second}})

	res, err := run(t, e, "core.http", map[string]any{"url": srv.URL + "/here", "expect": `body.state == "success"`})
	if err != nil || res.Output["ok"] != true {
		t.Fatalf("same-host redirect: %+v %v", res, err)
	}
	_, err = run(t, e, "core.http", map[string]any{"url": srv.URL + "/away"})
	actiontest.NonRetryable(t, err, core.RedirectRefusedType, "refused redirect from http://"+strings.TrimPrefix(srv.URL, "http://")+" to http://"+strings.TrimPrefix(other.URL, "http://"))
}

func TestHTTPOversizeBodyIsTruncated(t *testing.T) {
	big := strings.Repeat("x", core.MaxBodyRead+100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"state":"success","pad":"%s"}`, big)
	}))
	t.Cleanup(srv.Close)
	e := env(t, actions.Deps{Targets: local(t), HTTPClient: srv.Client()})
	res, err := run(t, e, "core.http", map[string]any{"url": srv.URL, "expect": `body.startsWith("{\"state\":\"success\"")`})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := res.Output["body"].(string)
	if res.Output["truncated"] != true || len(body) != core.MaxOutputBody || res.Output["ok"] != true {
		t.Fatalf("truncated %v, body %d bytes, ok %v (reason %v)", res.Output["truncated"], len(body), res.Output["ok"], res.Output["reason"])
	}

	// A JSON body within the read bound but too big for the output is
	// checked parsed and kept as text.
	mid := strings.Repeat("y", core.MaxOutputBody)
	srv2 := jsonServer(t, 200, `{"state":"success","pad":"`+mid+`"}`)
	res, err = run(t, e, "core.http", map[string]any{"url": srv2.URL, "expect": `body.state == "success"`})
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := res.Output["body"].(string); res.Output["ok"] != true || res.Output["truncated"] != true || len(body) != core.MaxOutputBody {
		t.Fatalf("output ok %v truncated %v body %d bytes", res.Output["ok"], res.Output["truncated"], len(body))
	}
}

func TestHTTPBadRequestsAreNonRetryable(t *testing.T) {
	e := env(t, actions.Deps{})
	for _, tc := range []struct {
		with map[string]any
		msg  string
	}{
		{map[string]any{"url": "ftp://127.0.0.1/x"}, `scheme "ftp"; want http or https`},
		{map[string]any{"url": "http://[::1"}, `url "http://[::1"`},
		{map[string]any{"url": "/relative"}, `scheme ""`},
		{map[string]any{"url": "http://"}, "no host"},
		{map[string]any{"url": "http://user:secret@127.0.0.1/"}, "carries credentials"},
		{map[string]any{"url": "http://127.0.0.1/", "method": "POST"}, `method "POST"`},
		{map[string]any{"url": "http://127.0.0.1/", "expect": "body.state =="}, "expect:"},
		{map[string]any{"url": "http://127.0.0.1/", "expect": "status + 1"}, "want a bool condition"},
		{map[string]any{"url": "http://127.0.0.1/", "expect_status": 42}, "not an HTTP status"},
	} {
		_, err := run(t, e, "core.http", tc.with)
		actiontest.NonRetryable(t, err, core.BadRequestType, tc.msg)
		if strings.Contains(fmt.Sprint(err), ":secret@") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
	_, err := run(t, e, "core.http", map[string]any{"url": "http://127.0.0.1/", "timeout": "soon"})
	actiontest.NonRetryable(t, err, actions.InvalidInputType, `input "timeout"`)
}

func TestHTTPTransportErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	e := env(t, actions.Deps{Targets: local(t)})
	_, err := run(t, e, "core.http", map[string]any{"url": url})
	actiontest.Retryable(t, err)

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	_, err = run(t, e, "core.http", map[string]any{"url": slow.URL, "timeout": "50ms"})
	actiontest.Retryable(t, err)
}

func TestCompileExpect(t *testing.T) {
	if err := core.CompileExpect(`body.state == "success" && status < 300`); err != nil {
		t.Fatal(err)
	}
	if err := core.CompileExpect(`nope == 1`); err == nil || !strings.Contains(err.Error(), "undeclared reference to 'nope'") {
		t.Fatalf("undeclared variable: %v", err)
	}
}

func TestPageIsCarriedOutByTheWorkflow(t *testing.T) {
	spec, ok := actions.DefaultCatalog().Lookup(core.PageName)
	if !ok || !spec.InWorkflow || spec.Changes || spec.DryRun {
		t.Fatalf("core.page spec %+v: want an action the workflow carries out", spec)
	}
	for _, name := range []string{"to", "role", "message", "detail"} {
		if _, ok := spec.Input(name); !ok {
			t.Errorf("core.page has no input %q", name)
		}
	}
	if in, _ := spec.Input("message"); !in.Required {
		t.Error("core.page message is not required")
	}
}

func TestWaitIsATimer(t *testing.T) {
	in, err := actions.Decode[core.WaitInput](core.WaitName, map[string]any{"duration": "10m"})
	if err != nil || in.Duration.Std() != 10*time.Minute {
		t.Fatalf("%+v %v", in, err)
	}
	if _, err := actions.Decode[core.WaitInput](core.WaitName, map[string]any{}); err == nil {
		t.Fatal("duration is required")
	}
	e := env(t, actions.Deps{})
	if _, err := run(t, e, "core.wait", map[string]any{"duration": "1s"}); err == nil {
		t.Fatal("core.wait must not be an activity")
	}
}

// local is a target policy that lets core.http reach the tests' loopback
// servers.
func local(t *testing.T) *target.Policy {
	t.Helper()
	p, err := target.Parse(map[string]string{
		target.KeyHTTPHosts:          "*",
		target.KeyHTTPAllowAddresses: "127.0.0.0/8, ::1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// counting is a loopback server that counts the requests it gets.
func counting(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch r.URL.Path {
		case "/api/r":
			http.Redirect(w, r, "/admin", http.StatusFound)
			return
		}
		fmt.Fprint(w, "secret-ish")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestHTTPRefusesMetadataLinkLocalAndLoopbackByDefault(t *testing.T) {
	srv, hits := counting(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	e := env(t, actions.Deps{}) // no policy at all
	for url, says := range map[string]string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/": "address 169.254.169.254:80 is cloud metadata",
		"http://[fd00:ec2::254]/latest/meta-data/":                          "address [fd00:ec2::254]:80 is AWS metadata (IPv6)",
		"http://metadata.google.internal/computeMetadata/v1/":               `host "metadata.google.internal" is a cloud metadata service`,
		"http://localhost:7233/":                                            "address 127.0.0.1:7233 is loopback", // resolved, refused at dial
		srv.URL + "/":                                                       fmt.Sprintf("address 127.0.0.1:%d is loopback", port),
		fmt.Sprintf("http://localhost:%d/", port):                           fmt.Sprintf("address 127.0.0.1:%d is loopback", port),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port):                  "is loopback",
		fmt.Sprintf("http://0.0.0.0:%d/", port):                             "is unspecified",
		"http://[fe80::1%25lo]:80/":                                         "is link-local",
	} {
		_, err := run(t, e, "core.http", map[string]any{"url": url})
		actiontest.NonRetryable(t, err, target.RefusedType, "core.http", "target policy:", says)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server got %d requests", n)
	}
}

func TestHTTPPolicyHostsPrefixesAndAddresses(t *testing.T) {
	srv, hits := counting(t)
	other, otherHits := counting(t)
	addr := srv.Listener.Addr().String()
	p, err := target.Parse(map[string]string{
		target.KeyHTTPURLPrefixes:    srv.URL + "/api/",
		target.KeyHTTPHosts:          "localhost",
		target.KeyHTTPAllowAddresses: addr + "," + other.Listener.Addr().String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := env(t, actions.Deps{Targets: p})
	res, err := run(t, e, "core.http", map[string]any{"url": srv.URL + "/api/health"})
	if err != nil || res.Output["ok"] != true {
		t.Fatalf("allowed prefix: %+v %v", res, err)
	}
	if hits.Load() != 1 {
		t.Fatalf("hits %d", hits.Load())
	}
	for url, says := range map[string]string{
		srv.URL + "/admin":          "is not under targets.http.url_prefixes",
		srv.URL + "/api/../admin":   ". or .. segments",
		srv.URL + "/api/%2e%2e/x":   ". or .. segments",
		srv.URL + "/api/r":          `refused redirect to ` + srv.URL + `/admin: target policy`,
		other.URL + "/api/x":        "is not in targets.http.hosts",
		"https://evil.example.com/": `host "evil.example.com" is not in targets.http.hosts`,
		// localhost is an allowed host, but its address is allowed only on
		// the two servers' ports.
		"http://localhost:7233/": "address 127.0.0.1:7233 is loopback; core.http refuses it unless targets.http.allow_addresses names it",
	} {
		_, err := run(t, e, "core.http", map[string]any{"url": url})
		actiontest.NonRetryable(t, err, target.RefusedType, says)
	}
	if hits.Load() != 2 || otherHits.Load() != 0 { // the redirecting /api/r was the second
		t.Errorf("hits %d and %d, want 2 and 0", hits.Load(), otherHits.Load())
	}
}
