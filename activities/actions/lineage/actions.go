package lineage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/runbooks"
)

// Action names.
const (
	DownstreamName = "lineage.downstream"
	UpstreamName   = "lineage.upstream"
)

// MaxListed bounds the nodes, models and exposures lists of an action's
// output, so a node feeding half the project does not overflow a Temporal
// payload; count, by_type and exposure_count stay exact and truncated
// says the lists were cut.
const MaxListed = 500

// Actions carries out the lineage actions over one Source: dbt manifests
// through a Cache, or a catalog (Marquez) the deployment chose.
type Actions struct {
	src Source
}

// NewWithCache returns the lineage actions using c (to share one cache or
// tune it). When c was built with a catalog source (CacheOptions.Source),
// the actions read lineage from that catalog; otherwise from the manifest
// each step names.
func NewWithCache(c *Cache) *Actions {
	if c == nil {
		return &Actions{}
	}
	if c.catalog != nil {
		return &Actions{src: c.catalog}
	}
	return &Actions{src: manifestSource{cache: c}}
}

// New returns the lineage actions reading from src.
func New(src Source) *Actions { return &Actions{src: src} }

// Input is the input of lineage.downstream and lineage.upstream.
type Input struct {
	Manifest     string `json:"manifest" desc:"where dbt's manifest.json is: a local path, file:///path, s3://bucket/key or github://owner/repo/path/manifest.json@ref; required when the worker reads lineage from manifests (the default), unused when it reads a catalog (DATASEV_LINEAGE_SOURCE=marquez)"`
	Node         string `json:"node" datasev:"required" desc:"the node: a unique_id (model.shop.orders), a bare model/seed/snapshot/source name (orders) or a source as source_name.table; with a Marquez catalog, dataset:<namespace>:<name> or a dataset name in the configured namespace"`
	Depth        int    `json:"depth" desc:"how many edges to follow; 0 (the default) follows all"`
	IncludeTests bool   `json:"include_tests" desc:"list data and unit tests too (default false)"`
}

var outputs = []string{
	"ok", "source", "node", "nodes", "count", "by_type", "models", "exposures", "exposure_count", "owners", "truncated",
}

// DownstreamSpec is lineage.downstream's spec; actions.Typed adds its
// inputs from Input.
func DownstreamSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: DownstreamName,
		Description: "List what a dbt node feeds, from the project's manifest.json (or a dataset, from the Marquez catalog " +
			"the worker is configured with): the models, snapshots, exposures " +
			"(dashboards, notebooks, ML, applications) and, with include_tests, tests downstream of it, each with its " +
			"depth and owner; the exposures and owners affected; and a suggested severity: SEV2 when a high-maturity " +
			"exposure or 3 or more exposures are affected, SEV3 for any exposure, SEV4 for models only, SEV5 for " +
			"nothing downstream. Informational: ok is always true.",
		Outputs: append(slices.Clone(outputs), "suggested_severity", "severity_reason"),
	}
}

// UpstreamSpec is lineage.upstream's spec; actions.Typed adds its inputs
// from Input.
func UpstreamSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: UpstreamName,
		Description: "List what a dbt node depends on, from the project's manifest.json (or a dataset, from the Marquez " +
			"catalog the worker is configured with): the sources, seeds, snapshots " +
			"and models upstream of it, each with its depth and owner, and their owners. Informational: ok is always true.",
		Outputs: slices.Clone(outputs),
	}
}

// Downstream lists what in.Node feeds.
func (a *Actions) Downstream(ctx context.Context, _ runbooks.ActionRequest, in Input) (runbooks.ActionResult, error) {
	return a.run(ctx, DownstreamName, in, true)
}

// Upstream lists what in.Node depends on.
func (a *Actions) Upstream(ctx context.Context, _ runbooks.ActionRequest, in Input) (runbooks.ActionResult, error) {
	return a.run(ctx, UpstreamName, in, false)
}

func (a *Actions) run(ctx context.Context, name string, in Input, down bool) (runbooks.ActionResult, error) {
	if a == nil || a.src == nil {
		return runbooks.ActionResult{}, nonRetryable(NotConfiguredType, "%s: the worker has no lineage actions configured", name)
	}
	if in.Depth < 0 {
		return runbooks.ActionResult{}, nonRetryable(InvalidInputType, "%s: depth %d is negative; 0 means all", name, in.Depth)
	}
	if len(in.Node) > MaxNodeRef {
		return runbooks.ActionResult{}, nonRetryable(InvalidInputType, "%s: node is %d bytes long; at most %d", name, len(in.Node), MaxNodeRef)
	}
	g, n, err := a.src.Lookup(ctx, in)
	if err != nil {
		return runbooks.ActionResult{}, prefix(name, err)
	}
	var hits []Hit
	if down {
		hits = g.Downstream(n.UniqueID, in.Depth)
	} else {
		hits = g.Upstream(n.UniqueID, in.Depth)
	}
	if !in.IncludeTests {
		hits = slices.DeleteFunc(hits, func(h Hit) bool { return h.Node.IsTest() })
	}
	r := summarize(n, hits)
	out := r.output()
	out["source"] = a.src.Name()
	if down {
		sev, why := r.severity()
		out["suggested_severity"] = sev
		out["severity_reason"] = why
	}
	return runbooks.ActionResult{
		Output:  out,
		Summary: r.summary(down, in.Depth),
		Detail:  r.detail(down),
	}, nil
}

