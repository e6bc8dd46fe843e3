package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/report"
	"github.com/datasev/datasev/workflows"
)

var (
	t0    = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	until = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

func mins(n int) time.Duration { return time.Duration(n) * time.Minute }

// sample: ten SEV2s acknowledged after 1..10 minutes (one never mitigated),
// three SEV1s, no SEV3-5.
func sample() []report.Incident {
	var out []report.Incident
	for i := 1; i <= 10; i++ {
		in := report.Incident{
			ID: "sev2-" + string(rune('a'+i)), Severity: workflows.SEV2, Service: "orders", Runbook: "orders-load",
			TriggeredAt: t0, ToAcknowledge: mins(i), ToMitigate: mins(10 * i), ToResolve: mins(100 * i),
		}
		if i == 10 {
			in.ToMitigate = -1
			in.Service = ""
			in.Runbook = ""
		}
		out = append(out, in)
	}
	for _, ack := range []int{7, 3, 5} {
		out = append(out, report.Incident{
			ID: "sev1", Severity: workflows.SEV1, Service: "billing", TriggeredAt: t0,
			ToAcknowledge: mins(ack), ToMitigate: -1, ToResolve: mins(60),
			Approvals:          map[string]int{report.OutcomeGranted: 2, report.OutcomeTimedOut: 1, report.OutcomeDenied: 1, report.OutcomeAuto: 1},
			ApprovalsEscalated: 1, UpdatesMissed: ack - 3, Handoffs: 2, HandoffsAccepted: 1, HandoffsMissed: 1,
			ActionItems: 3, ActionItemsFiled: 2, Merged: ack == 3,
		})
	}
	return out
}

func TestAggregateKnownInputs(t *testing.T) {
	s := report.Aggregate(sample(), t0, until, "")
	if s.Incidents != 13 || s.Merged != 1 {
		t.Errorf("incidents %d merged %d, want 13 and 1", s.Incidents, s.Merged)
	}
	wantSev := []report.Count{{Key: "SEV1", Incidents: 3}, {Key: "SEV2", Incidents: 10}, {Key: "SEV3"}, {Key: "SEV4"}, {Key: "SEV5"}}
	if !slices.Equal(s.BySeverity, wantSev) {
		t.Errorf("by severity %v, want %v", s.BySeverity, wantSev)
	}
	wantSvc := []report.Count{{Key: "orders", Incidents: 9}, {Key: "billing", Incidents: 3}, {Key: report.None, Incidents: 1}}
	if !slices.Equal(s.ByService, wantSvc) {
		t.Errorf("by service %v, want %v", s.ByService, wantSvc)
	}
	wantRb := []report.Count{{Key: "orders-load", Incidents: 9}, {Key: report.None, Incidents: 4}}
	if !slices.Equal(s.ByRunbook, wantRb) {
		t.Errorf("by runbook %v, want %v", s.ByRunbook, wantRb)
	}
	if len(s.Times) != 2 || s.Times[0].Severity != workflows.SEV1 || s.Times[1].Severity != workflows.SEV2 {
		t.Fatalf("times %+v, want SEV1 then SEV2", s.Times)
	}
	sev1, sev2 := s.Times[0], s.Times[1]
	// Nearest rank: the median of 1..10 is the 5th (5m), the p90 the 9th
	// (9m); of 3, 5, 7 the 2nd (5m) and the 3rd (7m).
	for _, c := range []struct {
		name        string
		got         report.Stat
		n           int
		median, p90 time.Duration
	}{
		{"SEV2 ack", sev2.Acknowledge, 10, mins(5), mins(9)},
		{"SEV2 mitigate", sev2.Mitigate, 9, mins(50), mins(90)},
		{"SEV2 resolve", sev2.Resolve, 10, mins(500), mins(900)},
		{"SEV1 ack", sev1.Acknowledge, 3, mins(5), mins(7)},
		{"SEV1 mitigate", sev1.Mitigate, 0, 0, 0},
		{"SEV1 resolve", sev1.Resolve, 3, mins(60), mins(60)},
	} {
		if c.got.N != c.n || c.got.Median != c.median || c.got.P90 != c.p90 {
			t.Errorf("%s: n %d median %s p90 %s, want %d %s %s", c.name, c.got.N, c.got.Median, c.got.P90, c.n, c.median, c.p90)
		}
	}
	if sev2.Acknowledge.MedianSeconds != 300 || sev2.Acknowledge.P90Seconds != 540 {
		t.Errorf("SEV2 ack seconds %v %v", sev2.Acknowledge.MedianSeconds, sev2.Acknowledge.P90Seconds)
	}
	if want := (report.Approvals{Granted: 6, Denied: 3, TimedOut: 3, Auto: 3, Escalated: 3}); s.Approvals != want {
		t.Errorf("approvals %+v, want %+v", s.Approvals, want)
	}
	if want := (report.StatusUpdates{Missed: 0 + 2 + 4, Incidents: 2}); s.StatusUpdates != want {
		t.Errorf("status updates %+v, want %+v", s.StatusUpdates, want)
	}
	if want := (report.Handoffs{Started: 6, Accepted: 3, Missed: 3}); s.Handoffs != want {
		t.Errorf("handoffs %+v, want %+v", s.Handoffs, want)
	}
	// None of the three incidents with filed items was followed up.
	if want := (report.ActionItems{Total: 9, Filed: 6, Unfiled: 3, NotFollowedUp: 6, IncidentsNotFollowedUp: 3}); s.ActionItems != want {
		t.Errorf("action items %+v, want %+v", s.ActionItems, want)
	}
	if !slices.Contains(s.Notes, report.NoteNotFollowedUp) {
		t.Errorf("notes %q: want the note on items not followed up", s.Notes)
	}
}

func TestAggregateIgnoresOrder(t *testing.T) {
	in := sample()
	want, _ := json.Marshal(report.Aggregate(in, t0, until, "x"))
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		got, _ := json.Marshal(report.Aggregate(in, t0, until, "x"))
		if !bytes.Equal(got, want) {
			t.Fatalf("shuffled input gave\n%s\nwant\n%s", got, want)
		}
	}
}

