package lineage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/datasev/datasev/activities/support/editdist"
)

// Graph is a manifest's lineage: every node by unique_id with its parents
// and children. It is read-only once built and safe for concurrent use.
type Graph struct {
	// Manifest is the decoded manifest the graph was built from.
	Manifest *Manifest

	nodes    map[string]*Node
	parents  map[string][]string
	children map[string][]string
	byName   map[string][]string // bare name (and source_name.name) → unique_ids
}

// Hit is one node reached by a traversal.
type Hit struct {
	// Node is the node reached.
	Node *Node
	// Depth is the number of edges from the start (1 = a direct child or
	// parent).
	Depth int
}

// NewGraph builds the graph of m. It uses the manifest's parent_map and
// child_map when present (dbt writes both) and falls back to the nodes'
// depends_on.nodes otherwise; a missing child_map is derived from the
// parents. Ids that appear only in the maps (metrics, semantic models,
// saved queries) get a node whose type and name come from the id. Nodes
// without an owner of their own take their group's owner.
func NewGraph(m *Manifest) *Graph {
	g := &Graph{
		Manifest: m,
		nodes:    make(map[string]*Node, len(m.Nodes)),
		byName:   make(map[string][]string, len(m.Nodes)),
	}
	for id, n := range m.Nodes {
		g.nodes[id] = n
	}
	groupOwner := make(map[string]string, len(m.Groups))
	for _, gr := range m.Groups {
		if gr.Owner != "" {
			groupOwner[gr.Name] = gr.Owner
		}
	}

	g.parents = m.ParentMap
	if g.parents == nil {
		g.parents = make(map[string][]string, len(m.Nodes))
		for id, n := range m.Nodes {
			g.parents[id] = uniqSorted(n.DependsOn)
		}
	}
	g.children = m.ChildMap
	if g.children == nil {
		g.children = make(map[string][]string, len(g.parents))
		for child, ps := range g.parents {
			for _, p := range ps {
				g.children[p] = append(g.children[p], child)
			}
		}
		for p, cs := range g.children {
			g.children[p] = uniqSorted(cs)
		}
	}
	stub := func(id string) {
		if _, ok := g.nodes[id]; !ok {
			name := id
			if i := strings.LastIndexByte(id, '.'); i >= 0 {
				name = id[i+1:]
			}
			g.nodes[id] = &Node{UniqueID: id, Name: name, ResourceType: typeOf(id)}
		}
	}
	for _, mp := range []map[string][]string{g.parents, g.children} {
		for id, ids := range mp {
			stub(id)
			for _, o := range ids {
				stub(o)
			}
		}
	}
	for id, n := range g.nodes {
		if len(n.Owners) == 0 && n.Group != "" {
			if o := groupOwner[n.Group]; o != "" {
				n.Owners = []string{o}
			}
		}
		g.byName[n.Name] = append(g.byName[n.Name], id)
		if n.ResourceType == TypeSource && n.SourceName != "" {
			k := n.SourceName + "." + n.Name
			g.byName[k] = append(g.byName[k], id)
		}
	}
	for k, ids := range g.byName {
		slices.Sort(ids)
		g.byName[k] = ids
	}
	return g
}

func uniqSorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// Len is the number of nodes in the graph.
func (g *Graph) Len() int { return len(g.nodes) }

// Node returns the node with unique_id id.
func (g *Graph) Node(id string) (*Node, bool) {
	n, ok := g.nodes[id]
	return n, ok
}

// Downstream returns the nodes that depend on id, directly or through
// others, up to depth edges away (0 = all), each at its shortest distance,
// sorted by depth then unique_id. id itself is not included.
func (g *Graph) Downstream(id string, depth int) []Hit { return g.walk(id, depth, g.children) }

// Upstream returns the nodes id depends on, directly or through others, up
// to depth edges away (0 = all), sorted as Downstream sorts.
func (g *Graph) Upstream(id string, depth int) []Hit { return g.walk(id, depth, g.parents) }

// walk is a breadth-first search over next.
func (g *Graph) walk(start string, depth int, next map[string][]string) []Hit {
	if _, ok := g.nodes[start]; !ok {
		return nil
	}
	seen := map[string]bool{start: true}
	var out []Hit
	frontier := []string{start}
	for d := 1; len(frontier) > 0 && (depth <= 0 || d <= depth); d++ {
		var nextFrontier []string
		for _, id := range frontier {
			for _, c := range next[id] {
				if seen[c] {
					continue
				}
				seen[c] = true
				nextFrontier = append(nextFrontier, c)
				out = append(out, Hit{Node: g.nodes[c], Depth: d})
			}
		}
		frontier = nextFrontier
	}
	slices.SortFunc(out, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), strings.Compare(a.Node.UniqueID, b.Node.UniqueID))
	})
	return out
}

