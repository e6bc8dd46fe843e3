package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/datasev/datasev/activities/actions"
	"github.com/datasev/datasev/activities/support/target"
	"github.com/datasev/datasev/runbooks"
	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// EnvRunbooks names the environment variable holding the operator's runbook
// directory, whose files override the embedded library's.
const EnvRunbooks = "DATASEV_RUNBOOKS"

// runbookCatalog is the actions runbooks are checked against: the specs of
// every registered action, without clients.
var runbookCatalog = actions.DefaultCatalog

const runbooksUsage = "validate [DIR] | list | show NAME | test NAME --alert FILE.json | actions  [--dir DIR]"

func runRunbooks(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("runbooks: want a subcommand: %s", runbooksUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "validate":
		return runRunbooksValidate(e, rest)
	case "list":
		return runRunbooksList(e, rest)
	case "show":
		return runRunbooksShow(e, rest)
	case "test":
		return runRunbooksTest(e, rest)
	case "actions":
		return runRunbooksActions(e, rest)
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stderr, "Usage: datasev runbooks %s\n", runbooksUsage)
		fmt.Fprintln(e.stderr, "  validate [DIR]   check every runbook (the embedded library, and DIR's files, which override it);")
		fmt.Fprintln(e.stderr, "                   an on-call roster in DIR is checked as a roster, other YAML that is not a runbook is skipped with a note")
		fmt.Fprintln(e.stderr, "  list             list the runbooks")
		fmt.Fprintln(e.stderr, "  show NAME        show a runbook's match rules and steps")
		fmt.Fprintln(e.stderr, "  test NAME --alert FILE.json")
		fmt.Fprintln(e.stderr, "                   dry run: which steps would run with which inputs; calls nothing")
		fmt.Fprintln(e.stderr, "  actions          list the actions runbooks may call, with their inputs")
		fmt.Fprintf(e.stderr, "The runbook directory is DIR, --dir or $%s; without one, only the embedded library.\n", EnvRunbooks)
		return flag.ErrHelp
	}
	return usagef("runbooks: unknown subcommand %q; want %s", sub, runbooksUsage)
}

// runbookSet loads the embedded library, the extra layers (dev's demo
// runbooks; none elsewhere) and the operator's directory (the flag, else
// $DATASEV_RUNBOOKS). Problems loading some files do not stop list, show
// and test: they are returned for the caller to show.
func runbookSet(e *env, dir string, extra ...runbooks.Layer) (*runbooks.Set, runbooks.Problems, error) {
	if dir == "" {
		dir = e.getenv(EnvRunbooks)
	}
	set, err := runbooks.Load(dir, extra...)
	var ps runbooks.Problems
	if err != nil && !errors.As(err, &ps) {
		return nil, nil, err
	}
	return set, ps, nil
}

func warnProblems(w io.Writer, ps runbooks.Problems) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(w, "warning: %d runbook file problem(s); those files are left out (run `datasev runbooks validate`):\n", len(ps))
	for _, p := range ps {
		fmt.Fprintf(w, "  %s\n", p.Error())
	}
}

