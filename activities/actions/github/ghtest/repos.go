package ghtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// issue is an issue or a pull request (they share numbers).
type issue struct {
	number      int
	title, body string
	labels      []string
	state       string
	stateReason string // completed, not_planned or reopened; "" when never closed
	user        string
	created     time.Time
	closed      time.Time
	comments    []*comment
	pr          *pullReq
}

type comment struct {
	id      int64
	body    string
	user    string
	created time.Time
}

type pullReq struct {
	head, base string
	headSHA    string // last known head
	merged     bool
	mergeSHA   string
	mergedAt   time.Time
}

func (is *issue) commentBodies() []string {
	out := make([]string, len(is.comments))
	for i, c := range is.comments {
		out[i] = c.body
	}
	return out
}

func (r *repo) prHeadSHA(is *issue) string {
	if is.state == "open" {
		if sha, ok := r.refs["refs/heads/"+is.pr.head]; ok {
			is.pr.headSHA = sha
		}
	}
	return is.pr.headSHA
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// htmlBase is the web address of the server (GitHub's html_url space).
func (c *call) htmlBase() string { return "http://" + c.r.Host + "/" }

func (c *call) repoURL(r *repo) string { return c.base + "repos/" + r.fullName() }

func (c *call) user(login string) map[string]any {
	return map[string]any{"login": login, "id": len(login) + 1, "type": "User", "url": c.base + "users/" + login}
}

func (c *call) repoJSON(r *repo) map[string]any {
	return map[string]any{
		"id": r.id, "node_id": fmt.Sprintf("R_%d", r.id), "name": r.name, "full_name": r.fullName(),
		"owner":   map[string]any{"login": r.owner, "id": r.id + 1, "type": "Organization"},
		"private": true, "html_url": c.htmlBase() + r.fullName(), "url": c.repoURL(r),
		"default_branch": r.defaultBranch, "created_at": ts(r.created), "visibility": "private",
	}
}

func (c *call) gitCommitJSON(r *repo, cm *commit) map[string]any {
	parents := make([]map[string]any, len(cm.parents))
	for i, p := range cm.parents {
		parents[i] = map[string]any{"sha": p, "url": c.repoURL(r) + "/git/commits/" + p, "html_url": c.htmlBase() + r.fullName() + "/commit/" + p}
	}
	return map[string]any{
		"sha": cm.sha, "node_id": "C_" + cm.sha[:12], "url": c.repoURL(r) + "/git/commits/" + cm.sha,
		"html_url":  c.htmlBase() + r.fullName() + "/commit/" + cm.sha,
		"author":    map[string]any{"name": cm.author, "email": cm.email, "date": ts(cm.date)},
		"committer": map[string]any{"name": cm.committer, "email": emailOf(cm.committer), "date": ts(cm.date)},
		"message":   cm.message,
		"tree":      map[string]any{"sha": cm.tree, "url": c.repoURL(r) + "/git/trees/" + cm.tree},
		"parents":   parents, "verification": map[string]any{"verified": false, "reason": "unsigned"},
	}
}

func (c *call) filesJSON(r *repo, ref string, changes []fileChange) []map[string]any {
	out := make([]map[string]any, len(changes))
	for i, f := range changes {
		sha := f.newSHA
		if sha == "" {
			sha = f.oldSHA
		}
		m := map[string]any{
			"sha": sha, "filename": f.path, "status": f.status, "additions": f.additions, "deletions": f.deletions,
			"changes":      f.additions + f.deletions,
			"blob_url":     c.htmlBase() + r.fullName() + "/blob/" + ref + "/" + f.path,
			"raw_url":      c.htmlBase() + r.fullName() + "/raw/" + ref + "/" + f.path,
			"contents_url": c.repoURL(r) + "/contents/" + f.path + "?ref=" + ref,
		}
		if f.patch != "" {
			m["patch"] = f.patch
		}
		out[i] = m
	}
	return out
}

// parentFiles is the snapshot of a commit's first parent (empty for a root).
func (r *repo) parentFiles(cm *commit) files {
	if len(cm.parents) == 0 {
		return files{}
	}
	return r.trees[r.commits[cm.parents[0]].tree]
}

// commitJSON is a RepositoryCommit; with files it carries stats and files
// (the diff against the first parent).
func (c *call) commitJSON(r *repo, cm *commit, withFiles bool) map[string]any {
	g := c.gitCommitJSON(r, cm)
	delete(g, "sha")
	delete(g, "html_url")
	delete(g, "parents")
	delete(g, "node_id")
	g["comment_count"] = 0
	parents := make([]map[string]any, len(cm.parents))
	for i, p := range cm.parents {
		parents[i] = map[string]any{"sha": p, "url": c.repoURL(r) + "/commits/" + p, "html_url": c.htmlBase() + r.fullName() + "/commit/" + p}
	}
	m := map[string]any{
		"sha": cm.sha, "node_id": "C_" + cm.sha[:12], "commit": g,
		"url":      c.repoURL(r) + "/commits/" + cm.sha,
		"html_url": c.htmlBase() + r.fullName() + "/commit/" + cm.sha,
		"author":   c.user(login(cm.author)), "committer": c.user(login(cm.committer)), "parents": parents,
	}
	if withFiles {
		ch := c.s.diffFiles(r.parentFiles(cm), r.trees[cm.tree])
		adds, dels := 0, 0
		for _, f := range ch {
			adds += f.additions
			dels += f.deletions
		}
		m["stats"] = map[string]any{"additions": adds, "deletions": dels, "total": adds + dels}
		m["files"] = c.filesJSON(r, cm.sha, ch)
	}
	return m
}

func login(name string) string { return strings.ToLower(strings.ReplaceAll(name, " ", "-")) }

func (c *call) refJSON(r *repo, ref, sha string) map[string]any {
	return map[string]any{
		"ref": ref, "node_id": "REF_" + sha[:8], "url": c.repoURL(r) + "/git/" + ref,
		"object": map[string]any{"type": "commit", "sha": sha, "url": c.repoURL(r) + "/git/commits/" + sha},
	}
}

func (c *call) issueJSON(r *repo, is *issue) map[string]any {
	labels := make([]map[string]any, len(is.labels))
	for i, l := range is.labels {
		labels[i] = map[string]any{"name": l, "color": "ededed"}
	}
	kind := "issues"
	if is.pr != nil {
		kind = "pull"
	}
	m := map[string]any{
		"id": int64(r.id)*100000 + int64(is.number), "number": is.number, "title": is.title, "body": is.body,
		"state": is.state, "labels": labels, "user": c.user(is.user), "comments": len(is.comments),
		"url":        c.repoURL(r) + "/issues/" + strconv.Itoa(is.number),
		"html_url":   c.htmlBase() + r.fullName() + "/" + kind + "/" + strconv.Itoa(is.number),
		"created_at": ts(is.created), "updated_at": ts(is.created), "closed_at": ts(is.closed),
		"repository_url": c.repoURL(r), "state_reason": nullable(is.stateReason),
	}
	if is.pr != nil {
		m["pull_request"] = map[string]any{"url": c.repoURL(r) + "/pulls/" + strconv.Itoa(is.number)}
	}
	return m
}

func (c *call) pullJSON(r *repo, is *issue) map[string]any {
	head := r.prHeadSHA(is)
	baseSHA := r.refs["refs/heads/"+is.pr.base]
	mergeable, state := c.mergeability(r, is)
	m := map[string]any{
		"id": int64(r.id)*100000 + int64(is.number), "number": is.number, "title": is.title, "body": is.body,
		"state": is.state, "user": c.user(is.user), "draft": false,
		"url":        c.repoURL(r) + "/pulls/" + strconv.Itoa(is.number),
		"html_url":   c.htmlBase() + r.fullName() + "/pull/" + strconv.Itoa(is.number),
		"created_at": ts(is.created), "updated_at": ts(is.created), "closed_at": ts(is.closed),
		"merged": is.pr.merged, "merged_at": ts(is.pr.mergedAt),
		"head":     map[string]any{"ref": is.pr.head, "sha": head, "label": r.owner + ":" + is.pr.head, "repo": c.repoJSON(r)},
		"base":     map[string]any{"ref": is.pr.base, "sha": baseSHA, "label": r.owner + ":" + is.pr.base, "repo": c.repoJSON(r)},
		"comments": len(is.comments),
	}
	if is.pr.mergeSHA != "" {
		m["merge_commit_sha"] = is.pr.mergeSHA
	}
	if is.state == "open" {
		m["mergeable"] = mergeable
		m["mergeable_state"] = state
	} else {
		m["mergeable"] = nil
		m["mergeable_state"] = "unknown"
	}
	return m
}

// mergeability says whether an open pull request merges cleanly.
func (c *call) mergeability(r *repo, is *issue) (bool, string) {
	head := r.prHeadSHA(is)
	base := r.refs["refs/heads/"+is.pr.base]
	if head == "" || base == "" {
		return false, "dirty"
	}
	if _, conflicts := c.threeWay(r, base, head); len(conflicts) > 0 {
		return false, "dirty"
	}
	if p, ok := r.protection[is.pr.base]; ok && (p.LockBranch || p.RequiredApprovingReviews > 0) {
		return true, "blocked"
	}
	return true, "clean"
}

// threeWay merges head into base at file level.
func (c *call) threeWay(r *repo, base, head string) (files, []string) {
	mb := r.mergeBase(base, head)
	var mbFiles files
	if mb != "" {
		mbFiles = r.trees[r.commits[mb].tree]
	}
	return mergeFiles(mbFiles, r.trees[r.commits[base].tree], r.trees[r.commits[head].tree])
}

func (c *call) newCommit(r *repo, tree string, parents []string, author, message string) *commit {
	cm := &commit{tree: tree, parents: parents, author: author, email: emailOf(author), committer: "GitHub",
		message: message, date: c.s.now().UTC()}
	cm.sha = commitSHA(cm)
	r.commits[cm.sha] = cm
	return cm
}

// serveRepo routes /repos/{owner}/{repo}/...
func (s *Server) serveRepo(c *call) {
	r := s.repos[strings.ToLower(c.segs[1]+"/"+c.segs[2])]
	if r == nil {
		notFound(c.w)
		return
	}
	rest := c.segs[3:]
	m := c.r.Method
	if len(rest) == 0 {
		if m == http.MethodGet {
			writeJSON(c.w, http.StatusOK, c.repoJSON(r))
			return
		}
		notFound(c.w)
		return
	}
	arg := strings.Join(rest[1:], "/")
	switch {
	case rest[0] == "commits" && len(rest) == 1 && m == http.MethodGet:
		c.listCommits(r)
	case rest[0] == "commits" && len(rest) == 3 && (rest[2] == "status" || rest[2] == "check-runs") && m == http.MethodGet:
		cm := r.resolve(rest[1])
		if cm == nil {
			writeError(c.w, http.StatusUnprocessableEntity, "No commit found for SHA: "+rest[1])
			return
		}
		if rest[2] == "status" {
			c.combinedStatus(r, cm.sha)
		} else {
			c.checkRuns(r, cm.sha)
		}
	case rest[0] == "commits" && len(rest) > 1 && m == http.MethodGet:
		cm := r.resolve(arg)
		if cm == nil {
			writeError(c.w, http.StatusUnprocessableEntity, "No commit found for SHA: "+arg)
			return
		}
		writeJSON(c.w, http.StatusOK, c.commitJSON(r, cm, true))
	case rest[0] == "compare" && len(rest) > 1 && m == http.MethodGet:
		c.compare(r, arg)
	case rest[0] == "git" && len(rest) >= 2:
		c.gitData(r, rest[1], strings.Join(rest[2:], "/"))
	case rest[0] == "merges" && len(rest) == 1 && m == http.MethodPost:
		c.merge(r)
	case rest[0] == "branches" && len(rest) > 1 && m == http.MethodGet:
		if len(rest) > 3 && rest[len(rest)-2] == "protection" && rest[len(rest)-1] == "required_status_checks" {
			c.requiredStatusChecks(r, strings.Join(rest[1:len(rest)-2], "/"))
			return
		}
		if len(rest) > 2 && rest[len(rest)-1] == "protection" {
			c.protection(r, strings.Join(rest[1:len(rest)-1], "/"))
			return
		}
		c.branch(r, arg)
	case rest[0] == "contents" && m == http.MethodGet:
		c.contents(r, arg)
	case rest[0] == "pulls":
		c.pulls(r, rest[1:])
	case rest[0] == "issues":
		c.issues(r, rest[1:])
	default:
		notFound(c.w)
	}
}

func (c *call) listCommits(r *repo) {
	q := c.r.URL.Query()
	if len(r.refs) == 0 {
		writeError(c.w, http.StatusConflict, "Git Repository is empty.")
		return
	}
	head := r.resolve(q.Get("sha"))
	if head == nil {
		writeError(c.w, http.StatusNotFound, "No commit found for SHA: "+q.Get("sha"))
		return
	}
	var since, until time.Time
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				unprocessable(c.w, "Validation Failed", "Commit", p.name, "invalid")
				return
			}
			*p.dst = t
		}
	}
	path := strings.Trim(q.Get("path"), "/")
	var list []*commit
	for sha := range r.ancestors(head.sha) {
		cm := r.commits[sha]
		if !since.IsZero() && cm.date.Before(since) || !until.IsZero() && cm.date.After(until) {
			continue
		}
		if path != "" && !c.touches(r, cm, path) {
			continue
		}
		list = append(list, cm)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].date.Equal(list[j].date) {
			return list[i].date.After(list[j].date)
		}
		return list[i].sha < list[j].sha
	})
	out := make([]map[string]any, len(list))
	for i, cm := range list {
		out[i] = c.commitJSON(r, cm, false)
	}
	paginate(c.w, c.r, out)
}

