package main

// The production-like stack: ../docker-compose.yml, loaded with the Compose
// specification's own Go loader, and worker/Dockerfile, read line by line.
// No Docker engine is needed; these tests are how the files are known to be
// right. The important one is TestComposeEnvironmentCoversCode: every
// variable the programs read is either passed to the worker or the intake, or
// listed in undeployedEnv with the reason it is left out, so a variable added
// to the code fails here until someone decides.

import (
	"bufio"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/starter/slackapp"
	"github.com/datasev/datasev/worker/codec"
	"github.com/datasev/datasev/worker/service"
)

// undeployedEnv lists the variables the code reads that the stack
// deliberately does not set in the worker or intake environment, each with
// its reason. A name ending in "_" is a prefix the code completes. The
// README's Deploy section repeats the list for operators.
var undeployedEnv = map[string]string{
	// The configuration file (worker/config): the stack configures by
	// environment; a mounted file is optional.
	"DATASEV_CONFIG": "the stack configures by environment; a config file is optional (mount it and set DATASEV_CONFIG)",
	// Temporal client settings (the SDK's envconfig). An empty TEMPORAL_TLS_*
	// variable switches TLS on, so these cannot be passed through empty:
	// operators put the ones they need in the optional temporal.env.
	"TEMPORAL_TLS_CLIENT_CERT_PATH":          "in temporal.env when mTLS is used (certificate mounted as a secret)",
	"TEMPORAL_TLS_CLIENT_KEY_PATH":           "in temporal.env when mTLS is used (key mounted as a secret)",
	"TEMPORAL_TLS_CLIENT_CERT_DATA":          "in temporal.env; prefer the _PATH form with a secret file",
	"TEMPORAL_TLS_CLIENT_KEY_DATA":           "in temporal.env; prefer the _PATH form with a secret file",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH":       "in temporal.env for a private CA",
	"TEMPORAL_TLS_SERVER_CA_CERT_DATA":       "in temporal.env for a private CA",
	"TEMPORAL_TLS_SERVER_NAME":               "in temporal.env when the server name differs from the address",
	"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "in temporal.env; never for production",
	"TEMPORAL_PROFILE":                       "in temporal.env with TEMPORAL_CONFIG_FILE, for a temporal.toml profile",
	"TEMPORAL_CONFIG_FILE":                   "in temporal.env, naming a temporal.toml mounted as a secret",
	"TEMPORAL_CLIENT_AUTHORITY":              "in temporal.env when a proxy needs a :authority override",
	"TEMPORAL_GRPC_META_":                    "in temporal.env for extra gRPC headers",
	"TEMPORAL_CODEC_ENDPOINT":                "the SDK's remote codec; datasev encrypts in process (DATASEV_CODEC_KEYS_FILE). The UI's own TEMPORAL_CODEC_ENDPOINT is set on temporal-ui",
	"TEMPORAL_CODEC_AUTH":                    "the SDK's remote codec, unused: datasev encrypts in process",

	// The CLI's: a person's own key, never on a server.
	"DATASEV_KEY_FILE": "the CLI's key file, a person's own (datasev keygen); servers sign nothing as a person",
	// Inline secrets: the stack passes secrets as files only.
	"DATASEV_CODEC_KEY":    "inline key; the stack uses DATASEV_CODEC_KEYS_FILE (the codec_keys secret)",
	"DATASEV_CODEC_KEY_ID": "goes with DATASEV_CODEC_KEY, unused with a keys file",

	// A trap today: the intake and the CLI always start incidents on the
	// task queue "datasev" (workflows.TaskQueue), so a worker moved elsewhere
	// would strand every incident.

	// Development only.
	"DATASEV_CODEC_ALLOW_UNAUTHENTICATED": "a loopback development UI only; a deployed codec endpoint needs DATASEV_CODEC_AUTH_TOKEN_FILE",
	"DATASEV_SLACK_API_URL":               "points Slack's Web API at the stand-in (tests and the dev stack, `go run ./starter/dev`)",
	"DATASEV_TEMPORAL_CLI":                "the dev stack (`go run ./starter/dev`) only: the Temporal CLI binary it runs",

	// Notifier pacing: the defaults suit the stack.
	"DATASEV_NOTIFY_PAGE_BURST":    "pacing defaults (3 pages at once, then a digest every 15s); tune in the config file's notify section",
	"DATASEV_NOTIFY_PAGE_WINDOW":   "pacing defaults; tune in the config file's notify section",
	"DATASEV_NOTIFY_POST_BURST":    "pacing defaults (3 posts at once, then one a second per channel); tune in the config file's notify section",
	"DATASEV_NOTIFY_POST_INTERVAL": "pacing defaults; tune in the config file's notify section",

	// Built but not wired into the worker yet (README: "Email and status page").
	"DATASEV_SMTP_PASSWORD":      "secrets go in files: DATASEV_SMTP_PASSWORD_FILE",
	"DATASEV_EMAIL_LEADERSHIP_":  "a prefix, not a variable: DATASEV_EMAIL_LEADERSHIP_SEV1 … _SEV5 are set",
	"DATASEV_STATUSPAGE_API_KEY": "secrets go in files: DATASEV_STATUSPAGE_API_KEY_FILE",
	"DATASEV_STATUSPAGE_API_URL": "stand-ins only (the API's own address is the default)",

	// Integrations added after the stack was laid out (docs/deploy.md,
	// "Deliberately not set by the stack").
	"DATASEV_DBTCLOUD_TOKEN":                  "secrets go in files: DATASEV_DBTCLOUD_TOKEN_FILE",
	"DATASEV_DBTCLOUD_TOKEN_FILE":             "optional integration added after the stack: the config file's dbtcloud section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_DBTCLOUD_URL":                    "optional integration added after the stack: the config file's dbtcloud section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_GDOC_API_URL":                    "stand-ins only (Google's own endpoints are the default)",
	"DATASEV_GDOC_CREDENTIALS_FILE":           "optional integration added after the stack: the config file's gdoc section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_GDOC_FOLDER_ID":                  "optional integration added after the stack: the config file's gdoc section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_GDOC_TEMPLATE_ID":                "optional integration added after the stack: the config file's gdoc section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_INTAKE_PAGERDUTY_KEY_FILE":       "optional: PagerDuty acknowledgements; mount the intake's key as a secret and set it (docs/integrations.md)",
	"DATASEV_JIRA_API_TOKEN":                  "secrets go in files: DATASEV_JIRA_API_TOKEN_FILE",
	"DATASEV_JIRA_API_TOKEN_FILE":             "optional integration added after the stack: the config file's jira section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_JIRA_EMAIL":                      "optional integration added after the stack: the config file's jira section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_JIRA_ISSUE_TYPE":                 "optional integration added after the stack: the config file's jira section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_JIRA_OAUTH_TOKEN":                "secrets go in files: DATASEV_JIRA_OAUTH_TOKEN_FILE",
	"DATASEV_JIRA_OAUTH_TOKEN_FILE":           "optional integration added after the stack: the config file's jira section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_JIRA_PROJECT":                    "optional integration added after the stack: the config file's jira section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_JIRA_URL":                        "optional integration added after the stack: the config file's jira section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_MARQUEZ_API_KEY":         "secrets go in files: DATASEV_LINEAGE_MARQUEZ_API_KEY_FILE",
	"DATASEV_LINEAGE_MARQUEZ_API_KEY_FILE":    "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_MARQUEZ_MAX_BYTES":       "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_MARQUEZ_MAX_DEPTH":       "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_MARQUEZ_MAX_NODES":       "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_MARQUEZ_NAMESPACE":       "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_MARQUEZ_TIMEOUT":         "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_MARQUEZ_TTL":             "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_MARQUEZ_URL":             "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_LINEAGE_SOURCE":                  "optional integration added after the stack: the config file's lineage section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_ONCALL_SOURCE":                   "optional integration added after the stack: the config file's oncall section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_API_TOKEN":             "secrets go in files: DATASEV_PAGERDUTY_API_TOKEN_FILE",
	"DATASEV_PAGERDUTY_API_TOKEN_FILE":        "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_API_URL":               "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_ESCALATION_POLICY_IDS": "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_EVENTS_PER_MINUTE":     "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_EVENTS_URL":            "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_LEVELS":                "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_ROUTING_KEY":           "secrets go in files: DATASEV_PAGERDUTY_ROUTING_KEY_FILE",
	"DATASEV_PAGERDUTY_ROUTING_KEY_FILE":      "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_SCHEDULE_IDS":          "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_SEV1_ROUTING_KEY":      "secrets go in files: DATASEV_PAGERDUTY_SEV1_ROUTING_KEY_FILE",
	"DATASEV_PAGERDUTY_SEV1_ROUTING_KEY_FILE": "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_SEV2_ROUTING_KEY":      "secrets go in files: DATASEV_PAGERDUTY_SEV2_ROUTING_KEY_FILE",
	"DATASEV_PAGERDUTY_SEV2_ROUTING_KEY_FILE": "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_SEV3_ROUTING_KEY":      "secrets go in files: DATASEV_PAGERDUTY_SEV3_ROUTING_KEY_FILE",
	"DATASEV_PAGERDUTY_SEV3_ROUTING_KEY_FILE": "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_SEV4_ROUTING_KEY":      "secrets go in files: DATASEV_PAGERDUTY_SEV4_ROUTING_KEY_FILE",
	"DATASEV_PAGERDUTY_SEV4_ROUTING_KEY_FILE": "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
	"DATASEV_PAGERDUTY_SEV5_ROUTING_KEY":      "secrets go in files: DATASEV_PAGERDUTY_SEV5_ROUTING_KEY_FILE",
	"DATASEV_PAGERDUTY_SEV5_ROUTING_KEY_FILE": "optional integration added after the stack: the config file's pagerduty section, or the worker's environment (secrets as *_FILE naming a mounted secret)",
}

