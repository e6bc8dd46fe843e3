// Package service is the datasev worker process as a library: configuration
// from the environment, the Temporal client, registration of the incident
// workflow and its activities, and a run loop that stops gracefully.
package service

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/dbtcloud"
	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/lineage"
	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/lifecycle/autobudget"
	"github.com/datasev/datasev/activities/lifecycle/followup"
	"github.com/datasev/datasev/activities/lifecycle/gdoc"
	"github.com/datasev/datasev/activities/lifecycle/incidentdoc"
	"github.com/datasev/datasev/activities/lifecycle/jira"
	"github.com/datasev/datasev/activities/lifecycle/notify"
	oncallact "github.com/datasev/datasev/activities/lifecycle/oncall"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/activities/lifecycle/seal"
	"github.com/datasev/datasev/activities/lifecycle/statuspage"
	"github.com/datasev/datasev/activities/notifiers/email"
	pagerdutyact "github.com/datasev/datasev/activities/notifiers/pagerduty"
	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/worker/codec"
	"github.com/datasev/datasev/worker/config"
	"github.com/datasev/datasev/worker/metrics"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/registry"
)

// DefaultSealKeyFile is the sealing key's file when DATASEV_SEAL_KEY_FILE
// is unset, relative to the worker's working directory.
const DefaultSealKeyFile = ".datasev/seal.key"

// Environment variables read by LoadConfig besides Temporal's own.
const (
	// EnvTaskQueue overrides the task queue (default workflows.TaskQueue).
	EnvTaskQueue = "DATASEV_TASK_QUEUE"
	// EnvLogFormat is "text" (default) or "json".
	EnvLogFormat = "DATASEV_LOG_FORMAT"
	// EnvLogLevel is "debug", "info" (default), "warn" or "error".
	EnvLogLevel = "DATASEV_LOG_LEVEL"
	// EnvRunbooks is a directory of runbook files added to (and overriding)
	// the embedded library. Optional.
	EnvRunbooks = "DATASEV_RUNBOOKS"
	// EnvRoster is the roster file; the Slack backend maps roster people to
	// Slack users with it. Required when Slack is configured.
	EnvRoster = "DATASEV_ROSTER"
	// EnvSealKeyFile is the file holding the key that seals the messages
	// between an incident and its runbook (64 hex characters). Every
	// worker of a deployment must read the same file; when unset,
	// DefaultSealKeyFile is used, created on first start.
	EnvSealKeyFile = "DATASEV_SEAL_KEY_FILE"
	// EnvMetricsAddr is the host:port of the Prometheus endpoint (GET
	// /metrics), e.g. 127.0.0.1:9464; unset serves no endpoint.
	EnvMetricsAddr = "DATASEV_METRICS_ADDR"
	// EnvMaxActivities bounds the actions and notifications one worker runs
	// at once (default the SDK's, 1000). Lower it to protect the systems
	// the runbooks query.
	EnvMaxActivities = "DATASEV_WORKER_MAX_ACTIVITIES"
	// EnvMaxWorkflowTasks bounds the workflow tasks one worker runs at once
	// (default the SDK's, 1000).
	EnvMaxWorkflowTasks = "DATASEV_WORKER_MAX_WORKFLOW_TASKS"
	// EnvActivityPollers and EnvWorkflowPollers are the long polls the
	// worker keeps open on its task queue (default the SDK's, 2 each); raise
	// them when many incidents run at once.
	EnvActivityPollers = "DATASEV_WORKER_ACTIVITY_POLLERS"
	EnvWorkflowPollers = "DATASEV_WORKER_WORKFLOW_POLLERS"
	// EnvStopTimeout is how long a stopping worker lets running activities
	// finish before cancelling them (default 10s).
	EnvStopTimeout = "DATASEV_WORKER_STOP_TIMEOUT"
	// EnvStickyCache is how many workflows the process keeps in its sticky
	// cache (default the SDK's, 10000; 0 keeps the default). The cache is
	// per process, shared by every worker in it: a workflow that falls out
	// of it is replayed from its full history on its next task.
	EnvStickyCache = "DATASEV_WORKER_STICKY_CACHE"
	// EnvStickyTimeout is how long a workflow task waits on this worker's
	// sticky queue before the server hands it to any worker, which then
	// replays the workflow from its full history (default the SDK's, 5s).
	EnvStickyTimeout = "DATASEV_WORKER_STICKY_TIMEOUT"
)

