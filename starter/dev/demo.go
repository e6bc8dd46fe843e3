package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/activities/notifiers/pagerduty/pdtest"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/starter/cli"
	"github.com/datasev/datasev/starter/dev/demoload"
	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// demoPeople is the demo's cast: the Commander and the first SME of the
// shift on duty.
type demoPeople struct {
	shift     string
	commander string
	sme       string
}

// pickCast picks the demo's cast from the shift on duty at now, so the demo
// works at any hour.
func pickCast(r oncall.Roster, now time.Time) (demoPeople, error) {
	duty, err := incidents.OnDuty(r, now)
	if err != nil {
		return demoPeople{}, fmt.Errorf("roster: %w", err)
	}
	if len(duty.Shift.SMEs) == 0 {
		return demoPeople{}, fmt.Errorf("roster: the %s shift has no SMEs; the demo needs one", duty.Shift.Name)
	}
	return demoPeople{shift: duty.Shift.Name, commander: duty.Shift.Commander, sme: duty.Shift.SMEs[0]}, nil
}

// demo is what the demo incident needs.
type demo struct {
	roster     oncall.Roster
	runbooks   *runbooks.Set
	loader     *demoload.Loader
	closeAfter time.Duration
	// taskQueue is the worker's task queue (DATASEV_TASK_QUEUE).
	taskQueue string
	// keys sign the cast's acts.
	keys *devKeys
	// pagerduty is the PagerDuty stand-in the worker pages, where the
	// Commander acknowledges (pdackdemo.go); nil: with the CLI.
	pagerduty *pdtest.Server
}

// Bounds of the demo's waits for its runbook.
const (
	// demoRunbookStart bounds the wait for the runbook's first steps: its
	// check of the loader and the page to the SME.
	demoRunbookStart = 20 * time.Second
	// demoRunbookFinish bounds the wait for the runbook's verify to see the
	// loader recover: it tries every 30s, then backs off.
	demoRunbookFinish = 100 * time.Second
)

// runDemo drives one incident through its life, one printed line per step,
// with its runbook's timeline entries under them as they arrive, and
// returns its workflow ID.
func runDemo(ctx context.Context, c client.Client, out io.Writer, d demo) (string, error) {
	now := time.Now()
	cast, err := pickCast(d.roster, now)
	if err != nil {
		return "", err
	}
	key := "orders-load-" + now.UTC().Format("20060102-150405")
	alert := demoAlert(key, d.loader.HealthURL())
	check := alert
	if err := check.Validate(); err != nil {
		return "", err
	}
	choice, err := cli.ChooseRunbook(d.runbooks, "", check)
	if err != nil {
		return "", err
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "demo incident %q: %s shift on duty, Commander %s, SME %s\n", key, cast.shift, cast.commander, cast.sme)
	r := &demoRun{c: c, out: out, d: d, cast: cast, hasRunbook: choice.Runbook != nil}
	if err := r.declare(ctx, alert, choice); err != nil {
		return r.id, err
	}
	if err := r.waitRunbookStart(ctx); err != nil {
		return r.id, err
	}
	approval := "rerun-load_orders"
	if err := r.acknowledge(ctx); err != nil {
		return r.id, err
	}
	if err := r.acts(ctx, triageActs(cast, approval)); err != nil {
		return r.id, err
	}
	if err := r.tryMistakes(ctx, approval); err != nil {
		return r.id, err
	}
	if err := r.act(ctx, demoAct{cast.commander, workflows.ActApprove, cast.commander + ": approve " + approval, workflows.Act{Approval: approval, Reason: "the re-run is idempotent"}}); err != nil {
		return r.id, err
	}
	// The approved re-run, played by the stand-in: the load succeeds.
	d.loader.Recover()
	r.line("orders loader (demo stand-in): re-run", "loaded; its /health answers 200 from now on")
	if err := r.waitRunbookFinish(ctx); err != nil {
		return r.id, err
	}
	if err := r.recoverAlert(ctx, alert); err != nil {
		return r.id, err
	}
	if err := r.act(ctx, demoAct{cast.commander, workflows.ActResolve, cast.commander + ": resolve", workflows.Act{Reason: "load re-run succeeded; the runbook verified the loader is healthy"}}); err != nil {
		return r.id, err
	}
	return r.id, r.acts(ctx, closureActs(cast))
}

