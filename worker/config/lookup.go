package config

import (
	"os"
	"strings"
)

// EnvLookup adapts a getenv (such as the one Getenv returns) to the Temporal
// SDK's envconfig.EnvLookup, so that envconfig.LoadClientOptions reads the
// TEMPORAL_* settings of the file too. Environ lists the process
// environment's names plus the file's, with their getenv values.
type EnvLookup struct {
	// Getenv answers each lookup.
	Getenv func(string) string
	// File adds its names to Environ (for prefixes such as
	// TEMPORAL_GRPC_META_); nil for none.
	File *File
}

// LookupEnv returns getenv's value and whether it is non-empty.
func (l EnvLookup) LookupEnv(key string) (string, bool) {
	v := l.Getenv(key)
	return v, v != ""
}

// Environ returns KEY=value for every non-empty variable it knows of.
func (l EnvLookup) Environ() []string {
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if seen[k] {
			return
		}
		seen[k] = true
		if v := l.Getenv(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		add(k)
	}
	for _, k := range l.File.Names() {
		add(k)
	}
	return out
}
