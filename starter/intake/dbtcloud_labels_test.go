package intake

import (
	"strings"
	"testing"
)

// A dbt Cloud failure carries the account, job and run IDs a runbook
// needs to retry the run (dbtcloud.retry_run).
func TestDBTCloudAlertCarriesRetryLabels(t *testing.T) {
	body := `{"accountId":12345,"eventType":"job.run.errored","data":{"jobId":"678","runId":"70000001","runStatus":"Errored"}}`
	p, err := parseDBTCloud([]byte(body))
	if err != nil || len(p.alerts) != 1 {
		t.Fatalf("%v %+v", err, p.alerts)
	}
	l := p.alerts[0].Labels
	if l["dbt_account_id"] != "12345" || l["dbt_job_id"] != "678" || l["dbt_run_id"] != "70000001" {
		t.Errorf("labels %v", l)
	}
	// Without an account ID the label is absent, not empty.
	p, _ = parseDBTCloud([]byte(`{"eventType":"job.run.errored","data":{"jobId":"678","runId":"1"}}`))
	if _, ok := p.alerts[0].Labels["dbt_account_id"]; ok {
		t.Errorf("labels %v", p.alerts[0].Labels)
	}
	// An oversized account ID is refused, naming the field.
	huge := `{"accountId":` + strings.Repeat("9", 100) + `,"eventType":"job.run.errored","data":{"jobId":"678","runId":"1"}}`
	if _, err := parseDBTCloud([]byte(huge)); err == nil || !strings.Contains(err.Error(), "accountId") {
		t.Errorf("oversized accountId: %v", err)
	}
}
