package incidents

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
)

// Groups (workflows.Alert.Group) Declare gives, and the prefixes of the keys
// of the incidents that group several alerts. The prefixes are no intake
// source's ("generic:", "alertmanager:", ...), so no sender can name such a
// key: Declare alone builds them.
const (
	// GroupStorm is the group of an alert that joined its source's alert
	// storm incident (DeclareRequest.Storm).
	GroupStorm = workflows.GroupStorm
	// GroupAlertmanager starts the group of alerts grouped by their
	// Alertmanager group (runbooks.GroupByAlertmanagerGroup).
	GroupAlertmanager = "alertmanager group"

	groupKeyPrefix   = "group:"
	amGroupKeyPrefix = "amgroup:"
	stormKeyPrefix   = "storm:"
)

// Bounds on the readable parts of a group key; a hash of the full values
// follows them, so cutting them never merges two groups.
const (
	maxKeySource   = 32
	maxKeyRunbook  = 64
	maxKeyValues   = 60
	maxGroupValue  = 64
	groupHashBytes = 8 // 16 hex digits
)

// StormKey is the dedupe key of a source's alert storm incident:
// "storm:<source>", the source mapped onto the key alphabet (KeyPart) and
// cut to 32 bytes.
func StormKey(source string) string {
	return stormKeyPrefix + cut(KeyPart(source), maxKeySource)
}

// StormTitle is the title of a source's alert storm incident.
func StormTitle(source string) string { return "alert storm: " + source }

// grouped is where a runbook's grouping puts an alert: the incident's key
// and why it groups several alerts. An empty key is the alert's own
// incident.
type grouped struct {
	key, group string
}

// groupOf applies rb's group_by to alert a (validated; its DedupeKey its
// own). amGroupKey is the Alertmanager groupKey of the delivery the alert
// came in, if any. Keys are stable (the same alert values give the same
// key, whatever their order in maps), at most workflows.MaxDedupeKeyLen
// bytes, and pass CheckDedupeKey whatever the label values hold.
func groupOf(rb *runbooks.Runbook, a workflows.Alert, amGroupKey string) grouped {
	if rb == nil {
		return grouped{}
	}
	switch rb.GroupBy.Mode() {
	case runbooks.GroupByAlertmanagerGroup:
		if amGroupKey == "" {
			return grouped{} // not from Alertmanager: the alert's own incident
		}
		h := hashParts(rb.Name, amGroupKey)
		return grouped{
			key:   amGroupKeyPrefix + cut(KeyPart(rb.Name), maxKeyRunbook) + ":" + h,
			group: cut(GroupAlertmanager+" "+printable(amGroupKey, 200), workflows.MaxTitleLen),
		}
	case runbooks.GroupByLabels:
		names := rb.GroupBy.Labels
		if len(names) == 0 {
			return grouped{}
		}
		parts := []string{a.Source, rb.Name}
		values := make([]string, 0, len(names))
		shown := make([]string, 0, len(names))
		for _, n := range names {
			v := a.Labels[n] // a missing label groups under ""
			parts = append(parts, n, v)
			values = append(values, v)
			shown = append(shown, n+"="+printable(v, maxGroupValue))
		}
		prefix := groupKeyPrefix + cut(KeyPart(a.Source), maxKeySource) + ":" + cut(KeyPart(rb.Name), maxKeyRunbook) + ":"
		readable := cut(KeyPart(strings.Join(values, ".")), maxKeyValues)
		return grouped{
			key:   prefix + readable + ":" + hashParts(parts...),
			group: cut("labels "+strings.Join(shown, " "), workflows.MaxTitleLen),
		}
	}
	return grouped{}
}

// hashParts is a hash of the parts, each length-prefixed so that no two
// lists of parts give the same bytes.
func hashParts(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:groupHashBytes])
}

// printable is s for a person to read in a timeline: valid UTF-8, control
// characters as '?', at most n bytes.
func printable(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
	return cut(s, n)
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// checkGroupKey is a last check of a key Declare built, so a bug shows as
// an error rather than as an incident no one can address.
func checkGroupKey(key string) error {
	if err := CheckDedupeKey(key); err != nil {
		return fmt.Errorf("group key %q: %w", key, err)
	}
	return nil
}

// IncidentKey returns the dedupe key of the incident an alert of req goes
// to by its runbook's grouping (the group's key, or the alert's own), before
// the checks Declare makes against the server (a split-out alert's own
// incident, the storm). Senders that declare several alerts at once declare
// alerts sharing it one after another, in order. A request Declare would
// refuse returns the alert's own key.
func IncidentKey(req DeclareRequest) string {
	a := req.Alert
	spec, err := chooseRunbook(req, a)
	if err != nil {
		return a.DedupeKey
	}
	if g := groupOf(spec, a, req.AlertmanagerGroupKey); g.key != "" {
		return g.key
	}
	return a.DedupeKey
}
