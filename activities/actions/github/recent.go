package ghact

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/datasev/datasev/runbooks"
)

// RecentCommitsName is github.recent_commits's action name.
const RecentCommitsName = "github.recent_commits"

// Bounds of github.recent_commits: the API calls it makes are at most
// 1 (default branch) + paths × maxListPages + maxDetails.
const (
	maxPaths     = 20
	maxListPages = 5   // of listPageSize commits, per path
	maxDetails   = 50  // commits whose files are fetched
	maxLimit     = 50  // commits returned
	maxFilesOut  = 20  // files listed per commit
	listPageSize = 100 // per_page of commit listings
)

// RecentCommitsSpec is github.recent_commits's spec.
func RecentCommitsSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: RecentCommitsName,
		Description: "List the commits on a branch that touched the given files or directories within a time window, " +
			"fetch their changed files and rank them by how likely they caused the incident: an exact file match " +
			"scores 4, a directory match 1 (so an exact match outranks a directory match); recency adds up to 2 " +
			"(linear over the window); change size adds up to 1 (log10 of 1 + changed lines in the matched files, " +
			"divided by 3). ok is false when none is found.",
		Outputs: []string{"ok", "repo", "branch", "since", "commits", "count", "top_sha", "top_message", "top_author", "candidates"},
	}
}

// RecentCommitsInput is github.recent_commits's inputs.
type RecentCommitsInput struct {
	Repo   string            `json:"repo" datasev:"required" desc:"repository as owner/name, e.g. acme/analytics"`
	Branch string            `json:"branch" desc:"branch to search (default: the repository's default branch)"`
	Paths  []string          `json:"paths" desc:"files or directory prefixes, e.g. models/marts/orders.sql or models/marts (default: any file)"`
	Since  runbooks.Duration `json:"since" desc:"how far back to look (default 72h)"`
	Limit  int               `json:"limit" desc:"how many ranked commits to return (default 10, at most 50)"`
}

// candidate is a commit found by a listing.
type candidate struct {
	rc    *github.RepositoryCommit
	date  time.Time
	score float64
	files []string
	adds  int
	dels  int
}

// RecentCommits lists, ranks and returns recent commits touching paths.
func (a *Actions) RecentCommits(ctx context.Context, _ runbooks.ActionRequest, in RecentCommitsInput) (runbooks.ActionResult, error) {
	q, err := a.newRecentQuery(ctx, in)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	cands, err := a.listRecent(ctx, q)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	total := len(cands)
	if cands, err = a.rankRecent(ctx, q, cands); err != nil {
		return runbooks.ActionResult{}, err
	}
	return q.result(cands, total), nil
}

// recentQuery is github.recent_commits's inputs, checked and defaulted.
type recentQuery struct {
	owner, repo, full string
	branch            string
	paths             []string
	limit             int
	window            time.Duration
	now, since        time.Time
}

// newRecentQuery checks in (repo, limit, paths) and applies the defaults:
// limit 10, a 72h window and the repository's default branch.
func (a *Actions) newRecentQuery(ctx context.Context, in RecentCommitsInput) (recentQuery, error) {
	const name = RecentCommitsName
	var q recentQuery
	var err error
	if q.owner, q.repo, err = a.repo(name, in.Repo, false); err != nil {
		return q, err
	}
	q.full = q.owner + "/" + q.repo
	q.limit = in.Limit
	switch {
	case q.limit == 0:
		q.limit = 10
	case q.limit < 0 || q.limit > maxLimit:
		return q, badRequest(name, "limit %d: want 1 to %d", q.limit, maxLimit)
	}
	q.window = in.Since.Std()
	if q.window == 0 {
		q.window = 72 * time.Hour
	}
	for _, p := range in.Paths {
		if p = strings.Trim(strings.TrimSpace(p), "/"); p != "" {
			q.paths = append(q.paths, p)
		}
	}
	if len(q.paths) > maxPaths {
		return q, badRequest(name, "%d paths: at most %d", len(q.paths), maxPaths)
	}
	q.branch = strings.TrimSpace(in.Branch)
	if q.branch == "" {
		if q.branch, err = a.defaultBranch(ctx, name, q.owner, q.repo); err != nil {
			return q, err
		}
	}
	q.now = a.now().UTC()
	q.since = q.now.Add(-q.window)
	return q, nil
}

