package service_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasev/datasev/worker/service"
)

// The Google Doc store is chosen by its folder, needs its template, and
// is refused beside the GitHub issue store.
func TestLoadConfigGoogleDoc(t *testing.T) {
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"DATASEV_GDOC_FOLDER_ID": "0AFolder", "DATASEV_GDOC_TEMPLATE_ID": "1Template", "DATASEV_GDOC_CREDENTIALS_FILE": key,
		"DATASEV_SEAL_KEY_FILE": filepath.Join(t.TempDir(), "seal.key"),
	}
	get := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}
	}
	cfg, err := service.LoadConfig(get(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.GDoc.Configured() || cfg.GDoc.TemplateID != "1Template" || cfg.GDoc.CredentialsFile != key {
		t.Fatalf("GDoc %+v", cfg.GDoc)
	}
	for _, tc := range []struct {
		name  string
		extra map[string]string
		want  string
	}{
		{"with a repository", map[string]string{"DATASEV_INCIDENT_DOC_REPO": "acme/incidents", "DATASEV_GITHUB_TOKEN": "x"}, "set one"},
		{"without a template", map[string]string{"DATASEV_GDOC_TEMPLATE_ID": ""}, "DATASEV_GDOC_TEMPLATE_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := service.LoadConfig(get(tc.extra))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
}
