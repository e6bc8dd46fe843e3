package slackapp

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/datasev/datasev/activities/support/secret"
)

// Environment variables ConfigFromEnv reads. The secrets also have a _FILE
// form naming a file that holds the value.
const (
	EnvSigningSecret = "DATASEV_SLACK_SIGNING_SECRET"
	EnvBotToken      = "DATASEV_SLACK_BOT_TOKEN"
	EnvAppToken      = "DATASEV_SLACK_APP_TOKEN"
	// EnvKeyFile is the Slack app's private key file (PKCS#8 PEM, ed25519,
	// mode 0600; `datasev keygen --out FILE` writes one). The app signs
	// the acts of the people it verified with it, as service "slack"; the
	// roster lists its public key under trust.services. Without it, the
	// incident refuses deciding acts from Slack.
	EnvKeyFile = "DATASEV_SLACK_APP_KEY_FILE"
	// EnvAPIURL points slack-go at another Web API base URL, such as a
	// local stand-in. Unset in production.
	EnvAPIURL = "DATASEV_SLACK_API_URL"
)

// DefaultAckWait is how long a request waits for the incident's answer
// before replying "working on it…" and delivering the outcome later
// through the response_url. Slack wants an answer within 3 s.
const DefaultAckWait = 2500 * time.Millisecond

// Config is the Slack app's configuration. Secrets come from the
// environment or files, never from requests or workflow payloads.
type Config struct {
	// SigningSecret verifies every HTTP request (v0 HMAC-SHA256). Required
	// for the HTTP routes; Socket Mode does not use it.
	SigningSecret string
	// BotToken (xoxb-…) reads channel purposes with conversations.info, to
	// find the incident of the channel a command runs in. Optional: without
	// it, commands must name their incident with @<id>.
	BotToken string
	// AppToken (xapp-…) opens a Socket Mode connection. Optional.
	AppToken string
	// APIURL is the Slack Web API base URL; empty means Slack's own.
	APIURL string
	// KeyFile is the app's private key file (EnvKeyFile): it signs acts
	// as service ServiceName, vouching for the Slack user it verified.
	// Optional; Deps.Signer, when set, is used instead.
	KeyFile string
	// AckWait is how long to wait for an answer before replying "working on
	// it…"; zero means DefaultAckWait.
	AckWait time.Duration
	// ActTimeout bounds each act or declaration, including late ones;
	// zero means 30s.
	ActTimeout time.Duration
}

// ConfigFromEnv reads the configuration: each secret from NAME, else from
// the file NAME_FILE names (trailing newline trimmed). Setting both is an
// error.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	errs := secret.FromEnvAll(getenv,
		secret.Field{Name: EnvSigningSecret, Dst: &c.SigningSecret},
		secret.Field{Name: EnvBotToken, Dst: &c.BotToken},
		secret.Field{Name: EnvAppToken, Dst: &c.AppToken},
	)
	c.SigningSecret, c.BotToken, c.AppToken = strings.TrimSpace(c.SigningSecret), strings.TrimSpace(c.BotToken), strings.TrimSpace(c.AppToken)
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, fmt.Errorf("%s: an app-level token starts with xapp- (create one under Basic Information → App-Level Tokens with connections:write)", EnvAppToken))
	}
	c.APIURL = strings.TrimSpace(getenv(EnvAPIURL))
	c.KeyFile = strings.TrimSpace(getenv(EnvKeyFile))
	if c.APIURL != "" && !strings.HasPrefix(c.APIURL, "http://") && !strings.HasPrefix(c.APIURL, "https://") {
		errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", EnvAPIURL, c.APIURL))
	}
	return c, errors.Join(errs...)
}

// Enabled reports whether any Slack setting is present, so the caller can
// leave the Slack routes out when none is.
func (c Config) Enabled() bool { return c.SigningSecret != "" || c.AppToken != "" }

// apiURL returns the API base URL slack-go wants: ending in a slash.
func (c Config) apiURL() string {
	if c.APIURL == "" {
		return ""
	}
	return strings.TrimRight(c.APIURL, "/") + "/"
}
