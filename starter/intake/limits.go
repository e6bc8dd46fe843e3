package intake

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound what one source may make the intake do. Zero values take the
// defaults; see LimitsFromEnv for the environment variables.
type Limits struct {
	// MaxAlerts is the most alerts one delivery may carry (Alertmanager
	// sends a whole group at once); more is refused whole with 413. Default
	// 500: each alert costs a Declare (two to three Temporal calls), so a
	// full delivery is still answered well inside Alertmanager's and dbt
	// Cloud's 10 s timeouts, and 500 distinct series firing in one group is a
	// storm that 500 incidents would not help anyone through. Set
	// Alertmanager's webhook max_alerts to this value, so it truncates
	// instead.
	MaxAlerts int
	// NewIncidentsPerMinute is the sustained rate at which one source
	// (alertmanager, dbt_cloud, pagerduty, generic) may open new incidents;
	// NewIncidentBurst how many it may open at once. An alert that would
	// open one beyond them joins the source's alert storm incident, or is
	// answered 429 with Retry-After (see Storm); alerts that join an open
	// incident, and recoveries, are never limited. Defaults: 10 a
	// minute, burst 50 — each new incident pages a person and creates a
	// Slack channel (Slack allows about 20 channel creations a minute).
	NewIncidentsPerMinute float64
	NewIncidentBurst      int
	// Storm says what happens to an alert that would open a new incident
	// beyond its source's rate: StormJoin (the default) has it join the
	// source's one "alert storm" incident (incidents.StormKey) as a member,
	// answered 202; StormThrottle refuses it with 429 and Retry-After, for
	// the sender to retry.
	Storm string
	// ReplayWindow is how old (or how far in the future) the signed
	// timestamp of a dbt Cloud or PagerDuty delivery may be; an older one is
	// refused with 401, so a captured delivery cannot be replayed to reopen
	// an incident. Default 10m. Keep it below the incidents' close-after
	// (default 30m): a replay then always falls after the window closed.
	ReplayWindow time.Duration
}

// Default limits.
const (
	DefaultMaxAlerts             = 500
	DefaultNewIncidentsPerMinute = 10
	DefaultNewIncidentBurst      = 50
	DefaultReplayWindow          = 10 * time.Minute
	DefaultStorm                 = StormJoin
)

// Storm modes (Limits.Storm, DATASEV_INTAKE_STORM).
const (
	StormJoin     = "join"
	StormThrottle = "throttle"
)

// Environment variables LimitsFromEnv reads.
const (
	EnvMaxAlerts             = "DATASEV_INTAKE_MAX_ALERTS"
	EnvNewIncidentsPerMinute = "DATASEV_INTAKE_NEW_INCIDENTS_PER_MINUTE"
	EnvNewIncidentBurst      = "DATASEV_INTAKE_NEW_INCIDENT_BURST"
	EnvReplayWindow          = "DATASEV_INTAKE_REPLAY_WINDOW"
	EnvStorm                 = "DATASEV_INTAKE_STORM"
)

// Bounds on request headers, checked before any other work.
const (
	// MaxHeaderBytes is what serve gives http.Server.MaxHeaderBytes: all
	// request headers together (Go's default is 1 MiB).
	MaxHeaderBytes = 64 << 10
	// MaxSignatureHeaderLen bounds X-PagerDuty-Signature and dbt Cloud's
	// Authorization signature.
	MaxSignatureHeaderLen = 1024
	// MaxSignatures is the most entries X-PagerDuty-Signature may list
	// (PagerDuty sends one, two while a secret is rotated).
	MaxSignatures = 8
)