// touches reports whether cm changed path (a file, or a directory prefix)
// against its first parent.
func (c *call) touches(r *repo, cm *commit, path string) bool {
	before, after := r.parentFiles(cm), r.trees[cm.tree]
	match := func(p string) bool { return p == path || strings.HasPrefix(p, path+"/") }
	for p, b := range after {
		if match(p) && before[p] != b {
			return true
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok && match(p) {
			return true
		}
	}
	return false
}

func (c *call) compare(r *repo, basehead string) {
	b, h, ok := strings.Cut(basehead, "...")
	if !ok {
		notFound(c.w)
		return
	}
	bc, hc := r.resolve(b), r.resolve(h)
	if bc == nil || hc == nil {
		notFound(c.w)
		return
	}
	mb := r.mergeBase(bc.sha, hc.sha)
	if mb == "" {
		writeError(c.w, http.StatusNotFound, fmt.Sprintf("No common ancestor between %s and %s.", b, h))
		return
	}
	inBase, inHead := r.ancestors(bc.sha), r.ancestors(hc.sha)
	var ahead []*commit
	behind := 0
	for sha := range inHead {
		if !inBase[sha] {
			ahead = append(ahead, r.commits[sha])
		}
	}
	for sha := range inBase {
		if !inHead[sha] {
			behind++
		}
	}
	sort.Slice(ahead, func(i, j int) bool {
		if !ahead[i].date.Equal(ahead[j].date) {
			return ahead[i].date.Before(ahead[j].date)
		}
		return ahead[i].sha < ahead[j].sha
	})
	status := "identical"
	switch {
	case len(ahead) > 0 && behind > 0:
		status = "diverged"
	case len(ahead) > 0:
		status = "ahead"
	case behind > 0:
		status = "behind"
	}
	commits := make([]map[string]any, len(ahead))
	for i, cm := range ahead {
		commits[i] = c.commitJSON(r, cm, false)
	}
	ch := c.s.diffFiles(r.trees[r.commits[mb].tree], r.trees[hc.tree])
	writeJSON(c.w, http.StatusOK, map[string]any{
		"url":               c.repoURL(r) + "/compare/" + basehead,
		"html_url":          c.htmlBase() + r.fullName() + "/compare/" + basehead,
		"base_commit":       c.commitJSON(r, bc, false),
		"merge_base_commit": c.commitJSON(r, r.commits[mb], false),
		"status":            status, "ahead_by": len(ahead), "behind_by": behind, "total_commits": len(ahead),
		"commits": commits, "files": c.filesJSON(r, hc.sha, ch),
	})
}

// gitData serves /git/{kind}/{arg}.
func (c *call) gitData(r *repo, kind, arg string) {
	m := c.r.Method
	switch {
	case kind == "commits" && arg != "" && m == http.MethodGet:
		cm := r.commits[arg]
		if cm == nil {
			notFound(c.w)
			return
		}
		writeJSON(c.w, http.StatusOK, c.gitCommitJSON(r, cm))
	case kind == "commits" && arg == "" && m == http.MethodPost:
		c.createGitCommit(r)
	case kind == "trees" && arg != "" && m == http.MethodGet:
		f, ok := r.trees[arg]
		if !ok {
			if cm := r.resolve(arg); cm != nil {
				arg, f, ok = cm.tree, r.trees[cm.tree], true
			}
		}
		if !ok {
			notFound(c.w)
			return
		}
		writeJSON(c.w, http.StatusOK, c.treeJSON(r, arg, f, c.r.URL.Query().Get("recursive") != ""))
	case kind == "trees" && arg == "" && m == http.MethodPost:
		c.createTree(r)
	case kind == "blobs" && arg != "" && m == http.MethodGet:
		content, ok := c.s.blobs[arg]
		if !ok {
			notFound(c.w)
			return
		}
		writeJSON(c.w, http.StatusOK, map[string]any{
			"sha": arg, "node_id": "B_" + arg[:8], "size": len(content), "url": c.repoURL(r) + "/git/blobs/" + arg,
			"content": base64.StdEncoding.EncodeToString([]byte(content)), "encoding": "base64",
		})
	case kind == "blobs" && arg == "" && m == http.MethodPost:
		var in struct{ Content, Encoding string }
		if !c.decode(&in) {
			return
		}
		content := in.Content
		if in.Encoding == "base64" {
			b, err := base64.StdEncoding.DecodeString(in.Content)
			if err != nil {
				unprocessable(c.w, "Validation Failed", "Blob", "content", "invalid")
				return
			}
			content = string(b)
		}
		sha := c.s.putBlob(content)
		writeJSON(c.w, http.StatusCreated, map[string]any{"sha": sha, "url": c.repoURL(r) + "/git/blobs/" + sha})
	case (kind == "ref" || kind == "refs") && arg != "" && m == http.MethodGet:
		sha, ok := r.refs["refs/"+arg]
		if !ok {
			notFound(c.w)
			return
		}
		writeJSON(c.w, http.StatusOK, c.refJSON(r, "refs/"+arg, sha))
	case kind == "matching-refs" && m == http.MethodGet:
		prefix := "refs/" + arg
		var names []string
		for ref := range r.refs {
			if strings.HasPrefix(ref, prefix) {
				names = append(names, ref)
			}
		}
		sort.Strings(names)
		out := make([]map[string]any, 0, len(names))
		for _, n := range names {
			out = append(out, c.refJSON(r, n, r.refs[n]))
		}
		paginate(c.w, c.r, out)
	case kind == "refs" && arg == "" && m == http.MethodPost:
		c.createRef(r)
	case kind == "refs" && arg != "" && m == http.MethodPatch:
		c.updateRef(r, "refs/"+arg)
	case kind == "refs" && arg != "" && m == http.MethodDelete:
		ref := "refs/" + arg
		if _, ok := r.refs[ref]; !ok {
			unprocessable(c.w, "Reference does not exist", "Reference", "ref", "custom")
			return
		}
		if msg := r.protectedRef(ref); msg != "" {
			unprocessable(c.w, msg, "Reference", "ref", "custom")
			return
		}
		delete(r.refs, ref)
		c.w.WriteHeader(http.StatusNoContent)
	default:
		notFound(c.w)
	}
}

// protectedRef says why a branch may not be written, "" when it may.
func (r *repo) protectedRef(ref string) string {
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return ""
	}
	if p, ok := r.protection[b]; ok && (p.LockBranch || p.RequiredApprovingReviews > 0) {
		return "Protected branch update failed for " + ref + "."
	}
	return ""
}

