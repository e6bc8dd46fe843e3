package actions

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/datasev/datasev/activities/actions/lineage"
	"github.com/datasev/datasev/activities/support/target"
)

// LiteralTargets checks the targets a step names literally — inputs
// written without a ${ … } expression — against the target policy p, for
// `runbooks validate`: a repository, base branch, DAG, bucket, database,
// URL or manifest that the policy would refuse when the step runs. Inputs
// with expressions are checked when they run. A nil p (no policy) checks
// only what core.http refuses with any policy or none.
func LiteralTargets(p *target.Policy, action string, with map[string]any) []error {
	lit := func(key string) (string, bool) {
		s, ok := with[key].(string)
		if !ok || strings.Contains(s, "${") || strings.TrimSpace(s) == "" {
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	system, _, _ := strings.Cut(action, ".")
	if !p.Configured() && system != "core" {
		return nil
	}
	switch system {
	case "github":
		if r, ok := lit("repo"); ok {
			check(p.Repository(strings.TrimSuffix(r, ".git")))
			if b, ok := lit("base"); ok && len(p.List(target.KeyGitHubBaseBranches)) > 0 {
				check(p.BaseBranch(r, b, ""))
			}
		}
	case "airflow":
		if d, ok := lit("dag_id"); ok {
			if strings.Contains(d, "..") || strings.Contains(d, "/") {
				errs = append(errs, fmt.Errorf("dag_id %q: no DAG ID contains .. or /", d))
			} else {
				check(p.DAG(d))
			}
		}
	case "dbtcloud":
		if a, ok := lit("account_id"); ok {
			if j, ok := lit("job_id"); ok {
				check(p.DBTCloudJob(a, j))
			}
		}
	case "s3":
		if b, ok := lit("bucket"); ok {
			check(p.Bucket(b))
		}
	case "snowflake":
		for _, key := range []string{"table", "task"} {
			if n, ok := lit(key); ok && !strings.Contains(n, `"`) {
				if parts := strings.Split(n, "."); len(parts) == 3 {
					check(p.Database(parts[0]))
					if key == "task" && (action == "snowflake.execute_task" || action == "snowflake.resume_task") {
						check(p.SnowflakeTask(strings.ToUpper(parts[0]), strings.ToUpper(parts[1]), strings.ToUpper(parts[2])))
					}
				}
			}
		}
		if d, ok := lit("database"); ok {
			check(p.Database(d))
		}
	case "lineage":
		if m, ok := lit("manifest"); ok {
			loc, err := lineage.ParseURI(m)
			switch {
			case err != nil:
			case loc.Scheme == lineage.SchemeFile:
				check(p.LineageFile(loc.Path))
			case loc.Scheme == lineage.SchemeS3:
				check(p.LineageS3(loc.Bucket, loc.Path))
			case loc.Scheme == lineage.SchemeGitHub:
				check(p.LineageGitHub(loc.Owner, loc.Repo, loc.Path))
			}
		}
	case "core":
		if s, ok := lit("url"); ok && action == "core.http" {
			if u, err := url.Parse(s); err == nil && u.Host != "" {
				check(p.URL(u))
			}
		}
	}
	return errs
}
