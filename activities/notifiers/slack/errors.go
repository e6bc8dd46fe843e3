package slackact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"
)

// Types of the backend's application errors.
const (
	// NotConfiguredType: the worker has no Slack token.
	NotConfiguredType = "SlackNotConfigured"
	// BadRequestType: the notification or a message cannot work as
	// written; retrying does not help.
	BadRequestType = "SlackBadRequest"
	// AuthType: Slack refused the token, or it lacks a scope.
	AuthType = "SlackAuth"
	// RateLimitedType: Slack answered 429; the error carries Retry-After
	// as its next retry delay.
	RateLimitedType = "SlackRateLimited"
	// ChannelType: the incident's channel name is held by a channel the
	// bot cannot use (a private channel it is not in).
	ChannelType = "SlackChannel"
)

// authErrors are Slack's answers that no retry changes: the token or its
// scopes must be fixed.
var authErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "no_permission": true, "missing_scope": true, "not_allowed_token_type": true,
	"ekm_access_denied": true, "team_access_not_granted": true, "org_login_required": true,
}

// badRequestErrors are answers about the request itself.
var badRequestErrors = map[string]bool{
	"invalid_blocks": true, "invalid_blocks_format": true, "invalid_arguments": true, "msg_too_long": true,
	"no_text": true, "invalid_name": true, "invalid_name_specials": true, "invalid_name_required": true,
	"invalid_name_punctuation": true, "invalid_name_maxlength": true, "too_long": true,
	"invalid_metadata_format": true, "invalid_metadata_schema": true, "user_not_found": true,
	"users_list_not_supplied": true, "invalid_cursor": true, "invalid_types": true,
	"restricted_action": true, "channel_type_not_supported": true, "cannot_dm_bot": true,
}

// scopes names the bot scopes a method needs, for missing_scope errors
// whose answer does not say.
var scopes = map[string]string{
	"auth.test":                "none",
	"conversations.create":     "channels:manage (groups:write for private channels)",
	"conversations.setPurpose": "channels:manage (groups:write for private channels)",
	"conversations.invite":     "channels:manage (groups:write for private channels)",
	"conversations.unarchive":  "channels:manage (groups:write for private channels)",
	"conversations.list":       "channels:read and groups:read",
	"conversations.join":       "channels:join",
	"conversations.open":       "im:write",
	"chat.postMessage":         "chat:write",
}

// MaxRetryDelay caps the retry delay taken from Slack's Retry-After.
const MaxRetryDelay = 10 * time.Minute

// slackCode is a Slack API error's code, "" for other errors.
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	var sp *slack.SlackErrorResponse
	if errors.As(err, &sp) && sp != nil {
		return sp.Err
	}
	return ""
}

// classify turns a slack-go error from method into the backend's error:
// rate limits retry after Retry-After, refused tokens and missing scopes
// and malformed requests do not retry, everything else retries.
func classify(method string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("slack %s: %w", method, err)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		wait := min(rl.RetryAfter, MaxRetryDelay)
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("slack %s: rate limited, retry after %s", method, wait),
			RateLimitedType, temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: err})
	}
	code := slackCode(err)
	switch {
	case authErrors[code]:
		msg := fmt.Sprintf("slack %s: %s: Slack refused the bot token (%s or %s); ", method, code, EnvBotToken, EnvBotTokenFile)
		if code == "missing_scope" {
			needed := scopes[method]
			var se slack.SlackErrorResponse
			if errors.As(err, &se) && se.Needed != "" {
				needed = se.Needed
			}
			msg = fmt.Sprintf("slack %s: missing_scope: the Slack app needs the bot scope %s; add it and reinstall the app", method, needed)
		} else {
			msg += "check the token and that the app is installed in the workspace"
		}
		return temporal.NewNonRetryableApplicationError(msg, AuthType, err)
	case badRequestErrors[code]:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("slack %s: %s", method, code), BadRequestType, err)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code >= 400 && sc.Code < 500 && sc.Code != 408 && sc.Code != 429 {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("slack %s: HTTP %d", method, sc.Code), BadRequestType, err)
	}
	return fmt.Errorf("slack %s: %w", method, err)
}

// isCode reports whether err is a Slack error with one of codes.
func isCode(err error, codes ...string) bool {
	c := slackCode(err)
	if c == "" {
		return false
	}
	for _, want := range codes {
		if strings.EqualFold(c, want) {
			return true
		}
	}
	return false
}
