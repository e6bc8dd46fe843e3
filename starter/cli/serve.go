package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/worker/codec"
	"github.com/datasev/datasev/workflows/oncall"
)

// EnvUIURL names the environment variable holding the Temporal Web UI's
// base URL, for the links the intake returns.
const EnvUIURL = "DATASEV_UI_URL"

// EnvSlackFindingReaction names the environment variable holding the
// reaction (an emoji name; surrounding colons are dropped) that makes an
// incident channel's message a finding; default slackapp's
// DefaultFindingReaction (pushpin).
const EnvSlackFindingReaction = "DATASEV_SLACK_FINDING_REACTION"

// emojiName is a Slack emoji name as reactions carry it: lower-case
// letters, digits, _, - and +, at most 64 of them.
var emojiName = regexp.MustCompile(`^[a-z0-9_+-]{1,64}$`)

// slackEventOptionsFromEnv reads the Slack app's channel-log settings:
// $DATASEV_SLACK_FINDING_REACTION, empty for the default.
func slackEventOptionsFromEnv(getenv func(string) string) (slackapp.EventOptions, error) {
	raw := getenv(EnvSlackFindingReaction)
	name := strings.Trim(strings.TrimSpace(raw), ":")
	if raw != "" && !emojiName.MatchString(name) {
		return slackapp.EventOptions{}, fmt.Errorf("%s=%q: want a Slack emoji name (lower-case letters, digits, _, - and +, at most 64, colons optional), e.g. pushpin", EnvSlackFindingReaction, raw)
	}
	return slackapp.EventOptions{FindingReaction: name}, nil
}

// serveFlags are serve's flags.
type serveFlags struct {
	addr       string
	insecure   bool
	runbookDir string
	roster     string
	uiURL      string
}

// runServe runs the alert intake (starter/intake) until the context ends
// (Ctrl-C), then shuts down gracefully.
func runServe(ctx context.Context, e *env, args []string) error {
	f, err := parseServeFlags(e, args)
	if err != nil {
		return err
	}
	auth, err := intake.AuthFromEnv(e.getenv)
	if err != nil {
		return err
	}
	auth.Insecure = f.insecure
	limits, err := intake.LimitsFromEnv(e.getenv)
	if err != nil {
		return err
	}
	r, err := loadRoster(e, f.roster)
	if err != nil {
		return err
	}
	set, err := loadRunbookSet(e, f.runbookDir)
	if err != nil {
		return err
	}
	opts, err := clientOptions(e)
	if err != nil {
		return err
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h, err := intake.New(c, r, set, auth, logger, intake.Options{UIURL: f.uiURL, Namespace: opts.Namespace, TaskQueue: e.getenv(EnvTaskQueue), Limits: limits})
	if err != nil {
		return err
	}
	root, slack, scfg, err := withSlackApp(e, h, c, r, set, logger)
	if err != nil {
		return err
	}
	if slack != nil {
		defer slack.Close()
	}
	root, encrypted, err := withCodecEndpoint(e, root, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		MaxHeaderBytes: intake.MaxHeaderBytes}
	printServing(e, ln.Addr(), auth, f.insecure, slack, scfg, encrypted)
	return serveUntilDone(ctx, e, srv, ln, slack, scfg)
}

// parseServeFlags parses serve's flags; --ui-url defaults to $DATASEV_UI_URL.
func parseServeFlags(e *env, args []string) (serveFlags, error) {
	fs := newFlagSet(e, "serve", "[--addr 127.0.0.1:8080] [--insecure-no-auth] [--runbooks DIR] [--roster FILE] [--ui-url URL]")
	var f serveFlags
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&f.insecure, "insecure-no-auth", false, "accept unauthenticated alerts from sources with no secret configured (development only)")
	fs.StringVar(&f.runbookDir, "runbooks", "", "runbook directory added to the embedded library (default $"+EnvRunbooks+")")
	fs.StringVar(&f.roster, "roster", "", "roster file (default $"+EnvRoster+" or "+DefaultRoster+")")
	fs.StringVar(&f.uiURL, "ui-url", "", "Temporal Web UI base URL for the incidents' links (default $"+EnvUIURL+")")
	if err := parseFlagsOnly(fs, args); err != nil {
		return serveFlags{}, err
	}
	if f.uiURL == "" {
		f.uiURL = e.getenv(EnvUIURL)
	}
	return f, nil
}

