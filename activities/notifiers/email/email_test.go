package email_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/notifiers/email"
	"github.com/datasev/datasev/activities/notifiers/email/smtptest"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	user = "datasev"
	pass = "s3cret-smtp"
)

var roster = oncall.Roster{
	Team: "data", TimeZone: "UTC",
	People: []oncall.Person{
		{ID: "alice", Name: "Alice Example", Email: "alice@example.com"},
		{ID: "bob", Name: "Bob"},
	},
}

func start(t *testing.T, opts smtptest.Options) *smtptest.Server {
	t.Helper()
	srv, err := smtptest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func config(srv *smtptest.Server) email.Config {
	return email.Config{
		Host: srv.Host, Port: srv.Port, Username: user, Password: pass,
		From: "datasev <incidents@datasev.test>", TLS: email.StartTLS, Timeout: 10 * time.Second,
		Leadership: map[string][]string{
			"SEV1": {"cto@example.com", "vp-data@example.com"},
			"SEV2": {"vp-data@example.com"},
		},
	}
}

func sender(t *testing.T, srv *smtptest.Server, cfg email.Config) *email.Sender {
	t.Helper()
	s, err := email.NewSender(cfg, srv.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func backend(t *testing.T, srv *smtptest.Server, mut func(*email.Config)) *email.LeadershipBackend {
	t.Helper()
	cfg := config(srv)
	if mut != nil {
		mut(&cfg)
	}
	return email.NewLeadershipBackend(sender(t, srv, cfg), roster, nil)
}

func opened(sev string) workflows.Notification {
	return workflows.Notification{
		Kind: workflows.NotifyPost, Incident: "am-orders-stale", Severity: sev,
		Subject: "incident opened: orders table is stale",
		Body:    "**Service:** orders\nLast load 3h ago <script>alert(1)</script>",
	}
}

func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a Temporal application error", err, err)
	}
	return ae
}

func TestLeadershipSEV1GoesToSEV1List(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	b := backend(t, srv, nil)
	if err := b.Deliver(t.Context(), opened("SEV1")); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if got, want := strings.Join(m.To, ","), "cto@example.com,vp-data@example.com"; got != want {
		t.Errorf("envelope to %q, want %q", got, want)
	}
	if m.From != "incidents@datasev.test" {
		t.Errorf("envelope from %q", m.From)
	}
	if !m.TLS || m.AuthUser != user {
		t.Errorf("TLS %v, auth user %q: want STARTTLS and AUTH as %q", m.TLS, m.AuthUser, user)
	}
	if m.Subject != "[SEV1] incident opened: orders table is stale" {
		t.Errorf("subject %q", m.Subject)
	}
	if m.ContentType != "multipart/alternative" {
		t.Errorf("content type %q, want multipart/alternative", m.ContentType)
	}
	if !strings.Contains(m.Text, "Last load 3h ago <script>") || !strings.Contains(m.Text, "Unavailable; most users affected") {
		t.Errorf("text part:\n%s", m.Text)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("html part does not escape the body:\n%s", m.HTML)
	}
	if m.Header.Get("X-Datasev-Incident") != "am-orders-stale" || !strings.HasPrefix(m.MessageID, "<datasev.") ||
		!strings.HasSuffix(m.MessageID, "@datasev.test>") {
		t.Errorf("headers: incident %q, message-id %q", m.Header.Get("X-Datasev-Incident"), m.MessageID)
	}
}

func TestSeverityWithoutListSendsNothing(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	b := backend(t, srv, nil)
	if err := b.Deliver(t.Context(), opened("SEV4")); err != nil {
		t.Fatal(err)
	}
	// Not for leadership at all: an acknowledgement post.
	n := opened("SEV1")
	n.Subject = "alice acknowledged: orders table is stale"
	if err := b.Deliver(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Messages()); got != 0 {
		t.Fatalf("got %d messages, want none", got)
	}
	if got := srv.Connections(); got != 0 {
		t.Errorf("%d SMTP sessions opened, want none", got)
	}
}

func TestStatusUpdateAndLeadershipKinds(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	b := backend(t, srv, nil)
	for _, n := range []workflows.Notification{
		{Kind: workflows.NotifyStatusUpdate, Incident: "inc-1", Severity: "SEV2", Subject: "status update: SEV2 mitigated"},
		{Kind: email.Leadership, Incident: "inc-1", Severity: "sev2", Subject: "severity escalated: SEV3 → SEV2"},
		{Kind: workflows.NotifyPost, Incident: "inc-1", Severity: "SEV2", Subject: "severity de-escalated: SEV2 → SEV3"},
	} {
		if err := b.Deliver(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	if msgs[0].Subject != "[SEV2] Status update: inc-1" || !strings.Contains(msgs[0].Text, "status update: SEV2 mitigated") {
		t.Errorf("status update: subject %q text:\n%s", msgs[0].Subject, msgs[0].Text)
	}
	for _, m := range msgs {
		if strings.Join(m.To, ",") != "vp-data@example.com" {
			t.Errorf("%q went to %v, want the SEV2 list", m.Subject, m.To)
		}
	}
	if msgs[0].Header.Get("References") == "" || msgs[0].Header.Get("References") != msgs[2].Header.Get("References") {
		t.Errorf("messages of one incident do not share a References thread: %q vs %q",
			msgs[0].Header.Get("References"), msgs[2].Header.Get("References"))
	}
}

func TestPageByEmail(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	page := workflows.Notification{
		Kind: workflows.NotifyPage, Incident: "inc-2", Severity: "SEV2", To: "alice", Subject: "approve the revert of a1b2c3",
		Approval: &workflows.ApprovalRef{ID: "revert-1", Action: "github.revert_commit", Approver: "commander",
			Deadline: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)},
	}
	// Off by default.
	if err := backend(t, srv, nil).Deliver(t.Context(), page); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Messages()); got != 0 {
		t.Fatalf("pages by email are off, yet %d messages were sent", got)
	}
	b := backend(t, srv, func(c *email.Config) { c.PagesByEmail = true })
	if err := b.Deliver(t.Context(), page); err != nil {
		t.Fatal(err)
	}
	// Bob has no email address: nothing to send.
	bob := page
	bob.To = "bob"
	if err := b.Deliver(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if strings.Join(m.To, ",") != "alice@example.com" || m.Subject != "[SEV2] Action needed: approve the revert of a1b2c3" {
		t.Errorf("to %v subject %q", m.To, m.Subject)
	}
	for _, want := range []string{"Alice Example, you are paged", "Approval revert-1 is waiting for the commander: github.revert_commit", "2026-01-02 03:04 UTC"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
}

func TestRetriedDeliveryKeepsMessageID(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	b := backend(t, srv, nil)
	n := opened("SEV2")
	for range 2 {
		if err := b.Deliver(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	other := n
	other.Subject = "resolved: orders table is stale"
	if err := b.Deliver(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("got %d messages", len(msgs))
	}
	if msgs[0].MessageID != msgs[1].MessageID {
		t.Errorf("a retried delivery changed the Message-ID: %q then %q", msgs[0].MessageID, msgs[1].MessageID)
	}
	if msgs[0].MessageID == msgs[2].MessageID {
		t.Errorf("two different notifications share Message-ID %q", msgs[0].MessageID)
	}
}

func TestRejectedRecipientIsNonRetryable(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	srv.RejectRecipient("cto@example.com", 550, "No such user")
	err := backend(t, srv, nil).Deliver(t.Context(), opened("SEV1"))
	if err == nil {
		t.Fatal("no error for a 550 recipient")
	}
	ae := appErr(t, err)
	if !ae.NonRetryable() || ae.Type() != email.RejectedType {
		t.Errorf("non-retryable %v type %q, want non-retryable %s", ae.NonRetryable(), ae.Type(), email.RejectedType)
	}
	if !strings.Contains(err.Error(), "cto@example.com") || !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("error names neither the recipient nor the server: %v", err)
	}
	// The rest of the list still gets it.
	msgs := srv.Messages()
	if len(msgs) != 1 || strings.Join(msgs[0].To, ",") != "vp-data@example.com" {
		t.Fatalf("messages %+v, want one to vp-data@example.com", msgs)
	}
	if strings.Contains(err.Error(), "vp-data@example.com") && !strings.Contains(err.Error(), "the other 1 got it") {
		t.Errorf("error blames the delivered recipient: %v", err)
	}
	// A single refused recipient: nothing is sent.
	srv.Reset()
	srv.RejectRecipient("vp-data@example.com", 550, "No such user")
	err = backend(t, srv, nil).Deliver(t.Context(), opened("SEV2"))
	if ae := appErr(t, err); !ae.NonRetryable() || !strings.Contains(err.Error(), "vp-data@example.com") {
		t.Errorf("error %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("a message was accepted")
	}
}

func TestTemporaryFailureIsRetryable(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	srv.RejectRecipient("vp-data@example.com", 451, "Try again later")
	b := backend(t, srv, nil)
	err := b.Deliver(t.Context(), opened("SEV2"))
	if err == nil {
		t.Fatal("no error for a 451 recipient")
	}
	ae := appErr(t, err)
	if ae.NonRetryable() || ae.Type() != email.TemporaryType {
		t.Errorf("non-retryable %v type %q, want retryable %s", ae.NonRetryable(), ae.Type(), email.TemporaryType)
	}
	// Temporal's retry then succeeds.
	srv.AcceptRecipient("vp-data@example.com")
	if err := b.Deliver(t.Context(), opened("SEV2")); err != nil {
		t.Fatal(err)
	}
	srv.FailNextData(452, "Insufficient storage")
	err = b.Deliver(t.Context(), opened("SEV2"))
	if ae := appErr(t, err); ae.NonRetryable() {
		t.Errorf("452 after DATA is non-retryable: %v", err)
	}
	srv.FailNextData(554, "Rejected as spam")
	err = b.Deliver(t.Context(), opened("SEV2"))
	if ae := appErr(t, err); !ae.NonRetryable() {
		t.Errorf("554 after DATA is retryable: %v", err)
	}
}

func TestRefusedCredentialsAreNonRetryable(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	err := backend(t, srv, func(c *email.Config) { c.Password = "wrong" }).Deliver(t.Context(), opened("SEV1"))
	ae := appErr(t, err)
	if !ae.NonRetryable() || ae.Type() != email.RejectedType || !strings.Contains(err.Error(), `"datasev"`) {
		t.Errorf("error %v: non-retryable %v type %q", err, ae.NonRetryable(), ae.Type())
	}
	if srv.AuthFailures() != 1 {
		t.Errorf("server saw %d refused AUTH attempts, want 1", srv.AuthFailures())
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestAuthLogin(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass, Mechanisms: []string{"LOGIN"}})
	if err := backend(t, srv, nil).Deliver(t.Context(), opened("SEV2")); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages(); len(m) != 1 || m[0].AuthUser != user {
		t.Fatalf("messages %+v", m)
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass, ImplicitTLS: true})
	b := backend(t, srv, func(c *email.Config) { c.TLS = email.ImplicitTLS })
	if err := b.Deliver(t.Context(), opened("SEV2")); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages(); len(m) != 1 || !m[0].TLS {
		t.Fatalf("messages %+v", m)
	}
}

func TestTLSFailuresAreNonRetryable(t *testing.T) {
	t.Run("server without STARTTLS", func(t *testing.T) {
		srv := start(t, smtptest.Options{Username: user, Password: pass, NoTLS: true})
		err := backend(t, srv, nil).Deliver(t.Context(), opened("SEV1"))
		if ae := appErr(t, err); !ae.NonRetryable() || ae.Type() != email.TLSType {
			t.Errorf("error %v: type %q", err, ae.Type())
		}
		if len(srv.Messages()) != 0 {
			t.Errorf("sent in clear text")
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := start(t, smtptest.Options{Username: user, Password: pass})
		s, err := email.NewSender(config(srv), nil) // system roots: the self-signed cert is not trusted
		if err != nil {
			t.Fatal(err)
		}
		err = email.NewLeadershipBackend(s, roster, nil).Deliver(t.Context(), opened("SEV1"))
		if ae := appErr(t, err); !ae.NonRetryable() || ae.Type() != email.TLSType {
			t.Errorf("error %v: type %q", err, ae.Type())
		}
	})
	t.Run("clear text to loopback when configured", func(t *testing.T) {
		srv := start(t, smtptest.Options{NoTLS: true})
		b := backend(t, srv, func(c *email.Config) { c.TLS, c.Username, c.Password = email.NoTLS, "", "" })
		if err := b.Deliver(t.Context(), opened("SEV1")); err != nil {
			t.Fatal(err)
		}
		if m := srv.Messages(); len(m) != 1 || m[0].TLS {
			t.Fatalf("messages %+v", m)
		}
	})
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	b := backend(t, srv, nil)
	srv.Close()
	err := b.Deliver(t.Context(), opened("SEV1"))
	if ae := appErr(t, err); ae.NonRetryable() || ae.Type() != email.NetworkType {
		t.Errorf("error %v: non-retryable %v type %q", err, ae.NonRetryable(), ae.Type())
	}
}

func TestNotConfigured(t *testing.T) {
	b := email.NewLeadershipBackend(nil, roster, nil)
	err := b.Deliver(t.Context(), opened("SEV1"))
	if ae := appErr(t, err); !ae.NonRetryable() || ae.Type() != email.NotConfiguredType {
		t.Errorf("error %v", err)
	}
	n := opened("SEV1")
	n.Subject = "runbook x completed"
	if err := b.Deliver(t.Context(), n); err != nil {
		t.Errorf("a post not for email failed on an unconfigured backend: %v", err)
	}
	var s *email.Sender
	if err := s.Send(t.Context(), email.Message{To: []string{"a@b.c"}, Text: "x"}); appErr(t, err).Type() != email.NotConfiguredType {
		t.Errorf("nil sender: %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := email.ConfigFromEnv(env(nil))
	if err != nil || cfg.Configured() {
		t.Fatalf("empty env: %+v %v", cfg, err)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = email.ConfigFromEnv(env(map[string]string{
		email.EnvHost: "smtp.example.com", email.EnvFrom: "datasev <x@example.com>",
		email.EnvUsername: "u", email.EnvPasswordFile: pw,
		"DATASEV_EMAIL_LEADERSHIP_SEV1": "cto@example.com, VP <vp@example.com>,",
		email.EnvPagesByEmail:           "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := email.ConfigFromEnv(env(map[string]string{email.EnvHost: "smtp.example.com", email.EnvPassword: "x", email.EnvPasswordFile: pw})); err == nil ||
		!strings.Contains(err.Error(), "both set") {
		t.Errorf("password and password file both set: %v, want an error", err)
	}
	if cfg.Port != 587 || cfg.TLS != email.StartTLS || cfg.Password != "from-file" || !cfg.PagesByEmail ||
		strings.Join(cfg.Leadership["SEV1"], "|") != `cto@example.com|"VP" <vp@example.com>` {
		t.Errorf("config %+v", cfg)
	}
	cfg, err = email.ConfigFromEnv(env(map[string]string{email.EnvHost: "smtp.example.com", email.EnvFrom: "x@example.com", email.EnvTLS: "tls"}))
	if err != nil || cfg.Port != 465 {
		t.Errorf("tls: port %d, %v", cfg.Port, err)
	}
	for name, m := range map[string]map[string]string{
		"none to a remote host": {email.EnvHost: "smtp.example.com", email.EnvFrom: "x@example.com", email.EnvTLS: "none"},
		"no from":               {email.EnvHost: "smtp.example.com"},
		"bad tls":               {email.EnvHost: "smtp.example.com", email.EnvFrom: "x@example.com", email.EnvTLS: "ssl3"},
		"bad port":              {email.EnvHost: "smtp.example.com", email.EnvFrom: "x@example.com", email.EnvPort: "99999"},
		"bad list":              {email.EnvHost: "smtp.example.com", email.EnvFrom: "x@example.com", "DATASEV_EMAIL_LEADERSHIP_SEV2": "not an address"},
		"missing password file": {email.EnvHost: "smtp.example.com", email.EnvFrom: "x@example.com", email.EnvPasswordFile: "/nonexistent/pw"},
	} {
		if _, err := email.ConfigFromEnv(env(m)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "none to a remote host" && !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := email.ConfigFromEnv(env(map[string]string{email.EnvHost: "127.0.0.1", email.EnvFrom: "x@example.com", email.EnvTLS: "none"})); err != nil {
		t.Errorf("none to loopback refused: %v", err)
	}
	if _, err := email.NewSender(email.Config{Host: "mail.example.com", From: "x@example.com", TLS: email.NoTLS}, nil); err == nil {
		t.Errorf("NewSender accepted clear text to a remote host")
	}
}

func TestIsLeadership(t *testing.T) {
	for subject, want := range map[string]bool{
		"incident opened: x": true, "severity escalated: SEV3 → SEV2": true, "severity de-escalated: a": true,
		"resolved: x": true, "incident closed: x": true, "alice acknowledged: x": false, "runbook r completed": false,
	} {
		if got := email.IsLeadership(workflows.Notification{Kind: workflows.NotifyPost, Subject: subject}); got != want {
			t.Errorf("post %q: %v, want %v", subject, got, want)
		}
	}
	if email.IsLeadership(workflows.Notification{Kind: workflows.NotifyPage, Subject: "incident opened: x"}) {
		t.Errorf("a page counts as leadership")
	}
	if !email.IsLeadership(workflows.Notification{Kind: email.Leadership}) || !email.IsLeadership(workflows.Notification{Kind: workflows.NotifyStatusUpdate}) {
		t.Errorf("leadership and status_update kinds do not count")
	}
}

func TestTemplatesGolden(t *testing.T) {
	sent := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	cases := map[string]workflows.Notification{
		email.TemplateLeadership: opened("SEV1"),
		email.TemplateStatusUpdate: {Kind: workflows.NotifyStatusUpdate, Incident: "am-orders-stale", Severity: "SEV2",
			Subject: "status update: SEV2 mitigated", Body: "Revert merged; the next load runs at 10:00."},
		email.TemplatePage: {Kind: workflows.NotifyPage, Incident: "am-orders-stale", Severity: "SEV2", To: "alice",
			Subject: "approve the revert of a1b2c3", Approval: &workflows.ApprovalRef{ID: "revert-1",
				Action: "github.revert_commit", Approver: "commander", Deadline: sent.Add(30 * time.Minute)}},
	}
	for kind, n := range cases {
		r, err := email.Preview(n, "Alice Example", sent)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != kind {
			t.Errorf("%s rendered with %s", kind, r.Kind)
		}
		got := "Subject: " + r.Subject + "\n\n----- text/plain -----\n" + r.Text + "\n----- text/html -----\n" + r.HTML
		path := filepath.Join("testdata", kind+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", kind, path, got)
		}
	}
	if _, _, _, err := email.Render("nope", email.Data{}); err == nil {
		t.Errorf("unknown template kind rendered")
	}
}

func BenchmarkRender(b *testing.B) {
	d := email.Data{Kind: "post", Incident: "inc", Severity: "SEV1", Subject: "incident opened: x", Body: strings.Repeat("line\n", 50)}
	for b.Loop() {
		if _, _, _, err := email.Render(email.TemplateLeadership, d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeliverSTARTTLS(b *testing.B) {
	srv, err := smtptest.Start(smtptest.Options{Username: user, Password: pass})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	s, err := email.NewSender(config(srv), srv.TLSConfig())
	if err != nil {
		b.Fatal(err)
	}
	be := email.NewLeadershipBackend(s, roster, nil)
	n := opened("SEV1")
	for b.Loop() {
		if err := be.Deliver(b.Context(), n); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRefusedAndTemporaryRecipientsRetry(t *testing.T) {
	srv := start(t, smtptest.Options{Username: user, Password: pass})
	srv.RejectRecipient("cto@example.com", 550, "No such user")
	srv.RejectRecipient("vp-data@example.com", 451, "Greylisted")
	err := backend(t, srv, nil).Deliver(t.Context(), opened("SEV1"))
	ae := appErr(t, err)
	if ae.NonRetryable() || ae.Type() != email.TemporaryType || !strings.Contains(err.Error(), "vp-data@example.com") {
		t.Errorf("error %v: non-retryable %v type %q", err, ae.NonRetryable(), ae.Type())
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("messages accepted: %d", len(srv.Messages()))
	}
}