// setStickyCacheSize sizes the process's sticky cache; a test replaces it.
var setStickyCacheSize = worker.SetStickyWorkflowCacheSize

// ActionHTTPTimeout bounds each request the runbook actions make over HTTP;
// a step's own timeout may be shorter.
const ActionHTTPTimeout = time.Minute

// DefaultStopTimeout is how long a stopping worker lets running activities
// finish before cancelling them.
const DefaultStopTimeout = 10 * time.Second

// Config is the worker's configuration.
type Config struct {
	// Client holds the Temporal connection: address, namespace, TLS, API
	// key, gRPC metadata. LoadConfig fills it the way the Temporal CLI
	// does, from the TEMPORAL_* environment variables and the profiles in
	// temporal.toml (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE).
	Client client.Options
	// TaskQueue is the task queue to poll.
	TaskQueue string
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// StopTimeout bounds the graceful stop.
	StopTimeout time.Duration
	// Runbooks is the operator's runbook directory; "" for the embedded
	// library alone.
	Runbooks string
	// S3 configures the s3.* actions' client (DATASEV_S3_*; credentials
	// come from the AWS SDK's default chain).
	S3 s3act.Config
	// Snowflake configures the snowflake.* actions (DATASEV_SNOWFLAKE_*);
	// zero when DATASEV_SNOWFLAKE_ACCOUNT is unset.
	Snowflake snowflake.Config
	// GitHub configures the github.* actions and lineage's github://
	// manifests (DATASEV_GITHUB_*); zero when no token or App is set.
	GitHub ghact.Config
	// Airflow configures the airflow.* actions (DATASEV_AIRFLOW_*); zero
	// when DATASEV_AIRFLOW_URL is unset.
	Airflow airflow.Config
	// DBTCloud configures the dbtcloud.* actions (DATASEV_DBTCLOUD_*);
	// zero when no token is set.
	DBTCloud dbtcloud.Config
	// Lineage tunes the lineage.* actions' manifest cache
	// (DATASEV_LINEAGE_*); zero for the defaults.
	Lineage lineage.CacheOptions
	// Targets is the target policy, what the actions may touch
	// (DATASEV_TARGETS_*, the config file's targets section); nil when
	// none is set: then remediations refuse to run.
	Targets *target.Policy
	// Slack configures the notifier's Slack backend (DATASEV_SLACK_*);
	// without a bot token notifications go to the log only.
	Slack slackact.Config
	// Postmortem says where postmortems are written (DATASEV_POSTMORTEM_DIR).
	Postmortem postmortem.Config
	// ConsumerChannels maps lineage owners to the Slack channels
	// slack.notify_consumers posts to (DATASEV_SLACK_CONSUMER_CHANNELS).
	ConsumerChannels map[string]string
	// IncidentDoc says where incident documents are kept
	// (DATASEV_INCIDENT_DOC_DIR, DATASEV_INCIDENT_DOC_REPO).
	IncidentDoc incidentdoc.Config
	// GDoc keeps incident documents as Google Docs (DATASEV_GDOC_*) when
	// its folder is set; then it takes the place of IncidentDoc.
	GDoc gdoc.Config
	// Statuspage configures the public status page (DATASEV_STATUSPAGE_*);
	// zero when unset, and publishing then fails as not configured.
	Statuspage statuspage.Config
	// Email configures the leadership email backend (DATASEV_SMTP_*,
	// DATASEV_EMAIL_*); zero when DATASEV_SMTP_HOST is unset.
	Email email.Config
	// PagerDuty pages through PagerDuty's Events API v2
	// (DATASEV_PAGERDUTY_ROUTING_KEY, DATASEV_PAGERDUTY_SEV<n>_ROUTING_KEY,
	// DATASEV_PAGERDUTY_EVENTS_*); zero when no routing key is set.
	PagerDuty pagerdutyact.Config
	// Pacing paces the pages to one person and the posts to one incident
	// channel (DATASEV_NOTIFY_*; see notify.Coalescer). LoadConfig turns
	// it on with the defaults; nil delivers every notification at once.
	Pacing *notify.CoalesceOptions
	// OnCall says where who-is-on-call comes from (DATASEV_ONCALL_SOURCE,
	// DATASEV_PAGERDUTY_API_*): the roster with its overrides, or
	// PagerDuty's schedules.
	OnCall oncallact.Config
	// AutoRemediationOff is the kill switch of automatic approvals by
	// runbook policies (DATASEV_AUTO_REMEDIATION=off).
	AutoRemediationOff bool
	// Roster maps roster people to Slack users for the Slack backend
	// (DATASEV_ROSTER). Nil when no roster file is given.
	Roster *oncall.Roster
	// SealKey seals the messages between an incident and its runbook
	// (DATASEV_SEAL_KEY_FILE; Run reads or creates DefaultSealKeyFile when
	// it is unset). Nil makes New use a key of its own for the process,
	// which is only right for tests.
	SealKey []byte
	// Keyring encrypts payloads (DATASEV_CODEC_*); nil leaves them plain.
	// LoadConfig also sets Client's data and failure converters from it.
	Keyring *codec.Keyring
	// Tuning: concurrency and pollers (DATASEV_WORKER_*); zero keeps the
	// SDK's defaults.
	MaxActivities, MaxWorkflowTasks, ActivityPollers, WorkflowPollers int
	// StickyCacheSize is the workflows the process keeps cached
	// (DATASEV_WORKER_STICKY_CACHE); Run sets it, process-wide, before the
	// worker is made. Zero keeps the SDK's default.
	StickyCacheSize int
	// StickyTimeout is the sticky queue's schedule-to-start timeout
	// (DATASEV_WORKER_STICKY_TIMEOUT); zero keeps the SDK's, 5s.
	StickyTimeout time.Duration
	// MetricsAddr is where Run serves GET /metrics (DATASEV_METRICS_ADDR);
	// "" for no endpoint.
	MetricsAddr string
	// Metrics, when set, records the action and notification metrics
	// through a worker interceptor; its SDKHandler belongs in
	// Client.MetricsHandler. Run builds it when MetricsAddr is set.
	Metrics *metrics.Metrics
}

