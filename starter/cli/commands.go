package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/datasev/datasev/starter/incidents"
	"github.com/datasev/datasev/workflows"
)

// labels is a repeatable --label k=v flag.
type labels map[string]string

func (l labels) String() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ",")
}

func (l labels) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	l[strings.TrimSpace(k)] = val
	return nil
}

func runDeclare(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "declare", "--title T --key K [flags]")
	var (
		a          workflows.Alert
		lbls       = labels{}
		severity   string
		status     string
		runbook    string
		runbookDir string
		roster     string
		by         string
		closeAfter time.Duration
	)
	fs.StringVar(&a.Title, "title", "", "one-line description (required)")
	fs.StringVar(&a.DedupeKey, "key", "", "dedupe key: alerts with the same key join one incident (required)")
	fs.StringVar(&severity, "severity", "", "suggested severity, SEV1 (worst) to SEV5 (default: the runbook's, else SEV3)")
	fs.StringVar(&a.Service, "service", "", "affected service or pipeline")
	fs.StringVar(&a.Dataset, "dataset", "", "affected table or dataset")
	fs.StringVar(&a.Source, "source", "cli", "who raised it: alertmanager, dbt_cloud, airflow, pagerduty, slack, cli, generic")
	fs.StringVar(&a.Description, "description", "", "free text")
	fs.StringVar(&status, "status", "firing", "firing, or resolved to report recovery")
	fs.Var(lbls, "label", "label key=value (repeatable)")
	fs.StringVar(&runbook, "runbook", "", "runbook to run (default: the one that matches the alert)")
	fs.StringVar(&runbookDir, "runbooks", "", "runbook directory added to the embedded library (default $"+EnvRunbooks+")")
	fs.StringVar(&roster, "roster", "", "roster file (default $"+EnvRoster+" or "+DefaultRoster+")")
	fs.StringVar(&by, "by", "", "roster ID of the person declaring (recorded as label declared_by)")
	fs.DurationVar(&closeAfter, "close-after", 0, "how long a resolved incident waits before closing (default 30m)")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	var missing []string
	if strings.TrimSpace(a.Title) == "" {
		missing = append(missing, "--title")
	}
	if strings.TrimSpace(a.DedupeKey) == "" {
		missing = append(missing, "--key")
	}
	if len(missing) > 0 {
		return usagef("declare: %s required", strings.Join(missing, " and "))
	}
	a.Severity = workflows.Severity(severity)
	a.Status = workflows.AlertStatus(status)
	if by != "" {
		lbls["declared_by"] = by
	}
	if len(lbls) > 0 {
		a.Labels = lbls
	}
	check := a
	err := check.Validate()
	if err == nil {
		// The key's shape and the fields' bounds, as every front door
		// checks them (Declare checks again), before dialling.
		err = incidents.CheckAlert(check)
	}
	if err != nil {
		return &incidents.ValidationError{What: "alert", Err: err}
	}
	r, err := loadRoster(e, roster)
	if err != nil {
		return err
	}
	if by != "" {
		if _, ok := r.Person(by); !ok {
			return fmt.Errorf("--by %q is not on the %s roster", by, r.Team)
		}
	}
	set, err := loadRunbookSet(e, runbookDir)
	if err != nil {
		return err
	}
	choice, err := ChooseRunbook(set, runbook, check)
	if err != nil {
		return err
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	d, err := incidents.Declare(ctx, c, incidents.DeclareRequest{
		Alert: a, Runbook: runbook, Runbooks: set, Roster: r, Options: workflows.Options{CloseAfter: closeAfter},
		TaskQueue: e.getenv(EnvTaskQueue),
	})
	if err != nil {
		return err
	}
	printDeclared(e.stdout, d, choice)
	return nil
}