func (c *call) treeJSON(r *repo, sha string, f files, recursive bool) map[string]any {
	type entry = map[string]any
	var entries []entry
	dirs := map[string]bool{}
	paths := make([]string, 0, len(f))
	for p := range f {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		parts := strings.Split(p, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			if dirs[d] || (!recursive && i > 1) {
				continue
			}
			dirs[d] = true
			sub := files{}
			for q, b := range f {
				if rel, ok := strings.CutPrefix(q, d+"/"); ok {
					sub[rel] = b
				}
			}
			ssha := r.putTree(sub)
			entries = append(entries, entry{"path": d, "mode": "040000", "type": "tree", "sha": ssha, "url": c.repoURL(r) + "/git/trees/" + ssha})
		}
		if !recursive && len(parts) > 1 {
			continue
		}
		entries = append(entries, entry{"path": p, "mode": "100644", "type": "blob", "sha": f[p], "size": len(c.s.blobs[f[p]]),
			"url": c.repoURL(r) + "/git/blobs/" + f[p]})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i]["path"].(string) < entries[j]["path"].(string) })
	if entries == nil {
		entries = []entry{}
	}
	return map[string]any{"sha": sha, "url": c.repoURL(r) + "/git/trees/" + sha, "tree": entries, "truncated": false}
}

