package target

import (
	"strings"
	"testing"
)

func TestDBTCloudJobsAndSnowflakeTasks(t *testing.T) {
	p, err := Parse(map[string]string{
		KeyDBTCloudJobs:   "12345/678, 999/*",
		KeySnowflakeTasks: "analytics.loads.*, RAW.PUBLIC.LOAD_ORDERS",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ok := range [][2]string{{"12345", "678"}, {"999", "1"}} {
		if err := p.DBTCloudJob(ok[0], ok[1]); err != nil {
			t.Errorf("DBTCloudJob(%s, %s): %v", ok[0], ok[1], err)
		}
	}
	if err := p.DBTCloudJob("12345", "679"); err == nil || !strings.Contains(err.Error(), KeyDBTCloudJobs) {
		t.Errorf("job 12345/679 not refused naming the key: %v", err)
	}
	if err := p.SnowflakeTask("ANALYTICS", "LOADS", "NIGHTLY"); err != nil {
		t.Error(err)
	}
	for _, bad := range [][3]string{{"ANALYTICS", "OTHER", "NIGHTLY"}, {"RAW", "PUBLIC", "LOAD_ORDERS_2"},
		{"ANALYTICS", "LOADS", "A.B"}, {"ANALYTICS", "LOADS", `X" RESUME; DROP TABLE T; --`}, {"ANALYTICS", "LOADS", "nightly"}} {
		if err := p.SnowflakeTask(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("task %v allowed", bad)
		}
	}
	star, _ := Parse(map[string]string{KeySnowflakeTasks: "*"})
	if err := star.SnowflakeTask("ANALYTICS", "LOADS", "load orders"); err != nil {
		t.Errorf("* refuses a quoted name: %v", err)
	}
	for _, bad := range []map[string]string{
		{KeyDBTCloudJobs: "acme/678"}, {KeyDBTCloudJobs: "12345"},
		{KeySnowflakeTasks: "LOADS.NIGHTLY"}, {KeySnowflakeTasks: `"a.b".c.d`},
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%v) accepted", bad)
		}
	}
	// With a policy that names neither, nothing of either kind is allowed.
	q, _ := Parse(map[string]string{KeyAirflowDAGs: "*"})
	if q.DBTCloudJob("1", "2") == nil || q.SnowflakeTask("A", "B", "C") == nil {
		t.Error("an unset list allowed a target")
	}
}
