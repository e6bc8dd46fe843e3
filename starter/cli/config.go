package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/datasev/datasev/activities/actions/airflow"
	ghact "github.com/datasev/datasev/activities/actions/github"
	"github.com/datasev/datasev/activities/actions/lineage"
	s3act "github.com/datasev/datasev/activities/actions/s3"
	"github.com/datasev/datasev/activities/actions/snowflake"
	"github.com/datasev/datasev/activities/lifecycle/postmortem"
	"github.com/datasev/datasev/activities/lifecycle/statuspage"
	"github.com/datasev/datasev/activities/notifiers/email"
	slackact "github.com/datasev/datasev/activities/notifiers/slack"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/worker/codec"
	"github.com/datasev/datasev/worker/config"
	"github.com/datasev/datasev/worker/service"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

const configUsage = "check [--connect]"

// Statuses of a `config check` line.
const (
	checkOK    = "ok"
	checkOff   = "off"
	checkError = "error"
)

// checkLine is one part's verdict: never a secret, only where it came from.
type checkLine struct{ part, status, detail string }

// runConfig runs `datasev config check [--connect]`: it loads the file
// DATASEV_CONFIG names under the environment, checks every part with the
// part's own loader and prints a line each. Any part in error fails the
// command (exit 1); parts that are off do not.
func runConfig(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "config", configUsage)
	connect := fs.Bool("connect", false, "also dial Temporal and check the namespace and datasev's search attributes")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "check" {
		return usagef("usage: datasev config %s", configUsage)
	}
	lines := checkConfig(e.getenv)
	failed := false
	for _, l := range lines {
		if l.status == checkError {
			failed = true
		}
	}
	if *connect {
		if failed {
			lines = append(lines, checkLine{"connect", checkOff, "not tried: fix the errors above first"})
		} else {
			l := checkConnect(ctx, e)
			failed = l.status == checkError
			lines = append(lines, l)
		}
	}
	printChecks(e.stdout, lines)
	if failed {
		return errors.New("the configuration has errors (see the lines marked error)")
	}
	return nil
}

func printChecks(w io.Writer, lines []checkLine) {
	for _, l := range lines {
		fmt.Fprintf(w, "%-10s %-8s %s\n", l.part, l.status, oneLine(l.detail))
	}
}

// fromWhere says where a secret NAME came from: its file or the
// environment (never its value).
func fromWhere(getenv func(string) string, name string) string {
	if strings.TrimSpace(getenv(name+"_FILE")) != "" {
		return "from file"
	}
	return "from environment"
}

// checkConfig checks every part through getenv (the environment over the
// file, when DATASEV_CONFIG names one).
func checkConfig(getenv func(string) string) []checkLine {
	// The file itself. Run has already merged it into getenv; it is loaded
	// again here to report on it (DATASEV_CONFIG cannot be set in the file).
	f, err := config.LoadFromEnv(getenv)
	var out []checkLine
	switch {
	case err != nil:
		return []checkLine{failed("config", err)}
	case f == nil:
		out = append(out, line("config", checkOff, "environment only; set %s to read a file", config.EnvConfig))
	default:
		out = append(out, line("config", checkOK, "%s (%d settings; the environment overrides them)", f.Path, len(f.Names())))
		getenv = f.Getenv(getenv)
	}
	out = append(out, checkTemporal(f, getenv), checkWorker(getenv))
	// What the actions may touch.
	out = append(out, targetChecks(getenv)...)
	out = append(out, checkRoster(getenv),
		keyCheck(getenv), // the key the CLI signs acts with
		checkRunbooks(getenv))
	// The integrations, then the front doors, in the order `config check`
	// has always printed them.
	for _, check := range []func(func(string) string) checkLine{
		checkS3, checkSnowflake, checkGitHub, checkAirflow, checkLineage, checkSlack, checkEmail,
		checkPostmortem, checkStatuspage, checkCodec, checkIntake, checkSlackApp,
	} {
		out = append(out, check(getenv))
	}
	return out
}