func (c *call) createTree(r *repo) {
	var in struct {
		BaseTree string                       `json:"base_tree"`
		Tree     []map[string]json.RawMessage `json:"tree"`
	}
	if !c.decode(&in) {
		return
	}
	out := files{}
	if in.BaseTree != "" {
		base, ok := r.trees[in.BaseTree]
		if !ok {
			unprocessable(c.w, "base_tree is not a valid tree oid", "Tree", "base_tree", "custom")
			return
		}
		for p, b := range base {
			out[p] = b
		}
	}
	str := func(e map[string]json.RawMessage, k string) (string, bool) {
		raw, ok := e[k]
		if !ok || string(raw) == "null" {
			return "", false
		}
		var s string
		_ = json.Unmarshal(raw, &s)
		return s, true
	}
	for _, e := range in.Tree {
		path, _ := str(e, "path")
		path = strings.Trim(path, "/")
		typ, _ := str(e, "type")
		sha, hasSHA := str(e, "sha")
		content, hasContent := str(e, "content")
		if path == "" {
			unprocessable(c.w, "Must supply a valid tree.path", "Tree", "path", "custom")
			return
		}
		switch {
		case typ == "tree":
			for p := range out {
				if strings.HasPrefix(p, path+"/") {
					delete(out, p)
				}
			}
			if hasSHA {
				sub, ok := r.trees[sha]
				if !ok {
					unprocessable(c.w, "tree.sha "+sha+" is not a valid tree", "Tree", "sha", "custom")
					return
				}
				for p, b := range sub {
					out[path+"/"+p] = b
				}
			}
		case hasContent:
			out[path] = c.s.putBlob(content)
		case hasSHA:
			if _, ok := c.s.blobs[sha]; !ok {
				unprocessable(c.w, "tree.sha "+sha+" is not a valid blob", "Tree", "sha", "custom")
				return
			}
			out[path] = sha
		default:
			delete(out, path)
		}
	}
	sha := r.putTree(out)
	writeJSON(c.w, http.StatusCreated, c.treeJSON(r, sha, out, true))
}

