package runbooks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// AlertFacts is what matching and expressions know of an alert. Callers
// convert their alert (workflows.Alert) into it; this package does not
// import the workflows.
type AlertFacts struct {
	Source      string            `json:"source"`
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	DedupeKey   string            `json:"dedupe_key"`
	Severity    string            `json:"severity,omitempty"`
	Status      string            `json:"status,omitempty"`
	Service     string            `json:"service,omitempty"`
	Dataset     string            `json:"dataset,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Vars returns the alert as expressions see it (the alert variable).
func (a AlertFacts) Vars() map[string]any {
	labels := make(map[string]any, len(a.Labels))
	for k, v := range a.Labels {
		labels[k] = v
	}
	return map[string]any{
		"source":      a.Source,
		"title":       a.Title,
		"description": a.Description,
		"dedupe_key":  a.DedupeKey,
		"severity":    a.Severity,
		"status":      a.Status,
		"service":     a.Service,
		"dataset":     a.Dataset,
		"labels":      labels,
	}
}

// Sources are the alert sources a match may name.
var Sources = []string{"airflow", "alertmanager", "cli", "dbt_cloud", "generic", "pagerduty", "slack"}

// AmbiguousError is an alert that more than one runbook of the same,
// highest priority matches. Validate rejects sets where that can happen.
type AmbiguousError struct {
	Names    []string
	Priority int
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("alert matches runbooks %s, all of priority %d: give one a higher priority or make their match rules disjoint",
		strings.Join(e.Names, ", "), e.Priority)
}

// Match picks the runbook for an alert: the matching runbook of the highest
// priority. It returns nil and no error when none matches, and an
// *AmbiguousError when several of the highest priority do.
func (s *Set) Match(a AlertFacts) (*Runbook, error) {
	var (
		best  []*Runbook
		prio  int
		found bool
	)
	for i, rb := range s.runbooks {
		if j, ok := s.byName[rb.Name]; !ok || j != i {
			continue // a duplicate name; Load reported it
		}
		if len(MismatchReasons(rb.Match, a, s.regexp)) > 0 {
			continue
		}
		switch p := rb.Match.Priority; {
		case !found || p > prio:
			best, prio, found = []*Runbook{rb}, p, true
		case p == prio:
			best = append(best, rb)
		}
	}
	switch len(best) {
	case 0:
		return nil, nil
	case 1:
		return best[0], nil
	}
	names := make([]string, len(best))
	for i, rb := range best {
		names[i] = rb.Name
	}
	return nil, &AmbiguousError{Names: names, Priority: prio}
}

// UnknownRunbookError is a runbook asked for by a name no runbook of the
// set has.
type UnknownRunbookError struct {
	Name string
	// Have are the names the set has, sorted.
	Have []string
}

func (e *UnknownRunbookError) Error() string {
	return fmt.Sprintf("unknown runbook %q (have: %s)", e.Name, strings.Join(e.Have, ", "))
}

// Choose picks the runbook an incident runs for an alert: the one named,
// when name is not empty, else the one Match picks. It returns nil and no
// error when none matches; an *UnknownRunbookError for a name the set does
// not have, and Match's errors. Declare chooses through it, and so should
// anything that shows which runbook an alert would get.
func (s *Set) Choose(name string, a AlertFacts) (*Runbook, error) {
	if name == "" {
		return s.Match(a)
	}
	rb, ok := s.Get(name)
	if !ok {
		e := &UnknownRunbookError{Name: name}
		for _, r := range s.runbooks {
			e.Have = append(e.Have, r.Name)
		}
		return nil, e
	}
	return rb, nil
}

func (s *Set) compileRegexps() {
	for _, rb := range s.runbooks {
		for _, e := range matchRegexps(rb.Match) {
			if _, done := s.regexps[e]; !done {
				re, err := regexp.Compile(e)
				if err != nil {
					re = nil
				}
				s.regexps[e] = re
			}
		}
	}
}

func (s *Set) regexp(e string) (*regexp.Regexp, error) {
	if re, ok := s.regexps[e]; ok {
		if re == nil {
			return nil, fmt.Errorf("invalid regular expression %q", e)
		}
		return re, nil
	}
	return regexp.Compile(e)
}

func matchRegexps(m Match) []string {
	var out []string
	if m.Title != "" {
		out = append(out, m.Title)
	}
	for _, k := range sortedKeys(m.LabelsRegex) {
		out = append(out, m.LabelsRegex[k])
	}
	return out
}

// MismatchReasons says why an alert does not match m, one reason per rule
// that fails; none when it matches. compile compiles regular expressions
// (regexp.Compile will do); a rule whose expression does not compile fails.
func MismatchReasons(m Match, a AlertFacts, compile func(string) (*regexp.Regexp, error)) []string {
	if compile == nil {
		compile = regexp.Compile
	}
	var out []string
	if len(m.Sources) > 0 && !slices.Contains(m.Sources, a.Source) {
		out = append(out, fmt.Sprintf("source is %q, want one of %s", a.Source, strings.Join(m.Sources, ", ")))
	}
	if m.Service != "" && a.Service != m.Service {
		out = append(out, fmt.Sprintf("service is %q, want %q", a.Service, m.Service))
	}
	for _, k := range sortedKeys(m.Labels) {
		v, ok := a.Labels[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("label %s is missing, want %q", k, m.Labels[k]))
		case v != m.Labels[k]:
			out = append(out, fmt.Sprintf("label %s is %q, want %q", k, v, m.Labels[k]))
		}
	}
	for _, k := range sortedKeys(m.LabelsRegex) {
		re, err := compile(m.LabelsRegex[k])
		v, ok := a.Labels[k]
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("labels_regex.%s: %v", k, err))
		case !ok:
			out = append(out, fmt.Sprintf("label %s is missing, want a match of /%s/", k, m.LabelsRegex[k]))
		case !re.MatchString(v):
			out = append(out, fmt.Sprintf("label %s is %q, which does not match /%s/", k, v, m.LabelsRegex[k]))
		}
	}
	if m.Title != "" {
		re, err := compile(m.Title)
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("title: %v", err))
		case !re.MatchString(a.Title):
			out = append(out, fmt.Sprintf("title %q does not match /%s/", a.Title, m.Title))
		}
	}
	return out
}

// disjoint reports whether no alert can match both a and b, and why. It is
// conservative: only what can be proven from the rules counts (a label both
// require with different values, a label one requires whose value the
// other's regular expression rejects, sources or services that cannot both
// hold). Titles are regular expressions and never prove anything.
func disjoint(a, b Match) (bool, string) {
	for _, k := range sortedKeys(a.Labels) {
		if v, ok := b.Labels[k]; ok && v != a.Labels[k] {
			return true, fmt.Sprintf("label %s: %q vs %q", k, a.Labels[k], v)
		}
	}
	for _, pair := range [][2]Match{{a, b}, {b, a}} {
		x, y := pair[0], pair[1]
		for _, k := range sortedKeys(x.Labels) {
			if e, ok := y.LabelsRegex[k]; ok {
				if re, err := regexp.Compile(e); err == nil && !re.MatchString(x.Labels[k]) {
					return true, fmt.Sprintf("label %s: %q does not match /%s/", k, x.Labels[k], e)
				}
			}
		}
	}
	if len(a.Sources) > 0 && len(b.Sources) > 0 {
		shared := false
		for _, s := range a.Sources {
			if slices.Contains(b.Sources, s) {
				shared = true
				break
			}
		}
		if !shared {
			return true, "sources"
		}
	}
	if a.Service != "" && b.Service != "" && a.Service != b.Service {
		return true, "service"
	}
	return false, ""
}

// empty reports whether m has no rule at all.
func (m Match) empty() bool {
	return len(m.Sources) == 0 && len(m.Labels) == 0 && len(m.LabelsRegex) == 0 && m.Title == "" && m.Service == ""
}
