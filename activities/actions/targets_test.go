package actions_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/actions"
	targetpolicy "github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
)

// Every built-in action that changes the outside world refuses to run,
// before looking at its inputs or its client, when the worker has no
// target policy; the error says what to set.
func TestRemediationsNeedATargetPolicy(t *testing.T) {
	r := actions.New(actions.Deps{})
	n := 0
	for _, s := range r.Specs() {
		if !s.Changes {
			continue
		}
		n++
		fn, _ := r.Func(s.Name)
		_, err := fn(context.Background(), runbooks.ActionRequest{Incident: "inc", Step: "s", With: map[string]any{}})
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != targetpolicy.NoPolicyType || !ae.NonRetryable() {
			t.Errorf("%s without a policy: %v", s.Name, err)
			continue
		}
		if want := s.Name + " changes the outside world and the worker has no target policy"; !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	if n < 6 {
		t.Fatalf("only %d remediations found", n)
	}
	// With a policy the gate lets them through (to their own checks: here,
	// the missing client).
	p, _ := targetpolicy.Parse(map[string]string{targetpolicy.KeyAirflowDAGs: "*"})
	fn, _ := actions.New(actions.Deps{Targets: p}).Func("airflow.trigger_dag")
	_, err := fn(context.Background(), runbooks.ActionRequest{With: map[string]any{"dag_id": "d"}})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() == targetpolicy.NoPolicyType {
		t.Fatalf("with a policy: %v", err)
	}
}
