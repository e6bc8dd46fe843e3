package incidentdoc

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/workflows"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var t0 = time.Date(2026, 3, 2, 22, 41, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// sev2Report is a SEV2 incident in mitigation: a runbook with findings, a
// remediation denied and another pending, closure inputs given early, and
// a timeline with pipes, newlines and HTML in it.
func sev2Report() workflows.Report {
	const rb = "runbook dbt-model-regression"
	return workflows.Report{
		ID:            "incident-dbt:fct_orders",
		Title:         "fct_orders revenue off by 40% after deploy",
		State:         workflows.Mitigating,
		Severity:      workflows.SEV2,
		Service:       "analytics-dbt",
		Dataset:       "analytics.fct_orders",
		Runbook:       "dbt-model-regression",
		RunbookStatus: "waiting for approval",
		Roles:         workflows.Roles{Commander: "bob", Scribe: "carol", SMEs: []string{"heidi", "ivan"}},
		AlertCount:    3,
		TriggeredAt:   t0,
		AckedAt:       at(4*time.Minute + 30*time.Second),
		MitigatedAt:   at(58 * time.Minute),
		Approvals: []workflows.Approval{
			{ID: "revert-9f3c2a1", Action: "github.revert_commit 9f3c2a1 in acme/analytics", Approver: workflows.Commander,
				RequestedBy: rb, RequestedAt: at(9 * time.Minute), Deadline: at(39 * time.Minute), Status: workflows.ApprovalDenied,
				FromRunbook: true, DecidedBy: "alice", DecidedAt: at(14 * time.Minute), Reason: "wrong commit | docs only"},
			{ID: "rerun-4411", Action: "dbt_cloud.run_job 4411", Approver: workflows.Commander,
				RequestedBy: "heidi", RequestedAt: at(50 * time.Minute), Deadline: at(80 * time.Minute), Status: workflows.ApprovalPending, Escalated: true},
		},
		Findings: []string{"impact: fct_orders feeds 12 nodes: 2 exposures (1 dashboard, 1 ml)", "recent_commits: 9f3c2a1, 77be010 touch models/"},
		Closure: workflows.Closure{
			Enabled:     true,
			RootCause:   "Commit 77be010 changed the join key.\n\n# not a heading\nThe tests only checked <not-null>.",
			RootCauseBy: "heidi",
			Factors:     []workflows.ClosureNote{{Text: "No row-count test on fct_orders", By: "heidi", At: at(40 * time.Minute)}},
			ActionItems: []workflows.ActionItem{
				{Text: "Add a row-count test", Owner: "heidi", By: "carol", At: at(45 * time.Minute), Issue: "https://github.com/acme/analytics/issues/812"},
				{Text: "Rank revert candidates\nby path", By: "carol", At: at(46 * time.Minute)},
			},
		},
		Timeline: []workflows.TimelineEntry{
			{At: at(0), Who: "dbt_cloud", Kind: workflows.KindAlert, What: "alert fired: fct_orders revenue off by 40% after deploy"},
			{At: at(0), Who: "datasev", Kind: workflows.KindTransition, What: "triggered", Why: "runbook dbt-model-regression chosen"},
			{At: at(2 * time.Minute), Who: rb, Kind: workflows.KindFinding, What: "check recent_commits ok: 9f3c2a1, 77be010"},
			{At: at(4*time.Minute + 30*time.Second), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "acknowledged"},
			{At: at(14 * time.Minute), Who: "alice", Via: "slack", Kind: workflows.KindAct, What: "denied revert-9f3c2a1", Why: "wrong commit | docs only"},
			{At: at(30 * time.Minute), Who: "heidi", Via: "cli", Kind: workflows.KindAct, What: "note: join on <customer_id>\nrows x3", Why: "diffed the model"},
			{At: at(50 * time.Minute), Who: "heidi", Via: "cli", Kind: workflows.KindAct, What: "requested approval rerun-4411: dbt_cloud.run_job 4411"},
			{At: at(58 * time.Minute), Who: "bob", Kind: workflows.KindTransition, What: "diagnosing → mitigating"},
		},
	}
}