func TestAggregateEmpty(t *testing.T) {
	s := report.Aggregate(nil, t0, until, "")
	if s.Incidents != 0 || len(s.Times) != 0 || len(s.BySeverity) != 5 || len(s.ByService) != 0 {
		t.Errorf("empty: %+v", s)
	}
	var b bytes.Buffer
	if err := report.Write(&b, s, report.FormatTable); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "(no incidents)") {
		t.Errorf("empty table:\n%s", b.String())
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.9, 9}, {0.91, 10}, {1, 10}, {0.01, 1}, {0.1, 1}, {0.11, 2}} {
		if got := report.Percentile(ds, c.q); got != c.want {
			t.Errorf("Percentile(1..10, %v) = %d, want %d", c.q, got, c.want)
		}
	}
	if got := report.Percentile([]time.Duration{42}, 0.9); got != 42 {
		t.Errorf("one value: %d", got)
	}
	if got := report.Percentile(nil, 0.5); got != 0 {
		t.Errorf("none: %d", got)
	}
}

func TestApprovalOutcome(t *testing.T) {
	dl := t0.Add(30 * time.Minute)
	for _, c := range []struct {
		ap   workflows.Approval
		want string
	}{
		{workflows.Approval{Status: workflows.ApprovalApproved, DecidedBy: "alice"}, report.OutcomeGranted},
		{workflows.Approval{Status: workflows.ApprovalApproved, DecidedBy: "policy reload-once"}, report.OutcomeAuto},
		{workflows.Approval{Status: workflows.ApprovalDenied, DecidedBy: "policy reload-once"}, report.OutcomeDenied},
		{workflows.Approval{Status: workflows.ApprovalDenied, DecidedBy: "alice", Deadline: dl, DecidedAt: t0}, report.OutcomeDenied},
		{workflows.Approval{Status: workflows.ApprovalDenied, DecidedBy: "datasev", Deadline: dl, DecidedAt: dl}, report.OutcomeTimedOut},
		// Denied by datasev before the deadline: the incident resolved first.
		{workflows.Approval{Status: workflows.ApprovalDenied, DecidedBy: "datasev", Deadline: dl, DecidedAt: t0, Reason: "incident already resolved"}, report.OutcomeDenied},
		{workflows.Approval{Status: workflows.ApprovalPending, Escalated: true}, report.OutcomePending},
	} {
		if got := report.ApprovalOutcome(c.ap); got != c.want {
			t.Errorf("%+v: %s, want %s", c.ap, got, c.want)
		}
	}
}

