package incident

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasev/datasev/workflows"
)

// versionDocument is the change ID of the incident document: created when
// the incident opens and kept current with its timeline.
const versionDocument = "incident-document"

// documentLoop keeps the incident document current for the life of the run:
// whenever the timeline has grown it syncs the document, at most once per
// Options.DocumentInterval (entries added meanwhile go in the next sync),
// and at once while the incident is closing (docFlush).
func (inc *incident) documentLoop(ctx workflow.Context) {
	d := &inc.s.Document
	if d.LastSync.IsZero() {
		// People first: the document is first written once the first
		// page or post has gone out, which keeps it off the path from the
		// alert to the incident's first action.
		if err := workflow.Await(ctx, func() bool { return inc.notified || len(inc.s.Outbox) == 0 || inc.docFlush }); err != nil {
			return
		}
	}
	for {
		if err := workflow.Await(ctx, func() bool { return len(inc.s.Timeline) > d.Synced }); err != nil {
			return
		}
		if !d.LastSync.IsZero() && !inc.docFlush {
			wait := d.LastSync.Add(documentInterval(inc.in.Options)).Sub(workflow.Now(ctx))
			if wait > 0 {
				if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return inc.docFlush }); err != nil {
					return
				}
			}
		}
		inc.syncDocument(ctx)
	}
}

// syncDocument writes the whole document from the current report. The
// first success records the document's place, posts it to the channel and
// shows it in the UI's details; the first of a run of failures is recorded,
// and the entries it carried count as synced either way, so a document
// store that is down costs one attempt per new entry, not a loop.
func (inc *incident) syncDocument(ctx workflow.Context) {
	d := &inc.s.Document
	inc.docBusy = true
	defer func() { inc.docBusy = false }()
	r := inc.report()
	d.Synced = len(r.Timeline)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second, MaximumAttempts: 5},
		Summary:             "update the incident document of " + inc.s.ID,
	})
	var res workflows.DocumentResult
	err := workflow.ExecuteActivity(actx, workflows.DocumentActivityName, r).Get(ctx, &res)
	now := workflow.Now(ctx)
	d.LastSync = now
	if err != nil {
		if !d.Failing {
			d.Failing = true
			inc.record(now, "datasev", workflows.KindSystem, "incident document could not be updated", err.Error())
		}
		return
	}
	d.Failing = false
	if res.URL != "" && d.URL == "" {
		d.URL = res.URL
		inc.record(now, "datasev", workflows.KindSystem, "incident document: "+res.URL, "")
		inc.post("incident document: "+inc.s.Title, "The Scribe's record of the incident, kept current with its timeline: "+res.URL)
		inc.kick.SendAsync(struct{}{})
	}
}

// flushDocument brings the document up to date with the whole timeline
// before the run ends, without waiting for the interval.
func (inc *incident) flushDocument(ctx workflow.Context) {
	d := &inc.s.Document
	if !d.Enabled {
		return
	}
	inc.docFlush = true
	defer func() { inc.docFlush = false }()
	_ = workflow.Await(ctx, func() bool { return !inc.docBusy && d.Synced >= len(inc.s.Timeline) })
}