// pinnedEnv are the variables the compose file sets to fixed values (paths
// inside the container) rather than passing them through from .env.
var pinnedEnv = map[string]string{
	"DATASEV_ROSTER":                       "/etc/datasev/roster.yaml",
	"DATASEV_RUNBOOKS":                     "/etc/datasev/runbooks",
	"DATASEV_POSTMORTEM_DIR":               "/var/lib/datasev/postmortems",
	"DATASEV_INCIDENT_DOC_DIR":             "/var/lib/datasev/incidents",
	"SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true",
	"SF_DISABLE_MINICORE":                  "true",
}

// Services of the stack; the one-shot ones run to completion.
var (
	stackServices = []string{"postgresql", "temporal-schema", "temporal", "temporal-setup", "temporal-ui", "worker", "intake"}
	oneShots      = []string{"temporal-schema", "temporal-setup"}
	datasevApps   = []string{"worker", "intake"}
)

// baseEnv is the fixed .env the tests load the compose file with.
var baseEnv = map[string]string{"POSTGRES_PASSWORD": "test-password"}

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

// loadCompose loads the compose file at path with env as the only
// environment, paths resolved against the repository root.
func loadCompose(t testing.TB, ctx context.Context, path string, env map[string]string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	return loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: path}},
		Environment: types.Mapping(env),
	}, func(o *loader.Options) {
		o.SetProjectName("datasev", true)
		o.ResolvePaths = true
	})
}

