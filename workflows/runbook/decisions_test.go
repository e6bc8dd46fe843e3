package runbook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/runbook"
)

// sample is an alert the runbooks are run over, with what the stand-in
// actions answer for it.
type sample struct {
	name  string
	alert workflows.Alert
	// answers overrides stubOutputs for this sample, by action.
	answers map[string]map[string]any
}

// samples are the library's sample alerts (the ones the dev stack declares
// against its stand-ins: starter/dev's libraryAlerts, its dbt demo and the
// demo loader's alert) and crafted variants that turn each condition the
// other way: labels left out, a severity left to the runbook's default,
// actions that find nothing.
func samples() []sample {
	snowflake := workflows.Alert{
		Source: "alertmanager", Title: "Snowflake load into ANALYTICS.RAW.ORDERS failing", DedupeKey: "snowflake-load-1",
		Description: "COPY INTO ANALYTICS.RAW.ORDERS has failed for two hours.",
		Severity:    workflows.SEV2, Service: "orders", Dataset: "ANALYTICS.RAW.ORDERS",
		Labels: map[string]string{"alertname": "SnowflakeLoadFailed", "bucket": "datasev-demo-lake", "prefix": "landing/orders/", "dag": "load_orders", "env": "demo"},
	}
	s3 := workflows.Alert{
		Source: "alertmanager", Title: "S3 partition missing under s3://datasev-demo-lake/events/", DedupeKey: "events-partition-1",
		Description: "No hourly events partition for three hours.",
		Severity:    workflows.SEV3, Service: "events", Dataset: "s3://datasev-demo-lake/events/",
		Labels: map[string]string{"alertname": "S3PartitionMissing", "bucket": "datasev-demo-lake", "prefix": "events/", "layout": "dt=YYYY-MM-DD/hr=HH", "cadence": "1h", "dag": "load_events", "env": "demo"},
	}
	dbt := workflows.Alert{
		Source: "alertmanager", Title: "orders: revenue 100x the forecast", DedupeKey: "dbt-orders-1",
		Description: "The dbt test assert_revenue_within_forecast failed on model orders.",
		Severity:    workflows.SEV3, Service: "analytics", Dataset: "ANALYTICS.MARTS.ORDERS",
		Labels: map[string]string{
			"alertname": "DbtModelRegression", "model": "orders", "repo": "datasev-demo/analytics",
			"model_path": "models/marts/orders.sql", "dag": "dbt_build", "env": "demo",
			"manifest": "github://datasev-demo/analytics/target/manifest.json@main",
		},
	}
	demo := workflows.Alert{
		Source: "alertmanager", Title: "orders load failed", DedupeKey: "orders-load-1",
		Severity: workflows.SEV2, Service: "orders", Dataset: "RAW.ORDERS",
		Labels: map[string]string{"alertname": "OrdersLoadFailed", "dag": "load_orders", "health_url": "http://127.0.0.1:8089/health"},
	}
	dbtCloud := workflows.Alert{
		Source: "dbt_cloud", Title: "dbt Cloud job nightly failed", DedupeKey: "dbt-cloud-1",
		Description: "Run 7001 of job 42 failed.", Severity: workflows.SEV3, Service: "analytics",
		Labels: map[string]string{"dbt_account_id": "1", "dbt_job_id": "42", "dbt_run_id": "7001", "dbt_job_name": "nightly"},
	}
	return []sample{
		{name: "snowflake", alert: snowflake},
		{name: "snowflake without bucket, prefix or dag, default severity", alert: without(snowflake, "bucket", "prefix", "dag")},
		{name: "snowflake, no failed tasks", alert: snowflake, answers: map[string]map[string]any{
			"airflow.failed_tasks": {"count": 0, "tasks": []any{}},
		}},
		{name: "s3", alert: s3},
		{name: "s3 with the layout and cadence left to the runbook", alert: without(s3, "layout", "cadence", "dag")},
		{name: "s3, one partition only", alert: s3, answers: map[string]map[string]any{
			"s3.latest_partition": {"ok": true, "partition_prefix": "events/dt=2026-06-02/hr=09/", "previous_prefix": ""},
		}},
		{name: "s3 without bucket", alert: without(s3, "bucket")},
		{name: "dbt", alert: dbt},
		{name: "dbt without manifest, dag, branch or path, default severity", alert: without(dbt, "manifest", "dag", "model_path")},
		{name: "dbt, no recent commits", alert: dbt, answers: map[string]map[string]any{
			"github.recent_commits": {"count": 0, "branch": "main", "top_sha": ""},
		}},
		{name: "dbt, nobody downstream", alert: dbt, answers: map[string]map[string]any{
			"lineage.downstream": {"count": 0, "owners": []any{}},
		}},
		{name: "demo", alert: demo},
		{name: "demo without health_url", alert: without(demo, "health_url")},
		{name: "dbt cloud", alert: dbtCloud},
	}
}

