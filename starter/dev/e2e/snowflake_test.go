package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
)

// The snowflake-load-failed runbook with every stand-in: the diagnosis
// (load history, task runs, landing files, the DAG's failed tasks), the
// Commander approving the clear of the failed tasks, Airflow re-running them
// to success, the table fresh again and the incident in monitoring.
func TestSnowflakeLoadReload(t *testing.T) {
	skipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := srv.Client()

	lake := s3test.New()
	t.Cleanup(lake.Close)
	if _, err := lake.SeedDemo(time.Now()); err != nil {
		t.Fatal(err)
	}
	for k, v := range lake.Env() { // the AWS SDK reads its credentials from the process
		t.Setenv(k, v)
	}
	orders := sftest.NewDemo(nil)
	wh, err := sftest.New(sftest.Options{Handler: orders.Handler})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wh.Close)
	t.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
	af := aftest.New(aftest.Options{AutoAdvance: true})
	t.Cleanup(af.Close)
	af.SeedDemo()

	s3cfg, err := s3act.ConfigFromEnv(mapGetenv(lake.Env()))
	if err != nil {
		t.Fatal(err)
	}
	sfcfg, err := snowflake.LoadConfig(mapGetenv(wh.Env()))
	if err != nil {
		t.Fatal(err)
	}
	afcfg, err := airflow.ConfigFromEnv(mapGetenv(af.Env()))
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, c, service.Config{S3: s3cfg, Snowflake: sfcfg, Airflow: afcfg})

	set, err := service.LoadRunbooks("")
	if err != nil {
		t.Fatal(err)
	}
	table := sftest.DemoDatabase + "." + sftest.DemoSchema + "." + sftest.DemoTable
	alert := workflows.Alert{
		Source: "alertmanager", Title: "Snowflake load into " + table + " failing", Severity: workflows.SEV2,
		DedupeKey: fmt.Sprintf("e2e-snowflake-%d", time.Now().UnixNano()), Service: "orders", Dataset: table,
		Labels: map[string]string{
			"alertname": "SnowflakeLoadFailed", "bucket": s3test.DemoBucket, "prefix": s3test.DemoOrdersPrefix,
			"dag": aftest.DemoDAG,
		},
	}
	d, err := incidents.Declare(ctx, c, incidents.DeclareRequest{Alert: alert, Runbooks: set, Roster: roster(t)})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	id := d.WorkflowID
	cleanupIncident(t, c, id)
	if _, err := signedAct(ctx, c, id, workflows.ActAcknowledge, workflows.Act{By: commander, Via: "cli"}); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	const approval = "snowflake-load-failed/reload"
	var st workflows.Status
	eventually(t, time.Minute, "the reload's approval request", func() (bool, string) {
		st = status(t, ctx, c, id)
		return len(st.PendingApprovals) == 1 && st.PendingApprovals[0].ID == approval,
			fmt.Sprintf("runbook %s, approvals %+v, findings %q", st.RunbookStatus, st.PendingApprovals, st.LastFindings)
	})
	if detail := st.PendingApprovals[0].Detail; !strings.Contains(detail, "load_orders") {
		t.Errorf("approval detail lacks the task the dry run would clear:\n%s", detail)
	}
	tl := timeline(t, ctx, c, id)
	expectEntry(t, tl, "check failed_tasks failed", aftest.DemoDAG)
	expectEntry(t, tl, "paged heidi", "")
	if r, _ := af.Run(aftest.DemoDAG, aftest.DemoFailedRun); r.State != "failed" {
		t.Fatalf("the failed run is %s before the approval: the dry run changed it?", r.State)
	}

	orders.Recover() // what the cleared tasks' re-run will load
	if _, err := signedAct(ctx, c, id, workflows.ActApprove, workflows.Act{By: commander, Via: "cli", Approval: approval}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	waitState(t, ctx, c, id, workflows.Monitoring, 2*time.Minute)
	expectEntry(t, timeline(t, ctx, c, id), "remediate reload ok", "approved by "+commander)
	expectEntry(t, timeline(t, ctx, c, id), "verify fresh_again ok", "")
	// The cleared run was queued again; the stand-in's scheduler runs it.
	if r, _ := af.Run(aftest.DemoDAG, aftest.DemoFailedRun); r.State != "queued" {
		t.Fatalf("the cleared run is %s, want queued again", r.State)
	}
	eventually(t, 30*time.Second, "the cleared run re-run to success", func() (bool, string) {
		af.Advance()
		r, _ := af.Run(aftest.DemoDAG, aftest.DemoFailedRun)
		return r.State == "success", fmt.Sprintf("%s %v", r.State, r.Tasks)
	})
}

// cleanupIncident terminates the incident and its runbook at the end of the
// test: nothing keeps running on the shared server.
func cleanupIncident(t *testing.T, c client.Client, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.TerminateWorkflow(ctx, id+"/runbook", "", "test over")
		_ = c.TerminateWorkflow(ctx, id, "", "test over")
	})
}
