package smtptest_test

import (
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/notifiers/email/smtptest"
)

const multipartMsg = "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?UTF-8?q?caf=C3=A9?=\r\n" +
	"Message-ID: <m1@example.com>\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=XYZ\r\n\r\n" +
	"--XYZ\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello =\r\nworld=3D\r\n" +
	"--XYZ\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+aGk8L3A+\r\n" +
	"--XYZ--\r\n"

// The standard library's SMTP client exercises STARTTLS, AUTH PLAIN and the
// parsing of a multipart message.
func TestStdlibClient(t *testing.T) {
	srv, err := smtptest.Start(smtptest.Options{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@example.com"); err == nil {
		t.Errorf("MAIL before AUTH accepted")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Errorf("AUTH offered before STARTTLS")
	}
	if err := c.StartTLS(srv.TLSConfig()); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "u", "bad", srv.Host)); err == nil {
		t.Fatal("bad password accepted")
	}
	// net/smtp quits after a refused AUTH: start again.
	c, err = smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.TLSConfig()); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "u", "p", srv.Host)); err != nil {
		t.Fatal(err)
	}
	srv.RejectRecipient("gone@example.com", 550, "")
	var te *textproto.Error
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("gone@example.com"); !errors.As(err, &te) || te.Code != 550 {
		t.Errorf("rejected recipient: %v", err)
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(multipartMsg)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "a@example.com" || strings.Join(m.To, ",") != "b@example.com" || !m.TLS || m.AuthUser != "u" {
		t.Errorf("envelope %+v", m)
	}
	if m.Subject != "café" || m.MessageID != "<m1@example.com>" || m.Text != "hello world=" || m.HTML != "<p>hi</p>" {
		t.Errorf("subject %q id %q text %q html %q", m.Subject, m.MessageID, m.Text, m.HTML)
	}
	if srv.AuthFailures() != 1 {
		t.Errorf("auth failures %d", srv.AuthFailures())
	}
	srv.FailNextData(451, "")
	_ = c.Mail("a@example.com")
	_ = c.Rcpt("b@example.com")
	w, err = c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(multipartMsg))
	if err := w.Close(); !errors.As(err, &te) || te.Code != 451 {
		t.Errorf("injected DATA fault: %v", err)
	}
	if len(srv.Messages()) != 1 {
		t.Errorf("a refused message was recorded")
	}
}