// without copies a with the labels named left out and, so that the
// runbook's default severity applies, no severity.
func without(a workflows.Alert, labels ...string) workflows.Alert {
	a.Labels = maps.Clone(a.Labels)
	for _, l := range labels {
		delete(a.Labels, l)
	}
	if len(labels) > 1 {
		a.Severity = ""
	}
	return a
}

// stubOutputs are what the stand-in actions answer: each check finds
// something and each verify is healthy at once, so the steps that read
// them run. Any other action answers {ok: true}.
var stubOutputs = map[string]map[string]any{
	"github.recent_commits":     {"count": 2, "branch": "main", "top_sha": "abc123", "commits": []any{map[string]any{"sha": "abc123"}}},
	"lineage.downstream":        {"count": 1, "owners": []any{map[string]any{"team": "finance", "channel": "#finance"}}},
	"slack.notify_consumers":    {"notified": 1},
	"github.revert_commit":      {"pr_number": 42, "revert_sha": "def456"},
	"github.merge_pull_request": {"merged": true},
	"airflow.trigger_dag":       {"run_id": "manual__2026-06-02"},
	"airflow.wait_dag_run":      {"ok": true, "state": "success"},
	"s3.latest_partition":       {"ok": true, "partition_prefix": "events/dt=2026-06-02/hr=09/", "previous_prefix": "events/dt=2026-06-02/hr=08/"},
	"s3.inspect_prefix":         {"objects": 12},
	"snowflake.copy_history":    {"failed": 1},
	"snowflake.task_history":    {"failed": 1},
	"airflow.failed_tasks":      {"count": 1, "tasks": []any{map[string]any{"task_id": "copy_raw_orders", "run_id": "scheduled__2026-06-02"}}},
	"airflow.clear_tasks":       {"cleared": 1},
	"snowflake.table_freshness": {"ok": true},
	"core.http":                 {"ok": true, "status": 200},
}

// run is what the runbook workflow did.
type run struct {
	Status string `json:"status"`
	// Steps are the steps' results in the order they finished.
	Steps []workflows.StepResult `json:"steps"`
	// Calls are the action requests, by step, in order.
	Calls map[string][]runbooks.ActionRequest `json:"calls"`
	// Pages are the pages sent, in order; Approvals the approvals asked for.
	Pages     []workflows.PageRequest     `json:"pages"`
	Approvals []workflows.ApprovalRequest `json:"approvals"`
}

// result is the step's result, and whether it has one.
func (r *run) result(id string) (workflows.StepResult, bool) {
	for _, s := range r.Steps {
		if s.ID == id {
			return s, true
		}
	}
	return workflows.StepResult{}, false
}

// actions lists the actions of steps, parallel groups' included.
func actions(steps []runbooks.Step) []string {
	var out []string
	for _, s := range steps {
		switch {
		case s.Check != nil:
			out = append(out, s.Check.Action)
		case s.Remediate != nil:
			out = append(out, s.Remediate.Action)
		case s.Verify != nil:
			out = append(out, s.Verify.Action)
		}
		out = append(out, actions(s.Parallel)...)
	}
	return out
}