func printDeclared(w io.Writer, d incidents.Declared, choice RunbookChoice) {
	switch {
	case d.Ignored:
		fmt.Fprintf(w, "no open incident %s: a resolved alert opens nothing\n", d.WorkflowID)
		return
	case d.Joined:
		fmt.Fprintf(w, "joined open incident %s (run %s)\n", d.WorkflowID, d.RunID)
		fmt.Fprintln(w, "it keeps the runbook it was declared with (`datasev show` names it)")
		return
	case d.PreviousRunID != "":
		fmt.Fprintf(w, "declared incident %s (run %s), a recurrence of closed run %s; Commander %s\n", d.WorkflowID, d.RunID, d.PreviousRunID, d.Commander)
	default:
		fmt.Fprintf(w, "declared incident %s (run %s); Commander %s\n", d.WorkflowID, d.RunID, d.Commander)
	}
	fmt.Fprintln(w, choice)
}

func runList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "list", "[flags]")
	var f incidents.Filter
	var all bool
	fs.StringVar(&f.Severity, "severity", "", "only this severity (SEV1..SEV5)")
	fs.StringVar(&f.Status, "status", "", "only this state: triggered, acknowledged, diagnosing, mitigating, monitoring, resolved, closed")
	fs.StringVar(&f.Service, "service", "", "only this service")
	fs.StringVar(&f.Commander, "commander", "", "only incidents this person commands")
	fs.BoolVar(&all, "all", false, "include closed incidents")
	fs.IntVar(&f.Limit, "limit", 100, "at most this many")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	f.Open = !all
	if _, err := f.Query(); err != nil {
		return &usageError{msg: err.Error()}
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := incidents.List(ctx, c, f)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		what := "open incidents"
		if all {
			what = "incidents"
		}
		fmt.Fprintf(e.stdout, "no %s match\n", what)
		return nil
	}
	printList(e.stdout, list)
	return nil
}

