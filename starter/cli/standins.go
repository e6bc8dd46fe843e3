package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/dev/demoload"
	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// standIns are dev's protocol stand-ins on 127.0.0.1, seeded with the demo
// data: an S3 server (bucket lake: hourly events/ that stopped 3h ago,
// daily orders/), a Snowflake server (ANALYTICS.RAW.ORDERS, whose load
// has failed for two hours), a GitHub server (acme/analytics, a dbt project
// whose orders model was broken three hours ago, with its manifest) and an
// Airflow server (the dbt job's DAG). The in-process worker's actions talk
// to them.
type standIns struct {
	lake      *s3test.Server
	warehouse *sftest.Server
	orders    *sftest.Demo
	github    *ghtest.Server
	airflow   *aftest.Server
	slack     *slacktest.Server
	culprit   string // the commit that broke the dbt model
	s3        s3act.Config
	snowflake snowflake.Config
	ghcfg     ghact.Config
	afcfg     airflow.Config
	slackcfg  slackact.Config
	consumers map[string]string // lineage owner → channel
	roster    oncall.Roster
	loader    *demoload.Loader // the orders loader the demo runbook checks
}

// demoDbtDAG is the Airflow DAG that runs the demo's dbt job.
const demoDbtDAG = "dbt_analytics"

// startStandIns starts and seeds both stand-ins and reads the worker's
// configuration from their environments (not the process's).
func startStandIns(now time.Time, roster oncall.Roster) (_ *standIns, err error) {
	s := &standIns{orders: sftest.NewDemo(nil), roster: roster}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.lake, err = s3test.Start(""); err != nil {
		return nil, fmt.Errorf("s3 stand-in: %w", err)
	}
	if _, err = s.lake.SeedDemo(now); err != nil {
		return nil, fmt.Errorf("s3 stand-in: seeding: %w", err)
	}
	// The demo's stand-in for the orders loader: the endpoint the demo
	// runbook checks with core.http. It lives until dev stops, in case a
	// runbook is still watching it.
	if s.loader, err = demoload.Start(demoload.Options{}); err != nil {
		return nil, fmt.Errorf("demo loader: %w", err)
	}
	if s.warehouse, err = sftest.New(sftest.Options{Handler: s.orders.Handler}); err != nil {
		return nil, fmt.Errorf("snowflake stand-in: %w", err)
	}
	s3env := s.lake.Env()
	if s.s3, err = s3act.ConfigFromEnv(mapGetenv(s3env)); err != nil {
		return nil, fmt.Errorf("s3 stand-in: %w", err)
	}
	// The AWS SDK takes its credentials from the default chain only, which
	// reads the process environment: give it the stand-in's static keys
	// unless the operator's environment already has keys (the stand-in
	// does not check signatures).
	setenvUnset(map[string]string{
		"AWS_ACCESS_KEY_ID":     s3env["AWS_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY": s3env["AWS_SECRET_ACCESS_KEY"],
	}, "AWS_ACCESS_KEY_ID")
	setenvUnset(map[string]string{"AWS_EC2_METADATA_DISABLED": s3env["AWS_EC2_METADATA_DISABLED"]}, "AWS_EC2_METADATA_DISABLED")
	sfenv := s.warehouse.Env()
	if s.snowflake, err = snowflake.LoadConfig(mapGetenv(sfenv)); err != nil {
		return nil, fmt.Errorf("snowflake stand-in: %w", err)
	}
	// The driver reads this one from the process environment itself.
	setenvUnset(map[string]string{"SNOWFLAKE_DISABLE_PLATFORM_DETECTION": sfenv["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"]}, "SNOWFLAKE_DISABLE_PLATFORM_DETECTION")

	s.github = ghtest.New()
	s.culprit = s.github.SeedDbtDemo(now)
	s.github.Commit(ghtest.DemoRepo, "main", "CI", "dbt docs generate: manifest",
		map[string]string{manifesttest.DemoManifestPath: string(manifesttest.Generate(manifesttest.DbtDemo()))}, now.Add(-47*time.Hour))
	if s.ghcfg, err = ghact.ConfigFromEnv(mapGetenv(s.github.Env())); err != nil {
		return nil, fmt.Errorf("github stand-in: %w", err)
	}
	if s.airflow, err = aftest.Start(aftest.Options{AutoAdvance: true}); err != nil {
		return nil, fmt.Errorf("airflow stand-in: %w", err)
	}
	s.airflow.SeedDemo()
	s.airflow.SeedDAG(demoDbtDAG, false, "dbt_run", "dbt_test")
	if s.afcfg, err = airflow.ConfigFromEnv(mapGetenv(s.airflow.Env())); err != nil {
		return nil, fmt.Errorf("airflow stand-in: %w", err)
	}
	s.slack = slacktest.New()
	for _, p := range roster.People {
		if p.Slack != "" {
			s.slack.AddUser(slacktest.User{ID: p.Slack, Name: p.ID, RealName: p.Name, Email: p.Email})
		}
	}
	if s.slackcfg, err = slackact.ConfigFromEnv(mapGetenv(s.slack.Env())); err != nil {
		return nil, fmt.Errorf("slack stand-in: %w", err)
	}
	// The data teams' channels: the owners the demo manifest's lineage
	// names (finance, growth) read there; data-science has none.
	s.consumers = map[string]string{}
	for owner, name := range demoConsumerChannels {
		s.slack.AddChannel(slacktest.Channel{Name: strings.TrimPrefix(name, "#")})
		s.consumers[owner] = name
	}
	return s, nil
}

// workerConfig is the worker's configuration for the stand-ins: its
// actions talk to them, and its notifications go to the log and to the
// Slack stand-in.
func (s *standIns) workerConfig() service.Config {
	return service.Config{
		S3: s.s3, Snowflake: s.snowflake, GitHub: s.ghcfg, Airflow: s.afcfg,
		Slack: s.slackcfg, Roster: &s.roster, ConsumerChannels: s.consumers,
		Targets: s.targets(),
	}
}

// targets is the demo's target policy: exactly its stand-ins' data — the
// dbt repository (on its default branch), the DAGs the runbooks run, the
// lake bucket, the warehouse's database, the dbt manifest in the
// repository, and the orders loader's /health, the one loopback address
// core.http may reach.
func (s *standIns) targets() *target.Policy {
	u, err := url.Parse(s.loader.HealthURL())
	if err != nil {
		panic(err)
	}
	p, err := target.Parse(map[string]string{
		target.KeyGitHubRepositories: ghtest.DemoRepo,
		target.KeyAirflowDAGs:        aftest.DemoDAG + "," + demoDbtDAG,
		target.KeyS3Buckets:          s3test.DemoBucket,
		target.KeySnowflakeDatabases: sftest.DemoDatabase,
		target.KeyHTTPURLPrefixes:    "http://" + u.Host + "/health",
		target.KeyHTTPAllowAddresses: u.Host,
		target.KeyLineageGitHub:      ghtest.DemoRepo + "/" + manifesttest.DemoManifestPath,
	})
	if err != nil {
		panic(err) // the entries above are well-formed
	}
	return p
}

// demoConsumerChannels maps the demo manifest's owners to their teams'
// channels in the Slack stand-in.
var demoConsumerChannels = map[string]string{"finance": "#finance-data", "growth": "#growth-analytics"}

// Close stops both stand-ins.
func (s *standIns) Close() {
	if s.lake != nil {
		s.lake.Close()
	}
	if s.warehouse != nil {
		s.warehouse.Close()
	}
	if s.github != nil {
		s.github.Close()
	}
	if s.airflow != nil {
		s.airflow.Close()
	}
	if s.slack != nil {
		s.slack.Close()
	}
	if s.loader != nil {
		s.loader.Close()
	}
}

// describe prints one line per stand-in.
func (s *standIns) describe(out io.Writer) {
	fmt.Fprintf(out, "snowflake     %s (a stand-in speaking Snowflake's protocol: %s load failing)\n", s.warehouse.Addr(), standInTable)
	fmt.Fprintf(out, "s3            %s (a stand-in: bucket %s, %s 3h late)\n", s.lake.URL, s3test.DemoBucket, s3test.DemoEventsPrefix)
	fmt.Fprintf(out, "github        %s (a stand-in following GitHub's REST API: %s, orders model broken by %s)\n", s.github.URL, ghtest.DemoRepo, s.culprit[:7])
	fmt.Fprintf(out, "airflow       %s (a stand-in following Airflow's REST API: DAG %s runs the dbt job)\n", s.airflow.URL, demoDbtDAG)
}

const standInTable = sftest.DemoDatabase + "." + sftest.DemoSchema + "." + sftest.DemoTable

// mapGetenv is a getenv over m.
func mapGetenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// setenvUnset sets vars in the process environment, all of them, only when
// guard is unset there: an operator's own settings win.
func setenvUnset(vars map[string]string, guard string) {
	if _, ok := os.LookupEnv(guard); ok {
		return
	}
	for k, v := range vars {
		if v != "" {
			_ = os.Setenv(k, v)
		}
	}
}

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
	uiURL      string
	namespace  string
}