func runRunbooksValidate(e *env, args []string) error {
	dir, err := validateDir(e, args)
	if err != nil {
		return err
	}
	set, loadProblems, err := runbookSet(e, dir)
	if err != nil {
		return err
	}
	problems := loadProblems
	if err := runbooks.Validate(set, runbookCatalog()); err != nil {
		var ps runbooks.Problems
		if !errors.As(err, &ps) {
			return err
		}
		problems = append(problems, ps...)
	}
	targets, err := target.FromEnv(e.getenv)
	if err != nil {
		return err
	}
	problems = append(problems, targetProblems(e.stdout, set, targets)...)
	for _, o := range set.Overrides() {
		fmt.Fprintf(e.stdout, "note: %s\n", o)
	}
	badRosters := checkOtherFiles(e.stdout, set.OtherFiles())
	noteNoRunbookFiles(e.stdout, dir, set, loadProblems)
	var failures []string
	if err := problems.Err(); err != nil {
		for _, p := range err.(runbooks.Problems) {
			fmt.Fprintln(e.stdout, p.Error())
		}
		failures = append(failures, fmt.Sprintf("%d problem(s) in the runbooks", len(problems)))
	} else {
		names := make([]string, 0, set.Len())
		for _, rb := range set.Runbooks() {
			names = append(names, rb.Name)
		}
		fmt.Fprintf(e.stdout, "ok: %d runbook(s) valid against %d action(s): %s\n", set.Len(), len(runbookCatalog().Specs()), strings.Join(names, ", "))
	}
	for _, f := range badRosters {
		failures = append(failures, "roster "+f+" is invalid")
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// validateDir is the directory validate checks: DIR or --dir, else
// $DATASEV_RUNBOOKS; empty for the embedded library alone.
func validateDir(e *env, args []string) (string, error) {
	fs := newFlagSet(e, "runbooks validate", "[DIR] [--dir DIR]")
	var dir string
	fs.StringVar(&dir, "dir", "", "runbook directory (default $"+EnvRunbooks+")")
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	switch {
	case len(pos) > 1:
		return "", usagef("runbooks validate takes at most one directory")
	case len(pos) == 1 && dir != "" && dir != pos[0]:
		return "", usagef("runbooks validate: give the directory once")
	case len(pos) == 1:
		dir = pos[0]
	}
	if dir == "" {
		dir = e.getenv(EnvRunbooks)
	}
	return dir, nil
}

// rosterFields are the top-level keys of a roster file (oncall.Roster's).
var rosterFields = func() []string {
	var out []string
	t := reflect.TypeOf(oncall.Roster{})
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}()

// isRoster says whether a YAML file that is not a runbook is meant for a
// roster: two or more of its top-level keys are a roster's (team,
// timezone, people, shifts, ...). One shared word is not enough: other
// configuration may well have a "team".
func isRoster(keys []string) bool {
	n := 0
	for _, k := range slices.Compact(slices.Sorted(slices.Values(keys))) {
		if slices.Contains(rosterFields, k) {
			n++
		}
	}
	return n >= 2
}

// checkOtherFiles checks the YAML files in the runbook directory that are
// not runbooks: a roster as a roster (it lives beside the runbooks in
// this repository: runbooks/roster.yaml), anything else skipped with a
// note. It returns the rosters that are invalid.
func checkOtherFiles(w io.Writer, others []runbooks.OtherFile) (invalid []string) {
	for _, o := range others {
		var keys []string
		for _, k := range o.Keys {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		if !isRoster(keys) {
			if len(keys) > 6 {
				keys = append(keys[:6], "...")
			}
			fmt.Fprintf(w, "note: %s is not a runbook (its top-level keys are %s; a runbook's are name, description, owner, match and steps): skipped\n",
				o.File, strings.Join(keys, ", "))
			continue
		}
		r, err := oncall.Parse(o.Src)
		if err != nil {
			fmt.Fprintf(w, "%s: not a runbook but an on-call roster, and the roster is invalid:\n", o.File)
			for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
				fmt.Fprintf(w, "  %s\n", line)
			}
			invalid = append(invalid, o.File)
			continue
		}
		fmt.Fprintf(w, "%s: roster OK: %d people, %d shifts (an on-call roster, not a runbook: checked as a roster)\n", o.File, len(r.People), len(r.Shifts))
	}
	return invalid
}

// noteNoRunbookFiles says so when the runbook directory holds no runbook
// file: validate then checked the embedded library alone, which may not be
// what the user meant (the library's sources are in a subdirectory,
// runbooks/library, and only a directory's top level is read).
func noteNoRunbookFiles(w io.Writer, dir string, set *runbooks.Set, loadProblems runbooks.Problems) {
	if dir == "" {
		return
	}
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	for _, rb := range set.Runbooks() {
		if strings.HasPrefix(rb.Source, prefix) {
			return
		}
	}
	for _, p := range loadProblems {
		if strings.HasPrefix(p.File, prefix) {
			return
		}
	}
	fmt.Fprintf(w, "note: %s holds no runbook file (*.yaml or *.yml at its top level): only the embedded library's runbooks were checked\n", filepath.Clean(dir))
}

func runRunbooksList(e *env, args []string) error {
	fs := newFlagSet(e, "runbooks list", "[--dir DIR]")
	var dir string
	fs.StringVar(&dir, "dir", "", "runbook directory (default $"+EnvRunbooks+")")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("runbooks list takes flags only; unexpected %q", pos[0])
	}
	set, ps, err := runbookSet(e, dir)
	if err != nil {
		return err
	}
	warnProblems(e.stderr, ps)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSEVERITY\tSTEPS\tPRIORITY\tMATCH\tSOURCE")
	for _, rb := range set.Runbooks() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", rb.Name, orDash(rb.Severity), countSteps(rb.Steps), rb.Match.Priority, matchSummary(rb.Match), rb.Source)
	}
	return tw.Flush()
}

