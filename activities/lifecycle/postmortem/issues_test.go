package postmortem_test

import (
	"strings"
	"testing"
	"time"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/workflows"
)

// Action items are filed once each in the configured repository through
// go-github against the GitHub stand-in; a second call (a retry, a replay)
// finds the same issues; an item already filed is left alone; without a
// repository nothing is filed.
func TestFileActionItems(t *testing.T) {
	gh, issues := issuesFixture(t)
	r := workflows.Report{ID: "incident-orders-load", Title: "orders load failing", Severity: workflows.SEV2,
		Closure: workflows.Closure{ActionItems: []workflows.ActionItem{
			{Text: "validate landing schemas", Owner: "erin", By: "alice"},
			{Text: "already tracked", By: "alice", Issue: "https://tracker.example/7"},
			{Text: "alert on COPY INTO errors", By: "carol"},
		}}}
	urls, err := issues.FileActionItems(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(urls) != 3 || urls[0] == "" || urls[1] != "https://tracker.example/7" || urls[2] == "" || urls[0] == urls[2] {
		t.Fatalf("urls %q", urls)
	}
	again, err := issues.FileActionItems(t.Context(), r)
	if err != nil || strings.Join(again, " ") != strings.Join(urls, " ") {
		t.Fatalf("second call %q, %v; want the same issues %q", again, err, urls)
	}
	filed := gh.Issues("acme/incidents")
	if len(filed) != 2 {
		t.Fatalf("%d issues in the repository, want 2: %+v", len(filed), filed)
	}
	for _, is := range filed {
		if !strings.Contains(is.Body, "incident-orders-load") {
			t.Errorf("issue %q does not name the incident: %q", is.Title, is.Body)
		}
	}
	none, err := (&postmortem.Issues{}).FileActionItems(t.Context(), r)
	if err != nil || len(none) != 3 || none[0] != "" {
		t.Errorf("without a repository: %q, %v; want nothing filed", none, err)
	}
}

// A recurrence (a later run of the same incident ID) files its own action
// items: the markers name the occurrence, so the first occurrence's issues
// are neither found nor reused.
func TestFileActionItemsRecurrence(t *testing.T) {
	gh, issues := issuesFixture(t)
	first := workflows.Report{ID: "incident-orders-load", Title: "orders load failing", Severity: workflows.SEV2,
		TriggeredAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		Closure:     workflows.Closure{ActionItems: []workflows.ActionItem{{Text: "validate landing schemas", By: "alice"}}}}
	again := first
	again.PreviousRunID, again.TriggeredAt = "run-1", time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)
	u1, err := issues.FileActionItems(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := issues.FileActionItems(t.Context(), again)
	if err != nil {
		t.Fatal(err)
	}
	if u1[0] == "" || u2[0] == "" || u1[0] == u2[0] {
		t.Errorf("first occurrence filed %q, the recurrence %q; want two issues", u1[0], u2[0])
	}
	if n := len(gh.Issues("acme/incidents")); n != 2 {
		t.Errorf("%d issues, want 2 (one per occurrence)", n)
	}
}

// Incidents whose keys the old markers folded together ("--" became "-")
// file their action items apart, and an item's text cannot forge another
// incident's marker.
func TestFileActionItemsMarkersDoNotCollide(t *testing.T) {
	gh, issues := issuesFixture(t)
	items := func(text string) workflows.Closure {
		return workflows.Closure{ActionItems: []workflows.ActionItem{{Text: text, By: "alice"}}}
	}
	victim := workflows.Report{ID: "incident-a-b", Title: "victim", Severity: workflows.SEV2, Closure: items("fix the load")}
	forged := ghact.Marker(postmortem.Name(victim.ID), "action-item-1")
	attacker := workflows.Report{ID: "incident-a--b", Title: "attacker", Severity: workflows.SEV2, Closure: items("x " + forged)}
	ua, err := issues.FileActionItems(t.Context(), attacker)
	if err != nil {
		t.Fatal(err)
	}
	uv, err := issues.FileActionItems(t.Context(), victim)
	if err != nil {
		t.Fatal(err)
	}
	if ua[0] == "" || uv[0] == "" || ua[0] == uv[0] {
		t.Errorf("attacker filed %q, victim %q; want two issues", ua[0], uv[0])
	}
	for _, is := range gh.Issues("acme/incidents") {
		if strings.Count(is.Body, "<!--") != 1 {
			t.Errorf("issue %q carries more than its own marker: %q", is.Title, is.Body)
		}
	}
}

// issuesFixture is a GitHub stand-in with the repository acme/incidents and
// the Issues filing there through go-github.
func issuesFixture(t *testing.T) (*ghtest.Server, *postmortem.Issues) {
	t.Helper()
	gh := ghtest.New()
	t.Cleanup(gh.Close)
	gh.CreateRepo("acme/incidents", "main")
	env := gh.Env()
	cfg, err := ghact.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c, err := ghact.NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return gh, &postmortem.Issues{GitHub: ghact.New(c, cfg), Repo: "acme/incidents"}
}
