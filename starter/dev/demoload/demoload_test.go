package demoload

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func get(t *testing.T, u string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestFailsUntilRecover(t *testing.T) {
	l, err := Start(Options{FailFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := url.Parse(l.HealthURL())
	if err != nil {
		t.Fatal(err)
	}
	if host := u.Hostname(); host != "127.0.0.1" || u.Path != "/health" {
		t.Errorf("health URL %s: want 127.0.0.1 and /health", u)
	}
	status, body := get(t, l.HealthURL())
	if status != http.StatusServiceUnavailable || body["state"] != "failed" || body["error"] != Failure {
		t.Errorf("before recovery: %d %v", status, body)
	}
	if !strings.Contains(body["notice"].(string), "stand-in") {
		t.Errorf("notice %v", body["notice"])
	}
	l.Recover()
	status, body = get(t, l.HealthURL())
	if status != http.StatusOK || body["state"] != "healthy" || body["error"] != nil {
		t.Errorf("after recovery: %d %v", status, body)
	}
	if total, failed := l.Checks(); total != 2 || failed != 1 {
		t.Errorf("checks %d, failed %d; want 2, 1", total, failed)
	}
	resp, err := http.Post(l.HealthURL(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	resp, err = http.Get(strings.TrimSuffix(l.HealthURL(), "/health") + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /other: %d", resp.StatusCode)
	}
}

func TestRecoversOnItsOwn(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)}
	l, err := Start(Options{FailFor: 40 * time.Second, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c.add(39 * time.Second)
	if l.Healthy() {
		t.Error("healthy after 39s")
	}
	if status, _ := get(t, l.HealthURL()); status != http.StatusServiceUnavailable {
		t.Errorf("after 39s: %d", status)
	}
	c.add(time.Second)
	if !l.Healthy() {
		t.Error("still failed after 40s")
	}
	if status, _ := get(t, l.HealthURL()); status != http.StatusOK {
		t.Errorf("after 40s: %d", status)
	}
}