func loadStack(t testing.TB, env map[string]string) *types.Project {
	t.Helper()
	p, err := loadCompose(t, context.Background(), filepath.Join(repoRoot(t), "docker-compose.yml"), env)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

func svc(t testing.TB, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}

func TestComposeServices(t *testing.T) {
	p := loadStack(t, baseEnv)
	got := p.ServiceNames()
	sort.Strings(got)
	want := slices.Clone(stackServices)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
}

func TestComposeImagesPinned(t *testing.T) {
	p := loadStack(t, baseEnv)
	for _, s := range p.Services {
		if s.Image == "" {
			t.Errorf("%s: no image name", s.Name)
			continue
		}
		if _, tag, ok := imageTag(s.Image); !ok || tag == "latest" || tag == "" {
			t.Errorf("%s: image %q is not pinned to a tag", s.Name, s.Image)
		}
		if slices.Contains(datasevApps, s.Name) {
			continue
		}
		if s.Build != nil {
			t.Errorf("%s: only the worker and the intake are built here", s.Name)
		}
	}
}

// imageTag splits "repo/name:tag" (a registry port is not a tag).
func imageTag(ref string) (name, tag string, ok bool) {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "", false
	}
	return ref[:i], ref[i+1:], true
}

func TestComposeAppsBuiltFromWorkerDockerfile(t *testing.T) {
	root := repoRoot(t)
	p := loadStack(t, baseEnv)
	var images []string
	for _, name := range datasevApps {
		s := svc(t, p, name)
		if s.Build == nil {
			t.Errorf("%s: not built", name)
			continue
		}
		if s.Build.Context != root {
			t.Errorf("%s: build context %q, want the repository root %q", name, s.Build.Context, root)
		}
		df := s.Build.Dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(s.Build.Context, df)
		}
		if df != filepath.Join(root, "worker", "Dockerfile") {
			t.Errorf("%s: dockerfile %q, want worker/Dockerfile", name, s.Build.Dockerfile)
		}
		images = append(images, s.Image)
	}
	if len(images) == 2 && images[0] != images[1] {
		t.Errorf("worker and intake images differ (%q, %q): they are one image", images[0], images[1])
	}
	df := readDockerfile(t)
	for _, name := range datasevApps {
		s := svc(t, p, name)
		if len(s.Command) == 0 || !slices.Contains(df.binaries, s.Command[0]) {
			t.Errorf("%s: command %q does not run a binary the Dockerfile builds (%v)", name, s.Command, df.binaries)
		}
	}
	if got := svc(t, p, "worker").Command; !slices.Equal(got, []string{"datasev-worker"}) {
		t.Errorf("worker command = %q", got)
	}
	if got := svc(t, p, "intake").Command; !slices.Equal(got, []string{"datasev", "serve", "--addr", "0.0.0.0:8080"}) {
		t.Errorf("intake command = %q", got)
	}
}

func TestComposePorts(t *testing.T) {
	p := loadStack(t, baseEnv)
	want := map[string]string{
		"temporal-ui": "127.0.0.1:8233->8080",
		"intake":      "0.0.0.0:8080->8080",
	}
	for _, s := range p.Services {
		var got []string
		for _, port := range s.Ports {
			got = append(got, port.HostIP+":"+port.Published+"->"+strconv.Itoa(int(port.Target)))
		}
		w, meant := want[s.Name]
		switch {
		case !meant && len(got) > 0:
			t.Errorf("%s publishes %v; only the UI and the intake are published", s.Name, got)
		case meant && !slices.Equal(got, []string{w}):
			t.Errorf("%s publishes %v, want [%s]", s.Name, got, w)
		}
	}
	// The worker's metrics endpoint is reachable on the compose network.
	w := svc(t, p, "worker")
	if addr := w.Environment["DATASEV_METRICS_ADDR"]; addr == nil {
		t.Error("worker: DATASEV_METRICS_ADDR not set")
	} else if _, port, err := net.SplitHostPort(*addr); err != nil || !slices.Contains(w.Expose, port) {
		t.Errorf("worker: metrics on %q, exposes %v", *addr, w.Expose)
	}
}