// demoAlert is the demo's alert: the orders load failing, its health check
// at healthURL.
func demoAlert(key, healthURL string) workflows.Alert {
	return workflows.Alert{
		Source: "alertmanager", Title: "orders load failing", DedupeKey: key,
		Description: "The hourly COPY INTO RAW.ORDERS loaded 0 rows.",
		Severity:    workflows.SEV3, Service: "orders", Dataset: "RAW.ORDERS",
		Labels: map[string]string{
			"alertname":  "OrdersLoadFailed",
			"dag":        demoload.DAG,
			"env":        "demo",
			"health_url": healthURL,
		},
	}
}

// demoAct is one act of the demo's cast: who sends act name, and what the
// printed step says.
type demoAct struct {
	who, name, what string
	act             workflows.Act
}

// triageActs are the acts from the acknowledgement to the request for
// approval.
func triageActs(cast demoPeople, approval string) []demoAct {
	return []demoAct{
		{cast.commander, workflows.ActSetSeverity, cast.commander + ": severity SEV2", workflows.Act{Severity: workflows.SEV2, Reason: "EU revenue dashboard shows no orders since 06:00"}},
		{cast.sme, workflows.ActAddNote, cast.sme + ": note", workflows.Act{Note: "COPY INTO RAW.ORDERS failed: file format changed upstream (new column), 0 rows loaded"}},
		{cast.sme, workflows.ActRequestApproval, cast.sme + ": request approval " + approval, workflows.Act{Approval: approval, Action: "clear and re-run the failed load_orders task in Airflow", Detail: "dry run: 3 task instances would be cleared"}},
	}
}

// closureActs are the closure inputs the postmortem is written from.
func closureActs(cast demoPeople) []demoAct {
	return []demoAct{
		{cast.sme, workflows.ActRootCause, cast.sme + ": root cause", workflows.Act{Note: "the upstream export added a column to orders.csv; COPY INTO rejected every file"}},
		{cast.sme, workflows.ActContributingFactor, cast.sme + ": contributing factor", workflows.Act{Note: "no schema check on the landing files"}},
		{cast.commander, workflows.ActActionItem, cast.commander + ": action item", workflows.Act{Note: "validate landing file schemas before COPY INTO", Person: cast.sme}},
	}
}

// demoRun is the demo incident in flight: where its steps print and what
// its acts are sent with.
type demoRun struct {
	c    client.Client
	out  io.Writer
	d    demo
	cast demoPeople
	// hasRunbook says a runbook was chosen for the alert, so the demo
	// waits for its steps.
	hasRunbook bool
	// id is the incident's workflow ID, once declared.
	id   string
	feed *runbookFeed
	// step numbers the printed lines.
	step int
}

// line prints the next numbered step and its answer.
func (r *demoRun) line(what, answer string) {
	r.step++
	fmt.Fprintf(r.out, "  %2d. %-48s → %s\n", r.step, what, answer)
}

// note prints an indented remark under the steps.
func (r *demoRun) note(format string, args ...any) {
	fmt.Fprintf(r.out, "      %s\n", fmt.Sprintf(format, args...))
}

// declare declares the incident, then sends the same alert again and
// waits for it to join.
func (r *demoRun) declare(ctx context.Context, alert workflows.Alert, choice cli.RunbookChoice) error {
	req := incidents.DeclareRequest{Alert: alert, Runbooks: r.d.runbooks, Roster: r.d.roster, Options: workflows.Options{CloseAfter: r.d.closeAfter}, TaskQueue: r.d.taskQueue}
	decl, err := incidents.Declare(ctx, r.c, req)
	if err != nil {
		return err
	}
	r.id = decl.WorkflowID
	r.line("alertmanager: orders load failing (SEV3)", fmt.Sprintf("declared %s (run %s), Commander %s", r.id, short(decl.RunID), decl.Commander))
	r.note("%s", choice)
	r.feed = &runbookFeed{c: r.c, id: r.id, out: r.out}

	d2, err := incidents.Declare(ctx, r.c, req)
	if err != nil {
		return err
	}
	st, err := waitStatus(ctx, r.c, r.id, func(s workflows.Status) bool { return s.AlertCount >= 2 })
	if err != nil {
		return err
	}
	joined := "joined"
	if !d2.Joined {
		joined = "NOT joined (unexpected)"
	}
	r.line("alertmanager: the same alert again", fmt.Sprintf("%s %s: %d alerts, still one incident", joined, r.id, st.AlertCount))
	return nil
}

