package airflow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/datasev/datasev/activities/actions/airflow"
	"github.com/datasev/datasev/activities/actions/airflow/aftest"
	"github.com/datasev/datasev/runbooks"
)

// BenchmarkFailedTasksWindow measures airflow.failed_tasks over a day of
// 24 hourly runs of a 20-task DAG (25 requests: one run listing, one task
// listing per run), through the real client against the stand-in.
func BenchmarkFailedTasksWindow(b *testing.B) {
	for _, api := range apis {
		b.Run(api, func(b *testing.B) {
			now := time.Now()
			srv := aftest.New(aftest.Options{Version: api})
			defer srv.Close()
			tasks := make([]string, 20)
			for i := range tasks {
				tasks[i] = fmt.Sprintf("t%02d", i)
			}
			srv.SeedDAG("hourly", false, tasks...)
			for h := range 24 {
				states := map[string]string{}
				for i, t := range tasks {
					states[t] = "success"
					if h%6 == 0 && i == 10 {
						states[t] = "failed"
					}
				}
				srv.SeedRunAt("hourly", fmt.Sprintf("scheduled__%02d", h), now.Add(-time.Duration(h)*time.Hour-time.Minute), states)
			}
			env := srv.Env()
			cfg, err := airflow.ConfigFromEnv(func(k string) string { return env[k] })
			if err != nil {
				b.Fatal(err)
			}
			c, err := airflow.NewClient(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			acts := airflow.New(c)
			in := airflow.FailedTasksInput{DAGID: "hourly", Window: runbooks.Duration(24 * time.Hour)}
			b.ResetTimer()
			for b.Loop() {
				res, err := acts.FailedTasks(b.Context(), runbooks.ActionRequest{}, in)
				if err != nil || res.Output["failed"] != 4 {
					b.Fatalf("%v %v", res.Output["failed"], err)
				}
			}
		})
	}
}
