package email

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/mdtext"
)

// Types of the application errors Send returns.
const (
	// NotConfiguredType: the worker has no SMTP server configured.
	NotConfiguredType = "EmailNotConfigured"
	// BadMessageType: the message cannot be sent as written (no
	// recipients, an invalid address).
	BadMessageType = "EmailBadMessage"
	// RejectedType: the server answered with a permanent (5xx) error: a
	// refused recipient or sender, refused credentials. Not retried.
	RejectedType = "SMTPRejected"
	// TLSType: the TLS handshake failed or the server offers no STARTTLS.
	// Not retried: the configuration must change.
	TLSType = "SMTPTLS"
	// TemporaryType: the server answered with a temporary (4xx) error.
	// Retried.
	TemporaryType = "SMTPTemporary"
	// NetworkType: the server could not be reached or the connection
	// broke. Retried.
	NetworkType = "SMTPNetwork"
)

// Message is one email to send.
type Message struct {
	// To lists the recipients. Required.
	To []string
	// Subject is the subject line.
	Subject string
	// Text is the text/plain body. Required.
	Text string
	// HTML is the text/html alternative. Optional.
	HTML string
	// MessageID is the Message-ID without angle brackets. Derive it with
	// MessageID so a retried delivery carries the same one. Optional: a
	// random one when empty.
	MessageID string
	// Incident, when set, threads the message: it is named in an
	// X-Datasev-Incident header and in References, so mail clients group
	// an incident's messages.
	Incident string
}

// Sender sends email over SMTP with go-mail. It is safe for concurrent
// use: each Send opens its own connection.
type Sender struct {
	cfg       Config
	tlsConfig *tls.Config
	now       func() time.Time
}

