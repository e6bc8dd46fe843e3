package lineage

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/datasev/datasev/activities/support/secret"
)

// Environment variables read by CacheOptionsFromEnv. The S3 and GitHub
// clients are configured by activities/actions/s3 and activities/actions/github; lineage
// reuses them.
const (
	// EnvCacheEntries is how many decoded manifests the worker keeps
	// (default DefaultCacheEntries). A 50,000-node manifest decodes to
	// about 35 MB.
	EnvCacheEntries = "DATASEV_LINEAGE_CACHE_ENTRIES"
	// EnvMaxBytes bounds a manifest's size in bytes (default
	// DefaultMaxBytes, 1 GiB); suffixes KB, MB and GB are accepted.
	EnvMaxBytes = "DATASEV_LINEAGE_MAX_BYTES"
	// EnvSource chooses where lineage is read: manifest (the default,
	// dbt manifests each step names) or marquez. bigeye is refused with
	// the reason (see the package README).
	EnvSource = "DATASEV_LINEAGE_SOURCE"
	// EnvMarquezURL is Marquez's base URL, e.g. http://marquez:5000
	// (required with DATASEV_LINEAGE_SOURCE=marquez).
	EnvMarquezURL = "DATASEV_LINEAGE_MARQUEZ_URL"
	// EnvMarquezNamespace is the dataset namespace a bare node name is
	// looked up in.
	EnvMarquezNamespace = "DATASEV_LINEAGE_MARQUEZ_NAMESPACE"
	// EnvMarquezAPIKey is a bearer token for a Marquez behind an
	// authenticating proxy; EnvMarquezAPIKey+"_FILE" names a file holding
	// it.
	EnvMarquezAPIKey = "DATASEV_LINEAGE_MARQUEZ_API_KEY"
	// EnvMarquezTimeout bounds one lineage request (default 30s).
	EnvMarquezTimeout = "DATASEV_LINEAGE_MARQUEZ_TIMEOUT"
	// EnvMarquezMaxDepth is the deepest lineage asked for, in datasets
	// (default 20, at most 100); a step's depth 0 means this.
	EnvMarquezMaxDepth = "DATASEV_LINEAGE_MARQUEZ_MAX_DEPTH"
	// EnvMarquezMaxNodes bounds a response's nodes (default 20000).
	EnvMarquezMaxNodes = "DATASEV_LINEAGE_MARQUEZ_MAX_NODES"
	// EnvMarquezMaxBytes bounds a response's size (default 64MB).
	EnvMarquezMaxBytes = "DATASEV_LINEAGE_MARQUEZ_MAX_BYTES"
	// EnvMarquezTTL is how long a fetched graph is reused (default 1m;
	// 0s fetches every time).
	EnvMarquezTTL = "DATASEV_LINEAGE_MARQUEZ_TTL"
)

// SourceConfig chooses the deployment's lineage source.
type SourceConfig struct {
	// Kind is SourceManifest ("" too) or SourceMarquez.
	Kind string
	// Marquez configures the Marquez source (Kind SourceMarquez).
	Marquez MarquezConfig
}

// String describes the source without secrets.
func (c SourceConfig) String() string {
	if c.Kind == SourceMarquez {
		return c.Marquez.withDefaults().String()
	}
	return "dbt manifests"
}

// bigeyeRefusal says why DATASEV_LINEAGE_SOURCE=bigeye is refused.
const bigeyeRefusal = "Bigeye is not supported: its lineage graph API's response shape is not publicly documented, " +
	"and datasev does not guess one (see activities/actions/lineage/README.md, \"Bigeye\"); use manifest or marquez"