func TestComposeHealthAndOrder(t *testing.T) {
	p := loadStack(t, baseEnv)
	for _, s := range p.Services {
		if slices.Contains(oneShots, s.Name) {
			if s.HealthCheck != nil {
				t.Errorf("%s: a one-shot needs no healthcheck", s.Name)
			}
			if !strings.HasPrefix(s.Restart, "on-failure") {
				t.Errorf("%s: restart %q; a one-shot restarts on failure only", s.Name, s.Restart)
			}
			continue
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 {
			t.Errorf("%s: no healthcheck", s.Name)
		}
		if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
			t.Errorf("%s: restart %q", s.Name, s.Restart)
		}
	}
	const healthy, done = types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully
	want := map[string]map[string]string{
		"postgresql":      {},
		"temporal-schema": {"postgresql": healthy},
		"temporal":        {"postgresql": healthy, "temporal-schema": done},
		"temporal-setup":  {"temporal": healthy},
		"temporal-ui":     {"temporal": healthy},
		"worker":          {"temporal": healthy, "temporal-setup": done},
		"intake":          {"temporal": healthy, "temporal-setup": done},
	}
	for name, deps := range want {
		s := svc(t, p, name)
		got := map[string]string{}
		for d, c := range s.DependsOn {
			got[d] = c.Condition
			if !c.Required {
				t.Errorf("%s: dependency on %s is not required", name, d)
			}
		}
		if len(got) != len(deps) {
			t.Errorf("%s depends on %v, want %v", name, got, deps)
		}
		for d, c := range deps {
			if got[d] != c {
				t.Errorf("%s: depends on %s with %q, want %q", name, d, got[d], c)
			}
		}
	}
	// Every condition is one its target can meet.
	for _, s := range p.Services {
		for d, c := range s.DependsOn {
			target := svc(t, p, d)
			switch c.Condition {
			case healthy:
				if target.HealthCheck == nil {
					t.Errorf("%s waits for %s to be healthy, which has no healthcheck", s.Name, d)
				}
			case done:
				if !slices.Contains(oneShots, d) {
					t.Errorf("%s waits for %s to complete, which runs forever", s.Name, d)
				}
			}
		}
	}
}

func TestComposeVolumesAndSecrets(t *testing.T) {
	p := loadStack(t, baseEnv)
	for _, v := range []string{"postgresql-data", "postmortems", "incidents"} {
		if _, ok := p.Volumes[v]; !ok {
			t.Errorf("named volume %s not declared (volumes: %v)", v, p.VolumeNames())
		}
	}
	w := svc(t, p, "worker")
	if !slices.ContainsFunc(w.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Source == "postmortems" && v.Target == pinnedEnv["DATASEV_POSTMORTEM_DIR"]
	}) {
		t.Errorf("the worker's postmortems are not kept in the postmortems volume: %+v", w.Volumes)
	}
	if !slices.ContainsFunc(w.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Source == "incidents" && v.Target == pinnedEnv["DATASEV_INCIDENT_DOC_DIR"]
	}) {
		t.Errorf("the worker's incident documents are not kept in the incidents volume: %+v", w.Volumes)
	}
	pg := svc(t, p, "postgresql")
	if !slices.ContainsFunc(pg.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Source == "postgresql-data" && v.Target == "/var/lib/postgresql/data"
	}) {
		t.Errorf("postgresql does not keep its data in the postgresql-data volume: %+v", pg.Volumes)
	}
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume {
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("%s: volume %q not declared", s.Name, v.Source)
				}
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := p.Secrets[sec.Source]; !ok {
				t.Errorf("%s: secret %q not declared", s.Name, sec.Source)
			}
		}
	}
	for name, sec := range p.Secrets {
		if sec.File == "" || sec.Environment != "" || sec.Content != "" {
			t.Errorf("secret %s: want a file, got %+v", name, sec)
		}
	}
	for _, name := range datasevApps {
		s := svc(t, p, name)
		mounts := map[string]string{}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				mounts[v.Target] = v.Source
				if !v.ReadOnly {
					t.Errorf("%s: %s is mounted read-write", name, v.Target)
				}
			}
		}
		if mounts["/etc/datasev/roster.yaml"] == "" || mounts["/etc/datasev/runbooks"] == "" {
			t.Errorf("%s: roster or runbooks not mounted: %v", name, mounts)
		}
		// A program reads secret X from NAME_FILE; the file it names must
		// be a secret this service mounts: DATASEV_GITHUB_TOKEN_FILE →
		// /run/secrets/github_token.
		for k := range s.Environment {
			if !strings.HasSuffix(k, "_FILE") {
				continue
			}
			sec := secretFor(k)
			if !slices.ContainsFunc(s.Secrets, func(c types.ServiceSecretConfig) bool { return c.Source == sec }) {
				t.Errorf("%s: %s needs the secret %q mounted", name, k, sec)
			}
		}
	}
}

// secretFor names the secret a *_FILE variable reads.
func secretFor(v string) string {
	if v == "AWS_SHARED_CREDENTIALS_FILE" {
		return "aws_credentials"
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(v, "DATASEV_"), "_FILE"))
}

