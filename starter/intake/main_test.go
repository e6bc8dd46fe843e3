package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datasev/datasev/worker/service/servicetest"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// One dev server and one worker serve the whole package; -short runs the
// tests that need no Temporal.
var (
	srv *devstack.Server
	tc  client.Client
)

func TestMain(m *testing.M) {
	os.Exit(devstack.RunTests(m, func(s *devstack.Server) (func(), error) {
		srv, tc = s, s.Client()
		return servicetest.Start(tc, service.Config{}, nil)
	}))
}

func needTemporal(t *testing.T) {
	t.Helper()
	if tc == nil {
		t.Skip("needs the dev server (not with -short)")
	}
}

// testRoster has one 24-hour shift whose boundary is twelve hours away.
func testRoster(t testing.TB) oncall.Roster {
	t.Helper()
	at := fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)
	r := oncall.Roster{
		Team: "intake-team", TimeZone: "UTC",
		People: []oncall.Person{{ID: "alice"}, {ID: "bob"}, {ID: "carol"}, {ID: "dave"}},
		Shifts: []oncall.Shift{{Name: "all", Start: at, End: at, Commander: "alice", Secondary: "bob", Scribe: "carol", Liaison: "dave"}},
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

// Secrets of the test handler.
const (
	amToken   = "am-token-1"
	genToken  = "generic-token-1"
	dbtSecret = "dbt-secret-1"
	pdSecret  = "pd-secret-1"
)

var testAuth = intake.Auth{AlertmanagerToken: amToken, GenericToken: genToken, DBTCloudSecret: dbtSecret, PagerDutySecret: pdSecret}

func newHandler(t testing.TB, auth intake.Auth) *intake.Handler {
	t.Helper()
	return newHandlerOpts(t, auth, intake.Options{})
}

// newHandlerOpts is newHandler with options (the UI link is set here).
func newHandlerOpts(t testing.TB, auth intake.Auth, opts intake.Options) *intake.Handler {
	t.Helper()
	c := tc
	if c == nil {
		c = offlineClient(t)
	}
	opts.UIURL = "http://127.0.0.1:8233"
	h, err := intake.New(c, testRoster(t), nil, auth, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// offlineClient is a lazy client to nowhere, for tests that never reach
// Temporal.
func offlineClient(t testing.TB) client.Client {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var seq atomic.Int64

// uniq returns a token no other test (or earlier run) uses.
func uniq() string { return fmt.Sprintf("%d-%d", time.Now().UnixNano()%1e9, seq.Add(1)) }

type reply struct {
	code int
	body string
	err  string // the error message of a non-202 answer
	resp intake.Response
	hdr  http.Header
}

func post(t testing.TB, h http.Handler, path string, body []byte, hdr map[string]string) reply {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := reply{code: rec.Code, body: rec.Body.String(), hdr: rec.Header()}
	if rec.Code == http.StatusAccepted {
		if err := json.Unmarshal(rec.Body.Bytes(), &out.resp); err != nil {
			t.Fatalf("202 body %q: %v", out.body, err)
		}
	} else {
		var e struct{ Error string }
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("%d body %q: %v", rec.Code, out.body, err)
		}
		out.err = e.Error
	}
	return out
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// alertCount waits until the incident's status shows want alerts, and
// returns the last count seen. Under -race on a loaded two-core machine a
// workflow task can time out and be retried (10 s each), so the wait is
// generous; a passing run returns at once.
func alertCount(t testing.TB, id string, want int) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	got := -1
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
		cancel()
		if err == nil {
			var st workflows.Status
			if err := v.Get(&st); err == nil {
				got = st.AlertCount
			}
		}
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func status(t testing.TB, id string) workflows.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		t.Fatalf("status of %s: %v", id, err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