// LimitsFromEnv reads DATASEV_INTAKE_MAX_ALERTS,
// DATASEV_INTAKE_NEW_INCIDENTS_PER_MINUTE, DATASEV_INTAKE_NEW_INCIDENT_BURST
// (numbers), DATASEV_INTAKE_REPLAY_WINDOW (a Go duration such as 10m) and
// DATASEV_INTAKE_STORM (join or throttle). Unset means the default.
func LimitsFromEnv(getenv func(string) string) (Limits, error) {
	var l Limits
	var errs []error
	num := func(name string, set func(float64)) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive number", name, v))
			return
		}
		set(f)
	}
	num(EnvMaxAlerts, func(f float64) { l.MaxAlerts = int(f) })
	num(EnvNewIncidentsPerMinute, func(f float64) { l.NewIncidentsPerMinute = f })
	num(EnvNewIncidentBurst, func(f float64) { l.NewIncidentBurst = int(f) })
	if v := strings.TrimSpace(getenv(EnvReplayWindow)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 10m", EnvReplayWindow, v))
		} else {
			l.ReplayWindow = d
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvStorm))); v {
	case "":
	case StormJoin, StormThrottle:
		l.Storm = v
	default:
		errs = append(errs, fmt.Errorf("%s=%q: want %s (alerts beyond the rate join one alert storm incident per source) or %s (they are refused with 429)", EnvStorm, v, StormJoin, StormThrottle))
	}
	return l, errors.Join(errs...)
}

func (l Limits) withDefaults() Limits {
	if l.MaxAlerts <= 0 {
		l.MaxAlerts = DefaultMaxAlerts
	}
	if l.NewIncidentsPerMinute <= 0 {
		l.NewIncidentsPerMinute = DefaultNewIncidentsPerMinute
	}
	if l.NewIncidentBurst <= 0 {
		l.NewIncidentBurst = DefaultNewIncidentBurst
	}
	if l.ReplayWindow <= 0 {
		l.ReplayWindow = DefaultReplayWindow
	}
	if l.Storm == "" {
		l.Storm = DefaultStorm
	}
	return l
}

// limiters holds one token bucket of new incidents per source.
type limiters struct {
	mu     sync.Mutex
	limits Limits
	m      map[string]*rate.Limiter
}

func (l *limiters) get(src string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[src]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.limits.NewIncidentsPerMinute/60), l.limits.NewIncidentBurst)
		l.m[src] = lim
	}
	return lim
}

// throttledError is what the Admit hook returns when a source's new
// incidents are over its rate.
type throttledError struct {
	retryAfter time.Duration
}

func (e *throttledError) Error() string {
	return fmt.Sprintf("over the rate of new incidents; retry after %s", e.retryAfter.Round(time.Second))
}

// admit takes a token from the source's bucket, or says how long until
// there is one.
func (l *limiters) admit(src string, now func() time.Time) func() error {
	return func() error {
		t := now()
		r := l.get(src).ReserveN(t, 1)
		if !r.OK() {
			return &throttledError{retryAfter: time.Minute}
		}
		if d := r.DelayFrom(t); d > 0 {
			r.CancelAt(t)
			return &throttledError{retryAfter: d}
		}
		return nil
	}
}

// retryAfterSeconds rounds a delay up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// signedAt checks a delivery's signed timestamp against the replay window.
// field names the payload field, for the message.
func checkFresh(field, ts string, now time.Time, window time.Duration) error {
	if strings.TrimSpace(ts) == "" {
		return fmt.Errorf("field %q: required (the replay window is checked against it)", field)
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(ts))
	if err != nil {
		return fmt.Errorf("field %q: %q is not an RFC 3339 time", field, truncate(ts, 64))
	}
	switch age := now.Sub(at); {
	case age > window:
		return &staleError{field: field, at: at, age: age, window: window}
	case -age > window:
		return &staleError{field: field, at: at, age: age, window: window}
	}
	return nil
}

// staleError is a signed delivery outside the replay window.
type staleError struct {
	field  string
	at     time.Time
	age    time.Duration
	window time.Duration
}

func (e *staleError) Error() string {
	if e.age < 0 {
		return fmt.Sprintf("delivery from the future: %s %s is %s ahead, beyond the %s replay window (%s); check the clocks",
			e.field, e.at.UTC().Format(time.RFC3339), (-e.age).Round(time.Second), e.window, EnvReplayWindow)
	}
	return fmt.Sprintf("stale delivery: %s %s is %s old, beyond the %s replay window (%s); a captured delivery is not replayed",
		e.field, e.at.UTC().Format(time.RFC3339), e.age.Round(time.Second), e.window, EnvReplayWindow)
}
