package report

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/datasev/datasev/workflows"
)

// None is the key of incidents without a service or runbook.
const None = "(none)"

// Summary is the record of a period: what Aggregate computes and every
// format prints.
type Summary struct {
	// Since and Until bound the period (by close time); Team, when set, is
	// the roster team the incidents were filtered to.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	Team  string    `json:"team,omitempty"`
	// Incidents counts the closed incidents; Merged those that closed by
	// merging into another (counted everywhere like the rest).
	Incidents int `json:"incidents"`
	Merged    int `json:"merged"`
	// Excluded counts incidents of the period that closed without a final
	// snapshot (terminated, failed, timed out, cancelled): not in any other
	// count. -1 when unknown.
	Excluded int `json:"excluded"`
	// BySeverity (worst first, every severity), ByService and ByRunbook
	// (most incidents first) count the incidents.
	BySeverity []Count `json:"by_severity"`
	ByService  []Count `json:"by_service"`
	ByRunbook  []Count `json:"by_runbook"`
	// Times are the time to acknowledge, mitigate and resolve per
	// severity, worst first, for the severities with incidents.
	Times []SeverityTimes `json:"times"`
	// Approvals counts approvals by outcome (every outcome of
	// ApprovalOutcomes, zero included); Escalated counts those escalated
	// past their deadline, whatever their outcome.
	Approvals Approvals `json:"approvals"`
	// StatusUpdates and Handoffs count what people missed.
	StatusUpdates StatusUpdates `json:"status_updates"`
	Handoffs      Handoffs      `json:"handoffs"`
	// ActionItems counts the incidents' action items.
	ActionItems ActionItems `json:"action_items"`
	// Notes say what the numbers cannot show yet.
	Notes []string `json:"notes,omitempty"`
}

// Count is one key's number of incidents.
type Count struct {
	Key       string `json:"key"`
	Incidents int    `json:"incidents"`
}

// SeverityTimes are one severity's times to each milestone.
type SeverityTimes struct {
	Severity    workflows.Severity `json:"severity"`
	Acknowledge Stat               `json:"acknowledge"`
	Mitigate    Stat               `json:"mitigate"`
	Resolve     Stat               `json:"resolve"`
}

// Stat is the median and 90th percentile of the incidents that reached a
// milestone (N of them). Both are nearest-rank percentiles: the smallest
// time that at least half (nine in ten) of the N incidents took no longer
// than, so each is one incident's actual time. Zero when N is 0.
type Stat struct {
	N      int           `json:"n"`
	Median time.Duration `json:"-"`
	P90    time.Duration `json:"-"`
	// MedianSeconds and P90Seconds are Median and P90 in JSON.
	MedianSeconds float64 `json:"median_seconds"`
	P90Seconds    float64 `json:"p90_seconds"`
}

// Approvals counts approvals by outcome.
type Approvals struct {
	Granted   int `json:"granted"`
	Denied    int `json:"denied"`
	TimedOut  int `json:"timed_out"`
	Auto      int `json:"auto"`
	Pending   int `json:"pending"`
	Escalated int `json:"escalated"`
}

// StatusUpdates counts missed status updates and the incidents that missed
// at least one.
type StatusUpdates struct {
	Missed    int `json:"missed"`
	Incidents int `json:"incidents"`
}

// Handoffs counts shift handoffs: started, accepted, and missed (not
// accepted by the deadline, so escalated to the incoming secondary).
type Handoffs struct {
	Started  int `json:"started"`
	Accepted int `json:"accepted"`
	Missed   int `json:"missed"`
}

// ActionItems counts action items. Filed ones have a tracker issue;
// Unfiled ones do not (no tracker configured, or filing failed). A filed
// item's state after closure comes from the newest completed follow-up of
// its incident's run (ApplyFollowUps): Done or Open as its tracker said,
// Unknown when the tracker could not say; the filed items of incidents
// never followed up are NotFollowedUp (IncidentsNotFollowedUp incidents),
// never guessed. Filed = Done + Open + Unknown + NotFollowedUp.
type ActionItems struct {
	Total         int `json:"total"`
	Filed         int `json:"filed"`
	Unfiled       int `json:"unfiled"`
	Open          int `json:"open"`
	Done          int `json:"done"`
	Unknown       int `json:"unknown"`
	NotFollowedUp int `json:"not_followed_up"`
	// IncidentsNotFollowedUp counts the incidents with filed items and no
	// follow-up of their run.
	IncidentsNotFollowedUp int `json:"incidents_not_followed_up"`
}

// NoteNotFollowedUp is the note of a Summary with filed action items whose
// incident was never followed up after closure.
const NoteNotFollowedUp = "filed action items of incidents never followed up after closure are counted \"not followed up\": `datasev report --follow-up` (or `datasev show <id>`) reads their state from the tracker"