// line is one line of config check's report.
func line(part, status, format string, args ...any) checkLine {
	return checkLine{part, status, fmt.Sprintf(format, args...)}
}

// failed is a part's error line.
func failed(part string, err error) checkLine { return line(part, checkError, "%v", err) }

// Temporal, as the worker and the CLI load it.
func checkTemporal(f *config.File, getenv func(string) string) checkLine {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: config.EnvLookup{Getenv: getenv, File: f}})
	if err != nil {
		return failed("temporal", err)
	}
	addr, ns := opts.HostPort, opts.Namespace
	if addr == "" {
		addr = "127.0.0.1:7233"
	}
	if ns == "" {
		ns = "default"
	}
	tls := "TLS off"
	if opts.ConnectionOptions.TLS != nil {
		tls = "TLS on"
	}
	auth := ""
	if opts.Credentials != nil {
		auth = ", API key from environment"
	}
	return line("temporal", checkOK, "%s namespace %s (%s%s)", addr, ns, tls, auth)
}

// The worker as a whole: what service.LoadConfig accepts is what the
// worker starts with.
func checkWorker(getenv func(string) string) checkLine {
	cfg, err := service.LoadConfig(getenv)
	if err != nil {
		return line("worker", checkError, "the worker would not start: %v", err)
	}
	metrics := "metrics off"
	if cfg.MetricsAddr != "" {
		metrics = "metrics on " + cfg.MetricsAddr
	}
	return line("worker", checkOK, "task queue %s, log %s/%s, %s", cfg.TaskQueue, cfg.LogFormat, strings.ToLower(cfg.LogLevel.String()), metrics)
}

// checkRoster reports on the roster file.
func checkRoster(getenv func(string) string) checkLine {
	p := strings.TrimSpace(getenv(EnvRoster))
	if p == "" {
		return line("roster", checkOff, "set %s (required with Slack)", EnvRoster)
	}
	r, err := oncall.Load(p)
	if err != nil {
		return failed("roster", fmt.Errorf("%s: %w", EnvRoster, err))
	}
	return line("roster", checkOK, "%s (team %s)", p, r.Team)
}

// checkRunbooks reports on the runbooks the worker loads.
func checkRunbooks(getenv func(string) string) checkLine {
	dir := strings.TrimSpace(getenv(EnvRunbooks))
	set, err := service.LoadRunbooks(dir)
	if err != nil {
		return failed("runbooks", err)
	}
	if dir == "" {
		return line("runbooks", checkOK, "%d runbooks (embedded library)", set.Len())
	}
	return line("runbooks", checkOK, "%d runbooks (embedded library + %s)", set.Len(), dir)
}

// checkS3 reports on the S3 client.
func checkS3(getenv func(string) string) checkLine {
	c, err := s3act.ConfigFromEnv(getenv)
	if err != nil {
		return failed("s3", err)
	}
	where := "AWS"
	if c.Endpoint != "" {
		where = c.Endpoint
	}
	region := c.Region
	if region == "" {
		region = "from the AWS chain"
	}
	return line("s3", checkOK, "%s, region %s, credentials from the AWS chain", where, region)
}

// checkSnowflake reports on the Snowflake connection.
func checkSnowflake(getenv func(string) string) checkLine {
	c, err := snowflake.LoadConfig(getenv)
	if err != nil {
		return failed("snowflake", err)
	}
	if !c.Configured() {
		return line("snowflake", checkOff, "set %s to enable", snowflake.EnvAccount)
	}
	return line("snowflake", checkOK, "%s", c.String())
}

// checkGitHub reports on the GitHub client.
func checkGitHub(getenv func(string) string) checkLine {
	c, err := ghact.ConfigFromEnv(getenv)
	if err != nil {
		return failed("github", err)
	}
	if !c.Configured() {
		return line("github", checkOff, "set %s (or the App variables) to enable", ghact.EnvTokenFile)
	}
	if c.Token != "" {
		return line("github", checkOK, "token %s, %s", fromWhere(getenv, ghact.EnvToken), c.String())
	}
	return line("github", checkOK, "%s", c.String())
}