func printList(w io.Writer, list []incidents.Summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEV\tSTATUS\tSERVICE\tCOMMANDER\tSTARTED\tTITLE")
	for _, s := range list {
		st := s.Status
		if s.Execution != "Running" && s.Execution != "" && st != string(workflows.Closed) {
			st += " (" + strings.ToLower(s.Execution) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.WorkflowID, dash(s.Severity), dash(st), dash(s.Service), dash(s.Commander),
			s.StartTime.Local().Format("2006-01-02 15:04"), s.Title)
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runShow(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "show", "ID")
	ref, err := parseIncidentRef(fs, args)
	if err != nil {
		return err
	}
	c, id, err := e.dialIncident(ctx, ref)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	st, err := incidents.Status(ctx, c, id)
	if err != nil {
		return err
	}
	tl, err := incidents.Timeline(ctx, c, id)
	if err != nil {
		return err
	}
	printStatus(e.stdout, st)
	if st.State == workflows.Closed {
		fctx, fcancel := context.WithTimeout(ctx, followUpTimeout)
		res, ferr := FollowUp(fctx, c, e.getenv(EnvTaskQueue), id)
		fcancel()
		printFollowUp(e.stdout, res, ferr)
	}
	fmt.Fprintln(e.stdout)
	printTimeline(e.stdout, tl)
	return nil
}

func printStatus(w io.Writer, st workflows.Status) {
	fmt.Fprintf(w, "%s — %s\n", st.ID, st.Title)
	fmt.Fprintf(w, "  state      %s\n", st.State)
	fmt.Fprintf(w, "  severity   %s (%s)\n", st.Severity, st.SeverityMeaning)
	if st.Service != "" || st.Dataset != "" {
		fmt.Fprintf(w, "  affected   %s\n", strings.TrimSpace(st.Service+" "+st.Dataset))
	}
	if st.Runbook != "" {
		fmt.Fprintf(w, "  runbook    %s\n", st.Runbook)
	}
	fmt.Fprintf(w, "  commander  %s", dash(st.Roles.Commander))
	if st.Shift != "" {
		fmt.Fprintf(w, " (%s shift, ends %s)", st.Shift, st.ShiftEnd.Local().Format("2006-01-02 15:04 MST"))
	}
	fmt.Fprintln(w)
	if st.Roles.Scribe != "" {
		fmt.Fprintf(w, "  scribe     %s\n", st.Roles.Scribe)
	}
	if st.Roles.Liaison != "" {
		fmt.Fprintf(w, "  liaison    %s\n", st.Roles.Liaison)
	}
	if len(st.Roles.SMEs) > 0 {
		fmt.Fprintf(w, "  SMEs       %s\n", strings.Join(st.Roles.SMEs, ", "))
	}
	if h := st.Handoff; h != nil {
		fmt.Fprintf(w, "  handoff    %s → %s, accept by %s\n", h.From, h.To, h.Deadline.Local().Format("15:04 MST"))
	}
	fmt.Fprintf(w, "  alerts     %d (%s)\n", st.AlertCount, st.AlertStatus)
	if st.MergedInto != "" {
		fmt.Fprintf(w, "  merged     into %s\n", st.MergedInto)
	}
	for _, l := range st.Related {
		fmt.Fprintf(w, "  linked     %s %s", l.Kind, l.ID)
		if l.Title != "" {
			fmt.Fprintf(w, " (%s)", l.Title)
		}
		if l.Alerts > 0 {
			fmt.Fprintf(w, ", %d alerts", l.Alerts)
		}
		fmt.Fprintln(w)
	}
	if st.Group != "" {
		fmt.Fprintf(w, "  grouped    %s: %d alerts", st.Group, len(st.Members)+st.MembersMore)
		if st.MembersMore > 0 {
			fmt.Fprintf(w, " (%d listed)", len(st.Members))
		}
		fmt.Fprintln(w)
		for _, m := range st.Members {
			state := string(m.Status)
			if m.SplitTo != "" {
				state = "split out to " + m.SplitTo
			}
			fmt.Fprintf(w, "    %-40s %s ×%d — %s\n", m.Key, state, m.Count, m.Title)
		}
	}
	age := time.Since(st.TriggeredAt)
	if !st.ClosedAt.IsZero() {
		age = st.ClosedAt.Sub(st.TriggeredAt)
	}
	fmt.Fprintf(w, "  triggered  %s (age %s)\n", st.TriggeredAt.Local().Format("2006-01-02 15:04:05 MST"), age.Round(time.Second))
	if !st.AckedAt.IsZero() {
		fmt.Fprintf(w, "  acked      %s\n", st.AckedAt.Local().Format("2006-01-02 15:04:05 MST"))
	}
	if !st.ResolvedAt.IsZero() {
		fmt.Fprintf(w, "  resolved   %s\n", st.ResolvedAt.Local().Format("2006-01-02 15:04:05 MST"))
	}
	if st.PreviousRunID != "" {
		fmt.Fprintf(w, "  recurrence of run %s\n", st.PreviousRunID)
	}
	for _, ap := range st.PendingApprovals {
		fmt.Fprintf(w, "  waiting    approval %s: %s (asked by %s, decide by %s)\n", ap.ID, ap.Action, ap.RequestedBy, ap.Deadline.Local().Format("15:04 MST"))
		for _, c := range ap.Covers {
			fmt.Fprintf(w, "             also runs step %s: %s (%s)", c.Step, c.Action, c.Inputs)
			if len(c.Pending) > 0 {
				fmt.Fprintf(w, "; %s when it runs", strings.Join(c.Pending, ", "))
			}
			fmt.Fprintln(w)
			if c.DryRun != "" {
				fmt.Fprintf(w, "               dry run: %s\n", strings.ReplaceAll(c.DryRun, "\n", "\n               "))
			}
		}
	}
	for _, f := range st.LastFindings {
		fmt.Fprintf(w, "  finding    %s\n", f)
	}
	if st.Document != "" {
		fmt.Fprintf(w, "  document   %s\n", st.Document)
	}
	if st.Closure.Postmortem != "" {
		fmt.Fprintf(w, "  postmortem %s\n", st.Closure.Postmortem)
	}
}

func printTimeline(w io.Writer, tl []workflows.TimelineEntry) {
	fmt.Fprintf(w, "timeline (%d):\n", len(tl))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range tl {
		what := t.What
		if t.Why != "" {
			what += " — " + t.Why
		}
		who := t.Who
		if t.Via != "" {
			who += " (" + t.Via + ")"
		}
		if t.Verified != "" {
			// How the incident verified the actor: key SHA256:…,
			// slack:U… via slack, or unsigned.
			who += " [" + t.Verified + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.At.Local().Format("15:04:05"), who, t.Kind, what)
	}
	_ = tw.Flush()
}

// answerTimeout bounds how long show and the acts wait for the incident to
// answer; without a worker nothing answers.
const answerTimeout = 30 * time.Second

// actCommand is a CLI command for one workflow act.
type actCommand struct {
	cmd     string
	act     string
	usage   string
	summary string
	// flags declares the act's own flags and returns a check run after
	// parsing.
	flags func(fs *flag.FlagSet, a *workflows.Act) func() error
}

var actCommands = []actCommand{
	{cmd: "ack", act: workflows.ActAcknowledge, summary: "acknowledge the page (Commander or secondary)",
		flags: noFlags},
	{cmd: "role", act: workflows.ActAssignRole, usage: "--role R --person Q", summary: "assign a role: commander, scribe, liaison, sme (Commander)",
		flags: func(fs *flag.FlagSet, a *workflows.Act) func() error {
			var role string
			fs.StringVar(&role, "role", "", "commander, scribe, liaison or sme (required)")
			fs.StringVar(&a.Person, "person", "", "roster ID of who gets the role (required)")
			return func() error {
				if role == "" || a.Person == "" {
					return usagef("role: --role and --person required")
				}
				return parseInto(&a.Role, role, workflows.ParseRole)
			}
		}},
	{cmd: "sev", act: workflows.ActSetSeverity, usage: "--severity SEV1 [--reason R]", summary: "change severity (Commander)",
		flags: func(fs *flag.FlagSet, a *workflows.Act) func() error {
			var sev string
			fs.StringVar(&sev, "severity", "", "new severity, SEV1..SEV5 (required)")
			return func() error {
				if sev == "" {
					return usagef("sev: --severity required")
				}
				return parseInto(&a.Severity, sev, workflows.ParseSeverity)
			}
		}},
	{cmd: "note", act: workflows.ActAddNote, usage: "--text T", summary: "add a note (an SME's note is a finding)",
		flags: func(fs *flag.FlagSet, a *workflows.Act) func() error {
			fs.StringVar(&a.Note, "text", "", "the note (required)")
			return requireText("note", a)
		}},
	{cmd: "request-approval", act: workflows.ActRequestApproval, usage: "--approval NAME --action A [--detail D]", summary: "ask the Commander to approve a remediation (SME)",
		flags: func(fs *flag.FlagSet, a *workflows.Act) func() error {
			fs.StringVar(&a.Approval, "approval", "", "approval name, e.g. revert-abc123 (required)")
			fs.StringVar(&a.Action, "action", "", "what will run once approved (required)")
			fs.StringVar(&a.Detail, "detail", "", "what the approver should see, e.g. a dry run")
			return func() error {
				if a.Approval == "" || a.Action == "" {
					return usagef("request-approval: --approval and --action required")
				}
				return nil
			}
		}},
	{cmd: "approve", act: workflows.ActApprove, usage: "--approval NAME [--reason R]", summary: "approve a pending remediation (Commander)",
		flags: approvalFlag("approve")},
	{cmd: "deny", act: workflows.ActDeny, usage: "--approval NAME [--reason R]", summary: "deny a pending remediation (Commander)",
		flags: approvalFlag("deny")},
	{cmd: "resolve", act: workflows.ActResolve, usage: "[--reason R]", summary: "resolve the incident (Commander)",
		flags: noFlags},
	{cmd: "handoff-accept", act: workflows.ActAcceptHandoff, summary: "take command at a shift handoff (incoming Commander)",
		flags: noFlags},
	{cmd: "relate", act: workflows.ActRelate, usage: "--other ID2", summary: "link this incident to another, on both sides (any role holder)",
		flags: otherFlag("relate", "other", "the related incident's dedupe key or ID (required)")},
	{cmd: "merge", act: workflows.ActMerge, usage: "--into ID2 [--reason R]", summary: "merge this incident into another, which takes its alerts; this one resolves and closes (Commander)",
		flags: otherFlag("merge", "into", "the incident that carries on: its dedupe key or ID (required)")},
	{cmd: "split", act: workflows.ActSplit, usage: "--member KEY [--reason R]", summary: "give one alert of a grouped incident (a storm, a group) its own incident (Commander)",
		flags: func(fs *flag.FlagSet, a *workflows.Act) func() error {
			fs.StringVar(&a.Member, "member", "", "the alert's key, as `datasev show` lists the members (required)")
			return func() error {
				if a.Member == "" {
					return usagef("split: --member required")
				}
				return nil
			}
		}},
	{cmd: "pause-auto", act: workflows.ActPauseAuto, usage: "[--reason R]", summary: "pause automatic approvals by runbook policies in this incident: every remediation asks a person (Commander)",
		flags: noFlags},
	{cmd: "resume-auto", act: workflows.ActResumeAuto, usage: "[--reason R]", summary: "let runbook policies approve remediations again in this incident (Commander)",
		flags: noFlags},
	{cmd: "update", act: workflows.ActPostUpdate, usage: "--text T", summary: "post the status update due at the severity's cadence (Liaison or Commander)",
		flags: textFlag("update", false)},
	{cmd: "publish-status", act: workflows.ActPublishStatus, usage: "--text T [--status investigating|identified|monitoring]", summary: "publish approved public wording on the status page (Liaison or Commander)",
		flags: func(fs *flag.FlagSet, a *workflows.Act) func() error {
			fs.StringVar(&a.Note, "text", "", "the public wording (required)")
			fs.StringVar(&a.Action, "status", "", "the public status (default from the incident's state)")
			return requireText("publish-status", a)
		}},
	{cmd: "root-cause", act: workflows.ActRootCause, usage: "--text T", summary: "give the root cause, for the postmortem (any role holder)",
		flags: textFlag("root-cause", false)},
	{cmd: "factor", act: workflows.ActContributingFactor, usage: "--text T", summary: "add a contributing factor, for the postmortem (any role holder)",
		flags: textFlag("factor", false)},
	{cmd: "action-item", act: workflows.ActActionItem, usage: "--text T [--owner P]", summary: "add a preventive action item, for the postmortem (any role holder)",
		flags: textFlag("action-item", true)},
}

// otherFlag takes the other incident of relate and merge, as a dedupe key
// or a workflow ID.
func otherFlag(cmd, name, usage string) func(fs *flag.FlagSet, a *workflows.Act) func() error {
	return func(fs *flag.FlagSet, a *workflows.Act) func() error {
		var other string
		fs.StringVar(&other, name, "", usage)
		return func() error {
			other = strings.TrimSpace(other)
			if other == "" {
				return usagef("%s: --%s required", cmd, name)
			}
			if !strings.HasPrefix(other, workflows.WorkflowIDPrefix) {
				other = workflows.WorkflowID(other)
			}
			a.Other = other
			return nil
		}
	}
}

// textFlag takes the closure input's --text (required) and, for action
// items, --owner.
func textFlag(cmd string, owner bool) func(fs *flag.FlagSet, a *workflows.Act) func() error {
	return func(fs *flag.FlagSet, a *workflows.Act) func() error {
		fs.StringVar(&a.Note, "text", "", "the text (required)")
		if owner {
			fs.StringVar(&a.Person, "owner", "", "roster ID of who owns the action item")
		}
		return requireText(cmd, a)
	}
}

// requireText is the check of a command whose --text (the act's note) is
// required.
func requireText(cmd string, a *workflows.Act) func() error {
	return func() error {
		if strings.TrimSpace(a.Note) == "" {
			return usagef("%s: --text required", cmd)
		}
		return nil
	}
}

// parseInto parses a flag's value v with parse into *dst; a value parse
// refuses is a usage error.
func parseInto[T any](dst *T, v string, parse func(string) (T, error)) error {
	t, err := parse(v)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	*dst = t
	return nil
}

func noFlags(*flag.FlagSet, *workflows.Act) func() error { return nil }

func approvalFlag(cmd string) func(fs *flag.FlagSet, a *workflows.Act) func() error {
	return func(fs *flag.FlagSet, a *workflows.Act) func() error {
		fs.StringVar(&a.Approval, "approval", "", "approval name (required)")
		return func() error {
			if a.Approval == "" {
				return usagef("%s: --approval required", cmd)
			}
			return nil
		}
	}
}

func runAct(ctx context.Context, e *env, ac actCommand, args []string) error {
	fs := newFlagSet(e, ac.cmd, "ID --by P "+ac.usage+" [--key FILE] [--signal]")
	act := workflows.Act{Via: "cli"}
	var asSignal bool
	var keyFlag string
	fs.StringVar(&act.By, "by", "", "your roster ID (required)")
	fs.StringVar(&keyFlag, "key", "", "your private key, to sign the act (default $"+EnvKeyFile+", else "+orText(DefaultKeyFile(e.getenv), "none")+" when it exists)")
	fs.StringVar(&act.Reason, "reason", "", "why (shown in the timeline)")
	fs.BoolVar(&asSignal, "signal", false, "send as a Signal (recorded; rejected signals show in the timeline) instead of an Update")
	check := ac.flags(fs, &act)
	ref, err := parseIncidentRef(fs, args)
	if err != nil {
		return err
	}
	if act.By == "" {
		return usagef("%s: --by required (your roster ID)", ac.cmd)
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	// The key is read before anything is sent: a key file others can
	// read, or a missing one named on purpose, stops the act.
	signer, err := loadSigner(e, keyFlag)
	if err != nil {
		return err
	}
	c, id, err := e.dialIncident(ctx, ref)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	return sendAct(ctx, c, e.stdout, signer, id, ac.act, act, asSignal)
}

// sendAct signs the act with signer (nil: unsigned) and sends it.
func sendAct(ctx context.Context, c client.Client, w io.Writer, signer *incidents.Signer, id, name string, act workflows.Act, asSignal bool) error {
	if asSignal {
		if err := incidents.SignalSigned(ctx, c, signer, id, name, act); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s sent as a signal to %s; `datasev show %s` shows whether it was applied\n", name, id, id)
		return nil
	}
	res, err := incidents.ActSigned(ctx, c, signer, id, name, act)
	if err != nil {
		var rej *incidents.RejectedError
		if errors.As(err, &rej) {
			msg := fmt.Sprintf("%s rejected: %s", name, rej.Message)
			if strings.HasPrefix(rej.Message, name+" by ") {
				msg = rej.Message // "approve by alice refused: …" says it already
			}
			if signer == nil && incidents.IsUnsignedRefusal(err) {
				msg += fmt.Sprintf("\n(this CLI has no key: make one with `datasev keygen`, add the public key it prints to your roster entry, and set %s or pass --key)", EnvKeyFile)
			}
			return errors.New(msg)
		}
		return err
	}
	fmt.Fprintf(w, "%s: %s [%s, %s]\n", name, res.Message, res.State, res.Severity)
	return nil
}