// SourceFromEnv reads DATASEV_LINEAGE_SOURCE and the DATASEV_LINEAGE_MARQUEZ_*
// variables through getenv: the zero SourceConfig (manifests) when the
// source is unset.
func SourceFromEnv(getenv func(string) string) (SourceConfig, error) {
	kind := strings.ToLower(strings.TrimSpace(getenv(EnvSource)))
	switch kind {
	case "", SourceManifest:
		return SourceConfig{Kind: kind}, nil
	case SourceBigeye:
		return SourceConfig{}, fmt.Errorf("%s=%s: %s", EnvSource, kind, bigeyeRefusal)
	case SourceMarquez:
	default:
		return SourceConfig{}, fmt.Errorf("%s=%q: want manifest or marquez", EnvSource, kind)
	}
	c := MarquezConfig{
		URL:       strings.TrimSpace(getenv(EnvMarquezURL)),
		Namespace: strings.TrimSpace(getenv(EnvMarquezNamespace)),
	}
	if c.URL == "" {
		return SourceConfig{}, fmt.Errorf("%s=marquez needs %s, Marquez's base URL (e.g. http://marquez:5000)", EnvSource, EnvMarquezURL)
	}
	if u, err := url.Parse(c.URL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.RawQuery != "" {
		return SourceConfig{}, fmt.Errorf("%s=%q: want an http(s) base URL such as http://marquez:5000, without credentials or query", EnvMarquezURL, c.URL)
	}
	var err error
	if c.APIKey, err = secret.FromEnv(getenv, EnvMarquezAPIKey); err != nil {
		return SourceConfig{}, err
	}
	if v := strings.TrimSpace(getenv(EnvMarquezTimeout)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 10*time.Minute {
			return SourceConfig{}, fmt.Errorf("%s=%q: want a duration from 1s to 10m, such as 30s", EnvMarquezTimeout, v)
		}
		c.Timeout = d
	}
	if v := strings.TrimSpace(getenv(EnvMarquezTTL)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 24*time.Hour {
			return SourceConfig{}, fmt.Errorf("%s=%q: want a duration from 0s (fetch every time) to 24h, such as 1m", EnvMarquezTTL, v)
		}
		c.TTL = d
		if d == 0 {
			c.TTL = -1
		}
	}
	if v := strings.TrimSpace(getenv(EnvMarquezMaxDepth)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMarquezDepth {
			return SourceConfig{}, fmt.Errorf("%s=%q: want a whole number from 1 to %d", EnvMarquezMaxDepth, v, maxMarquezDepth)
		}
		c.MaxDepth = n
	}
	if v := strings.TrimSpace(getenv(EnvMarquezMaxNodes)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMarquezNodes {
			return SourceConfig{}, fmt.Errorf("%s=%q: want a whole number from 1 to %d", EnvMarquezMaxNodes, v, maxMarquezNodes)
		}
		c.MaxNodes = n
	}
	if v := strings.TrimSpace(getenv(EnvMarquezMaxBytes)); v != "" {
		n, err := parseBytes(v)
		if err != nil {
			return SourceConfig{}, fmt.Errorf("%s=%q: %w", EnvMarquezMaxBytes, v, err)
		}
		c.MaxBytes = n
	}
	return SourceConfig{Kind: SourceMarquez, Marquez: c}, nil
}

// CacheOptionsFromEnv reads the DATASEV_LINEAGE_* variables through
// getenv, the source's (SourceFromEnv) included; unset variables keep the
// defaults.
func CacheOptionsFromEnv(getenv func(string) string) (CacheOptions, error) {
	var o CacheOptions
	if v := strings.TrimSpace(getenv(EnvCacheEntries)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return CacheOptions{}, fmt.Errorf("%s=%q: want a whole number from 1 to 64", EnvCacheEntries, v)
		}
		o.Entries = n
	}
	if v := strings.TrimSpace(getenv(EnvMaxBytes)); v != "" {
		n, err := parseBytes(v)
		if err != nil {
			return CacheOptions{}, fmt.Errorf("%s=%q: %w", EnvMaxBytes, v, err)
		}
		o.MaxBytes = n
	}
	src, err := SourceFromEnv(getenv)
	if err != nil {
		return CacheOptions{}, err
	}
	o.Source = src
	return o, nil
}

func parseBytes(s string) (int64, error) {
	mult := int64(1)
	u := strings.ToUpper(s)
	for _, suf := range []struct {
		s string
		m int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(u, suf.s); ok {
			u, mult = strings.TrimSpace(rest), suf.m
			break
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n < 1 || n > (1<<40)/mult {
		return 0, fmt.Errorf("want a positive size such as 500MB")
	}
	return n * mult, nil
}