// checkAirflow reports on the Airflow client.
func checkAirflow(getenv func(string) string) checkLine {
	c, err := airflow.ConfigFromEnv(getenv)
	if err != nil {
		return failed("airflow", err)
	}
	if c.URL == "" {
		return line("airflow", checkOff, "set %s to enable", airflow.EnvURL)
	}
	return line("airflow", checkOK, "%s", c.String())
}

// checkLineage reports on the lineage source in use (DATASEV_LINEAGE_SOURCE:
// dbt manifests or Marquez, described without its API key) and the
// manifest cache.
func checkLineage(getenv func(string) string) checkLine {
	c, err := lineage.CacheOptionsFromEnv(getenv)
	if err != nil {
		return failed("lineage", err)
	}
	if c.Entries == 0 {
		c.Entries = lineage.DefaultCacheEntries
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = lineage.DefaultMaxBytes
	}
	return line("lineage", checkOK, "source %s; manifest cache %d entries, manifests up to %d bytes", c.Source, c.Entries, c.MaxBytes)
}

// checkSlack reports on the Slack notifier.
func checkSlack(getenv func(string) string) checkLine {
	c, err := slackact.ConfigFromEnv(getenv)
	if err != nil {
		return failed("slack", err)
	}
	if !c.Configured() {
		return line("slack", checkOff, "set %s to enable notifications", slackact.EnvBotTokenFile)
	} else {
		detail := "bot token " + fromWhere(getenv, slackact.EnvBotToken)
		if c.BroadcastChannel != "" {
			detail += ", broadcast #" + strings.TrimPrefix(c.BroadcastChannel, "#")
		}
		if strings.TrimSpace(getenv(EnvRoster)) == "" {
			return failed("slack", fmt.Errorf("%s, but %s is not set: the Slack backend needs the roster", detail, EnvRoster))
		} else {
			return line("slack", checkOK, "%s", detail)
		}
	}
}

// checkEmail reports on leadership e-mail.
func checkEmail(getenv func(string) string) checkLine {
	c, err := email.ConfigFromEnv(getenv)
	if err != nil {
		return failed("email", err)
	}
	if !c.Configured() {
		return line("email", checkOff, "set %s to enable leadership email", email.EnvHost)
	} else {
		pw := ""
		if c.Password != "" {
			pw = ", password " + fromWhere(getenv, email.EnvPassword)
		}
		return line("email", checkOK, "smtp %s:%d from %s, %d leadership severities%s", c.Host, c.Port, c.From, len(c.Leadership), pw)
	}
}

// checkPostmortem reports on where postmortems are written.
func checkPostmortem(getenv func(string) string) checkLine {
	c, err := postmortem.ConfigFromEnv(getenv)
	if err != nil {
		return failed("postmortem", err)
	}
	return line("postmortem", checkOK, "written to %s", c.Dir)
}

// checkStatuspage reports on the status page.
func checkStatuspage(getenv func(string) string) checkLine {
	c, err := statuspage.ConfigFromEnv(getenv)
	if err != nil {
		return failed("statuspage", err)
	}
	if !c.Configured() {
		return line("statuspage", checkOff, "set %s and %s to enable", statuspage.EnvPageID, statuspage.EnvAPIKeyFile)
	}
	return line("statuspage", checkOK, "page %s, API key %s, %d components", c.PageID, fromWhere(getenv, statuspage.EnvAPIKey), len(c.Components))
}

// checkCodec reports on payload encryption and the codec endpoint.
func checkCodec(getenv func(string) string) checkLine {
	k, on, err := codec.KeyringFromEnv(getenv)
	if err != nil {
		return failed("codec", fmt.Errorf("payload encryption: %w", err))
	}
	h, err := codec.HandlerOptionsFromEnv(getenv)
	if err != nil {
		return failed("codec", fmt.Errorf("codec endpoint: %w", err))
	} else {
		status, detail := checkOff, "payloads plain; set "+codec.EnvKeysFile+" to encrypt"
		if on {
			status, detail = checkOK, fmt.Sprintf("payloads encrypted, active key %s of %d", k.Active(), len(k.IDs()))
		}
		switch {
		case h.AuthToken != "":
			detail += ", endpoint token " + fromWhere(getenv, codec.EnvAuthToken)
		case h.AllowUnauthenticated:
			detail += ", endpoint unauthenticated (development only)"
		}
		return line("codec", status, "%s", detail)
	}
}

