package metrics

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/activities/lifecycle/record"
	"github.com/datasev/datasev/workflows"
)

// Metric names of the incident record: the counts `datasev report` prints,
// counted as incidents close.
const (
	// IncidentsClosed counts closed incidents by final severity.
	IncidentsClosed = "datasev_incidents_closed_total"
	// TimeToAcknowledge, TimeToMitigate and TimeToResolve are histograms of
	// the time from trigger to each milestone, by severity; an incident
	// that never reached a milestone is not observed in its histogram.
	TimeToAcknowledge = "datasev_time_to_acknowledge_seconds"
	TimeToMitigate    = "datasev_time_to_mitigate_seconds"
	TimeToResolve     = "datasev_time_to_resolve_seconds"
	// Approvals counts closed incidents' approvals by outcome (granted,
	// denied, timed_out, auto, pending).
	Approvals = "datasev_approvals_total"
	// HandoffsMissed counts shift handoffs not accepted by their deadline.
	HandoffsMissed = "datasev_handoffs_missed_total"
	// StatusUpdatesMissed counts status updates not posted in time.
	StatusUpdatesMissed = "datasev_status_updates_missed_total"
	// ActionItems counts closed incidents' action items by whether they
	// were filed as tracker issues (filed="true"/"false").
	ActionItems = "datasev_action_items_total"
)

// IncidentBuckets are the bounds, in seconds, of the incident-time
// histograms: one minute to a week.
var IncidentBuckets = []float64{60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800}

// incidentMetrics are the incident record's collectors.
type incidentMetrics struct {
	closed                 *prometheus.CounterVec
	ack, mitigate, resolve *prometheus.HistogramVec
	approvals              *prometheus.CounterVec
	handoffs, updates      prometheus.Counter
	actionItems            *prometheus.CounterVec
}

// newIncidentMetrics makes the incident record's collectors and registers
// them. Every severity and outcome series starts at zero, so a dashboard
// shows 0 rather than no data before the first incident closes.
func newIncidentMetrics(reg prometheus.Registerer) (*incidentMetrics, error) {
	hist := func(name, what string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: name, Help: "Time from trigger to " + what + " of closed incidents, by final severity.", Buckets: IncidentBuckets,
		}, []string{"severity"})
	}
	m := &incidentMetrics{
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: IncidentsClosed, Help: "Closed incidents by final severity.",
		}, []string{"severity"}),
		ack:      hist(TimeToAcknowledge, "acknowledgement"),
		mitigate: hist(TimeToMitigate, "mitigation"),
		resolve:  hist(TimeToResolve, "resolution"),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: Approvals, Help: "Approvals of closed incidents by outcome (granted, denied, timed_out, auto, pending).",
		}, []string{"outcome"}),
		handoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: HandoffsMissed, Help: "Shift handoffs of closed incidents not accepted by their deadline (escalated).",
		}),
		updates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: StatusUpdatesMissed, Help: "Status updates of closed incidents not posted in time.",
		}),
		actionItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ActionItems, Help: "Action items of closed incidents by whether they were filed as tracker issues.",
		}, []string{"filed"}),
	}
	for _, c := range []prometheus.Collector{m.closed, m.ack, m.mitigate, m.resolve, m.approvals, m.handoffs, m.updates, m.actionItems} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register incident metrics: %w", err)
		}
	}
	for _, s := range workflows.Severities {
		m.closed.WithLabelValues(string(s))
		m.ack.WithLabelValues(string(s))
		m.mitigate.WithLabelValues(string(s))
		m.resolve.WithLabelValues(string(s))
	}
	for _, o := range record.ApprovalOutcomes {
		m.approvals.WithLabelValues(o)
	}
	m.actionItems.WithLabelValues("true")
	m.actionItems.WithLabelValues("false")
	return m, nil
}

// observe counts one closed incident, through record.Of: the same facts
// `datasev report` adds up.
func (m *incidentMetrics) observe(s workflows.Snapshot) {
	in := record.Of(s)
	sev := string(in.Severity)
	if !in.Severity.Valid() {
		sev = "unknown"
	}
	m.closed.WithLabelValues(sev).Inc()
	for _, h := range []struct {
		v *prometheus.HistogramVec
		d interface{ Seconds() float64 }
		n bool
	}{{m.ack, in.ToAcknowledge, in.ToAcknowledge >= 0}, {m.mitigate, in.ToMitigate, in.ToMitigate >= 0}, {m.resolve, in.ToResolve, in.ToResolve >= 0}} {
		if h.n {
			h.v.WithLabelValues(sev).Observe(h.d.Seconds())
		}
	}
	for _, o := range record.ApprovalOutcomes {
		if n := in.Approvals[o]; n > 0 {
			m.approvals.WithLabelValues(o).Add(float64(n))
		}
	}
	m.handoffs.Add(float64(in.HandoffsMissed))
	m.updates.Add(float64(in.UpdatesMissed))
	m.actionItems.WithLabelValues(strconv.FormatBool(true)).Add(float64(in.ActionItemsFiled))
	m.actionItems.WithLabelValues(strconv.FormatBool(false)).Add(float64(in.ActionItems - in.ActionItemsFiled))
}

// InterceptWorkflow counts each incident as it closes: when the incident
// workflow returns its final snapshot. Workflow code runs again on replay
// (a query to a closed incident, a worker that lost its cache), so the
// count is taken only when the return is not a replay: once per incident,
// on the worker that completed it. A continue-as-new returns no snapshot
// and is not counted.
func (w *workerInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	if w.m.incidents == nil || workflow.GetInfo(ctx).WorkflowType.Name != workflows.IncidentWorkflowName {
		return next
	}
	i := &incidentInbound{m: w.m.incidents}
	i.Next = next
	return i
}

type incidentInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	m *incidentMetrics
}

func (i *incidentInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	out, err := i.Next.ExecuteWorkflow(ctx, in)
	if err != nil || workflow.IsReplaying(ctx) {
		return out, err
	}
	if s, ok := out.(workflows.Snapshot); ok && s.State == workflows.Closed {
		i.m.observe(s)
	}
	return out, err
}