// runWorkflow runs the runbook workflow for in in the SDK's test
// environment (time skipped): actions answer from stubOutputs and answers,
// every approval is granted as soon as it is asked for.
func runWorkflow(t *testing.T, in workflows.RunbookInput, answers map[string]map[string]any) *run {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.SetStartTime(time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC))
	env.RegisterWorkflowWithOptions(runbook.RunbookWorkflow, workflow.RegisterOptions{Name: workflows.RunbookWorkflowName})
	out := &run{Calls: map[string][]runbooks.ActionRequest{}}
	var mu sync.Mutex
	for _, action := range actions(in.Runbook.Steps) {
		if action == workflows.ActionPage || action == workflows.ActionWait {
			continue
		}
		output := stubOutputs[action]
		if o, ok := answers[action]; ok {
			output = o
		}
		if output == nil {
			output = map[string]any{"ok": true}
		}
		env.RegisterActivityWithOptions(func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
			mu.Lock()
			defer mu.Unlock()
			out.Calls[req.Step] = append(out.Calls[req.Step], req)
			if req.DryRun {
				return runbooks.ActionResult{Summary: "would " + action}, nil
			}
			return runbooks.ActionResult{Output: output, Summary: action + " answered"}, nil
		}, activity.RegisterOptions{Name: action})
	}
	env.OnSignalExternalWorkflow(mock.Anything, in.Incident, "", workflows.SignalRunbookEvent, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			ev := arg.(workflows.RunbookEvent)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case ev.Page != nil:
				out.Pages = append(out.Pages, *ev.Page)
			case ev.Approval != nil:
				out.Approvals = append(out.Approvals, *ev.Approval)
				env.SignalWorkflow(workflows.SignalApprovalDecision, workflows.ApprovalDecision{ID: ev.Approval.ID, Approved: true, By: "alice"})
			}
			return nil
		})
	env.ExecuteWorkflow(workflows.RunbookWorkflowName, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("runbook %s: %v", in.Runbook.Name, err)
	}
	var res workflows.RunbookResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	out.Status, out.Steps = res.Status, res.Steps
	return out
}

// demoRunbooks is the directory of the dev stack's demo runbooks
// (devstack.DemoRunbooks embeds it).
const demoRunbooks = "../../starter/dev/devstack/runbooks"

// librarySet loads the library and the dev stack's demo runbooks.
func librarySet(t *testing.T) *runbooks.Set {
	t.Helper()
	set, err := runbooks.Load(demoRunbooks)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Get("demo-orders-load"); !ok {
		t.Fatalf("no demo runbook in %s: has the dev stack's directory moved?", demoRunbooks)
	}
	return set
}

// planned is what both sides start from for a sample: the runbook an
// incident declared for its alert would run, the input it would start
// with, and the dry run's plan of it (as `datasev runbooks test` makes it).
func planned(t *testing.T, set *runbooks.Set, alert workflows.Alert) (*runbooks.Runbook, workflows.RunbookInput, []runbooks.Planned) {
	t.Helper()
	suggested := alert.Severity
	if err := alert.Validate(); err != nil {
		t.Fatalf("sample alert: %v", err)
	}
	rb, err := set.Choose("", alert.Facts())
	if err != nil || rb == nil {
		t.Fatalf("no runbook for the sample alert %q: %v", alert.Title, err)
	}
	if suggested == "" {
		alert.Severity = "" // the runbook's default applies
	}
	in := workflows.PlannedRunbookInput(alert, rb)
	// The workflow gets the runbook as an incident captures it.
	captured, err := runbooks.Clone(rb)
	if err != nil {
		t.Fatal(err)
	}
	in.Runbook = *captured
	return rb, in, runbooks.Plan(rb, in.State())
}

