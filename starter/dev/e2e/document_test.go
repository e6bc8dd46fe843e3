package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
)

// The incident document as a GitHub issue, from the real worker on the real
// dev server through go-github to the GitHub stand-in: one issue opened
// with the incident and linked from it, edited in place as the timeline
// grows, and at closure closed as completed with the postmortem in it and
// the action item filed as its own issue.
func TestIncidentDocumentAsGitHubIssue(t *testing.T) {
	skipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := srv.Client()
	w := newWorld(t)
	const repo = ghtest.DemoRepo
	w.startWorker(t, c, func(cfg *service.Config) {
		cfg.IncidentDoc.Repo = repo
		cfg.Postmortem.IssuesRepo = repo
	})

	alert := workflows.Alert{
		Source: "generic", Title: "orders mart stale", Severity: workflows.SEV2,
		DedupeKey: fmt.Sprintf("e2e-doc-%d", time.Now().UnixNano()), Service: "orders", Dataset: "ANALYTICS.MARTS.ORDERS",
	}
	d, err := incidents.Declare(ctx, c, incidents.DeclareRequest{Alert: alert, Roster: roster(t),
		Options: workflows.Options{CloseAfter: 2 * time.Second, DocumentInterval: time.Second}})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	id := d.WorkflowID
	cleanupIncident(t, c, id)

	docIssues := func() []ghtest.Issue {
		var out []ghtest.Issue
		for _, is := range w.gh.Issues(repo) {
			if strings.Contains(is.Body, incidentdoc.Marker(id)) {
				out = append(out, is)
			}
		}
		return out
	}
	var st workflows.Status
	eventually(t, time.Minute, "the incident document's issue, linked from the incident", func() (bool, string) {
		st = status(t, ctx, c, id)
		return st.Document != "" && len(docIssues()) == 1, fmt.Sprintf("document %q, issues %d", st.Document, len(docIssues()))
	})
	doc := docIssues()[0]
	if !strings.HasSuffix(st.Document, fmt.Sprintf("/issues/%d", doc.Number)) || doc.State != "open" {
		t.Errorf("document %q, issue #%d %s; want the open issue's URL", st.Document, doc.Number, doc.State)
	}
	if !strings.Contains(doc.Title, "[SEV2] orders mart stale") || !strings.Contains(strings.Join(doc.Labels, ","), incidentdoc.Label) {
		t.Errorf("issue title %q labels %v", doc.Title, doc.Labels)
	}
	expectEntry(t, timeline(t, ctx, c, id), "incident document: "+st.Document, "")

	for _, a := range []struct {
		name string
		act  workflows.Act
	}{
		{workflows.ActAcknowledge, workflows.Act{By: commander}},
		{workflows.ActAddNote, workflows.Act{By: "heidi", Note: "the orders mart stopped at 06:00"}},
	} {
		a.act.Via = "cli"
		if _, err := signedAct(ctx, c, id, a.name, a.act); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
	}
	eventually(t, time.Minute, "the note in the same issue", func() (bool, string) {
		issues := docIssues()
		return len(issues) == 1 && strings.Contains(issues[0].Body, "the orders mart stopped at 06:00"), fmt.Sprintf("%d issues", len(issues))
	})

	for _, a := range []struct {
		name string
		act  workflows.Act
	}{
		{workflows.ActRootCause, workflows.Act{By: "carol", Note: "the upstream export changed its column order"}},
		{workflows.ActActionItem, workflows.Act{By: commander, Note: "check the export's schema before loading", Person: "heidi"}},
		{workflows.ActResolve, workflows.Act{By: commander, Reason: "reloaded"}},
	} {
		a.act.Via = "cli"
		if _, err := signedAct(ctx, c, id, a.name, a.act); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
	}
	var final workflows.Snapshot
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &final); err != nil {
		t.Fatalf("the incident did not close: %v", err)
	}
	issues := docIssues()
	if len(issues) != 1 {
		t.Fatalf("%d document issues for one incident, want 1", len(issues))
	}
	doc = issues[0]
	if doc.State != "closed" || doc.StateReason != "completed" {
		t.Errorf("document issue %s (%s) after closure, want closed as completed", doc.State, doc.StateReason)
	}
	for _, want := range []string{"(closed)", "the upstream export changed its column order", "Postmortem", postmortem.Footer} {
		if !strings.Contains(doc.Title+"\n"+doc.Body, want) {
			t.Errorf("closed document lacks %q", want)
		}
	}
	var items int
	for _, is := range w.gh.Issues(repo) {
		if is.Title == "check the export's schema before loading" {
			items++
		}
	}
	if items != 1 {
		t.Errorf("%d issues for the action item, want 1", items)
	}
	if final.Document.URL != st.Document {
		t.Errorf("final snapshot's document %q, want %q", final.Document.URL, st.Document)
	}
}
