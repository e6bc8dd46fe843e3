package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/actions/s3/s3test"
)

// The whole stack with --no-demo and the user's own S3 endpoint
// (DATASEV_S3_ENDPOINT, here an S3 stand-in of the test's): the intake
// starts, every curl line it prints is accepted as printed, an alert whose
// runbook lists S3 makes the dev worker list the user's endpoint, and
// cancelling the context (what Ctrl-C does) stops everything with exit 0.
func TestStackWithYourS3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	for _, tool := range []string{"sh", "curl", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the printed curl lines need %s: %v", tool, err)
		}
	}
	keepProcessEnv(t)
	yours := s3test.New()
	t.Cleanup(yours.Close)
	if _, err := yours.SeedDemo(time.Now()); err != nil {
		t.Fatal(err)
	}
	user := map[string]string{"DATASEV_S3_ENDPOINT": yours.URL, "DATASEV_S3_REGION": s3test.Region}
	getenv := func(k string) string {
		if v, ok := user[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "DATASEV_") && k != "DATASEV_TEMPORAL_CLI" || strings.HasPrefix(k, "TEMPORAL_") {
			return "" // nothing of the machine's own configuration
		}
		return os.Getenv(k)
	}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--no-demo", "--port", "0", "--ui-port", "0", "--intake-addr", "127.0.0.1:0", "--state", t.TempDir()},
			getenv, &stdout, &stderr)
	}()
	waitFor(t, done, &stdout, &stderr, "press Ctrl-C to stop", 5*time.Minute)
	out := stdout.String()
	for _, want := range []string{"yours: s3 (DATASEV_S3_ENDPOINT)", "demo          none (--no-demo)", "/alerts/pagerduty"} {
		if !strings.Contains(out, want) {
			t.Errorf("the startup lines miss %q:\n%s", want, out)
		}
	}

	// Each printed curl line, run by the shell as a reader would paste it.
	lines := curlLines(out)
	if len(lines) != 4 {
		t.Fatalf("%d curl lines, want one per endpoint (4):\n%s", len(lines), out)
	}
	for _, line := range lines {
		b, err := exec.Command("sh", "-c", line).CombinedOutput()
		if err != nil || !strings.Contains(string(b), `"incidents"`) {
			t.Errorf("%s\n→ %v: %s", line, err, b)
		}
	}

	// The s3-partition-missing runbook lists the bucket: on the user's S3.
	m := regexp.MustCompile(`Authorization: Bearer (\S+)" -d '\{"title"[^']*' (http://\S+)/alerts`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generic curl line in:\n%s", out)
	}
	before := yours.ListCalls()
	body := `{"title":"events partition missing","severity":"SEV3","dedupe_key":"events-yours","source":"airflow",` +
		`"labels":{"alertname":"S3PartitionMissing","bucket":"` + s3test.DemoBucket + `","prefix":"` + s3test.DemoEventsPrefix + `","layout":"dt=YYYY-MM-DD/hr=HH","cadence":"1h"}}`
	req, err := http.NewRequest(http.MethodPost, m[2]+"/alerts", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+m[1])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("alert: %s", resp.Status)
	}
	for deadline := time.Now().Add(time.Minute); yours.ListCalls() == before; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the dev worker never listed your S3 endpoint %s; stderr:\n%s", yours.URL, stderr.String())
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after Ctrl-C, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("dev did not stop within a minute of Ctrl-C")
	}
	for _, want := range []string{"stopping the worker…", "stopping the dev server…"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout misses %q", want)
		}
	}
}

// curlLines are the command lines dev printed under "try it".
func curlLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "curl ") || strings.HasPrefix(l, "body=") {
			lines = append(lines, l)
		}
	}
	return lines
}

// waitFor waits until stdout has want, failing if the command ends first.
func waitFor(t *testing.T, done <-chan int, stdout, stderr *syncBuffer, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(stdout.String(), want) {
		select {
		case code := <-done:
			t.Fatalf("dev exited %d before %q\nstdout:\n%s\nstderr:\n%s", code, want, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("no %q within %s\nstdout:\n%s\nstderr:\n%s", want, timeout, stdout.String(), stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
