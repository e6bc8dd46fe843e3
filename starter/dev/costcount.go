package main

import (
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// historyCounts counts what one or more workflow runs' histories hold.
type historyCounts struct {
	// runs are the histories counted (a continue-as-new makes one more).
	runs int
	// events are every history event.
	events int
	// workflowTasks are WorkflowTaskCompleted events.
	workflowTasks int
	// activities are ActivityTaskScheduled events; attempts the attempts
	// their ActivityTaskStarted events report (first tries and retries).
	activities, attempts int
	// timers are TimerStarted events.
	timers int
	// signals are WorkflowExecutionSignaled events (signals received);
	// signalsSent SignalExternalWorkflowExecutionInitiated (sent to
	// another workflow, which receives them).
	signals, signalsSent int
	// updates are WorkflowExecutionUpdateAccepted events.
	updates int
	// children are StartChildWorkflowExecutionInitiated events.
	children int
	// upserts are UpsertWorkflowSearchAttributes events.
	upserts int
	// sideEffects are SideEffect and MutableSideEffect markers;
	// localActivityTasks the workflow tasks that recorded at least one
	// local activity marker.
	sideEffects, localActivityTasks int
	// actions are the Temporal Cloud billable actions the histories show
	// (see countHistory).
	actions int
}

// add adds o to c.
func (c *historyCounts) add(o historyCounts) {
	c.runs += o.runs
	c.events += o.events
	c.workflowTasks += o.workflowTasks
	c.activities += o.activities
	c.attempts += o.attempts
	c.timers += o.timers
	c.signals += o.signals
	c.signalsSent += o.signalsSent
	c.updates += o.updates
	c.children += o.children
	c.upserts += o.upserts
	c.sideEffects += o.sideEffects
	c.localActivityTasks += o.localActivityTasks
	c.actions += o.actions
}

// changeVersionAttribute is the search attribute the SDK upserts for
// GetVersion, which Temporal Cloud does not bill.
const changeVersionAttribute = "TemporalChangeVersion"

// countHistory counts one workflow run's history. Its billable actions
// follow Temporal Cloud's list of actions (docs.temporal.io/cloud/actions)
// as far as a history shows them:
//
//   - workflow started: 1 for a run started by a client or by
//     continue-as-new; a child's first run is 0 here, its parent's
//     StartChildWorkflowExecutionInitiated counting 2 (start and
//     execution); Signal-With-Start is one action in all, so the signal a
//     client's Signal-With-Start put right after the start (event 2) is 0;
//   - 1 per other signal received, timer started, update accepted, side
//     effect recorded (mutable ones are recorded only when they change),
//     search attribute upsert (but an upsert of TemporalChangeVersion
//     alone) and workflow execution options update;
//   - activities: 1 per attempt (started or retried) as ActivityTaskStarted
//     reports it; local activities: 1 per workflow task that recorded any;
//   - version markers, signals sent (billed where received), completions
//     and workflow tasks: 0.
//
// Not in a history, so not counted: queries, activity heartbeats, rejected
// updates.
func countHistory(events []*historypb.HistoryEvent) historyCounts {
	c := historyCounts{runs: 1, events: len(events)}
	laTasks := map[int64]bool{}
	swsSignal := false
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a := e.GetWorkflowExecutionStartedEventAttributes()
			childFirstRun := a.GetParentWorkflowExecution() != nil && a.GetContinuedExecutionRunId() == ""
			if !childFirstRun {
				c.actions++
			}
			// A client's Signal-With-Start writes its signal right after
			// the start.
			swsSignal = !childFirstRun && a.GetContinuedExecutionRunId() == ""
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			c.signals++
			if swsSignal && e.GetEventId() == 2 {
				break
			}
			c.actions++
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			c.signalsSent++
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			c.workflowTasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			c.activities++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			n := max(int(e.GetActivityTaskStartedEventAttributes().GetAttempt()), 1)
			c.attempts += n
			c.actions += n
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			c.timers++
			c.actions++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			c.updates++
			c.actions++
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			c.children++
			c.actions += 2
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			c.upserts++
			fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, ok := fields[changeVersionAttribute]; !ok || len(fields) > 1 {
				c.actions++
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
			c.actions++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			a := e.GetMarkerRecordedEventAttributes()
			switch a.GetMarkerName() {
			case "SideEffect", "MutableSideEffect":
				c.sideEffects++
				c.actions++
			case "LocalActivity":
				laTasks[a.GetWorkflowTaskCompletedEventId()] = true
			}
		}
	}
	c.localActivityTasks = len(laTasks)
	c.actions += len(laTasks)
	return c
}
