// Package slackact holds the Slack side of datasev's notifier: the backend
// that creates a channel per incident and posts findings, pages and approval
// requests (with Approve and Deny buttons) there, through slack-go.
//
// The naming of an incident's channel lives here too, because the Slack
// intake (starter) must find the incident a slash command or a button
// belongs to: the channel's name is derived from the incident's ID and its
// purpose carries the ID itself (see Purpose and IncidentFromPurpose).
package slackact

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/datasev/datasev/activities/support/mdtext"
)

// maxChannelName is Slack's limit on a channel name's length.
const maxChannelName = 80

// ChannelName is the Slack channel of an incident: "inc-" and the incident's
// dedupe key, lower-cased, with every run of characters Slack does not allow
// in channel names (anything but a-z, 0-9, - and _) replaced by one "-". When
// that loses information (characters replaced, or the name cut to Slack's 80
// characters) a short hash of the whole ID is appended, so two incidents do
// not share a channel.
func ChannelName(incidentID string) string {
	key := strings.TrimPrefix(incidentID, "incident-")
	var b strings.Builder
	lossy := false
	dash := false
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r - 'A' + 'a')
			lossy, dash = true, false
		case r == '-':
			b.WriteRune(r)
			dash = true
		default:
			lossy = true
			if !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	slug := strings.Trim(b.String(), "-")
	if slug == "" {
		slug = "incident"
		lossy = true
	}
	const prefix = "inc-"
	const hashLen = 8
	if len(prefix)+len(slug) > maxChannelName {
		slug = strings.TrimRight(slug[:maxChannelName-len(prefix)-hashLen-1], "-")
		lossy = true
	}
	if !lossy {
		return prefix + slug
	}
	sum := sha256.Sum256([]byte(incidentID))
	return prefix + slug + "-" + hex.EncodeToString(sum[:])[:hashLen]
}

// purposePrefix starts the purpose the backend gives an incident's channel.
const purposePrefix = "datasev incident "

// Purpose is the purpose the backend sets on an incident's channel: the
// incident's workflow ID, then its title, both escaped (Slack shows the
// purpose as message text: a <!channel> in an alert's title stays inert).
// The Slack intake reads the ID back with IncidentFromPurpose to know which
// incident a slash command run in the channel is about.
func Purpose(incidentID, title string) string {
	p := purposePrefix + escape(incidentID)
	if title != "" {
		p += " — " + escape(title)
	}
	if len(p) > 250 { // Slack's limit on a purpose
		p = mdtext.Truncate(p, 250)
	}
	return p
}

var unescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// IncidentFromPurpose returns the incident ID a channel purpose written by
// Purpose names, and false for any other purpose.
func IncidentFromPurpose(purpose string) (string, bool) {
	rest, ok := strings.CutPrefix(purpose, purposePrefix)
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(rest, " — ")
	id = unescape.Replace(strings.TrimSpace(id))
	if !strings.HasPrefix(id, "incident-") || strings.ContainsAny(id, " \t\n") {
		return "", false
	}
	return id, true
}