// compare lists every decision on which the dry run's plan and the
// workflow's run disagree: a step the plan says runs (or does not) that
// the workflow skipped (or ran); a problem the plan foresaw that the
// workflow did not meet, or the reverse; an input the plan resolved to
// another value than the workflow's; an approval asked of another role,
// with another deadline or another fallback. Decisions the dry run leaves
// open (runs: unknown, Unknown inputs) are not compared, and neither are
// the steps after the one a real run stopped at.
func compare(rb *runbooks.Runbook, plan []runbooks.Planned, got *run) []string {
	var diffs []string
	bad := func(p runbooks.Planned, format string, args ...any) {
		diffs = append(diffs, fmt.Sprintf("%s/%s: ", rb.Name, p.ID)+fmt.Sprintf(format, args...))
	}
	pages := pagesByStep(rb, got)
	after := stoppedAfter(rb, got)
	for _, p := range plan {
		if after[p.ID] {
			continue
		}
		res, has := got.result(p.ID)
		ran := has && res.Status != workflows.StepSkipped
		var real, dry []runbooks.ActionRequest
		for _, c := range got.Calls[p.ID] {
			if c.DryRun {
				dry = append(dry, c)
			} else {
				real = append(real, c)
			}
		}
		switch {
		case p.Runs == runbooks.RunsYes && !ran:
			bad(p, "the dry run says it runs (%s); the workflow did not run it (%s)", p.Why, outcome(res, has))
		case p.Runs == runbooks.RunsNo && ran:
			bad(p, "the dry run says it does not run (%s); the workflow ran it (%s)", p.Why, outcome(res, has))
		case !ran && len(real) > 0:
			bad(p, "the workflow did not run it, yet called %s", real[0].Step)
		}
		if !ran {
			continue
		}
		if p.Error != "" {
			want := p.Error
			if !strings.HasPrefix(want, "when: ") {
				want = "inputs: " + want
			}
			if res.Status != workflows.StepFailed || !strings.Contains(res.Error, want) {
				bad(p, "the dry run foresees %q; the workflow's step is %s: %s", want, res.Status, res.Error)
			}
			continue
		}
		if res.Status != workflows.StepOK {
			bad(p, "the dry run sees no problem; the workflow's step is %s: %s", res.Status, res.Error)
		}
		switch p.Action {
		case "", workflows.ActionWait: // a parallel group; a timer
		case workflows.ActionPage:
			page, ok := pages[p.ID]
			if !ok {
				bad(p, "no page sent")
				break
			}
			sent := map[string]any{"role": string(page.Role), "to": page.Person, "message": page.Message, "detail": page.Detail}
			for _, d := range compareInputs(p.With, sent, true) {
				bad(p, "%s", d)
			}
		default:
			if len(real) == 0 {
				bad(p, "the workflow ran it without calling %s", p.Action)
			}
			for _, c := range append(dry, real...) {
				for _, d := range compareInputs(p.With, c.With, false) {
					bad(p, "%s (dry_run=%t call)", d, c.DryRun)
				}
			}
		}
		if g := p.Approval; g != nil {
			diffs = append(diffs, compareApproval(rb, p, *g, got)...)
		}
	}
	return diffs
}

// compareInputs compares the dry run's inputs with those the workflow
// used, as JSON (the workflow's went through JSON). An Unknown input must
// have some value. partial: sent holds only some inputs (a page's).
func compareInputs(planned, sent map[string]any, partial bool) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(planned)) {
		v, ok := sent[k]
		switch {
		case !ok && partial:
		case !ok:
			out = append(out, fmt.Sprintf("input %s: the dry run has it, the workflow sent none", k))
		case planned[k] == (runbooks.Unknown{}):
			if v == nil || v == "" {
				out = append(out, fmt.Sprintf("input %s: the dry run leaves it to earlier steps, the workflow sent it empty", k))
			}
		case asJSON(planned[k]) != asJSON(v):
			out = append(out, fmt.Sprintf("input %s: the dry run resolves %s, the workflow sent %s", k, asJSON(planned[k]), asJSON(v)))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(sent)) {
		if _, ok := planned[k]; !ok && !partial {
			out = append(out, fmt.Sprintf("input %s: the workflow sent it, the dry run has none", k))
		}
	}
	return out
}

