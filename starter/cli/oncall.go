package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
	"github.com/datasev/datasev/workflows/oncallstore"
)

const oncallUsage = "override --role R --person P --from T --until T [--reason R] [--by P] [--key FILE] | override --cancel ID [--by P] | overrides"

// runOncall runs `datasev oncall override …` and `datasev oncall overrides`.
func runOncall(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("oncall: want a subcommand: %s", oncallUsage)
	}
	switch args[0] {
	case "override":
		return runOverride(ctx, e, args[1:])
	case "overrides":
		return runOverrides(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(e.stdout, "usage: datasev oncall %s\n", oncallUsage)
		return nil
	}
	return usagef("oncall: unknown subcommand %q: want override or overrides", args[0])
}

// runOverride sets or cancels an override in the team's on-call store,
// signed with the person's key.
func runOverride(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "oncall override", "--role R --person P --from T --until T [--reason R] [--by P] | --cancel ID [--by P]")
	var (
		o                  oncall.Override
		from, until        string
		by, cancel, keyArg string
		rosterFile         string
	)
	fs.StringVar(&o.Role, "role", "", "the role: "+strings.Join(oncall.OverrideRoles, ", "))
	fs.StringVar(&o.Person, "person", "", "roster ID of who takes the role")
	fs.StringVar(&from, "from", "", "when it starts: 2026-12-05T20:00 in the roster's time zone, or RFC 3339")
	fs.StringVar(&until, "until", "", "when it ends, as --from")
	fs.StringVar(&o.Reason, "reason", "", "why (shown in the incident's timeline)")
	fs.StringVar(&cancel, "cancel", "", "cancel the override with this ID instead (datasev oncall overrides lists them)")
	fs.StringVar(&by, "by", "", "your roster ID (default: --person)")
	fs.StringVar(&keyArg, "key", "", "your private key, to sign the override (default $"+EnvKeyFile+")")
	fs.StringVar(&rosterFile, "roster", "", "roster file (default $"+EnvRoster+" or "+DefaultRoster+")")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	r, err := loadRoster(e, rosterFile)
	if err != nil {
		return err
	}
	var act workflows.Act
	var update string
	if cancel != "" {
		if by == "" {
			return usagef("oncall override --cancel: --by required (your roster ID)")
		}
		update, act = oncall.UpdateCancelOverride, oncallstore.CancelAct(by, strings.TrimSpace(cancel), o.Reason)
	} else {
		if o.Role == "" || o.Person == "" || from == "" || until == "" {
			return usagef("oncall override: --role, --person, --from and --until are required (or --cancel ID)")
		}
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			return fmt.Errorf("roster time zone %q: %w", r.TimeZone, err)
		}
		if o.From, err = parseWhen(from, loc); err != nil {
			return usagef("oncall override: --from: %v", err)
		}
		if o.Until, err = parseWhen(until, loc); err != nil {
			return usagef("oncall override: --until: %v", err)
		}
		if by == "" {
			by = o.Person
		}
		// The store checks all this again; checking here first says what
		// is wrong before dialling.
		if err := r.CheckOverride(o, by, time.Now(), 0); err != nil {
			return fmt.Errorf("override refused: %w", err)
		}
		update, act = oncall.UpdateSetOverride, oncallstore.Act(by, o)
	}
	signer, err := loadSigner(e, keyArg)
	if err != nil {
		return err
	}
	if signer == nil {
		return fmt.Errorf("an override decides who is paged, so it is signed: make a key with `datasev keygen`, add its public key to your roster entry, and set %s or pass --key", EnvKeyFile)
	}
	id := oncall.StoreWorkflowID(r.Team)
	if err := signer.Sign(id, update, &act); err != nil {
		return err
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancelCtx := context.WithTimeout(ctx, answerTimeout)
	defer cancelCtx()
	got, err := SendOverride(ctx, c, e.getenv(EnvTaskQueue), r.Team, update, act)
	if err != nil {
		return err
	}
	if cancel != "" {
		fmt.Fprintf(e.stdout, "cancelled %s\n", got)
		return nil
	}
	fmt.Fprintf(e.stdout, "override %s\n", got)
	return nil
}

// SendOverride sends a signed override act to team's on-call store,
// starting the store when it is not running, and returns the override set
// or cancelled. A refusal is an error saying why.
func SendOverride(ctx context.Context, c client.Client, taskQueue, team, update string, act workflows.Act) (oncall.Override, error) {
	id := oncall.StoreWorkflowID(team)
	if taskQueue == "" {
		taskQueue = workflows.TaskQueue
	}
	start := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "on-call overrides of " + team,
	}, oncall.StoreWorkflowName, oncallstore.Input{Team: team})
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   update,
			UpdateID:     act.ID,
			Args:         []any{act},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var o oncall.Override
	if err == nil {
		err = h.Get(ctx, &o)
	}
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return oncall.Override{}, fmt.Errorf("%s refused by the %s store: %s", update, team, app.Error())
		}
		return oncall.Override{}, fmt.Errorf("%s to %s: %w", update, id, err)
	}
	return o, nil
}

// runOverrides lists the team's overrides.
func runOverrides(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "oncall overrides", "[--roster FILE]")
	var rosterFile string
	fs.StringVar(&rosterFile, "roster", "", "roster file (default $"+EnvRoster+" or "+DefaultRoster+")")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	r, err := loadRoster(e, rosterFile)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		return fmt.Errorf("roster time zone %q: %w", r.TimeZone, err)
	}
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	list, err := ListOverrides(ctx, c, r.Team)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(e.stdout, "no overrides for %s: the roster's shifts decide\n", r.Team)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tPERSON\tFROM\tUNTIL\tSET BY\tREASON")
	const layout = "2006-01-02 15:04 MST"
	for _, o := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.Role, o.Person, o.From.In(loc).Format(layout), o.Until.In(loc).Format(layout), o.SetBy, o.Reason)
	}
	return tw.Flush()
}

// ListOverrides reads team's overrides from its on-call store; none when
// the team has no store.
func ListOverrides(ctx context.Context, c client.Client, team string) ([]oncall.Override, error) {
	v, err := c.QueryWorkflow(ctx, oncall.StoreWorkflowID(team), "", oncall.QueryOverrides)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the overrides of %s: %w", team, err)
	}
	var list []oncall.Override
	if err := v.Get(&list); err != nil {
		return nil, fmt.Errorf("decode the overrides of %s: %w", team, err)
	}
	return list, nil
}

// parseWhen reads a time as 2026-12-05T20:00 in loc, or RFC 3339.
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want 2026-12-05T20:00 (the roster's time zone, %s) or RFC 3339", s, loc)
}
