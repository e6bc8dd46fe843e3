// Package target holds the target policy: what runbook actions may touch —
// GitHub repositories and base branches, Airflow DAGs, S3 buckets, Snowflake
// databases, core.http hosts and URL prefixes, lineage manifest sources —
// as configuration, not alert text.
//
// The policy comes from the DATASEV_TARGETS_* variables, or the targets
// section of the configuration file (targets.github.repositories and so
// on; see worker/datasev.example.yaml). Each is a list: a YAML sequence in
// the file, commas or spaces in the environment.
//
// A nil *Policy means no policy is configured. Then remediations (actions
// that change the outside world) refuse to run, naming what to set, and
// diagnostic reads run on any target. Once any key is set the policy is
// configured and every target is checked, reads included: a list left
// unset allows nothing of its kind ("*" allows anything).
//
// Whatever the policy, core.http refuses loopback, link-local, unspecified
// and cloud metadata addresses unless targets.http.allow_addresses names
// them: the check runs on the resolved address at dial time (Dialer), so a
// name that resolves there, or a redirect, cannot route around it.
//
// A target outside the policy is a non-retryable application error of type
// RefusedType naming the policy key; a remediation without any policy is
// one of type NoPolicyType.
package target

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Error types.
const (
	// RefusedType: the target is outside the policy.
	RefusedType = "TargetRefused"
	// NoPolicyType: a remediation, and no policy is configured.
	NoPolicyType = "NoTargetPolicy"
)

// Keys of the policy, as the configuration file names them. Each is the
// variable DATASEV_TARGETS_<SYSTEM>_<LIST> (Env).
const (
	KeyGitHubRepositories = "targets.github.repositories"
	KeyGitHubBaseBranches = "targets.github.base_branches"
	KeyAirflowDAGs        = "targets.airflow.dags"
	KeyS3Buckets          = "targets.s3.buckets"
	KeySnowflakeDatabases = "targets.snowflake.databases"
	KeyHTTPHosts          = "targets.http.hosts"
	KeyHTTPURLPrefixes    = "targets.http.url_prefixes"
	KeyHTTPAllowAddresses = "targets.http.allow_addresses"
	KeyLineagePaths       = "targets.lineage.paths"
	KeyLineageS3          = "targets.lineage.s3"
	KeyLineageGitHub      = "targets.lineage.github"
	KeyDBTCloudJobs       = "targets.dbtcloud.jobs"
	KeySnowflakeTasks     = "targets.snowflake.tasks"
)

// Keys lists every policy key in the order Policy.String prints them.
var Keys = []string{
	KeyGitHubRepositories, KeyGitHubBaseBranches, KeyAirflowDAGs, KeyS3Buckets, KeySnowflakeDatabases,
	KeyHTTPHosts, KeyHTTPURLPrefixes, KeyHTTPAllowAddresses, KeyLineagePaths, KeyLineageS3, KeyLineageGitHub,
	KeyDBTCloudJobs, KeySnowflakeTasks,
}

// envs are the variables that set the keys.
var envs = map[string]string{
	KeyGitHubRepositories: "DATASEV_TARGETS_GITHUB_REPOSITORIES",
	KeyGitHubBaseBranches: "DATASEV_TARGETS_GITHUB_BASE_BRANCHES",
	KeyAirflowDAGs:        "DATASEV_TARGETS_AIRFLOW_DAGS",
	KeyS3Buckets:          "DATASEV_TARGETS_S3_BUCKETS",
	KeySnowflakeDatabases: "DATASEV_TARGETS_SNOWFLAKE_DATABASES",
	KeyHTTPHosts:          "DATASEV_TARGETS_HTTP_HOSTS",
	KeyHTTPURLPrefixes:    "DATASEV_TARGETS_HTTP_URL_PREFIXES",
	KeyHTTPAllowAddresses: "DATASEV_TARGETS_HTTP_ALLOW_ADDRESSES",
	KeyLineagePaths:       "DATASEV_TARGETS_LINEAGE_PATHS",
	KeyLineageS3:          "DATASEV_TARGETS_LINEAGE_S3",
	KeyLineageGitHub:      "DATASEV_TARGETS_LINEAGE_GITHUB",
	KeyDBTCloudJobs:       "DATASEV_TARGETS_DBTCLOUD_JOBS",
	KeySnowflakeTasks:     "DATASEV_TARGETS_SNOWFLAKE_TASKS",
}

