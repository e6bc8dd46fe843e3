package slackapp

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// signatureWindow is how far a request's timestamp may be from now, either
// way, as Slack documents.
const signatureWindow = 5 * time.Minute

// verify checks Slack's v0 request signature: HMAC-SHA256 under the
// signing secret of "v0:<X-Slack-Request-Timestamp>:<raw body>", sent as
// X-Slack-Signature "v0=<hex>". It returns a sentence saying what is wrong,
// or "" for an authentic request.
//
// slack.NewSecretsVerifier checks the signature in constant time and the
// timestamp against its own clock, both ways. The timestamp is also checked
// here, against the handler's clock and before any hashing, so that a
// malformed or out-of-window timestamp gets a clear answer.
func verify(h http.Header, body []byte, secret string, now time.Time) string {
	if secret == "" {
		return "the Slack signing secret is not configured (set " + EnvSigningSecret + "); every request is refused"
	}
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return "missing X-Slack-Signature or X-Slack-Request-Timestamp header"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "X-Slack-Request-Timestamp is not a Unix time"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > signatureWindow || d < -signatureWindow {
		return "X-Slack-Request-Timestamp is more than 5 minutes from now (a stale, replayed or future request); check the clocks"
	}
	v, err := slack.NewSecretsVerifier(h, secret)
	switch {
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return "X-Slack-Request-Timestamp is more than 5 minutes from now (a stale, replayed or future request); check the clocks"
	case err != nil:
		return "malformed X-Slack-Signature (want v0=<hex HMAC-SHA256>)"
	}
	if _, err := v.Write(body); err != nil {
		return "cannot hash the body"
	}
	if err := v.Ensure(); err != nil {
		return "X-Slack-Signature does not match the body (wrong signing secret, or the body was altered)"
	}
	return ""
}
