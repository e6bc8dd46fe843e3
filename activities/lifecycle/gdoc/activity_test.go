package gdoc_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasev/datasev/activities/lifecycle/gdoc"
	"github.com/datasev/datasev/activities/lifecycle/gdoc/gdoctest"
	"github.com/datasev/datasev/workflows"
)

// runActivity runs Sync registered under the workflow-facing name in the
// SDK's activity environment, so the report and the result cross
// Temporal's data converter and errors its failure converter, as they do
// for the incident workflow.
func runActivity(t *testing.T, st *gdoc.Store, r workflows.Report) (workflows.DocumentResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	gdoc.Register(env, st)
	v, err := env.ExecuteActivity(workflows.DocumentActivityName, r)
	if err != nil {
		return workflows.DocumentResult{}, err
	}
	var res workflows.DocumentResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

// The workflow's calls, in order: the first syncs (the URL comes back and
// is carried in the next report), then closure; and a failure arrives as
// the non-retryable type the workflow's retry policy stops on.
func TestThroughTheActivity(t *testing.T) {
	srv, st, _ := setup(t)
	r := report(1)
	res, err := runActivity(t, st, r)
	if err != nil || res.URL == "" {
		t.Fatalf("first sync: %+v %v", res, err)
	}
	r.Document = res.URL
	r.Timeline = append(r.Timeline, entry(1))
	r.State, r.ClosedAt = workflows.Closed, t0.Add(time.Hour)
	res2, err := runActivity(t, st, r)
	if err != nil || res2.URL != res.URL {
		t.Fatalf("closing sync: %+v %v", res2, err)
	}
	_, text := only(t, srv)
	wantEntriesOnce(t, text[:strings.Index(text, gdoc.PostmortemHeading)], 2)

	srv.FailRoute(rGet, 1, gdoctest.Fault{Status: 404})
	r.Timeline = append(r.Timeline, entry(2))
	_, err = runActivity(t, st, r)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != gdoc.NotFoundType || !ae.NonRetryable() {
		t.Fatalf("a deleted document: %v, want non-retryable %s", err, gdoc.NotFoundType)
	}
}
