package incidents

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

func TestFilterQuery(t *testing.T) {
	tests := []struct {
		name    string
		f       Filter
		want    string
		wantErr string
	}{
		{name: "empty", f: Filter{}, want: "WorkflowType = 'Incident'"},
		{name: "severity normalised", f: Filter{Severity: "sev2"}, want: "WorkflowType = 'Incident' AND DatasevSeverity = 'SEV2'"},
		{name: "severity digit", f: Filter{Severity: "1"}, want: "WorkflowType = 'Incident' AND DatasevSeverity = 'SEV1'"},
		{
			name: "all fields",
			f:    Filter{Severity: "SEV3", Status: "Acknowledged", Service: "orders", Commander: "alice", Open: true},
			want: "WorkflowType = 'Incident' AND DatasevSeverity = 'SEV3' AND DatasevStatus = 'acknowledged' AND DatasevService = 'orders' AND DatasevCommander = 'alice' AND ExecutionStatus = 'Running'",
		},
		{name: "workflow id", f: Filter{WorkflowID: "incident-k"}, want: "WorkflowType = 'Incident' AND WorkflowId = 'incident-k'"},
		{name: "quote escaped", f: Filter{Service: "o'brien"}, want: `WorkflowType = 'Incident' AND DatasevService = 'o\'brien'`},
		{name: "injection stays a literal", f: Filter{Commander: "x' OR 'a'='a"}, want: `WorkflowType = 'Incident' AND DatasevCommander = 'x\' OR \'a\'=\'a'`},
		{name: "backslash escaped", f: Filter{Service: `a\`}, want: `WorkflowType = 'Incident' AND DatasevService = 'a\\'`},
		{name: "newline escaped", f: Filter{Service: "a\nb"}, want: `WorkflowType = 'Incident' AND DatasevService = 'a\nb'`},
		{name: "bad severity", f: Filter{Severity: "SEV9"}, wantErr: `severity "SEV9": want one of SEV1`},
		{name: "bad status", f: Filter{Status: "sleeping"}, wantErr: `status "sleeping": want one of triggered, acknowledged`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.Query()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("query\n got  %s\n want %s", got, tt.want)
			}
		})
	}
}

func TestMapError(t *testing.T) {
	closedAt := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	closed := func() (time.Time, bool) { return closedAt, true }
	notClosed := func() (time.Time, bool) { return time.Time{}, false }
	other := errors.New("boom")
	// The caller's context when a query came back: its deadline passed,
	// still waiting, or canceled by the caller itself.
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancelExpired()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	noAnswer := `incident "incident-x" did not answer in time; is a datasev worker polling task queue "datasev"? (an act may still apply once one does)`
	tests := []struct {
		name   string
		err    error
		lookup func() (time.Time, bool)
		// query, when set, is the caller's context of a query: the error
		// goes through mapQueryError.
		query context.Context
		want  string
		as    any
	}{
		{
			name: "validator rejection keeps the workflow's words",
			err:  temporal.NewApplicationError("only the Commander (alice) can approve \"fix\"", ""),
			want: `only the Commander (alice) can approve "fix"`,
			as:   new(*RejectedError),
		},
		{
			name: "typed rejection drops the type suffix",
			err:  temporal.NewApplicationErrorWithOptions("severity is already SEV2", "Rejected", temporal.ApplicationErrorOptions{NonRetryable: true}),
			want: "severity is already SEV2",
			as:   new(*RejectedError),
		},
		{
			name: "wrapped rejection",
			err:  fmt.Errorf("update: %w", temporal.NewApplicationError("no handoff is pending", "")),
			want: "no handoff is pending",
			as:   new(*RejectedError),
		},
		{
			name:   "not found",
			err:    serviceerror.NewNotFound("workflow not found for ID: incident-x"),
			lookup: notClosed,
			want:   `no incident "incident-x"`,
			as:     new(*NotFoundError),
		},
		{
			name:   "not found but a closed run exists",
			err:    serviceerror.NewNotFound("workflow not found"),
			lookup: closed,
			want:   `incident "incident-x" is closed; acts are refused (closed at 2026-03-04T05:06:07Z)`,
			as:     new(*ClosedError),
		},
		{
			name:   "completed",
			err:    serviceerror.NewNotFound("workflow execution already completed"),
			lookup: closed,
			want:   `incident "incident-x" is closed; acts are refused (closed at 2026-03-04T05:06:07Z)`,
			as:     new(*ClosedError),
		},
		{
			name:   "completed, close time unknown",
			err:    serviceerror.NewNotFound("workflow execution already completed"),
			lookup: notClosed,
			want:   `incident "incident-x" is closed; acts are refused`,
			as:     new(*ClosedError),
		},
		{
			name: "unavailable",
			err:  serviceerror.NewUnavailable("connection refused"),
			want: "cannot reach Temporal at 127.0.0.1:7233: connection refused",
			as:   new(*UnreachableError),
		},
		{
			name: "grpc unavailable status",
			err:  status.Error(codes.Unavailable, "dial tcp 127.0.0.1:7233: connect: connection refused"),
			want: "cannot reach Temporal at 127.0.0.1:7233: rpc error: code = Unavailable desc = dial tcp 127.0.0.1:7233: connect: connection refused",
			as:   new(*UnreachableError),
		},
		{
			name: "update poll gave up",
			err:  client.NewWorkflowUpdateServiceTimeoutOrCanceledError(context.DeadlineExceeded),
			want: `incident "incident-x" did not answer in time; is a datasev worker polling task queue "datasev"? (an act may still apply once one does)`,
			as:   new(*NoAnswerError),
		},
		{
			name: "query deadline",
			err:  serviceerror.NewDeadlineExceeded("context deadline exceeded"),
			want: `incident "incident-x" did not answer in time; is a datasev worker polling task queue "datasev"? (an act may still apply once one does)`,
			as:   new(*NoAnswerError),
		},
		{name: "cancelled passes through", err: context.Canceled, want: "context canceled"},
		{
			// The server gave up waiting for a worker, under load, and said
			// Canceled rather than DeadlineExceeded.
			name:  "query canceled by the server after the caller's deadline",
			err:   serviceerror.NewCanceled("context canceled"),
			query: expired,
			want:  noAnswer,
			as:    new(*NoAnswerError),
		},
		{
			name:  "query canceled by the server while the caller waits",
			err:   serviceerror.NewCanceled("context canceled"),
			query: context.Background(),
			want:  noAnswer,
			as:    new(*NoAnswerError),
		},
		{
			name:  "query canceled, as a gRPC status",
			err:   status.Error(codes.Canceled, "context canceled"),
			query: expired,
			want:  noAnswer,
			as:    new(*NoAnswerError),
		},
		{
			// The same status on the wire, but the caller canceled: not a
			// silent incident, the caller's own cancel.
			name:  "query canceled by the caller passes through",
			err:   serviceerror.NewCanceled("context canceled"),
			query: canceled,
			want:  "context canceled",
			as:    new(*serviceerror.Canceled),
		},
		{
			name:  "query's other errors map as any call's",
			err:   serviceerror.NewDeadlineExceeded("context deadline exceeded"),
			query: canceled,
			want:  noAnswer,
			as:    new(*NoAnswerError),
		},
		{
			// Without the caller's context, a Canceled cannot be told from
			// the caller's own cancel: it passes through.
			name: "canceled outside a query passes through",
			err:  serviceerror.NewCanceled("context canceled"),
			want: "context canceled",
			as:   new(*serviceerror.Canceled),
		},
		{name: "other passes through", err: other, want: "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			if tt.query != nil {
				got = mapQueryError(tt.query, tt.err, "incident-x", "127.0.0.1:7233")
			} else {
				got = mapError(tt.err, "incident-x", "127.0.0.1:7233", tt.lookup)
			}
			if got.Error() != tt.want {
				t.Errorf("message\n got  %s\n want %s", got, tt.want)
			}
			if tt.as != nil && !errors.As(got, tt.as) {
				t.Errorf("%T is not %T", got, tt.as)
			}
			var na *NoAnswerError
			if _, wantNoAnswer := tt.as.(**NoAnswerError); !wantNoAnswer && errors.As(got, &na) {
				t.Errorf("%T is a NoAnswerError: %v", got, got)
			}
		})
	}
}

func TestCheckAct(t *testing.T) {
	act := workflows.Act{By: "alice"}
	if err := checkAct(workflows.ActApprove, &act); err != nil {
		t.Fatal(err)
	}
	if act.ID == "" {
		t.Error("act ID not filled in")
	}
	err := checkAct("approve_all", &workflows.Act{By: "alice"})
	var unknown *UnknownActError
	if !errors.As(err, &unknown) {
		t.Fatalf("err = %v, want UnknownActError", err)
	}
	for _, name := range workflows.ActNames {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%q does not list %s", err, name)
		}
	}
	if err := checkAct(workflows.ActAcknowledge, &workflows.Act{}); err == nil || !strings.Contains(err.Error(), "by: required") {
		t.Errorf("missing by: err = %v", err)
	}
}

func TestSummaryAndDetails(t *testing.T) {
	a := workflows.Alert{
		ID: "a1", Source: "alertmanager", Title: "Orders load failing", DedupeKey: "orders-load",
		Severity: workflows.SEV2, Status: workflows.Firing, Service: "orders", Dataset: "RAW.ORDERS",
		Labels:     map[string]string{"team": "data", "env": "prod", "alertname": "LoadFailed"},
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	if got, want := SummaryLine(a), "SEV2 · orders · Orders load failing (alertmanager)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	d := Details(a, "snowflake-load", oncall.OnDuty{Shift: oncall.Shift{Name: "day", Commander: "alice"}})
	for _, want := range []string{"| severity | SEV2 — Significant problems", "| dataset | RAW.ORDERS |", "| commander | alice (day shift) |", "| received | 2026-01-02T03:04:05Z |"} {
		if !strings.Contains(d, want) {
			t.Errorf("details miss %q:\n%s", want, d)
		}
	}
	i, j, k := strings.Index(d, "`alertname`"), strings.Index(d, "`env`"), strings.Index(d, "`team`")
	if i < 0 || j < i || k < j {
		t.Errorf("labels not sorted:\n%s", d)
	}
}

func TestDeclareValidates(t *testing.T) {
	_, err := Declare(t.Context(), nil, DeclareRequest{Alert: workflows.Alert{Source: "cli"}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"invalid alert", "title: required", "dedupe_key: required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q misses %q", err, want)
		}
	}
}
