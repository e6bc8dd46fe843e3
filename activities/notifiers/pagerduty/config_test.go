package pagerdutyact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/workflows"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const testKey = "R0UTINGKEYDATASEVSTANDIN00000001"

func TestConfigFromEnv(t *testing.T) {
	cfg, err := ConfigFromEnv(env(nil))
	if err != nil || cfg.Configured() {
		t.Fatalf("empty: %+v %v", cfg, err)
	}
	file := filepath.Join(t.TempDir(), "sev1")
	if err := os.WriteFile(file, []byte("SEV1R0UTINGKEY000000000000000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = ConfigFromEnv(env(map[string]string{
		EnvRoutingKey: testKey, SeverityKeyEnv[workflows.SEV1] + "_FILE": file,
		EnvEventsURL: "http://127.0.0.1:9/", EnvEventsPerMinute: "60",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RoutingKey("SEV1") != "SEV1R0UTINGKEY000000000000000001" || cfg.RoutingKey("SEV3") != testKey || cfg.RoutingKey("") != testKey {
		t.Errorf("routing: %+v", cfg)
	}
	if cfg.EventsURL != "http://127.0.0.1:9" || cfg.EventsPerMinute != 60 {
		t.Errorf("url %q rate %d", cfg.EventsURL, cfg.EventsPerMinute)
	}
	if s := cfg.String(); strings.Contains(s, testKey) || !strings.Contains(s, "SEV1: own key") {
		t.Errorf("String: %q", s)
	}
	if (Config{SeverityKeys: map[workflows.Severity]string{workflows.SEV1: testKey}}).RoutingKey("SEV2") != "" {
		t.Error("a severity without a key and no default should page no one")
	}
}

func TestConfigFromEnvRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		env  map[string]string
		want string
	}{
		"short key":      {map[string]string{EnvRoutingKey: "abc"}, "a routing key is 32 letters and digits, this one is 3 bytes"},
		"key with space": {map[string]string{SeverityKeyEnv[workflows.SEV2]: strings.Repeat("a", 31) + " "}, "32 letters and digits"},
		"both forms":     {map[string]string{EnvRoutingKey: testKey, EnvRoutingKey + "_FILE": "/x"}, EnvRoutingKey},
		"url":            {map[string]string{EnvRoutingKey: testKey, EnvEventsURL: "ftp://x"}, EnvEventsURL},
		"url creds":      {map[string]string{EnvRoutingKey: testKey, EnvEventsURL: "https://u:p@x"}, "no credentials"},
		"rate":           {map[string]string{EnvRoutingKey: testKey, EnvEventsPerMinute: "500"}, "from 1 to 120"},
	} {
		_, err := ConfigFromEnv(env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("%s: the error echoes the key: %v", name, err)
		}
	}
}