// compareApproval checks that the workflow asked for the approval the dry
// run shows, of the same role, deadline and fallback; or for none when the
// step is covered by an earlier one's.
func compareApproval(rb *runbooks.Runbook, p runbooks.Planned, g runbooks.Gate, got *run) []string {
	id := rb.Name + "/" + p.ID
	i := slices.IndexFunc(got.Approvals, func(a workflows.ApprovalRequest) bool { return a.ID == id })
	switch {
	case g.CoveredBy != "" && i >= 0:
		return []string{fmt.Sprintf("%s: covered by %s, yet the workflow asked for approval", id, g.CoveredBy)}
	case g.CoveredBy != "":
		return nil
	case i < 0:
		return []string{fmt.Sprintf("%s: the dry run shows an approval by the %s; the workflow asked for none", id, g.Role)}
	}
	a := got.Approvals[i]
	if string(a.Role) != g.Role || a.Timeout != g.Timeout.Std() || a.OnTimeout != g.OnTimeout {
		return []string{fmt.Sprintf("%s: the dry run shows approval by the %s within %s, then %s; the workflow asked the %s within %s, then %s",
			id, g.Role, g.Timeout.Std(), g.OnTimeout, a.Role, a.Timeout, a.OnTimeout)}
	}
	return nil
}

// pagesByStep attributes the pages sent to the page steps that succeeded,
// in the order they finished (a page is sent as its step runs).
func pagesByStep(rb *runbooks.Runbook, got *run) map[string]workflows.PageRequest {
	isPage := map[string]bool{}
	var walk func([]runbooks.Step)
	walk = func(steps []runbooks.Step) {
		for _, s := range steps {
			if s.Check != nil && s.Check.Action == workflows.ActionPage {
				isPage[s.ID] = true
			}
			walk(s.Parallel)
		}
	}
	walk(rb.Steps)
	out := map[string]workflows.PageRequest{}
	i := 0
	for _, s := range got.Steps {
		if isPage[s.ID] && s.Status == workflows.StepOK && i < len(got.Pages) {
			out[s.ID] = got.Pages[i]
			i++
		}
	}
	return out
}

// stoppedAfter names the steps a real run never reached because a step
// failed with on_failure stop or escalate: a dry run cannot know that.
func stoppedAfter(rb *runbooks.Runbook, got *run) map[string]bool {
	out := map[string]bool{}
	stopped := false
	for _, s := range rb.Steps {
		if stopped {
			for _, id := range stepIDs([]runbooks.Step{s}) {
				out[id] = true
			}
			continue
		}
		res, ok := got.result(s.ID)
		failed := ok && (res.Status == workflows.StepFailed || res.Status == workflows.StepDenied)
		stopped = failed && s.OnFailure != runbooks.Continue
	}
	return out
}

func stepIDs(steps []runbooks.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.ID)
		out = append(out, stepIDs(s.Parallel)...)
	}
	return out
}

func outcome(res workflows.StepResult, has bool) string {
	if !has {
		return "never reached"
	}
	return strings.TrimSpace(res.Status + " " + res.Summary + " " + res.Error)
}

func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v (not JSON: %v)", v, err)
	}
	return string(b)
}

