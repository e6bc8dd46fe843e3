package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "datasev.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

func TestLoadMapsSections(t *testing.T) {
	p := write(t, `
temporal: {address: 127.0.0.1:7233, namespace: default}
worker:   {task_queue: datasev, log_format: json}
github:   {token_file: /run/secrets/github_token}
email:    {leadership_sev1: "cto@example.com"}
s3:
  path_style: true
  max_attempts: 5
notify: {page_burst: 4, page_window: 10s}
`)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"TEMPORAL_ADDRESS":              "127.0.0.1:7233",
		"TEMPORAL_NAMESPACE":            "default",
		"DATASEV_TASK_QUEUE":            "datasev",
		"DATASEV_LOG_FORMAT":            "json",
		"DATASEV_GITHUB_TOKEN_FILE":     "/run/secrets/github_token",
		"DATASEV_EMAIL_LEADERSHIP_SEV1": "cto@example.com",
		"DATASEV_S3_PATH_STYLE":         "true",
		"DATASEV_S3_MAX_ATTEMPTS":       "5",
		"DATASEV_NOTIFY_PAGE_BURST":     "4",
		"DATASEV_NOTIFY_PAGE_WINDOW":    "10s",
	}
	get := f.Getenv(noEnv)
	for k, v := range want {
		if got := get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := len(f.Names()); got != len(want) {
		t.Errorf("file sets %d names %v, want %d", got, f.Names(), len(want))
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	p := write(t, "worker: {task_queue: from-file, log_level: debug}\n")
	env := map[string]string{EnvConfig: p, "DATASEV_TASK_QUEUE": "from-env"}
	get, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := get("DATASEV_TASK_QUEUE"); got != "from-env" {
		t.Errorf("DATASEV_TASK_QUEUE = %q, want the environment's from-env", got)
	}
	if got := get("DATASEV_LOG_LEVEL"); got != "debug" {
		t.Errorf("DATASEV_LOG_LEVEL = %q, want the file's debug", got)
	}
}

func TestFromEnvWithoutFile(t *testing.T) {
	get, err := FromEnv(func(k string) string {
		if k == "X" {
			return "y"
		}
		return ""
	})
	if err != nil || get("X") != "y" {
		t.Fatalf("FromEnv without DATASEV_CONFIG: %v, X=%q", err, get("X"))
	}
	if _, err := FromEnv(func(k string) string { return map[string]string{EnvConfig: "/nonexistent/x.yaml"}[k] }); err == nil || !strings.Contains(err.Error(), "DATASEV_CONFIG") {
		t.Fatalf("missing file: err = %v, want one naming DATASEV_CONFIG", err)
	}
}

func TestUnknownNamesFileLineAndSuggests(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"worker:\n  task_queue: q\n  log_formt: json\n", `:3: unknown key worker.log_formt; did you mean "worker.log_format"?`},
		{"temporal:\n  adress: x\n", `:2: unknown key temporal.adress; did you mean "temporal.address"?`},
		{"worker: {}\ngithb:\n  token_file: x\n", `:2: unknown section "githb"; did you mean "github"?`},
		{"worker:\n  config: /x.yaml\n", `:2: unknown key worker.config`},
	} {
		p := write(t, tc.body)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), p+tc.want) {
			t.Errorf("%q: err = %v, want it to contain %q", tc.body, err, p+tc.want)
		}
	}
}

func TestSecretsRefused(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"github:\n  token: ghp_abc123\n", "use the token_file key (DATASEV_GITHUB_TOKEN_FILE)"},
		{"slack: {signing_secret: s3cr3t}\n", "use the signing_secret_file key"},
		{"smtp:\n  host: h\n  password: hunter2\n", "use the password_file key"},
		{"temporal:\n  api_key: abc\n", "set TEMPORAL_API_KEY in the environment"},
		{"codec:\n  key: abc\n", "keys_file"},
		{"statuspage: {api_key: abc}\n", "api_key_file"},
	} {
		p := write(t, tc.body)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p+":") {
			t.Errorf("%q: err = %v, want file:line and %q", tc.body, err, tc.want)
			continue
		}
		for _, v := range []string{"ghp_abc123", "s3cr3t", "hunter2", ": abc"} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%q: the error shows the secret value: %v", tc.body, err)
			}
		}
	}
	// _file variants and the non-secret key files are fine.
	p := write(t, "snowflake: {private_key_file: /k.p8, account: a}\ncodec: {keys_file: /k, key_id: k1}\n")
	if _, err := Load(p); err != nil {
		t.Fatalf("file-valued keys refused: %v", err)
	}
}

