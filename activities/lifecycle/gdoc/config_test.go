package gdoc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/activities/lifecycle/gdoc"
)

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

func TestConfigFromEnv(t *testing.T) {
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := writeFile(key, "{}"); err != nil {
		t.Fatal(err)
	}
	off, err := gdoc.ConfigFromEnv(env(nil))
	if err != nil || off.Configured() {
		t.Fatalf("unset: %+v %v, want off", off, err)
	}
	on, err := gdoc.ConfigFromEnv(env(map[string]string{gdoc.EnvFolder: "0AbC_d-1", gdoc.EnvTemplate: "1xyz", gdoc.EnvCredentialsFile: key, gdoc.EnvAPIURL: "http://127.0.0.1:9"}))
	if err != nil || !on.Configured() || on.APIURL != "http://127.0.0.1:9/" {
		t.Fatalf("set: %+v %v", on, err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"template without folder", map[string]string{gdoc.EnvTemplate: "1xyz"}, gdoc.EnvFolder},
		{"folder without template", map[string]string{gdoc.EnvFolder: "0Ab"}, gdoc.EnvTemplate},
		{"folder not an ID", map[string]string{gdoc.EnvFolder: "https://drive.google.com/x y", gdoc.EnvTemplate: "1xyz"}, gdoc.EnvFolder},
		{"template not an ID", map[string]string{gdoc.EnvFolder: "0Ab", gdoc.EnvTemplate: "../x"}, gdoc.EnvTemplate},
		{"missing key file", map[string]string{gdoc.EnvFolder: "0Ab", gdoc.EnvTemplate: "1x", gdoc.EnvCredentialsFile: key + ".gone"}, gdoc.EnvCredentialsFile},
		{"http to a remote host", map[string]string{gdoc.EnvFolder: "0Ab", gdoc.EnvTemplate: "1x", gdoc.EnvAPIURL: "http://docs.example.com/"}, "loopback"},
		{"not a URL", map[string]string{gdoc.EnvFolder: "0Ab", gdoc.EnvTemplate: "1x", gdoc.EnvAPIURL: "ftp://x"}, gdoc.EnvAPIURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gdoc.ConfigFromEnv(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %s", err, tc.want)
			}
		})
	}
}
