package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdtest"
	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/workflows/oncall"
)

// devFront is dev's front door on one listener: the alert intake, every
// source with a secret (the user's DATASEV_INTAKE_* where set, else one
// made up for this run), and the Slack app (slash command and buttons,
// signed with a signing secret made up for this run) talking to the Slack
// Web API stand-in. The PagerDuty stand-in's webhook subscription points
// at the intake's /alerts/pagerduty, signed with the intake's PagerDuty
// secret, so an acknowledgement made there comes back as the incident's
// acknowledge act, signed by the intake as service pagerduty.
type devFront struct {
	url     string // http://127.0.0.1:port
	secrets intakeSecrets
	signing string // the Slack app's signing secret
	srv     *http.Server
	slack   *slackapp.Handler
	api     *slacktest.Server
}

// devFrontOptions is what startDevFront needs.
type devFrontOptions struct {
	addr      string
	roster    oncall.Roster
	runbooks  *runbooks.Set
	api       *slacktest.Server
	uiURL     string
	namespace string
	taskQueue string
	logger    *slog.Logger
	// getenv supplies the user's intake secrets and bounds
	// (DATASEV_INTAKE_*).
	getenv func(string) string
	// signer is the Slack app's service key.
	signer *incidents.Signer
	// pdSigner is the intake's PagerDuty service key, for the
	// acknowledgements made in PagerDuty (intake.Options.PagerDutySigner).
	pdSigner *incidents.Signer
	// pagerduty is the PagerDuty stand-in, whose webhooks go to the
	// intake; nil when it plays no part.
	pagerduty *pdtest.Server
}

// startDevFront starts the intake and the Slack app on o.addr.
func startDevFront(c client.Client, o devFrontOptions) (*devFront, error) {
	auth, err := intake.AuthFromEnv(o.getenv)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	for _, s := range []*string{&auth.AlertmanagerToken, &auth.GenericToken, &auth.DBTCloudSecret, &auth.PagerDutySecret} {
		if *s == "" {
			*s = "dev-" + randomHex(12)
		}
	}
	limits, err := intake.LimitsFromEnv(o.getenv)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	f := &devFront{secrets: secretsOf(o.getenv, auth), signing: randomHex(16), api: o.api}
	h, err := intake.New(c, o.roster, o.runbooks, auth, o.logger,
		intake.Options{UIURL: o.uiURL, Namespace: o.namespace, TaskQueue: o.taskQueue, Limits: limits, PagerDutySigner: o.pdSigner})
	if err != nil {
		return nil, err
	}
	env := o.api.Env()
	env[slackapp.EnvSigningSecret] = f.signing
	scfg, err := slackapp.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	f.slack, err = slackapp.New(scfg, slackapp.Deps{Temporal: c, Roster: o.roster, Runbooks: o.runbooks, TaskQueue: o.taskQueue, Logger: o.logger, Signer: o.signer})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/slack/", h.Metrics().Count("slack", f.slack))
	mux.Handle("/", h)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		f.slack.Close()
		return nil, fmt.Errorf("intake: %w (pick another address with --intake-addr)", err)
	}
	f.url = "http://" + ln.Addr().String()
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: intake.MaxHeaderBytes}
	go func() { _ = f.srv.Serve(ln) }()
	if o.pagerduty != nil {
		// As a PagerDuty v3 webhook subscription would: signed with the
		// secret the intake checks.
		o.pagerduty.SetWebhook(f.url+"/alerts/pagerduty", auth.PagerDutySecret)
	}
	return f, nil
}

// Close stops the listener, then the Slack app's late replies.
func (f *devFront) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
	f.slack.Close()
}

// describe prints where the front door is and one curl line per intake
// endpoint that it accepts.
func (f *devFront) describe(out io.Writer, now time.Time) {
	fmt.Fprintf(out, "intake        %s/alerts (generic), /alerts/alertmanager, /alerts/dbt-cloud, /alerts/pagerduty; Slack app at %s/slack/commands\n", f.url, f.url)
	fmt.Fprint(out, "try it (each line works as is against this run's intake")
	if f.secrets.anyYours() {
		fmt.Fprint(out, "; a line naming a secret of yours reads it from that variable or file")
	}
	fmt.Fprintln(out, "):")
	for _, c := range curls(f.url, f.secrets, now) {
		fmt.Fprintf(out, "  # %s\n  %s\n", c.what, c.line)
	}
}

// slashCommand runs /incident text as the Slack user, signed as Slack signs
// it, and returns the reply's text.
func (f *devFront) slashCommand(ctx context.Context, user, text string) (string, error) {
	form := url.Values{
		"command": {"/incident"}, "text": {text}, "user_id": {user}, "user_name": {user},
		"team_id": {"TDEMO"}, "channel_id": {"CDEMO"}, "channel_name": {"data-incidents"},
		"trigger_id":   {"demo." + randomHex(8)},
		"response_url": {f.api.ResponseURL("demo-" + randomHex(4))},
	}
	body := form.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(f.signing))
	mac.Write([]byte("v0:" + ts + ":" + body))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url+"/slack/commands", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("slack app: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("slack app: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("slack app answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var reply struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &reply); err != nil {
		return "", fmt.Errorf("slack app reply: %w", err)
	}
	return reply.Text, nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