// runLibraryIncidents declares one incident per library alert, prints its
// runbook's timeline for up to libraryRunbookWatch, then its UI link, and
// leaves it open: the runbook's verify keeps watching the stand-in.
func runLibraryIncidents(ctx context.Context, c client.Client, out io.Writer, d libraryDemo) error {
	for _, alert := range libraryAlerts(time.Now()) {
		choice, err := chooseRunbook(d.runbooks, "", alert)
		if err != nil {
			return err
		}
		fmt.Fprintln(out)
		fmt.Fprintf(out, "incident %q: alertmanager: %s (%s)\n", alert.DedupeKey, alert.Title, alert.Severity)
		decl, err := incidents.Declare(ctx, c, incidents.DeclareRequest{
			Alert: alert, Runbooks: d.runbooks, Roster: d.roster,
			Options: workflows.Options{CloseAfter: d.closeAfter},
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "      declared %s (run %s), Commander %s\n", decl.WorkflowID, short(decl.RunID), decl.Commander)
		fmt.Fprintf(out, "      %s\n", choice)
		if choice.runbook != nil {
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
		fmt.Fprintf(out, "      in the UI: %s\n", devstack.WorkflowURL(d.uiURL, d.namespace, decl.WorkflowID, runID))
	}
	return nil
}

// verifying reports whether the runbook has paged and then moved on to a
// later step (its verify): the diagnosis is on the timeline.
func verifying(tl []workflows.TimelineEntry) bool {
	pagedAt := -1
	for i, t := range tl {
		if !isRunbookEntry(t) {
			continue
		}
		if t.Kind == workflows.KindNotify && pagedAt < 0 {
			pagedAt = i
			continue
		}
		if pagedAt >= 0 && i > pagedAt && !strings.HasPrefix(t.What, "paged ") {
			return true
		}
	}
	return false
}