// waitRunbookStart waits, when there is a runbook, for its first steps:
// it checks the loader, pages the SME and starts verifying; its first
// verify try finds the loader still failed.
func (r *demoRun) waitRunbookStart(ctx context.Context) error {
	if !r.hasRunbook {
		return nil
	}
	st, ok, err := r.feed.until(ctx, demoRunbookStart, func(s workflows.Status, tl []workflows.TimelineEntry) bool {
		_, failed := r.d.loader.Checks()
		return runbookDone(s) || (paged(tl) && failed >= 2)
	})
	if err != nil {
		return err
	}
	if !ok {
		r.note("(the runbook is %s; not waiting longer for its first steps)", orText(st.RunbookStatus, "not started"))
	}
	return nil
}

// waitRunbookFinish waits, when there is a runbook, for its verify to see
// the recovery, and says how it ended when it did not complete.
func (r *demoRun) waitRunbookFinish(ctx context.Context) error {
	if !r.hasRunbook {
		return nil
	}
	r.note("waiting for the runbook's verify to see the recovery (it tries every 30s, backing off)…")
	st, ok, err := r.feed.until(ctx, demoRunbookFinish, func(s workflows.Status, _ []workflows.TimelineEntry) bool { return runbookDone(s) })
	switch {
	case err != nil:
		return err
	case !ok:
		r.note("(the runbook is still %s after %s; resolving anyway, which cancels it)", orText(st.RunbookStatus, "not started"), demoRunbookFinish)
	case st.RunbookStatus != "completed":
		r.note("(the runbook ended %s, not completed; see the timeline above)", st.RunbookStatus)
	}
	return nil
}

// act sends one act of the cast, signed with the sender's key, and prints
// its answer.
func (r *demoRun) act(ctx context.Context, a demoAct) error {
	act := a.act
	act.By, act.Via = a.who, "cli"
	res, err := incidents.ActSigned(ctx, r.c, r.d.keys.signer(a.who), r.id, a.name, act)
	if err != nil {
		return fmt.Errorf("%s by %s: %w", a.name, a.who, err)
	}
	r.line(a.what, fmt.Sprintf("%s [%s, %s]", res.Message, res.State, res.Severity))
	return nil
}

// acts sends acts in order, stopping at the first error.
func (r *demoRun) acts(ctx context.Context, acts []demoAct) error {
	for _, a := range acts {
		if err := r.act(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// tryMistakes sends the deliberate mistakes, which the workflow refuses:
// an SME approving their own request, and an approval in the Commander's
// name with no signature (as a raw "Send a Signal" from the Temporal UI
// would send it).
func (r *demoRun) tryMistakes(ctx context.Context, approval string) error {
	for _, m := range []struct {
		what   string
		signer *incidents.Signer
		act    workflows.Act
	}{
		{r.cast.sme + ": approve " + approval + " (not allowed)", r.d.keys.signer(r.cast.sme), workflows.Act{By: r.cast.sme, Via: "cli", Approval: approval}},
		{"unsigned: approve " + approval + " as " + r.cast.commander, nil, workflows.Act{By: r.cast.commander, Via: "ui", Approval: approval}},
	} {
		_, err := incidents.ActSigned(ctx, r.c, m.signer, r.id, workflows.ActApprove, m.act)
		var rej *incidents.RejectedError
		switch {
		case errors.As(err, &rej):
			r.line(m.what, "rejected: "+clip(rej.Message, 110))
		case err != nil:
			return err
		default:
			r.line(m.what, "accepted?! the workflow should have refused it")
		}
	}
	return nil
}

// recoverAlert sends the alert's recovery, as the source would, and waits
// for the incident to see it.
func (r *demoRun) recoverAlert(ctx context.Context, alert workflows.Alert) error {
	recovered := alert
	recovered.Status = workflows.Recovered
	if err := incidents.SendAlert(ctx, r.c, recovered); err != nil {
		return err
	}
	st, err := waitStatus(ctx, r.c, r.id, func(s workflows.Status) bool { return s.AlertStatus == workflows.Recovered })
	if err != nil {
		return err
	}
	r.line("alertmanager: orders load resolved", fmt.Sprintf("alert resolved at the source [%s, %s]", st.State, st.Severity))
	return nil
}
