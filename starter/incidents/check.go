package incidents

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/datasev/datasev/workflows"
)

// Bounds on an alert's fields beyond those workflows.Alert.Validate holds
// (title, description, dedupe key length, label count), so that one alert
// cannot bloat an incident's history. Every front door (CLI, Slack, HTTP
// intake) checks them through CheckAlert.
const (
	MaxAlertIDLen    = 200
	MaxSourceLen     = 64
	MaxServiceLen    = 256
	MaxDatasetLen    = 512
	MaxLabelKeyLen   = 128
	MaxLabelValueLen = 1024
)

// DedupeKeyChars says which characters a dedupe key may hold, for messages.
const DedupeKeyChars = "ASCII letters, digits and - _ . :"

// CheckDedupeKey is the one check of a dedupe key's shape, shared by every
// front door: 1 to workflows.MaxDedupeKeyLen bytes of ASCII letters,
// digits and - _ . : only. In particular no '/': the workflow ID
// "incident-<key>" then never equals an ID datasev derives from another
// incident's (its runbook child is "incident-<key>/runbook"), so
// key → workflow ID is injective and collision-free.
func CheckDedupeKey(key string) error {
	switch {
	case key == "":
		return errors.New("dedupe_key: required")
	case len(key) > workflows.MaxDedupeKeyLen:
		return fmt.Errorf("dedupe_key: %d bytes, at most %d", len(key), workflows.MaxDedupeKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if !keyByte(key[i]) {
			return fmt.Errorf("dedupe_key: %q at byte %d is not allowed; use %s (at most %d bytes)",
				string(rune(key[i])), i, DedupeKeyChars, workflows.MaxDedupeKeyLen)
		}
	}
	return nil
}

// KeyPart maps any text onto the dedupe key alphabet: every byte outside it
// becomes '_'. Front doors build keys from monitors' names with it.
func KeyPart(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !keyByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func keyByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c == '-' || c == '_' || c == '.' || c == ':'
}

// CheckAlert checks what Declare and SendAlert accept of an alert beyond
// workflows.Alert.Validate: the dedupe key's shape (CheckDedupeKey) and the
// size of every free-form field (ID, source, service, dataset, label keys
// and values). Each problem names its field and its bound; problems are
// joined, one a line, in a stable order.
func CheckAlert(a workflows.Alert) error {
	var errs []error
	if err := CheckDedupeKey(strings.TrimSpace(a.DedupeKey)); err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"id", a.ID, MaxAlertIDLen},
		{"source", a.Source, MaxSourceLen},
		{"service", a.Service, MaxServiceLen},
		{"dataset", a.Dataset, MaxDatasetLen},
	} {
		if len(f.v) > f.max {
			errs = append(errs, fmt.Errorf("%s: %d bytes, at most %d", f.name, len(f.v), f.max))
		}
	}
	if len(a.Labels) > workflows.MaxLabels {
		errs = append(errs, fmt.Errorf("labels: %d labels, at most %d", len(a.Labels), workflows.MaxLabels))
	} else {
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch {
			case k == "":
				errs = append(errs, errors.New("labels: empty label name"))
			case len(k) > MaxLabelKeyLen:
				errs = append(errs, fmt.Errorf("labels: a label name of %d bytes (%q…), at most %d", len(k), k[:16], MaxLabelKeyLen))
			case len(a.Labels[k]) > MaxLabelValueLen:
				errs = append(errs, fmt.Errorf("labels[%q]: value of %d bytes, at most %d", k, len(a.Labels[k]), MaxLabelValueLen))
			}
		}
	}
	return errors.Join(errs...)
}
