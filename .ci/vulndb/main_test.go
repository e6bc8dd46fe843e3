package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSemverLess(t *testing.T) {
	ordered := []string{"", "0.0.0-20200101000000-abcdef", "0.1.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.10", "1.10.0", "2.0.0"}
	for i := range ordered {
		for j := range ordered {
			if got, want := semverLess(ordered[i], ordered[j]), i < j; got != want {
				t.Errorf("semverLess(%q, %q) = %v, want %v", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestBuild(t *testing.T) {
	src := t.TempDir()
	write := func(id, body string) {
		if err := os.WriteFile(filepath.Join(src, id+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("GO-2026-0001", `{"id":"GO-2026-0001","modified":"0001-01-01T00:00:00Z","aliases":["CVE-1"],"summary":"s",
		"affected":[{"package":{"name":"example.com/a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"},{"introduced":"1.3.0"},{"fixed":"1.4.1"}]}]},
		{"package":{"name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.26.9"}]}]}]}`)
	write("GO-2026-0002", `{"id":"GO-2026-0002","modified":"2026-02-03T04:05:06Z",
		"affected":[{"package":{"name":"example.com/a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"},{"introduced":"2.0.0"}]}]}]}`)
	out := filepath.Join(t.TempDir(), "db")
	stamp := time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC)
	n, err := build(src, out, stamp)
	if err != nil || n != 2 {
		t.Fatalf("build = %d, %v", n, err)
	}
	read := func(name string, v any) {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var db struct{ Modified time.Time }
	read("index/db.json", &db)
	if !db.Modified.Equal(stamp) {
		t.Errorf("db modified = %v, want %v", db.Modified, stamp)
	}
	var mods []module
	read("index/modules.json", &mods)
	want := []module{
		{Path: "example.com/a", Vulns: []moduleVuln{
			{ID: "GO-2026-0001", Modified: "2026-11-05T23:49:57Z", Fixed: "1.4.1"},
			{ID: "GO-2026-0002", Modified: "2026-02-03T04:05:06Z"}, // reintroduced in 2.0.0: no fix
		}},
		{Path: "stdlib", Vulns: []moduleVuln{{ID: "GO-2026-0001", Modified: "2026-11-05T23:49:57Z", Fixed: "1.26.9"}}},
	}
	if got, _ := json.Marshal(mods); string(got) != mustJSON(t, want) {
		t.Errorf("modules.json = %s\nwant %s", got, mustJSON(t, want))
	}
	var vulns []vulnIndex
	read("index/vulns.json", &vulns)
	if len(vulns) != 2 || vulns[0].ID != "GO-2026-0001" || vulns[0].Aliases[0] != "CVE-1" {
		t.Errorf("vulns.json = %+v", vulns)
	}
	var e map[string]any
	read("ID/GO-2026-0001.json", &e)
	if e["modified"] != "2026-11-05T23:49:57Z" || e["summary"] != "s" {
		t.Errorf("entry = %v", e)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheck(t *testing.T) {
	stream := `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck","scanner_version":"v1.9.0","db":"file:///db","db_last_modified":"2026-11-05T23:49:57Z","go_version":"go1.27.3","scan_level":"symbol","scan_mode":"source"}}
{"osv":{"id":"GO-2026-0001","summary":"Logs secrets in example.com/a"}}
{"osv":{"id":"GO-2026-0002","summary":"Panics in example.com/b"}}
{"osv":{"id":"GO-2026-0003","summary":"Bad in example.com/c"}}
{"finding":{"osv":"GO-2026-0001","trace":[{"module":"example.com/a","version":"v1.0.0"}]}}
{"finding":{"osv":"GO-2026-0001","trace":[{"module":"example.com/a","version":"v1.0.0","package":"example.com/a"}]}}
{"finding":{"osv":"GO-2026-0001","trace":[{"module":"example.com/a","version":"v1.0.0","package":"example.com/a","function":"Open","receiver":"*Driver"},{"module":"example.com/me","package":"example.com/me/x","function":"Run","position":{"filename":"x/x.go","line":7}}]}}
{"finding":{"osv":"GO-2026-0002","fixed_version":"v1.2.0","trace":[{"module":"example.com/b","version":"v1.1.0","package":"example.com/b"}]}}
{"finding":{"osv":"GO-2026-0003","fixed_version":"v2.0.0","trace":[{"module":"example.com/c","version":"v1.0.0","package":"example.com/c","function":"F"},{"module":"example.com/me","package":"example.com/me/y","function":"G"}]}}
`
	var out strings.Builder
	ok, err := check(strings.NewReader(stream), &out, []allowed{{ID: "GO-2026-0001", Module: "example.com/a", Reason: "mitigated", Line: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Errorf("GO-2026-0003 is called and not allowed, yet check passed:\n%s", out.String())
	}
	for _, want := range []string{
		"GO-2026-0001 [called] example.com/a@v1.0.0, no fixed version",
		"e.g. example.com/me/x.Run (x/x.go:7) → example.com/a.Driver.Open",
		"allowed (.ci/govulncheck-allow line 3): mitigated",
		"GO-2026-0002 [imported] example.com/b@v1.1.0, fixed in v1.2.0",
		"GO-2026-0003 [called] example.com/c@v1.0.0, fixed in v2.0.0\n  Bad in example.com/c\n  e.g. example.com/me/y.G → example.com/c.F\n  NOT ALLOWED",
		"summary: 2 called (GO-2026-0001, GO-2026-0003), 1 imported only, 0 required only",
		"govulncheck: FAIL",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// Allowing both passes; an entry that matches nothing fails.
	out.Reset()
	both := []allowed{{ID: "GO-2026-0001", Module: "example.com/a", Reason: "r"}, {ID: "GO-2026-0003", Module: "example.com/c", Reason: "r"}}
	if ok, _ := check(strings.NewReader(stream), &out, both); !ok {
		t.Errorf("everything called is allowed, yet check failed:\n%s", out.String())
	}
	out.Reset()
	stale := append(both, allowed{ID: "GO-2026-0009", Module: "example.com/z", Reason: "r", Line: 9})
	if ok, _ := check(strings.NewReader(stream), &out, stale); ok || !strings.Contains(out.String(), "line 9: GO-2026-0009 in example.com/z is not reachable any more") {
		t.Errorf("a stale allow-list entry passed:\n%s", out.String())
	}
	// Allowed for another module does not count.
	out.Reset()
	if ok, _ := check(strings.NewReader(stream), &out, []allowed{{ID: "GO-2026-0001", Module: "example.com/other", Reason: "r"}, {ID: "GO-2026-0003", Module: "example.com/c", Reason: "r"}}); ok {
		t.Errorf("an entry for another module allowed GO-2026-0001:\n%s", out.String())
	}
	if _, err := check(strings.NewReader(""), &out, nil); err == nil {
		t.Error("empty input: no error")
	}
}
