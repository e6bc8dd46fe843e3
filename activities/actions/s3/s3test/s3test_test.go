package s3test_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/actions/s3/s3test"
)

func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:9000", "example.com:80"} {
		if s, err := s3test.Start(addr); err == nil {
			s.Close()
			t.Errorf("%s: started", addr)
		}
	}
	s := s3test.New()
	defer s.Close()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || s.Env()[s3test.EnvEndpoint] != s.URL {
		t.Errorf("URL %s, env %v", s.URL, s.Env())
	}
}

// The stand-in speaks S3's wire protocol: a plain HTTP listing shows the
// objects with the modification times they were put with, and Deny and
// FailNext answer as S3 does.
func TestWire(t *testing.T) {
	s := s3test.New()
	defer s.Close()
	if err := s.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 7, 4, 0, 0, time.UTC)
	if err := s.PutObjects("lake", s3test.Object{Key: "a/b.txt", Size: 3, Modified: at}); err != nil {
		t.Fatal(err)
	}
	get := func() (int, string) {
		resp, err := http.Get(s.URL + "/lake?list-type=2&prefix=a/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get()
	if code != 200 || !strings.Contains(body, "<Key>a/b.txt</Key>") || !strings.Contains(body, "2026-11-25T07:04:00") || !strings.Contains(body, "<Size>3</Size>") {
		t.Errorf("%d %s", code, body)
	}
	s.FailNext(1, s3test.SlowDown)
	if code, body := get(); code != 503 || !strings.Contains(body, "<Code>SlowDown</Code>") {
		t.Errorf("%d %s", code, body)
	}
	s.Deny("lake")
	if code, body := get(); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("%d %s", code, body)
	}
	if s.ListCalls() != 3 {
		t.Errorf("%d list calls counted, want 3", s.ListCalls())
	}
}

func TestSeedDemo(t *testing.T) {
	s := s3test.New()
	defer s.Close()
	n, err := s.SeedDemo(time.Date(2026, 11, 25, 8, 48, 0, 0, time.UTC))
	if err != nil || n != 69*5+7*9+1 {
		t.Fatalf("%d objects, %v", n, err)
	}
	resp, err := http.Get(s.URL + "/lake?list-type=2&prefix=events/dt=2026-11-25/&delimiter=/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// Hours 00 to 04 of the 25th: hr=05 stopped landing.
	if !strings.Contains(string(b), "<Prefix>events/dt=2026-11-25/hr=04/</Prefix>") || strings.Contains(string(b), "hr=05/") {
		t.Errorf("%s", b)
	}
}
