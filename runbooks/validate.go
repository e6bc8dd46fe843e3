package runbooks

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
)

// Roles a gate or a page may name.
var RoleNames = []string{"commander", "scribe", "liaison", "sme"}

// Severities a runbook may set.
var Severities = []string{"SEV1", "SEV2", "SEV3", "SEV4", "SEV5"}

var (
	stepIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	namePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
)

// Validate checks every runbook of the set against the format and the
// catalog of actions, and the set's match rules against each other. It
// reports every problem it finds, not just the first, as a Problems: each
// one "file:line:col: what is wrong".
//
// It checks: required fields; exactly one of check, remediate, verify and
// parallel per step; step ids (unique across the runbook, parallel steps
// included; ^[a-z][a-z0-9_]*$); on_failure, severity, approval role and
// on_timeout values; verify's until and deadline; that actions exist, take
// the inputs given (known names, required ones present, literal values of
// the right type; templated strings are checked when they run) and are
// used where they may be (an action that changes things only in a
// remediate step; a timer action such as core.wait in neither remediate
// nor verify); that every expression and template compiles, reads only
// known fields and only steps that come before it; that match regular
// expressions compile; and that no two runbooks of equal priority can
// match the same alert. Roles are checked by name; who holds them is the
// roster's business.
//
// A nil catalog skips the action checks.
func Validate(set *Set, catalog Catalog) error {
	if set == nil {
		return nil
	}
	v := &validator{catalog: catalog}
	for i, rb := range set.runbooks {
		v.runbook(rb, set.files[i])
	}
	v.overlaps(set)
	return v.problems.Err()
}

// ValidateRunbook validates one runbook as Validate does, without the
// checks across a set. Positions come from the file the runbook was loaded
// from when it was (rb from a Set); otherwise from Step.Pos.
func ValidateRunbook(rb *Runbook, catalog Catalog) error {
	v := &validator{catalog: catalog}
	v.runbook(rb, nil)
	return v.problems.Err()
}

type validator struct {
	catalog  Catalog
	problems Problems

	// per runbook
	autoMax map[string]int // max_per_day by auto-approval policy
	rb      *Runbook
	f       *file
	stepPos Pos
	ids     map[string]*stepInfo // every step of the runbook, by id
}

type stepInfo struct {
	step *Step
	pos  Pos
	spec *ActionSpec // the step's action, when known
}

func (v *validator) at(path ...any) Pos {
	if v.f == nil {
		return v.stepPos
	}
	return v.f.pos(path...)
}

func (v *validator) atKey(path ...any) Pos {
	if v.f == nil {
		return v.stepPos
	}
	return v.f.keyPos(path...)
}

