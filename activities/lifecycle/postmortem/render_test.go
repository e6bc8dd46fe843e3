package postmortem

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/workflows"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var t0 = time.Date(2026, 3, 2, 22, 41, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// fullReport is a closed SEV2 incident: a runbook with lineage findings, a
// shift handoff across midnight, a remediation denied then another
// approved, a root cause, two factors and three action items.
func fullReport() workflows.Report {
	const rb = "runbook dbt-model-regression"
	return workflows.Report{
		ID:            "incident-dbt:fct_orders",
		Title:         "fct_orders revenue off by 40% after deploy",
		State:         workflows.Closed,
		Severity:      workflows.SEV2,
		Service:       "analytics-dbt",
		Dataset:       "analytics.fct_orders",
		Runbook:       "dbt-model-regression",
		RunbookStatus: "completed",
		Roles:         workflows.Roles{Commander: "bob", Scribe: "carol", Liaison: "dave", SMEs: []string{"heidi", "ivan"}},
		AlertCount:    3,
		TriggeredAt:   t0,
		AckedAt:       at(4*time.Minute + 30*time.Second),
		MitigatedAt:   at(58 * time.Minute),
		ResolvedAt:    at(time.Hour + 12*time.Minute),
		ClosedAt:      at(26 * time.Hour),
		Approvals: []workflows.Approval{
			{ID: "revert-9f3c2a1", Action: "github.revert_commit 9f3c2a1 in acme/analytics", Approver: workflows.Commander,
				RequestedBy: rb, RequestedAt: at(9 * time.Minute), Deadline: at(69 * time.Minute), Status: workflows.ApprovalDenied,
				FromRunbook: true, DecidedBy: "alice", DecidedAt: at(14 * time.Minute), Reason: "wrong commit: 9f3c2a1 only touches docs"},
			{ID: "revert-77be010", Action: "github.revert_commit 77be010 in acme/analytics, merge, re-run dbt job 4411", Approver: workflows.Commander,
				RequestedBy: "heidi", RequestedAt: at(40 * time.Minute), Deadline: at(70 * time.Minute), Status: workflows.ApprovalApproved,
				DecidedBy: "bob", DecidedAt: at(58 * time.Minute), Reason: "the join change | the culprit"},
		},
		Findings: []string{"impact: fct_orders feeds 12 nodes: 2 exposures (1 dashboard, 1 ml)"},
		Closure: workflows.Closure{
			Enabled:     true,
			RootCause:   "Commit 77be010 changed the join in fct_orders from order_id to customer_id, duplicating rows.\n\nThe dbt tests only checked not-null.",
			RootCauseBy: "heidi",
			Factors: []workflows.ClosureNote{
				{Text: "No row-count test on fct_orders", By: "heidi", At: at(2 * time.Hour)},
				{Text: "The first revert suggestion picked the newest commit, not the one touching the model", By: "carol", At: at(2*time.Hour + 5*time.Minute)},
			},
			ActionItems: []workflows.ActionItem{
				{Text: "Add a row-count test to fct_orders", Owner: "heidi", By: "carol", At: at(2*time.Hour + 10*time.Minute), Issue: "https://github.com/acme/analytics/issues/812"},
				{Text: "Rank revert candidates by the model's path", Owner: "ivan", By: "carol", At: at(2*time.Hour + 11*time.Minute)},
				{Text: "Review join keys in\nthe orders models", By: "bob", At: at(2*time.Hour + 12*time.Minute)},
			},
			Postmortem: "",
		},
		Timeline: []workflows.TimelineEntry{
			{At: at(0), Who: "dbt_cloud", Kind: workflows.KindAlert, What: "alert fired: fct_orders revenue off by 40% after deploy"},
			{At: at(0), Who: "datasev", Kind: workflows.KindTransition, What: "triggered", Why: "runbook dbt-model-regression chosen"},
			{At: at(time.Second), Who: rb, Kind: workflows.KindSystem, What: "runbook dbt-model-regression started"},
			{At: at(2 * time.Minute), Who: rb, Kind: workflows.KindFinding, What: "check recent_commits ok: 2 commits touch models/ since 72h: 9f3c2a1, 77be010"},
			{At: at(3 * time.Minute), Who: rb, Kind: workflows.KindFinding, What: "check impact ok: fct_orders feeds 12 nodes: 2 exposures (1 dashboard, 1 ml)"},
			{At: at(4*time.Minute + 30*time.Second), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "acknowledged"},
			{At: at(9 * time.Minute), Who: rb, Kind: workflows.KindAct, What: "requested approval revert-9f3c2a1: github.revert_commit 9f3c2a1 in acme/analytics"},
			{At: at(14 * time.Minute), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "denied revert-9f3c2a1: github.revert_commit 9f3c2a1 in acme/analytics", Why: "wrong commit: 9f3c2a1 only touches docs"},
			{At: at(16 * time.Minute), Who: "datasev", Kind: workflows.KindTimer, What: "evening shift ends at 23:00 UTC: handoff summary posted, paging bob"},
			{At: at(21 * time.Minute), Who: "bob", Via: "cli", Kind: workflows.KindAct, What: "accepted the handoff from alice"},
			{At: at(30 * time.Minute), Who: "heidi", Via: "slack", Kind: workflows.KindAct, What: "finding: 77be010 swaps order_id for customer_id in the join | rows x3", Why: "diffed the model\nagainst last week's"},
			{At: at(40 * time.Minute), Who: "heidi", Via: "cli", Kind: workflows.KindAct, What: "requested approval revert-77be010: github.revert_commit 77be010 in acme/analytics, merge, re-run dbt job 4411"},
			{At: at(58 * time.Minute), Who: "bob", Via: "slack", Kind: workflows.KindAct, What: "approved revert-77be010: github.revert_commit 77be010 in acme/analytics, merge, re-run dbt job 4411", Why: "the join change | the culprit"},
			{At: at(58 * time.Minute), Who: "bob", Kind: workflows.KindTransition, What: "diagnosing → mitigating", Why: "remediation revert-77be010 approved"},
			{At: at(68 * time.Minute), Who: rb, Kind: workflows.KindFinding, What: "verify watch ok: check passes"},
			{At: at(time.Hour + 12*time.Minute), Who: "bob", Via: "slack", Kind: workflows.KindTransition, What: "monitoring → resolved"},
			{At: at(2 * time.Hour), Who: "heidi", Via: "slack", Kind: workflows.KindAct, What: "contributing factor: No row-count test on fct_orders"},
			{At: at(26 * time.Hour), Who: "datasev", Kind: workflows.KindTransition, What: "resolved → closed"},
		},
	}
}

