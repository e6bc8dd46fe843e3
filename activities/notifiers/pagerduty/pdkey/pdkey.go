// Package pdkey is the form of the dedup keys datasev's pages carry in
// PagerDuty: the worker's PagerDuty backend makes them, the intake reads
// them back from PagerDuty's webhooks to find the incident an
// acknowledgement is for. It depends on the standard library only, so
// the intake links no PagerDuty client.
package pdkey

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Prefix starts every dedup key datasev raises.
const Prefix = "datasev:"

// MaxLen is the longest dedup key PagerDuty takes.
const MaxLen = 255

// PageIDLen is the length of a page ID: 16 hex digits.
const PageIDLen = 16

// hashedMark starts the incident part of a key whose incident ID was too
// long to carry: then the key names no incident the intake can act on.
const hashedMark = "~"

// PageID is the ID of one page: 16 hex digits of the SHA-256 of what
// identifies it across retries (for a page sent by an activity, the
// workflow, run and activity IDs).
func PageID(identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return hex.EncodeToString(sum[:PageIDLen/2])
}

// Make returns the dedup key of page pageID of incident (its workflow
// ID): "datasev:<incident>:<page>", at most MaxLen bytes. An incident ID
// too long for that is replaced by "~" and a hash of it.
func Make(incident, pageID string) string {
	k := Prefix + incident + ":" + pageID
	if len(k) <= MaxLen && !strings.HasPrefix(incident, hashedMark) {
		return k
	}
	sum := sha256.Sum256([]byte(incident))
	return Prefix + hashedMark + hex.EncodeToString(sum[:16]) + ":" + pageID
}

// Parse returns the incident and page of a key Make made; ok is false for
// any other key (another system's, or one whose incident was hashed).
func Parse(key string) (incident, pageID string, ok bool) {
	rest, found := strings.CutPrefix(key, Prefix)
	if !found || len(key) > MaxLen {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return "", "", false
	}
	incident, pageID = rest[:i], rest[i+1:]
	if strings.HasPrefix(incident, hashedMark) || !isPageID(pageID) {
		return "", "", false
	}
	for j := 0; j < len(incident); j++ {
		if c := incident[j]; c <= ' ' || c >= 0x7f {
			return "", "", false
		}
	}
	return incident, pageID, true
}

// Raised reports whether key has datasev's form, even one naming no
// incident: PagerDuty incidents that datasev raised itself.
func Raised(key string) bool { return strings.HasPrefix(key, Prefix) }

func isPageID(s string) bool {
	if len(s) != PageIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