func (c *call) createGitCommit(r *repo) {
	var in struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
		Author  *struct {
			Name  string     `json:"name"`
			Email string     `json:"email"`
			Date  *time.Time `json:"date"`
		} `json:"author"`
	}
	if !c.decode(&in) {
		return
	}
	if _, ok := r.trees[in.Tree]; !ok {
		unprocessable(c.w, "Tree SHA does not exist", "Commit", "tree", "custom")
		return
	}
	for _, p := range in.Parents {
		if r.commits[p] == nil {
			unprocessable(c.w, "Parent SHA does not exist or is not a commit object", "Commit", "parents", "custom")
			return
		}
	}
	author := "datasev"
	cm := &commit{tree: in.Tree, parents: in.Parents, message: in.Message, committer: "GitHub", date: c.s.now().UTC()}
	if in.Author != nil {
		if in.Author.Name != "" {
			author = in.Author.Name
		}
		if in.Author.Date != nil {
			cm.date = in.Author.Date.UTC()
		}
	}
	cm.author, cm.email = author, emailOf(author)
	if in.Author != nil && in.Author.Email != "" {
		cm.email = in.Author.Email
	}
	cm.sha = commitSHA(cm)
	r.commits[cm.sha] = cm
	writeJSON(c.w, http.StatusCreated, c.gitCommitJSON(r, cm))
}