// minimalReport is an incident handled by hand, closed with no closure
// inputs and no approvals.
func minimalReport() workflows.Report {
	return workflows.Report{
		ID:          "incident-s3:landing/orders",
		Title:       "orders partition late",
		State:       workflows.Closed,
		Severity:    workflows.SEV4,
		Roles:       workflows.Roles{Commander: "alice"},
		AlertCount:  1,
		TriggeredAt: t0,
		AckedAt:     at(2 * time.Minute),
		ResolvedAt:  at(20*time.Minute + 7*time.Second),
		ClosedAt:    at(50 * time.Minute),
		Timeline: []workflows.TimelineEntry{
			{At: at(0), Who: "cli", Kind: workflows.KindAlert, What: "alert fired: orders partition late"},
			{At: at(2 * time.Minute), Who: "alice", Via: "cli", Kind: workflows.KindAct, What: "acknowledged"},
			{At: at(20*time.Minute + 7*time.Second), Who: "alice", Via: "cli", Kind: workflows.KindTransition, What: "acknowledged → resolved", Why: "partition landed"},
		},
	}
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    workflows.Report
	}{
		{"full_sev2", fullReport()},
		{"minimal", minimalReport()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(tt.r)
			if again := Render(tt.r); again != got {
				t.Fatal("two renders of one report differ")
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the output; run with -update if the change is intended\n--- got ---\n%s", path, got)
			}
		})
	}
}