// Env is the variable that sets a policy key: targets.github.repositories
// is DATASEV_TARGETS_GITHUB_REPOSITORIES.
func Env(key string) string { return envs[key] }

// Policy is what actions may touch. Build it with Parse or FromEnv; a nil
// *Policy is no policy. Its methods are safe for concurrent use.
type Policy struct {
	lists map[string][]string
	allow []allowRule
}

// allowRule is one entry of targets.http.allow_addresses: a prefix, and a
// port when the entry named one (0: any).
type allowRule struct {
	prefix netip.Prefix
	port   uint16
}

// FromEnv reads the policy from the DATASEV_TARGETS_* variables through
// getenv. It returns nil, no error, when none is set.
func FromEnv(getenv func(string) string) (*Policy, error) {
	lists := map[string]string{}
	for _, k := range Keys {
		if v := strings.TrimSpace(getenv(Env(k))); v != "" {
			lists[k] = v
		}
	}
	if len(lists) == 0 {
		return nil, nil
	}
	return Parse(lists)
}

// Parse builds a policy from lists, keyed by policy key, each a list
// separated by commas or white space. Every bad entry is reported.
func Parse(lists map[string]string) (*Policy, error) {
	p := &Policy{lists: map[string][]string{}}
	var errs []error
	for k, v := range lists {
		if !slices.Contains(Keys, k) {
			errs = append(errs, fmt.Errorf("target policy: unknown key %s", k))
			continue
		}
		for _, e := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
			n, err := normalize(k, e)
			if err != nil {
				errs = append(errs, fmt.Errorf("target policy: %s (%s): %q: %w", k, Env(k), e, err))
				continue
			}
			if k == KeyHTTPAllowAddresses {
				r, _ := parseAllow(n)
				p.allow = append(p.allow, r)
			}
			p.lists[k] = append(p.lists[k], n)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// normalize checks one entry of a key and returns it as the policy keeps it.
func normalize(key, e string) (string, error) {
	glob := func(s string) (string, error) {
		if _, err := path.Match(s, ""); err != nil {
			return "", fmt.Errorf("not a valid pattern")
		}
		return s, nil
	}
	switch key {
	case KeyGitHubRepositories:
		if e == "*" {
			return e, nil
		}
		if o, n, ok := strings.Cut(e, "/"); !ok || o == "" || n == "" || strings.Contains(n, "/") {
			return "", errors.New("want owner/name (patterns allowed: acme/*)")
		}
		return glob(strings.ToLower(e))
	case KeyGitHubBaseBranches, KeyAirflowDAGs, KeyS3Buckets:
		return glob(e)
	case KeySnowflakeDatabases:
		return glob(strings.ToUpper(strings.Trim(e, `"`)))
	case KeyDBTCloudJobs:
		return normalizeDBTCloudJob(e)
	case KeySnowflakeTasks:
		return normalizeSnowflakeTask(e)
	case KeyHTTPHosts:
		if strings.Contains(e, "/") {
			return "", errors.New("want a host or host:port; put URLs in " + KeyHTTPURLPrefixes)
		}
		return strings.ToLower(e), nil
	case KeyHTTPURLPrefixes:
		u, err := parseURL(e)
		if err != nil {
			return "", err
		}
		return u, nil
	case KeyHTTPAllowAddresses:
		if _, err := parseAllow(e); err != nil {
			return "", err
		}
		return e, nil
	case KeyLineagePaths:
		if !filepath.IsAbs(e) {
			return "", errors.New("want an absolute directory")
		}
		return filepath.Clean(e), nil
	case KeyLineageS3:
		e = strings.TrimPrefix(e, "s3://")
		if b, _, _ := strings.Cut(e, "/"); b == "" {
			return "", errors.New("want bucket or bucket/prefix")
		}
		return e, nil
	case KeyLineageGitHub:
		if e == "*" {
			return e, nil
		}
		e = strings.TrimPrefix(e, "github://")
		parts := strings.SplitN(e, "/", 3)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return "", errors.New("want owner/repo or owner/repo/path")
		}
		if len(parts) == 3 && hasDotSegment(parts[2]) {
			return "", errors.New("the path may not contain . or .. segments")
		}
		parts[0], parts[1] = strings.ToLower(parts[0]), strings.ToLower(parts[1])
		return strings.Join(parts, "/"), nil
	}
	return e, nil
}

// parseAllow parses an allow_addresses entry: an IP, an IP:port, or a CIDR.
func parseAllow(s string) (allowRule, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		a := ap.Addr().Unmap()
		return allowRule{prefix: netip.PrefixFrom(a, a.BitLen()), port: ap.Port()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return allowRule{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	if pf, err := netip.ParsePrefix(s); err == nil {
		return allowRule{prefix: pf.Masked()}, nil
	}
	return allowRule{}, errors.New("want an IP address, IP:port or CIDR prefix (e.g. 127.0.0.1:8080)")
}

// Configured reports whether a policy is configured.
func (p *Policy) Configured() bool { return p != nil }

// List returns the entries of a key.
func (p *Policy) List(key string) []string {
	if p == nil {
		return nil
	}
	return slices.Clone(p.lists[key])
}

// String prints the policy, one key a line, for `datasev config check`.
func (p *Policy) String() string {
	if p == nil {
		return "none configured: remediations refuse to run; diagnostics may read any target " +
			"(set the targets section of the config file, or DATASEV_TARGETS_*)\n"
	}
	var b strings.Builder
	for _, k := range Keys {
		v := p.lists[k]
		switch {
		case len(v) > 0:
			fmt.Fprintf(&b, "%-30s %s\n", k, strings.Join(v, ", "))
		case k == KeyGitHubBaseBranches:
			fmt.Fprintf(&b, "%-30s (each repository's default branch)\n", k)
		case k == KeyHTTPAllowAddresses:
			fmt.Fprintf(&b, "%-30s (none: loopback, link-local and metadata addresses refused)\n", k)
		default:
			fmt.Fprintf(&b, "%-30s (nothing allowed)\n", k)
		}
	}
	return b.String()
}

// Refused returns the non-retryable error for a target outside the policy:
// "target policy: <what> is not in <key>".
func Refused(what, key string) error {
	msg := fmt.Sprintf("target policy: %s is not in %s", what, key)
	return temporal.NewNonRetryableApplicationError(msg, RefusedType, nil)
}

func (p *Policy) refused(what, key string) error {
	if len(p.lists[key]) == 0 {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("target policy: %s is not in %s, which is empty (set it in the config file, or %s)", what, key, Env(key)),
			RefusedType, nil)
	}
	return Refused(what, key)
}

// Remediation refuses action, an action that changes the outside world,
// when no policy is configured, saying what to set.
func (p *Policy) Remediation(action string) error {
	if p != nil {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"target policy: %s changes the outside world and the worker has no target policy; set the targets section "+
			"of the config file (%s, %s, …) or DATASEV_TARGETS_* in the environment to name what remediations may "+
			"touch (see worker/datasev.example.yaml)", action, KeyGitHubRepositories, KeyAirflowDAGs),
		NoPolicyType, nil)
}

// match reports whether v matches one of key's patterns (path.Match; "*"
// matches anything).
func (p *Policy) match(key, v string) bool {
	for _, pat := range p.lists[key] {
		if pat == "*" || pat == v {
			return true
		}
		if ok, _ := path.Match(pat, v); ok {
			return true
		}
	}
	return false
}

// permit lets v through when there is no policy or v matches one of key's
// patterns; otherwise it refuses "<noun> <raw>", raw being v as given
// before normalizing.
func (p *Policy) permit(key, noun, raw, v string) error {
	if p == nil || p.match(key, v) {
		return nil
	}
	return p.refused(fmt.Sprintf("%s %q", noun, raw), key)
}

// Repository checks a GitHub repository (owner/name), compared
// case-insensitively.
func (p *Policy) Repository(repo string) error {
	return p.permit(KeyGitHubRepositories, "repository", repo, strings.ToLower(strings.TrimSpace(repo)))
}

// BaseBranch checks a base branch of repo, whose default branch is def.
// With targets.github.base_branches unset only the default branch is
// allowed.
func (p *Policy) BaseBranch(repo, branch, def string) error {
	if p == nil {
		return nil
	}
	if len(p.lists[KeyGitHubBaseBranches]) == 0 {
		if branch == def && def != "" {
			return nil
		}
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"target policy: base branch %q of %s is not its default branch %q, and %s is unset (only default branches allowed)",
			branch, repo, def, KeyGitHubBaseBranches), RefusedType, nil)
	}
	if !p.match(KeyGitHubBaseBranches, branch) {
		return Refused(fmt.Sprintf("base branch %q of %s", branch, repo), KeyGitHubBaseBranches)
	}
	return nil
}

