// Package smtptest is an in-process SMTP server for tests and the demo,
// built on emersion/go-smtp. It listens on 127.0.0.1:0, offers STARTTLS
// with a self-signed certificate generated at start (clients verify it
// with RootCAs or TLSConfig, so verification stays on), optionally speaks
// implicit TLS instead, requires AUTH PLAIN or LOGIN with the configured
// credentials, and records every message it accepts: the envelope, the
// parsed headers and the decoded text and HTML parts. Faults can be
// injected per recipient (550 permanent, 451 temporary) or for the next
// DATA. It is never a production path.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configures a Server.
type Options struct {
	// Username and Password are the accepted AUTH credentials. An empty
	// Username turns AUTH off (any client may send).
	Username string
	// Password is the accepted AUTH password.
	Password string
	// ImplicitTLS makes the listener speak TLS from the first byte (SMTPS)
	// instead of offering STARTTLS.
	ImplicitTLS bool
	// NoTLS offers neither STARTTLS nor implicit TLS, and allows AUTH in
	// clear text: a server for testing clients that must refuse it.
	NoTLS bool
	// Mechanisms restricts the AUTH mechanisms offered; default PLAIN and
	// LOGIN.
	Mechanisms []string
}

// Received is one accepted message.
type Received struct {
	// From is the envelope sender (MAIL FROM).
	From string
	// To lists the envelope recipients (RCPT TO).
	To []string
	// Header is the parsed message header.
	Header mail.Header
	// Subject is the decoded Subject header.
	Subject string
	// MessageID is the Message-ID header, angle brackets included.
	MessageID string
	// Text is the decoded text/plain part.
	Text string
	// HTML is the decoded text/html part.
	HTML string
	// ContentType is the top-level media type, e.g. multipart/alternative.
	ContentType string
	// Raw is the message as received.
	Raw []byte
	// TLS reports whether the session was encrypted.
	TLS bool
	// AuthUser is the authenticated user, "" without AUTH.
	AuthUser string
}

// Server is a running in-process SMTP server.
type Server struct {
	// Addr is the listening address, 127.0.0.1:port.
	Addr string
	// Host is the listening host, 127.0.0.1.
	Host string
	// Port is the listening port.
	Port int

	opts   Options
	srv    *smtp.Server
	ln     net.Listener
	roots  *x509.CertPool
	cert   tls.Certificate
	served chan struct{}

	mu          sync.Mutex
	received    []Received
	rcptFaults  map[string]*smtp.SMTPError
	dataFaults  []*smtp.SMTPError
	authFails   int
	connections int
}

// Start starts a server on 127.0.0.1:0.
func Start(opts Options) (*Server, error) {
	cert, roots, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	s := &Server{opts: opts, roots: roots, cert: cert, rcptFaults: map[string]*smtp.SMTPError{}, served: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtptest.localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ErrorLog = discardLogger{}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var ln net.Listener
	switch {
	case opts.NoTLS:
		srv.AllowInsecureAuth = true
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case opts.ImplicitTLS:
		srv.TLSConfig = tlsCfg
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	default:
		srv.TLSConfig = tlsCfg
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("smtptest: listen: %w", err)
	}
	s.srv, s.ln = srv, ln
	s.Addr = ln.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	go func() {
		defer close(s.served)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	_ = s.srv.Close()
	_ = s.ln.Close() // Serve may not have registered it with srv yet
	<-s.served
}

// RootCAs returns a pool holding the server's self-signed certificate.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// TLSConfig returns a client TLS configuration that trusts the server's
// certificate (for 127.0.0.1 and localhost), with verification on.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.roots, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Reset forgets the received messages and clears every fault.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = nil
	s.rcptFaults = map[string]*smtp.SMTPError{}
	s.dataFaults = nil
}

// AuthFailures counts refused AUTH attempts.
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFails
}

// Connections counts the sessions opened.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// RejectRecipient makes RCPT TO addr fail with code (e.g. 550 for a
// permanent, 451 for a temporary refusal) until cleared with
// AcceptRecipient or Reset.
func (s *Server) RejectRecipient(addr string, code int, message string) {
	fault := refusal(code, message, "Recipient refused by smtptest", smtp.EnhancedCode{5, 1, 1}, smtp.EnhancedCode{4, 2, 0})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptFaults[strings.ToLower(addr)] = fault
}

// AcceptRecipient clears a fault set by RejectRecipient.
func (s *Server) AcceptRecipient(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rcptFaults, strings.ToLower(addr))
}

// FailNextData makes the next DATA fail with code (e.g. 451 or 554).
func (s *Server) FailNextData(code int, message string) {
	fault := refusal(code, message, "Message refused by smtptest", smtp.EnhancedCode{5, 6, 0}, smtp.EnhancedCode{4, 3, 0})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataFaults = append(s.dataFaults, fault)
}

// refusal is the SMTP error a fault answers with: code, message (def when
// empty), and the enhanced status code temp for a 4xx code, perm for any
// other.
func refusal(code int, message, def string, perm, temp smtp.EnhancedCode) *smtp.SMTPError {
	if message == "" {
		message = def
	}
	enh := perm
	if code/100 == 4 {
		enh = temp
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: message}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.connections++
	s.mu.Unlock()
	return &session{s: s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	if len(ss.s.opts.Mechanisms) > 0 {
		return ss.s.opts.Mechanisms
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != ss.s.opts.Username || pass != ss.s.opts.Password {
			ss.s.mu.Lock()
			ss.s.authFails++
			ss.s.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) needAuth() error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if err := ss.needAuth(); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.needAuth(); err != nil {
		return err
	}
	ss.s.mu.Lock()
	fault := ss.s.rcptFaults[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if fault != nil {
		return fault
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if err := ss.needAuth(); err != nil {
		return err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	if len(ss.s.dataFaults) > 0 {
		fault := ss.s.dataFaults[0]
		ss.s.dataFaults = ss.s.dataFaults[1:]
		ss.s.mu.Unlock()
		return fault
	}
	ss.s.mu.Unlock()
	rec, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Unparseable message: " + err.Error()}
	}
	rec.From = ss.from
	rec.To = append([]string(nil), ss.to...)
	_, rec.TLS = ss.conn.TLSConnectionState()
	rec.AuthUser = ss.user
	ss.s.mu.Lock()
	ss.s.received = append(ss.s.received, rec)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN: it asks for the user name,
// then the password.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response != nil && len(response) > 0 {
			l.user = string(response)
			l.step = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

// parse reads a message and its text and HTML parts.
func parse(raw []byte) (Received, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Received{}, err
	}
	rec := Received{Header: m.Header, Raw: raw, MessageID: m.Header.Get("Message-Id")}
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(m.Header.Get("Subject")); err == nil {
		rec.Subject = subj
	} else {
		rec.Subject = m.Header.Get("Subject")
	}
	if err := walk(&rec, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, true); err != nil {
		return Received{}, err
	}
	return rec, nil
}

func walk(rec *Received, contentType, encoding string, body io.Reader, top bool) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if top {
		rec.ContentType = mediaType
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walk(rec, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, false); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: body})
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch mediaType {
	case "text/plain":
		rec.Text = text
	case "text/html":
		rec.HTML = text
	}
	return nil
}

// newlineStripper drops CR and LF, for base64 bodies.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost, and a
// pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest", Organization: []string{"datasev tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}
func (discardLogger) Println(...interface{})        {}