// The full report reads as the brief asks: sections in order, the denied
// then approved remediations, the lineage finding, the handoff, the issue
// link.
func TestFullReportContent(t *testing.T) {
	got := Render(fullReport())
	order := []string{
		"# Postmortem: fct_orders revenue off by 40% after deploy",
		"## Summary", "## Impact", "What the runbook found automatically:", "## Timing", "## Roles", "Handoffs:",
		"## Decisions", "## Timeline", "## Root cause", "## Contributing factors", "## Action items", Footer,
	}
	pos := 0
	for _, s := range order {
		i := strings.Index(got[pos:], s)
		if i < 0 {
			t.Fatalf("missing %q after byte %d", s, pos)
		}
		pos += i + len(s)
	}
	for _, s := range []string{
		"**SEV2** (Significant problems; many users affected)",
		"- check impact ok: fct_orders feeds 12 nodes: 2 exposures (1 dashboard, 1 ml)",
		"- **Time to acknowledge:** 4m30s",
		"- **Time to mitigate:** 58m",
		"- **Time to resolve:** 1h12m",
		"accepted the handoff from alice",
		"| 1 | 2026-03-02 22:50:05 | revert-9f3c2a1 |",
		"| **denied** | wrong commit: 9f3c2a1 only touches docs |",
		"| 2 | 2026-03-02 23:21:05 | revert-77be010 |",
		"| **approved** | the join change \\| the culprit |",
		"- [ ] Add a row-count test to fct_orders — owner: heidi — issue: <https://github.com/acme/analytics/issues/812>",
		"- [ ] Review join keys in the orders models — owner: unassigned",
		"| 2026-03-03 00:41:05 |", // the date again after midnight
		"1 approved, 1 denied",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("missing %q", s)
		}
	}
	if strings.Count(got, "| 2026-03-02 ") != 1+4 { // first timeline row; requested and decided in two decision rows
		t.Errorf("the date should head the first timeline row only (plus the decisions table):\n%s", got)
	}
}

// The minimal report says what is missing and has no decisions section.
func TestMinimalReport(t *testing.T) {
	got := Render(minimalReport())
	for _, s := range []string{"## Root cause\n\nNone recorded.", "## Contributing factors\n\nNone recorded.", "## Action items\n\nNone recorded.", "No runbook ran", "No root cause has been recorded."} {
		if !strings.Contains(got, s) {
			t.Errorf("missing %q", s)
		}
	}
	if strings.Contains(got, "## Decisions") {
		t.Error("a report without approvals has a Decisions section")
	}
	if strings.Contains(got, "Draft") {
		t.Error("a closed incident's postmortem is marked draft")
	}
}

// Pipes, newlines and backslashes in timeline text stay inside their cell:
// every table row has exactly the header's number of unescaped pipes.
func TestTimelineCellsCannotBreakTheTable(t *testing.T) {
	r := minimalReport()
	r.Timeline = append(r.Timeline,
		workflows.TimelineEntry{At: at(time.Hour), Who: "mallory|x", Via: "cli\n", Kind: workflows.KindAct,
			What: "note: a | b\n| --- |\r\n# heading\\", Why: "trailing backslash \\|"},
		workflows.TimelineEntry{At: at(time.Hour), Who: "eve", Kind: workflows.KindAct, What: "<script>alert(1)</script>\n\n\n"},
	)
	got := Render(r)
	start := strings.Index(got, "| Time (UTC) |")
	if start < 0 {
		t.Fatal("no timeline table")
	}
	lines := strings.Split(got[start:], "\n")
	var rows []string
	for _, l := range lines {
		if l == "" {
			break
		}
		rows = append(rows, l)
	}
	if want := 2 + len(r.Timeline); len(rows) != want {
		t.Fatalf("timeline table has %d lines, want %d:\n%s", len(rows), want, strings.Join(rows, "\n"))
	}
	for _, row := range rows {
		if n := unescapedPipes(row); n != 6 {
			t.Errorf("row has %d cell separators, want 6: %s", n, row)
		}
	}
	if strings.Contains(got, "<script>") {
		t.Error("HTML passed through")
	}
}

