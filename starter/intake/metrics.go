package intake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Metrics counts what the intake did, served in the Prometheus text format
// (no client library: three counter families are all there is).
//
//	datasev_intake_requests_total{source,code}        source: an alert source, or slack
//	datasev_intake_rejections_total{source,reason}
//	datasev_intake_incidents_total{source,outcome}   outcome: started, joined, ignored, storm, throttled
type Metrics struct {
	mu         sync.Mutex
	requests   map[[2]string]uint64
	rejections map[[2]string]uint64
	incidents  map[[2]string]uint64
}

// NewMetrics returns empty counters.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[[2]string]uint64{}, rejections: map[[2]string]uint64{}, incidents: map[[2]string]uint64{}}
}

func (m *Metrics) add(c map[[2]string]uint64, a, b string) {
	m.mu.Lock()
	c[[2]string{a, b}]++
	m.mu.Unlock()
}

func (m *Metrics) request(src string, code int) { m.add(m.requests, src, strconv.Itoa(code)) }
func (m *Metrics) rejection(src, reason string) { m.add(m.rejections, src, reason) }
func (m *Metrics) incident(src, outcome string) { m.add(m.incidents, src, outcome) }

// Count wraps next (another front-door route sharing the listener, such as
// the Slack app's) so that its requests are counted in
// datasev_intake_requests_total under source, by HTTP status code.
func (m *Metrics) Count(source string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() { m.request(source, rec.code) }()
		next.ServeHTTP(rec, r)
	})
}

// Requests returns the requests counter for a source and status code.
func (m *Metrics) Requests(src string, code int) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests[[2]string{src, strconv.Itoa(code)}]
}

// Incidents returns the incidents counter for a source and outcome.
func (m *Metrics) Incidents(src, outcome string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.incidents[[2]string{src, outcome}]
}

// Rejections returns the rejections counter for a source and reason.
func (m *Metrics) Rejections(src, reason string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rejections[[2]string{src, reason}]
}

func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	m.mu.Lock()
	family(&b, "datasev_intake_requests_total", "Requests by source (an alert webhook, or slack) and HTTP status code.", "source", "code", m.requests)
	family(&b, "datasev_intake_rejections_total", "Rejected alert requests by source and reason.", "source", "reason", m.rejections)
	family(&b, "datasev_intake_incidents_total", "Alerts declared, by source and outcome (started a new incident, joined an open one, ignored, storm: went to the source's alert storm incident beyond its rate, throttled: refused beyond its rate).", "source", "outcome", m.incidents)
	m.mu.Unlock()
	_, _ = w.Write([]byte(b.String()))
}

func family(b *strings.Builder, name, help, l1, l2 string, c map[[2]string]uint64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	keys := make([][2]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y [2]string) int {
		if d := strings.Compare(x[0], y[0]); d != 0 {
			return d
		}
		return strings.Compare(x[1], y[1])
	})
	for _, k := range keys {
		fmt.Fprintf(b, "%s{%s=%s,%s=%s} %d\n", name, l1, strconv.Quote(k[0]), l2, strconv.Quote(k[1]), c[k])
	}
}
