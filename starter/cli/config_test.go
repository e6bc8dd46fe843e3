package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/datasev/datasev/starter/dev/devstack"
	"github.com/datasev/datasev/worker/config"
)

// runCheck runs `datasev <args>` with env as the whole environment (plus a
// temporal.toml that does not exist, so the host's profile cannot leak in).
func runCheck(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	if _, ok := env["TEMPORAL_CONFIG_FILE"]; !ok {
		env["TEMPORAL_CONFIG_FILE"] = filepath.Join(t.TempDir(), "none.toml")
	}
	var out, errb bytes.Buffer
	code := Run(t.Context(), args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

func writeTemp(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkOf returns the check line of part, or "".
func checkOf(out, part string) string {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(part) + `\s+.*$`).FindString(out)
	return m
}

func TestConfigCheckSample(t *testing.T) {
	code, out, errs := runCheck(t, map[string]string{config.EnvConfig: filepath.Join("..", "..", "worker", "datasev.example.yaml")}, "config", "check")
	if code != 0 {
		t.Fatalf("the sample fails config check: exit %d\n%s%s", code, out, errs)
	}
	for part, want := range map[string]string{
		"config":   "ok       ",
		"temporal": "ok       127.0.0.1:7233 namespace default (TLS off)",
		"worker":   "ok       task queue datasev, log json/info, metrics on 127.0.0.1:9464",
		"s3":       "region us-east-1",
		"airflow":  "off      set DATASEV_AIRFLOW_URL to enable",
		"runbooks": "ok",
	} {
		if l := checkOf(out, part); !strings.Contains(l, want) {
			t.Errorf("%s line %q, want it to contain %q\n%s", part, l, want, out)
		}
	}
}

func TestConfigCheckWithoutFile(t *testing.T) {
	code, out, errs := runCheck(t, map[string]string{}, "config", "check")
	if code != 0 || !strings.Contains(checkOf(out, "config"), "off") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestConfigCheckUnknownKey(t *testing.T) {
	p := writeTemp(t, "datasev.yaml", "worker:\n  task_queue: q\n  log_formt: json\n")
	code, out, errs := runCheck(t, map[string]string{config.EnvConfig: p}, "config", "check")
	want := p + `:3: unknown key worker.log_formt; did you mean "worker.log_format"?`
	if code != 1 || !strings.Contains(checkOf(out, "config"), "error") || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want 1 and %q\n%s%s", code, want, out, errs)
	}
	// Other commands refuse to run on a bad file, naming it.
	code, _, errs = runCheck(t, map[string]string{config.EnvConfig: p}, "list")
	if code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("list with a bad file: exit %d\n%s", code, errs)
	}
}

func TestConfigCheckRefusesSecretInFile(t *testing.T) {
	p := writeTemp(t, "datasev.yaml", "github:\n  token: ghp_supersecret\n")
	code, out, errs := runCheck(t, map[string]string{config.EnvConfig: p}, "config", "check")
	if code != 1 || !strings.Contains(out, p+":2: github.token is a secret") || !strings.Contains(out, "token_file") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out+errs, "ghp_supersecret") {
		t.Fatalf("the secret is printed:\n%s%s", out, errs)
	}
}

func TestConfigCheckEnvironmentOverridesFile(t *testing.T) {
	p := writeTemp(t, "datasev.yaml", "worker: {task_queue: from-file, log_level: debug}\ntemporal: {address: 127.0.0.1:1, namespace: filens}\n")
	code, out, errs := runCheck(t, map[string]string{config.EnvConfig: p, "DATASEV_TASK_QUEUE": "from-env", "TEMPORAL_NAMESPACE": "envns"}, "config", "check")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if l := checkOf(out, "worker"); !strings.Contains(l, "task queue from-env, log text/debug") {
		t.Errorf("worker line %q: want the environment's queue and the file's level", l)
	}
	if l := checkOf(out, "temporal"); !strings.Contains(l, "127.0.0.1:1 namespace envns") {
		t.Errorf("temporal line %q: want the file's address and the environment's namespace", l)
	}
}

