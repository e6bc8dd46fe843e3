package cli

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/notifiers/slack/slacktest"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/workflows/oncall"
)

// devFront is dev's front door on one loopback listener: the alert intake
// (generic endpoint behind a bearer token made up for this run) and the
// Slack app (slash command and buttons, signed with a signing secret made
// up for this run), talking to the Slack Web API stand-in.
type devFront struct {
	url     string // http://127.0.0.1:port
	token   string // the generic endpoint's bearer token
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
	logger    *slog.Logger
	// signer is the Slack app's service key.
	signer *incidents.Signer
}

// startDevFront starts the intake and the Slack app on o.addr.
func startDevFront(c client.Client, o devFrontOptions) (*devFront, error) {
	f := &devFront{token: "dev-" + randomHex(12), signing: randomHex(16), api: o.api}
	h, err := intake.New(c, o.roster, o.runbooks, intake.Auth{GenericToken: f.token}, o.logger,
		intake.Options{UIURL: o.uiURL, Namespace: o.namespace})
	if err != nil {
		return nil, err
	}
	env := o.api.Env()
	env[slackapp.EnvSigningSecret] = f.signing
	scfg, err := slackapp.ConfigFromEnv(mapGetenv(env))
	if err != nil {
		return nil, err
	}
	if f.slack, err = slackapp.New(scfg, slackapp.Deps{Temporal: c, Roster: o.roster, Runbooks: o.runbooks, Logger: o.logger, Signer: o.signer}); err != nil {
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
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// Close stops the listener, then the Slack app's late replies.
func (f *devFront) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
	f.slack.Close()
}

// describe prints where the front door is and how to use it.
func (f *devFront) describe(out io.Writer) {
	fmt.Fprintf(out, "intake        %s/alerts (bearer token %s for this run); Slack app at %s/slack/commands\n", f.url, f.token, f.url)
	fmt.Fprintf(out, "slack         %s (a stand-in for Slack's Web API: the worker's channel posts land there)\n", f.api.APIURL())
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
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
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

// runSlackDemo shows the Slack side: a note added with /incident by the
// SME and a status update posted by the Commander (a deciding act, signed
// by the Slack app vouching for the Slack user it verified), with how the
// incident verified each, and the channels the worker's Slack backend
// created with their message counts.
func runSlackDemo(ctx context.Context, out io.Writer, c client.Client, f *devFront, r oncall.Roster, incident string) error {
	cast, err := pickCast(r, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, s := range []struct{ who, text, mark string }{
		{cast.sme, "note @" + incident + " revert merged; the finance dashboard shows dollars again", "revert merged"},
		{cast.commander, "update @" + incident + " the revert is merged and orders re-ran; watching the dashboards", "the revert is merged"},
	} {
		p, _ := r.Person(s.who)
		if p.Slack == "" {
			fmt.Fprintf(out, "slack: %s has no Slack ID in the roster; skipping the /incident example\n", s.who)
			continue
		}
		reply, err := f.slashCommand(ctx, p.Slack, s.text)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "slack: %s (%s) runs /incident %s\n", s.who, p.Slack, s.text)
		fmt.Fprintf(out, "      → %s\n", clip(oneLine(reply), 110))
		// The reply may have come before the act did ("working on it…").
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if how := slackVerified(ctx, c, incident, s.who, s.mark); how != "" {
				fmt.Fprintf(out, "      verified: %s\n", how)
				break
			}
		}
	}
	type count struct {
		name string
		n    int
	}
	var counts []count
	for _, ch := range f.api.Channels() {
		if ch.IsIM || !strings.HasPrefix(ch.Name, "inc-") {
			continue
		}
		counts = append(counts, count{ch.Name, len(f.api.Messages(ch.ID))})
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i].name < counts[j].name })
	for _, c := range counts {
		fmt.Fprintf(out, "slack stand-in: #%s has %d messages from the worker\n", c.name, c.n)
	}
	if len(counts) == 0 {
		return errors.New("slack: the worker created no incident channel in the stand-in")
	}
	return nil
}

// slackVerified is how the incident verified who's act from Slack whose
// text has mark, once it is in the timeline.
func slackVerified(ctx context.Context, c client.Client, incident, who, mark string) string {
	tl, err := incidents.Timeline(ctx, c, incident)
	if err != nil {
		return ""
	}
	for _, e := range tl {
		if e.Who == who && e.Via == slackapp.Via && strings.Contains(e.What, mark) {
			return e.Verified
		}
	}
	return ""
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
