package gdoc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/lifecycle/gdoc"
	"github.com/datasev/datasev/activities/lifecycle/gdoc/gdoctest"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

const (
	folder   = "0AFolderSharedDrive"
	template = "1TemplateDocId"
)

// Routes as the stand-in counts them.
const (
	rGet   = "GET /v1/documents/{id}"
	rBatch = "POST /v1/documents/{id}:batchUpdate"
	rCopy  = "POST /drive/v3/files/{id}/copy"
	rList  = "GET /drive/v3/files"
	rPerms = "GET /drive/v3/files/{id}/permissions"
	rGrant = "POST /drive/v3/files/{id}/permissions"
)

var t0 = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

func roster() *oncall.Roster {
	return &oncall.Roster{People: []oncall.Person{
		{ID: "alice", Email: "Alice@example.com"},
		{ID: "bob", Email: "bob@example.com"},
		{ID: "carol"}, // no address: not shared
		{ID: "dave", Email: "not an address"},
	}}
}

// setup starts the stand-in with a folder and a template and returns a
// store that authenticates with the stand-in's service account key file,
// through gdoc.New as the worker does, and the log it writes.
func setup(t *testing.T) (*gdoctest.Server, *gdoc.Store, *bytes.Buffer) {
	t.Helper()
	srv := gdoctest.New()
	t.Cleanup(srv.Close)
	srv.AddFolder(folder, "Incidents")
	srv.AddDocument(template, "Incident template", "Incident {{incident_id}}: {{incident_title}}\nScribe's notes go below.\n")
	keyFile, err := srv.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := gdoc.ConfigFromEnv(env(map[string]string{
		gdoc.EnvFolder: folder, gdoc.EnvTemplate: template, gdoc.EnvCredentialsFile: keyFile, gdoc.EnvAPIURL: srv.URL,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := gdoc.New(context.Background(), cfg, roster(), logger, gdoc.Options{Backoff: time.Millisecond, Attempts: 6})
	if err != nil {
		t.Fatal(err)
	}
	return srv, st, &logs
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func report(entries int) workflows.Report {
	r := workflows.Report{
		ID: "inc-orders-late", Title: "Orders table late 🚚", State: workflows.Diagnosing, Severity: "SEV2",
		Service: "orders", Dataset: "analytics.orders", Roles: workflows.Roles{Commander: "alice"},
		AlertCount: 2, TriggeredAt: t0,
	}
	for i := range entries {
		r.Timeline = append(r.Timeline, entry(i))
	}
	return r
}

func entry(i int) workflows.TimelineEntry {
	return workflows.TimelineEntry{At: t0.Add(time.Duration(i) * time.Minute), Who: "alice", Via: "slack", Kind: workflows.KindAct,
		What: fmt.Sprintf("note %d: checked the loader 🔍", i), Why: "line one\nline two\ttabbed\x01"}
}

// only returns the one document in the folder.
func only(t *testing.T, srv *gdoctest.Server) (id, text string) {
	t.Helper()
	ids := srv.Documents(folder)
	if len(ids) != 1 {
		t.Fatalf("folder holds %d documents (%v), want 1", len(ids), ids)
	}
	text, _ = srv.Text(ids[0])
	return ids[0], text
}

// entries counts the paragraphs of text starting "#n " for each n.
func entries(text string) map[int]int {
	out := map[int]int{}
	for _, l := range strings.Split(text, "\n") {
		var n int
		if _, err := fmt.Sscanf(l, "#%d ", &n); err == nil {
			out[n]++
		}
	}
	return out
}

func wantEntriesOnce(t *testing.T, text string, n int) {
	t.Helper()
	got := entries(text)
	for i := 1; i <= n; i++ {
		if got[i] != 1 {
			t.Errorf("entry #%d appears %d times, want once\n%s", i, got[i], text)
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct entries, want %d\n%s", len(got), n, text)
	}
}

func TestCreateShareHeaderAndAppend(t *testing.T) {
	srv, st, _ := setup(t)
	ctx := context.Background()
	r := report(3)
	res, err := st.Sync(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	id, text := only(t, srv)
	if !strings.Contains(res.URL, "/document/d/"+id+"/edit") {
		t.Errorf("URL %q does not name document %s", res.URL, id)
	}
	if name := srv.Name(id); name != "Incident inc-orders-late: Orders table late 🚚" {
		t.Errorf("document name %q", name)
	}
	for _, want := range []string{
		"Incident inc-orders-late: Orders table late 🚚\nScribe's notes go below.\n", // placeholders replaced, template kept
		"\n" + gdoc.HeaderHeading + "\n[SEV2] Orders table late 🚚 (diagnosing)\n",
		"Commander alice · Scribe — · Liaison — · SMEs —\n",
		"\n" + gdoc.TimelineHeading + "\n#1  2026-12-05 09:00:00 UTC  alice (via slack)  [act] note 0: checked the loader 🔍 — line one line two tabbed\n#2 ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("document lacks %q\n%s", want, text)
		}
	}
	wantEntriesOnce(t, text, 3)
	// Headings are headings, the rest normal text.
	paras := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, p := range paras {
		want := "NORMAL_TEXT"
		if p == gdoc.HeaderHeading || p == gdoc.TimelineHeading {
			want = "HEADING_2"
		}
		if got := srv.Style(id, i); got != want {
			t.Errorf("paragraph %d %q: style %s, want %s", i, p, got, want)
		}
	}
	// Shared: the commander writes, the roster reads, no e-mail sent, the
	// person without a valid address left out.
	perms := map[string]string{}
	for _, p := range srv.Permissions(id) {
		if _, dup := perms[p.EmailAddress]; dup {
			t.Errorf("%s has two permissions", p.EmailAddress)
		}
		perms[p.EmailAddress] = p.Role
	}
	if perms["alice@example.com"] != "writer" || perms["bob@example.com"] != "reader" || len(perms) != 3 {
		t.Errorf("permissions %v, want alice writer, bob reader (and the service account)", perms)
	}
	if n := srv.Notifications(); n != 0 {
		t.Errorf("%d sharing e-mails sent, want none", n)
	}

	// The same report again: nothing is written.
	r.Document = res.URL
	writes, grants := srv.Count(rBatch), srv.Count(rGrant)
	if _, err := st.Sync(ctx, r); err != nil {
		t.Fatal(err)
	}
	if srv.Count(rBatch) != writes || srv.Count(rGrant) != grants || srv.Count(rCopy) != 1 {
		t.Errorf("an unchanged report wrote: batchUpdate %d→%d, permissions.create %d→%d, copies %d",
			writes, srv.Count(rBatch), grants, srv.Count(rGrant), srv.Count(rCopy))
	}

	// The incident moves on: a new state, a new SME, two more entries.
	r.State, r.Roles.SMEs = workflows.Mitigating, []string{"bob"}
	r.Timeline = append(r.Timeline, entry(3), entry(4))
	if _, err := st.Sync(ctx, r); err != nil {
		t.Fatal(err)
	}
	_, text = only(t, srv)
	wantEntriesOnce(t, text, 5)
	if !strings.Contains(text, "(mitigating)\n") || strings.Contains(text, "(diagnosing)") {
		t.Errorf("header not rewritten to the new state\n%s", text)
	}
	if strings.Count(text, gdoc.HeaderHeading) != 1 || strings.Count(text, "Commander alice") != 1 {
		t.Errorf("header duplicated\n%s", text)
	}
	if i, j := strings.Index(text, "#3 "), strings.Index(text, "#4 "); i < 0 || j < i {
		t.Errorf("entries out of order\n%s", text)
	}
	for _, p := range srv.Permissions(id) {
		if p.EmailAddress == "bob@example.com" && p.Role != "writer" {
			t.Errorf("bob, now an SME, is %s, want writer", p.Role)
		}
	}
	if got := srv.Count(rCopy); got != 1 {
		t.Errorf("template copied %d times", got)
	}
}

// A lost answer (the request carried out, the connection dropped) to the
// copy, a grant and an append: the retries find what was done and do not
// do it again.
func TestLostResponsesDoNotDuplicate(t *testing.T) {
	srv, st, _ := setup(t)
	srv.LoseResponse(rCopy, 1)
	srv.LoseResponse(rGrant, 1)
	srv.LoseResponse(rBatch, 2) // the structure write and the first append
	r := report(4)
	res, err := st.Sync(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	id, text := only(t, srv)
	wantEntriesOnce(t, text, 4)
	if strings.Count(text, gdoc.HeaderHeading) != 1 || strings.Count(text, gdoc.TimelineHeading) != 1 {
		t.Errorf("headings duplicated\n%s", text)
	}
	seen := map[string]int{}
	for _, p := range srv.Permissions(id) {
		seen[p.EmailAddress]++
	}
	for a, n := range seen {
		if n != 1 {
			t.Errorf("%s granted %d times", a, n)
		}
	}
	if srv.Count(rCopy) != 1 {
		t.Errorf("copies: %d, want 1 (the retry finds the copy)", srv.Count(rCopy))
	}
	// A whole activity retry (Temporal's) after the answer was lost: the
	// workflow never saw the URL; the same report finds the same document.
	srv.LoseResponse(rBatch, 1)
	r.Timeline = append(r.Timeline, entry(4))
	res2, err := st.Sync(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res2.URL != res.URL {
		t.Errorf("second sync found %s, want %s", res2.URL, res.URL)
	}
	_, text = only(t, srv)
	wantEntriesOnce(t, text, 5)
}

// Quotas: 429 rateLimitExceeded and 403 userRateLimitExceeded are
// retried; the writes land once.
func TestRateLimitsAreRetried(t *testing.T) {
	srv, st, _ := setup(t)
	srv.FailRoute(rBatch, 2, gdoctest.Fault{Status: 429, Headers: map[string]string{"Retry-After": "0"}})
	srv.FailRoute(rList, 1, gdoctest.Fault{Status: 403, Reason: "userRateLimitExceeded", Message: "User Rate Limit Exceeded"})
	if _, err := st.Sync(context.Background(), report(2)); err != nil {
		t.Fatal(err)
	}
	_, text := only(t, srv)
	wantEntriesOnce(t, text, 2)
	if srv.Count(rList) < 2 || srv.Count(rBatch) < 3 {
		t.Errorf("list %d, batchUpdate %d requests: the faults were not retried", srv.Count(rList), srv.Count(rBatch))
	}

	// Past the attempts, a quota error is returned retryable, for
	// Temporal to try later.
	srv.FailRoute(rGet, 10, gdoctest.Fault{Status: 429})
	r := report(3)
	_, err := st.Sync(context.Background(), r)
	var ae *temporal.ApplicationError
	if err == nil || (errors.As(err, &ae) && ae.NonRetryable()) {
		t.Fatalf("persistent 429: err %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "429") {
		t.Errorf("error %q does not say 429", err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*gdoctest.Server)
		typ   string
	}{
		{"template gone", func(s *gdoctest.Server) {
			s.FailRoute(rCopy, 1, gdoctest.Fault{Status: 404, Message: "File not found: " + template + "."})
		}, gdoc.NotFoundType},
		{"no access", func(s *gdoctest.Server) { s.FailRoute(rCopy, 1, gdoctest.Fault{Status: 403}) }, gdoc.ForbiddenType},
		{"bad request", func(s *gdoctest.Server) { s.FailRoute(rList, 1, gdoctest.Fault{Status: 400}) }, gdoc.BadRequestType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, st, _ := setup(t)
			tc.fault(srv)
			_, err := st.Sync(context.Background(), report(1))
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != tc.typ {
				t.Fatalf("err %v, want non-retryable %s", err, tc.typ)
			}
			if len(srv.Documents(folder)) != 0 {
				t.Errorf("a document was made despite the error")
			}
		})
	}
	t.Run("no incident ID", func(t *testing.T) {
		_, st, _ := setup(t)
		_, err := st.Sync(context.Background(), workflows.Report{})
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != gdoc.BadReportType {
			t.Fatalf("err %v, want %s", err, gdoc.BadReportType)
		}
	})
}

// A person types in the document between the store's read and its write:
// the write, planned on the old revision, is refused and planned again;
// the person's text stays and every entry is written once.
func TestConcurrentEditIsReplanned(t *testing.T) {
	srv, st, _ := setup(t)
	r := report(2)
	res, err := st.Sync(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	r.Document = res.URL
	id, _ := only(t, srv)
	var once sync.Once
	srv.BeforeEach(func(route string) {
		if route == rBatch {
			once.Do(func() {
				text, _ := srv.Text(id)
				at := strings.Index(text, gdoc.TimelineHeading) + len(gdoc.TimelineHeading) + 1
				srv.Edit(id, len(utf16.Encode([]rune(text[:at]))), 0, "Scribe: the loader's disk filled at 08:55\n")
			})
		}
	})
	r.Timeline = append(r.Timeline, entry(2))
	if _, err := st.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	_, text := only(t, srv)
	wantEntriesOnce(t, text, 3)
	want := "\n" + gdoc.TimelineHeading + "\nScribe: the loader's disk filled at 08:55\n" +
		gdoc.EntryLine(1, r.Timeline[0]) + "\n" + gdoc.EntryLine(2, r.Timeline[1]) + "\n" + gdoc.EntryLine(3, r.Timeline[2]) + "\n"
	if !strings.HasSuffix(text, want) {
		t.Errorf("the timeline is not the person's paragraph and the three entries, whole and in order:\n%s", text)
	}
}

// At closure the postmortem is the document's last section; an entry
// recorded after it goes into the timeline, above it.
func TestPostmortemAttachedAtClosure(t *testing.T) {
	srv, st, _ := setup(t)
	r := report(2)
	res, err := st.Sync(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	r.Document = res.URL
	r.State, r.ClosedAt, r.ResolvedAt = workflows.Closed, t0.Add(time.Hour), t0.Add(50*time.Minute)
	r.Closure = workflows.Closure{RootCause: "the loader's disk filled"}
	r.Timeline = append(r.Timeline, entry(2))
	if _, err := st.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	_, text := only(t, srv)
	pm := strings.Index(text, "\n"+gdoc.PostmortemHeading+"\n")
	if pm < 0 {
		t.Fatalf("no postmortem section\n%s", text)
	}
	tail := text[pm:]
	if !strings.Contains(tail, "the loader's disk filled") {
		t.Errorf("postmortem lacks the root cause\n%s", tail)
	}
	if strings.Index(text, "#3 ") > pm {
		t.Errorf("entry #3 after the postmortem heading\n%s", text)
	}
	wantEntriesOnce(t, text[:pm], 3)

	// Synced again, nothing changes; one more entry lands above the
	// postmortem, which stays whole and single.
	writes := srv.Count(rBatch)
	if _, err := st.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if srv.Count(rBatch) != writes {
		t.Errorf("an unchanged closed report wrote again")
	}
	r.Timeline = append(r.Timeline, entry(3))
	if _, err := st.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	_, text2 := only(t, srv)
	pm2 := strings.Index(text2, "\n"+gdoc.PostmortemHeading+"\n")
	if strings.Count(text2, gdoc.PostmortemHeading) != 1 || strings.Count(text2, "## Root cause") != 1 || strings.Index(text2, "#4 ") > pm2 {
		t.Errorf("after one more entry the postmortem is not single and last\n%s", text2)
	}
	// The postmortem, rewritten, counts the new entry.
	if !strings.Contains(text2[pm2:], "4 entries") || strings.Contains(text2[pm2:], "3 entries") {
		t.Errorf("the postmortem was not rewritten with the new entry\n%s", text2[pm2:])
	}
	wantEntriesOnce(t, text2[:pm2], 4)
}

// Neither the key nor an access token appears in the log, in errors or in
// what the activity returns (the workflow's history).
func TestCredentialsNeverLogged(t *testing.T) {
	srv, st, logs := setup(t)
	srv.FailRoute(rBatch, 1, gdoctest.Fault{Status: 503})
	srv.FailRoute(rGet, 10, gdoctest.Fault{Status: 500})
	res, err := st.Sync(context.Background(), report(2))
	if err == nil {
		t.Fatal("want an error after persistent 500s")
	}
	if srv.Tokens() == 0 {
		t.Fatal("no access token was issued: the test proves nothing")
	}
	key := string(srv.CredentialsJSON())
	secretParts := []string{"ya29.", "PRIVATE KEY", "private_key"}
	for _, l := range strings.Split(key, "\\n") {
		if len(l) > 40 && !strings.Contains(l, "\"") {
			secretParts = append(secretParts, l)
		}
	}
	for _, where := range []struct{ name, text string }{{"log", logs.String()}, {"error", err.Error()}, {"result", fmt.Sprint(res)}} {
		for _, s := range secretParts {
			if strings.Contains(where.text, s) {
				t.Errorf("the %s holds %q", where.name, s)
			}
		}
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the log does not show the retries, so it was not looked at:\n%s", logs.String())
	}
}

// A key file that is not a service account key is refused without
// quoting it.
func TestBadCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/key.json"
	secret := `{"type": "authorized_user", "client_secret": "s3cr3t-value", "refresh_token": "1//r3fr3sh"}`
	if err := writeFile(p, secret); err != nil {
		t.Fatal(err)
	}
	_, err := gdoc.New(context.Background(), gdoc.Config{FolderID: folder, TemplateID: template, CredentialsFile: p}, nil, nil, gdoc.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "r3fr3sh") || !strings.Contains(err.Error(), gdoc.EnvCredentialsFile) {
		t.Fatalf("err %v: want a refusal naming %s and quoting nothing", err, gdoc.EnvCredentialsFile)
	}
}