func countSteps(steps []runbooks.Step) int {
	n := 0
	for _, s := range steps {
		n += 1 + countSteps(s.Parallel)
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// matchSummary writes match rules on one line.
func matchSummary(m runbooks.Match) string {
	var parts []string
	if len(m.Sources) > 0 {
		parts = append(parts, "source in "+strings.Join(m.Sources, ","))
	}
	for _, k := range sortedStrings(m.Labels) {
		parts = append(parts, k+"="+m.Labels[k])
	}
	for _, k := range sortedStrings(m.LabelsRegex) {
		parts = append(parts, k+"=~/"+m.LabelsRegex[k]+"/")
	}
	if m.Title != "" {
		parts = append(parts, "title=~/"+m.Title+"/")
	}
	if m.Service != "" {
		parts = append(parts, "service="+m.Service)
	}
	if len(parts) == 0 {
		return "(any alert)"
	}
	return strings.Join(parts, " ")
}

func sortedStrings(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func runRunbooksShow(e *env, args []string) error {
	fs := newFlagSet(e, "runbooks show", "NAME [--dir DIR] [--json]")
	var (
		dir    string
		asJSON bool
	)
	fs.StringVar(&dir, "dir", "", "runbook directory (default $"+EnvRunbooks+")")
	fs.BoolVar(&asJSON, "json", false, "print the runbook as JSON, as an incident captures it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("runbooks show takes one runbook name")
	}
	set, ps, err := runbookSet(e, dir)
	if err != nil {
		return err
	}
	warnProblems(e.stderr, ps)
	rb, ok := set.Get(pos[0])
	if !ok {
		return unknownRunbook(set, pos[0])
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rb)
	}
	w := e.stdout
	fmt.Fprintf(w, "%s: %s\n", rb.Name, oneLine(rb.Description))
	fmt.Fprintf(w, "owner: %s   severity: %s   source: %s\n", rb.Owner, orDash(rb.Severity), rb.Source)
	fmt.Fprintf(w, "match: %s (priority %d)\n", matchSummary(rb.Match), rb.Match.Priority)
	if len(rb.Roles.SMEs) > 0 {
		fmt.Fprintf(w, "extra SMEs: %s\n", strings.Join(rb.Roles.SMEs, ", "))
	}
	fmt.Fprintln(w, "steps:")
	cat := runbookCatalog()
	var show func(steps []runbooks.Step, indent string)
	show = func(steps []runbooks.Step, indent string) {
		for i, s := range steps {
			fmt.Fprintf(w, "%s%d. %s: %s", indent, i+1, s.ID, s.Kind())
			if c := s.ActionCall(); c != nil {
				fmt.Fprintf(w, " %s", c.Action)
			}
			fmt.Fprintf(w, "   (line %d)\n", s.Pos.Line)
			in := indent + "   "
			if s.Description != "" {
				fmt.Fprintf(w, "%s%s\n", in, s.Description)
			}
			if s.When != "" {
				fmt.Fprintf(w, "%swhen: %s\n", in, oneLine(s.When))
			}
			if c := s.ActionCall(); c != nil {
				if _, ok := cat.Lookup(c.Action); !ok {
					fmt.Fprintf(w, "%s(no action %s is registered)\n", in, c.Action)
				}
				for _, k := range sortedKeys(c.With) {
					fmt.Fprintf(w, "%s%s: %s\n", in, k, formatInput(c.With[k]))
				}
			}
			if r := s.Remediate; r != nil {
				fmt.Fprintf(w, "%sapproval: %s\n", in, gateSummary(r.Approval))
			}
			if v := s.Verify; v != nil {
				fmt.Fprintf(w, "%suntil: %s (every %s, deadline %s)\n", in, oneLine(v.Until), durOr(v.Every, "1m"), durOr(v.Deadline, "-"))
			}
			if s.OnFailure != "" {
				fmt.Fprintf(w, "%son_failure: %s\n", in, s.OnFailure)
			}
			show(s.Parallel, in)
		}
	}
	show(rb.Steps, "  ")
	return nil
}

func gateSummary(g runbooks.Gate) string {
	if g.CoveredBy != "" {
		return "covered by step " + g.CoveredBy + "'s approval (runs only if that was approved and succeeded)"
	}
	g = g.WithDefaults() // the runbook workflow's defaults
	return fmt.Sprintf("by the %s within %s, then %s", g.Role, g.Timeout.Std(), g.OnTimeout)
}

func durOr(d runbooks.Duration, def string) string {
	if d <= 0 {
		return def
	}
	return d.Std().String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatInput writes an input value: strings quoted, unknowns as such,
// the rest as JSON.
func formatInput(v any) string {
	switch x := v.(type) {
	case runbooks.Unknown:
		return x.String()
	case string:
		return strconv.Quote(x)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

func unknownRunbook(set *runbooks.Set, name string) error {
	var names []string
	for _, rb := range set.Runbooks() {
		names = append(names, rb.Name)
	}
	return fmt.Errorf("no runbook %q; there are: %s", name, strings.Join(names, ", "))
}

func runRunbooksTest(e *env, args []string) error {
	fs := newFlagSet(e, "runbooks test", "NAME --alert FILE.json [--dir DIR] [--json]")
	var (
		dir, alertFile string
		asJSON         bool
	)
	fs.StringVar(&alertFile, "alert", "", "the alert, as JSON (the intake's alert: title, source, labels, ...); - for standard input (required)")
	fs.StringVar(&dir, "dir", "", "runbook directory (default $"+EnvRunbooks+")")
	fs.BoolVar(&asJSON, "json", false, "print the plan as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("runbooks test takes one runbook name")
	}
	if alertFile == "" {
		return usagef("runbooks test: --alert FILE.json required")
	}
	alert, defaults, err := readAlert(alertFile)
	if err != nil {
		return err
	}
	set, ps, err := runbookSet(e, dir)
	if err != nil {
		return err
	}
	warnProblems(e.stderr, ps)
	rb, ok := set.Get(pos[0])
	if !ok {
		return unknownRunbook(set, pos[0])
	}
	// The plan starts from what the runbook would start with in an incident
	// declared for this alert, and decides as the runbook workflow does.
	facts := alert.Facts()
	plan := runbooks.Plan(rb, workflows.PlannedRunbookInput(alert, rb).State())
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(plan)
	}
	w := e.stdout
	fmt.Fprintf(w, "Dry run of runbook %s for alert %q (source %s).\n", rb.Name, alert.Title, alert.Source)
	for _, d := range defaults {
		fmt.Fprintf(w, "(the alert has no %s)\n", d)
	}
	fmt.Fprintln(w, "Nothing is called and nothing changes. Conditions and inputs are evaluated over the alert;")
	fmt.Fprintln(w, "earlier steps' results are unknown in a dry run (treated as unknown, not as skipped): a condition")
	fmt.Fprintln(w, "that reads them shows \"runs: unknown\", an input that reads them shows "+runbooks.Unknown{}.String()+".")
	fmt.Fprintln(w)
	if reasons := runbooks.MismatchReasons(rb.Match, facts, nil); len(reasons) > 0 {
		fmt.Fprintf(w, "match: this alert does NOT match %s: %s\n", rb.Name, strings.Join(reasons, "; "))
	} else {
		fmt.Fprintf(w, "match: this alert matches %s\n", rb.Name)
	}
	switch chosen, err := set.Match(facts); {
	case err != nil:
		fmt.Fprintf(w, "the runbook set would pick none: %v\n", err)
	case chosen == nil:
		fmt.Fprintln(w, "the runbook set would pick no runbook for this alert")
	case chosen.Name != rb.Name:
		fmt.Fprintf(w, "the runbook set would pick %s for this alert, not %s\n", chosen.Name, rb.Name)
	}
	fmt.Fprintln(w)
	printPlan(w, plan)
	return nil
}

// printPlan writes a dry run's plan, one numbered step a line (1, 2, 2.1,
// ...) with its inputs, approval and condition below it.
func printPlan(w io.Writer, plan []runbooks.Planned) {
	var counters []int
	for _, p := range plan {
		indent := strings.Repeat("   ", p.Depth)
		counters = append(counters[:min(p.Depth+1, len(counters))], make([]int, max(0, p.Depth+1-len(counters)))...)
		counters[p.Depth]++
		num := make([]string, p.Depth+1)
		for k := range num {
			num[k] = strconv.Itoa(counters[k])
		}
		head := p.Kind
		if p.Action != "" {
			head += " " + p.Action
		}
		fmt.Fprintf(w, "%s%s. %s: %s — runs: %s", indent, strings.Join(num, "."), p.ID, head, p.Runs)
		if p.Why != "" {
			fmt.Fprintf(w, " (%s)", p.Why)
		}
		fmt.Fprintln(w)
		in := indent + "     "
		if p.When != "" {
			fmt.Fprintf(w, "%swhen: %s\n", in, oneLine(p.When))
		}
		for _, k := range sortedKeys(p.With) {
			fmt.Fprintf(w, "%s%s: %s\n", in, k, formatInput(p.With[k]))
		}
		if p.Approval != nil {
			fmt.Fprintf(w, "%sapproval: %s\n", in, gateSummary(*p.Approval))
		}
		if p.Until != "" {
			fmt.Fprintf(w, "%suntil: %s (every %s, deadline %s)\n", in, oneLine(p.Until), durOr(p.Every, "1m"), durOr(p.Deadline, "-"))
		}
		if p.Error != "" {
			fmt.Fprintf(w, "%sERROR: %s\n", in, p.Error)
		}
		if p.OnFailure != runbooks.Stop {
			fmt.Fprintf(w, "%son_failure: %s\n", in, p.OnFailure)
		}
	}
}

// readAlert reads an alert from a JSON file (strictly: an unknown field is
// an error). A missing source or dedupe key gets a stand-in, since a dry
// run does not need them; defaults names what was filled in.
func readAlert(name string) (workflows.Alert, []string, error) {
	var (
		b   []byte
		err error
	)
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return workflows.Alert{}, nil, fmt.Errorf("read alert: %w", err)
	}
	var a workflows.Alert
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return workflows.Alert{}, nil, fmt.Errorf("alert %s: %w", name, err)
	}
	var defaults []string
	if strings.TrimSpace(a.Source) == "" {
		a.Source = "generic"
		defaults = append(defaults, "source: using generic")
	}
	if strings.TrimSpace(a.DedupeKey) == "" {
		a.DedupeKey = "dry-run"
		defaults = append(defaults, "dedupe_key: using dry-run")
	}
	severity := a.Severity
	if err := a.Validate(); err != nil {
		return workflows.Alert{}, nil, fmt.Errorf("alert %s: %w", name, err)
	}
	if severity == "" {
		a.Severity = "" // let the runbook's default severity show
	}
	return a, defaults, nil
}

func runRunbooksActions(e *env, args []string) error {
	fs := newFlagSet(e, "runbooks actions", "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("runbooks actions takes no arguments")
	}
	w := e.stdout
	for _, spec := range runbookCatalog().Specs() {
		var flags []string
		if spec.Changes {
			flags = append(flags, "changes things: remediate steps only")
		}
		if spec.DryRun {
			flags = append(flags, "has a dry run")
		}
		if spec.InWorkflow {
			flags = append(flags, "carried out by the workflow, no activity")
		}
		fmt.Fprintf(w, "%s", spec.Name)
		if len(flags) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(flags, "; "))
		}
		fmt.Fprintf(w, "\n  %s\n", oneLine(spec.Description))
		for _, in := range spec.Inputs {
			req := ""
			if in.Required {
				req = ", required"
			}
			fmt.Fprintf(w, "  - %s (%s%s): %s\n", in.Name, in.Type, req, oneLine(in.Description))
		}
		if len(spec.Outputs) > 0 {
			fmt.Fprintf(w, "  output: %s\n", strings.Join(spec.Outputs, ", "))
		}
	}
	return nil
}