func (c *call) createRef(r *repo) {
	var in struct{ Ref, SHA string }
	if !c.decode(&in) {
		return
	}
	if !strings.HasPrefix(in.Ref, "refs/") || strings.Count(in.Ref, "/") < 2 {
		unprocessable(c.w, "Reference name must start with 'refs/' and have at least two slashes.", "Reference", "ref", "custom")
		return
	}
	if _, ok := r.refs[in.Ref]; ok {
		unprocessable(c.w, "Reference already exists", "Reference", "ref", "custom")
		return
	}
	if r.commits[in.SHA] == nil {
		unprocessable(c.w, "Object does not exist", "Reference", "sha", "custom")
		return
	}
	r.refs[in.Ref] = in.SHA
	writeJSON(c.w, http.StatusCreated, c.refJSON(r, in.Ref, in.SHA))
}

func (c *call) updateRef(r *repo, ref string) {
	var in struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if !c.decode(&in) {
		return
	}
	old, ok := r.refs[ref]
	if !ok {
		unprocessable(c.w, "Reference does not exist", "Reference", "ref", "custom")
		return
	}
	if r.commits[in.SHA] == nil {
		unprocessable(c.w, "Object does not exist", "Reference", "sha", "custom")
		return
	}
	if msg := r.protectedRef(ref); msg != "" {
		unprocessable(c.w, msg, "Reference", "ref", "custom")
		return
	}
	if !in.Force && !r.isAncestor(old, in.SHA) {
		unprocessable(c.w, "Update is not a fast forward", "Reference", "sha", "custom")
		return
	}
	r.refs[ref] = in.SHA
	writeJSON(c.w, http.StatusOK, c.refJSON(r, ref, in.SHA))
}

