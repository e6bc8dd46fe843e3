package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const oncallTestRoster = `team: data-platform
timezone: Europe/Berlin
people:
  - {id: alice}
  - {id: bob}
shifts:
  - {name: day, start: "08:00", end: "20:00", commander: alice}
  - {name: night, start: "20:00", end: "08:00", commander: bob}
`

func runOncallCLI(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(t.Context(), append([]string{"oncall"}, args...), func(k string) string { return env[k] }, &out, &errb)
	return code, out.String() + errb.String()
}

// Malformed commands are usage errors; a well-formed one without a key is
// refused before anything is sent, saying how to sign.
func TestOncallOverrideCLI(t *testing.T) {
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.yaml")
	if err := os.WriteFile(roster, []byte(oncallTestRoster), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATASEV_ROSTER": roster, "HOME": dir, "TEMPORAL_ADDRESS": "127.0.0.1:1"}
	from := time.Now().Add(time.Hour).Format("2006-01-02T15:04")
	until := time.Now().Add(5 * time.Hour).Format("2006-01-02T15:04")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "want a subcommand"},
		{[]string{"swap"}, 2, "unknown subcommand"},
		{[]string{"override", "--role", "commander", "--person", "bob"}, 2, "--from and --until are required"},
		{[]string{"override", "--role", "commander", "--person", "bob", "--from", "tomorrow", "--until", until}, 2, "--from"},
		{[]string{"override", "--cancel", "o1"}, 2, "--by required"},
		{[]string{"override", "--role", "commander", "--person", "zed", "--from", from, "--until", until}, 1, `"zed" is not on the data-platform roster`},
		{[]string{"override", "--role", "commander", "--person", "bob", "--from", until, "--until", from}, 1, "must be before until"},
		{[]string{"override", "--role", "commander", "--person", "bob", "--from", from, "--until", until}, 1, "datasev keygen"},
	} {
		code, out := runOncallCLI(t, env, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("oncall %q: exit %d, output %q; want exit %d containing %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}

func TestParseWhen(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]time.Time{
		"2026-12-05T20:00":          time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC),
		"2026-12-05 20:00":          time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC),
		"2026-12-05T20:00:00-05:00": time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC),
	} {
		got, err := parseWhen(in, berlin)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := parseWhen("at eight", berlin); err == nil {
		t.Error("parseWhen took \"at eight\"")
	}
}
