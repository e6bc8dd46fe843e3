package ghtest_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v57/github"

	"github.com/datasev/datasev/activities/actions/github/ghtest"
)

func status(err error) int {
	if er, ok := err.(*github.ErrorResponse); ok {
		return er.Response.StatusCode
	}
	return 0
}

func TestEditIssue(t *testing.T) {
	s := seeded(t)
	c := client(t, s)
	ctx := t.Context()
	n := s.CreateIssue("acme/dbt", "old", "old body", "incident")

	// Absent fields stay; labels are replaced; a state_reason without a
	// change of state is ignored.
	is, _, err := c.Issues.Edit(ctx, "acme", "dbt", n, &github.IssueRequest{
		Body: github.String("new body"), Labels: &[]string{"incident", "sev2"}, StateReason: github.String("not_planned")})
	if err != nil {
		t.Fatal(err)
	}
	if is.GetTitle() != "old" || is.GetBody() != "new body" || len(is.Labels) != 2 || is.GetState() != "open" || is.StateReason != nil {
		t.Fatalf("edited %+v", is)
	}
	// Closing defaults to completed; not_planned is taken.
	is, _, err = c.Issues.Edit(ctx, "acme", "dbt", n, &github.IssueRequest{State: github.String("closed")})
	if err != nil || is.GetState() != "closed" || is.GetStateReason() != "completed" || is.ClosedAt == nil {
		t.Fatalf("closed %+v, %v", is, err)
	}
	is, _, err = c.Issues.Edit(ctx, "acme", "dbt", n, &github.IssueRequest{State: github.String("open")})
	if err != nil || is.GetState() != "open" || is.GetStateReason() != "reopened" || is.ClosedAt != nil {
		t.Fatalf("reopened %+v, %v", is, err)
	}
	is, _, err = c.Issues.Edit(ctx, "acme", "dbt", n, &github.IssueRequest{State: github.String("closed"), StateReason: github.String("not_planned")})
	if err != nil || is.GetStateReason() != "not_planned" {
		t.Fatalf("not planned %+v, %v", is, err)
	}
	if got := s.Issues("acme/dbt"); len(got) != 1 || got[0].State != "closed" || got[0].StateReason != "not_planned" || got[0].Body != "new body" {
		t.Fatalf("read back %+v", got)
	}

	// Refusals: 422 for bad fields, 404 for no such issue.
	for _, bad := range []*github.IssueRequest{
		{Title: github.String("")},
		{State: github.String("done")},
		{State: github.String("open"), StateReason: github.String("fixed")},
		{Body: github.String(strings.Repeat("é", ghtest.MaxIssueBody+1))},
	} {
		if _, _, err := c.Issues.Edit(ctx, "acme", "dbt", n, bad); status(err) != http.StatusUnprocessableEntity {
			t.Errorf("%+v: %v, want 422", bad, err)
		}
	}
	if _, _, err := c.Issues.Edit(ctx, "acme", "dbt", 999, &github.IssueRequest{Body: github.String("x")}); status(err) != http.StatusNotFound {
		t.Errorf("no such issue: %v", err)
	}
	// A body of exactly the limit is taken, on create too; one more is not.
	if _, _, err := c.Issues.Edit(ctx, "acme", "dbt", n, &github.IssueRequest{Body: github.String(strings.Repeat("é", ghtest.MaxIssueBody))}); err != nil {
		t.Errorf("a body at the limit: %v", err)
	}
	_, _, err = c.Issues.Create(ctx, "acme", "dbt", &github.IssueRequest{Title: github.String("t"), Body: github.String(strings.Repeat("x", ghtest.MaxIssueBody+1))})
	if er, ok := err.(*github.ErrorResponse); !ok || er.Response.StatusCode != 422 || len(er.Errors) != 1 || !strings.Contains(er.Errors[0].Message, "body is too long") {
		t.Errorf("a long body on create: %v", err)
	}
}

func TestLoseResponse(t *testing.T) {
	s := seeded(t)
	c := client(t, s)
	s.LoseResponse("POST /repos/{owner}/{repo}/issues", 1)
	_, _, err := c.Issues.Create(t.Context(), "acme", "dbt", &github.IssueRequest{Title: github.String("t")})
	if err == nil || status(err) != 0 {
		t.Fatalf("want a transport error, got %v", err)
	}
	if got := s.Issues("acme/dbt"); len(got) != 1 || got[0].Title != "t" {
		t.Fatalf("the request was not carried out: %+v", got)
	}
	// The next request is answered.
	if _, _, err := c.Issues.Create(t.Context(), "acme", "dbt", &github.IssueRequest{Title: github.String("u")}); err != nil {
		t.Fatal(err)
	}
	// Raw PATCH with labels as objects, as the REST API allows.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, s.URL+"repos/acme/dbt/issues/1",
		bytes.NewBufferString(`{"labels":[{"name":"a"},"b"],"title":42}`))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := s.Issues("acme/dbt")[0]; resp.StatusCode != 200 || got.Title != "42" || strings.Join(got.Labels, ",") != "a,b" {
		t.Fatalf("%d: %+v", resp.StatusCode, got)
	}
}
