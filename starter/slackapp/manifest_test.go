package slackapp

import (
	"net/url"
	"os"
	"slices"
	"testing"

	"github.com/goccy/go-yaml"
)

// The app manifest people install from points at the routes this handler
// serves and grants every scope the notifier and the intake use.
func TestManifest(t *testing.T) {
	b, err := os.ReadFile("manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct {
				Command string `yaml:"command"`
				URL     string `yaml:"url"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil { // keys not modelled here are fine
		t.Fatalf("manifest.yaml: %v", err)
	}
	path := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("url %q: %v", raw, err)
		}
		return u.Path
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/incident" ||
		path(m.Features.SlashCommands[0].URL) != "/slack/commands" {
		t.Errorf("slash commands %+v: want /incident at /slack/commands", m.Features.SlashCommands)
	}
	if !m.Settings.Interactivity.Enabled || path(m.Settings.Interactivity.RequestURL) != "/slack/interactions" {
		t.Errorf("interactivity %+v: want enabled at /slack/interactions", m.Settings.Interactivity)
	}
	// commands: /incident; chat:write: posts; channels:manage: create,
	// invite, purpose; channels:read: list, info; channels:join: join;
	// groups:*: private incident channels; im:write: DMs; users:read: users.info;
	// channels:history and groups:history: slack.notify_consumers reads a
	// consumer channel's recent messages for its earlier notice.
	for _, scope := range []string{"commands", "chat:write", "channels:manage", "channels:read", "channels:join", "groups:write", "groups:read", "im:write", "users:read",
		"channels:history", "groups:history"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("bot scopes %v lack %s", m.OAuth.Scopes.Bot, scope)
		}
	}
}