// checkIntake reports on the alert intake's sources.
func checkIntake(getenv func(string) string) checkLine {
	a, err := intake.AuthFromEnv(getenv)
	if err != nil {
		return failed("intake", err)
	}
	var on []string
	for _, s := range []struct {
		name, secret string
	}{
		{"alertmanager", a.AlertmanagerToken}, {"generic", a.GenericToken},
		{"dbt-cloud", a.DBTCloudSecret}, {"pagerduty", a.PagerDutySecret},
	} {
		if s.secret != "" {
			on = append(on, s.name)
		}
	}
	if len(on) == 0 {
		return line("intake", checkOff, "no source secrets; set %s_FILE (and the others) to accept alerts", intake.EnvAlertmanagerToken)
	}
	return line("intake", checkOK, "authenticated sources: %s", strings.Join(on, ", "))
}

// checkSlackApp reports on the Slack app.
func checkSlackApp(getenv func(string) string) checkLine {
	c, err := slackapp.ConfigFromEnv(getenv)
	if err != nil {
		return failed("slack-app", err)
	}
	if c.SigningSecret == "" && c.AppToken == "" {
		return line("slack-app", checkOff, "set %s_FILE (HTTP) or %s_FILE (Socket Mode) to enable", slackapp.EnvSigningSecret, slackapp.EnvAppToken)
	} else {
		var modes []string
		if c.SigningSecret != "" {
			modes = append(modes, "HTTP (signing secret "+fromWhere(getenv, slackapp.EnvSigningSecret)+")")
		}
		if c.AppToken != "" {
			modes = append(modes, "Socket Mode (app token "+fromWhere(getenv, slackapp.EnvAppToken)+")")
		}
		if c.KeyFile == "" {
			return line("slack-app", checkOK, "%s; no signing key: deciding acts from Slack are refused until %s is set", strings.Join(modes, ", "), slackapp.EnvKeyFile)
		} else if s, err := incidents.LoadServiceSigner(slackapp.ServiceName, c.KeyFile); err != nil {
			return failed("slack-app", fmt.Errorf("%s: %w", slackapp.EnvKeyFile, err))
		} else {
			return line("slack-app", checkOK, "%s; acts signed as service %s with %s (the roster's trust.services lists it as %s)", strings.Join(modes, ", "), slackapp.ServiceName, s.Fingerprint(), s.PublicKey())
		}
	}
}

// checkConnect dials Temporal and checks the namespace and datasev's
// search attributes.
func checkConnect(ctx context.Context, e *env) checkLine {
	c, err := e.dial(ctx)
	if err != nil {
		return checkLine{"connect", checkError, err.Error()}
	}
	defer c.Close()
	opts, err := clientOptions(e)
	if err != nil {
		return checkLine{"connect", checkError, err.Error()}
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "default"
	}
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
		return checkLine{"connect", checkError, fmt.Sprintf("namespace %s: %v", ns, err)}
	}
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return checkLine{"connect", checkError, fmt.Sprintf("search attributes of %s: %v", ns, err)}
	}
	var missing []string
	for _, k := range workflows.SearchAttributeKeys {
		got, ok := list.GetCustomAttributes()[k.GetName()]
		if !ok || got != k.GetValueType() {
			missing = append(missing, k.GetName())
		}
	}
	if len(missing) > 0 {
		return checkLine{"connect", checkError, fmt.Sprintf("namespace %s lacks the Keyword search attributes %s (the dev stack, `go run ./starter/dev`, adds them; elsewhere: temporal operator search-attribute create)", ns, strings.Join(missing, ", "))}
	}
	return checkLine{"connect", checkOK, fmt.Sprintf("%s namespace %s, %d search attributes present", opts.HostPort, ns, len(workflows.SearchAttributeKeys))}
}