func TestFormats(t *testing.T) {
	s := report.Aggregate(sample(), t0, until, "data-platform")
	s.Excluded = 2

	var tb bytes.Buffer
	if err := report.Write(&tb, s, report.FormatTable); err != nil {
		t.Fatal(err)
	}
	table := tb.String()
	for _, want := range []string{
		"Incidents closed 2026-09-01 00:00:00 to 2026-12-01 00:00:00, team data-platform (UTC): 13 (1 merged into another)",
		"Not counted: 2 closed without a final snapshot",
		"SEV2      10", "orders   9", "orders-load  9",
		"5m (n=10)", "9m", "8h20m (n=10)", "15h",
		"Note: " + report.NoteNotFollowedUp,
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// The approvals row: granted 6, denied 3, timed out 3, auto 3, pending 0, escalated 3.
	if !regexpMatch(`(?m)^\s+6\s+3\s+3\s+3\s+0\s+3\s*$`, table) {
		t.Errorf("table's approvals row:\n%s", table)
	}

	var cb bytes.Buffer
	if err := report.Write(&cb, s, report.FormatCSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	got := map[string]string{}
	for i, r := range rows {
		if len(r) != 4 {
			t.Fatalf("csv row %d has %d fields: %q", i, len(r), r)
		}
		got[r[0]+"/"+r[1]+"/"+r[2]] = r[3]
	}
	for k, v := range map[string]string{
		"section/key/metric":                      "value",
		"incidents//closed":                       "13",
		"incidents//excluded":                     "2",
		"period//team":                            "data-platform",
		"severity/SEV1/incidents":                 "3",
		"service/(none)/incidents":                "1",
		"time_to_acknowledge/SEV2/median_seconds": "300",
		"time_to_acknowledge/SEV2/p90_seconds":    "540",
		"time_to_mitigate/SEV2/n":                 "9",
		"time_to_mitigate/SEV1/n":                 "0",
		"time_to_resolve/SEV1/p90_seconds":        "3600",
		"approvals//timed_out":                    "3",
		"approvals//auto":                         "3",
		"handoffs//missed":                        "3",
		"status_updates//missed":                  "6",
		"action_items//unfiled":                   "3",
		"action_items//done":                      "0",
		"action_items//not_followed_up":           "6",
		"period//since":                           "2026-09-01T00:00:00Z",
	} {
		if got[k] != v {
			t.Errorf("csv %s = %q, want %q", k, got[k], v)
		}
	}

	var jb bytes.Buffer
	if err := report.Write(&jb, s, report.FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Incidents int `json:"incidents"`
		Times     []struct {
			Severity    string `json:"severity"`
			Acknowledge struct {
				N      int     `json:"n"`
				Median float64 `json:"median_seconds"`
				P90    float64 `json:"p90_seconds"`
			} `json:"acknowledge"`
		} `json:"times"`
		Approvals   map[string]int `json:"approvals"`
		Handoffs    map[string]int `json:"handoffs"`
		ActionItems map[string]int `json:"action_items"`
	}
	if err := json.Unmarshal(jb.Bytes(), &back); err != nil {
		t.Fatalf("json: %v\n%s", err, jb.String())
	}
	if back.Incidents != 13 || len(back.Times) != 2 || back.Times[1].Severity != "SEV2" ||
		back.Times[1].Acknowledge.N != 10 || back.Times[1].Acknowledge.Median != 300 || back.Times[1].Acknowledge.P90 != 540 {
		t.Errorf("json: %+v", back)
	}
	if back.Approvals["granted"] != 6 || back.Approvals["auto"] != 3 || back.Handoffs["missed"] != 3 || back.ActionItems["filed"] != 6 {
		t.Errorf("json counts: %+v %+v %+v", back.Approvals, back.Handoffs, back.ActionItems)
	}

	if err := report.Write(&jb, s, "xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("unknown format: %v", err)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90d":                  now.AddDate(0, 0, -90),
		"2w":                   now.AddDate(0, 0, -14),
		"36h":                  now.Add(-36 * time.Hour),
		"2026-01-02":           time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		"2026-11-01T08:00:00Z": time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
	} {
		got, err := report.ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"":           "empty",
		"ninety":     "not a duration or a date",
		"9.5d":       "whole number of days",
		"-3d":        "not a positive duration",
		"0h":         "not a positive duration",
		"2027-01-01": "in the future",
		"99999999w":  "more than a century",
	} {
		_, err := report.ParseSince(in, now)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "--since") {
			t.Errorf("ParseSince(%q): %v, want an error saying %q", in, err, why)
		}
	}
}

func TestCheckFormat(t *testing.T) {
	for _, f := range report.Formats {
		if err := report.CheckFormat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := report.CheckFormat("yaml"); err == nil || !strings.Contains(err.Error(), "table, csv, json") {
		t.Errorf("yaml: %v", err)
	}
}

func TestListQuery(t *testing.T) {
	q := report.ListQuery(report.Query{Since: t0, Until: until})
	want := "WorkflowType = 'Incident' AND ExecutionStatus = 'Completed' AND CloseTime >= '2026-09-01T00:00:00Z' AND CloseTime < '2026-12-01T00:00:00Z'"
	if q != want {
		t.Errorf("ListQuery = %s\nwant %s", q, want)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
