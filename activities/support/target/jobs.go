package target

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// dbtCloudJobEntry is an entry of targets.dbtcloud.jobs: "*", or
// <account>/<job> where each side is a numeric ID or "*".
var dbtCloudJobEntry = regexp.MustCompile(`^([0-9]+|\*)/([0-9]+|\*)$`)

func normalizeDBTCloudJob(e string) (string, error) {
	if e == "*" || dbtCloudJobEntry.MatchString(e) {
		return e, nil
	}
	return "", errors.New("want <account ID>/<job ID>, either side may be * (e.g. 12345/678 or 12345/*)")
}

// snowflakeTaskEntry is an entry of targets.snowflake.tasks: "*", or
// DATABASE.SCHEMA.TASK of plain identifiers, each part a pattern.
var snowflakeTaskEntry = regexp.MustCompile(`^[A-Z0-9_$*?\[\]-]+\.[A-Z0-9_$*?\[\]-]+\.[A-Z0-9_$*?\[\]-]+$`)

func normalizeSnowflakeTask(e string) (string, error) {
	if e == "*" {
		return e, nil
	}
	u := strings.ToUpper(e)
	if !snowflakeTaskEntry.MatchString(u) {
		return "", errors.New("want DATABASE.SCHEMA.TASK, fully qualified, each part an unquoted identifier or a pattern (e.g. ANALYTICS.LOADS.*)")
	}
	return u, nil
}

// DBTCloudJob checks a dbt Cloud job of an account
// (targets.dbtcloud.jobs).
func (p *Policy) DBTCloudJob(account, job string) error {
	v := account + "/" + job
	return p.permit(KeyDBTCloudJobs, "dbt Cloud job", v, v)
}

// plainPart is a Snowflake identifier as an unquoted name resolves.
var plainPart = regexp.MustCompile(`^[A-Z_][A-Z0-9_$]*$`)

// SnowflakeTask checks a Snowflake task, by the parts of its name as
// Snowflake resolves them (unquoted parts in upper case), against
// targets.snowflake.tasks (DATABASE.SCHEMA.TASK patterns). A part that is
// not a plain upper-case identifier (a quoted name with other characters)
// matches only an entry "*": a pattern never stretches over it.
func (p *Policy) SnowflakeTask(database, schema, task string) error {
	if p == nil {
		return nil
	}
	fqn := database + "." + schema + "." + task
	for _, part := range []string{database, schema, task} {
		if !plainPart.MatchString(part) {
			if slices.Contains(p.lists[KeySnowflakeTasks], "*") {
				return nil
			}
			return p.refused(fmt.Sprintf("task %q (a quoted name matches only *)", fqn), KeySnowflakeTasks)
		}
	}
	return p.permit(KeySnowflakeTasks, "task", fqn, fqn)
}
