package webui

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/worker/service/servicetest"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// screenshots are the pages the test saves, in the order it visits them.
var screenshots = []string{
	"1-incident-details.png",
	"2-incident-history.png",
	"3-runbook-history.png",
	"4-list-by-search-attributes.png",
}

// An incident as its responders see it in the Temporal UI. The demo
// runbook (demo-orders-load) runs against a stand-in health endpoint:
// its check and its verification are activities whose summaries name the
// action and the URL, and it pages the SME, which the incident sends as a
// notification activity. Then the UI shows the incident's current details
// (severity, state, title, roles, runbook, the incident document's link),
// the activity summaries on the incident's and the runbook's event
// histories, and the workflow list filtered by the custom search
// attributes, which keeps out an incident that does not match.
func TestIncidentInTheTemporalUI(t *testing.T) {
	if !isolated(t) {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// Chromium starts while the dev server and the incident do.
	browserc := make(chan browserOrErr, 1)
	go func() {
		b, err := startBrowser(t.Context())
		browserc <- browserOrErr{b, err}
	}()
	t.Cleanup(func() {
		if r := <-browserc; r.err == nil {
			r.b.stop()
		}
	})
	srv := startStack(t, ctx)
	c := srv.Client()
	health := healthStandIn(t)

	set, err := runbooks.Load("", devstack.DemoRunbooks())
	if err == nil {
		err = runbooks.Validate(set, actions.DefaultCatalog())
	}
	if err != nil {
		t.Fatalf("runbooks: %v", err)
	}
	suffix := fmt.Sprint(time.Now().UnixNano())
	d, err := incidents.Declare(ctx, c, incidents.DeclareRequest{
		Alert: workflows.Alert{Source: "generic", Title: "orders load failed", Severity: workflows.SEV2,
			DedupeKey: "ui-orders-" + suffix, Service: "orders", Dataset: "ANALYTICS.RAW.ORDERS",
			Labels: map[string]string{"alertname": "OrdersLoadFailed", "dag": "load_orders", "health_url": health}},
		Runbooks: set,
		Roster:   roster(t),
	})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	id := d.WorkflowID
	// Another incident, which the list's filter must leave out.
	other, err := incidents.Declare(ctx, c, incidents.DeclareRequest{
		Alert: workflows.Alert{Source: "generic", Title: "billing export late", Severity: workflows.SEV3,
			DedupeKey: "ui-billing-" + suffix, Service: "billing"},
		Roster: roster(t),
	})
	if err != nil {
		t.Fatalf("declare the other incident: %v", err)
	}
	if _, err := incidents.ActSigned(ctx, c, alice, id, workflows.ActAcknowledge, workflows.Act{By: "alice", Via: "cli"}); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	st := waitStatus(t, ctx, c, id, func(st workflows.Status) bool {
		return st.State == workflows.Diagnosing && st.RunbookStatus == "completed" && st.Document != ""
	})
	run := runOf(t, ctx, c, id)
	book, bookRun := runbookOf(t, ctx, c, id)

	r := <-browserc
	browserc <- r // for the cleanup
	if r.err != nil {
		t.Fatal(r.err)
	}
	b := r.b.ctx
	ui, ns := srv.UIURL(), srv.Namespace()

	// The current details, kept by the workflow, rendered by the UI, and
	// the static summary the incident started with.
	show(t, b, screenshots[0], historyURL(ui, ns, id, run), "User Metadata",
		"SEV2 · diagnosing — orders load failed",
		"Roles: Commander alice · Scribe carol · Liaison dave · SMEs erin",
		"Affected: orders ANALYTICS.RAW.ORDERS",
		"Runbook: demo-orders-load",
		"Latest finding: recovered: healthy after 1 try: core.http GET "+health+" → 200 ok",
		"SEV2 · orders · orders load failed (generic)", // the static summary of the start
		"Incident document: "+st.Document)

	// The incident's history reads like its log: the page the runbook
	// asked for, the acknowledgement's page, the document's updates.
	show(t, b, screenshots[1], historyURL(ui, ns, id, run), "",
		"page erin: Orders load failed (DAG load_orders): please take a look",
		"page alice: acknowledge: orders load failed",
		"update the incident document of "+id,
		"runbook demo-orders-load for "+id)

	// The runbook's history names each action and its inputs.
	show(t, b, screenshots[2], historyURL(ui, ns, book, bookRun), "",
		"core.http expect_status=200 timeout=10s url="+health,
		"core.http url="+health)

	// The list, filtered by the custom search attributes: this incident,
	// not the other one.
	q := fmt.Sprintf("%s = 'SEV2' AND %s = 'diagnosing' AND %s = 'orders' AND %s = 'demo-orders-load'",
		workflows.SASeverity.GetName(), workflows.SAStatus.GetName(), workflows.SAService.GetName(), workflows.SARunbook.GetName())
	listed(t, ctx, c, fmt.Sprintf("WorkflowId = '%s' AND %s = 'billing'", other.WorkflowID, workflows.SAService.GetName()))
	list := fmt.Sprintf("%s/namespaces/%s/workflows?query=%s", ui, url.PathEscape(ns), url.QueryEscape(q))
	text := show(t, b, screenshots[3], list, "", id)
	if strings.Contains(text, other.WorkflowID) {
		t.Errorf("the list filtered by %s shows %s, a SEV3 billing incident:\n%s", q, other.WorkflowID, clip(text, 4000))
	}
}

// historyURL is the UI's page of a workflow run's event history.
func historyURL(ui, ns, id, run string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", ui, url.PathEscape(ns), url.PathEscape(id), url.PathEscape(run))
}

// startStack starts the dev server with its UI and a production worker on
// it, both stopped at cleanup.
func startStack(t *testing.T, ctx context.Context) *devstack.Server {
	t.Helper()
	// The dev server's log, shown only when the test fails: it logs errors
	// while it starts.
	logs := &tailBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the dev server's log:\n%s", logs.String())
		}
	})
	srv, err := devstack.Start(ctx, devstack.Options{UI: true, Stdout: io.Discard, Stderr: logs,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	stop, err := servicetest.Start(srv.Client(), service.Config{}, nil)
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	t.Cleanup(stop)
	return srv
}

// healthStandIn is the demo loader's health endpoint, healthy: the
// runbook's check passes and its verification ends at the first try. It
// returns the endpoint's URL.
func healthStandIn(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"state":"healthy"}`)
	}))
	t.Cleanup(s.Close)
	return s.URL + "/health"
}

// waitStatus polls the incident's status until ok says it is there.
func waitStatus(t *testing.T, ctx context.Context, c client.Client, id string, ok func(workflows.Status) bool) workflows.Status {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := incidents.Status(ctx, c, id)
		if err == nil && ok(st) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("incident %s never got there: %+v (last error %v)", id, st, err)
		case <-tick.C:
		}
	}
}

// listed waits until the visibility store finds a workflow for query: the
// filtered list in the UI reads the same store.
func listed(t *testing.T, ctx context.Context, c client.Client, query string) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err == nil && len(resp.GetExecutions()) > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no workflow listed for %s (last error %v)", query, err)
		case <-tick.C:
		}
	}
}

// runOf returns the current run of workflow id.
func runOf(t *testing.T, ctx context.Context, c client.Client, id string) string {
	t.Helper()
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

// runbookOf returns the workflow and run IDs of the runbook the incident
// started, read from the incident's history as the UI links it.
func runbookOf(t *testing.T, ctx context.Context, c client.Client, id string) (string, string) {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
			return a.GetWorkflowExecution().GetWorkflowId(), a.GetWorkflowExecution().GetRunId()
		}
	}
	t.Fatalf("incident %s started no runbook", id)
	return "", ""
}

// chromium is a headless Chromium and the context of its one tab.
type chromium struct {
	ctx  context.Context
	stop func()
}

type browserOrErr struct {
	b   chromium
	err error
}

// startBrowser starts headless Chromium, which lives until ctx ends or
// stop is called.
func startBrowser(ctx context.Context) (chromium, error) {
	exe, err := findChromium()
	if err != nil {
		return chromium{}, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1440, 1000),
		// The namespace has only a loopback; these keep the browser from
		// trying anything else in the first place.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancel := chromedp.NewContext(actx)
	stop := func() { cancel(); cancelAlloc() }
	if err := chromedp.Do(tab); err != nil { // starts the browser
		stop()
		return chromium{}, fmt.Errorf("start %s: %w", exe, err)
	}
	return chromium{ctx: tab, stop: stop}, nil
}

// pageText is what the page shows: the document's text and that of its
// same-origin frames.
const pageText = `document.body.innerText + "\n" + [...document.querySelectorAll('iframe')]
	.map(f => f.contentDocument && f.contentDocument.body ? f.contentDocument.body.innerText : '').join("\n")`

// showsAll is a predicate for chromedp.PollFunction: true once the page's
// text holds every string of its argument.
const showsAll = `(want) => { const text = ` + pageText + `; return want.every(w => text.includes(w)) }`

// clickText is a predicate for chromedp.PollFunction: clicks the first link
// or button whose text is its argument and reports whether there was one.
const clickText = `(label) => { const e = [...document.querySelectorAll('a,button')].find(e => e.innerText.trim() === label); if (!e) return false; e.click(); return true }`

// scrollTo is a predicate for chromedp.PollFunction: scrolls the innermost
// element whose text holds its argument into view.
const scrollTo = `(want) => {
	let e = document.body
	for (let next = e; next; e = next || e) {
		next = [...e.children].find(c => c.innerText && c.innerText.includes(want))
	}
	e.scrollIntoView({block: 'center'})
	return true
}`

// waitPage bounds the wait for one page to show what it should.
const waitPage = 30 * time.Second

// show opens u, clicks the link or button labelled click when it is not "",
// waits until the page shows every string of want, saves a screenshot
// under the artifacts directory as name and returns the page's text. When
// the page does not get there it saves the screenshot anyway and fails the
// test with what the page showed.
func show(t *testing.T, ctx context.Context, name, u, click string, want ...string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	var err error
	if click != "" {
		_, err = chromedp.Run(ctx, chromedp.PollFunction[bool](clickText, chromedp.WithPollingArgs(click),
			chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(waitPage)))
		if err != nil {
			err = fmt.Errorf("no link or button %q: %w", click, err)
		}
	}
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.PollFunction[bool](showsAll, chromedp.WithPollingArgs(want),
			chromedp.WithPollingInterval(250*time.Millisecond), chromedp.WithPollingTimeout(waitPage)))
	}
	text, terr := chromedp.Run(ctx, chromedp.Evaluate[string](pageText))
	if terr != nil {
		t.Fatalf("read %s: %v", u, terr)
	}
	if err == nil && len(want) > 0 {
		// The screenshot shows the first thing the test looked for.
		if _, serr := chromedp.Run(ctx, chromedp.PollFunction[bool](scrollTo, chromedp.WithPollingArgs(want[0]), chromedp.WithPollingTimeout(waitPage))); serr != nil {
			t.Logf("scroll to %q: %v", want[0], serr)
		}
	}
	path := screenshot(t, ctx, name)
	if err != nil {
		var missing []string
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = append(missing, w)
			}
		}
		t.Fatalf("%s: %v; the page does not show %q (screenshot %s); it shows:\n%s", u, err, missing, path, clip(text, 4000))
	}
	t.Logf("%s shows %q; screenshot %s", u, want, path)
	return text
}

// screenshot saves the whole page as a PNG file in the artifacts directory.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return path
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
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
// the Commander, has a key; erin is the SME the runbook pages.
func roster(t *testing.T) oncall.Roster {
	t.Helper()
	at := fmt.Sprintf("%02d:00", (time.Now().UTC().Hour()+12)%24)
	r := oncall.Roster{
		Team: "ui", TimeZone: "UTC",
		People: []oncall.Person{{ID: "alice", Keys: []string{alice.PublicKey()}}, {ID: "bob"}, {ID: "carol"}, {ID: "dave"}, {ID: "erin"}},
		Shifts: []oncall.Shift{{Name: "all", Start: at, End: at, Commander: "alice", Secondary: "bob", Scribe: "carol", Liaison: "dave", SMEs: []string{"erin"}}},
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}
