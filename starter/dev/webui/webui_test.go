package webui

import (
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/worker/service/servicetest"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// EnvChromium names the Chromium binary; EnvBrowserTests=1 runs the
// tests (see the package doc for why they are opt-in).
const (
	EnvChromium     = "DATASEV_CHROMIUM"
	EnvBrowserTests = "DATASEV_BROWSER_TESTS"
)

var srv *devstack.Server

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() || os.Getenv(EnvBrowserTests) != "1" {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var err error
	srv, err = devstack.Start(ctx, devstack.Options{UI: true, Stdout: io.Discard, Stderr: os.Stderr,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dev server:", err)
		return 1
	}
	defer srv.Stop()
	stop, err := servicetest.Start(srv.Client(), service.Config{}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	return m.Run()
}

// browser starts headless Chromium for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() || os.Getenv(EnvBrowserTests) != "1" {
		t.Skipf("browser tests run with %s=1 (Chromium's IPv6 check leaves loopback; see the package doc)", EnvBrowserTests)
	}
	exe := os.Getenv(EnvChromium)
	if exe == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				exe = p
				break
			}
		}
	}
	if exe == "" {
		t.Fatalf("%s=1 but no Chromium found (apt-get install chromium, or set %s)", EnvBrowserTests, EnvChromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		// Loopback only: no browser housekeeping traffic, every host name
		// but the loopback's unresolvable, and anything else sent to a
		// proxy on a closed loopback port.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// pageText is what the page shows: the document's text and that of its
// frames (the UI renders Markdown in sandboxed frames).
const pageText = `document.body.innerText + "\n" + [...document.querySelectorAll('iframe')]
	.map(f => f.contentDocument && f.contentDocument.body ? f.contentDocument.body.innerText : '').join("\n")`

// open navigates to u, optionally clicks the link or button whose text is
// click once it is there, and waits until the page shows every one of
// want; it fails the test with what the page showed if it does not.
func open(t *testing.T, ctx context.Context, u, click string, want ...string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("navigate to %s: %v", u, err)
	}
	clicked := click == ""
	var text string
	deadline := time.Now().Add(45 * time.Second)
	for {
		if !clicked {
			res, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
				`(() => { const e = [...document.querySelectorAll('a,button')].find(e => e.innerText.trim() === %q); if (!e) return false; e.click(); return true })()`, click)))
			if err != nil {
				t.Fatalf("click %q: %v", click, err)
			}
			clicked = res
		}
		var err error
		if text, err = chromedp.Run(ctx, chromedp.Evaluate[string](pageText)); err != nil {
			t.Fatalf("read %s: %v", u, err)
		}
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
				break
			}
		}
		if clicked && missing == "" {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (clicked %q: %v) never showed %q; it showed:\n%s", u, click, clicked, missing, clip(text, 4000))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// An incident as its responders see it in the Temporal UI: the current
// details (state, severity, roles, the incident document's link) on the
// User Metadata page, the activities' summaries on the event history, and
// the workflow list filtered by the custom search attributes.
func TestIncidentInTheTemporalUI(t *testing.T) {
	ctx := browser(t)
	c := srv.Client()
	tctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key := fmt.Sprintf("ui-orders-%d", time.Now().UnixNano())
	d, err := incidents.Declare(tctx, c, incidents.DeclareRequest{
		Alert: workflows.Alert{Source: "generic", Title: "orders mart stale since 06:00", Severity: workflows.SEV2,
			DedupeKey: key, Service: "orders", Dataset: "ANALYTICS.MARTS.ORDERS"},
		Roster:  roster(t),
		Options: workflows.Options{DocumentInterval: time.Second},
	})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	id := d.WorkflowID
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, "", "test over") })
	if _, err := incidents.ActSigned(tctx, c, alice, id, workflows.ActAcknowledge, workflows.Act{By: "alice", Via: "cli"}); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	var st workflows.Status
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if st, err = incidents.Status(tctx, c, id); err == nil && st.Document != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no incident document after a minute: %+v %v", st, err)
		}
	}
	desc, err := c.DescribeWorkflowExecution(tctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	run := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	base := fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s", srv.UIURL(), url.PathEscape(srv.Namespace()), url.PathEscape(id), run)

	// The current details, kept by the workflow, rendered by the UI.
	open(t, ctx, base+"/history", "User Metadata",
		"SEV2 · diagnosing — orders mart stale since 06:00",
		"Roles: Commander alice",
		"Incident document: "+st.Document,
		"orders mart stale since 06:00") // the static summary of the start

	// The event history reads like the incident log.
	open(t, ctx, base+"/history", "",
		"update the incident document of "+id,
		"page alice: acknowledge: orders mart stale since 06:00")

	// The list, filtered by the custom search attributes.
	q := url.QueryEscape("DatasevSeverity = 'SEV2' AND DatasevStatus = 'diagnosing' AND DatasevService = 'orders'")
	open(t, ctx, fmt.Sprintf("%s/namespaces/%s/workflows?query=%s", srv.UIURL(), url.PathEscape(srv.Namespace()), q), "", id)
}

// alice signs her acts, as the CLI does with her key.
var alice = func() *incidents.Signer {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	return incidents.NewSigner(k)
}()

// roster has one 24-hour shift whose boundary is twelve hours away; alice,
// the Commander, has a key.
func roster(t *testing.T) oncall.Roster {
	t.Helper()
	at := fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)
	r := oncall.Roster{
		Team: "ui", TimeZone: "UTC",
		People: []oncall.Person{{ID: "alice", Keys: []string{alice.PublicKey()}}, {ID: "bob"}, {ID: "carol"}, {ID: "dave"}},
		Shifts: []oncall.Shift{{Name: "all", Start: at, End: at, Commander: "alice", Secondary: "bob", Scribe: "carol", Liaison: "dave"}},
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}
