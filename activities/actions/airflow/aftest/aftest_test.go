package aftest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/actions/airflow/aftest"
)

// call sends a raw request and decodes the JSON answer.
func call(t *testing.T, method, url, auth, body string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case auth == "basic":
		req.SetBasicAuth("admin", "admin")
	case auth != "":
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func token(t *testing.T, srv *aftest.Server) string {
	t.Helper()
	status, _, out := call(t, http.MethodPost, srv.URL+"/auth/token", "", `{"username":"admin","password":"admin"}`)
	tok, _ := out["access_token"].(string)
	if status != http.StatusCreated || tok == "" {
		t.Fatalf("/auth/token: %d %v", status, out)
	}
	return tok
}

func TestVersionsAndErrorShapes(t *testing.T) {
	srv := aftest.New(aftest.Options{})
	defer srv.Close()
	for _, v := range []string{"v1", "v2"} {
		if status, _, out := call(t, http.MethodGet, srv.URL+"/api/"+v+"/version", "", ""); status != 200 || out["version"] == nil {
			t.Errorf("%s version: %d %v", v, status, out)
		}
	}
	// v1: problem+json.
	status, hdr, out := call(t, http.MethodGet, srv.URL+"/api/v1/dags/x", "", "")
	if status != 401 || hdr.Get("Content-Type") != "application/problem+json" || out["title"] != "Unauthorized" || out["status"] != float64(401) {
		t.Errorf("v1 401: %d %s %v", status, hdr.Get("Content-Type"), out)
	}
	for _, k := range []string{"detail", "status", "title", "type"} {
		if _, ok := out[k]; !ok {
			t.Errorf("v1 problem has no %q: %v", k, out)
		}
	}
	status, _, out = call(t, http.MethodGet, srv.URL+"/api/v1/dags/x", "basic", "")
	if status != 404 || out["title"] != "DAG not found" || !strings.Contains(out["detail"].(string), "'x'") {
		t.Errorf("v1 404: %d %v", status, out)
	}
	// v2: FastAPI's {"detail"}.
	status, _, out = call(t, http.MethodGet, srv.URL+"/api/v2/dags/x", "", "")
	if status != 401 || out["detail"] != "Not authenticated" || len(out) != 1 {
		t.Errorf("v2 401: %d %v", status, out)
	}
	status, _, out = call(t, http.MethodGet, srv.URL+"/api/v2/dags/x", "basic", "")
	if status != 401 {
		t.Errorf("v2 takes no basic auth: %d %v", status, out)
	}
	status, _, _ = call(t, http.MethodPost, srv.URL+"/auth/token", "", `{"username":"admin","password":"nope"}`)
	if status != 401 {
		t.Errorf("/auth/token with a bad password: %d", status)
	}
	tok := token(t, srv)
	status, _, out = call(t, http.MethodGet, srv.URL+"/api/v2/dags/x", tok, "")
	if status != 404 || !strings.Contains(out["detail"].(string), "`x`") {
		t.Errorf("v2 404: %d %v", status, out)
	}
	status, _, _ = call(t, http.MethodGet, srv.URL+"/api/v1/dags/x", tok, "")
	if status != 401 {
		t.Errorf("a v2 JWT on v1: %d", status)
	}
	// The password never reaches the request log.
	for _, r := range srv.Requests() {
		if r.Path == "/auth/token" && r.Body != nil {
			t.Errorf("logged the token request's body: %v", r.Body)
		}
	}
}

func TestOneVersionOnly(t *testing.T) {
	srv := aftest.New(aftest.Options{Version: "v1"})
	defer srv.Close()
	if status, _, _ := call(t, http.MethodGet, srv.URL+"/api/v2/version", "", ""); status != 404 {
		t.Errorf("v1-only server answers v2: %d", status)
	}
	if status, _, _ := call(t, http.MethodPost, srv.URL+"/auth/token", "", `{"username":"admin","password":"admin"}`); status != 404 {
		t.Errorf("v1-only server issues tokens: %d", status)
	}
}

func TestPaginationAndFilters(t *testing.T) {
	srv := aftest.New(aftest.Options{MaxPageLimit: 2})
	defer srv.Close()
	srv.SeedRun("d", "r1", map[string]string{"a": "failed", "b": "upstream_failed", "c": "success", "e": "upstream_failed"})
	base := srv.URL + "/api/v1/dags/d/dagRuns/r1/taskInstances"
	status, _, out := call(t, http.MethodGet, base+"?limit=50&offset=1&state=failed&state=upstream_failed", "basic", "")
	tis, _ := out["task_instances"].([]any)
	if status != 200 || out["total_entries"] != float64(3) || len(tis) != 2 {
		t.Fatalf("%d %v", status, out)
	}
	if id := tis[0].(map[string]any)["task_id"]; id != "b" {
		t.Errorf("offset 1 starts at %v, want b", id)
	}
	status, _, out = call(t, http.MethodGet, base+"?limit=x", "basic", "")
	if status != 400 || out["title"] != "Bad Request" {
		t.Errorf("bad limit: %d %v", status, out)
	}
	status, _, out = call(t, http.MethodGet, strings.Replace(base, "/v1/", "/v2/", 1)+"?offset=-1", token(t, srv), "")
	if detail, _ := out["detail"].([]any); status != 422 || len(detail) != 1 {
		t.Errorf("v2 bad offset: %d %v", status, out)
	}
}

func TestClearDefaultsToDryRunAndOnlyFailed(t *testing.T) {
	srv := aftest.New(aftest.Options{})
	defer srv.Close()
	srv.SeedDAG("d", false, "a", "b", "c")
	srv.SeedRun("d", "r1", map[string]string{"a": "success", "b": "failed", "c": "upstream_failed"})
	url := srv.URL + "/api/v1/dags/d/clearTaskInstances"
	status, _, out := call(t, http.MethodPost, url, "basic", `{"dag_run_id":"r1"}`)
	tis, _ := out["task_instances"].([]any)
	if status != 200 || len(tis) != 2 {
		t.Fatalf("%d %v", status, out)
	}
	if ref := tis[0].(map[string]any); ref["task_id"] != "b" || ref["dag_run_id"] != "r1" || ref["execution_date"] == nil {
		t.Errorf("v1 reference %v", ref)
	}
	if rs, _ := srv.Run("d", "r1"); rs.State != "failed" || rs.Tasks["b"] != "failed" {
		t.Fatalf("the default is a dry run; state %+v", rs)
	}
	// only_failed false reaches the successful task too.
	_, _, out = call(t, http.MethodPost, url, "basic", `{"dag_run_id":"r1","only_failed":false}`)
	if tis, _ := out["task_instances"].([]any); len(tis) != 3 {
		t.Errorf("only_failed false: %v", out)
	}
	// v2 answers full task instances with total_entries.
	_, _, out = call(t, http.MethodPost, strings.Replace(url, "/v1/", "/v2/", 1), token(t, srv), `{"dag_run_id":"r1","dry_run":false}`)
	tis, _ = out["task_instances"].([]any)
	if len(tis) != 2 || out["total_entries"] != float64(2) || tis[0].(map[string]any)["state"] != "failed" {
		t.Errorf("v2 clear: %v", out)
	}
	rs, _ := srv.Run("d", "r1")
	if rs.State != "queued" || rs.Tasks["b"] != "" || rs.Tasks["a"] != "success" {
		t.Errorf("after the clear: %+v", rs)
	}
}

func TestTriggerConflictsAndScheduler(t *testing.T) {
	srv := aftest.New(aftest.Options{})
	defer srv.Close()
	srv.SeedDAG("d", false, "a", "b", "c")
	srv.FailTasks("d", "b")
	// v1 is permissive about fields it does not know.
	status, _, out := call(t, http.MethodPost, srv.URL+"/api/v1/dags/d/dagRuns", "basic", `{"dag_run_id":"r1","conf":{"k":"v"},"whatever":1}`)
	if status != 200 || out["state"] != "queued" || out["dag_run_id"] != "r1" || out["execution_date"] == nil {
		t.Fatalf("trigger: %d %v", status, out)
	}
	status, _, out = call(t, http.MethodPost, srv.URL+"/api/v1/dags/d/dagRuns", "basic", `{"dag_run_id":"r1"}`)
	if status != 409 || out["title"] != "Conflict" || !strings.Contains(out["detail"].(string), "already exists") {
		t.Errorf("v1 duplicate: %d %v", status, out)
	}
	status, _, out = call(t, http.MethodPost, srv.URL+"/api/v2/dags/d/dagRuns", token(t, srv), `{"dag_run_id":"r1","logical_date":null}`)
	if detail, _ := out["detail"].(map[string]any); status != 409 || detail["reason"] != "Unique constraint violation" {
		t.Errorf("v2 duplicate: %d %v", status, out)
	}

	srv.Advance()
	if rs, _ := srv.Run("d", "r1"); rs.State != "running" || rs.Tasks["a"] != "queued" {
		t.Errorf("after one step: %+v", rs)
	}
	srv.Advance()
	rs, _ := srv.Run("d", "r1")
	if rs.State != "failed" || rs.Tasks["a"] != "success" || rs.Tasks["b"] != "failed" || rs.Tasks["c"] != "upstream_failed" || rs.Conf["k"] != "v" {
		t.Errorf("after two steps: %+v", rs)
	}
	srv.Advance() // finished runs stay put
	if rs2, _ := srv.Run("d", "r1"); rs2.State != "failed" {
		t.Errorf("a finished run moved: %+v", rs2)
	}
}

func TestFailNext(t *testing.T) {
	srv := aftest.New(aftest.Options{})
	defer srv.Close()
	srv.FailNext(2, http.StatusTooManyRequests, "3")
	for range 2 {
		status, hdr, _ := call(t, http.MethodGet, srv.URL+"/api/v1/version", "", "")
		if status != 429 || hdr.Get("Retry-After") != "3" {
			t.Errorf("fault: %d %q", status, hdr.Get("Retry-After"))
		}
	}
	if status, _, _ := call(t, http.MethodGet, srv.URL+"/api/v1/version", "", ""); status != 200 {
		t.Errorf("after the faults: %d", status)
	}
}

func TestSeedDemo(t *testing.T) {
	srv := aftest.New(aftest.Options{})
	defer srv.Close()
	srv.SeedDemo()
	rs, ok := srv.Run(aftest.DemoDAG, aftest.DemoFailedRun)
	if !ok || rs.State != "failed" || rs.Tasks["load_orders"] != "failed" {
		t.Fatalf("%+v", rs)
	}
	status, _, out := call(t, http.MethodGet, srv.URL+"/api/v1/dags/"+aftest.DemoPausedDAG, "basic", "")
	if status != 200 || out["is_paused"] != true {
		t.Errorf("%d %v", status, out)
	}
	if runs := srv.Runs(aftest.DemoDAG); len(runs) != 2 {
		t.Errorf("runs %v", runs)
	}
}