// LoadConfig reads the configuration. The DATASEV_* variables come from
// getenv; the Temporal client options come from envconfig, which reads the
// process environment and config file itself.
func LoadConfig(getenv func(string) string) (Config, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return Config{}, fmt.Errorf("temporal client config: %w", err)
	}
	cfg := Config{
		Client:      opts,
		TaskQueue:   strings.TrimSpace(getenv(EnvTaskQueue)),
		LogFormat:   strings.ToLower(strings.TrimSpace(getenv(EnvLogFormat))),
		StopTimeout: DefaultStopTimeout,
		Runbooks:    strings.TrimSpace(getenv(EnvRunbooks)),
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.TaskQueue
	}
	for _, t := range []struct {
		name string
		dst  *int
	}{
		{EnvMaxActivities, &cfg.MaxActivities}, {EnvMaxWorkflowTasks, &cfg.MaxWorkflowTasks},
		{EnvActivityPollers, &cfg.ActivityPollers}, {EnvWorkflowPollers, &cfg.WorkflowPollers},
	} {
		if v := strings.TrimSpace(getenv(t.name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return Config{}, fmt.Errorf("%s=%q: want a whole number of at least 1", t.name, v)
			}
			*t.dst = n
		}
	}
	if v := strings.TrimSpace(getenv(EnvStopTimeout)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Config{}, fmt.Errorf("%s=%q: want a duration such as 30s", EnvStopTimeout, v)
		}
		cfg.StopTimeout = d
	}
	if v := strings.TrimSpace(getenv(EnvStickyCache)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Config{}, fmt.Errorf("%s=%q: want a whole number of workflows, 0 or more (0: the SDK's default, 10000)", EnvStickyCache, v)
		}
		cfg.StickyCacheSize = n
	}
	if v := strings.TrimSpace(getenv(EnvStickyTimeout)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return Config{}, fmt.Errorf("%s=%q: want a duration of at least 1s, such as 30s", EnvStickyTimeout, v)
		}
		cfg.StickyTimeout = d
	}
	if cfg.MetricsAddr = strings.TrimSpace(getenv(EnvMetricsAddr)); cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			return Config{}, fmt.Errorf("%s=%q: want host:port, e.g. 127.0.0.1:9464: %w", EnvMetricsAddr, cfg.MetricsAddr, err)
		}
	}
	if cfg.Snowflake, err = snowflake.LoadConfig(getenv); err != nil {
		return Config{}, fmt.Errorf("snowflake config: %w", err)
	}
	if cfg.S3, err = s3act.ConfigFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if cfg.GitHub, err = ghact.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("github config: %w", err)
	}
	if cfg.Airflow, err = airflow.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("airflow config: %w", err)
	}
	if cfg.DBTCloud, err = dbtcloud.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("dbt Cloud config: %w", err)
	}
	if cfg.Targets, err = target.FromEnv(getenv); err != nil {
		return Config{}, err
	}
	if cfg.Lineage, err = lineage.CacheOptionsFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("lineage config: %w", err)
	}
	if cfg.Slack, err = slackact.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("slack config: %w", err)
	}
	if cfg.ConsumerChannels, err = slackact.ConsumerChannelsFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("slack config: %w", err)
	}
	if cfg.Postmortem, err = postmortem.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("postmortem config: %w", err)
	}
	if cfg.IncidentDoc, err = incidentdoc.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("incident document config: %w", err)
	}
	if cfg.IncidentDoc.Repo != "" && !cfg.GitHub.Configured() {
		return Config{}, fmt.Errorf("%s=%s keeps incident documents as GitHub issues, but GitHub is not configured (DATASEV_GITHUB_TOKEN or DATASEV_GITHUB_APP_*)", incidentdoc.EnvRepo, cfg.IncidentDoc.Repo)
	}
	if cfg.GDoc, err = loadGDoc(getenv, cfg); err != nil {
		return Config{}, err
	}
	if cfg.Statuspage, err = statuspage.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("statuspage config: %w", err)
	}
	if cfg.Email, err = email.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("email config: %w", err)
	}
	if cfg.PagerDuty, err = pagerdutyact.ConfigFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if pacing, on, err := notify.CoalesceOptionsFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("notification pacing: %w", err)
	} else if on {
		cfg.Pacing = &pacing
	}
	if cfg.OnCall, err = oncallact.ConfigFromEnv(getenv); err != nil {
		return Config{}, fmt.Errorf("on-call config: %w", err)
	}
	if cfg.AutoRemediationOff, err = autobudget.OffFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if p := strings.TrimSpace(getenv(EnvRoster)); p != "" {
		r, err := oncall.Load(p)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", EnvRoster, err)
		}
		cfg.Roster = &r
	} else if cfg.Slack.Configured() {
		return Config{}, fmt.Errorf("slack is configured but %s is not set: the Slack backend needs the roster to find people's Slack IDs", EnvRoster)
	}
	// Without DATASEV_SEAL_KEY_FILE, Run makes (or reads) the default
	// file; loading a configuration writes nothing.
	if sealFile := strings.TrimSpace(getenv(EnvSealKeyFile)); sealFile != "" {
		if cfg.SealKey, err = seal.LoadOrCreateKey(sealFile); err != nil {
			return Config{}, fmt.Errorf("%s: %w", EnvSealKeyFile, err)
		}
	}
	k, on, err := codec.KeyringFromEnv(getenv)
	if err != nil {
		return Config{}, fmt.Errorf("payload encryption: %w", err)
	}
	if on {
		cfg.Keyring = k
		cfg.Client.DataConverter = codec.DataConverter(k)
		cfg.Client.FailureConverter = codec.FailureConverter(k)
	}
	switch cfg.LogFormat {
	case "":
		cfg.LogFormat = "text"
	case "text", "json":
	default:
		return Config{}, fmt.Errorf("%s=%q: want text or json", EnvLogFormat, getenv(EnvLogFormat))
	}
	if v := strings.TrimSpace(getenv(EnvLogLevel)); v != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, fmt.Errorf("%s=%q: want debug, info, warn or error", EnvLogLevel, v)
		}
	}
	return cfg, nil
}

