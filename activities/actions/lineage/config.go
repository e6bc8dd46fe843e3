package lineage

import (
	"fmt"
	"strconv"
	"strings"
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
)

// CacheOptionsFromEnv reads the DATASEV_LINEAGE_* variables through
// getenv; unset variables keep the defaults.
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
