package main

import (
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/github/ghtest"
	"github.com/datasev/datasev/activities/actions/lineage/manifesttest"
	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/s3/s3test"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/actions/snowflake/sftest"
	pagerdutyact "github.com/datasev/datasev/activities/notifiers/pagerduty"
	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdtest"
	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/starter/dev/demoload"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// standIns are dev's six protocol stand-ins on 127.0.0.1, seeded with the
// demo data: an S3 server (bucket lake: hourly events/ that stopped 3h ago,
// daily orders/), a Snowflake server (ANALYTICS.RAW.ORDERS, whose load has
// failed for two hours), a GitHub server (acme/analytics, a dbt project
// whose orders model was broken three hours ago, with its manifest), an
// Airflow server (the dbt job's DAG), a Slack Web API server (the roster's
// people, the data teams' channels) and the orders loader the demo runbook
// checks. Each integration the user leaves unconfigured talks to its
// stand-in (see integrations).
type standIns struct {
	lake      *s3test.Server
	warehouse *sftest.Server
	orders    *sftest.Demo
	github    *ghtest.Server
	airflow   *aftest.Server
	slack     *slacktest.Server
	pagerduty *pdtest.Server // the Events API v2: pages land there
	loader    *demoload.Loader
	culprit   string // the commit that broke the dbt model
}

// demoDbtDAG is the Airflow DAG that runs the demo's dbt job.
const demoDbtDAG = "dbt_analytics"

// demoConsumerChannels maps the demo manifest's owners to their teams'
// channels in the Slack stand-in.
var demoConsumerChannels = map[string]string{"finance": "#finance-data", "growth": "#growth-analytics"}

// startStandIns starts and seeds the stand-ins; the Slack stand-in knows
// the roster's people with a Slack ID.
func startStandIns(now time.Time, roster oncall.Roster) (_ *standIns, err error) {
	s := &standIns{orders: sftest.NewDemo(nil)}
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
	// The endpoint the demo runbook checks with core.http. It lives until
	// dev stops, in case a runbook is still watching it.
	if s.loader, err = demoload.Start(demoload.Options{}); err != nil {
		return nil, fmt.Errorf("demo loader: %w", err)
	}
	if s.warehouse, err = sftest.New(sftest.Options{Handler: s.orders.Handler}); err != nil {
		return nil, fmt.Errorf("snowflake stand-in: %w", err)
	}
	s.github = ghtest.New()
	s.culprit = s.github.SeedDbtDemo(now)
	s.github.Commit(ghtest.DemoRepo, "main", "CI", "dbt docs generate: manifest",
		map[string]string{manifesttest.DemoManifestPath: string(manifesttest.Generate(manifesttest.DbtDemo()))}, now.Add(-47*time.Hour))
	if s.airflow, err = aftest.Start(aftest.Options{AutoAdvance: true}); err != nil {
		return nil, fmt.Errorf("airflow stand-in: %w", err)
	}
	s.airflow.SeedDemo()
	s.airflow.SeedDAG(demoDbtDAG, false, "dbt_run", "dbt_test")
	s.slack = slacktest.New()
	for _, p := range roster.People {
		if p.Slack != "" {
			s.slack.AddUser(slacktest.User{ID: p.Slack, Name: p.ID, RealName: p.Name, Email: p.Email})
		}
	}
	if s.pagerduty, err = pdtest.Start(""); err != nil {
		return nil, fmt.Errorf("pagerduty stand-in: %w", err)
	}
	// The data teams' channels: the owners the demo manifest's lineage
	// names (finance, growth) read there; data-science has none.
	for _, name := range demoConsumerChannels {
		s.slack.AddChannel(slacktest.Channel{Name: strings.TrimPrefix(name, "#")})
	}
	return s, nil
}

// integration is one of the worker's outside systems a stand-in plays.
type integration struct {
	name string
	// claims are the variables that, any one set by the user (in the
	// environment or the DATASEV_CONFIG file), make the integration the
	// user's: then none of the stand-in's settings apply to it.
	claims []string
	// env points the worker at the stand-in, read the way the worker reads
	// its configuration.
	env map[string]string
	// process are variables the client library reads from the process
	// environment itself (the AWS SDK's credentials); set only where unset.
	process map[string]string
	// targets are the target policy's entries for the stand-in's data,
	// keyed by policy key.
	targets map[string]string
}

// integrations are the worker's integrations the stand-ins play, in a
// fixed order.
func (s *standIns) integrations() []integration {
	s3env := s.lake.Env()
	process := map[string]string{}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		process[k] = s3env[k]
		delete(s3env, k)
	}
	delete(s3env, "AWS_SESSION_TOKEN")
	delete(s3env, "AWS_EC2_METADATA_DISABLED") // dev sets it for the whole process
	sfenv := s.warehouse.Env()
	delete(sfenv, "SNOWFLAKE_DISABLE_PLATFORM_DETECTION") // likewise
	slackenv := s.slack.Env()
	var consumers []string
	for owner, ch := range demoConsumerChannels {
		consumers = append(consumers, owner+"="+ch)
	}
	sort.Strings(consumers)
	slackenv[slackact.EnvConsumerChannels] = strings.Join(consumers, ",")
	return []integration{
		{name: "s3", claims: []string{s3act.EnvEndpoint, s3act.EnvProfile}, env: s3env, process: process,
			targets: map[string]string{target.KeyS3Buckets: s3test.DemoBucket}},
		{name: "snowflake", claims: []string{snowflake.EnvAccount}, env: sfenv,
			targets: map[string]string{target.KeySnowflakeDatabases: sftest.DemoDatabase}},
		{name: "github", claims: []string{ghact.EnvToken, ghact.EnvTokenFile, ghact.EnvAppID, ghact.EnvAPIURL}, env: s.github.Env(),
			targets: map[string]string{
				target.KeyGitHubRepositories: ghtest.DemoRepo,
				target.KeyLineageGitHub:      ghtest.DemoRepo + "/" + manifesttest.DemoManifestPath,
			}},
		{name: "airflow", claims: []string{airflow.EnvURL}, env: s.airflow.Env(),
			targets: map[string]string{target.KeyAirflowDAGs: aftest.DemoDAG + "," + demoDbtDAG}},
		{name: "slack", claims: []string{slackact.EnvBotToken, slackact.EnvBotTokenFile, slackact.EnvAPIURL}, env: slackenv},
		{name: "pagerduty", claims: pagerDutyClaims(), env: s.pagerduty.Env()},
	}
}