// Address is the Temporal address the client dials.
func (c Config) Address() string {
	if c.Client.HostPort != "" {
		return c.Client.HostPort
	}
	return client.DefaultHostPort
}

// Namespace is the Temporal namespace the worker polls in.
func (c Config) Namespace() string {
	if c.Client.Namespace != "" {
		return c.Client.Namespace
	}
	return client.DefaultNamespace
}

// sealer returns the sealing activities for key, or for a key made up for
// this process when there is none.
func sealer(key []byte, logger *slog.Logger) *seal.Activities {
	if key == nil {
		key = make([]byte, seal.KeySize)
		_, _ = rand.Read(key)
		logger.Warn("no sealing key configured: using one for this process only; runbooks will not survive a restart (set " + EnvSealKeyFile + ")")
	}
	a, err := seal.New(key)
	if err != nil { // LoadConfig checked the size
		panic(err)
	}
	return a
}

// NewLogger returns the structured logger cfg asks for, writing to w.
func NewLogger(w io.Writer, cfg Config) *slog.Logger {
	ho := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// New returns a worker, not yet started, polling cfg.TaskQueue with the
// incident workflow, the notifier activities and the runbook actions
// registered.
func New(c client.Client, cfg Config, logger *slog.Logger) worker.Worker {
	taskQueue := cfg.TaskQueue
	if taskQueue == "" {
		taskQueue = workflows.TaskQueue
	}
	sb := slackBackend(cfg, logger)
	backend := notifier(cfg, sb, logger)
	w := worker.New(c, taskQueue, workerOptions(cfg, backend))
	registry.Register(w)
	deps := actionDeps(cfg, sb, logger)
	logTargets(cfg.Targets, logger)
	actions.New(deps).RegisterWith(w)
	registerLifecycle(w, cfg, backend, deps.GitHub, logger)
	// Automatic approvals: the per-policy budget workflow and its activity.
	autobudget.Register(w, &autobudget.Activities{Client: c, TaskQueue: taskQueue, Off: cfg.AutoRemediationOff})
	// Who is on call (roster, overrides, PagerDuty) and the teams' on-call stores.
	oncallact.Register(w, &oncallact.Activities{Config: cfg.OnCall, Roster: cfg.Roster, Overrides: oncallact.StoreReader(c), Logger: logger})
	// Follow-ups of closed incidents' action items (datasev show).
	followup.Register(w, &followup.Activities{Client: c, GitHub: deps.GitHub, Jira: jiraFiler(cfg)})
	return w
}

// jiraFiler files action items in Jira and reads their states, when
// DATASEV_JIRA_* is set; nil otherwise.
func jiraFiler(cfg Config) *jira.Filer {
	if !cfg.Postmortem.Jira.Configured() {
		return nil
	}
	return &jira.Filer{Client: jira.New(cfg.Postmortem.Jira, &http.Client{Timeout: ActionHTTPTimeout})}
}

// workerOptions are the worker's tuning knobs and its metrics interceptor.
func workerOptions(cfg Config, backend notify.Backend) worker.Options {
	opts := worker.Options{
		WorkerStopTimeout:                      cfg.StopTimeout,
		MaxConcurrentActivityExecutionSize:     cfg.MaxActivities,
		MaxConcurrentWorkflowTaskExecutionSize: cfg.MaxWorkflowTasks,
		MaxConcurrentActivityTaskPollers:       cfg.ActivityPollers,
		MaxConcurrentWorkflowTaskPollers:       cfg.WorkflowPollers,
		StickyScheduleToStartTimeout:           cfg.StickyTimeout,
	}
	if cfg.Metrics != nil {
		opts.Interceptors = append(opts.Interceptors, cfg.Metrics.Interceptor(backend.Name()))
	}
	return opts
}

// actionDeps makes the clients the runbook actions use. A client that
// cannot be made is logged and left nil: its actions fail, saying so,
// until it is configured.
func actionDeps(cfg Config, sb *slackact.Backend, logger *slog.Logger) actions.Deps {
	s3c, err := s3act.NewClient(context.Background(), cfg.S3)
	if err != nil {
		logger.Error("no S3 client: the s3.* actions will fail until it is configured", slog.Any("error", err))
	}
	var sfDB *sql.DB
	if cfg.Snowflake.Configured() {
		if sfDB, err = snowflake.Open(cfg.Snowflake); err != nil {
			logger.Error("no Snowflake connection: the snowflake.* actions will fail until it is configured", slog.Any("error", err))
		} else {
			logger.Info("snowflake configured", slog.Any("snowflake", cfg.Snowflake))
		}
	}
	var gh *github.Client
	if cfg.GitHub.Configured() {
		if gh, err = ghact.NewClient(cfg.GitHub, nil); err != nil {
			logger.Error("no GitHub client: the github.* actions will fail until it is configured", slog.Any("error", err))
		} else {
			logger.Info("github configured", slog.String("github", cfg.GitHub.String()))
		}
	}
	var af *airflow.Client
	if cfg.Airflow.URL != "" {
		if af, err = airflow.NewClient(cfg.Airflow, &http.Client{Timeout: ActionHTTPTimeout}); err != nil {
			logger.Error("no Airflow client: the airflow.* actions will fail until it is configured", slog.Any("error", err))
		} else {
			logger.Info("airflow configured", slog.String("airflow", cfg.Airflow.String()))
		}
	}
	return actions.Deps{
		Targets:           cfg.Targets,
		SnowflakeDatabase: cfg.Snowflake.Database,
		HTTPClient:        &http.Client{Timeout: ActionHTTPTimeout},
		S3:                s3c,
		Snowflake:         sfDB,
		GitHub:            gh,
		GitHubConfig:      cfg.GitHub,
		Airflow:           af,
		DBTCloud:          dbtCloudClient(cfg.DBTCloud, logger),
		Lineage:           cfg.Lineage,
		Slack:             slackClient(sb),
		ConsumerChannels:  cfg.ConsumerChannels,
		Logger:            logger,
	}
}

// logTargets logs the target policy, or warns that there is none.
func logTargets(p *target.Policy, logger *slog.Logger) {
	if !p.Configured() {
		logger.Warn("no target policy: remediations will refuse to run; set the targets section of the config file or DATASEV_TARGETS_*")
		return
	}
	var attrs []any
	for _, k := range target.Keys {
		if v := p.List(k); len(v) > 0 {
			attrs = append(attrs, slog.String(strings.TrimPrefix(k, "targets."), strings.Join(v, ",")))
		}
	}
	logger.Info("target policy", slog.Group("targets", attrs...))
}

// registerLifecycle registers the activities the incident workflow calls
// itself: notifications, seals, the postmortem and its action items, the
// status page and the incident document.
func registerLifecycle(w worker.Worker, cfg Config, backend notify.Backend, gh *github.Client, logger *slog.Logger) {
	notify.Register(w, &notify.Activities{Backend: backend})
	seal.Register(w, sealer(cfg.SealKey, logger))
	pmcfg := cfg.Postmortem
	if pmcfg.Dir == "" {
		pmcfg.Dir = postmortem.DefaultDir
	}
	postmortem.Register(w, postmortem.New(pmcfg, logger))
	// Public wording goes to the status page once the Liaison or the
	// Commander sends it.
	statuspage.Register(w, &statuspage.Activities{Client: statuspage.New(cfg.Statuspage)})
	// Action items become issues in the configured repository at closure.
	postmortem.RegisterIssues(w, &postmortem.Issues{GitHub: ghact.New(gh, cfg.GitHub), Repo: cfg.Postmortem.IssuesRepo, Jira: jiraFiler(cfg)})
	// The incident document: a GitHub issue, or a Markdown file.
	doccfg := cfg.IncidentDoc
	if doccfg.Dir == "" {
		doccfg.Dir = incidentdoc.DefaultDir
	}
	var docGH *ghact.Actions
	if gh != nil {
		docGH = ghact.New(gh, cfg.GitHub)
	}
	docs, err := incidentdoc.New(doccfg, docGH, logger)
	if err != nil {
		logger.Error("incident documents fall back to Markdown files", slog.Any("error", err))
		doccfg.Repo = ""
		docs, _ = incidentdoc.New(doccfg, nil, logger)
	}
	// A Google Doc instead, when configured (DATASEV_GDOC_FOLDER_ID).
	if !registerGoogleDoc(w, cfg, logger) {
		incidentdoc.Register(w, docs)
	}
}

// slackClient is sb's Web API client, or nil.
func slackClient(sb *slackact.Backend) *slack.Client {
	if sb == nil {
		return nil
	}
	return sb.Client()
}

// slackBackend is the Slack notifier backend when Slack is configured,
// else nil.
func slackBackend(cfg Config, logger *slog.Logger) *slackact.Backend {
	if !cfg.Slack.Configured() {
		return nil
	}
	var roster oncall.Roster
	if cfg.Roster != nil {
		roster = *cfg.Roster
	}
	sb, err := slackact.NewBackend(cfg.Slack, roster, logger)
	if err != nil {
		logger.Error("no Slack backend: notifications skip Slack", slog.Any("error", err))
		return nil
	}
	logger.Info("slack notifications on")
	return sb
}

// notifier is the notifier's backend: the structured log, plus Slack (sb,
// when not nil) and leadership email where they are configured, fanned
// out.
func notifier(cfg Config, sb *slackact.Backend, logger *slog.Logger) notify.Backend {
	backends := []notify.Backend{notify.LogBackend{Logger: logger}}
	var roster oncall.Roster
	if cfg.Roster != nil {
		roster = *cfg.Roster
	}
	if sb != nil {
		backends = append(backends, sb)
	}
	if cfg.Email.Configured() {
		if sender, err := email.NewSender(cfg.Email, nil); err != nil {
			logger.Error("no email backend: notifications skip email", slog.Any("error", err))
		} else {
			logger.Info("email notifications on (leadership by severity)")
			backends = append(backends, email.NewLeadershipBackend(sender, roster, logger))
		}
	}
	if cfg.PagerDuty.Configured() {
		if pdb, err := pagerdutyact.New(cfg.PagerDuty, nil, logger); err != nil {
			logger.Error("no PagerDuty backend: pages skip PagerDuty", slog.Any("error", err))
		} else {
			logger.Info("pagerduty paging on", slog.String("routing", cfg.PagerDuty.String()))
			backends = append(backends, pdb)
		}
	}
	var backend notify.Backend = notify.NewFanout(backends...)
	if len(backends) == 1 {
		backend = backends[0]
	}
	return paced(cfg, backend, logger)
}

// paced puts backend behind the pacing cfg.Pacing asks for, exporting its
// counters when cfg.Metrics is set. The posts leadership is emailed about
// are never batched: the email backend reads their subjects.
func paced(cfg Config, backend notify.Backend, logger *slog.Logger) notify.Backend {
	if cfg.Pacing == nil {
		return backend
	}
	opts := *cfg.Pacing
	// Nor are the acknowledgement and resolution posts, which the
	// PagerDuty backend reads.
	opts.Exempt = func(n workflows.Notification) bool { return email.IsLeadership(n) || pagerdutyact.IsLifecycle(n) }
	opts.Logger = logger
	c, err := notify.NewCoalescer(backend, opts)
	if err != nil {
		logger.Error("notifications are not paced", slog.Any("error", err))
		return backend
	}
	logger.Info("notification pacing on (per worker)", slog.String("pacing", opts.String()))
	if cfg.Metrics != nil {
		err := cfg.Metrics.RegisterPacing(func() metrics.PacingStats {
			s := c.Stats()
			return metrics.PacingStats{Direct: s.Direct, Held: s.Coalesced, Digests: s.Digests}
		})
		if err != nil {
			logger.Warn("notification pacing metrics not exported", slog.Any("error", err))
		}
	}
	return c
}

// Run loads the configuration, connects to Temporal and runs the worker
// until ctx is cancelled, then stops it gracefully and returns nil. It
// returns an error when the configuration is invalid, the server cannot be
// reached, or the worker fails (for example an unknown namespace).
func Run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	// The configuration file (DATASEV_CONFIG), under the environment.
	file, err := config.LoadFromEnv(getenv)
	if err != nil {
		return err
	}
	getenv = file.Getenv(getenv)
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.SealKey == nil {
		if cfg.SealKey, err = seal.LoadOrCreateKey(DefaultSealKeyFile); err != nil {
			return fmt.Errorf("%s (unset, so %s): %w", EnvSealKeyFile, DefaultSealKeyFile, err)
		}
	}
	// The Temporal settings through the same lookup, so that the file's
	// TEMPORAL_* apply too; keep LoadConfig's payload converters.
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: config.EnvLookup{Getenv: getenv, File: file}})
	if err != nil {
		return fmt.Errorf("temporal client config: %w", err)
	}
	opts.DataConverter, opts.FailureConverter = cfg.Client.DataConverter, cfg.Client.FailureConverter
	cfg.Client = opts
	logger := NewLogger(stderr, cfg)
	set, err := LoadRunbooks(cfg.Runbooks)
	if err != nil {
		return err
	}
	for _, o := range set.OtherFiles() {
		// A file with no runbook field at all is left out: say so, so a
		// runbook whose every key is misspelt does not vanish unnoticed.
		logger.Warn("skipped a YAML file in the runbook directory: not a runbook", "file", o.File, "keys", strings.Join(o.Keys, ", "))
	}
	if _, err := s3act.NewClient(ctx, cfg.S3); err != nil {
		return fmt.Errorf("S3 client (DATASEV_S3_*, AWS_*): %w", err)
	}
	if cfg.GitHub.Configured() {
		if _, err := ghact.NewClient(cfg.GitHub, nil); err != nil {
			return fmt.Errorf("GitHub client (DATASEV_GITHUB_*): %w", err)
		}
	}
	if cfg.Airflow.URL != "" {
		if _, err := airflow.NewClient(cfg.Airflow, nil); err != nil {
			return fmt.Errorf("Airflow client (DATASEV_AIRFLOW_*): %w", err)
		}
	}
	if cfg.Slack.Configured() {
		if _, err := slackact.NewBackend(cfg.Slack, *cfg.Roster, logger); err != nil {
			return fmt.Errorf("Slack backend (DATASEV_SLACK_*): %w", err)
		}
	}
	logger.Info("runbooks loaded", slog.Int("count", set.Len()), slog.String("dir", cfg.Runbooks))
	// The sticky cache is the process's, shared by its workers and made
	// with the first: size it once, before any.
	if cfg.StickyCacheSize > 0 {
		setStickyCacheSize(cfg.StickyCacheSize)
		logger.Info("sticky cache sized", slog.Int("workflows", cfg.StickyCacheSize))
	}
	if cfg.Client.Logger == nil {
		cfg.Client.Logger = log.NewStructuredLogger(logger)
	}
	var endpoint *metrics.Server
	if cfg.MetricsAddr != "" {
		srv, stop, err := serveMetrics(&cfg, logger)
		if err != nil {
			return err
		}
		defer stop()
		endpoint = srv
	}

	c, err := client.DialContext(ctx, cfg.Client)
	if err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop before we were connected
		}
		return fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w; start it with `go run ./starter/dev` or set TEMPORAL_ADDRESS",
			cfg.Address(), cfg.Namespace(), err)
	}
	defer c.Close()
	if endpoint != nil {
		// Ready while Temporal answers this worker's client.
		endpoint.SetReady(func(ctx context.Context) error {
			_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		})
	}

	w := New(c, cfg, logger)
	interrupt := make(chan any)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			close(interrupt)
		case <-done:
		}
	}()

	logger.Info("datasev worker starting",
		slog.String("address", cfg.Address()),
		slog.String("namespace", cfg.Namespace()),
		slog.String("task_queue", cfg.TaskQueue))
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("datasev worker on %s (namespace %s, task queue %s): %w",
			cfg.Address(), cfg.Namespace(), cfg.TaskQueue, err)
	}
	logger.Info("datasev worker stopped")
	return nil
}