func (v *validator) report(p Pos, format string, args ...any) {
	name := v.rb.Source
	if v.f != nil {
		name = v.f.name
	}
	v.problems = append(v.problems, Problem{File: name, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) runbook(rb *Runbook, f *file) {
	v.rb, v.f, v.stepPos = rb, f, Pos{1, 1}
	v.autoMax = map[string]int{}
	if f == nil {
		v.stepPos = Pos{}
	}
	switch {
	case strings.TrimSpace(rb.Name) == "":
		v.report(v.at("name"), "name: required")
	case len(rb.Name) > 100 || !namePattern.MatchString(rb.Name):
		v.report(v.at("name"), "name %q: use at most 100 lower-case letters, digits, '.', '-' and '_', starting with a letter or digit", rb.Name)
	}
	if strings.TrimSpace(rb.Description) == "" {
		v.report(v.at("description"), "description: required (what problem does this runbook handle?)")
	}
	if strings.TrimSpace(rb.Owner) == "" {
		v.report(v.at("owner"), "owner: required (the team or person who maintains it)")
	}
	if rb.Severity != "" && !slices.Contains(Severities, rb.Severity) {
		v.report(v.at("severity"), "severity %q: want one of %s", rb.Severity, strings.Join(Severities, ", "))
	}
	for i, p := range rb.Roles.SMEs {
		if strings.TrimSpace(p) == "" {
			v.report(v.at("roles", "smes", i), "roles.smes[%d]: empty; name a person from the roster", i)
		}
	}
	v.match(rb.Match)
	v.groupBy(rb.GroupBy)
	if len(rb.Steps) == 0 {
		v.report(v.at("steps"), "steps: a runbook needs at least one step")
	}
	v.ids = map[string]*stepInfo{}
	v.collectIDs(rb.Steps, []any{"steps"})
	v.steps(rb.Steps, []any{"steps"}, map[string]bool{})
}

func (v *validator) match(m Match) {
	if m.empty() {
		v.report(v.at("match"), "match: give at least one rule (sources, labels, labels_regex, title or service) so the runbook is not picked for every alert")
	}
	for i, s := range m.Sources {
		if !slices.Contains(Sources, s) {
			v.report(v.at("match", "sources", i), "match.sources: unknown source %q; want one of %s", s, strings.Join(Sources, ", "))
		}
	}
	for _, k := range sortedKeys(m.Labels) {
		if strings.TrimSpace(k) == "" {
			v.report(v.atKey("match", "labels", k), "match.labels: empty label name")
		}
	}
	for _, k := range sortedKeys(m.LabelsRegex) {
		if _, err := regexp.Compile(m.LabelsRegex[k]); err != nil {
			v.report(v.at("match", "labels_regex", k), "match.labels_regex.%s: %s", k, regexpMessage(err))
		}
	}
	if m.Title != "" {
		if _, err := regexp.Compile(m.Title); err != nil {
			v.report(v.at("match", "title"), "match.title: %s", regexpMessage(err))
		}
	}
}

// groupBy checks the grouping: a known mode; for labels, between one and
// MaxGroupLabels distinct, non-empty label names.
func (v *validator) groupBy(g GroupBy) {
	switch g.By {
	case "", GroupByAlert, GroupByAlertmanagerGroup:
		if len(g.Labels) > 0 {
			v.report(v.at("group_by"), "group_by %q takes no labels; group by labels with group_by: {labels: [%s]}", g.Mode(), strings.Join(g.Labels, ", "))
		}
		return
	case GroupByLabels:
	default:
		v.report(v.at("group_by"), "group_by %q: want %s, %s, or labels: [names] (e.g. group_by: {labels: [dataset]})", g.By, GroupByAlert, GroupByAlertmanagerGroup)
		return
	}
	switch {
	case len(g.Labels) == 0:
		at := v.at("group_by")
		if g.Labels != nil {
			at = v.at("group_by", "labels")
		}
		v.report(at, "group_by.labels: name at least one label to group by, e.g. group_by: {labels: [dataset]}")
		return
	case len(g.Labels) > MaxGroupLabels:
		v.report(v.at("group_by", "labels"), "group_by.labels: %d labels, at most %d", len(g.Labels), MaxGroupLabels)
	}
	seen := map[string]int{}
	for i, l := range g.Labels {
		switch prev, dup := seen[l]; {
		case strings.TrimSpace(l) == "":
			v.report(v.at("group_by", "labels", i), "group_by.labels[%d]: empty label name", i)
		case len(l) > maxGroupLabelNameLen:
			v.report(v.at("group_by", "labels", i), "group_by.labels[%d]: label name of %d bytes, at most %d", i, len(l), maxGroupLabelNameLen)
		case dup:
			v.report(v.at("group_by", "labels", i), "group_by.labels[%d]: %q is also labels[%d]; list each label once", i, l, prev)
		default:
			seen[l] = i
		}
	}
}

// maxGroupLabelNameLen bounds a label name a runbook groups by.
const maxGroupLabelNameLen = 100

func regexpMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// collectIDs records every step id, reporting bad and duplicate ones.
func (v *validator) collectIDs(steps []Step, at []any) {
	for i := range steps {
		s := &steps[i]
		p := appendPath(at, i)
		pos := v.stepAt(s, p...)
		switch {
		case s.ID == "":
			v.report(pos, "%s: id: required", pathString(p...))
		case !stepIDPattern.MatchString(s.ID):
			v.report(v.at(appendPath(p, "id")...), "step id %q: use lower-case letters, digits and underscores, starting with a letter", s.ID)
		}
		if s.ID != "" {
			if prev, dup := v.ids[s.ID]; dup {
				v.report(v.at(appendPath(p, "id")...), "step id %q is also used at %s; ids must be unique in the runbook, parallel steps included", s.ID, prev.pos)
			} else {
				v.ids[s.ID] = &stepInfo{step: s, pos: pos, spec: v.spec(s)}
			}
		}
		v.collectIDs(s.Parallel, appendPath(p, "parallel"))
	}
}

func (v *validator) spec(s *Step) *ActionSpec {
	c := s.ActionCall()
	if c == nil || v.catalog == nil {
		return nil
	}
	spec, ok := v.catalog.Lookup(c.Action)
	if !ok {
		return nil
	}
	return &spec
}

func (v *validator) stepAt(s *Step, at ...any) Pos {
	if v.f == nil {
		return s.Pos
	}
	return v.f.pos(at...)
}

// steps checks steps in order; earlier holds the ids a step may read.
func (v *validator) steps(steps []Step, at []any, earlier map[string]bool) {
	for i := range steps {
		s := &steps[i]
		p := appendPath(at, i)
		v.step(s, p, earlier)
		earlier[s.ID] = true
		markAll(s.Parallel, earlier)
	}
}

func markAll(steps []Step, m map[string]bool) {
	for i := range steps {
		m[steps[i].ID] = true
		markAll(steps[i].Parallel, m)
	}
}

func (v *validator) step(s *Step, at []any, earlier map[string]bool) {
	v.stepPos = v.stepAt(s, at...)
	name := pathString(at...)
	if s.ID != "" {
		name = "step " + s.ID
	}
	switch kinds := stepKinds(s); len(kinds) {
	case 0:
		v.report(v.stepPos, "%s: give it one of check, remediate, verify or parallel", name)
	case 1:
	default:
		v.report(v.atKey(appendPath(at, kinds[1])...), "%s has %s: a step has exactly one of check, remediate, verify and parallel", name, strings.Join(kinds, " and "))
	}
	switch s.OnFailure {
	case "", Stop, Continue, Escalate:
	default:
		v.report(v.at(appendPath(at, "on_failure")...), "%s: on_failure %q: want stop, continue or escalate", name, s.OnFailure)
	}
	if s.When != "" {
		v.expr(kindCondition, s.When, s.When, 0, appendPath(at, "when"), s, earlier, nil)
	}
	if s.Heartbeat > 0 && s.Timeout > 0 && s.Heartbeat >= s.Timeout {
		v.report(v.at(appendPath(at, "heartbeat")...), "%s: heartbeat %s is not shorter than timeout %s", name, s.Heartbeat.Std(), s.Timeout.Std())
	}
	if s.Retry != nil {
		if s.Retry.MaxAttempts < 0 {
			v.report(v.at(appendPath(at, "retry", "max_attempts")...), "%s: retry.max_attempts %d: want 1 or more (1: no retry)", name, s.Retry.MaxAttempts)
		}
		if s.Retry.MaxInterval > 0 && s.Retry.InitialInterval > s.Retry.MaxInterval {
			v.report(v.at(appendPath(at, "retry", "max_interval")...), "%s: retry.max_interval %s is shorter than initial_interval %s", name, s.Retry.MaxInterval.Std(), s.Retry.InitialInterval.Std())
		}
	}
	switch {
	case s.Check != nil:
		v.call(s, "check", s.Check, appendPath(at, "check"), earlier)
	case s.Remediate != nil:
		v.remediate(name, s, appendPath(at, "remediate"), earlier)
	case s.Verify != nil:
		v.verify(name, s, appendPath(at, "verify"), earlier)
	case s.Parallel != nil:
		v.parallel(name, s, at, earlier)
	}
}

// stepKinds lists what a step is: one of check, remediate, verify and
// parallel when it is valid.
func stepKinds(s *Step) []string {
	var kinds []string
	if s.Check != nil {
		kinds = append(kinds, "check")
	}
	if s.Remediate != nil {
		kinds = append(kinds, "remediate")
	}
	if s.Verify != nil {
		kinds = append(kinds, "verify")
	}
	if s.Parallel != nil {
		kinds = append(kinds, "parallel")
	}
	return kinds
}

// remediate checks a remediate step, at rp, and its approval gate.
func (v *validator) remediate(name string, s *Step, rp []any, earlier map[string]bool) {
	r := s.Remediate
	v.call(s, "remediate", &r.Call, rp, earlier)
	if r.Approval.Role != "" && !slices.Contains(RoleNames, r.Approval.Role) {
		v.report(v.at(appendPath(rp, "approval", "role")...), "%s: approval role %q: want one of %s", name, r.Approval.Role, strings.Join(RoleNames, ", "))
	}
	switch r.Approval.OnTimeout {
	case "", "escalate", "deny":
	default:
		v.report(v.at(appendPath(rp, "approval", "on_timeout")...), "%s: approval on_timeout %q: want escalate or deny", name, r.Approval.OnTimeout)
	}
	if c := r.Approval.CoveredBy; c != "" {
		v.coveredBy(name, c, appendPath(rp, "approval"), r.Approval, earlier)
	}
	if r.Approval.Auto != nil {
		v.autoApproval(name, s, appendPath(rp, "approval"), r.Approval, earlier)
	}
}

// verify checks a verify step, at vp: its until condition and its timing.
func (v *validator) verify(name string, s *Step, vp []any, earlier map[string]bool) {
	vr := s.Verify
	v.call(s, "verify", &vr.Call, vp, earlier)
	if strings.TrimSpace(vr.Until) == "" {
		v.report(v.atKey(appendPath(vp, "until")...), "%s: verify needs until: a condition over output that says the check passed", name)
	} else {
		var outputs []string
		if info := v.ids[s.ID]; info != nil && info.step == s && info.spec != nil {
			outputs = info.spec.Outputs
		} else if spec := v.spec(s); spec != nil {
			outputs = spec.Outputs
		}
		v.expr(kindUntil, vr.Until, vr.Until, 0, appendPath(vp, "until"), s, earlier, outputs)
	}
	if vr.Deadline <= 0 {
		v.report(v.atKey(appendPath(vp, "deadline")...), "%s: verify needs a deadline (e.g. 30m): how long to keep trying", name)
	}
	if vr.Backoff != 0 && (vr.Backoff < 1 || math.IsNaN(vr.Backoff) || math.IsInf(vr.Backoff, 0)) {
		v.report(v.at(appendPath(vp, "backoff")...), "%s: verify backoff %v: want 1 or more (1: a fixed interval)", name, vr.Backoff)
	}
	if vr.MaxInterval > 0 && vr.Every > vr.MaxInterval {
		v.report(v.at(appendPath(vp, "max_interval")...), "%s: verify max_interval %s is shorter than every %s", name, vr.MaxInterval.Std(), vr.Every.Std())
	}
	if vr.Deadline > 0 && vr.Every > vr.Deadline {
		v.report(v.at(appendPath(vp, "every")...), "%s: verify every %s is longer than its deadline %s: it would try once", name, vr.Every.Std(), vr.Deadline.Std())
	}
}

// parallel checks a parallel group, at at, and its steps.
func (v *validator) parallel(name string, s *Step, at []any, earlier map[string]bool) {
	pp := appendPath(at, "parallel")
	if len(s.Parallel) == 0 {
		v.report(v.at(pp...), "%s: parallel needs steps", name)
	}
	if s.Timeout > 0 {
		v.report(v.atKey(appendPath(at, "timeout")...), "%s: timeout bounds an action; set it on the parallel steps", name)
	}
	if s.Retry != nil {
		v.report(v.atKey(appendPath(at, "retry")...), "%s: retry applies to an action; set it on the parallel steps", name)
	}
	if s.Heartbeat > 0 {
		v.report(v.atKey(appendPath(at, "heartbeat")...), "%s: heartbeat applies to an action; set it on the parallel steps", name)
	}
	// Parallel steps see what came before the group, not each other.
	for i := range s.Parallel {
		v.step(&s.Parallel[i], appendPath(pp, i), copySet(earlier))
	}
}

func copySet(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, b := range m {
		out[k] = b
	}
	return out
}

// call checks an action call: the action exists and may be used here, its
// inputs are known, present when required, and of the right type.
func (v *validator) call(s *Step, kind string, c *Call, at []any, earlier map[string]bool) {
	name := "step " + s.ID
	if c.Action == "" {
		v.report(v.atKey(appendPath(at, "action")...), "%s: %s needs an action", name, kind)
	}
	var spec *ActionSpec
	if v.catalog != nil && c.Action != "" {
		sp, ok := v.catalog.Lookup(c.Action)
		if !ok {
			v.report(v.at(appendPath(at, "action")...), "%s: unknown action %q%s", name, c.Action, v.suggest(c.Action))
		} else {
			spec = &sp
		}
	}
	if spec != nil {
		switch {
		case spec.Changes && kind != "remediate":
			v.report(v.at(appendPath(at, "action")...), "%s: action %s changes things: use it in a remediate step, behind an approval", name, spec.Name)
		case spec.InWorkflow && kind == "remediate":
			v.report(v.at(appendPath(at, "action")...), "%s: action %s is carried out by the workflow and changes nothing outside: use it in a check step, not behind an approval", name, spec.Name)
		case spec.InWorkflow && kind == "verify":
			v.report(v.at(appendPath(at, "action")...), "%s: action %s has nothing to verify: use it in a check step (verify waits between tries by itself: every:)", name, spec.Name)
		}
	}
	wp := appendPath(at, "with")
	for _, k := range sortedKeys(c.With) {
		val := c.With[k]
		ip := appendPath(wp, k)
		v.templates(val, ip, s, earlier)
		if spec == nil {
			continue
		}
		in, ok := spec.Input(k)
		if !ok {
			v.report(v.atKey(ip...), "%s: %s has no input %q; its inputs are %s", name, spec.Name, k, inputNames(*spec))
			continue
		}
		if msg := typeProblem(in.Type, val); msg != "" {
			v.report(v.at(ip...), "%s: input %s: %s", name, k, msg)
		}
	}
	if spec == nil {
		return
	}
	for _, in := range spec.Inputs {
		if _, ok := c.With[in.Name]; in.Required && !ok {
			p := v.at(wp...)
			if c.With == nil {
				p = v.at(appendPath(at, "action")...)
			}
			v.report(p, "%s: %s needs input %s (%s)", name, spec.Name, in.Name, in.Type)
		}
	}
	if spec.Name == "core.page" {
		v.pageInputs(s, c, wp)
	}
}

// pageRoles are the roles core.page may page: the incident's roles and
// the Commander's secondary.
var pageRoles = []string{"commander", "secondary", "scribe", "liaison", "sme"}

// pageInputs checks the role core.page pages, when it is written out.
func (v *validator) pageInputs(s *Step, c *Call, wp []any) {
	if r, ok := c.With["role"].(string); ok && !HasTemplate(r) && !slices.Contains(pageRoles, r) {
		v.report(v.at(appendPath(wp, "role")...), "step %s: core.page role %q: want one of %s", s.ID, r, strings.Join(pageRoles, ", "))
	}
}

func (v *validator) suggest(action string) string {
	specs := v.catalog.Specs()
	system, _, _ := strings.Cut(action, ".")
	var same, all []string
	for _, sp := range specs {
		all = append(all, sp.Name)
		if strings.HasPrefix(sp.Name, system+".") {
			same = append(same, sp.Name)
		}
	}
	switch {
	case len(same) > 0:
		return "; " + system + " has " + strings.Join(same, ", ")
	case len(all) == 0:
		return "; no actions are registered"
	case len(all) <= 12:
		return "; known actions: " + strings.Join(all, ", ")
	}
	return "; run `datasev runbooks actions` for the list"
}

func inputNames(spec ActionSpec) string {
	if len(spec.Inputs) == 0 {
		return "none"
	}
	names := make([]string, len(spec.Inputs))
	for i, in := range spec.Inputs {
		names[i] = in.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// templates checks the templates in an input value, in lists and maps too.
func (v *validator) templates(val any, at []any, s *Step, earlier map[string]bool) {
	switch x := val.(type) {
	case string:
		segs, err := parseTemplate(x)
		if err != nil {
			var ee *ExprError
			if errors.As(err, &ee) {
				v.report(v.f.exprPosOr(v.stepPos, x, ee.Offset, at...), "%s: %s", pathString(at[len(at)-1:]...), ee.Msg)
			}
			return
		}
		for _, sg := range segs {
			if sg.isExpr {
				v.expr(kindCondition, x, sg.expr, sg.start, at, s, earlier, nil)
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			v.templates(x[k], appendPath(at, k), s, earlier)
		}
	case []any:
		for i, e := range x {
			v.templates(e, appendPath(at, i), s, earlier)
		}
	}
}

// typeProblem checks a literal input value against its type. Templated
// strings are checked when they run, except where the template cannot
// give the type (text around a template always makes a string).
func typeProblem(t InputType, val any) string {
	if s, ok := val.(string); ok && HasTemplate(s) {
		segs, err := parseTemplate(s)
		if err != nil {
			return ""
		}
		single := len(segs) == 1 && segs[0].isExpr && segs[0].start == 2 && segs[0].end == len(s)-1
		if single || t == TypeString || t == TypeDuration {
			return ""
		}
		return fmt.Sprintf("text around a template always makes a string, and this input is %s; write the whole value as one ${ ... }", t)
	}
	got := literalType(val)
	switch t {
	case TypeString:
		if got == "string" {
			return ""
		}
	case TypeInt:
		switch x := val.(type) {
		case int64, int:
			return ""
		case uint64:
			return fmt.Sprintf("%d is too large", x)
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return ""
			}
		}
	case TypeNumber:
		if got == "int" || got == "number" {
			if u, ok := val.(uint64); ok {
				return fmt.Sprintf("%d is too large", u)
			}
			return ""
		}
	case TypeBool:
		if got == "bool" {
			return ""
		}
	case TypeDuration:
		if s, ok := val.(string); ok {
			var d Duration
			if err := d.UnmarshalText([]byte(s)); err != nil {
				return err.Error()
			}
			return ""
		}
		return fmt.Sprintf("want a duration such as \"90s\" or \"6h\", got %s", describe(val))
	case TypeList:
		if got == "list" {
			return ""
		}
	case TypeObject:
		if got == "map" {
			return ""
		}
	default:
		return ""
	}
	return fmt.Sprintf("want %s, got %s", t, describe(val))
}

func literalType(val any) string {
	switch val.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case int, int64, uint64:
		return "int"
	case float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", val)
}

func describe(val any) string {
	switch x := val.(type) {
	case nil:
		return "null (no value)"
	case string:
		return fmt.Sprintf("string %q", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case time.Duration:
		return x.String()
	}
	return fmt.Sprintf("%s %v", literalType(val), val)
}

// expr compiles one expression and checks what it reads. text is the
// string the expression sits in (a condition, or a templated input) and
// start the expression's byte offset in it; at is text's path.
func (v *validator) expr(kind exprKind, text, expr string, start int, at []any, s *Step, earlier map[string]bool, outputs []string) {
	label := pathString(at[len(at)-1:]...)
	c := compile(kind, expr)
	if c.err != nil {
		off := c.err.Offset
		if off >= 0 {
			off += start
		}
		msg := c.err.Msg
		if kind == kindCondition && strings.Contains(msg, "undeclared reference to 'output'") {
			msg += ": output is only known in a verify step's until"
		}
		v.report(v.f.exprPosOr(v.stepPos, text, off, at...), "%s: %s", label, msg)
		return
	}
	native := c.ast.NativeRep()
	info := native.SourceInfo()
	seen := map[string]bool{}
	walkExpr(native.Expr(), func(e celast.Expr) {
		root, fields, ok := chain(e)
		if !ok || len(fields) == 0 {
			return
		}
		msg, field := v.reference(kind, root, fields, s, earlier, outputs)
		if msg == "" || seen[msg] {
			return
		}
		seen[msg] = true
		off := start
		if r, ok := info.GetOffsetRange(e.ID()); ok {
			off = start + runeOffset(expr, int(r.Start))
		}
		if rootOff, ok := rootOffset(e, info, expr); ok {
			// Point at the field at fault: find each field name in turn
			// after the variable.
			at := rootOff + len(root)
			for k := 0; k <= field && k < len(fields); k++ {
				i := strings.Index(expr[at:], fields[k])
				if i < 0 {
					break
				}
				at += i
				if k < field {
					at += len(fields[k])
				}
			}
			off = start + at
		}
		v.report(v.f.exprPosOr(v.stepPos, text, off, at...), "%s: %s", label, msg)
	})
}

// reference checks one chain of field reads such as steps.a.output.rows.
func (v *validator) reference(kind exprKind, root string, fields []string, s *Step, earlier map[string]bool, outputs []string) (string, int) {
	switch root {
	case "alert":
		if !slices.Contains(AlertFields, fields[0]) {
			return fmt.Sprintf("alert has no field %q; it has %s", fields[0], strings.Join(AlertFields, ", ")), 0
		}
	case "incident":
		if !slices.Contains(IncidentFields, fields[0]) {
			return fmt.Sprintf("incident has no field %q; it has %s", fields[0], strings.Join(IncidentFields, ", ")), 0
		}
	case "output":
		if kind == kindUntil && len(outputs) > 0 && !slices.Contains(outputs, fields[0]) {
			return fmt.Sprintf("output has no key %q: %s gives %s", fields[0], s.Verify.Action, strings.Join(outputs, ", ")), 0
		}
	case "steps":
		id := fields[0]
		info, exists := v.ids[id]
		switch {
		case !exists:
			return fmt.Sprintf("steps.%s: no step has id %q", id, id), 0
		case id == s.ID:
			return fmt.Sprintf("steps.%s is this step itself: a step reads only the steps before it", id), 0
		case !earlier[id]:
			return fmt.Sprintf("steps.%s is not an earlier step (it runs later or alongside); a step reads only the steps before it", id), 0
		}
		if len(fields) < 2 {
			return "", 0
		}
		if !slices.Contains(StepFields, fields[1]) {
			return fmt.Sprintf("steps.%s has no field %q; it has %s", id, fields[1], strings.Join(StepFields, ", ")), 1
		}
		if fields[1] == "output" && len(fields) >= 3 && info.spec != nil && len(info.spec.Outputs) > 0 && !slices.Contains(info.spec.Outputs, fields[2]) {
			return fmt.Sprintf("steps.%s.output has no key %q: %s gives %s", id, fields[2], info.spec.Name, strings.Join(info.spec.Outputs, ", ")), 2
		}
	}
	return "", 0
}

// walkExpr visits e and every expression inside it.
func walkExpr(e celast.Expr, visit func(celast.Expr)) {
	if e == nil {
		return
	}
	visit(e)
	switch e.Kind() {
	case celast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			walkExpr(c.Target(), visit)
		}
		for _, a := range c.Args() {
			walkExpr(a, visit)
		}
	case celast.SelectKind:
		walkExpr(e.AsSelect().Operand(), visit)
	case celast.ListKind:
		for _, el := range e.AsList().Elements() {
			walkExpr(el, visit)
		}
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			walkExpr(me.Key(), visit)
			walkExpr(me.Value(), visit)
		}
	case celast.StructKind:
		for _, en := range e.AsStruct().Fields() {
			walkExpr(en.AsStructField().Value(), visit)
		}
	case celast.ComprehensionKind:
		c := e.AsComprehension()
		walkExpr(c.IterRange(), visit)
		walkExpr(c.AccuInit(), visit)
		walkExpr(c.LoopCondition(), visit)
		walkExpr(c.LoopStep(), visit)
		walkExpr(c.Result(), visit)
	}
}

// chain reads a chain of field selections rooted at a variable:
// steps.a.output, steps["a"].output and steps.a.?output all give
// ("steps", [a output]).
func chain(e celast.Expr) (string, []string, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		return e.AsIdent(), nil, true
	case celast.SelectKind:
		s := e.AsSelect()
		root, fields, ok := chain(s.Operand())
		if !ok {
			return "", nil, false
		}
		return root, append(fields, s.FieldName()), true
	case celast.CallKind:
		c := e.AsCall()
		switch c.FunctionName() {
		case "_[_]", "_?._", "_[?_]":
		default:
			return "", nil, false
		}
		args := c.Args()
		if len(args) != 2 || args[1].Kind() != celast.LiteralKind {
			return "", nil, false
		}
		key, ok := args[1].AsLiteral().(types.String)
		if !ok {
			return "", nil, false
		}
		root, fields, ok := chain(args[0])
		if !ok {
			return "", nil, false
		}
		return root, append(fields, string(key)), true
	}
	return "", nil, false
}

// rootOffset is the byte offset of the variable a chain starts from.
func rootOffset(e celast.Expr, info *celast.SourceInfo, expr string) (int, bool) {
	for {
		switch e.Kind() {
		case celast.IdentKind:
			r, ok := info.GetOffsetRange(e.ID())
			if !ok {
				return 0, false
			}
			return runeOffset(expr, int(r.Start)), true
		case celast.SelectKind:
			e = e.AsSelect().Operand()
		case celast.CallKind:
			args := e.AsCall().Args()
			if len(args) == 0 {
				return 0, false
			}
			e = args[0]
		default:
			return 0, false
		}
	}
}

// exprPosOr is exprPos, or fallback when there is no file.
func (f *file) exprPosOr(fallback Pos, value string, offset int, at ...any) Pos {
	if f == nil {
		return fallback
	}
	return f.exprPos(value, offset, at...)
}

// overlaps reports pairs of runbooks of equal priority that can match the
// same alert.
func (v *validator) overlaps(set *Set) {
	for j := range set.runbooks {
		b := set.runbooks[j]
		if i, ok := set.byName[b.Name]; !ok || i != j || b.Match.empty() {
			continue
		}
		for i := 0; i < j; i++ {
			a := set.runbooks[i]
			if k, ok := set.byName[a.Name]; !ok || k != i || a.Match.empty() {
				continue
			}
			if a.Match.Priority != b.Match.Priority {
				continue
			}
			if ok, _ := disjoint(a.Match, b.Match); ok {
				continue
			}
			// Reported in both files, each naming the other.
			for _, pair := range [][2]int{{j, i}, {i, j}} {
				here, there := set.files[pair[0]], set.files[pair[1]]
				v.rb, v.f = set.runbooks[pair[0]], here
				v.report(here.pos("match"), "match overlaps runbook %q (%s:%s): one alert can match both at priority %d; make them disjoint (a label both require with different values, different sources or services) or give one a higher match.priority",
					set.runbooks[pair[1]].Name, there.name, there.pos("match"), a.Match.Priority)
			}
		}
	}
}

// coveredBy checks an approval gate that borrows an earlier remediation's
// approval.
func (v *validator) coveredBy(name, by string, at []any, g Gate, earlier map[string]bool) {
	pos := v.at(appendPath(at, "covered_by")...)
	info := v.ids[by]
	switch {
	case info == nil:
		v.report(pos, "%s: approval covered_by %q: no step has that id", name, by)
		return
	case !earlier[by]:
		v.report(pos, "%s: approval covered_by %q: that step comes later; name an earlier remediate step", name, by)
		return
	case info.step.Remediate == nil:
		v.report(pos, "%s: approval covered_by %q: that step is a %s, not a remediate step with its own approval", name, by, info.step.Kind())
		return
	case info.step.Remediate.Approval.CoveredBy != "":
		v.report(pos, "%s: approval covered_by %q: that step's approval is itself covered by %q; name %q", name, by, info.step.Remediate.Approval.CoveredBy, info.step.Remediate.Approval.CoveredBy)
	}
	if g.Role != "" || g.Timeout != 0 || g.OnTimeout != "" {
		v.report(pos, "%s: approval covered_by %q takes no role, timeout or on_timeout: the covering step's approval decides", name, by)
	}
}

// policyPattern is an auto-approval policy's name: it becomes part of its
// budget's workflow ID.
var policyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// autoApproval checks a gate's automatic approval, at at (the gate).
func (v *validator) autoApproval(name string, s *Step, at []any, g Gate, earlier map[string]bool) {
	a := g.Auto
	ap := appendPath(at, "auto")
	if g.CoveredBy != "" {
		v.report(v.atKey(ap...), "%s: approval auto with covered_by %q: a covered step runs on the covering step's decision; put auto on step %s's approval instead", name, g.CoveredBy, g.CoveredBy)
	}
	switch {
	case strings.TrimSpace(a.Policy) == "":
		v.report(v.atKey(ap...), "%s: approval auto needs a policy: the name its decisions are recorded and budgeted under (e.g. policy: reload-once)", name)
	case !policyPattern.MatchString(a.Policy):
		v.report(v.at(appendPath(ap, "policy")...), "%s: approval auto policy %q: use at most 64 lower-case letters, digits, '-' and '_', starting with a letter or digit", name, a.Policy)
	}
	switch {
	case a.MaxPerDay < 1 || a.MaxPerDay > MaxAutoPerDay:
		v.report(v.atKey(appendPath(ap, "max_per_day")...), "%s: approval auto max_per_day %d: want 1 to %d, how many remediations the policy may approve in any 24 hours", name, a.MaxPerDay, MaxAutoPerDay)
	case a.Policy != "":
		if prev, ok := v.autoMax[a.Policy]; ok && prev != a.MaxPerDay {
			v.report(v.at(appendPath(ap, "max_per_day")...), "%s: approval auto policy %q has max_per_day %d here and %d on an earlier step: one policy, one budget", name, a.Policy, a.MaxPerDay, prev)
		} else {
			v.autoMax[a.Policy] = a.MaxPerDay
		}
	}
	switch {
	case a.SeverityAtMost == "":
		v.report(v.atKey(ap...), "%s: approval auto needs severity_at_most: the most severe incident the policy acts in (e.g. SEV3: SEV3 to SEV5)", name)
	case !slices.Contains(Severities, a.SeverityAtMost):
		v.report(v.at(appendPath(ap, "severity_at_most")...), "%s: approval auto severity_at_most %q: want one of %s", name, a.SeverityAtMost, strings.Join(Severities, ", "))
	}
	if a.When != "" {
		v.expr(kindCondition, a.When, a.When, 0, appendPath(ap, "when"), s, earlier, nil)
	}
}