func TestComposeAppsHardened(t *testing.T) {
	p := loadStack(t, baseEnv)
	for _, name := range datasevApps {
		s := svc(t, p, name)
		if s.User != "" && isRoot(s.User) {
			t.Errorf("%s runs as %q", name, s.User)
		}
		if !s.ReadOnly {
			t.Errorf("%s: root file system not read-only", name)
		}
		if !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: capabilities not dropped", name)
		}
		if s.Deploy == nil || s.Deploy.Resources.Limits == nil || s.Deploy.Resources.Limits.MemoryBytes == 0 {
			t.Errorf("%s: no memory limit", name)
		}
		if !slices.ContainsFunc(s.EnvFiles, func(e types.EnvFile) bool {
			return filepath.Base(e.Path) == "temporal.env" && !bool(e.Required)
		}) {
			t.Errorf("%s: the optional temporal.env (TLS and profile settings) is not read: %+v", name, s.EnvFiles)
		}
	}
	df := readDockerfile(t)
	if df.finalUser == "" || isRoot(df.finalUser) {
		t.Errorf("Dockerfile: final stage USER %q, want a non-root user", df.finalUser)
	}
	// The worker's graceful stop drains activities for StopTimeout; compose
	// must wait longer before it kills the container, with room to close the
	// client. serve shuts its HTTP server down within 20s.
	minGrace := map[string]time.Duration{
		"worker": service.DefaultStopTimeout + 15*time.Second,
		"intake": 20*time.Second + 5*time.Second,
	}
	for name, min := range minGrace {
		s := svc(t, p, name)
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) < min {
			t.Errorf("%s: stop_grace_period %v, want at least %v", name, s.StopGracePeriod, min)
		}
	}
}

func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "root" || u == "0"
}

func TestComposeHealthchecksUseWhatTheImageHas(t *testing.T) {
	p := loadStack(t, baseEnv)
	df := readDockerfile(t)
	intake := svc(t, p, "intake").HealthCheck
	if intake == nil || !slices.Contains(intake.Test, "http://127.0.0.1:8080/readyz") {
		t.Errorf("intake healthcheck %v: want GET /readyz on the port serve listens on", intake)
	} else if intake.Test[1] == "wget" && !strings.HasPrefix(df.finalBase, "alpine:") {
		t.Errorf("intake healthcheck runs wget, but the final image is %s", df.finalBase)
	}
	worker := svc(t, p, "worker")
	hc := worker.HealthCheck
	addr := worker.Environment["DATASEV_METRICS_ADDR"]
	if addr == nil {
		t.Fatal("worker: DATASEV_METRICS_ADDR unset; its healthcheck needs the endpoint")
	}
	_, port, _ := strings.Cut(*addr, ":")
	if hc == nil || !slices.Contains(hc.Test, "http://127.0.0.1:"+port+"/readyz") {
		t.Errorf("worker healthcheck %v: want GET /readyz on the metrics port %s", hc, port)
	} else if hc.Test[1] == "wget" && !strings.HasPrefix(df.finalBase, "alpine:") {
		t.Errorf("worker healthcheck runs wget, but the final image is %s", df.finalBase)
	}
}

// TestComposeRequiresDatabasePassword: the one interpolation that may fail,
// on purpose — there is no default database password.
func TestComposeRequiresDatabasePassword(t *testing.T) {
	_, err := loadCompose(t, t.Context(), filepath.Join(repoRoot(t), "docker-compose.yml"), map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "POSTGRES_PASSWORD") {
		t.Fatalf("load without POSTGRES_PASSWORD: err = %v, want one naming POSTGRES_PASSWORD", err)
	}
}

// TestComposeEnvironmentCoversCode is the important one: every variable the
// programs read is passed through, pinned, or deliberately left out.
func TestComposeEnvironmentCoversCode(t *testing.T) {
	read := readVars(t)
	if len(read) < 40 {
		t.Fatalf("found only %d variables in the code; the scan is broken", len(read))
	}
	// Load with every variable set to a sentinel: one passed through from
	// .env shows the sentinel; the rest must be pinned on purpose.
	env := map[string]string{}
	for k, v := range baseEnv {
		env[k] = v
	}
	for v := range read {
		env[v] = "sentinel-" + v
	}
	p := loadStack(t, env)
	if missing := uncovered(read, p); len(missing) > 0 {
		t.Errorf("variables the code reads that the stack neither sets in the worker or intake environment nor lists in undeployedEnv (decide, and document it in README's Deploy section):\n  %s",
			strings.Join(missing, "\n  "))
	}
	for _, name := range datasevApps {
		for k, v := range svc(t, p, name).Environment {
			switch {
			case v == nil:
				t.Errorf("%s: %s has no value", name, k)
			case pinnedEnv[k] != "":
				if *v != pinnedEnv[k] {
					t.Errorf("%s: %s = %q, want %q", name, k, *v, pinnedEnv[k])
				}
			case read[k] && *v != "sentinel-"+k:
				t.Errorf("%s: %s = %q: not passed through from .env", name, k, *v)
			}
			if _, ok := undeployedEnv[k]; ok {
				t.Errorf("%s: %s is set, yet undeployedEnv says it is left out", name, k)
			}
		}
	}
	// The list stays honest: every entry is still read by the code.
	for k := range undeployedEnv {
		if !read[k] {
			t.Errorf("undeployedEnv lists %s, which the code no longer reads: remove it", k)
		}
	}
}