func TestConfigCheckBrokenIntegration(t *testing.T) {
	tok := writeTemp(t, "slack_token", "xoxb-very-secret\n")
	p := writeTemp(t, "datasev.yaml", "github:\n  token_file: /nonexistent/github_token\nslack: {bot_token_file: "+tok+"}\nworker: {roster: ../../runbooks/roster.yaml}\n")
	code, out, errs := runCheck(t, map[string]string{config.EnvConfig: p}, "config", "check")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	if l := checkOf(out, "github"); !strings.Contains(l, "error") || !strings.Contains(l, "DATASEV_GITHUB_TOKEN_FILE") {
		t.Errorf("github line %q: want an error naming DATASEV_GITHUB_TOKEN_FILE", l)
	}
	if l := checkOf(out, "slack"); !strings.Contains(l, "ok       bot token from file") {
		t.Errorf("slack line %q", l)
	}
	if l := checkOf(out, "roster"); !strings.Contains(l, "ok") {
		t.Errorf("roster line %q", l)
	}
	if strings.Contains(out+errs, "xoxb-very-secret") {
		t.Fatalf("the Slack token is printed:\n%s", out)
	}
	// Fixed through the environment, the same file passes.
	gh := writeTemp(t, "github_token", "ghp_fromfile\n")
	code, out, errs = runCheck(t, map[string]string{config.EnvConfig: p, "DATASEV_GITHUB_TOKEN_FILE": gh}, "config", "check")
	if code != 0 || !strings.Contains(checkOf(out, "github"), "ok       token from file") || strings.Contains(out, "ghp_fromfile") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestConfigCheckUsage(t *testing.T) {
	if code, _, _ := runCheck(t, map[string]string{}, "config"); code != 2 {
		t.Errorf("`config` without check: exit %d, want 2", code)
	}
	if code, _, _ := runCheck(t, map[string]string{}, "config", "frob"); code != 2 {
		t.Errorf("`config frob`: exit %d, want 2", code)
	}
}

// --connect against a dev server: the namespace and search attributes
// exist (devstack adds them); an unknown namespace is an error line.
func TestConfigCheckConnect(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	srv, err := devstack.Start(ctx, devstack.Options{DBFile: filepath.Join(t.TempDir(), "t.db"), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	t.Cleanup(func() { srv.Stop() })
	p := writeTemp(t, "datasev.yaml", "temporal: {address: "+srv.HostPort()+"}\n")
	code, out, errs := runCheck(t, map[string]string{config.EnvConfig: p}, "config", "check", "--connect")
	if code != 0 || !strings.Contains(checkOf(out, "connect"), "ok       "+srv.HostPort()+" namespace default, 5 search attributes present") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCheck(t, map[string]string{config.EnvConfig: p, "TEMPORAL_NAMESPACE": "no-such-ns"}, "config", "check", "--connect")
	if code != 1 || !strings.Contains(checkOf(out, "connect"), "error    namespace no-such-ns") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

// --config names the file as DATASEV_CONFIG does, and the file's temporal
// section reaches the CLI's own connection, gRPC metadata included.
func TestConfigFlagAndTemporalSection(t *testing.T) {
	p := writeTemp(t, "datasev.yaml", "temporal:\n  address: 127.0.0.1:7299\n  namespace: incidents\n  grpc_meta_x_tenant: acme\n")
	code, out, errs := runCheck(t, map[string]string{}, "--config", p, "config", "check")
	if l := checkOf(out, "temporal"); code != 0 || !strings.Contains(l, "127.0.0.1:7299 namespace incidents") {
		t.Errorf("--config FILE config check: exit %d, temporal line %q\n%s%s", code, l, out, errs)
	}
	code, out, _ = runCheck(t, map[string]string{}, "--config="+p, "config", "check")
	if l := checkOf(out, "temporal"); code != 0 || !strings.Contains(l, "127.0.0.1:7299") {
		t.Errorf("--config=FILE: exit %d, temporal line %q", code, l)
	}

	var e *env
	getenv := func(k string) string {
		if k == "TEMPORAL_CONFIG_FILE" {
			return filepath.Join(t.TempDir(), "none.toml")
		}
		return ""
	}
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	e = &env{getenv: f.Getenv(getenv), file: f, stderr: &bytes.Buffer{}}
	opts, err := clientOptions(e)
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "127.0.0.1:7299" || opts.Namespace != "incidents" {
		t.Errorf("client options %s/%s, want the file's address and namespace", opts.HostPort, opts.Namespace)
	}
	if got := opts.HeadersProvider; got == nil {
		t.Fatal("no gRPC metadata from the file's grpc_meta_x_tenant")
	}
	h, err := opts.HeadersProvider.GetHeaders(t.Context())
	if err != nil || h["x-tenant"] != "acme" {
		t.Errorf("gRPC metadata %v %v, want x-tenant: acme", h, err)
	}

	if code, _, errs := runCheck(t, map[string]string{}, "--config"); code != exitUsage || !strings.Contains(errs, "--config needs a file") {
		t.Errorf("bare --config: exit %d %q, want a usage error", code, errs)
	}
	if code, _, errs := runCheck(t, map[string]string{}, "--config", filepath.Join(t.TempDir(), "missing.yaml"), "list"); code != exitFailure || !strings.Contains(errs, "missing.yaml") {
		t.Errorf("--config with a missing file: exit %d %q, want a failure naming the file", code, errs)
	}
}

// config check names the lineage source in use, and never prints
// Marquez's API key.
func TestConfigCheckLineageSource(t *testing.T) {
	code, out, errs := runCheck(t, map[string]string{}, "config", "check")
	if l := checkOf(out, "lineage"); code != 0 || !strings.Contains(l, "ok       source dbt manifests; manifest cache") {
		t.Errorf("exit %d, lineage line %q, want the default source (dbt manifests)\n%s%s", code, l, out, errs)
	}
	const key = "marquez-key-do-not-print"
	code, out, errs = runCheck(t, map[string]string{
		"DATASEV_LINEAGE_SOURCE": "marquez", "DATASEV_LINEAGE_MARQUEZ_URL": "http://marquez:5000",
		"DATASEV_LINEAGE_MARQUEZ_NAMESPACE": "prod", "DATASEV_LINEAGE_MARQUEZ_API_KEY": key,
	}, "config", "check")
	if l := checkOf(out, "lineage"); code != 0 || !strings.Contains(l, "ok       source marquez http://marquez:5000 namespace prod, API key set") {
		t.Errorf("exit %d, lineage line %q, want the Marquez source\n%s%s", code, l, out, errs)
	}
	if strings.Contains(out+errs, key) {
		t.Errorf("config check printed Marquez's API key:\n%s%s", out, errs)
	}
}
