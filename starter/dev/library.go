package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// libraryRunbookWatch bounds how long dev prints one library runbook's
// timeline before leaving it running.
const libraryRunbookWatch = 15 * time.Second

// libraryPageGrace is how long dev keeps printing after the runbook pages.
const libraryPageGrace = 2 * time.Second

// libraryAlerts are the alerts dev declares against the stand-ins, each
// matching one runbook of the library.
func libraryAlerts(now time.Time) []workflows.Alert {
	stamp := now.UTC().Format("20060102-150405")
	return []workflows.Alert{{
		Source: "alertmanager", Title: "Snowflake load into " + standInTable + " failing",
		DedupeKey:   "snowflake-load-" + stamp,
		Description: "COPY INTO " + standInTable + " has failed for two hours.",
		Severity:    workflows.SEV2, Service: "orders", Dataset: standInTable,
		Labels: map[string]string{
			"alertname": "SnowflakeLoadFailed", "bucket": s3test.DemoBucket, "prefix": s3test.DemoOrdersPrefix,
			"dag": aftest.DemoDAG, "env": "demo",
		},
	}, {
		Source: "alertmanager", Title: "S3 partition missing under s3://" + s3test.DemoBucket + "/" + s3test.DemoEventsPrefix,
		DedupeKey:   "events-partition-" + stamp,
		Description: "No hourly events partition for three hours.",
		Severity:    workflows.SEV3, Service: "events", Dataset: "s3://" + s3test.DemoBucket + "/" + s3test.DemoEventsPrefix,
		Labels: map[string]string{
			"alertname": "S3PartitionMissing", "bucket": s3test.DemoBucket, "prefix": s3test.DemoEventsPrefix,
			"layout": "dt=YYYY-MM-DD/hr=HH", "cadence": "1h", "dag": "load_events", "env": "demo",
		},
	}}
}

// libraryDemo is what runLibraryIncidents needs.
type libraryDemo struct {
	roster     oncall.Roster
	runbooks   *runbooks.Set
	closeAfter time.Duration
	taskQueue  string
	uiURL      string
	namespace  string
}

// runLibraryIncidents declares one incident per library alert, prints its
// runbook's timeline for up to libraryRunbookWatch, then its UI link, and
// leaves it open: the runbook's verify keeps watching the stand-in.
func runLibraryIncidents(ctx context.Context, c client.Client, out io.Writer, d libraryDemo) error {
	for _, alert := range libraryAlerts(time.Now()) {
		choice, err := cli.ChooseRunbook(d.runbooks, "", alert)
		if err != nil {
			return err
		}
		fmt.Fprintln(out)
		fmt.Fprintf(out, "incident %q: alertmanager: %s (%s)\n", alert.DedupeKey, alert.Title, alert.Severity)
		decl, err := incidents.Declare(ctx, c, incidents.DeclareRequest{
			Alert: alert, Runbooks: d.runbooks, Roster: d.roster,
			Options: workflows.Options{CloseAfter: d.closeAfter}, TaskQueue: d.taskQueue,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "      declared %s (run %s), Commander %s\n", decl.WorkflowID, short(decl.RunID), decl.Commander)
		fmt.Fprintf(out, "      %s\n", choice)
		if choice.Runbook != nil {
			// Its diagnosis ends with the page; its verify records only its
			// outcome, so a short grace after the page catches the rest.
			feed := &runbookFeed{c: c, id: decl.WorkflowID, out: out}
			var pagedAt time.Time
			st, _, err := feed.until(ctx, libraryRunbookWatch, func(s workflows.Status, tl []workflows.TimelineEntry) bool {
				if pagedAt.IsZero() && paged(tl) {
					pagedAt = time.Now()
				}
				return runbookDone(s) || verifying(tl) || (!pagedAt.IsZero() && time.Since(pagedAt) >= libraryPageGrace)
			})
			if err != nil {
				return err
			}
			if runbookDone(st) {
				fmt.Fprintf(out, "      (the runbook ended %s)\n", st.RunbookStatus)
			} else {
				fmt.Fprintf(out, "      the runbook is %s: its verify keeps watching the stand-in; the incident stays open.\n", orText(st.RunbookStatus, "not started"))
			}
		}
		runID := decl.RunID
		if desc, err := c.DescribeWorkflowExecution(ctx, decl.WorkflowID, ""); err == nil {
			runID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		}
		fmt.Fprintf(out, "      in the UI: %s\n", incidents.WorkflowURL(d.uiURL, d.namespace, decl.WorkflowID, runID))
	}
	return nil
}