// prefix puts the action's name in front of an error's message, keeping
// an application error's type, retryability and retry delay.
func prefix(name string, err error) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return temporal.NewApplicationErrorWithOptions(name+": "+ae.Message(), ae.Type(), temporal.ApplicationErrorOptions{
			NonRetryable:   ae.NonRetryable(),
			NextRetryDelay: ae.NextRetryDelay(),
			Cause:          errors.Unwrap(ae),
		})
	}
	return fmt.Errorf("%s: %w", name, err)
}

// report is a traversal's result, digested.
type report struct {
	start     *Node
	hits      []Hit
	byType    map[string]int
	exposures []*Node
	owners    []string
}

func summarize(start *Node, hits []Hit) *report {
	r := &report{start: start, hits: hits, byType: map[string]int{}}
	owners := map[string]bool{}
	for _, h := range hits {
		r.byType[h.Node.ResourceType]++
		if h.Node.ResourceType == TypeExposure {
			r.exposures = append(r.exposures, h.Node)
		}
		for _, o := range h.Node.Owners {
			owners[o] = true
		}
	}
	slices.SortFunc(r.exposures, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) })
	r.owners = slices.Sorted(maps.Keys(owners))
	return r
}

func (r *report) output() map[string]any {
	nodes := make([]any, 0, min(len(r.hits), MaxListed))
	models := make([]any, 0)
	truncated := false
	for _, h := range r.hits {
		if len(nodes) == MaxListed {
			truncated = true
			break
		}
		nodes = append(nodes, map[string]any{
			"unique_id":     h.Node.UniqueID,
			"name":          h.Node.Name,
			"resource_type": h.Node.ResourceType,
			"depth":         h.Depth,
			"owner":         h.Node.Owner(),
		})
	}
	for _, h := range r.hits {
		if h.Node.ResourceType != TypeModel {
			continue
		}
		if len(models) == MaxListed {
			truncated = true
			break
		}
		models = append(models, h.Node.Name)
	}
	exps := make([]any, 0, len(r.exposures))
	for _, e := range r.exposures {
		if len(exps) == MaxListed {
			truncated = true
			break
		}
		exps = append(exps, map[string]any{
			"name":     e.Name,
			"type":     e.ExposureType,
			"maturity": e.Maturity,
			"owner":    e.Owner(),
			"url":      e.URL,
		})
	}
	byType := make(map[string]any, len(r.byType))
	for t, n := range r.byType {
		byType[t] = n
	}
	owners := make([]any, len(r.owners))
	for i, o := range r.owners {
		owners[i] = o
	}
	return map[string]any{
		"ok":             true,
		"node":           r.start.UniqueID,
		"nodes":          nodes,
		"count":          len(r.hits),
		"by_type":        byType,
		"models":         models,
		"exposures":      exps,
		"exposure_count": len(r.exposures),
		"owners":         owners,
		"truncated":      truncated,
	}
}

// Suggested severities.
const (
	SEV2 = "SEV2"
	SEV3 = "SEV3"
	SEV4 = "SEV4"
	SEV5 = "SEV5"
)

// SuggestSeverity is lineage.downstream's severity rule, from what a broken
// node feeds: SEV2 when a high-maturity exposure, or 3 or more exposures,
// are downstream (many users see it); SEV3 for any exposure (some users);
// SEV4 when only models, seeds or snapshots are (no user sees it yet);
// SEV5 when nothing is. It returns the severity and the reason.
func SuggestSeverity(exposures []*Node, models int) (string, string) {
	var high []string
	for _, e := range exposures {
		if strings.EqualFold(e.Maturity, "high") {
			high = append(high, e.Name)
		}
	}
	switch {
	case len(high) > 0:
		return SEV2, "high-maturity exposure downstream: " + strings.Join(high, ", ")
	case len(exposures) >= 3:
		return SEV2, fmt.Sprintf("%d exposures downstream", len(exposures))
	case len(exposures) > 0:
		return SEV3, fmt.Sprintf("%s downstream", plural(len(exposures), "exposure", "exposures"))
	case models > 0:
		return SEV4, fmt.Sprintf("%s downstream, no exposure", plural(models, "model", "models"))
	}
	return SEV5, "nothing downstream"
}