// TestDryRunDecidesAsTheWorkflow runs every runbook of the library and of
// the dev stack's demo over the sample alerts through both the dry run
// (runbooks.Plan, what a reviewer reads in `datasev runbooks test`) and
// the runbook workflow, and compares every decision (see compare). The
// samples must make every conditional step go both ways in the workflow,
// and every runbook must be run, so a runbook added without a sample
// fails here.
func TestDryRunDecidesAsTheWorkflow(t *testing.T) {
	set := librarySet(t)
	ran := map[string]bool{}     // runbooks run
	ways := map[string][2]bool{} // runbook/step with a when: [skipped seen, ran seen]
	compared := map[string]int{} // decisions compared, by kind
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			rb, in, plan := planned(t, set, s.alert)
			ran[rb.Name] = true
			got := runWorkflow(t, in, s.answers)
			for _, d := range compare(rb, plan, got) {
				t.Error(d)
			}
			after := stoppedAfter(rb, got)
			for _, p := range plan {
				res, has := got.result(p.ID)
				if p.When != "" && !after[p.ID] {
					w := ways[rb.Name+"/"+p.ID]
					w[0] = w[0] || !has || res.Status == workflows.StepSkipped
					w[1] = w[1] || (has && res.Status != workflows.StepSkipped)
					ways[rb.Name+"/"+p.ID] = w
				}
				if p.Runs != runbooks.RunsUnknown && !after[p.ID] {
					compared["runs "+p.Runs]++
				}
				for _, v := range p.With {
					if v != (runbooks.Unknown{}) && has && res.Status != workflows.StepSkipped {
						compared["inputs"]++
					}
				}
			}
		})
	}
	for _, rb := range set.Runbooks() {
		if !ran[rb.Name] {
			t.Errorf("runbook %s: no sample alert runs it; add one to samples", rb.Name)
		}
	}
	for _, step := range slices.Sorted(maps.Keys(ways)) {
		if w := ways[step]; !w[0] || !w[1] {
			t.Errorf("step %s: its condition went one way only over the samples (skipped %t, ran %t); add a sample that turns it", step, w[0], w[1])
		}
	}
	if compared["runs yes"] == 0 || compared["runs no"] == 0 || compared["inputs"] == 0 {
		t.Errorf("decisions compared: %v; want runs yes, runs no and inputs", compared)
	}
	t.Logf("decisions compared: %v", compared)
}

// TestDryRunComparisonCatchesDifferences shows compare fails when the two
// sides do not decide alike: the workflow fed another alert or another
// incident than the dry run planned for.
func TestDryRunComparisonCatchesDifferences(t *testing.T) {
	set := librarySet(t)
	dbt := samples()[7].alert
	if dbt.Labels["alertname"] != "DbtModelRegression" {
		t.Fatalf("samples()[7] is %s, want the dbt sample", dbt.Labels["alertname"])
	}
	for _, tc := range []struct {
		name    string
		perturb func(*workflows.RunbookInput)
		want    string
	}{
		{"a label's value", func(in *workflows.RunbookInput) {
			in.Alert.Labels = maps.Clone(in.Alert.Labels)
			in.Alert.Labels["model"] = "customers"
		}, `dbt-model-regression/impact: input node: the dry run resolves "orders", the workflow sent "customers"`},
		{"a label left out", func(in *workflows.RunbookInput) {
			in.Alert.Labels = maps.Clone(in.Alert.Labels)
			delete(in.Alert.Labels, "manifest")
		}, "dbt-model-regression/impact: the dry run says it runs (its condition is true for this alert); the workflow did not run it (skipped"},
		{"the incident's severity", func(in *workflows.RunbookInput) {
			in.Severity = workflows.SEV1
		}, `dbt-model-regression/tell_consumers: input severity: the dry run resolves "SEV3", the workflow sent "SEV1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb, in, plan := planned(t, set, dbt)
			tc.perturb(&in)
			diffs := compare(rb, plan, runWorkflow(t, in, nil))
			if !slices.ContainsFunc(diffs, func(d string) bool { return strings.HasPrefix(d, tc.want) }) {
				t.Errorf("compare did not catch %s: got %q, want one starting %q", tc.name, diffs, tc.want)
			}
		})
	}
}