// TestComposeEnvironmentCheckCatchesRemoval proves the check above can
// fail: the same compose file without one variable's line is caught.
func TestComposeEnvironmentCheckCatchesRemoval(t *testing.T) {
	read := readVars(t)
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, victim := range []string{"DATASEV_GITHUB_MERGE_METHOD", "DATASEV_INTAKE_GENERIC_TOKEN_FILE", "TEMPORAL_ADDRESS"} {
		t.Run(victim, func(t *testing.T) {
			var kept []string
			removed := 0
			for _, line := range strings.Split(string(src), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), victim+":") {
					removed++
					continue
				}
				kept = append(kept, line)
			}
			if removed == 0 {
				t.Fatalf("%s is not in docker-compose.yml", victim)
			}
			path := filepath.Join(t.TempDir(), "docker-compose.yml")
			if err := os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := loadCompose(t, t.Context(), path, baseEnv)
			if err != nil {
				t.Fatalf("load the edited file: %v", err)
			}
			want := strings.TrimSuffix(victim, "_FILE")
			if !slices.Contains(uncovered(read, p), want) {
				t.Fatalf("removing %s went unnoticed", victim)
			}
		})
	}
}

// uncovered returns the variables in read that the worker and intake
// environments do not set (directly, or as the NAME_FILE of a secret) and
// that undeployedEnv does not list. Prefixes (ending in "_") must be listed.
func uncovered(read map[string]bool, p *types.Project) []string {
	set := map[string]bool{}
	for _, name := range datasevApps {
		s, err := p.GetService(name)
		if err != nil {
			continue
		}
		for k := range s.Environment {
			set[k] = true
		}
	}
	var missing []string
	for v := range read {
		if _, ok := undeployedEnv[v]; ok {
			continue
		}
		if !strings.HasSuffix(v, "_") && (set[v] || set[v+"_FILE"]) {
			continue
		}
		missing = append(missing, v)
	}
	sort.Strings(missing)
	return missing
}

var envName = regexp.MustCompile(`^(DATASEV|TEMPORAL)_[A-Z0-9_]*$`)

// readVars collects the environment variables the programs read: the
// "DATASEV_…" and "TEMPORAL_…" string constants in the Go sources of
// worker/, starter/ and activities/ (not tests, testdata or the stand-ins'
// …test packages), and the TEMPORAL_* variables the SDK's envconfig reads.
func readVars(t testing.TB) map[string]bool {
	t.Helper()
	root := repoRoot(t)
	vars := map[string]bool{}
	for _, dir := range []string{"worker", "starter", "activities"} {
		scanLiterals(t, filepath.Join(root, dir), true, vars)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk/contrib/envconfig").Output()
	if err != nil {
		t.Fatalf("locate the SDK's envconfig module: %v", err)
	}
	sdk := map[string]bool{}
	scanLiterals(t, strings.TrimSpace(string(out)), false, sdk)
	if !sdk["TEMPORAL_ADDRESS"] || !sdk["TEMPORAL_TLS_CLIENT_CERT_PATH"] {
		t.Fatalf("envconfig's variables not found in %s: %v", out, sdk)
	}
	for v := range sdk {
		if strings.HasPrefix(v, "TEMPORAL_") {
			vars[v] = true
		}
	}
	return vars
}

// scanLiterals adds the variable-name string literals of the non-test Go
// files under dir to vars. With recurse, subdirectories are scanned too,
// except testdata and stand-in packages (names ending in "test").
func scanLiterals(t testing.TB, dir string, recurse bool, vars map[string]bool) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == dir {
				return nil
			}
			if !recurse || d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
				vars[s] = true
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
}

// dockerfile is what the tests need from worker/Dockerfile.
type dockerfile struct {
	froms     []string // every FROM image
	finalBase string   // the final stage's image
	finalUser string   // the final stage's last USER
	binaries  []string // base names of the go build -o outputs copied into the final stage
	buildCmds []string // the go build commands
	env       []string // ENV lines of the build stage
}

// readDockerfile reads worker/Dockerfile with a minimal line reader:
// continuation lines joined, comments dropped, FROM/USER/COPY/RUN/ENV kept.
func readDockerfile(t testing.TB) dockerfile {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "worker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var df dockerfile
	var built []string
	stages := 0
	for _, l := range lines {
		kw, rest, _ := strings.Cut(l, " ")
		fields := strings.Fields(rest)
		switch strings.ToUpper(kw) {
		case "FROM":
			stages++
			if len(fields) == 0 {
				t.Fatalf("Dockerfile: empty FROM")
			}
			df.froms = append(df.froms, fields[0])
			df.finalBase, df.finalUser = fields[0], ""
		case "USER":
			if len(fields) > 0 {
				df.finalUser = fields[0]
			}
		case "ENV":
			if stages == 1 {
				df.env = append(df.env, fields...)
			}
		case "RUN":
			for _, cmd := range strings.Split(rest, "&&") {
				if strings.Contains(cmd, "go build") {
					df.buildCmds = append(df.buildCmds, strings.TrimSpace(cmd))
					f := strings.Fields(cmd)
					if i := slices.Index(f, "-o"); i >= 0 && i+1 < len(f) {
						built = append(built, f[i+1])
					}
				}
			}
		case "COPY":
			if stages > 1 && len(fields) > 0 && strings.HasPrefix(fields[0], "--from=") {
				for _, src := range fields[1 : len(fields)-1] {
					if slices.Contains(built, src) {
						df.binaries = append(df.binaries, filepath.Base(src))
					}
				}
			}
		}
	}
	return df
}

