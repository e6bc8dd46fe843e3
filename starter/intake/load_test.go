package intake_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/datasev/datasev/starter/intake"
	"github.com/datasev/datasev/workflows"
)

// TestConcurrentAlerts posts 1,000 alerts over 50 dedupe keys, 16 at a
// time, over real HTTP to the generic endpoint: exactly 50 incidents start,
// and the incidents count every alert.
func TestConcurrentAlerts(t *testing.T) {
	needTemporal(t)
	const (
		alerts      = 1000
		keys        = 50
		concurrency = 16
	)
	// Fifty new incidents at once: above the default burst when two first
	// alerts of a key race (each may take a token).
	h := newHandlerOpts(t, testAuth, intake.Options{Limits: intake.Limits{NewIncidentBurst: alerts}})
	ts := httptest.NewServer(h)
	defer ts.Close()
	prefix := "load-" + uniq() + "-"

	type answer struct {
		key string
		res intake.Result
	}
	jobs := make(chan int)
	answers := make(chan answer, alerts)
	errs := make(chan error, alerts)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				key := fmt.Sprintf("%s%02d", prefix, i%keys)
				body := fmt.Sprintf(`{"title":"load alert %d","dedupe_key":%q,"source":"loadtest","severity":"SEV4","labels":{"n":"%d"}}`, i, key, i)
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"/alerts", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+genToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := ts.Client().Do(req)
				if err != nil {
					errs <- err
					continue
				}
				var out intake.Response
				err = decodeBody(resp, &out)
				if err != nil || resp.StatusCode != http.StatusAccepted || len(out.Incidents) != 1 {
					errs <- fmt.Errorf("alert %d: %d %v %+v", i, resp.StatusCode, err, out)
					continue
				}
				answers <- answer{key, out.Incidents[0]}
			}
		}()
	}
	for i := range alerts {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(answers)
	close(errs)
	t.Logf("%d alerts posted in %v", alerts, time.Since(start).Round(time.Millisecond))
	for err := range errs {
		t.Error(err)
	}
	runs := map[string]map[string]bool{} // workflow ID → run IDs answered
	started := 0
	for a := range answers {
		if a.res.ID != workflows.WorkflowID("generic:"+a.key) {
			t.Errorf("alert for %s answered %s", a.key, a.res.ID)
		}
		if runs[a.res.ID] == nil {
			runs[a.res.ID] = map[string]bool{}
		}
		runs[a.res.ID][a.res.RunID] = true
		if !a.res.Joined {
			started++
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if len(runs) != keys || started != keys {
		t.Errorf("%d workflow IDs, %d answered as started; want %d and %d", len(runs), started, keys, keys)
	}
	for id, rs := range runs {
		if len(rs) != 1 {
			t.Errorf("%s: alerts went to %d runs, want 1", id, len(rs))
		}
	}
	if s, j := h.Metrics().Incidents(intake.SourceGeneric, "started"), h.Metrics().Incidents(intake.SourceGeneric, "joined"); s != keys || j != alerts-keys {
		t.Errorf("metrics: %d started, %d joined; want %d and %d", s, j, keys, alerts-keys)
	}

	// Visibility: exactly 50 incidents under the prefix.
	query := fmt.Sprintf("WorkflowId STARTS_WITH %q", workflows.WorkflowID("generic:"+prefix))
	var listed int
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := countRuns(query)
		if err != nil {
			t.Fatalf("list %s: %v", query, err)
		}
		listed = n
		if listed == keys || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if listed != keys {
		t.Errorf("visibility lists %d incidents, want %d", listed, keys)
	}

	// Every alert counted.
	total := 0
	for id := range runs {
		total += alertCount(t, id, alerts/keys)
	}
	if total != alerts {
		t.Errorf("the incidents count %d alerts, want %d", total, alerts)
	}
	t.Logf("checked in %v", time.Since(start).Round(time.Millisecond))
}

func countRuns(query string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return 0, err
		}
		for _, e := range resp.GetExecutions() {
			if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				n++
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return n, nil
		}
	}
}
