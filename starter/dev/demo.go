package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

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
	alert := workflows.Alert{
		Source: "alertmanager", Title: "orders load failing", DedupeKey: key,
		Description: "The hourly COPY INTO RAW.ORDERS loaded 0 rows.",
		Severity:    workflows.SEV3, Service: "orders", Dataset: "RAW.ORDERS",
		Labels: map[string]string{
			"alertname":  "OrdersLoadFailed",
			"dag":        demoload.DAG,
			"env":        "demo",
			"health_url": d.loader.HealthURL(),
		},
	}
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

	step := 0
	line := func(what, answer string) {
		step++
		fmt.Fprintf(out, "  %2d. %-48s → %s\n", step, what, answer)
	}
	note := func(format string, args ...any) {
		fmt.Fprintf(out, "      %s\n", fmt.Sprintf(format, args...))
	}
	req := incidents.DeclareRequest{Alert: alert, Runbooks: d.runbooks, Roster: d.roster, Options: workflows.Options{CloseAfter: d.closeAfter}, TaskQueue: d.taskQueue}

	decl, err := incidents.Declare(ctx, c, req)
	if err != nil {
		return "", err
	}
	id := decl.WorkflowID
	line("alertmanager: orders load failing (SEV3)", fmt.Sprintf("declared %s (run %s), Commander %s", id, short(decl.RunID), decl.Commander))
	note("%s", choice)
	feed := &runbookFeed{c: c, id: id, out: out}

	d2, err := incidents.Declare(ctx, c, req)
	if err != nil {
		return id, err
	}
	st, err := waitStatus(ctx, c, id, func(s workflows.Status) bool { return s.AlertCount >= 2 })
	if err != nil {
		return id, err
	}
	joined := "joined"
	if !d2.Joined {
		joined = "NOT joined (unexpected)"
	}
	line("alertmanager: the same alert again", fmt.Sprintf("%s %s: %d alerts, still one incident", joined, id, st.AlertCount))

	if choice.Runbook != nil {
		// The runbook checks the loader, pages the SME and starts
		// verifying; its first verify try finds the loader still failed.
		st, ok, err := feed.until(ctx, demoRunbookStart, func(s workflows.Status, tl []workflows.TimelineEntry) bool {
			_, failed := d.loader.Checks()
			return runbookDone(s) || (paged(tl) && failed >= 2)
		})
		if err != nil {
			return id, err
		}
		if !ok {
			note("(the runbook is %s; not waiting longer for its first steps)", orText(st.RunbookStatus, "not started"))
		}
	}

	act := func(who, name string, a workflows.Act, what string) error {
		a.By, a.Via = who, "cli"
		res, err := incidents.ActSigned(ctx, c, d.keys.signer(who), id, name, a)
		if err != nil {
			return fmt.Errorf("%s by %s: %w", name, who, err)
		}
		line(what, fmt.Sprintf("%s [%s, %s]", res.Message, res.State, res.Severity))
		return nil
	}
	approval := "rerun-load_orders"
	steps := []struct {
		who, name, what string
		act             workflows.Act
	}{
		{cast.commander, workflows.ActAcknowledge, cast.commander + ": acknowledge", workflows.Act{}},
		{cast.commander, workflows.ActSetSeverity, cast.commander + ": severity SEV2", workflows.Act{Severity: workflows.SEV2, Reason: "EU revenue dashboard shows no orders since 06:00"}},
		{cast.sme, workflows.ActAddNote, cast.sme + ": note", workflows.Act{Note: "COPY INTO RAW.ORDERS failed: file format changed upstream (new column), 0 rows loaded"}},
		{cast.sme, workflows.ActRequestApproval, cast.sme + ": request approval " + approval, workflows.Act{Approval: approval, Action: "clear and re-run the failed load_orders task in Airflow", Detail: "dry run: 3 task instances would be cleared"}},
	}
	for _, s := range steps {
		if err := act(s.who, s.name, s.act, s.what); err != nil {
			return id, err
		}
	}

	// The deliberate mistakes: an SME approving their own request, and an
	// approval in the Commander's name with no signature (as a raw "Send a
	// Signal" from the Temporal UI would send it).
	for _, m := range []struct {
		what   string
		signer *incidents.Signer
		act    workflows.Act
	}{
		{cast.sme + ": approve " + approval + " (not allowed)", d.keys.signer(cast.sme), workflows.Act{By: cast.sme, Via: "cli", Approval: approval}},
		{"unsigned: approve " + approval + " as " + cast.commander, nil, workflows.Act{By: cast.commander, Via: "ui", Approval: approval}},
	} {
		_, err = incidents.ActSigned(ctx, c, m.signer, id, workflows.ActApprove, m.act)
		var rej *incidents.RejectedError
		switch {
		case errors.As(err, &rej):
			line(m.what, "rejected: "+clip(rej.Message, 110))
		case err != nil:
			return id, err
		default:
			line(m.what, "accepted?! the workflow should have refused it")
		}
	}

	if err := act(cast.commander, workflows.ActApprove, workflows.Act{Approval: approval, Reason: "the re-run is idempotent"}, cast.commander+": approve "+approval); err != nil {
		return id, err
	}
	// The approved re-run, played by the stand-in: the load succeeds.
	d.loader.Recover()
	line("orders loader (demo stand-in): re-run", "loaded; its /health answers 200 from now on")

	if choice.Runbook != nil {
		note("waiting for the runbook's verify to see the recovery (it tries every 30s, backing off)…")
		st, ok, err := feed.until(ctx, demoRunbookFinish, func(s workflows.Status, _ []workflows.TimelineEntry) bool { return runbookDone(s) })
		switch {
		case err != nil:
			return id, err
		case !ok:
			note("(the runbook is still %s after %s; resolving anyway, which cancels it)", orText(st.RunbookStatus, "not started"), demoRunbookFinish)
		case st.RunbookStatus != "completed":
			note("(the runbook ended %s, not completed; see the timeline above)", st.RunbookStatus)
		}
	}

	recovered := alert
	recovered.Status = workflows.Recovered
	if err := incidents.SendAlert(ctx, c, recovered); err != nil {
		return id, err
	}
	st, err = waitStatus(ctx, c, id, func(s workflows.Status) bool { return s.AlertStatus == workflows.Recovered })
	if err != nil {
		return id, err
	}
	line("alertmanager: orders load resolved", fmt.Sprintf("alert resolved at the source [%s, %s]", st.State, st.Severity))

	if err := act(cast.commander, workflows.ActResolve, workflows.Act{Reason: "load re-run succeeded; the runbook verified the loader is healthy"}, cast.commander+": resolve"); err != nil {
		return id, err
	}
	// The closure inputs the postmortem is written from.
	closure := []struct {
		who, name, what string
		act             workflows.Act
	}{
		{cast.sme, workflows.ActRootCause, cast.sme + ": root cause", workflows.Act{Note: "the upstream export added a column to orders.csv; COPY INTO rejected every file"}},
		{cast.sme, workflows.ActContributingFactor, cast.sme + ": contributing factor", workflows.Act{Note: "no schema check on the landing files"}},
		{cast.commander, workflows.ActActionItem, cast.commander + ": action item", workflows.Act{Note: "validate landing file schemas before COPY INTO", Person: cast.sme}},
	}
	for _, c := range closure {
		if err := act(c.who, c.name, c.act, c.what); err != nil {
			return id, err
		}
	}
	return id, nil
}