// DAG checks an Airflow DAG ID.
func (p *Policy) DAG(id string) error { return p.permit(KeyAirflowDAGs, "DAG", id, id) }

// Bucket checks an S3 bucket.
func (p *Policy) Bucket(b string) error { return p.permit(KeyS3Buckets, "bucket", b, b) }

// Database checks a Snowflake database, compared case-insensitively.
func (p *Policy) Database(db string) error {
	return p.permit(KeySnowflakeDatabases, "database", db, strings.ToUpper(strings.Trim(db, `"`)))
}

// LineageFile checks a local manifest path: it must lie, once symbolic
// links are resolved, under one of targets.lineage.paths.
func (p *Policy) LineageFile(name string) error {
	if p == nil {
		return nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return p.refused(fmt.Sprintf("manifest path %q", name), KeyLineagePaths)
	}
	real := abs
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		real = r
	}
	for _, root := range p.lists[KeyLineagePaths] {
		rr := root
		if r, err := filepath.EvalSymlinks(root); err == nil {
			rr = r
		}
		if within(abs, root) && within(real, rr) {
			return nil
		}
	}
	return p.refused(fmt.Sprintf("manifest path %q", name), KeyLineagePaths)
}

func within(p, root string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// LineageS3 checks an s3:// manifest: its bucket, or bucket/prefix, must
// be in targets.lineage.s3.
func (p *Policy) LineageS3(bucket, key string) error {
	if p == nil {
		return nil
	}
	full := bucket + "/" + key
	for _, e := range p.lists[KeyLineageS3] {
		b, pre, _ := strings.Cut(e, "/")
		if b == bucket && (pre == "" || underPrefix(key, pre)) || e == "*" {
			return nil
		}
	}
	return p.refused(fmt.Sprintf("manifest s3://%s", full), KeyLineageS3)
}

// LineageGitHub checks a github:// manifest: owner/repo, or
// owner/repo/path prefix, must be in targets.lineage.github.
func (p *Policy) LineageGitHub(owner, repo, file string) error {
	if p == nil {
		return nil
	}
	what := fmt.Sprintf("manifest github://%s/%s/%s", owner, repo, file)
	if hasDotSegment(file) {
		return p.refused(what, KeyLineageGitHub)
	}
	r := strings.ToLower(owner + "/" + repo)
	for _, e := range p.lists[KeyLineageGitHub] {
		parts := strings.SplitN(e, "/", 3)
		if e == "*" || len(parts) >= 2 && parts[0]+"/"+parts[1] == r && (len(parts) == 2 || underPrefix(file, parts[2])) {
			return nil
		}
	}
	return p.refused(what, KeyLineageGitHub)
}

// underPrefix reports whether name is pre or below it as a path.
func underPrefix(name, pre string) bool {
	pre = strings.TrimSuffix(pre, "/")
	return name == pre || strings.HasPrefix(name, pre+"/")
}

// hasDotSegment reports whether a slash path has a "." or ".." segment.
func hasDotSegment(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}