// merge serves POST /merges: a merge commit of head into the branch base.
func (c *call) merge(r *repo) {
	var in struct {
		Base          string `json:"base"`
		Head          string `json:"head"`
		CommitMessage string `json:"commit_message"`
	}
	if !c.decode(&in) {
		return
	}
	baseSHA, ok := r.refs["refs/heads/"+in.Base]
	if !ok {
		writeError(c.w, http.StatusNotFound, "Base does not exist")
		return
	}
	head := r.resolve(in.Head)
	if head == nil {
		writeError(c.w, http.StatusNotFound, "Head does not exist")
		return
	}
	if msg := r.protectedRef("refs/heads/" + in.Base); msg != "" {
		writeError(c.w, http.StatusConflict, msg)
		return
	}
	if r.isAncestor(head.sha, baseSHA) {
		c.w.WriteHeader(http.StatusNoContent)
		return
	}
	merged, conflicts := c.threeWay(r, baseSHA, head.sha)
	if len(conflicts) > 0 {
		writeError(c.w, http.StatusConflict, "Merge conflict")
		return
	}
	msg := in.CommitMessage
	if msg == "" {
		msg = fmt.Sprintf("Merge %s into %s", in.Head, in.Base)
	}
	cm := c.newCommit(r, r.putTree(merged), []string{baseSHA, head.sha}, "GitHub", msg)
	r.refs["refs/heads/"+in.Base] = cm.sha
	writeJSON(c.w, http.StatusCreated, c.commitJSON(r, cm, true))
}

