// Package email is the Liaison's email channel: a Sender that delivers
// messages over SMTP with go-mail (STARTTLS or implicit TLS, AUTH PLAIN or
// LOGIN when credentials are configured), message templates embedded from
// templates/*.tmpl, and LeadershipBackend, a notify.Backend that emails
// leadership the declarations, severity changes, status updates and
// resolutions of an incident, by severity, and optionally pages people by
// personal email.
//
// Configuration comes from DATASEV_SMTP_* and DATASEV_EMAIL_* environment
// variables (ConfigFromEnv); the password comes from the environment or a
// file, never from a notification. Errors are typed for Temporal: a
// permanent SMTP answer (5xx: a refused recipient, refused credentials) or
// a TLS/configuration problem is non-retryable and names the recipient or
// server; a temporary answer (4xx) or a network error is retryable.
package email

import (
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/datasev/datasev/activities/support/secret"
)

// Environment variables read by ConfigFromEnv.
const (
	// EnvHost is the SMTP server's host name. Unset: email is not
	// configured.
	EnvHost = "DATASEV_SMTP_HOST"
	// EnvPort is the SMTP server's port; default 587 (465 with tls).
	EnvPort = "DATASEV_SMTP_PORT"
	// EnvUsername is the SMTP AUTH user. Unset: no AUTH.
	EnvUsername = "DATASEV_SMTP_USERNAME"
	// EnvPassword is the SMTP AUTH password.
	EnvPassword = "DATASEV_SMTP_PASSWORD"
	// EnvPasswordFile names a file holding the SMTP AUTH password
	// (trailing newline trimmed); it wins over EnvPassword.
	EnvPasswordFile = "DATASEV_SMTP_PASSWORD_FILE"
	// EnvFrom is the sender address, e.g. "datasev <incidents@example.com>".
	// Required when EnvHost is set.
	EnvFrom = "DATASEV_SMTP_FROM"
	// EnvTLS is the transport security: starttls (default; mandatory),
	// tls (implicit TLS, usually port 465) or none (loopback hosts only).
	EnvTLS = "DATASEV_SMTP_TLS"
	// EnvTimeout bounds connecting and each SMTP command; default 30s.
	EnvTimeout = "DATASEV_SMTP_TIMEOUT"
	// EnvPagesByEmail, when true, sends pages to roster people who have an
	// email address as personal email.
	EnvPagesByEmail = "DATASEV_EMAIL_PAGES"
	// EnvLeadershipPrefix prefixes the per-severity leadership lists:
	// DATASEV_EMAIL_LEADERSHIP_SEV1, _SEV2, … hold comma-separated
	// recipients.
	EnvLeadershipPrefix = "DATASEV_EMAIL_LEADERSHIP_"
)

// Severities whose leadership lists ConfigFromEnv reads.
var Severities = []string{"SEV1", "SEV2", "SEV3", "SEV4", "SEV5"}

// TLSMode is how the connection to the SMTP server is secured.
type TLSMode string

// TLS modes.
const (
	// StartTLS upgrades a plain connection with STARTTLS, and fails when
	// the server does not offer it.
	StartTLS TLSMode = "starttls"
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465).
	ImplicitTLS TLSMode = "tls"
	// NoTLS sends in clear text: allowed only for a loopback host.
	NoTLS TLSMode = "none"
)

// Default ports and timeout.
const (
	DefaultPort    = 587
	DefaultTLSPort = 465
	DefaultTimeout = 30 * time.Second
)

// Config is how the worker reaches its SMTP server and whom it emails.
type Config struct {
	// Host is the SMTP server's host name; "" means not configured.
	Host string
	// Port is the SMTP server's port.
	Port int
	// Username and Password are the SMTP AUTH credentials; an empty
	// Username means no AUTH.
	Username string
	// Password is the SMTP AUTH password.
	Password string
	// From is the sender address.
	From string
	// TLS is the transport security.
	TLS TLSMode
	// Timeout bounds connecting and each SMTP command.
	Timeout time.Duration
	// Leadership maps a severity (SEV1…) to its recipients.
	Leadership map[string][]string
	// PagesByEmail sends pages as personal email to roster people with an
	// Email.
	PagesByEmail bool
}

// Configured reports whether an SMTP host is set.
func (c Config) Configured() bool { return c.Host != "" }

// ConfigFromEnv reads the DATASEV_SMTP_* and DATASEV_EMAIL_* variables
// through getenv. An unset host gives a Config that is not Configured and
// no error.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{
		Host:     get(EnvHost),
		Username: get(EnvUsername),
		From:     get(EnvFrom),
		TLS:      TLSMode(strings.ToLower(get(EnvTLS))),
		Timeout:  DefaultTimeout,
	}
	if cfg.Host == "" {
		return Config{}, nil
	}
	if cfg.TLS == "" {
		cfg.TLS = StartTLS
	}
	var err error
	if cfg.Password, err = secret.FromEnv(getenv, EnvPassword); err != nil {
		return Config{}, err
	}
	cfg.Port = DefaultPort
	if cfg.TLS == ImplicitTLS {
		cfg.Port = DefaultTLSPort
	}
	if v := get(EnvPort); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return Config{}, fmt.Errorf("%s=%q: want a port number", EnvPort, v)
		}
		cfg.Port = p
	}
	if v := get(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive duration such as 30s", EnvTimeout, v)
		}
		cfg.Timeout = d
	}
	if v := get(EnvPagesByEmail); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: want true or false", EnvPagesByEmail, v)
		}
		cfg.PagesByEmail = b
	}
	for _, sev := range Severities {
		v := get(EnvLeadershipPrefix + sev)
		if v == "" {
			continue
		}
		list, err := parseList(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s%s: %w", EnvLeadershipPrefix, sev, err)
		}
		if cfg.Leadership == nil {
			cfg.Leadership = map[string][]string{}
		}
		cfg.Leadership[sev] = list
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks a configured Config: a sender address, a known TLS mode,
// clear text only towards a loopback host, a password with a username.
func (c Config) Validate() error {
	if !c.Configured() {
		return nil
	}
	if c.From == "" {
		return fmt.Errorf("email: %s is set but %s is not: the sender address is required", EnvHost, EnvFrom)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("email: %s=%q: %w", EnvFrom, c.From, err)
	}
	switch c.TLS {
	case StartTLS, ImplicitTLS:
	case NoTLS:
		if !isLoopback(c.Host) {
			return fmt.Errorf("email: %s=none refused for host %q: clear-text SMTP is allowed only to a loopback host; use starttls or tls", EnvTLS, c.Host)
		}
	default:
		return fmt.Errorf("email: %s=%q: want starttls, tls or none", EnvTLS, c.TLS)
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("email: port %d out of range", c.Port)
	}
	if c.Username == "" && c.Password != "" {
		return fmt.Errorf("email: a password is set but %s is not", EnvUsername)
	}
	for sev, list := range c.Leadership {
		for _, a := range list {
			if _, err := mail.ParseAddress(a); err != nil {
				return fmt.Errorf("email: leadership list for %s: %q: %w", sev, a, err)
			}
		}
	}
	return nil
}

func parseList(v string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, err := mail.ParseAddress(part)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		if a.Name == "" {
			out = append(out, a.Address)
		} else {
			out = append(out, a.String())
		}
	}
	return out, nil
}

// parseAddr returns the bare address of an RFC 5322 address.
func parseAddr(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
