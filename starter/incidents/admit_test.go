package incidents_test

import (
	"errors"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// TestAdmitOnlyForNewIncidents: DeclareRequest.Admit (the intake's rate of
// new incidents) is asked before an incident would open, and its refusal
// starts nothing; an alert joining the open incident, and a recovery, never
// ask.
func TestAdmitOnlyForNewIncidents(t *testing.T) {
	ctx := testCtx(t)
	key := newKey(t)
	id := workflows.WorkflowID(key)
	full := errors.New("over the rate")
	asked := 0
	refuse := func() error { asked++; return full }
	allow := func() error { asked++; return nil }

	_, err := incidents.Declare(ctx, tc, incidents.DeclareRequest{Alert: alertFor(key), Roster: testRoster(t), Admit: refuse})
	if !errors.Is(err, full) || asked != 1 {
		t.Fatalf("refused: %v after %d asks, want the Admit error after 1", err, asked)
	}
	var nf *serviceerror.NotFound
	if _, err := tc.DescribeWorkflowExecution(ctx, id, ""); !errors.As(err, &nf) {
		t.Fatalf("after a refusal %s exists (%v); want nothing started", id, err)
	}
	d := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(key), Roster: testRoster(t), Admit: allow})
	if d.Joined || asked != 2 {
		t.Fatalf("allowed: %+v after %d asks", d, asked)
	}
	j := declare(t, ctx, incidents.DeclareRequest{Alert: alertFor(key), Roster: testRoster(t), Admit: refuse})
	if !j.Joined || asked != 2 {
		t.Errorf("a repeat: %+v after %d asks; want it joined without asking", j, asked)
	}
	rec := alertFor(key)
	rec.Status = workflows.Recovered
	if r := declare(t, ctx, incidents.DeclareRequest{Alert: rec, Roster: testRoster(t), Admit: refuse}); !r.Joined || asked != 2 {
		t.Errorf("a recovery: %+v after %d asks; want it joined without asking", r, asked)
	}
}
