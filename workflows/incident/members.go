package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/datasev/datasev/workflows"
)

// The alerts of an incident that groups several (an Alertmanager group, a
// label set, an alert storm): each alert is a member, listed with its own
// state, and the incident's alert status follows all of them together.

// member applies a grouped alert to its member and reports whether the
// incident-wide handling should see it too: a firing alert always (it is
// counted, and may reopen), a recovery only when it is the last member to
// recover.
func (inc *incident) member(now time.Time, a workflows.Alert) bool {
	s := &inc.s
	if s.Group == "" {
		s.Group = a.Group
	}
	i := inc.memberIndex(a.Member)
	if i < 0 {
		if a.Status == workflows.Recovered {
			return false // recovery of an alert this incident never had
		}
		if len(s.Members) >= workflows.MaxMembers {
			if s.MembersMore == 0 {
				inc.record(now, "datasev", workflows.KindSystem, fmt.Sprintf("more than %d alerts in the group: further ones are counted, not listed", workflows.MaxMembers), "")
			}
			s.MembersMore++
			return true
		}
		s.Members = append(s.Members, workflows.AlertMember{Key: a.Member, Title: a.Title, Source: a.Source, Status: workflows.Firing, Count: 1, FirstAt: now, LastAt: now})
		inc.record(now, a.Source, workflows.KindAlert, "alert joined ("+s.Group+"): "+a.Title, a.Member)
		inc.escalateForMember(now, a)
		return true
	}
	m := &s.Members[i]
	m.LastAt = now
	if a.Status == workflows.Recovered {
		if m.Status == workflows.Recovered {
			return false
		}
		m.Status = workflows.Recovered
		if inc.firingMembers() > 0 {
			inc.record(now, a.Source, workflows.KindAlert, "alert resolved at the source: "+m.Title, fmt.Sprintf("%s; %d of the group's alerts still firing", m.Key, inc.firingMembers()))
			return false
		}
		return true
	}
	m.Count++
	if m.Status == workflows.Recovered {
		m.Status = workflows.Firing
		if s.AlertStatus != workflows.Recovered {
			inc.record(now, a.Source, workflows.KindAlert, "alert firing again: "+m.Title, m.Key)
		}
	}
	return true
}

// memberIndex returns the index of the member with key, or -1.
func (inc *incident) memberIndex(key string) int {
	for i := range inc.s.Members {
		if inc.s.Members[i].Key == key {
			return i
		}
	}
	return -1
}

// firingMembers counts the listed members still firing (members split out
// to their own incident are not).
func (inc *incident) firingMembers() int {
	n := 0
	for _, m := range inc.s.Members {
		if m.Status == workflows.Firing && m.SplitTo == "" {
			n++
		}
	}
	return n
}

// describeMembers summarises a group's members in one line.
func describeMembers(ms []workflows.AlertMember, more int) string {
	firing := 0
	for _, m := range ms {
		if m.Status == workflows.Firing && m.SplitTo == "" {
			firing++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d alerts, %d firing", len(ms)+more, firing)
	if more > 0 {
		fmt.Fprintf(&b, " (%d listed)", len(ms))
	}
	return b.String()
}

// escalateForMember raises the incident to a joining member's severity when
// it is more severe (a SEV1 alert that joined a SEV3 storm makes it a SEV1
// incident) and pages the Commander; a less severe member changes nothing.
// People decide de-escalation.
func (inc *incident) escalateForMember(now time.Time, a workflows.Alert) {
	s := &inc.s
	if !a.Severity.Valid() || a.Severity.Rank() >= s.Severity.Rank() {
		return
	}
	prev := s.Severity
	s.Severity = a.Severity
	what := fmt.Sprintf("escalated %s → %s (%s): a %s alert joined", prev, a.Severity, a.Severity.Describe(), a.Severity)
	inc.record(now, a.Source, workflows.KindAlert, what, a.Member+": "+a.Title)
	if s.State == workflows.Triggered {
		if due := now.Add(a.Severity.AckTimeout()); due.Before(s.AckDue) {
			s.AckDue = due
		}
	} else if c := a.Severity.UpdateCadence(); c > 0 {
		if due := now.Add(c); s.NextUpdateAt.IsZero() || due.Before(s.NextUpdateAt) {
			s.NextUpdateAt = due
		}
	}
	inc.page(s.Roles.Commander, fmt.Sprintf("escalated to %s: %s", a.Severity, s.Title), fmt.Sprintf("A %s alert joined: %s (%s).", a.Severity, a.Title, a.Member))
	inc.post("severity escalated: "+what, "")
}