// loaderTargets are the target policy's entries for the demo's orders
// loader: its /health, the one loopback address core.http may reach.
func (s *standIns) loaderTargets() map[string]string {
	u, err := url.Parse(s.loader.HealthURL())
	if err != nil {
		panic(err) // the loader's own URL
	}
	return map[string]string{
		target.KeyHTTPURLPrefixes:    "http://" + u.Host + "/health",
		target.KeyHTTPAllowAddresses: u.Host,
	}
}

// Close stops the stand-ins that started.
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
	if s.pagerduty != nil {
		s.pagerduty.Close()
	}
}

// pagerDutyClaims are the variables that make PagerDuty paging the user's.
func pagerDutyClaims() []string {
	claims := []string{pagerdutyact.EnvRoutingKey, pagerdutyact.EnvRoutingKey + "_FILE", pagerdutyact.EnvEventsURL}
	for _, sev := range []string{"SEV1", "SEV2", "SEV3", "SEV4", "SEV5"} {
		k := pagerdutyact.SeverityKeyEnv[workflows.Severity(sev)]
		claims = append(claims, k, k+"_FILE")
	}
	return claims
}

// describe prints one line per stand-in the worker talks to (standIn names
// them).
func (s *standIns) describe(out io.Writer, standIn map[string]bool) {
	lines := []struct{ name, line string }{
		{"snowflake", fmt.Sprintf("%s (a stand-in speaking Snowflake's protocol: %s load failing)", s.warehouse.Addr(), standInTable)},
		{"s3", fmt.Sprintf("%s (a stand-in: bucket %s, %s 3h late)", s.lake.URL, s3test.DemoBucket, s3test.DemoEventsPrefix)},
		{"github", fmt.Sprintf("%s (a stand-in following GitHub's REST API: %s, orders model broken by %s)", s.github.URL, ghtest.DemoRepo, s.culprit[:7])},
		{"airflow", fmt.Sprintf("%s (a stand-in following Airflow's REST API: DAG %s runs the dbt job)", s.airflow.URL, demoDbtDAG)},
		{"slack", fmt.Sprintf("%s (a stand-in for Slack's Web API: the worker's channel posts land there)", s.slack.APIURL())},
		{"pagerduty", fmt.Sprintf("%s (a stand-in for PagerDuty's Events API v2: the pages land there)", s.pagerduty.URL)},
	}
	for _, l := range lines {
		if standIn[l.name] {
			fmt.Fprintf(out, "%-13s %s\n", l.name, l.line)
		}
	}
}

const standInTable = sftest.DemoDatabase + "." + sftest.DemoSchema + "." + sftest.DemoTable
