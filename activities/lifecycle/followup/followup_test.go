package followup_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/lifecycle/followup"
	"github.com/datasev/datasev/activities/lifecycle/jira"
	"github.com/datasev/datasev/activities/lifecycle/jira/jiratest"
	"github.com/datasev/datasev/workflows"
	wfollowup "github.com/datasev/datasev/workflows/followup"
)

// reports answers the report query from a fixed report, as a closed
// incident's worker would.
type reports struct {
	client.Client
	r       workflows.Report
	queried []string
}

func (c *reports) QueryWorkflow(_ context.Context, id, runID, query string, _ ...any) (converter.EncodedValue, error) {
	c.queried = append(c.queried, id+"/"+runID+"/"+query)
	if id != c.r.ID {
		return nil, errors.New("workflow not found for ID: " + id)
	}
	b, _ := json.Marshal(c.r)
	return encoded(b), nil
}

type encoded []byte

func (e encoded) HasValue() bool  { return len(e) > 0 }
func (e encoded) Get(v any) error { return json.Unmarshal(e, v) }

// TestStatesReadsBothTrackers: a GitHub issue closed as completed is done,
// one closed as not planned and an open one are open, a Jira issue in the
// done category is done, an unfiled item and an address no tracker knows
// keep no state.
func TestStatesReadsBothTrackers(t *testing.T) {
	gh := ghtest.New()
	t.Cleanup(gh.Close)
	gh.CreateRepo("acme/dbt", "main")
	ghc, err := ghact.NewClient(ghact.Config{APIURL: gh.URL, Token: gh.Token}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var urls []string
	for i, reason := range []string{"completed", "not_planned", ""} {
		n := gh.CreateIssue("acme/dbt", "item", "body")
		if reason != "" {
			if _, _, err := ghc.Issues.Edit(ctx, "acme", "dbt", n, &github.IssueRequest{State: github.String("closed"), StateReason: github.String(reason)}); err != nil {
				t.Fatalf("close issue %d: %v", i, err)
			}
		}
		is, _, err := ghc.Issues.Get(ctx, "acme", "dbt", n)
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, is.GetHTMLURL())
	}

	js := jiratest.New()
	t.Cleanup(js.Close)
	jcfg, err := jira.ConfigFromEnv(func(k string) string {
		return map[string]string{jira.EnvURL: js.URL, jira.EnvProject: "DATA", jira.EnvEmail: js.Email, jira.EnvAPIToken: js.Token}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	jf := &jira.Filer{Client: jira.New(jcfg, nil)}
	r := workflows.Report{ID: "inc-1", State: workflows.Closed}
	r.Closure.ActionItems = []workflows.ActionItem{{Text: "jira item"}}
	jurls, err := jf.FileActionItems(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	js.Resolve("DATA-1")

	r.Closure.ActionItems = nil
	for _, u := range append(urls, jurls[0], "", "https://tracker.example.invalid/browse/X-1") {
		r.Closure.ActionItems = append(r.Closure.ActionItems, workflows.ActionItem{Text: "item", Issue: u})
	}
	now := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)
	c := &reports{r: r}
	a := &followup.Activities{Client: c, GitHub: ghc, Jira: jf, Now: func() time.Time { return now }}
	got, err := a.States(ctx, wfollowup.Input{IncidentID: "inc-1"})
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, it := range got.Closure.ActionItems {
		states = append(states, it.State+"|"+it.Status)
	}
	want := []string{"done|closed (completed)", "open|closed (not_planned)", "open|open", "done|Done", "|", "|"}
	if strings.Join(states, ",") != strings.Join(want, ",") {
		t.Fatalf("states %q, want %q", states, want)
	}
	if !got.Closure.ActionItems[0].CheckedAt.Equal(now) || !got.Closure.ActionItems[4].CheckedAt.IsZero() {
		t.Fatalf("checked at %v / %v", got.Closure.ActionItems[0].CheckedAt, got.Closure.ActionItems[4].CheckedAt)
	}
}

// TestStatesRefusesAnOpenIncident: an incident not yet closed is refused,
// naming its state; an outage of the tracker fails the attempt (retried)
// instead of reporting every item unknown.
func TestStatesRefusesAnOpenIncident(t *testing.T) {
	r := workflows.Report{ID: "inc-2", State: workflows.Mitigating}
	a := &followup.Activities{Client: &reports{r: r}}
	if _, err := a.States(context.Background(), wfollowup.Input{IncidentID: "inc-2"}); err == nil || !strings.Contains(err.Error(), "inc-2 is mitigating, not closed") {
		t.Fatalf("got %v", err)
	}
	if _, err := a.States(context.Background(), wfollowup.Input{IncidentID: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown incident: got %v", err)
	}

	gh := ghtest.New()
	t.Cleanup(gh.Close)
	gh.CreateRepo("acme/dbt", "main")
	ghc, err := ghact.NewClient(ghact.Config{APIURL: gh.URL, Token: gh.Token}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := gh.CreateIssue("acme/dbt", "item", "body")
	is, _, err := ghc.Issues.Get(context.Background(), "acme", "dbt", n)
	if err != nil {
		t.Fatal(err)
	}
	closed := workflows.Report{ID: "inc-3", State: workflows.Closed}
	closed.Closure.ActionItems = []workflows.ActionItem{{Text: "x", Issue: is.GetHTMLURL()}}
	gh.FailNext(1, http.StatusBadGateway, nil)
	a = &followup.Activities{Client: &reports{r: closed}, GitHub: ghc}
	if _, err := a.States(context.Background(), wfollowup.Input{IncidentID: "inc-3"}); err == nil {
		t.Fatal("a 502 from GitHub did not fail the attempt")
	}
}