func (c *call) branch(r *repo, name string) {
	sha, ok := r.refs["refs/heads/"+name]
	if !ok {
		writeError(c.w, http.StatusNotFound, "Branch not found")
		return
	}
	p, protected := r.protection[name]
	out := map[string]any{
		"name": name, "commit": c.commitJSON(r, r.commits[sha], false), "protected": protected,
		"protection_url": c.repoURL(r) + "/branches/" + name + "/protection",
	}
	if protected && len(p.RequiredChecks) > 0 {
		out["protection"] = map[string]any{"enabled": true, "required_status_checks": requiredChecksJSON(p)}
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (c *call) protection(r *repo, name string) {
	if _, ok := r.refs["refs/heads/"+name]; !ok {
		writeError(c.w, http.StatusNotFound, "Branch not found")
		return
	}
	p, ok := r.protection[name]
	if !ok {
		writeError(c.w, http.StatusNotFound, "Branch not protected")
		return
	}
	u := c.repoURL(r) + "/branches/" + name + "/protection"
	out := map[string]any{
		"url":                     u,
		"enforce_admins":          map[string]any{"url": u + "/enforce_admins", "enabled": p.EnforceAdmins},
		"lock_branch":             map[string]any{"enabled": p.LockBranch},
		"allow_force_pushes":      map[string]any{"enabled": false},
		"allow_deletions":         map[string]any{"enabled": false},
		"required_linear_history": map[string]any{"enabled": false},
	}
	if len(p.RequiredChecks) > 0 {
		out["required_status_checks"] = requiredChecksJSON(p)
	}
	if p.RequiredApprovingReviews > 0 {
		out["required_pull_request_reviews"] = map[string]any{
			"url": u + "/required_pull_request_reviews", "required_approving_review_count": p.RequiredApprovingReviews,
		}
	}
	writeJSON(c.w, http.StatusOK, out)
}

// contents serves GET /contents/{path}?ref=: a file as JSON with base64
// content (raw with Accept: application/vnd.github.raw), a directory as
// an array of entries.
func (c *call) contents(r *repo, path string) {
	ref := c.r.URL.Query().Get("ref")
	cm := r.resolve(ref)
	if cm == nil {
		if len(r.refs) == 0 {
			writeError(c.w, http.StatusNotFound, "This repository is empty.")
			return
		}
		writeError(c.w, http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	path = strings.Trim(path, "/")
	f := r.trees[cm.tree]
	if b, ok := f[path]; ok && path != "" {
		content := c.s.blobs[b]
		if strings.Contains(c.r.Header.Get("Accept"), "raw") {
			c.w.Header().Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
			c.w.Header().Set("ETag", `"`+b+`"`)
			c.w.WriteHeader(http.StatusOK)
			_, _ = c.w.Write([]byte(content))
			return
		}
		writeJSON(c.w, http.StatusOK, c.fileEntry(r, cm, path, b, true))
		return
	}
	prefix := path + "/"
	if path == "" {
		prefix = ""
	}
	seen := map[string]bool{}
	var out []map[string]any
	for p, b := range f {
		rel, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		name, _, isDir := strings.Cut(rel, "/")
		full := prefix + name
		if seen[full] {
			continue
		}
		seen[full] = true
		if !isDir {
			out = append(out, c.fileEntry(r, cm, full, b, false))
			continue
		}
		sub := files{}
		for q, bb := range f {
			if rr, ok := strings.CutPrefix(q, full+"/"); ok {
				sub[rr] = bb
			}
		}
		ssha := r.putTree(sub)
		out = append(out, map[string]any{
			"type": "dir", "name": name, "path": full, "sha": ssha, "size": 0,
			"url":      c.repoURL(r) + "/contents/" + full + "?ref=" + cm.sha,
			"git_url":  c.repoURL(r) + "/git/trees/" + ssha,
			"html_url": c.htmlBase() + r.fullName() + "/tree/" + cm.sha + "/" + full, "download_url": nil,
		})
	}
	if len(out) == 0 {
		notFound(c.w)
		return
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["path"].(string) < out[j]["path"].(string) })
	writeJSON(c.w, http.StatusOK, out)
}

func (c *call) fileEntry(r *repo, cm *commit, path, blob string, withContent bool) map[string]any {
	content := c.s.blobs[blob]
	name := path[strings.LastIndex(path, "/")+1:]
	m := map[string]any{
		"type": "file", "name": name, "path": path, "sha": blob, "size": len(content),
		"url":          c.repoURL(r) + "/contents/" + path + "?ref=" + cm.sha,
		"git_url":      c.repoURL(r) + "/git/blobs/" + blob,
		"html_url":     c.htmlBase() + r.fullName() + "/blob/" + cm.sha + "/" + path,
		"download_url": c.htmlBase() + "raw/" + r.fullName() + "/" + cm.sha + "/" + path + "?token=" + c.s.rawToken,
	}
	if withContent {
		m["encoding"] = "base64"
		m["content"] = wrap60(base64.StdEncoding.EncodeToString([]byte(content)))
	}
	return m
}

// wrap60 breaks base64 into lines of 60 characters, as GitHub does.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

// serveRaw serves download_url: /raw/{owner}/{repo}/{sha}/{path}, with the
// token query the contents API put there or the API token.
func (s *Server) serveRaw(c *call) {
	if c.r.URL.Query().Get("token") != s.rawToken && !s.authorized(c.r) {
		notFound(c.w)
		return
	}
	if len(c.segs) < 5 {
		notFound(c.w)
		return
	}
	r := s.repos[strings.ToLower(c.segs[1]+"/"+c.segs[2])]
	if r == nil {
		notFound(c.w)
		return
	}
	cm := r.resolve(c.segs[3])
	if cm == nil {
		notFound(c.w)
		return
	}
	b, ok := r.trees[cm.tree][strings.Join(c.segs[4:], "/")]
	if !ok {
		notFound(c.w)
		return
	}
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(s.blobs[b]))
}