func TestBadShapes(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"- a\n- b\n", "want a mapping of sections"},
		{"worker: 3\n", `section "worker": want a mapping`},
		{"worker:\n  task_queue: [a, b]\n", ":2: worker.task_queue: want a string"},
		{"worker: {task_queue: a}\nworker2: {}\n", `unknown section "worker2"`},
		{"worker: {roster: a}\nroster: {}\n", `unknown section "roster"`},
		{"worker: {ui_url: a}\nui: {url: b}\n", ":2: ui.url sets DATASEV_UI_URL again (first set on line 1)"},
		{"worker: {task_queue: [\n", "not valid YAML"},
	} {
		p := write(t, tc.body)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.body, err, tc.want)
		}
	}
	if f, err := Parse("empty.yaml", nil); err != nil || len(f.Names()) != 0 {
		t.Errorf("empty file: %v, %v", f, err)
	}
}

func TestSampleLoads(t *testing.T) {
	f, err := Load(filepath.Join("..", "datasev.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Lookup("DATASEV_TASK_QUEUE"); v != "datasev" {
		t.Errorf("sample task queue = %q", v)
	}
}

func TestEnvLookupSeesFile(t *testing.T) {
	p := write(t, "temporal: {address: h:1, grpc_meta_x_tenant: acme}\n")
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	l := EnvLookup{Getenv: f.Getenv(noEnv), File: f}
	if v, ok := l.LookupEnv("TEMPORAL_ADDRESS"); !ok || v != "h:1" {
		t.Errorf("LookupEnv = %q %v", v, ok)
	}
	env := strings.Join(l.Environ(), "\n")
	if !strings.Contains(env, "TEMPORAL_GRPC_META_X_TENANT=acme") {
		t.Errorf("Environ misses the file's gRPC header:\n%s", env)
	}
}

var envName = regexp.MustCompile(`^(DATASEV|TEMPORAL)_[A-Z0-9_]*$`)

// TestKnownCoversCode collects the "DATASEV_…"/"TEMPORAL_…" string
// constants of the programs' sources (not tests or stand-ins) and fails
// when one is missing from Known: a new variable must be added there, or
// the file cannot set it.
func TestKnownCoversCode(t *testing.T) {
	vars := map[string]bool{}
	for _, dir := range []string{"worker", "starter", "activities"} {
		scan(t, filepath.Join("..", "..", dir), vars)
	}
	if !vars["DATASEV_TASK_QUEUE"] || !vars["DATASEV_GITHUB_TOKEN"] {
		t.Fatalf("scan found too little: %v", vars)
	}
	for v := range vars {
		if v == EnvConfig || v == "DATASEV_" || v == "TEMPORAL_" {
			continue
		}
		if !IsKnown(v) {
			t.Errorf("%s is read by the code but missing from config.Known", v)
		}
		if Secret(v) && !IsKnown(v+"_FILE") && !strings.HasPrefix(v, "TEMPORAL_") && v != "DATASEV_CODEC_KEY" {
			t.Errorf("secret %s has no %s_FILE in config.Known", v, v)
		}
	}
	// And no stale entries: each DATASEV_* in Known is read, or is the
	// _FILE form of a secret that is (built as NAME+"_FILE" by the code).
	for _, k := range Known {
		if !strings.HasPrefix(k, "DATASEV_") || vars[k] {
			continue
		}
		if base, ok := strings.CutSuffix(k, "_FILE"); ok && vars[base] && Secret(base) {
			continue
		}
		t.Errorf("config.Known lists %s, which no code reads", k)
	}
	if IsKnown("DATASEV_NO_SUCH_THING") || !IsKnown("DATASEV_EMAIL_LEADERSHIP_SEV3") {
		t.Error("IsKnown is wrong about a made-up name or a prefix")
	}
}

func scan(t *testing.T, dir string, vars map[string]bool) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// Not the stand-ins, and not this package, whose Known would
			// count itself.
			if path != dir && (d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test")) || path == filepath.Join("..", "..", "worker", "config") {
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
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
					vars[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
}

func BenchmarkParseSample(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "datasev.example.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse("sample.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetenv(b *testing.B) {
	f, err := Parse("x.yaml", []byte("worker: {task_queue: q}\n"))
	if err != nil {
		b.Fatal(err)
	}
	get := f.Getenv(noEnv)
	for b.Loop() {
		if get("DATASEV_TASK_QUEUE") != "q" {
			b.Fatal("lookup")
		}
	}
}
