package ghact_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/support/actiontest"
)

const (
	upsertMarker = "<!-- datasev:incident-document inc-42 -->"
	routeList    = "GET /repos/{owner}/{repo}/issues"
	routeCreate  = "POST /repos/{owner}/{repo}/issues"
	routeEdit    = "PATCH /repos/{owner}/{repo}/issues/{number}"
	routeGet     = "GET /repos/{owner}/{repo}/issues/{number}"
)

func upsertIn(title, body string, closed bool) ghact.UpsertIssueInput {
	return ghact.UpsertIssueInput{Repo: repo, Marker: upsertMarker, Title: title, Body: body,
		Labels: []string{"incident"}, Closed: closed}
}

// onlyIssue returns the one issue carrying the marker.
func onlyIssue(t *testing.T, srv *ghtest.Server) ghtest.Issue {
	t.Helper()
	var found []ghtest.Issue
	for _, is := range srv.Issues(repo) {
		if strings.Contains(is.Body, upsertMarker) {
			found = append(found, is)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d issues carry the marker, want 1: %+v", len(found), found)
	}
	return found[0]
}

func TestUpsertIssueLifecycle(t *testing.T) {
	f := newFixture(t)
	f.srv.CreateIssue(repo, "unrelated", "some other incident", "incident")

	first, err := f.actions.UpsertIssue(t.Context(), upsertIn("[SEV2] orders (triggered)", "# orders\n\none row\n", false))
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.Updated || first.Number == 0 || !strings.HasSuffix(first.URL, fmt.Sprintf("/%s/issues/%d", repo, first.Number)) {
		t.Fatalf("first: %+v", first)
	}
	is := onlyIssue(t, f.srv)
	if is.Body != "# orders\n\none row\n\n"+upsertMarker || is.Title != "[SEV2] orders (triggered)" ||
		is.State != "open" || len(is.Labels) != 1 || is.Labels[0] != "incident" {
		t.Fatalf("created issue %+v", is)
	}

	// The same rendering again writes nothing.
	writes := f.srv.Writes()
	again, err := f.actions.UpsertIssue(t.Context(), upsertIn("[SEV2] orders (triggered)", "# orders\n\none row\n", false))
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Updated || again.Number != first.Number || again.URL != first.URL {
		t.Fatalf("again: %+v", again)
	}
	if f.srv.Writes() != writes {
		t.Fatalf("an unchanged issue was written to (%d writes)", f.srv.Writes()-writes)
	}

	// A longer body edits the same issue.
	upd, err := f.actions.UpsertIssue(t.Context(), upsertIn("[SEV2] orders (mitigating)", "# orders\n\none row\ntwo rows\n", false))
	if err != nil {
		t.Fatal(err)
	}
	if upd.Created || !upd.Updated || upd.Number != first.Number {
		t.Fatalf("update: %+v", upd)
	}
	is = onlyIssue(t, f.srv)
	if !strings.Contains(is.Body, "two rows") || is.Title != "[SEV2] orders (mitigating)" || is.State != "open" {
		t.Fatalf("edited issue %+v", is)
	}

	// Closing closes it as completed; the state alone changes.
	edits := f.srv.Count(routeEdit)
	closed, err := f.actions.UpsertIssue(t.Context(), upsertIn("[SEV2] orders (mitigating)", "# orders\n\none row\ntwo rows\n", true))
	if err != nil {
		t.Fatal(err)
	}
	if !closed.Updated || f.srv.Count(routeEdit) != edits+1 {
		t.Fatalf("close: %+v, %d edits", closed, f.srv.Count(routeEdit)-edits)
	}
	if is = onlyIssue(t, f.srv); is.State != "closed" || is.StateReason != "completed" {
		t.Fatalf("closed issue: state %q, reason %q", is.State, is.StateReason)
	}

	// Not closed any more: reopened.
	if _, err := f.actions.UpsertIssue(t.Context(), upsertIn("[SEV2] orders (mitigating)", "# orders\n\none row\ntwo rows\n", false)); err != nil {
		t.Fatal(err)
	}
	if is = onlyIssue(t, f.srv); is.State != "open" || is.StateReason != "reopened" {
		t.Fatalf("reopened issue: state %q, reason %q", is.State, is.StateReason)
	}
	if n := len(f.srv.Issues(repo)); n != 2 {
		t.Fatalf("%d issues, want 2", n)
	}
}

func TestUpsertIssueCreatesClosed(t *testing.T) {
	f := newFixture(t)
	res, err := f.actions.UpsertIssue(t.Context(), upsertIn("done", "all of it", true))
	if err != nil {
		t.Fatal(err)
	}
	if is := onlyIssue(t, f.srv); !res.Created || is.State != "closed" || is.StateReason != "completed" {
		t.Fatalf("%+v: state %q, reason %q", res, is.State, is.StateReason)
	}
}

func TestUpsertIssueFindsOlderIssueOnLaterPage(t *testing.T) {
	f := newFixture(t)
	n := f.srv.CreateIssue(repo, "doc", "old\n\n"+upsertMarker, "incident")
	for i := range 150 {
		f.srv.CreateIssue(repo, fmt.Sprintf("noise %d", i), "noise", "incident")
	}
	// Unlabelled issues are not even listed.
	f.srv.CreateIssue(repo, "copy", "quoted: "+upsertMarker)
	res, err := f.actions.UpsertIssue(t.Context(), upsertIn("doc", "new", false))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || !res.Updated || res.Number != n {
		t.Fatalf("%+v, want issue #%d updated", res, n)
	}
	if got := f.srv.Count(routeList); got != 2 {
		t.Errorf("%d list pages read, want 2", got)
	}
}

func TestUpsertIssueNumberHintSkipsTheSearch(t *testing.T) {
	f := newFixture(t)
	first, err := f.actions.UpsertIssue(t.Context(), upsertIn("doc", "v1", false))
	if err != nil {
		t.Fatal(err)
	}
	lists := f.srv.Count(routeList)
	in := upsertIn("doc", "v2", false)
	in.Number = first.Number
	res, err := f.actions.UpsertIssue(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Updated || res.Number != first.Number || f.srv.Count(routeList) != lists || f.srv.Count(routeGet) != 1 {
		t.Fatalf("%+v; %d lists, %d gets", res, f.srv.Count(routeList)-lists, f.srv.Count(routeGet))
	}
	// A wrong hint (an issue without the marker, or none) falls back to
	// the search.
	other := f.srv.CreateIssue(repo, "other", "no marker", "incident")
	for _, hint := range []int{other, 9999} {
		in.Number, in.Body = hint, fmt.Sprintf("hinted %d", hint)
		res, err := f.actions.UpsertIssue(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if res.Number != first.Number || !res.Updated {
			t.Fatalf("hint %d: %+v", hint, res)
		}
	}
	onlyIssue(t, f.srv)
}

// A create whose answer is lost, then retried, leaves one issue.
func TestUpsertIssueLostCreateAnswer(t *testing.T) {
	f := newFixture(t)
	f.srv.LoseResponse(routeCreate, 1)
	_, err := f.actions.UpsertIssue(t.Context(), upsertIn("doc", "v1", false))
	actiontest.Retryable(t, err, "open an issue in "+repo)
	if len(f.srv.Issues(repo)) != 1 {
		t.Fatalf("the lost create did not happen: %+v", f.srv.Issues(repo))
	}
	res, err := f.actions.UpsertIssue(t.Context(), upsertIn("doc", "v1", false))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.Updated {
		t.Fatalf("retry: %+v, want the issue found as it is", res)
	}
	onlyIssue(t, f.srv)
	if f.srv.Count(routeCreate) != 1 {
		t.Fatalf("%d creates", f.srv.Count(routeCreate))
	}
}

func TestUpsertIssueErrors(t *testing.T) {
	f := newFixture(t)
	in := upsertIn("doc", "v1", false)
	in.Repo = "acme/nope"
	_, err := f.actions.UpsertIssue(t.Context(), in)
	actiontest.NonRetryable(t, err, ghact.NotFoundType, "acme/nope")

	for _, bad := range []ghact.UpsertIssueInput{
		{Repo: "https://github.com/acme/x", Marker: upsertMarker, Title: "t"},
		{Repo: repo, Marker: "datasev inc-42", Title: "t"},
		{Repo: repo, Marker: upsertMarker, Title: " "},
	} {
		_, err := f.actions.UpsertIssue(t.Context(), bad)
		actiontest.NonRetryable(t, err, ghact.BadRequestType)
	}

	_, err = f.actions.UpsertIssue(t.Context(), upsertIn("doc", strings.Repeat("x", ghtest.MaxIssueBody), false))
	actiontest.NonRetryable(t, err, ghact.UnprocessableType, "body is too long")

	f.srv.FailRoute(routeCreate, 1, ghtest.Fault{Status: http.StatusTooManyRequests, Headers: map[string]string{"Retry-After": "42"}})
	_, err = f.actions.UpsertIssue(t.Context(), upsertIn("doc", "v1", false))
	actiontest.Retryable(t, err, "secondary rate limit")
	if d := appError(t, err).NextRetryDelay(); d.Seconds() != 42 {
		t.Errorf("NextRetryDelay %s, want 42s", d)
	}

	f.srv.FailRoute(routeList, 1, ghtest.Fault{Status: http.StatusForbidden, Message: "Resource not accessible by integration"})
	_, err = f.actions.UpsertIssue(t.Context(), upsertIn("doc", "v1", false))
	actiontest.NonRetryable(t, err, ghact.ForbiddenType, "Resource not accessible by integration")

	f.srv.Token = "ghp_other"
	_, err = f.actions.UpsertIssue(t.Context(), upsertIn("doc", "v1", false))
	actiontest.NonRetryable(t, err, ghact.BadCredentialsType)

	var none *ghact.Actions
	_, err = none.UpsertIssue(t.Context(), upsertIn("doc", "v1", false))
	actiontest.NonRetryable(t, err, ghact.NotConfiguredType)
	if len(f.srv.Issues(repo)) != 0 {
		t.Fatalf("issues %+v", f.srv.Issues(repo))
	}
}
