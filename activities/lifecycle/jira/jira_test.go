package jira_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/lifecycle/jira"
	"github.com/datasev/datasev/activities/lifecycle/jira/jiratest"
	"github.com/datasev/datasev/workflows"
)

func setup(t *testing.T) (*jiratest.Server, *jira.Filer) {
	t.Helper()
	srv := jiratest.New()
	t.Cleanup(srv.Close)
	cfg, err := jira.ConfigFromEnv(env(map[string]string{
		jira.EnvURL: srv.URL, jira.EnvProject: "DATA", jira.EnvEmail: srv.Email, jira.EnvAPIToken: srv.Token,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, &jira.Filer{Client: jira.New(cfg, nil)}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func report(items ...string) workflows.Report {
	r := workflows.Report{ID: "snowflake-load-orders", Title: "orders load failed", Severity: workflows.SEV2}
	for _, it := range items {
		r.Closure.ActionItems = append(r.Closure.ActionItems, workflows.ActionItem{Text: it, By: "alice", Owner: "bob"})
	}
	return r
}

// TestFileActionItems: each item becomes one issue in the project, with the
// shared labels and its own, a description naming the incident, and the
// browse URL returned by position; an item already filed is left alone.
func TestFileActionItems(t *testing.T) {
	srv, f := setup(t)
	r := report("Add a freshness test on orders", "Alert on COPY errors\nbefore 06:00")
	r.Closure.ActionItems = append(r.Closure.ActionItems, workflows.ActionItem{Text: "filed before", Issue: "https://example.invalid/browse/X-1"})
	urls, err := f.FileActionItems(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	issues := srv.Issues()
	if len(issues) != 2 || len(urls) != 3 {
		t.Fatalf("got %d issues and urls %q, want 2 issues and 3 urls", len(issues), urls)
	}
	if urls[0] != srv.URL+"/browse/DATA-1" || urls[1] != srv.URL+"/browse/DATA-2" || urls[2] != "https://example.invalid/browse/X-1" {
		t.Fatalf("urls %q", urls)
	}
	if issues[1].Summary != "Alert on COPY errors before 06:00" {
		t.Fatalf("summary %q: want the text on one line", issues[1].Summary)
	}
	for i, is := range issues {
		want := jira.ItemLabel(r, i+1)
		if !strings.Contains(strings.Join(is.Labels, ","), "incident,action-item,"+want) {
			t.Fatalf("issue %d labels %q, want incident, action-item and %s", i, is.Labels, want)
		}
		if !strings.Contains(is.Description, "incident snowflake-load-orders (SEV2, orders load failed)") || !strings.Contains(is.Description, "Owner: bob") {
			t.Fatalf("issue %d description %q", i, is.Description)
		}
	}
	if jira.ItemLabel(r, 1) == jira.ItemLabel(r, 2) {
		t.Fatal("two items share a label")
	}
}

// TestFilingIsIdempotent: a second filing of the same report (a retried
// activity) finds the issues by their labels and opens none.
func TestFilingIsIdempotent(t *testing.T) {
	srv, f := setup(t)
	r := report("one", "two")
	first, err := f.FileActionItems(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.FileActionItems(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Creates() != 2 || strings.Join(first, " ") != strings.Join(again, " ") {
		t.Fatalf("creates %d, first %q, again %q", srv.Creates(), first, again)
	}
	// A recurrence (another occurrence of the same incident ID) files its own.
	rec := r
	rec.PreviousRunID, rec.TriggeredAt = "run-1", time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	if _, err := f.FileActionItems(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if srv.Creates() != 4 {
		t.Fatalf("creates %d after a recurrence, want 4", srv.Creates())
	}
}

// TestLostAnswerIsNotFiledTwice: the issue is created but its answer lost;
// the retry finds it by label instead of opening a second one.
func TestLostAnswerIsNotFiledTwice(t *testing.T) {
	srv, f := setup(t)
	srv.DropNextCreateAnswer(1)
	r := report("one")
	if _, err := f.FileActionItems(context.Background(), r); err == nil {
		t.Fatal("the lost answer was not an error")
	}
	urls, err := f.FileActionItems(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Creates() != 1 || urls[0] != srv.URL+"/browse/DATA-1" {
		t.Fatalf("creates %d, urls %q", srv.Creates(), urls)
	}
}

// TestHeartbeatCoversTheIndexLag: Jira's search does not show a new issue
// at once; the activity's heartbeat carries the keys it created, so a retry
// inside that window (the second item failed) files nothing twice.
func TestHeartbeatCoversTheIndexLag(t *testing.T) {
	srv, f := setup(t)
	srv.IndexLag(10)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(f.FileActionItems, activity.RegisterOptions{Name: workflows.ActionItemsActivityName})
	r := report("one", "two")
	// An earlier attempt created the first item, recorded it, and failed.
	filed := map[int]string{1: "DATA-1"}
	if _, err := f.Client.Create(context.Background(), "one", "x", []string{jira.ItemLabel(r, 1)}); err != nil {
		t.Fatal(err)
	}
	env.SetHeartbeatDetails(filed)
	val, err := env.ExecuteActivity(workflows.ActionItemsActivityName, r)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	if err := val.Get(&urls); err != nil {
		t.Fatal(err)
	}
	if srv.Creates() != 2 || urls[0] != srv.URL+"/browse/DATA-1" || urls[1] != srv.URL+"/browse/DATA-2" {
		t.Fatalf("creates %d, urls %q: want the recorded DATA-1 reused and DATA-2 created", srv.Creates(), urls)
	}
}

// TestErrors: rate limits and outages are retryable after Retry-After;
// bad credentials and a bad project are not, and say what to check.
func TestErrors(t *testing.T) {
	srv, f := setup(t)
	srv.FailNext(1, 429, "7")
	_, err := f.FileActionItems(context.Background(), report("one"))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != jira.RateLimitedType || ae.NonRetryable() || ae.NextRetryDelay() != 7*time.Second {
		t.Fatalf("429: got %v", err)
	}
	srv.FailNext(1, 503, "")
	if _, err = f.FileActionItems(context.Background(), report("one")); !errors.As(err, &ae) || ae.Type() != jira.ServerType || ae.NonRetryable() {
		t.Fatalf("503: got %v", err)
	}
	if srv.Creates() != 0 {
		t.Fatalf("failed requests created %d issues", srv.Creates())
	}

	bad, err := jira.ConfigFromEnv(env(map[string]string{jira.EnvURL: srv.URL, jira.EnvProject: "DATA", jira.EnvEmail: srv.Email, jira.EnvAPIToken: "wrong"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&jira.Filer{Client: jira.New(bad, nil)}).FileActionItems(context.Background(), report("one"))
	if !errors.As(err, &ae) || ae.Type() != jira.AuthType || !ae.NonRetryable() || !strings.Contains(err.Error(), jira.EnvAPIToken) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad token: got %v", err)
	}
	other, err := jira.ConfigFromEnv(env(map[string]string{jira.EnvURL: srv.URL, jira.EnvProject: "OPS", jira.EnvEmail: srv.Email, jira.EnvAPIToken: srv.Token}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&jira.Filer{Client: jira.New(other, nil)}).FileActionItems(context.Background(), report("one"))
	if !errors.As(err, &ae) || !ae.NonRetryable() || !strings.Contains(err.Error(), "project") {
		t.Fatalf("unknown project: got %v", err)
	}
}

// TestState reads an item's state back from its URL.
func TestState(t *testing.T) {
	srv, f := setup(t)
	urls, err := f.FileActionItems(context.Background(), report("one"))
	if err != nil {
		t.Fatal(err)
	}
	done, status, ok, err := f.State(context.Background(), urls[0])
	if err != nil || !ok || done || status != "To Do" {
		t.Fatalf("open issue: done %v status %q ok %v err %v", done, status, ok, err)
	}
	srv.Resolve("DATA-1")
	if done, _, _, err = f.State(context.Background(), urls[0]); err != nil || !done {
		t.Fatalf("resolved issue: done %v err %v", done, err)
	}
	for _, u := range []string{"https://github.com/acme/dbt/issues/1", srv.URL + "/browse/DATA-1/../x", srv.URL + "/browse/not-a-key"} {
		if _, _, ok, err := f.State(context.Background(), u); ok || err != nil {
			t.Fatalf("%s: ok %v err %v, want not a Jira issue", u, ok, err)
		}
	}
}

// TestConfigFromEnv: off when unset; every mistake named by its variable,
// never echoing a secret.
func TestConfigFromEnv(t *testing.T) {
	cfg, err := jira.ConfigFromEnv(env(nil))
	if err != nil || cfg.Configured() {
		t.Fatalf("unset: %+v %v", cfg, err)
	}
	ok := map[string]string{jira.EnvURL: "https://acme.atlassian.net/", jira.EnvProject: "DATA", jira.EnvEmail: "a@b.c", jira.EnvAPIToken: "s3cret"}
	cfg, err = jira.ConfigFromEnv(env(ok))
	if err != nil || cfg.URL != "https://acme.atlassian.net" || cfg.IssueType != jira.DefaultIssueType {
		t.Fatalf("ok: %+v %v", cfg, err)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ok {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no url", with(jira.EnvURL, ""), jira.EnvURL},
		{"url with credentials", with(jira.EnvURL, "https://u:p@acme.atlassian.net"), jira.EnvURL},
		{"not a url", with(jira.EnvURL, "acme"), jira.EnvURL},
		{"no project", with(jira.EnvProject, ""), jira.EnvProject},
		{"lowercase project", with(jira.EnvProject, "data"), jira.EnvProject},
		{"no token", with(jira.EnvAPIToken, ""), jira.EnvAPIToken},
		{"both auths", with(jira.EnvOAuthToken, "tok"), jira.EnvOAuthToken},
		{"token without site", map[string]string{jira.EnvAPIToken: "s3cret"}, jira.EnvURL},
		{"quoted issue type", with(jira.EnvIssueType, `Ta"sk`), jira.EnvIssueType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jira.ConfigFromEnv(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