// closedReport is sev2Report closed, its postmortem written.
func closedReport() workflows.Report {
	r := sev2Report()
	r.State = workflows.Closed
	r.RunbookStatus = "completed"
	r.Approvals[1].Status = workflows.ApprovalApproved
	r.Approvals[1].DecidedBy, r.Approvals[1].DecidedAt = "bob", at(55*time.Minute)
	r.ResolvedAt = at(time.Hour + 12*time.Minute)
	r.ClosedAt = at(26 * time.Hour)
	r.Closure.Postmortem = "/var/lib/datasev/postmortems/incident-dbt_fct_orders.md"
	r.Timeline = append(r.Timeline,
		workflows.TimelineEntry{At: at(time.Hour + 12*time.Minute), Who: "bob", Via: "slack", Kind: workflows.KindTransition, What: "monitoring → resolved"},
		workflows.TimelineEntry{At: at(26 * time.Hour), Who: "datasev", Kind: workflows.KindTransition, What: "resolved → closed"})
	return r
}

// minimalReport has only what the brief promises Render copes with.
func minimalReport() workflows.Report {
	return workflows.Report{ID: "incident-x", Title: "orders late", Severity: workflows.SEV4, State: workflows.Triggered}
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    workflows.Report
	}{
		{"sev2_mitigating", sev2Report()},
		{"sev2_closed", closedReport()},
		{"minimal", minimalReport()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			title, body, err := Render(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if t2, b2, _ := Render(tt.r); t2 != title || b2 != body {
				t.Fatal("two renders of one report differ")
			}
			got := title + "\n\n" + body
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

func TestRenderContent(t *testing.T) {
	title, body, err := Render(sev2Report())
	if err != nil {
		t.Fatal(err)
	}
	if title != "[SEV2] fct_orders revenue off by 40% after deploy (mitigating)" {
		t.Errorf("title %q", title)
	}
	if n := strings.Count("\n"+body, "\n# "); n != 1 || !strings.HasPrefix(body, "# "+title+"\n") {
		t.Errorf("%d H1 headings, want one, the title, first", n)
	}
	for _, s := range []string{
		"SEV2 — Significant problems; many users affected",
		"`incident-dbt:fct_orders`",
		"### Pending", "| rerun-4411 | dbt_cloud.run_job 4411 | commander | heidi | 2026-03-02 23:31:05 | 2026-03-03 00:01:05 | **pending (escalated)** |",
		"### Decided", "| revert-9f3c2a1 | github.revert_commit 9f3c2a1 in acme/analytics | runbook dbt-model-regression | **denied** | alice | wrong commit \\| docs only |",
		"- impact: fct_orders feeds 12 nodes",
		"\\# not a heading", "&lt;not-null&gt;",
		"<https://github.com/acme/analytics/issues/812>", "Rank revert candidates by path — owner: unassigned — issue: not filed yet",
		"| 2026-03-02 23:11:05 | heidi | cli | act | note: join on &lt;customer_id&gt;<br>rows x3 | diffed the model |",
		"- **Mitigated:** 2026-03-02 23:39:05 (58m after the trigger)", "- **Resolved:** not yet",
		"- **Liaison:** unassigned",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q", s)
		}
	}
	if strings.Contains(body, "## Postmortem") {
		t.Error("an open incident's document has a postmortem")
	}
	// Newest last.
	if strings.Index(body, "alert fired") > strings.Index(body, "diagnosing → mitigating") {
		t.Error("timeline is not oldest first")
	}
}

func TestRenderClosedEmbedsThePostmortem(t *testing.T) {
	r := closedReport()
	title, body, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(title, "(closed)") {
		t.Errorf("title %q", title)
	}
	pm := postmortem.Render(r)
	i := strings.Index(body, "\n## Postmortem\n")
	if i < 0 {
		t.Fatal("no Postmortem section")
	}
	tail := body[i:]
	if !strings.Contains(tail, "## Postmortem: "+r.Title) || !strings.Contains(tail, "### Root cause") || !strings.Contains(tail, r.Closure.Postmortem) {
		t.Errorf("postmortem not embedded with demoted headings:\n%s", tail)
	}
	if !strings.HasSuffix(body, "\n"+demote(pm)) || !strings.HasSuffix(pm, postmortem.Footer+"\n") {
		t.Error("the embedded postmortem is not whole, or not last")
	}
	if n := strings.Count("\n"+body, "\n# "); n != 1 {
		t.Errorf("%d H1 headings", n)
	}
}

func TestDemote(t *testing.T) {
	in := "# A\n\n## B\n```\n# code\n```\n###### six\n#nospace\n    # indented code\n"
	want := "## A\n\n### B\n```\n# code\n```\n**six**\n#nospace\n    # indented code\n"
	if got := demote(in); got != want {
		t.Errorf("demote:\n%s\nwant:\n%s", got, want)
	}
}

// longReport has n timeline entries of about 150 characters each.
func longReport(n int) workflows.Report {
	r := sev2Report()
	r.Timeline = nil
	for i := range n {
		r.Timeline = append(r.Timeline, workflows.TimelineEntry{
			At: at(time.Duration(i) * time.Second), Who: "runbook dbt-model-regression", Kind: workflows.KindFinding,
			What: fmt.Sprintf("entry %04d: check freshness of analytics.fct_orders partition | still late by %d minutes", i, i),
		})
	}
	return r
}

func TestRenderMaxCutsOldestRows(t *testing.T) {
	r := longReport(1000)
	_, full, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if utf8.RuneCountInString(full) <= MaxIssueBody {
		t.Fatalf("the test report renders to %d characters; make it longer", len(full))
	}
	limit := MaxIssueBody - 100
	_, body, err := RenderMax(r, limit)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(body); n > limit || n < limit-500 {
		t.Fatalf("body has %d characters, want at most %d and not far below", n, limit)
	}
	shown := strings.Count(body, "| entry ")
	omitted := 1000 - shown
	if omitted <= 0 || !strings.Contains(body, fmt.Sprintf("The %d oldest entries are not shown", omitted)) {
		t.Fatalf("%d rows shown; the note is missing or wrong", shown)
	}
	// The newest rows stay, the oldest go; the rest of the document is whole.
	if !strings.Contains(body, "entry 0999") || strings.Contains(body, fmt.Sprintf("entry %04d:", omitted-1)) || !strings.Contains(body, fmt.Sprintf("entry %04d:", omitted)) {
		t.Error("the wrong rows were cut")
	}
	_, small, _ := Render(sev2Report())
	head, _, _ := strings.Cut(small, "## Timeline")
	if !strings.HasPrefix(body, head) {
		t.Error("the header, approvals or closure were cut")
	}
	if !strings.Contains(body, "1000 entries") {
		t.Error("the total is not given")
	}
	// Under the limit, nothing is cut.
	_, same, _ := RenderMax(sev2Report(), MaxIssueBody)
	if same != small {
		t.Error("RenderMax changed a body under the limit")
	}
}

func TestRenderMaxCutsThePostmortemLast(t *testing.T) {
	r := longReport(1000)
	r.State = workflows.Closed
	r.Closure.Postmortem = "/pm/incident.md"
	limit := MaxIssueBody - 100
	_, body, err := RenderMax(r, limit)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(body); n > limit {
		t.Fatalf("%d characters", n)
	}
	for _, s := range []string{"The 1000 oldest entries are not shown", "The postmortem is cut short here", "## Postmortem: ", "### Summary"} {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q", s)
		}
	}
	// Closure inputs too long for anything: cut with a note.
	r.Closure.RootCause = strings.Repeat("very long root cause ", 5000)
	_, body, err = RenderMax(r, limit)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(body); n > limit || !strings.HasSuffix(body, "characters.\n") {
		t.Fatalf("%d characters; ends %q", n, body[len(body)-80:])
	}
}

func BenchmarkRender500(b *testing.B) {
	r := longReport(500)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Render(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderMax1000(b *testing.B) {
	r := longReport(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := RenderMax(r, MaxIssueBody-100); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRenderActionItemStates: after a follow-up, a done item is ticked and
// each filed item says its tracker's state and when it was read; an item
// never read stays as it was.
func TestRenderActionItemStates(t *testing.T) {
	r := closedReport()
	r.Closure.ActionItems[0].State, r.Closure.ActionItems[0].Status = workflows.ItemDone, "closed (completed)"
	r.Closure.ActionItems[0].CheckedAt = time.Date(2026, 12, 5, 20, 1, 0, 0, time.UTC)
	_, body, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	want := "- [x] Add a row-count test — owner: heidi — issue: <https://github.com/acme/analytics/issues/812> (done: closed (completed), as of 2026-12-05 20:01 UTC)"
	if !strings.Contains(body, want) {
		t.Fatalf("no line %q in\n%s", want, body)
	}
	if !strings.Contains(body, "- [ ] Rank revert candidates") {
		t.Fatalf("the unfiled item lost its box:\n%s", body)
	}
	_, before, err := Render(closedReport())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(before, "as of") || strings.Contains(before, "[x]") {
		t.Fatalf("a report never followed up shows states:\n%s", before)
	}
}