// withSlackApp puts the Slack app (slash command, buttons) under /slack/ on
// the intake's listener when a signing secret or an app token is
// configured. slack is nil when it is off; the caller closes it.
func withSlackApp(e *env, h *intake.Handler, c client.Client, r oncall.Roster, set *runbooks.Set, logger *slog.Logger) (root http.Handler, slack *slackapp.Handler, scfg slackapp.Config, err error) {
	scfg, err = slackapp.ConfigFromEnv(e.getenv)
	if err != nil {
		return nil, nil, scfg, err
	}
	deps, err := slackDeps(e, c, r, set, logger)
	if err != nil {
		return nil, nil, scfg, err
	}
	if !scfg.Enabled() {
		return h, nil, scfg, nil
	}
	if slack, err = slackapp.New(scfg, deps); err != nil {
		return nil, nil, scfg, err
	}
	mux := http.NewServeMux()
	mux.Handle("/slack/", h.Metrics().Count("slack", slack))
	mux.Handle("/", h)
	return mux, slack, scfg, nil
}

// slackDeps is what the Slack app is built with: the intake's client,
// roster, runbooks, logger and task queue, and the channel log's options
// from the environment.
func slackDeps(e *env, c client.Client, r oncall.Roster, set *runbooks.Set, logger *slog.Logger) (slackapp.Deps, error) {
	events, err := slackEventOptionsFromEnv(e.getenv)
	if err != nil {
		return slackapp.Deps{}, err
	}
	return slackapp.Deps{Temporal: c, Roster: r, Runbooks: set, Logger: logger, TaskQueue: e.getenv(EnvTaskQueue), Events: events}, nil
}

// withCodecEndpoint puts the codec endpoint, for the Temporal UI and CLI to
// show encrypted payloads, under /codec/ in front of root when payload
// encryption is on.
func withCodecEndpoint(e *env, root http.Handler, logger *slog.Logger) (http.Handler, bool, error) {
	k, encrypted, err := codec.KeyringFromEnv(e.getenv)
	if err != nil {
		return nil, false, fmt.Errorf("payload encryption: %w", err)
	}
	if !encrypted {
		return root, false, nil
	}
	copts, err := codec.HandlerOptionsFromEnv(e.getenv)
	if err != nil {
		return nil, false, err
	}
	copts.Logger = logger
	mux := http.NewServeMux()
	mux.Handle("/codec/", codec.Handler(k, copts))
	mux.Handle("/", root)
	return mux, true, nil
}

// printServing says where each route listens and which sources, Slack
// routes and codec endpoint are on.
func printServing(e *env, addr net.Addr, auth intake.Auth, insecure bool, slack *slackapp.Handler, scfg slackapp.Config, encrypted bool) {
	fmt.Fprintf(e.stdout, "alert intake on http://%s (POST /alerts, /alerts/alertmanager, /alerts/dbt-cloud, /alerts/pagerduty; GET /healthz, /readyz, /metrics)\n", addr)
	for _, s := range []struct{ name, v, env string }{
		{"alertmanager", auth.AlertmanagerToken, intake.EnvAlertmanagerToken}, {"generic", auth.GenericToken, intake.EnvGenericToken},
		{"dbt-cloud", auth.DBTCloudSecret, intake.EnvDBTCloudSecret}, {"pagerduty", auth.PagerDutySecret, intake.EnvPagerDutySecret},
	} {
		if s.v == "" && !insecure {
			fmt.Fprintf(e.stderr, "note: no secret for %s; its requests are refused (set %s or %s_FILE)\n", s.name, s.env, s.env)
		} else if s.v == "" {
			fmt.Fprintf(e.stderr, "WARNING: %s accepts unauthenticated alerts (--insecure-no-auth)\n", s.name)
		}
	}
	switch {
	case slack == nil:
		fmt.Fprintf(e.stderr, "note: Slack is off (set %s for the HTTP routes or %s for Socket Mode)\n", slackapp.EnvSigningSecret, slackapp.EnvAppToken)
	case scfg.SigningSecret != "":
		fmt.Fprintf(e.stdout, "slack app on http://%s/slack/commands, /slack/interactions and /slack/events\n", addr)
	}
	if encrypted {
		fmt.Fprintf(e.stdout, "codec endpoint on http://%s/codec (POST /codec/encode, /codec/decode)\n", addr)
	}
}

// serveUntilDone serves on ln (and runs the Slack app's Socket Mode when an
// app token is set) until either fails or the context ends, then shuts the
// server down gracefully.
func serveUntilDone(ctx context.Context, e *env, srv *http.Server, ln net.Listener, slack *slackapp.Handler, scfg slackapp.Config) error {
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if slack != nil && scfg.AppToken != "" {
		fmt.Fprintln(e.stdout, "slack app: Socket Mode connecting (no public URL needed)")
		go func() {
			if err := slack.RunSocketMode(ctx); err != nil {
				errc <- fmt.Errorf("slack socket mode: %w", err)
			}
		}()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(e.stdout, "shutting down…")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}
