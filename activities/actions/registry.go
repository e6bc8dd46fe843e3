// Package actions is the registry of runbook actions: every action a runbook
// step may call, by name, with its typed inputs and a description.
//
// An action is a Temporal activity registered under its spec's name
// (core.http, snowflake.copy_history, …), so the event history names what
// ran. Every action activity has the same signature, ActionFunc: it takes a
// runbooks.ActionRequest and returns a runbooks.ActionResult. Typed derives
// an action's inputs from a Go struct and decodes the request's inputs into
// it strictly, so an action's code reads typed fields and the validator reads
// the same contract from the spec.
//
// New builds the registry with real clients for the worker; DefaultCatalog
// gives the same specs without any client, for validation and the CLI.
package actions

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/datasev/datasev/runbooks"
)

// ActionFunc is the signature of every action activity.
type ActionFunc func(ctx context.Context, req runbooks.ActionRequest) (runbooks.ActionResult, error)

// Action is a spec and the activity that carries it out. Fn is nil for
// actions the workflow carries out itself (spec.InWorkflow).
type Action struct {
	Spec runbooks.ActionSpec
	Fn   ActionFunc
}

// Registry holds actions by name. It implements runbooks.Catalog. Build it
// once at start-up: Register and Add are not safe to call concurrently with
// anything else; Lookup, Specs, Func and RegisterWith are.
type Registry struct {
	actions map[string]Action
}

var _ runbooks.Catalog = (*Registry)(nil)

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{actions: map[string]Action{}} }

var (
	actionName = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)
	inputName  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Register adds an action. fn is the activity; it must be nil for a timer
// action and non-nil otherwise. Register panics on a malformed spec or a
// name already registered: both are programming errors, caught at start-up.
func (r *Registry) Register(spec runbooks.ActionSpec, fn ActionFunc) {
	if err := checkSpec(spec); err != nil {
		panic("actions: " + err.Error())
	}
	switch {
	case spec.InWorkflow && fn != nil:
		panic(fmt.Sprintf("actions: %s is carried out by the workflow, so it takes no activity", spec.Name))
	case !spec.InWorkflow && fn == nil:
		panic(fmt.Sprintf("actions: %s has no activity function", spec.Name))
	}
	if _, dup := r.actions[spec.Name]; dup {
		panic(fmt.Sprintf("actions: %s registered twice", spec.Name))
	}
	spec.Inputs = slices.Clone(spec.Inputs)
	spec.Outputs = slices.Clone(spec.Outputs)
	r.actions[spec.Name] = Action{Spec: spec, Fn: fn}
}

// Add registers actions built by Typed or InWorkflow. It panics as Register does.
func (r *Registry) Add(actions ...Action) {
	for _, a := range actions {
		r.Register(a.Spec, a.Fn)
	}
}

func checkSpec(spec runbooks.ActionSpec) error {
	if !actionName.MatchString(spec.Name) {
		return fmt.Errorf("action name %q: want <system>.<verb> in lower case, e.g. core.http", spec.Name)
	}
	if strings.TrimSpace(spec.Description) == "" {
		return fmt.Errorf("%s: no description", spec.Name)
	}
	if spec.InWorkflow && (spec.Changes || spec.DryRun) {
		return fmt.Errorf("%s: an action the workflow carries out neither changes anything nor has a dry run", spec.Name)
	}
	seen := map[string]bool{}
	for _, in := range spec.Inputs {
		if !inputName.MatchString(in.Name) {
			return fmt.Errorf("%s: input name %q: want lower case letters, digits and underscores", spec.Name, in.Name)
		}
		if seen[in.Name] {
			return fmt.Errorf("%s: input %q declared twice", spec.Name, in.Name)
		}
		seen[in.Name] = true
		switch in.Type {
		case runbooks.TypeString, runbooks.TypeInt, runbooks.TypeNumber, runbooks.TypeBool,
			runbooks.TypeDuration, runbooks.TypeList, runbooks.TypeObject:
		default:
			return fmt.Errorf("%s: input %q has unknown type %q", spec.Name, in.Name, in.Type)
		}
	}
	outs := map[string]bool{}
	for _, o := range spec.Outputs {
		if o == "" || outs[o] {
			return fmt.Errorf("%s: output %q empty or declared twice", spec.Name, o)
		}
		outs[o] = true
	}
	return nil
}

// Lookup returns the named action's spec.
func (r *Registry) Lookup(name string) (runbooks.ActionSpec, bool) {
	a, ok := r.actions[name]
	if !ok {
		return runbooks.ActionSpec{}, false
	}
	return cloneSpec(a.Spec), true
}

// Specs lists every action's spec, sorted by name.
func (r *Registry) Specs() []runbooks.ActionSpec {
	out := make([]runbooks.ActionSpec, 0, len(r.actions))
	for _, a := range r.actions {
		out = append(out, cloneSpec(a.Spec))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Func returns the named action's activity function; false for an unknown
// name or a timer action.
func (r *Registry) Func(name string) (ActionFunc, bool) {
	a, ok := r.actions[name]
	if !ok || a.Fn == nil {
		return nil, false
	}
	return a.Fn, true
}

// RegisterWith registers every action that is not a timer as a Temporal
// activity named after its spec, with a keep-alive: while the action runs it
// heartbeats (heartbeat.Run), so a worker that dies mid-action is noticed
// within the activity's heartbeat timeout. w is a worker, or a test
// environment of the SDK's testsuite.
func (r *Registry) RegisterWith(w worker.ActivityRegistry) {
	for _, spec := range r.Specs() {
		a := r.actions[spec.Name]
		if a.Fn == nil {
			continue
		}
		w.RegisterActivityWithOptions(keepAlive(a.Fn), activity.RegisterOptions{Name: spec.Name})
	}
}

func cloneSpec(s runbooks.ActionSpec) runbooks.ActionSpec {
	s.Inputs = slices.Clone(s.Inputs)
	s.Outputs = slices.Clone(s.Outputs)
	return s
}
