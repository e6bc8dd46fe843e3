package pagerdutyact

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/datasev/datasev/activities/support/secret"
	"github.com/datasev/datasev/workflows"
)

// Environment variables read by ConfigFromEnv. Each routing key also has a
// _FILE form naming a file that holds it (a mounted secret).
const (
	// EnvRoutingKey is the default Events API v2 routing key (the
	// integration key of a PagerDuty service's "Events API v2"
	// integration), for the severities without a key of their own.
	EnvRoutingKey = "DATASEV_PAGERDUTY_ROUTING_KEY"
	// EnvEventsURL overrides the Events API's base URL
	// (https://events.pagerduty.com); for the stand-in in tests and the
	// demo, or PagerDuty's EU service region (https://events.eu.pagerduty.com).
	EnvEventsURL = "DATASEV_PAGERDUTY_EVENTS_URL"
	// EnvEventsPerMinute is the events sent per minute per routing key
	// (default DefaultEventsPerMinute, at most MaxEventsPerMinute).
	EnvEventsPerMinute = "DATASEV_PAGERDUTY_EVENTS_PER_MINUTE"
)

// SeverityKeyEnv names the variable of each severity's own routing key,
// DATASEV_PAGERDUTY_SEV1_ROUTING_KEY … _SEV5_ (each also with a _FILE
// form); a severity without one uses EnvRoutingKey.
var SeverityKeyEnv = map[workflows.Severity]string{
	workflows.SEV1: "DATASEV_PAGERDUTY_SEV1_ROUTING_KEY",
	workflows.SEV2: "DATASEV_PAGERDUTY_SEV2_ROUTING_KEY",
	workflows.SEV3: "DATASEV_PAGERDUTY_SEV3_ROUTING_KEY",
	workflows.SEV4: "DATASEV_PAGERDUTY_SEV4_ROUTING_KEY",
	workflows.SEV5: "DATASEV_PAGERDUTY_SEV5_ROUTING_KEY",
}

// Defaults and bounds of Config.
const (
	// DefaultEventsURL is PagerDuty's Events API.
	DefaultEventsURL = "https://events.pagerduty.com"
	// DefaultEventsPerMinute stays under PagerDuty's limit of about 120
	// events a minute per routing key, leaving room for retries.
	DefaultEventsPerMinute = 100
	// MaxEventsPerMinute is PagerDuty's documented limit.
	MaxEventsPerMinute = 120
	// RoutingKeyLen is the length of a routing (integration) key.
	RoutingKeyLen = 32
)

// Config is how the backend reaches PagerDuty.
type Config struct {
	// DefaultKey routes the pages of every severity without a key of its
	// own; "" for none.
	DefaultKey string
	// SeverityKeys routes the pages of one severity (SEV1 … SEV5).
	SeverityKeys map[workflows.Severity]string
	// EventsURL is the Events API's base URL; "" for DefaultEventsURL.
	EventsURL string
	// EventsPerMinute paces the events sent per routing key; 0 for
	// DefaultEventsPerMinute.
	EventsPerMinute int
}

// Configured reports whether any routing key is set. Without one the
// worker pages no one through PagerDuty.
func (c Config) Configured() bool { return c.DefaultKey != "" || len(c.SeverityKeys) > 0 }

// RoutingKey is the key that routes a page of severity sev, "" when the
// severity pages no one through PagerDuty.
func (c Config) RoutingKey(sev string) string {
	if s, err := workflows.ParseSeverity(sev); err == nil {
		if k := c.SeverityKeys[s]; k != "" {
			return k
		}
	}
	return c.DefaultKey
}

// severities are the severities a routing key may be set for.
var severities = []workflows.Severity{workflows.SEV1, workflows.SEV2, workflows.SEV3, workflows.SEV4, workflows.SEV5}

// ConfigFromEnv reads the DATASEV_PAGERDUTY_* variables through getenv.
// The routing keys come from the variables or the files their _FILE forms
// name, never from workflow inputs. No key at all is not an error:
// Configured is false.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var cfg Config
	var errs []error
	key := func(name string) string {
		v, err := secret.FromEnv(getenv, name)
		if err != nil {
			errs = append(errs, err)
			return ""
		}
		v = strings.TrimSpace(v)
		if v != "" {
			if err := checkRoutingKey(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return ""
			}
		}
		return v
	}
	cfg.DefaultKey = key(EnvRoutingKey)
	for _, s := range severities {
		if k := key(SeverityKeyEnv[s]); k != "" {
			if cfg.SeverityKeys == nil {
				cfg.SeverityKeys = map[workflows.Severity]string{}
			}
			cfg.SeverityKeys[s] = k
		}
	}
	if v := strings.TrimSpace(getenv(EnvEventsURL)); v != "" {
		u, err := url.Parse(v)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("%s=%q: want an http or https URL such as %s", EnvEventsURL, v, DefaultEventsURL))
		case u.User != nil:
			errs = append(errs, fmt.Errorf("%s: no credentials in the URL", EnvEventsURL))
		case u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, fmt.Errorf("%s=%q: want a base URL without query or fragment", EnvEventsURL, v))
		default:
			cfg.EventsURL = strings.TrimSuffix(v, "/")
		}
	}
	if v := strings.TrimSpace(getenv(EnvEventsPerMinute)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxEventsPerMinute {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number from 1 to %d (PagerDuty takes about %d events a minute per routing key)", EnvEventsPerMinute, v, MaxEventsPerMinute, MaxEventsPerMinute))
		} else {
			cfg.EventsPerMinute = n
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("pagerduty config: %w", err)
	}
	return cfg, nil
}

// checkRoutingKey refuses what cannot be an Events API v2 routing key: 32
// letters and digits. The key itself is never echoed.
func checkRoutingKey(k string) error {
	if len(k) != RoutingKeyLen {
		return fmt.Errorf("a routing key is %d letters and digits, this one is %d bytes (copy the Integration Key of the service's Events API v2 integration)", RoutingKeyLen, len(k))
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("a routing key is letters and digits; byte %d is not", i)
		}
	}
	return nil
}

// String describes the routing for the worker's start-up log, without the
// keys.
func (c Config) String() string {
	var parts []string
	for _, s := range severities {
		switch {
		case c.SeverityKeys[s] != "":
			parts = append(parts, string(s)+": own key")
		case c.DefaultKey != "":
			parts = append(parts, string(s)+": default key")
		default:
			parts = append(parts, string(s)+": not paged")
		}
	}
	return strings.Join(parts, ", ")
}