// NewSender returns a Sender for cfg, which must be Configured and valid.
// tlsConfig may be nil for the system's roots; its ServerName is set to
// cfg.Host when empty, and verification is never turned off here.
func NewSender(cfg Config, tlsConfig *tls.Config) (*Sender, error) {
	if !cfg.Configured() {
		return nil, fmt.Errorf("email: not configured: %s is unset", EnvHost)
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
		if cfg.TLS == ImplicitTLS {
			cfg.Port = DefaultTLSPort
		}
	}
	if cfg.TLS == "" {
		cfg.TLS = StartTLS
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var tc *tls.Config
	if tlsConfig != nil {
		tc = tlsConfig.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	return &Sender{cfg: cfg, tlsConfig: tc, now: time.Now}, nil
}

// Config returns the sender's configuration.
func (s *Sender) Config() Config { return s.cfg }

// MessageID derives a stable Message-ID (without angle brackets) from an
// incident and a delivery key, in the domain of from: the same incident
// and key always give the same ID, so a retried delivery can be recognised
// by the receiving side.
func MessageID(incident, key, from string) string {
	sum := sha256.Sum256([]byte(incident + "\x00" + key))
	return "datasev." + hex.EncodeToString(sum[:12]) + "@" + domainOf(from)
}

// threadID is the Message-ID-like token an incident's messages reference.
func threadID(incident, from string) string {
	sum := sha256.Sum256([]byte(incident))
	return "datasev.incident." + hex.EncodeToString(sum[:12]) + "@" + domainOf(from)
}

func domainOf(from string) string {
	addr := from
	if a, err := parseAddr(from); err == nil {
		addr = a
	}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i+1 < len(addr) {
		return strings.Trim(addr[i+1:], "> ")
	}
	return "datasev.invalid"
}

// Send delivers m through the configured SMTP server, as one message to
// all of m.To. When the server refuses some of several recipients
// permanently, the others each get their own copy (same Message-ID) and
// the non-retryable error names the refused ones. See the package
// documentation for how errors are typed.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if s == nil {
		return temporal.NewNonRetryableApplicationError(
			"email: the worker has no SMTP server; set "+EnvHost+" and "+EnvFrom, NotConfiguredType, nil)
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	client, err := mail.NewClient(s.cfg.Host, s.clientOptions()...)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("email: smtp client: "+err.Error(), BadMessageType, err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	var se *mail.SendError
	if err != nil && len(m.To) > 1 && errors.As(err, &se) && se.Reason == mail.ErrSMTPRcptTo && !se.IsTemp() {
		// One bad address must not silence the rest of the list: send
		// each recipient a copy of their own, and report the refused.
		return s.sendEach(ctx, client, m)
	}
	if err != nil {
		return s.classify(m, err)
	}
	return nil
}

// sendEach sends m to each recipient separately in one session (same
// Message-ID), after the server refused one of them permanently. Any
// temporary failure makes the whole delivery retryable; otherwise the
// permanently refused recipients are reported, non-retryably, once the
// others have theirs.
func (s *Sender) sendEach(ctx context.Context, client *mail.Client, m Message) error {
	msgs := make([]*mail.Msg, 0, len(m.To))
	for _, to := range m.To {
		one := m
		one.To = []string{to}
		msg, err := s.build(one)
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	err := client.DialAndSendWithContext(ctx, msgs...)
	if err == nil {
		return nil
	}
	var refused, temporary []string
	var firstTemp error
	for i, msg := range msgs {
		if !msg.HasSendError() {
			continue
		}
		if msg.SendErrorIsTemp() {
			temporary = append(temporary, m.To[i])
			if firstTemp == nil {
				firstTemp = msg.SendError()
			}
		} else {
			refused = append(refused, m.To[i])
		}
	}
	server := fmt.Sprintf("%s:%d", s.cfg.Host, s.cfg.Port)
	switch {
	case len(temporary) > 0:
		return temporal.NewApplicationError(
			fmt.Sprintf("email to %s: %s answered a temporary error: %v", strings.Join(temporary, ", "), server, firstTemp),
			TemporaryType, err)
	case len(refused) > 0:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("email: %s refused recipient(s) %s permanently; the other %d got it: %v",
				server, strings.Join(refused, ", "), len(m.To)-len(refused), err), RejectedType, err)
	}
	return s.classify(m, err)
}

func (s *Sender) clientOptions() []mail.Option {
	opts := []mail.Option{
		mail.WithPort(s.cfg.Port),
		mail.WithTimeout(s.cfg.Timeout),
		mail.WithTLSConfig(s.tlsConfig),
	}
	switch s.cfg.TLS {
	case ImplicitTLS:
		opts = append(opts, mail.WithSSL())
	case NoTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(s.cfg.Username),
			mail.WithPassword(s.cfg.Password))
	}
	return opts
}

func (s *Sender) build(m Message) (*mail.Msg, error) {
	bad := func(format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError("email: "+fmt.Sprintf(format, args...), BadMessageType, nil)
	}
	if len(m.To) == 0 {
		return nil, bad("message %q has no recipients", m.Subject)
	}
	if strings.TrimSpace(m.Text) == "" {
		return nil, bad("message %q has no text body", m.Subject)
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(s.cfg.From); err != nil {
		return nil, bad("sender %q: %v", s.cfg.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, bad("recipients %s: %v", strings.Join(m.To, ", "), err)
	}
	msg.Subject(mdtext.OneLine(m.Subject))
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	} else {
		msg.SetMessageID()
	}
	msg.SetDateWithValue(s.now())
	msg.SetUserAgent("datasev")
	if m.Incident != "" {
		msg.SetGenHeader("X-Datasev-Incident", mdtext.OneLine(m.Incident))
		ref := "<" + threadID(m.Incident, s.cfg.From) + ">"
		msg.SetGenHeader(mail.HeaderReferences, ref)
	}
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// classify turns a go-mail error into a Temporal application error.
func (s *Sender) classify(m Message, err error) error {
	server := fmt.Sprintf("%s:%d", s.cfg.Host, s.cfg.Port)
	var se *mail.SendError
	if errors.As(err, &se) {
		if se.IsTemp() {
			return temporal.NewApplicationError(
				fmt.Sprintf("email to %s: %s answered a temporary error: %v", strings.Join(m.To, ", "), server, err),
				TemporaryType, err)
		}
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("email to %s: %s refused it: %v", strings.Join(m.To, ", "), server, err), RejectedType, err)
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code >= 400 && te.Code < 500 {
			return temporal.NewApplicationError(
				fmt.Sprintf("email: %s answered a temporary error: %v", server, err), TemporaryType, err)
		}
		what := "refused the session"
		if te.Code == 535 || te.Code == 534 || te.Code == 530 {
			what = fmt.Sprintf("refused the credentials of %q", s.cfg.Username)
		}
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("email: %s %s: %v", server, what, err), RejectedType, err)
	}
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		rerr tls.RecordHeaderError
	)
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &rerr) ||
		strings.Contains(err.Error(), "does not support STARTTLS") {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("email: TLS with %s failed (%s=%s): %v", server, EnvTLS, s.cfg.TLS, err), TLSType, err)
	}
	for _, e := range []error{mail.ErrPlainAuthNotSupported, mail.ErrLoginAuthNotSupported, mail.ErrNoSupportedAuthDiscovered} {
		if errors.Is(err, e) || strings.Contains(err.Error(), "does not support SMTP AUTH") {
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("email: %s offers no AUTH PLAIN or LOGIN: %v", server, err), RejectedType, err)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return temporal.NewApplicationError(fmt.Sprintf("email: %s: %v", server, err), NetworkType, err)
	}
	return temporal.NewApplicationError(fmt.Sprintf("email: %s: %v", server, err), NetworkType, err)
}
