package realsrv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Alertmanager is the pinned Prometheus Alertmanager. v0.32.0 and later do
// not build with `go install`: their UI embeds app/dist, which their module
// zip does not carry; v0.31.1 is the newest that builds from the module.
var Alertmanager = Tool{
	Name:    "alertmanager",
	Package: "github.com/prometheus/alertmanager/cmd/alertmanager",
	Module:  "github.com/prometheus/alertmanager",
	Version: "v0.31.1",
}

// WebhookRoute is an Alertmanager configuration with one route and one
// webhook receiver.
type WebhookRoute struct {
	// URL is where the webhook posts, e.g. the intake's
	// http://127.0.0.1:PORT/alerts/alertmanager.
	URL string
	// Token is sent as "Authorization: Bearer <Token>"; empty sends none.
	Token string
	// GroupBy are the labels alerts are grouped by.
	GroupBy []string
	// GroupWait, GroupInterval and RepeatInterval are the route's timers.
	GroupWait, GroupInterval, RepeatInterval time.Duration
	// MaxAlerts bounds the alerts of one delivery; 0 is no bound.
	MaxAlerts int
}

// Config renders r as alertmanager.yml. It names no address but r.URL:
// no global SMTP, Slack or other integrations.
func (r WebhookRoute) Config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "route:\n  receiver: datasev\n")
	groupBy, _ := json.Marshal(r.GroupBy)
	fmt.Fprintf(&b, "  group_by: %s\n", groupBy)
	fmt.Fprintf(&b, "  group_wait: %s\n  group_interval: %s\n  repeat_interval: %s\n",
		promDuration(r.GroupWait), promDuration(r.GroupInterval), promDuration(r.RepeatInterval))
	fmt.Fprintf(&b, "receivers:\n  - name: datasev\n    webhook_configs:\n")
	fmt.Fprintf(&b, "      - url: %s\n        send_resolved: true\n        max_alerts: %d\n", strconv.Quote(r.URL), r.MaxAlerts)
	if r.Token != "" {
		fmt.Fprintf(&b, "        http_config:\n          authorization:\n            type: Bearer\n            credentials: %s\n", strconv.Quote(r.Token))
	}
	return b.String()
}

// promDuration writes d in Prometheus's duration syntax (whole
// milliseconds at least).
func promDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// AlertmanagerServer is a running Alertmanager.
type AlertmanagerServer struct {
	// URL is its base URL, http://127.0.0.1:PORT.
	URL  string
	proc *process
}

// StartAlertmanager runs exe (see Alertmanager) on a free loopback port
// with config (alertmanager.yml's text), keeping its configuration and
// storage in dir. Clustering is off (no gossip listener, no peers) and the
// external URL is its own loopback address, so it reaches no address but
// the ones config names. It returns once /-/ready answers.
func StartAlertmanager(ctx context.Context, exe, dir, config string) (*AlertmanagerServer, error) {
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("alertmanager: writing its configuration: %w", err)
	}
	storage := filepath.Join(dir, "data")
	if err := os.MkdirAll(storage, 0o700); err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	url := "http://" + loopback(port)
	p, err := startProcess("alertmanager", exe, dir,
		"--config.file="+cfgPath,
		"--storage.path="+storage,
		"--web.listen-address="+loopback(port),
		"--web.external-url="+url,
		"--cluster.listen-address=",
		"--log.level=info",
	)
	if err != nil {
		return nil, err
	}
	s := &AlertmanagerServer{URL: url, proc: p}
	if err := p.waitReady(ctx, url+"/-/ready"); err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// Stop stops the server.
func (s *AlertmanagerServer) Stop() { s.proc.stop() }

// Log is the end of the server's log.
func (s *AlertmanagerServer) Log() string { return s.proc.log.String() }

// PostableAlert is one alert of Alertmanager's API v2 POST /api/v2/alerts.
// Zero times are left out, for Alertmanager to fill in.
type PostableAlert struct {
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
}

// MarshalJSON writes the API's field names and leaves zero times out.
func (a PostableAlert) MarshalJSON() ([]byte, error) {
	m := map[string]any{"labels": a.Labels}
	if len(a.Annotations) > 0 {
		m["annotations"] = a.Annotations
	}
	if !a.StartsAt.IsZero() {
		m["startsAt"] = a.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	if !a.EndsAt.IsZero() {
		m["endsAt"] = a.EndsAt.UTC().Format(time.RFC3339Nano)
	}
	if a.GeneratorURL != "" {
		m["generatorURL"] = a.GeneratorURL
	}
	return json.Marshal(m)
}

// PushAlerts posts alerts to POST /api/v2/alerts, as Prometheus does.
func (s *AlertmanagerServer) PushAlerts(ctx context.Context, alerts ...PostableAlert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("alertmanager: encoding alerts: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager: POST /api/v2/alerts: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("alertmanager: POST /api/v2/alerts: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Metric sums the samples of metric name at /metrics whose labels include
// every pair of match. found is false when no sample matches.
func (s *AlertmanagerServer) Metric(ctx context.Context, name string, match map[string]string) (sum float64, found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/metrics", nil)
	if err != nil {
		return 0, false, fmt.Errorf("alertmanager: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("alertmanager: GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("alertmanager: GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok || !hasLabels(series, match) {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("alertmanager: /metrics line %q: %w", line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, false, fmt.Errorf("alertmanager: reading /metrics: %w", err)
	}
	return sum, found, nil
}

// hasLabels reports whether a series in the text exposition format
// (name{a="x",b="y"}) has every label pair of match.
func hasLabels(series string, match map[string]string) bool {
	for k, v := range match {
		pair := k + "=" + strconv.Quote(v)
		if !strings.Contains(series, "{"+pair) && !strings.Contains(series, ","+pair) {
			return false
		}
	}
	return true
}