// serveMetrics builds cfg.Metrics, reports the client's SDK metrics to it
// and serves it on cfg.MetricsAddr. stop closes the endpoint; call it after
// the worker has stopped.
func serveMetrics(cfg *Config, logger *slog.Logger) (srv *metrics.Server, stop func(), err error) {
	if cfg.Metrics == nil {
		if cfg.Metrics, err = metrics.New(logger); err != nil {
			return nil, nil, err
		}
	}
	if cfg.Client.MetricsHandler == nil {
		cfg.Client.MetricsHandler = cfg.Metrics.SDKHandler()
	}
	srv, err = metrics.Listen(cfg.MetricsAddr, cfg.Metrics, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", EnvMetricsAddr, err)
	}
	logger.Info("metrics endpoint", slog.String("url", srv.URL()))
	m := cfg.Metrics
	return srv, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			logger.Warn("metrics endpoint did not close cleanly", slog.Any("error", err))
		}
		if err := m.Shutdown(ctx); err != nil {
			logger.Warn("metrics shutdown", slog.Any("error", err))
		}
	}, nil
}

// LoadRunbooks loads the embedded runbook library and the operator's
// directory and validates them against the registered actions. The worker
// refuses to start on any problem: a runbook that cannot run should fail at
// deploy time, not at 3 a.m.
func LoadRunbooks(dir string) (*runbooks.Set, error) {
	set, err := runbooks.Load(dir)
	if err == nil {
		err = runbooks.Validate(set, actions.DefaultCatalog())
	}
	if err != nil {
		return nil, fmt.Errorf("the runbooks are invalid, so the worker will not start (check them with `datasev runbooks validate`):\n%w", err)
	}
	return set, nil
}
