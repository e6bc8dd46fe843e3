package ghtest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// commit is one commit object: a snapshot of the tree plus history.
type commit struct {
	sha       string
	tree      string
	parents   []string
	author    string
	email     string
	committer string
	message   string
	date      time.Time
}

// files is a flat snapshot: path → blob SHA (files only).
type files map[string]string

// blobSHA is git's blob id: sha1("blob <len>\x00" + content).
func blobSHA(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write([]byte(content))
	return hex.EncodeToString(h.Sum(nil))
}

// treeSHA is a unique id for a flat snapshot (not git's byte-exact tree
// id, which hashes nested trees, but equal snapshots share it).
func treeSHA(f files) string {
	paths := make([]string, 0, len(f))
	for p := range f {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha1.New()
	h.Write([]byte("tree\x00"))
	for _, p := range paths {
		fmt.Fprintf(h, "100644 %s\x00%s\n", p, f[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// commitSHA hashes a commit's fields, as git does.
func commitSHA(c *commit) string {
	h := sha1.New()
	fmt.Fprintf(h, "commit\x00tree %s\n", c.tree)
	for _, p := range c.parents {
		fmt.Fprintf(h, "parent %s\n", p)
	}
	fmt.Fprintf(h, "author %s <%s> %d\ncommitter %s %d\n\n%s", c.author, c.email, c.date.UnixNano(), c.committer, c.date.UnixNano(), c.message)
	return hex.EncodeToString(h.Sum(nil))
}

// fileChange is one file's difference between two snapshots.
type fileChange struct {
	path      string
	status    string // added, removed, modified
	oldSHA    string
	newSHA    string
	additions int
	deletions int
	patch     string
}

// diffFiles compares two snapshots, in path order.
func (s *Server) diffFiles(from, to files) []fileChange {
	seen := map[string]bool{}
	var paths []string
	for p := range from {
		seen[p] = true
		paths = append(paths, p)
	}
	for p := range to {
		if !seen[p] {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var out []fileChange
	for _, p := range paths {
		a, inA := from[p]
		b, inB := to[p]
		if inA && inB && a == b {
			continue
		}
		fc := fileChange{path: p, oldSHA: a, newSHA: b}
		switch {
		case !inA:
			fc.status = "added"
		case !inB:
			fc.status = "removed"
		default:
			fc.status = "modified"
		}
		fc.patch, fc.additions, fc.deletions = unifiedDiff(s.blobs[a], s.blobs[b])
		out = append(out, fc)
	}
	return out
}

// splitLines splits text into lines without their newlines.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}

// unifiedDiff returns the hunks of a unified diff (as GitHub's patch field
// holds them: no file header), with three lines of context, and the counts
// of added and deleted lines. It is an LCS diff, exact for the small files
// tests use; very large inputs degrade to replacing every line.
func unifiedDiff(a, b string) (string, int, int) {
	ops := diffOps(splitLines(a), splitLines(b))
	adds, dels := 0, 0
	for _, o := range ops {
		switch o.kind {
		case '+':
			adds++
		case '-':
			dels++
		}
	}
	if adds == 0 && dels == 0 {
		return "", 0, 0
	}
	return writeHunks(ops), adds, dels
}

// diffOp is one line of a diff: kept, deleted or added.
type diffOp struct {
	kind byte // ' ', '-', '+'
	line string
	ai   int // index in x (for ' ' and '-')
	bi   int // index in y (for ' ' and '+')
}

// diffOps turns lines x into lines y: by their longest common subsequence,
// or, when x and y are too large for that, by deleting all of x and adding
// all of y.
func diffOps(x, y []string) []diffOp {
	var ops []diffOp
	if len(x)*len(y) > 4_000_000 {
		for i, l := range x {
			ops = append(ops, diffOp{'-', l, i, 0})
		}
		for j, l := range y {
			ops = append(ops, diffOp{'+', l, len(x), j})
		}
		return ops
	}
	n, m := len(x), len(y)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			ops = append(ops, diffOp{' ', x[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', x[i], i, j})
			i++
		default:
			ops = append(ops, diffOp{'+', y[j], i, j})
			j++
		}
	}
	return ops
}

// hunkContext is the lines of context around a hunk's changes.
const hunkContext = 3

// writeHunks groups changes into hunks with up to hunkContext lines of
// context and writes them, each under its @@ header.
func writeHunks(ops []diffOp) string {
	var b strings.Builder
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start, end := hunkBounds(ops, k)
		aStart, bStart, aLen, bLen := ops[start].ai, ops[start].bi, 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				aLen++
			}
			if o.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&b, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, o := range ops[start:end] {
			b.WriteByte(o.kind)
			b.WriteString(o.line)
			b.WriteByte('\n')
		}
		k = end
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// hunkBounds is the hunk holding the change at k: from up to hunkContext
// kept lines before it to up to hunkContext kept lines after its last
// change, taking in later changes at most 2×hunkContext kept lines away.
func hunkBounds(ops []diffOp, k int) (start, end int) {
	const ctx = hunkContext
	start = max(0, k-ctx)
	for start < k && ops[start].kind != ' ' {
		start++
	}
	end = k
	for end < len(ops) {
		if ops[end].kind != ' ' {
			end++
			continue
		}
		run := end
		for run < len(ops) && ops[run].kind == ' ' {
			run++
		}
		if run < len(ops) && run-end <= 2*ctx {
			end = run
			continue
		}
		end = min(run, end+ctx)
		break
	}
	return start, end
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// ancestors returns every commit reachable from the commits shas, those
// included.
func (r *repo) ancestors(shas ...string) map[string]bool {
	seen := map[string]bool{}
	stack := append([]string(nil), shas...)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c] || r.commits[c] == nil {
			continue
		}
		seen[c] = true
		stack = append(stack, r.commits[c].parents...)
	}
	return seen
}

// mergeBase returns a best common ancestor of a and b, as git merge-base
// does: a commit reachable from both that is not an ancestor of another
// such commit (of several, the newest). "" when they share no history.
func (r *repo) mergeBase(a, b string) string {
	inA := r.ancestors(a)
	var common, parents []string
	for c := range r.ancestors(b) {
		if inA[c] {
			common = append(common, c)
			parents = append(parents, r.commits[c].parents...)
		}
	}
	// Every proper ancestor of a common commit is reachable from the
	// parents of the common commits: one walk marks them all.
	excluded := r.ancestors(parents...)
	var best *commit
	for _, c := range common {
		if excluded[c] {
			continue
		}
		cc := r.commits[c]
		if best == nil || cc.date.After(best.date) || (cc.date.Equal(best.date) && cc.sha < best.sha) {
			best = cc
		}
	}
	if best == nil {
		return ""
	}
	return best.sha
}

// isAncestor reports whether anc is reachable from sha.
func (r *repo) isAncestor(anc, sha string) bool { return r.ancestors(sha)[anc] }

// mergeFiles is a three-way merge at file level: a path changed on one
// side only takes that side; changed on both sides to different content is
// a conflict. Stricter than git, which merges lines within a file.
func mergeFiles(base, ours, theirs files) (files, []string) {
	out := files{}
	var conflicts []string
	paths := map[string]bool{}
	for _, f := range []files{base, ours, theirs} {
		for p := range f {
			paths[p] = true
		}
	}
	for p := range paths {
		b, inB := base[p]
		o, inO := ours[p]
		t, inT := theirs[p]
		var v string
		var in bool
		switch {
		case inO == inT && o == t:
			v, in = o, inO
		case inO == inB && o == b:
			v, in = t, inT
		case inT == inB && t == b:
			v, in = o, inO
		default:
			conflicts = append(conflicts, p)
			continue
		}
		if in {
			out[p] = v
		}
	}
	sort.Strings(conflicts)
	return out, conflicts
}