// Aggregate adds up the incidents of a period. It is pure: the same
// incidents in any order give the same Summary.
func Aggregate(incidents []Incident, since, until time.Time, team string) Summary {
	s := Summary{Since: since, Until: until, Team: team, Incidents: len(incidents), Excluded: -1}
	sev := map[workflows.Severity]int{}
	svc := map[string]int{}
	rb := map[string]int{}
	type times struct{ ack, mit, res []time.Duration }
	per := map[workflows.Severity]*times{}
	for _, in := range incidents {
		if in.Merged {
			s.Merged++
		}
		sev[in.Severity]++
		svc[cmp.Or(in.Service, None)]++
		rb[cmp.Or(in.Runbook, None)]++
		t := per[in.Severity]
		if t == nil {
			t = &times{}
			per[in.Severity] = t
		}
		if in.ToAcknowledge >= 0 {
			t.ack = append(t.ack, in.ToAcknowledge)
		}
		if in.ToMitigate >= 0 {
			t.mit = append(t.mit, in.ToMitigate)
		}
		if in.ToResolve >= 0 {
			t.res = append(t.res, in.ToResolve)
		}
		s.Approvals.Granted += in.Approvals[OutcomeGranted]
		s.Approvals.Denied += in.Approvals[OutcomeDenied]
		s.Approvals.TimedOut += in.Approvals[OutcomeTimedOut]
		s.Approvals.Auto += in.Approvals[OutcomeAuto]
		s.Approvals.Pending += in.Approvals[OutcomePending]
		s.Approvals.Escalated += in.ApprovalsEscalated
		s.StatusUpdates.Missed += in.UpdatesMissed
		if in.UpdatesMissed > 0 {
			s.StatusUpdates.Incidents++
		}
		s.Handoffs.Started += in.Handoffs
		s.Handoffs.Accepted += in.HandoffsAccepted
		s.Handoffs.Missed += in.HandoffsMissed
		s.ActionItems.Total += in.ActionItems
		s.ActionItems.Filed += in.ActionItemsFiled
		switch {
		case in.ActionItemsFiled == 0:
		case in.FollowedUp:
			s.ActionItems.Done += in.ActionItemsDone
			s.ActionItems.Open += in.ActionItemsOpen
			s.ActionItems.Unknown += max(in.ActionItemsFiled-in.ActionItemsDone-in.ActionItemsOpen, 0)
		default:
			s.ActionItems.NotFollowedUp += in.ActionItemsFiled
			s.ActionItems.IncidentsNotFollowedUp++
		}
	}
	s.ActionItems.Unfiled = s.ActionItems.Total - s.ActionItems.Filed
	if s.ActionItems.NotFollowedUp > 0 {
		s.Notes = []string{NoteNotFollowedUp}
	}

	for _, v := range workflows.Severities {
		s.BySeverity = append(s.BySeverity, Count{Key: string(v), Incidents: sev[v]})
	}
	// A severity outside SEV1..SEV5 (a hand-made snapshot) still counts.
	var odd []workflows.Severity
	for v := range sev {
		if !v.Valid() {
			odd = append(odd, v)
		}
	}
	slices.Sort(odd)
	for _, v := range odd {
		s.BySeverity = append(s.BySeverity, Count{Key: cmp.Or(string(v), None), Incidents: sev[v]})
	}
	s.ByService = counts(svc)
	s.ByRunbook = counts(rb)
	for _, v := range append(slices.Clone(workflows.Severities), odd...) {
		t := per[v]
		if t == nil {
			continue
		}
		s.Times = append(s.Times, SeverityTimes{
			Severity:    workflows.Severity(cmp.Or(string(v), None)),
			Acknowledge: stat(t.ack),
			Mitigate:    stat(t.mit),
			Resolve:     stat(t.res),
		})
	}
	return s
}

// counts sorts a map of counts: most first, then by key.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Key: k, Incidents: n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Incidents, a.Incidents), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// stat computes the nearest-rank median and p90 of ds (which it sorts).
func stat(ds []time.Duration) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	slices.Sort(ds)
	st := Stat{N: len(ds), Median: Percentile(ds, 0.5), P90: Percentile(ds, 0.9)}
	st.MedianSeconds, st.P90Seconds = st.Median.Seconds(), st.P90.Seconds()
	return st
}

// Percentile is the nearest-rank q-quantile (0 < q <= 1) of sorted: the
// value at rank ⌈q·n⌉. It is one of the values, never an interpolation.
// Zero for an empty slice.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// q·n in floating point can land a hair above an integer (0.9·10 is
	// 9.000000000000002); round it to a millionth before the ceiling.
	rank := int(math.Ceil(math.Round(q*float64(len(sorted))*1e6) / 1e6))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
