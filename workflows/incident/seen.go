package incident

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// versionSeenWindow is the change ID of the idempotency memory bounded by
// time and count (workflows.SeenIDs) rather than by the last 200 IDs of
// each kind.
const versionSeenWindow = "seen-window"

// legacySeenIDs bounds the IDs remembered by incidents that keep the old
// memory (opened and last run before the seen-window change).
const legacySeenIDs = 200

// seenMemory is one kind's remembered IDs: the entries in workflow state and
// an index of their hashes, rebuilt from the entries when a run starts.
type seenMemory struct {
	entries *[]workflows.SeenID
	index   map[string]int
}

// useSeenWindow moves an incident to the bounded-by-time memory, carrying
// over what it remembered. Incidents whose history predates the change keep
// the old memory on replay.
func (inc *incident) useSeenWindow(ctx workflow.Context) {
	if inc.s.Seen != nil || workflow.GetVersion(ctx, versionSeenWindow, workflow.DefaultVersion, 1) != 1 {
		return
	}
	now := workflow.Now(ctx)
	inc.s.Seen = &workflows.SeenIDs{}
	for _, id := range inc.s.SeenAlertIDs {
		inc.rememberAlert(id, now)
	}
	for _, id := range inc.s.SeenActIDs {
		inc.rememberAct(id, now)
	}
	inc.s.SeenAlertIDs, inc.s.SeenActIDs = nil, nil
}

// seenAlert reports whether an alert with this ID was applied.
func (inc *incident) seenAlert(id string) bool {
	if inc.s.Seen == nil {
		return slices.Contains(inc.s.SeenAlertIDs, id)
	}
	return inc.alertMemory().has(id)
}

// rememberAlert records an applied alert's ID.
func (inc *incident) rememberAlert(id string, now time.Time) {
	if inc.s.Seen == nil {
		inc.s.SeenAlertIDs = remember(inc.s.SeenAlertIDs, id)
		return
	}
	inc.s.Seen.Forgotten += inc.alertMemory().add(id, now)
}

// seenAct reports whether an act with this ID was applied.
func (inc *incident) seenAct(id string) bool {
	if inc.s.Seen == nil {
		return slices.Contains(inc.s.SeenActIDs, id)
	}
	return inc.actMemory().has(id)
}

// rememberAct records an applied act's ID.
func (inc *incident) rememberAct(id string, now time.Time) {
	if inc.s.Seen == nil {
		inc.s.SeenActIDs = remember(inc.s.SeenActIDs, id)
		return
	}
	inc.s.Seen.Forgotten += inc.actMemory().add(id, now)
}

func (inc *incident) alertMemory() *seenMemory {
	if inc.seenAlerts == nil {
		inc.seenAlerts = newSeenMemory(&inc.s.Seen.Alerts)
	}
	return inc.seenAlerts
}

func (inc *incident) actMemory() *seenMemory {
	if inc.seenActs == nil {
		inc.seenActs = newSeenMemory(&inc.s.Seen.Acts)
	}
	return inc.seenActs
}

func newSeenMemory(entries *[]workflows.SeenID) *seenMemory {
	m := &seenMemory{entries: entries, index: make(map[string]int, len(*entries))}
	for _, e := range *entries {
		m.index[e.Hash]++
	}
	return m
}

// has reports whether id's hash is remembered. Entries past the window that
// were not pruned yet still count: forgetting is never early.
func (m *seenMemory) has(id string) bool { return m.index[seenHash(id)] > 0 }

// add remembers id as seen at now, first dropping the entries older than
// workflows.SeenWindow, then the oldest beyond workflows.MaxSeenIDs. It
// returns how many entries still inside the window were dropped for room.
func (m *seenMemory) add(id string, now time.Time) (forgotten int) {
	e := *m.entries
	cut := now.Add(-workflows.SeenWindow).Unix()
	drop := 0
	for drop < len(e) && e[drop].At < cut {
		drop++
	}
	if over := len(e) - drop + 1 - workflows.MaxSeenIDs; over > 0 {
		drop += over
		forgotten = over
	}
	for _, old := range e[:drop] {
		if m.index[old.Hash]--; m.index[old.Hash] <= 0 {
			delete(m.index, old.Hash)
		}
	}
	if drop > 0 {
		e = slices.Clone(e[drop:])
	}
	h := seenHash(id)
	*m.entries = append(e, workflows.SeenID{Hash: h, At: now.Unix()})
	m.index[h]++
	return forgotten
}

// seenHash is the remembered form of an ID: 64 bits of FNV-1a, in hex. Two
// IDs share a hash with a probability of about 5·10⁻¹⁶ per lookup at
// MaxSeenIDs entries; a collision would answer a new alert or act as a
// redelivery.
func seenHash(id string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return fmt.Sprintf("%016x", h.Sum64())
}