// unescapedPipes counts the pipes a GFM table splits on: those not preceded
// by an odd run of backslashes.
func unescapedPipes(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		if row[i] != '|' {
			continue
		}
		bs := 0
		for j := i - 1; j >= 0 && row[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 0 {
			n++
		}
	}
	return n
}

// A long timeline is kept whole.
func TestLongTimelineKeptWhole(t *testing.T) {
	r := minimalReport()
	r.Timeline = nil
	for i := range 5000 {
		r.Timeline = append(r.Timeline, workflows.TimelineEntry{At: at(time.Duration(i) * time.Minute), Who: "bot", Kind: workflows.KindTimer, What: "tick"})
	}
	got := Render(r)
	if n := strings.Count(got, "| bot |  | tick |"); n != 5000 {
		t.Errorf("%d timeline rows, want 5000", n)
	}
}

// An open incident renders as a draft with what it has.
func TestOpenIncidentIsDraft(t *testing.T) {
	r := minimalReport()
	r.State, r.ResolvedAt, r.ClosedAt = workflows.Diagnosing, time.Time{}, time.Time{}
	got := Render(r)
	for _, s := range []string{"> **Draft:** the incident is still diagnosing", "→ not resolved", "- **Time to resolve:** not resolved", "It is not resolved yet (state: diagnosing)."} {
		if !strings.Contains(got, s) {
			t.Errorf("missing %q:\n%s", s, got)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                  "0s",
		45 * time.Second:                   "45s",
		4*time.Minute + 30*time.Second:     "4m30s",
		72 * time.Minute:                   "1h12m",
		time.Hour + 12*time.Minute + 499e6: "1h12m",
		time.Hour + 12*time.Minute + 5e9:   "1h12m5s",
		76 * time.Hour:                     "3d4h",
		-90 * time.Second:                  "-1m30s",
		1500 * time.Millisecond:            "2s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func BenchmarkRenderFull(b *testing.B) {
	r := fullReport()
	for b.Loop() {
		_ = Render(r)
	}
}

func BenchmarkRender5000Entries(b *testing.B) {
	r := fullReport()
	for i := range 5000 {
		r.Timeline = append(r.Timeline, workflows.TimelineEntry{At: at(time.Duration(i) * time.Second), Who: "bot", Kind: workflows.KindTimer, What: "tick | tock"})
	}
	b.ResetTimer()
	for b.Loop() {
		_ = Render(r)
	}
}

// The decisions table and the timeline say how each actor was verified.
func TestRenderShowsVerification(t *testing.T) {
	at := time.Date(2026, 3, 10, 18, 20, 0, 0, time.UTC)
	r := workflows.Report{
		ID: "incident-x", Title: "x", State: workflows.Closed, Severity: workflows.SEV2, TriggeredAt: at,
		Approvals: []workflows.Approval{{ID: "rerun", Action: "clear tasks", RequestedBy: "erin", RequestVerified: "key SHA256:erinkey",
			DecidedBy: "alice", DecisionVerified: "slack:U01ALICE via slack", Status: workflows.ApprovalApproved, RequestedAt: at, DecidedAt: at}},
		Timeline: []workflows.TimelineEntry{{At: at, Who: "alice", Via: "slack", Verified: "slack:U01ALICE via slack", Kind: workflows.KindAct, What: "approved rerun"}},
	}
	got := Render(r)
	for _, want := range []string{
		"| erin (key SHA256:erinkey) | alice (slack:U01ALICE via slack) | **approved** |",
		"| alice (slack:U01ALICE via slack) | slack | approved rerun |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, got)
		}
	}
}