// listRecent lists the window's commits on the branch touching each path
// (any file when there are none), once each, newest first.
func (a *Actions) listRecent(ctx context.Context, q recentQuery) ([]*candidate, error) {
	found := map[string]*candidate{}
	lists := q.paths
	if len(lists) == 0 {
		lists = []string{""}
	}
	for _, p := range lists {
		opts := &github.CommitsListOptions{SHA: q.branch, Path: p, Since: q.since, ListOptions: github.ListOptions{PerPage: a.pageSize()}}
		err := eachItem(maxListPages, func(page int) ([]*github.RepositoryCommit, *github.Response, error) {
			opts.Page = page
			return a.c.Repositories.ListCommits(ctx, q.owner, q.repo, opts)
		}, func(rc *github.RepositoryCommit) bool {
			if found[rc.GetSHA()] == nil {
				found[rc.GetSHA()] = &candidate{rc: rc, date: commitDate(rc)}
			}
			return false
		})
		if err != nil {
			what := fmt.Sprintf("list commits of %s on %s", q.full, q.branch)
			if p != "" {
				what += " touching " + p
			}
			return nil, Classify(RecentCommitsName, what, err)
		}
	}
	cands := make([]*candidate, 0, len(found))
	for _, c := range found {
		cands = append(cands, c)
	}
	sort.Slice(cands, func(i, j int) bool {
		if !cands[i].date.Equal(cands[j].date) {
			return cands[i].date.After(cands[j].date)
		}
		return cands[i].rc.GetSHA() < cands[j].rc.GetSHA()
	})
	return cands, nil
}