func TestDockerfile(t *testing.T) {
	df := readDockerfile(t)
	if len(df.froms) < 2 {
		t.Fatalf("FROM lines %v: want a multi-stage build", df.froms)
	}
	for _, from := range df.froms {
		if _, tag, ok := imageTag(from); !ok || tag == "latest" {
			t.Errorf("FROM %s: not pinned to a tag", from)
		}
	}
	if !strings.HasPrefix(df.froms[0], "golang:1.26") {
		t.Errorf("builder %s, want golang:1.26", df.froms[0])
	}
	if !slices.Contains(df.env, "CGO_ENABLED=0") {
		t.Errorf("builder ENV %v: want CGO_ENABLED=0", df.env)
	}
	for _, pkg := range []string{"./worker", "./starter"} {
		i := slices.IndexFunc(df.buildCmds, func(c string) bool { return strings.HasSuffix(c, " "+pkg) })
		if i < 0 {
			t.Errorf("no go build of %s in %v", pkg, df.buildCmds)
			continue
		}
		if c := df.buildCmds[i]; !strings.Contains(c, "-trimpath") || !strings.Contains(c, `-ldflags "-s -w"`) {
			t.Errorf("%q: want -trimpath -ldflags \"-s -w\"", c)
		}
	}
	if !slices.Equal(df.binaries, []string{"datasev-worker", "datasev"}) {
		t.Errorf("binaries in the final image = %v, want [datasev-worker datasev]", df.binaries)
	}
}

