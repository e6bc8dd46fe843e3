package actions

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-github/v57/github"
	"github.com/slack-go/slack"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/core"
	"github.com/datasev/datasev/activities/actions/dbtcloud"
	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/lineage"
	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/snowflake"
	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// Deps are the clients the built-in actions use. The worker builds them
// once. A zero Deps is enough for the specs (DefaultCatalog); an action
// whose client is missing fails, non-retryably, when it runs.
type Deps struct {
	// HTTPClient makes core.http's requests. core.http uses a copy that
	// follows redirects only on the same host. Nil means a default client.
	HTTPClient *http.Client
	// S3 is the client of the s3.* actions (s3act.NewClient). Nil leaves
	// them failing, non-retryably, when they run.
	S3 *s3.Client
	// Snowflake is the pool of the snowflake.* actions (snowflake.Open).
	// Nil leaves them failing, non-retryably, when they run.
	Snowflake *sql.DB
	// GitHub is the client of the github.* actions (ghact.NewClient) and of
	// lineage's github:// manifests; GitHubConfig gives their defaults (the
	// merge method). Nil leaves them failing, non-retryably, when they run.
	GitHub       *github.Client
	GitHubConfig ghact.Config
	// Airflow is the client of the airflow.* actions (airflow.NewClient).
	// Nil leaves them failing, non-retryably, when they run.
	Airflow *airflow.Client
	// DBTCloud is the client of the dbtcloud.* actions
	// (dbtcloud.NewClient). Nil leaves them failing, non-retryably, when
	// they run.
	DBTCloud *dbtcloud.Client
	// Slack is the Web API client of slack.notify_consumers (the notifier
	// backend's, slackact.Backend.Client); ConsumerChannels maps lineage
	// owners to channels (slackact.ConsumerChannelsFromEnv). Nil leaves
	// the action failing, non-retryably, when it runs.
	Slack            *slack.Client
	ConsumerChannels map[string]string
	// Lineage tunes the lineage.* actions' manifest cache
	// (lineage.CacheOptionsFromEnv); zero for the defaults.
	Lineage lineage.CacheOptions
	// Logger receives the actions' own log lines (a manifest loaded);
	// nil means slog.Default().
	Logger *slog.Logger
	// Targets is the target policy (target.FromEnv): what the actions may
	// touch. Nil is no policy: the actions that change something refuse
	// to run, and the diagnostic reads may read any target.
	Targets *target.Policy
	// SnowflakeDatabase is the Snowflake session's database
	// (DATASEV_SNOWFLAKE_DATABASE), which the target policy checks when a
	// step's name gives none.
	SnowflakeDatabase string
}

// New returns the registry of every built-in action, using deps' clients.
func New(deps Deps) *Registry {
	r := NewRegistry()
	s3a := s3act.New(deps.S3).WithTargets(deps.Targets)
	sf := snowflake.New(deps.Snowflake).WithTargets(deps.Targets, deps.SnowflakeDatabase)
	gh := ghact.New(deps.GitHub, deps.GitHubConfig).WithTargets(deps.Targets)
	af := airflow.New(deps.Airflow).WithTargets(deps.Targets)
	dbt := dbtcloud.New(deps.DBTCloud).WithTargets(deps.Targets)
	lopts := deps.Lineage
	if lopts.Logger == nil {
		lopts.Logger = deps.Logger
	}
	lin := lineage.NewWithCache(lineage.NewCache(lineage.Sources{S3: deps.S3, GitHub: deps.GitHub, Targets: deps.Targets}, lopts))
	r.Add(
		Typed(snowflake.QueryFailuresSpec(), sf.QueryFailures),
		Typed(snowflake.CopyHistorySpec(), sf.CopyHistory),
		Typed(snowflake.TaskHistorySpec(), sf.TaskHistory),
		Typed(snowflake.TableFreshnessSpec(), sf.TableFreshness),
		Typed(snowflake.ExecuteTaskSpec(), sf.ExecuteTask),
		Typed(snowflake.ResumeTaskSpec(), sf.ResumeTask),
		Typed(s3act.LatestPartitionSpec(), s3a.LatestPartition),
		Typed(s3act.InspectPrefixSpec(), s3a.InspectPrefix),
		Typed(s3act.ObjectHeadSpec(), s3a.ObjectHead),
		Typed(ghact.RecentCommitsSpec(), gh.RecentCommits),
		Typed(ghact.RevertCommitSpec(), gh.RevertCommit),
		Typed(ghact.MergePullRequestSpec(), gh.MergePullRequest),
		Typed(ghact.CommentSpec(), gh.Comment),
		Typed(ghact.CreateIssueSpec(), gh.CreateIssue),
		Typed(airflow.FailedTasksSpec(), af.FailedTasks),
		Typed(airflow.ClearTasksSpec(), af.ClearTasks),
		Typed(airflow.TriggerDAGSpec(), af.TriggerDAG),
		Typed(airflow.WaitDAGRunSpec(), af.WaitDAGRun),
		Typed(dbtcloud.RerunJobSpec(), dbt.RerunJob),
		Typed(dbtcloud.RetryRunSpec(), dbt.RetryRun),
		Typed(lineage.DownstreamSpec(), lin.Downstream),
		Typed(lineage.UpstreamSpec(), lin.Upstream),
		Typed(slackact.NotifyConsumersSpec(), slackact.NewConsumers(deps.Slack, deps.ConsumerChannels, deps.Logger).NotifyConsumers),
		Typed(core.HTTPSpec(), core.NewHTTP(deps.HTTPClient, deps.Targets).Check),
		InWorkflow[core.PageInput](core.PageSpec()),
		InWorkflow[core.WaitInput](core.WaitSpec()),
	)
	gateRemediations(r, deps.Targets)
	return r
}

// gateRemediations makes every action that changes the outside world
// refuse to run, before anything else, when no target policy is
// configured. Each action group checks its own targets as well; this
// gate also holds for an action that forgets to.
func gateRemediations(r *Registry, p *target.Policy) {
	for name, a := range r.actions {
		if !a.Spec.Changes || a.Fn == nil {
			continue
		}
		fn := a.Fn
		a.Fn = func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error) {
			if err := p.Remediation(name); err != nil {
				return runbooks.ActionResult{}, err
			}
			return fn(ctx, req)
		}
		r.actions[name] = a
	}
}

var defaultCatalog = sync.OnceValue(func() *Registry { return New(Deps{}) })

// DefaultCatalog returns the specs of every built-in action, without
// clients: for the validator and the CLI.
func DefaultCatalog() runbooks.Catalog { return defaultCatalog() }
