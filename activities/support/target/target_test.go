package target_test

import (
	"errors"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/target"
)

func policy(t *testing.T, lists map[string]string) *target.Policy {
	t.Helper()
	p, err := target.Parse(lists)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// refused checks err is the policy's non-retryable refusal saying says.
func refused(t *testing.T, err error, typ string, says ...string) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("want a %s application error, got %v", typ, err)
	}
	if ae.Type() != typ || !ae.NonRetryable() {
		t.Errorf("type %q non-retryable %v, want %q non-retryable: %v", ae.Type(), ae.NonRetryable(), typ, err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestFromEnvNoneIsNil(t *testing.T) {
	p, err := target.FromEnv(func(string) string { return "" })
	if err != nil || p != nil || p.Configured() {
		t.Fatalf("no variable set: %v %v", p, err)
	}
	// No policy: reads pass, remediations refuse saying what to set.
	if err := p.Repository("evil/x"); err != nil {
		t.Fatal(err)
	}
	refused(t, p.Remediation("github.revert_commit"), target.NoPolicyType,
		"github.revert_commit changes the outside world and the worker has no target policy",
		"targets.github.repositories", "DATASEV_TARGETS_*")
	if !strings.Contains(p.String(), "none configured") {
		t.Errorf("String: %s", p)
	}
}

func TestFromEnvParsesLists(t *testing.T) {
	env := map[string]string{
		"DATASEV_TARGETS_GITHUB_REPOSITORIES":  "acme/analytics, acme/dbt-*",
		"DATASEV_TARGETS_AIRFLOW_DAGS":         "daily_* orders_load",
		"DATASEV_TARGETS_HTTP_ALLOW_ADDRESSES": "127.0.0.1:8080",
	}
	p, err := target.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Repository("Acme/Analytics"); err != nil {
		t.Error(err)
	}
	if err := p.Repository("acme/dbt-core"); err != nil {
		t.Error(err)
	}
	refused(t, p.Repository("evil/x"), target.RefusedType, `target policy: repository "evil/x" is not in targets.github.repositories`)
	if err := p.DAG("daily_orders"); err != nil {
		t.Error(err)
	}
	refused(t, p.DAG("drop_everything"), target.RefusedType, `DAG "drop_everything" is not in targets.airflow.dags`)
	refused(t, p.Bucket("lake"), target.RefusedType, `bucket "lake" is not in targets.s3.buckets, which is empty`, "DATASEV_TARGETS_S3_BUCKETS")
	if err := p.Remediation("airflow.trigger_dag"); err != nil {
		t.Error(err)
	}
	s := p.String()
	for _, want := range []string{"targets.github.repositories    acme/analytics, acme/dbt-*", "targets.s3.buckets             (nothing allowed)", "127.0.0.1:8080"} {
		if !strings.Contains(s, want) {
			t.Errorf("String lacks %q:\n%s", want, s)
		}
	}
}

func TestParseRefusesBadEntries(t *testing.T) {
	_, err := target.Parse(map[string]string{
		target.KeyGitHubRepositories: "acme",
		target.KeyHTTPAllowAddresses: "everything",
		target.KeyHTTPURLPrefixes:    "ftp://x/",
		target.KeyLineagePaths:       "relative/dir",
		target.KeyAirflowDAGs:        "[",
	})
	for _, want := range []string{"targets.github.repositories", "want owner/name", "IP address", "http(s)://", "absolute directory", "not a valid pattern"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestBaseBranch(t *testing.T) {
	p := policy(t, map[string]string{target.KeyGitHubRepositories: "acme/a"})
	if err := p.BaseBranch("acme/a", "main", "main"); err != nil {
		t.Error(err)
	}
	refused(t, p.BaseBranch("acme/a", "release", "main"), target.RefusedType, `base branch "release" of acme/a is not its default branch "main"`, "targets.github.base_branches")
	p = policy(t, map[string]string{target.KeyGitHubRepositories: "acme/a", target.KeyGitHubBaseBranches: "main release/*"})
	if err := p.BaseBranch("acme/a", "release/1", ""); err != nil {
		t.Error(err)
	}
	refused(t, p.BaseBranch("acme/a", "gh-pages", "main"), target.RefusedType, `base branch "gh-pages" of acme/a is not in targets.github.base_branches`)
}

func TestDatabaseIsCaseInsensitive(t *testing.T) {
	p := policy(t, map[string]string{target.KeySnowflakeDatabases: "analytics"})
	for _, db := range []string{"ANALYTICS", "analytics", `"ANALYTICS"`} {
		if err := p.Database(db); err != nil {
			t.Error(err)
		}
	}
	refused(t, p.Database("SNOWFLAKE"), target.RefusedType, `database "SNOWFLAKE" is not in targets.snowflake.databases`)
}

func TestLineageSources(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "manifest.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "link.json")); err != nil {
		t.Fatal(err)
	}
	p := policy(t, map[string]string{
		target.KeyLineagePaths:  root,
		target.KeyLineageS3:     "lake/dbt/",
		target.KeyLineageGitHub: "acme/analytics/target",
	})
	if err := p.LineageFile(filepath.Join(root, "manifest.json")); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"/etc/passwd", filepath.Join(root, "..", filepath.Base(outside), "m.json"), filepath.Join(root, "link.json"), root + "x/manifest.json"} {
		refused(t, p.LineageFile(bad), target.RefusedType, "is not in targets.lineage.paths")
	}
	if err := p.LineageS3("lake", "dbt/manifest.json"); err != nil {
		t.Error(err)
	}
	refused(t, p.LineageS3("lake", "dbtx/manifest.json"), target.RefusedType, "s3://lake/dbtx/manifest.json is not in targets.lineage.s3")
	refused(t, p.LineageS3("secrets", "dbt/manifest.json"), target.RefusedType, "targets.lineage.s3")
	if err := p.LineageGitHub("Acme", "Analytics", "target/manifest.json"); err != nil {
		t.Error(err)
	}
	refused(t, p.LineageGitHub("acme", "analytics", "secrets.json"), target.RefusedType, "targets.lineage.github")
	refused(t, p.LineageGitHub("acme", "analytics", "target/../secrets.json"), target.RefusedType, "targets.lineage.github")
	refused(t, p.LineageGitHub("evil", "x", "target/manifest.json"), target.RefusedType, "targets.lineage.github")
}

func TestBlockedAddresses(t *testing.T) {
	for addr, why := range map[string]string{
		"127.0.0.1":              "loopback",
		"127.1.2.3":              "loopback",
		"::1":                    "loopback",
		"::ffff:127.0.0.1":       "loopback",
		"169.254.169.254":        "cloud metadata",
		"169.254.1.1":            "link-local",
		"fe80::1":                "link-local",
		"fd00:ec2::254":          "AWS metadata (IPv6)",
		"100.100.100.200":        "Alibaba Cloud metadata",
		"0.0.0.0":                "unspecified",
		"::":                     "unspecified",
		"64:ff9b::a9fe:a9fe":     "cloud metadata",
		"::ffff:169.254.169.254": "cloud metadata",
	} {
		if got := target.Blocked(netip.MustParseAddr(addr)); got != why {
			t.Errorf("Blocked(%s) = %q, want %q", addr, got, why)
		}
	}
	for _, addr := range []string{"10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1"} {
		if got := target.Blocked(netip.MustParseAddr(addr)); got != "" {
			t.Errorf("Blocked(%s) = %q, want allowed", addr, got)
		}
	}
}

func TestControlRefusesBeforeConnecting(t *testing.T) {
	var none *target.Policy
	err := none.Control("tcp", "169.254.169.254:80", nil)
	if ae, ok := target.IsAddressError(err); !ok || !strings.Contains(ae.Error(), "address 169.254.169.254:80 is cloud metadata") {
		t.Fatalf("got %v", err)
	}
	if err := none.Control("tcp", "10.1.2.3:443", nil); err != nil {
		t.Fatal(err)
	}
	p := policy(t, map[string]string{target.KeyHTTPAllowAddresses: "127.0.0.1:8080, ::1"})
	if err := p.Control("tcp", "127.0.0.1:8080", nil); err != nil {
		t.Error(err)
	}
	if err := p.Control("tcp", "[::1]:7233", nil); err != nil {
		t.Error(err)
	}
	if _, ok := target.IsAddressError(p.Control("tcp", "127.0.0.1:7233", nil)); !ok {
		t.Error("127.0.0.1:7233 allowed; only :8080 was")
	}
}

func TestURL(t *testing.T) {
	check := func(p *target.Policy, raw string) error {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return p.URL(u)
	}
	var none *target.Policy
	for _, bad := range []string{
		"http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://metadata.google.internal/computeMetadata/v1/",
		"http://METADATA.GOOGLE.INTERNAL./", "http://127.0.0.1:7233/", "http://[::ffff:169.254.169.254]/", "http://0.0.0.0:7233/",
	} {
		refused(t, check(none, bad), target.RefusedType, "target policy:")
	}
	if err := check(none, "https://status.example.com/x"); err != nil {
		t.Error(err)
	}
	p := policy(t, map[string]string{
		target.KeyHTTPHosts:       "status.example.com, *.internal.example.com, 10.0.0.5:8080",
		target.KeyHTTPURLPrefixes: "https://api.example.com/health/",
	})
	for _, ok := range []string{
		"https://status.example.com/x", "http://status.example.com:8443/", "https://a.internal.example.com/",
		"http://10.0.0.5:8080/", "https://API.example.com:443/health/orders?x=1",
	} {
		if err := check(p, ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for bad, says := range map[string]string{
		"https://evil.example.com/":               "is not in targets.http.hosts",
		"https://internal.example.com.evil.io/":   "is not in targets.http.hosts",
		"http://10.0.0.5:9090/":                   "targets.http.hosts",
		"https://api.example.com/admin":           "targets.http.url_prefixes",
		"https://api.example.com/health/../admin": ". or .. segments",
		"https://api.example.com/health/%2e%2e/x": ". or .. segments",
		"https://api.example.com/healthz":         "targets.http.url_prefixes",
		"http://api.example.com/health/":          "targets.http.url_prefixes",
	} {
		refused(t, check(p, bad), target.RefusedType, says)
	}
}
