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
	var out []checkLine
	add := func(part, status, format string, args ...any) {
		out = append(out, checkLine{part, status, fmt.Sprintf(format, args...)})
	}
	fail := func(part string, err error) { add(part, checkError, "%v", err) }

	// The file itself. Run has already merged it into getenv; it is loaded
	// again here to report on it (DATASEV_CONFIG cannot be set in the file).
	f, err := config.LoadFromEnv(getenv)
	switch {
	case err != nil:
		fail("config", err)
		return out
	case f == nil:
		add("config", checkOff, "environment only; set %s to read a file", config.EnvConfig)
	default:
		add("config", checkOK, "%s (%d settings; the environment overrides them)", f.Path, len(f.Names()))
		getenv = f.Getenv(getenv)
	}

	// Temporal, as the worker and the CLI load it.
	if opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: config.EnvLookup{Getenv: getenv, File: f}}); err != nil {
		fail("temporal", err)
	} else {
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
		add("temporal", checkOK, "%s namespace %s (%s%s)", addr, ns, tls, auth)
	}

	// The worker as a whole: what service.LoadConfig accepts is what the
	// worker starts with.
	if cfg, err := service.LoadConfig(getenv); err != nil {
		add("worker", checkError, "the worker would not start: %v", err)
	} else {
		metrics := "metrics off"
		if cfg.MetricsAddr != "" {
			metrics = "metrics on " + cfg.MetricsAddr
		}
		add("worker", checkOK, "task queue %s, log %s/%s, %s", cfg.TaskQueue, cfg.LogFormat, strings.ToLower(cfg.LogLevel.String()), metrics)
	}

	// What the actions may touch.
	out = append(out, targetChecks(getenv)...)

	if p := strings.TrimSpace(getenv(EnvRoster)); p == "" {
		add("roster", checkOff, "set %s (required with Slack)", EnvRoster)
	} else if r, err := oncall.Load(p); err != nil {
		fail("roster", fmt.Errorf("%s: %w", EnvRoster, err))
	} else {
		add("roster", checkOK, "%s (team %s)", p, r.Team)
	}

	// The key the CLI signs acts with.
	out = append(out, keyCheck(getenv))

	dir := strings.TrimSpace(getenv(EnvRunbooks))
	if set, err := service.LoadRunbooks(dir); err != nil {
		fail("runbooks", err)
	} else if dir == "" {
		add("runbooks", checkOK, "%d runbooks (embedded library)", set.Len())
	} else {
		add("runbooks", checkOK, "%d runbooks (embedded library + %s)", set.Len(), dir)
	}

	if c, err := s3act.ConfigFromEnv(getenv); err != nil {
		fail("s3", err)
	} else {
		where := "AWS"
		if c.Endpoint != "" {
			where = c.Endpoint
		}
		region := c.Region
		if region == "" {
			region = "from the AWS chain"
		}
		add("s3", checkOK, "%s, region %s, credentials from the AWS chain", where, region)
	}

	if c, err := snowflake.LoadConfig(getenv); err != nil {
		fail("snowflake", err)
	} else if !c.Configured() {
		add("snowflake", checkOff, "set %s to enable", snowflake.EnvAccount)
	} else {
		add("snowflake", checkOK, "%s", c.String())
	}

	if c, err := ghact.ConfigFromEnv(getenv); err != nil {
		fail("github", err)
	} else if !c.Configured() {
		add("github", checkOff, "set %s (or the App variables) to enable", ghact.EnvTokenFile)
	} else if c.Token != "" {
		add("github", checkOK, "token %s, %s", fromWhere(getenv, ghact.EnvToken), c.String())
	} else {
		add("github", checkOK, "%s", c.String())
	}

	if c, err := airflow.ConfigFromEnv(getenv); err != nil {
		fail("airflow", err)
	} else if c.URL == "" {
		add("airflow", checkOff, "set %s to enable", airflow.EnvURL)
	} else {
		add("airflow", checkOK, "%s", c.String())
	}

	if c, err := lineage.CacheOptionsFromEnv(getenv); err != nil {
		fail("lineage", err)
	} else {
		if c.Entries == 0 {
			c.Entries = lineage.DefaultCacheEntries
		}
		if c.MaxBytes == 0 {
			c.MaxBytes = lineage.DefaultMaxBytes
		}
		add("lineage", checkOK, "manifest cache %d entries, manifests up to %d bytes", c.Entries, c.MaxBytes)
	}

	if c, err := slackact.ConfigFromEnv(getenv); err != nil {
		fail("slack", err)
	} else if !c.Configured() {
		add("slack", checkOff, "set %s to enable notifications", slackact.EnvBotTokenFile)
	} else {
		detail := "bot token " + fromWhere(getenv, slackact.EnvBotToken)
		if c.BroadcastChannel != "" {
			detail += ", broadcast #" + strings.TrimPrefix(c.BroadcastChannel, "#")
		}
		if strings.TrimSpace(getenv(EnvRoster)) == "" {
			fail("slack", fmt.Errorf("%s, but %s is not set: the Slack backend needs the roster", detail, EnvRoster))
		} else {
			add("slack", checkOK, "%s", detail)
		}
	}

	if c, err := email.ConfigFromEnv(getenv); err != nil {
		fail("email", err)
	} else if !c.Configured() {
		add("email", checkOff, "set %s to enable leadership email", email.EnvHost)
	} else {
		pw := ""
		if c.Password != "" {
			pw = ", password " + fromWhere(getenv, email.EnvPassword)
		}
		add("email", checkOK, "smtp %s:%d from %s, %d leadership severities%s", c.Host, c.Port, c.From, len(c.Leadership), pw)
	}

	if c, err := postmortem.ConfigFromEnv(getenv); err != nil {
		fail("postmortem", err)
	} else {
		add("postmortem", checkOK, "written to %s", c.Dir)
	}

	if c, err := statuspage.ConfigFromEnv(getenv); err != nil {
		fail("statuspage", err)
	} else if !c.Configured() {
		add("statuspage", checkOff, "set %s and %s to enable", statuspage.EnvPageID, statuspage.EnvAPIKeyFile)
	} else {
		add("statuspage", checkOK, "page %s, API key %s, %d components", c.PageID, fromWhere(getenv, statuspage.EnvAPIKey), len(c.Components))
	}

	if k, on, err := codec.KeyringFromEnv(getenv); err != nil {
		fail("codec", fmt.Errorf("payload encryption: %w", err))
	} else if h, err := codec.HandlerOptionsFromEnv(getenv); err != nil {
		fail("codec", fmt.Errorf("codec endpoint: %w", err))
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
		add("codec", status, "%s", detail)
	}

	if a, err := intake.AuthFromEnv(getenv); err != nil {
		fail("intake", err)
	} else {
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
			add("intake", checkOff, "no source secrets; set %s_FILE (and the others) to accept alerts", intake.EnvAlertmanagerToken)
		} else {
			add("intake", checkOK, "authenticated sources: %s", strings.Join(on, ", "))
		}
	}

	if c, err := slackapp.ConfigFromEnv(getenv); err != nil {
		fail("slack-app", err)
	} else if c.SigningSecret == "" && c.AppToken == "" {
		add("slack-app", checkOff, "set %s_FILE (HTTP) or %s_FILE (Socket Mode) to enable", slackapp.EnvSigningSecret, slackapp.EnvAppToken)
	} else {
		var modes []string
		if c.SigningSecret != "" {
			modes = append(modes, "HTTP (signing secret "+fromWhere(getenv, slackapp.EnvSigningSecret)+")")
		}
		if c.AppToken != "" {
			modes = append(modes, "Socket Mode (app token "+fromWhere(getenv, slackapp.EnvAppToken)+")")
		}
		if c.KeyFile == "" {
			add("slack-app", checkOK, "%s; no signing key: deciding acts from Slack are refused until %s is set", strings.Join(modes, ", "), slackapp.EnvKeyFile)
		} else if s, err := incidents.LoadServiceSigner(slackapp.ServiceName, c.KeyFile); err != nil {
			fail("slack-app", fmt.Errorf("%s: %w", slackapp.EnvKeyFile, err))
		} else {
			add("slack-app", checkOK, "%s; acts signed as service %s with %s (the roster's trust.services lists it as %s)", strings.Join(modes, ", "), slackapp.ServiceName, s.Fingerprint(), s.PublicKey())
		}
	}
	return out
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
