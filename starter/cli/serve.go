package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/worker/codec"
)

// EnvUIURL names the environment variable holding the Temporal Web UI's
// base URL, for the links the intake returns.
const EnvUIURL = "DATASEV_UI_URL"

// runServe runs the alert intake (starter/intake) until the context ends
// (Ctrl-C), then shuts down gracefully.
func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "[--addr 127.0.0.1:8080] [--insecure-no-auth] [--runbooks DIR] [--roster FILE] [--ui-url URL]")
	var (
		addr       string
		insecure   bool
		runbookDir string
		roster     string
		uiURL      string
	)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&insecure, "insecure-no-auth", false, "accept unauthenticated alerts from sources with no secret configured (development only)")
	fs.StringVar(&runbookDir, "runbooks", "", "runbook directory added to the embedded library (default $"+EnvRunbooks+")")
	fs.StringVar(&roster, "roster", "", "roster file (default $"+EnvRoster+" or "+DefaultRoster+")")
	fs.StringVar(&uiURL, "ui-url", "", "Temporal Web UI base URL for the incidents' links (default $"+EnvUIURL+")")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if uiURL == "" {
		uiURL = e.getenv(EnvUIURL)
	}
	auth, err := intake.AuthFromEnv(e.getenv)
	if err != nil {
		return err
	}
	auth.Insecure = insecure
	limits, err := intake.LimitsFromEnv(e.getenv)
	if err != nil {
		return err
	}
	r, err := loadRoster(e, roster)
	if err != nil {
		return err
	}
	set, err := loadRunbookSet(e, runbookDir)
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
	h, err := intake.New(c, r, set, auth, logger, intake.Options{UIURL: uiURL, Namespace: opts.Namespace, TaskQueue: e.getenv(EnvTaskQueue), Limits: limits})
	if err != nil {
		return err
	}
	// The Slack app (slash command, buttons) shares the listener when a
	// signing secret or an app token is configured.
	var root http.Handler = h
	scfg, err := slackapp.ConfigFromEnv(e.getenv)
	if err != nil {
		return err
	}
	var slack *slackapp.Handler
	if scfg.Enabled() {
		if slack, err = slackapp.New(scfg, slackapp.Deps{Temporal: c, Roster: r, Runbooks: set, Logger: logger, TaskQueue: e.getenv(EnvTaskQueue)}); err != nil {
			return err
		}
		defer slack.Close()
		mux := http.NewServeMux()
		mux.Handle("/slack/", h.Metrics().Count("slack", slack))
		mux.Handle("/", h)
		root = mux
	}
	// The codec endpoint, for the Temporal UI and CLI to show encrypted
	// payloads, when payload encryption is on.
	k, encrypted, err := codec.KeyringFromEnv(e.getenv)
	if err != nil {
		return fmt.Errorf("payload encryption: %w", err)
	}
	if encrypted {
		copts, err := codec.HandlerOptionsFromEnv(e.getenv)
		if err != nil {
			return err
		}
		copts.Logger = logger
		mux := http.NewServeMux()
		mux.Handle("/codec/", codec.Handler(k, copts))
		mux.Handle("/", root)
		root = mux
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		MaxHeaderBytes: intake.MaxHeaderBytes}
	fmt.Fprintf(e.stdout, "alert intake on http://%s (POST /alerts, /alerts/alertmanager, /alerts/dbt-cloud, /alerts/pagerduty; GET /healthz, /readyz, /metrics)\n", ln.Addr())
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
		fmt.Fprintf(e.stdout, "slack app on http://%s/slack/commands and /slack/interactions\n", ln.Addr())
	}
	if encrypted {
		fmt.Fprintf(e.stdout, "codec endpoint on http://%s/codec (POST /codec/encode, /codec/decode)\n", ln.Addr())
	}
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