func (r *report) severity() (string, string) {
	return SuggestSeverity(r.exposures, r.byType[TypeModel]+r.byType[TypeSnapshot]+r.byType[TypeSeed])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// summary is one line: "orders feeds 42 nodes: 3 exposures (2 dashboards,
// 1 ml), owners: finance, growth".
func (r *report) summary(down bool, depth int) string {
	var b strings.Builder
	verb := "feeds"
	if !down {
		verb = "depends on"
	}
	fmt.Fprintf(&b, "%s %s %s", r.start.Name, verb, plural(len(r.hits), "node", "nodes"))
	if depth > 0 {
		fmt.Fprintf(&b, " (within %d)", depth)
	}
	if len(r.hits) == 0 {
		return b.String()
	}
	if len(r.exposures) > 0 {
		byKind := map[string]int{}
		for _, e := range r.exposures {
			byKind[cmp.Or(e.ExposureType, "other")]++
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(byKind)) {
			parts = append(parts, plural(byKind[k], k, kindPlural(k)))
		}
		fmt.Fprintf(&b, ": %s (%s)", plural(len(r.exposures), "exposure", "exposures"), strings.Join(parts, ", "))
	} else {
		var parts []string
		for _, t := range slices.Sorted(maps.Keys(r.byType)) {
			parts = append(parts, plural(r.byType[t], t, kindPlural(t)))
		}
		fmt.Fprintf(&b, ": %s", strings.Join(parts, ", "))
	}
	if len(r.owners) > 0 {
		const maxOwners = 6
		o := r.owners
		more := ""
		if len(o) > maxOwners {
			more = fmt.Sprintf(" and %d more", len(o)-maxOwners)
			o = o[:maxOwners]
		}
		fmt.Fprintf(&b, ", owners: %s%s", strings.Join(o, ", "), more)
	}
	return b.String()
}

func kindPlural(k string) string {
	switch k {
	case "ml", "":
		return k
	case TypeAnalysis:
		return "analyses"
	case TypeUnitTest:
		return "unit_tests"
	}
	return k + "s"
}

// Bounds of the Markdown detail.
const (
	detailPerDepth = 25
	detailTotal    = 150
)

// detail is the nodes as a Markdown list grouped by depth, with at most
// detailPerDepth lines per depth and detailTotal in all.
func (r *report) detail(down bool) string {
	var b strings.Builder
	dir := "Downstream"
	if !down {
		dir = "Upstream"
	}
	fmt.Fprintf(&b, "**%s of `%s`** (%s)\n", dir, r.start.UniqueID, plural(len(r.hits), "node", "nodes"))
	if len(r.hits) == 0 {
		b.WriteString("\nNothing.\n")
		return b.String()
	}
	if down && len(r.exposures) > 0 {
		b.WriteString("\n**Exposures**\n\n")
		for i, e := range r.exposures {
			if i == detailPerDepth {
				fmt.Fprintf(&b, "- … and %d more\n", len(r.exposures)-i)
				break
			}
			fmt.Fprintf(&b, "- %s", e.Name)
			var attrs []string
			for _, a := range []string{e.ExposureType, maturityLabel(e.Maturity), e.Owner()} {
				if a != "" {
					attrs = append(attrs, a)
				}
			}
			if len(attrs) > 0 {
				fmt.Fprintf(&b, " (%s)", strings.Join(attrs, ", "))
			}
			if e.URL != "" {
				fmt.Fprintf(&b, " — %s", e.URL)
			}
			b.WriteString("\n")
		}
	}
	written := 0
	for i := 0; i < len(r.hits); {
		d := r.hits[i].Depth
		j := i
		for j < len(r.hits) && r.hits[j].Depth == d {
			j++
		}
		if written >= detailTotal {
			fmt.Fprintf(&b, "\n… and %s deeper.\n", plural(len(r.hits)-i, "node", "nodes"))
			break
		}
		fmt.Fprintf(&b, "\n**Depth %d** (%d)\n\n", d, j-i)
		for k := i; k < j; k++ {
			if k-i == detailPerDepth || written >= detailTotal {
				fmt.Fprintf(&b, "- … and %d more\n", j-k)
				break
			}
			n := r.hits[k].Node
			fmt.Fprintf(&b, "- `%s` %s", n.Name, n.ResourceType)
			if o := n.Owner(); o != "" {
				fmt.Fprintf(&b, " — %s", o)
			}
			b.WriteString("\n")
			written++
		}
		i = j
	}
	return b.String()
}

func maturityLabel(m string) string {
	if m == "" {
		return ""
	}
	return m + " maturity"
}