func TestDockerignoreKeepsSourcesOut(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, must := range []string{".git", "secrets", ".env", "temporal.env"} {
		if !slices.Contains(lines, must) {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
	for _, l := range lines {
		// The embedded runbook library and email templates must reach the build.
		if l == "runbooks" || l == "runbooks/library" || strings.HasPrefix(l, "activities/notifiers/email") || l == "go.sum" {
			t.Errorf(".dockerignore excludes %s, which the build needs", l)
		}
	}
}

// TestComposeOneShotScripts runs the one-shot jobs' scripts, as compose
// hands them to /bin/sh, against stand-in temporal and temporal-sql-tool
// commands that log their arguments: the schema job creates and migrates
// both databases, and the setup job creates only what is missing.
func TestComposeOneShotScripts(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh here")
	}
	p := loadStack(t, baseEnv)
	for _, tc := range []struct {
		service string
		env     []string
		want    []string
		notWant []string
	}{{
		service: "temporal-schema",
		want: []string{
			"--plugin postgres12 --ep postgresql -p 5432 -u temporal --db temporal create",
			"--plugin postgres12 --ep postgresql -p 5432 -u temporal --db temporal setup-schema -v 0.0",
			"--plugin postgres12 --ep postgresql -p 5432 -u temporal --db temporal update-schema --schema-name postgresql/v12/temporal",
			"--plugin postgres12 --ep postgresql -p 5432 -u temporal --db temporal_visibility create",
			"--plugin postgres12 --ep postgresql -p 5432 -u temporal --db temporal_visibility setup-schema -v 0.0",
			"--plugin postgres12 --ep postgresql -p 5432 -u temporal --db temporal_visibility update-schema --schema-name postgresql/v12/visibility",
		},
	}, {
		service: "temporal-setup",
		want: []string{
			"operator cluster health",
			"operator namespace describe --namespace default",
			"operator namespace create --namespace default --retention 720h",
			"operator search-attribute list --namespace default",
			"operator search-attribute create --namespace default --name DatasevStatus --type Keyword",
			"operator search-attribute create --namespace default --name DatasevCommander --type Keyword",
			"operator search-attribute create --namespace default --name DatasevService --type Keyword",
			"operator search-attribute create --namespace default --name DatasevRunbook --type Keyword",
		},
		notWant: []string{"--name DatasevSeverity"},
	}, {
		service: "temporal-setup",
		env:     []string{"NS_EXISTS=1"},
		notWant: []string{"operator namespace create"},
	}} {
		t.Run(tc.service, func(t *testing.T) {
			s := svc(t, p, tc.service)
			if !slices.Equal(s.Entrypoint, []string{"/bin/sh", "-ec"}) || len(s.Command) != 1 {
				t.Fatalf("entrypoint %q command %q: want /bin/sh -ec and one script", s.Entrypoint, s.Command)
			}
			dir := t.TempDir()
			log := filepath.Join(dir, "calls.log")
			// The stand-in temporal CLI: the namespace exists only with
			// NS_EXISTS, and one datasev attribute is already there.
			fake := `#!/bin/sh
echo "$*" >> "$CALLS"
case "$*" in
"operator namespace describe --namespace default") [ -n "$NS_EXISTS" ] ;;
"operator search-attribute list --namespace default") printf '  Name              Type\n  DatasevSeverity   Keyword\n  CustomStringField Text\n' ;;
esac
`
			for _, name := range []string{"temporal", "temporal-sql-tool"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(fake), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.CommandContext(t.Context(), sh, "-ec", s.Command[0])
			cmd.Env = append([]string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "CALLS=" + log}, tc.env...)
			for k, v := range s.Environment {
				if v != nil {
					cmd.Env = append(cmd.Env, k+"="+*v)
				}
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("script failed: %v\n%s", err, out)
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			calls := strings.Split(strings.TrimSpace(string(b)), "\n")
			for _, w := range tc.want {
				if !slices.Contains(calls, w) {
					t.Errorf("no call %q; calls:\n  %s", w, strings.Join(calls, "\n  "))
				}
			}
			for _, nw := range tc.notWant {
				if slices.ContainsFunc(calls, func(c string) bool { return strings.Contains(c, nw) }) {
					t.Errorf("unexpected call with %q; calls:\n  %s", nw, strings.Join(calls, "\n  "))
				}
			}
		})
	}
}

// containerEnv returns a service's environment as the container sees it,
// with paths under its bind mounts mapped back to the host sources, so the
// programs' own configuration loaders can read it here.
func containerEnv(t testing.TB, s types.ServiceConfig) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range s.Environment {
		if v == nil {
			continue
		}
		env[k] = *v
		for _, m := range s.Volumes {
			if m.Type == types.VolumeTypeBind && (*v == m.Target || strings.HasPrefix(*v, m.Target+"/")) {
				env[k] = m.Source + strings.TrimPrefix(*v, m.Target)
			}
		}
	}
	return env
}

// setProcessEnv makes env the process's only TEMPORAL_* and DATASEV_*
// variables for the test (the SDK's envconfig reads the process
// environment itself).
func setProcessEnv(t *testing.T, env map[string]string) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TEMPORAL_") || strings.HasPrefix(k, "DATASEV_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// TestComposeWorkerConfigLoads runs the worker's own configuration loader
// on the stack's worker environment: the empty pass-through defaults must
// mean "unset" (no TLS switched on by an empty variable, no half-configured
// integration), and an API key from .env must turn on TLS with credentials.
func TestComposeWorkerConfigLoads(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		env := containerEnv(t, svc(t, loadStack(t, baseEnv), "worker"))
		setProcessEnv(t, env)
		cfg, err := service.LoadConfig(os.Getenv)
		if err != nil {
			t.Fatalf("LoadConfig with the stack's environment: %v", err)
		}
		if cfg.Address() != "temporal:7233" || cfg.Namespace() != "default" {
			t.Errorf("Temporal at %s namespace %s, want temporal:7233 default", cfg.Address(), cfg.Namespace())
		}
		if cfg.Client.ConnectionOptions.TLS != nil || cfg.Client.Credentials != nil {
			t.Errorf("TLS %v credentials %v: an empty variable switched them on", cfg.Client.ConnectionOptions.TLS, cfg.Client.Credentials)
		}
		if cfg.LogFormat != "json" || cfg.Roster == nil || cfg.Keyring != nil || cfg.Slack.Configured() || cfg.GitHub.Configured() || cfg.Snowflake.Configured() || cfg.Airflow.URL != "" {
			t.Errorf("config from the defaults: log %s, roster %v, keyring %v, slack %v, github %v, snowflake %v, airflow %q",
				cfg.LogFormat, cfg.Roster != nil, cfg.Keyring != nil, cfg.Slack.Configured(), cfg.GitHub.Configured(), cfg.Snowflake.Configured(), cfg.Airflow.URL)
		}
		if _, err := service.LoadRunbooks(cfg.Runbooks); err != nil {
			t.Errorf("the mounted runbooks: %v", err)
		}
	})
	t.Run("api key", func(t *testing.T) {
		env := map[string]string{"TEMPORAL_API_KEY": "test-key", "TEMPORAL_ADDRESS": "eu-west-1.aws.api.temporal.io:7233", "TEMPORAL_NAMESPACE": "ops.acct"}
		for k, v := range baseEnv {
			env[k] = v
		}
		setProcessEnv(t, containerEnv(t, svc(t, loadStack(t, env), "worker")))
		cfg, err := service.LoadConfig(os.Getenv)
		if err != nil {
			t.Fatalf("LoadConfig: %v", err)
		}
		if cfg.Address() != env["TEMPORAL_ADDRESS"] || cfg.Namespace() != "ops.acct" || cfg.Client.ConnectionOptions.TLS == nil || cfg.Client.Credentials == nil {
			t.Errorf("with an API key: %s %s TLS %v credentials %v", cfg.Address(), cfg.Namespace(), cfg.Client.ConnectionOptions.TLS, cfg.Client.Credentials)
		}
	})
}

// TestComposeIntakeConfigLoads does the same for the front door's loaders.
func TestComposeIntakeConfigLoads(t *testing.T) {
	env := containerEnv(t, svc(t, loadStack(t, baseEnv), "intake"))
	getenv := func(k string) string { return env[k] }
	if _, err := intake.AuthFromEnv(getenv); err != nil {
		t.Errorf("intake secrets: %v", err)
	}
	if c, err := slackapp.ConfigFromEnv(getenv); err != nil || c.Enabled() {
		t.Errorf("slack app: enabled %v, %v", c.Enabled(), err)
	}
	if _, on, err := codec.KeyringFromEnv(getenv); err != nil || on {
		t.Errorf("codec: on %v, %v", on, err)
	}
	if _, err := codec.HandlerOptionsFromEnv(getenv); err != nil {
		t.Errorf("codec endpoint: %v", err)
	}
	if _, err := os.Stat(env["DATASEV_ROSTER"]); err != nil {
		t.Errorf("roster: %v", err)
	}
}