// UnknownNodeError is a reference that names no node.
type UnknownNodeError struct {
	// Ref is what was asked for.
	Ref string
	// Suggestions are close names, best first (at most five).
	Suggestions []string
}

func (e *UnknownNodeError) Error() string {
	msg := fmt.Sprintf("no node %q in the manifest", e.Ref)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + strings.Join(e.Suggestions, ", ") + "?"
	}
	return msg
}

// AmbiguousNodeError is a bare name that several nodes share.
type AmbiguousNodeError struct {
	// Ref is what was asked for.
	Ref string
	// Candidates are the matching unique_ids, sorted.
	Candidates []string
}

func (e *AmbiguousNodeError) Error() string {
	return fmt.Sprintf("node %q is ambiguous: it matches %s; give the unique_id", e.Ref, strings.Join(e.Candidates, ", "))
}

// rank orders resource types for name resolution: a bare name means the
// model before a seed or snapshot, those before a source, and so on.
func rank(typ string) int {
	switch typ {
	case TypeModel:
		return 0
	case TypeSeed, TypeSnapshot:
		return 1
	case TypeSource:
		return 2
	case TypeExposure:
		return 3
	case TypeTest, TypeUnitTest:
		return 5
	}
	return 4
}

// Resolve finds the node ref names: a unique_id ("model.shop.orders"), a
// bare name ("orders"), or a source as source_name.table ("raw.orders").
// A bare name shared by nodes of different kinds means, in order, the
// model, the seed or snapshot, the source, the exposure. Several nodes of
// the best kind (a model in two packages) are an *AmbiguousNodeError
// listing them, except that the versions of one versioned model mean its
// latest_version, as a bare ref does in dbt; no match is an *UnknownNodeError
// suggesting close names.
func (g *Graph) Resolve(ref string) (*Node, error) {
	ref = strings.TrimSpace(ref)
	if n, ok := g.nodes[ref]; ok {
		return n, nil
	}
	ids := g.byName[ref]
	if len(ids) == 0 {
		return nil, &UnknownNodeError{Ref: ref, Suggestions: g.suggest(ref)}
	}
	best := -1
	var cands []string
	for _, id := range ids {
		r := rank(g.nodes[id].ResourceType)
		switch {
		case best < 0 || r < best:
			best, cands = r, []string{id}
		case r == best:
			cands = append(cands, id)
		}
	}
	if len(cands) > 1 {
		if n := latest(g, cands); n != nil {
			return n, nil
		}
		return nil, &AmbiguousNodeError{Ref: ref, Candidates: cands}
	}
	return g.nodes[cands[0]], nil
}

// latest returns, when cands are the versions of one model, the latest
// one (what a bare ref to the model means in dbt); otherwise nil.
func latest(g *Graph, cands []string) *Node {
	var pick *Node
	first := g.nodes[cands[0]]
	for _, id := range cands {
		n := g.nodes[id]
		if n.Version == "" || n.PackageName != first.PackageName || n.Name != first.Name {
			return nil
		}
		if n.Version == n.LatestVersion {
			pick = n
		}
	}
	return pick
}

// suggest returns up to five names close to ref: by edit distance, then
// names containing it.
func (g *Graph) suggest(ref string) []string {
	type cand struct {
		name string
		dist int
	}
	lref := strings.ToLower(ref)
	limit := max(2, len(ref)/3)
	var cands []cand
	for name, ids := range g.byName {
		if rank(g.nodes[ids[0]].ResourceType) == 5 {
			continue // test names are long and noisy
		}
		lname := strings.ToLower(name)
		d := editdist.Distance(lref, lname, limit)
		if d > limit && len(lref) >= 3 && (strings.Contains(lname, lref) || strings.Contains(lref, lname) && len(lname) >= 3) {
			d = limit + 1
		} else if d > limit {
			continue
		}
		cands = append(cands, cand{name, d})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), strings.Compare(a.name, b.name))
	})
	out := make([]string, 0, 5)
	for _, c := range cands {
		if len(out) == 5 {
			break
		}
		out = append(out, c.name)
	}
	return out
}