// rankRecent fetches the newest maxDetails candidates in full (files and
// stats), scores them and keeps the limit best, best first.
func (a *Actions) rankRecent(ctx context.Context, q recentQuery, cands []*candidate) ([]*candidate, error) {
	if len(cands) > maxDetails {
		cands = cands[:maxDetails]
	}
	for _, c := range cands {
		rc, _, err := a.c.Repositories.GetCommit(ctx, q.owner, q.repo, c.rc.GetSHA(), nil)
		if err != nil {
			return nil, Classify(RecentCommitsName, fmt.Sprintf("get commit %s of %s", c.rc.GetSHA(), q.full), err)
		}
		c.rc = rc
		c.score = score(rc, q.paths, q.now.Sub(c.date), q.window)
		for _, f := range rc.Files {
			c.files = append(c.files, f.GetFilename())
		}
		c.adds, c.dels = rc.GetStats().GetAdditions(), rc.GetStats().GetDeletions()
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	if len(cands) > q.limit {
		cands = cands[:q.limit]
	}
	return cands, nil
}

// commitsOutput is the commits output: one map per ranked commit.
func commitsOutput(cands []*candidate) []any {
	list := make([]any, len(cands))
	for i, c := range cands {
		files := c.files
		if len(files) > maxFilesOut {
			files = files[:maxFilesOut]
		}
		fl := make([]any, len(files))
		for j, f := range files {
			fl[j] = f
		}
		list[i] = map[string]any{
			"sha": c.rc.GetSHA(), "short_sha": short(c.rc.GetSHA()), "author": authorOf(c.rc),
			"message": subject(c.rc.GetCommit().GetMessage()), "date": c.date.Format(time.RFC3339),
			"url": c.rc.GetHTMLURL(), "files": fl, "additions": c.adds, "deletions": c.dels, "score": c.score,
		}
	}
	return list
}

// result is the answer: the ranked commits (of total candidates) and the
// top one; no commits is not an error, output ok is false.
func (q recentQuery) result(cands []*candidate, total int) runbooks.ActionResult {
	const name = RecentCommitsName
	out := map[string]any{
		"ok": len(cands) > 0, "repo": q.full, "branch": q.branch, "since": q.since.Format(time.RFC3339),
		"commits": commitsOutput(cands), "count": len(cands), "candidates": total,
		"top_sha": "", "top_message": "", "top_author": "",
	}
	where := "any file"
	if len(q.paths) > 0 {
		where = strings.Join(q.paths, ", ")
	}
	res := runbooks.ActionResult{Output: out}
	if len(cands) == 0 {
		res.Summary = fmt.Sprintf("%s %s@%s: no commits touching %s in the last %s", name, q.full, q.branch, where, q.window)
		res.Detail = fmt.Sprintf("No commits on `%s` of `%s` touched %s since %s.\n", q.branch, q.full, where, q.since.Format(time.RFC3339))
		return res
	}
	top := cands[0]
	out["top_sha"] = top.rc.GetSHA()
	out["top_message"] = subject(top.rc.GetCommit().GetMessage())
	out["top_author"] = authorOf(top.rc)
	res.Summary = fmt.Sprintf("%s %s@%s: %d of %d commits touching %s in the last %s; top %s %q by %s",
		name, q.full, q.branch, len(cands), total, where, q.window, short(top.rc.GetSHA()), out["top_message"], out["top_author"])
	res.Detail = q.rankedTable(cands, where)
	return res
}

// rankedTable is the detail: the ranked commits as a Markdown table.
func (q recentQuery) rankedTable(cands []*candidate, where string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Commits on `%s` of `%s` touching %s since %s, ranked:\n\n", q.branch, q.full, where, q.since.Format(time.RFC3339))
	b.WriteString("| # | commit | author | date | message | files | +/- | score |\n|---|---|---|---|---|---|---|---|\n")
	for i, c := range cands {
		fmt.Fprintf(&b, "| %d | [`%s`](%s) | %s | %s | %s | %d | +%d/-%d | %.2f |\n", i+1, short(c.rc.GetSHA()), c.rc.GetHTMLURL(),
			cell(authorOf(c.rc)), c.date.Format(time.RFC3339), cell(subject(c.rc.GetCommit().GetMessage())), len(c.files), c.adds, c.dels, c.score)
	}
	return b.String()
}

// score ranks a commit: 4 for a file equal to one of paths, else 1 for a
// file under one of them (0 when no paths are given), so that an exact
// match outranks a directory match whatever their ages; up to 2 for recency,
// linear from now (2) to the window's start (0); up to 1 for change size,
// log10(1 + lines added and deleted in the matching files) / 3. Rounded to
// two decimals.
func score(rc *github.RepositoryCommit, paths []string, age, window time.Duration) float64 {
	match, lines := 0.0, 0
	for _, f := range rc.Files {
		name := f.GetFilename()
		m := 0.0
		if len(paths) == 0 {
			m = -1
		}
		for _, p := range paths {
			switch {
			case name == p:
				m = 4
			case strings.HasPrefix(name, p+"/") && m < 1:
				m = 1
			}
		}
		if m != 0 {
			lines += f.GetAdditions() + f.GetDeletions()
		}
		match = max(match, m)
	}
	recency := 0.0
	if window > 0 {
		recency = 2 * (1 - float64(age)/float64(window))
		recency = min(2, max(0, recency))
	}
	size := min(1, math.Log10(1+float64(lines))/3)
	return math.Round((match+recency+size)*100) / 100
}

func (a *Actions) pageSize() int {
	if a.perPage > 0 {
		return a.perPage
	}
	return listPageSize
}

func (a *Actions) defaultBranch(ctx context.Context, action, owner, repo string) (string, error) {
	r, _, err := a.c.Repositories.Get(ctx, owner, repo)
	if err != nil {
		return "", Classify(action, "get repository "+owner+"/"+repo, err)
	}
	if r.GetDefaultBranch() == "" {
		return "", badRequest(action, "repository %s/%s has no default branch (is it empty?)", owner, repo)
	}
	return r.GetDefaultBranch(), nil
}

func commitDate(rc *github.RepositoryCommit) time.Time {
	if d := rc.GetCommit().GetCommitter().GetDate(); !d.IsZero() {
		return d.UTC()
	}
	return rc.GetCommit().GetAuthor().GetDate().UTC()
}

func authorOf(rc *github.RepositoryCommit) string {
	if n := rc.GetCommit().GetAuthor().GetName(); n != "" {
		return n
	}
	return rc.GetAuthor().GetLogin()
}

func subject(msg string) string {
	s, _, _ := strings.Cut(msg, "\n")
	return strings.TrimSpace(s)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
