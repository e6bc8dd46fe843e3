package gdoc_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/gdoc"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/workflows"
)

// syncTwice calls the document activity as the incident workflow does
// (same name, timeout and retry policy): once, then again with the URL the
// first answered and one more entry; it returns the last URL.
func syncTwice(ctx workflow.Context, r workflows.Report) (string, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
	})
	var res workflows.DocumentResult
	if err := workflow.ExecuteActivity(actx, workflows.DocumentActivityName, r).Get(ctx, &res); err != nil {
		return "", err
	}
	r.Document = res.URL
	r.Timeline = append(r.Timeline, workflows.TimelineEntry{At: r.TriggeredAt.Add(time.Minute), Who: "bob", Kind: workflows.KindAct, What: "acknowledged"})
	if err := workflow.ExecuteActivity(actx, workflows.DocumentActivityName, r).Get(ctx, &res); err != nil {
		return "", err
	}
	return res.URL, nil
}

// Through a Temporal dev server and a worker: the store registered as the
// worker registers it, called as the workflow calls it; a lost answer to
// the first write is retried and still appends nothing twice.
func TestThroughADevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := devstack.Start(ctx, devstack.Options{Stdout: io.Discard, Stderr: os.Stderr, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	docs, st, _ := setup(t)
	docs.LoseResponse(rBatch, 1)
	w := worker.New(srv.Client(), "gdoc-it", worker.Options{})
	gdoc.Register(w, st)
	w.RegisterWorkflowWithOptions(syncTwice, workflow.RegisterOptions{Name: "gdoc-sync-twice"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	run, err := srv.Client().ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "gdoc-it-1", TaskQueue: "gdoc-it"}, "gdoc-sync-twice", report(2))
	if err != nil {
		t.Fatal(err)
	}
	var url string
	if err := run.Get(ctx, &url); err != nil {
		t.Fatal(err)
	}
	id, text := only(t, docs)
	if !strings.Contains(url, id) {
		t.Errorf("URL %s does not name document %s", url, id)
	}
	wantEntriesOnce(t, text, 3)
}
