package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// Bounds of the dbt demo's waits.
const (
	// dbtDemoApproval bounds the wait for the runbook's diagnosis and its
	// approval request.
	dbtDemoApproval = 30 * time.Second
	// dbtDemoFinish bounds the wait for the revert, the merge, the dbt
	// job's re-run (its wait polls every 15s) and the move to monitoring.
	dbtDemoFinish = 90 * time.Second
)

// dbtDemo is what runDbtDemo needs.
type dbtDemo struct {
	roster    oncall.Roster
	runbooks  *runbooks.Set
	stand     *standIns
	keys      *devKeys
	taskQueue string
	uiURL     string
	namespace string
}

// runDbtDemo declares a "bad dbt model change" incident against the GitHub
// and Airflow stand-ins and walks it through the dbt-model-regression
// runbook: the diagnosis (recent commits, lineage impact), the Commander's
// one approval, then the revert pull request, its merge and the dbt job's
// re-run, until the incident is in monitoring. It leaves the incident open.
func runDbtDemo(ctx context.Context, c client.Client, out io.Writer, d dbtDemo) (string, error) {
	now := time.Now()
	cast, err := pickCast(d.roster, now)
	if err != nil {
		return "", err
	}
	alert := workflows.Alert{
		Source: "alertmanager", Title: "orders: revenue 100x the forecast",
		DedupeKey:   "dbt-orders-" + now.UTC().Format("20060102-150405"),
		Description: "The dbt test assert_revenue_within_forecast failed on model orders.",
		Severity:    workflows.SEV3, Service: "analytics", Dataset: "ANALYTICS.MARTS.ORDERS",
		Labels: map[string]string{
			"alertname": "DbtModelRegression", "model": "orders", "repo": ghtest.DemoRepo,
			"model_path": "models/marts/orders.sql", "dag": demoDbtDAG, "env": "demo",
			"manifest": "github://" + ghtest.DemoRepo + "/" + manifesttest.DemoManifestPath + "@main",
		},
	}
	choice, err := cli.ChooseRunbook(d.runbooks, "", alert)
	if err != nil {
		return "", err
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "incident %q: alertmanager: %s (%s)\n", alert.DedupeKey, alert.Title, alert.Severity)
	decl, err := incidents.Declare(ctx, c, incidents.DeclareRequest{Alert: alert, Runbooks: d.runbooks, Roster: d.roster, TaskQueue: d.taskQueue})
	if err != nil {
		return "", err
	}
	id := decl.WorkflowID
	fmt.Fprintf(out, "      declared %s (run %s), Commander %s\n", id, short(decl.RunID), decl.Commander)
	fmt.Fprintf(out, "      %s\n", choice)
	commander := d.keys.signer(cast.commander)
	if _, err := incidents.ActSigned(ctx, c, commander, id, workflows.ActAcknowledge, workflows.Act{By: cast.commander, Via: "cli"}); err != nil {
		return "", fmt.Errorf("acknowledge: %w", err)
	}
	feed := &runbookFeed{c: c, id: id, out: out}
	const approval = "dbt-model-regression/revert"
	st, ok, err := feed.until(ctx, dbtDemoApproval, func(s workflows.Status, _ []workflows.TimelineEntry) bool {
		return runbookDone(s) || pending(s, approval)
	})
	if err != nil {
		return "", err
	}
	if !ok || !pending(st, approval) {
		fmt.Fprintf(out, "      (no approval request from the runbook, which is %s; leaving the incident open)\n", orText(st.RunbookStatus, "not started"))
		return id, nil
	}
	for _, ap := range st.PendingApprovals {
		if ap.ID == approval {
			fmt.Fprintf(out, "      the Commander is asked: %s\n", clip(ap.Action, 110))
			fmt.Fprintf(out, "      with the dry run: %s\n", clip(oneLine(firstLine(ap.Detail)), 110))
		}
	}
	if _, err := incidents.ActSigned(ctx, c, commander, id, workflows.ActApprove, workflows.Act{By: cast.commander, Via: "cli", Approval: approval, Reason: "revert the cents change; finance reads dollars"}); err != nil {
		return "", fmt.Errorf("approve: %w", err)
	}
	fmt.Fprintf(out, "      %s approves %s: it covers the merge and the dbt re-run too\n", cast.commander, approval)
	st, ok, err = feed.until(ctx, dbtDemoFinish, func(s workflows.Status, _ []workflows.TimelineEntry) bool {
		return runbookDone(s) || s.State == workflows.Monitoring
	})
	if err != nil {
		return "", err
	}
	if ok && st.State == workflows.Monitoring {
		fmt.Fprintf(out, "      the incident is %s: the revert is merged and the dbt job re-ran\n", st.State)
	} else {
		fmt.Fprintf(out, "      (the incident is %s and its runbook %s; leaving it open)\n", st.State, orText(st.RunbookStatus, "running"))
	}
	for _, owner := range slices.Sorted(maps.Keys(demoConsumerChannels)) {
		name := demoConsumerChannels[owner]
		if ch, ok := d.stand.slack.ChannelByName(strings.TrimPrefix(name, "#")); ok {
			if msgs := d.stand.slack.Messages(ch.ID); len(msgs) > 0 {
				fmt.Fprintf(out, "      slack stand-in: %s (%s reads what orders feeds) was told: %s\n", name, owner, clip(oneLine(msgs[0].Text), 90))
			}
		}
	}
	for _, pr := range d.stand.github.PullRequests(ghtest.DemoRepo) {
		fmt.Fprintf(out, "      github stand-in: pull request #%d %q %s → %s, merged %v\n", pr.Number, pr.Title, pr.Head, pr.Base, pr.Merged)
	}
	for _, run := range d.stand.airflow.Runs(demoDbtDAG) {
		if r, ok := d.stand.airflow.Run(demoDbtDAG, run); ok {
			fmt.Fprintf(out, "      airflow stand-in: %s run %s is %s\n", demoDbtDAG, run, r.State)
		}
	}
	runID := decl.RunID
	if desc, err := c.DescribeWorkflowExecution(ctx, id, ""); err == nil {
		runID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	fmt.Fprintf(out, "      in the UI: %s\n", incidents.WorkflowURL(d.uiURL, d.namespace, id, runID))
	return id, nil
}

// showPostmortem waits for the first demo incident to close and prints
// where its postmortem was written, with its first lines and the datasev
// command that prints it from the server at hostPort.
func showPostmortem(ctx context.Context, c client.Client, out io.Writer, hostPort, id string, closeAfter time.Duration) error {
	fmt.Fprintln(out)
	wctx, cancel := context.WithTimeout(ctx, closeAfter+30*time.Second)
	defer cancel()
	for {
		st, err := incidents.Status(wctx, c, id)
		if err == nil && st.Closure.Postmortem != "" {
			if st.Document != "" {
				fmt.Fprintf(out, "incident document of %s (kept current with its timeline; the postmortem is attached at closure): %s\n", id, st.Document)
			}
			fmt.Fprintf(out, "postmortem of %s: %s\n", id, st.Closure.Postmortem)
			b, err := os.ReadFile(st.Closure.Postmortem)
			if err != nil {
				return fmt.Errorf("postmortem: %w", err)
			}
			lines := strings.Split(string(b), "\n")
			for _, l := range lines[:min(len(lines), 14)] {
				fmt.Fprintf(out, "  │ %s\n", l)
			}
			fmt.Fprintf(out, "  │ … (%d lines; also: TEMPORAL_ADDRESS=%s go run ./starter postmortem %s)\n", len(lines), hostPort, id)
			return showReport(ctx, c, out, hostPort, id) // demoreport.go
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(out, "(no postmortem for %s yet; it is written when the incident closes)\n", id)
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}
