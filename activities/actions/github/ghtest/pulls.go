package ghtest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// pulls serves /pulls, /pulls/{n} and /pulls/{n}/merge.
func (c *call) pulls(r *repo, rest []string) {
	m := c.r.Method
	if len(rest) == 0 {
		switch m {
		case http.MethodGet:
			c.listPulls(r)
		case http.MethodPost:
			c.createPull(r)
		default:
			notFound(c.w)
		}
		return
	}
	n, err := strconv.Atoi(rest[0])
	is := r.issues[n]
	if err != nil || is == nil || is.pr == nil {
		notFound(c.w)
		return
	}
	switch {
	case len(rest) == 1 && m == http.MethodGet:
		writeJSON(c.w, http.StatusOK, c.pullJSON(r, is))
	case len(rest) == 1 && m == http.MethodPatch:
		var in struct {
			Title, Body *string
			State       *string
		}
		if !c.decode(&in) {
			return
		}
		if in.Title != nil {
			is.title = *in.Title
		}
		if in.Body != nil {
			is.body = *in.Body
		}
		if in.State != nil && !is.pr.merged {
			r.prHeadSHA(is)
			is.state = *in.State
			if is.state == "closed" {
				is.closed = c.s.now().UTC()
			}
		}
		writeJSON(c.w, http.StatusOK, c.pullJSON(r, is))
	case len(rest) == 2 && rest[1] == "merge" && m == http.MethodGet:
		if is.pr.merged {
			c.w.WriteHeader(http.StatusNoContent)
			return
		}
		notFound(c.w)
	case len(rest) == 2 && rest[1] == "merge" && m == http.MethodPut:
		c.mergePull(r, is)
	default:
		notFound(c.w)
	}
}

func (c *call) listPulls(r *repo) {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head")
	if owner, b, ok := strings.Cut(head, ":"); ok {
		if !strings.EqualFold(owner, r.owner) {
			paginate(c.w, c.r, []map[string]any{})
			return
		}
		head = b
	}
	var out []map[string]any
	ns := r.numbers()
	for i := len(ns) - 1; i >= 0; i-- {
		is := r.issues[ns[i]]
		if is.pr == nil || (state != "all" && is.state != state) ||
			(head != "" && is.pr.head != head) || (q.Get("base") != "" && is.pr.base != q.Get("base")) {
			continue
		}
		out = append(out, c.pullJSON(r, is))
	}
	paginate(c.w, c.r, out)
}

func (c *call) createPull(r *repo) {
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
	}
	if !c.decode(&in) {
		return
	}
	head := in.Head
	if owner, b, ok := strings.Cut(head, ":"); ok {
		if !strings.EqualFold(owner, r.owner) {
			unprocessable(c.w, "Validation Failed", "PullRequest", "head", "invalid")
			return
		}
		head = b
	}
	if in.Title == "" {
		unprocessable(c.w, "Validation Failed", "PullRequest", "title", "missing_field")
		return
	}
	baseSHA, ok := r.refs["refs/heads/"+in.Base]
	if !ok {
		unprocessable(c.w, "Validation Failed", "PullRequest", "base", "invalid")
		return
	}
	headSHA, ok := r.refs["refs/heads/"+head]
	if !ok {
		unprocessable(c.w, "Validation Failed", "PullRequest", "head", "invalid")
		return
	}
	for _, is := range r.issues {
		if is.pr != nil && is.state == "open" && is.pr.head == head && is.pr.base == in.Base {
			unprocessable(c.w, fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, head), "PullRequest", "", "custom")
			return
		}
	}
	if r.isAncestor(headSHA, baseSHA) {
		unprocessable(c.w, "No commits between "+in.Base+" and "+head, "PullRequest", "", "custom")
		return
	}
	is := &issue{number: r.nextNumber, title: in.Title, body: in.Body, state: "open", user: "datasev",
		created: c.s.now().UTC(), pr: &pullReq{head: head, base: in.Base, headSHA: headSHA}}
	r.nextNumber++
	r.issues[is.number] = is
	writeJSON(c.w, http.StatusCreated, c.pullJSON(r, is))
}

// mergePull serves PUT /pulls/{n}/merge and moves the base branch.
func (c *call) mergePull(r *repo, is *issue) {
	var in struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if !c.decode(&in) {
		return
	}
	if in.MergeMethod == "" {
		in.MergeMethod = "merge"
	}
	if in.MergeMethod != "merge" && in.MergeMethod != "squash" && in.MergeMethod != "rebase" {
		unprocessable(c.w, "Validation Failed", "PullRequest", "merge_method", "invalid")
		return
	}
	if is.state != "open" {
		writeError(c.w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	head := r.prHeadSHA(is)
	if in.SHA != "" && in.SHA != head {
		writeError(c.w, http.StatusConflict, "Head branch was modified. Review and try the merge again.")
		return
	}
	if p, ok := r.protection[is.pr.base]; ok {
		switch {
		case p.LockBranch:
			writeError(c.w, http.StatusMethodNotAllowed, "Base branch is locked")
			return
		case p.RequiredApprovingReviews > 0:
			writeError(c.w, http.StatusMethodNotAllowed, fmt.Sprintf(
				"At least %d approving review is required by reviewers with write access.", p.RequiredApprovingReviews))
			return
		}
		if msg := c.s.requiredBlocking(r, is.pr.base, head); msg != "" {
			writeError(c.w, http.StatusMethodNotAllowed, msg)
			return
		}
	}
	baseRef := "refs/heads/" + is.pr.base
	base := r.refs[baseRef]
	merged, conflicts := c.threeWay(r, base, head)
	if len(conflicts) > 0 {
		writeError(c.w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	title := in.CommitTitle
	var cm *commit
	switch in.MergeMethod {
	case "merge":
		if title == "" {
			title = fmt.Sprintf("Merge pull request #%d from %s/%s", is.number, r.owner, is.pr.head)
		}
		cm = c.newCommit(r, r.putTree(merged), []string{base, head}, "datasev", joinMsg(title, orDefault(in.CommitMessage, is.title)))
	case "squash":
		if title == "" {
			title = fmt.Sprintf("%s (#%d)", is.title, is.number)
		}
		cm = c.newCommit(r, r.putTree(merged), []string{base}, "datasev", joinMsg(title, in.CommitMessage))
	case "rebase":
		var replay []*commit
		inBase := r.ancestors(base)
		for sha := range r.ancestors(head) {
			if !inBase[sha] {
				replay = append(replay, r.commits[sha])
			}
		}
		sort.Slice(replay, func(i, j int) bool { return r.isAncestor(replay[i].sha, replay[j].sha) })
		tip := base
		for _, rc := range replay {
			if len(rc.parents) != 1 {
				writeError(c.w, http.StatusMethodNotAllowed, "This branch can't be rebased")
				return
			}
			next, conflicts := mergeFiles(r.trees[r.commits[rc.parents[0]].tree], r.trees[r.commits[tip].tree], r.trees[rc.tree])
			if len(conflicts) > 0 {
				writeError(c.w, http.StatusMethodNotAllowed, "This branch can't be rebased")
				return
			}
			cm = c.newCommit(r, r.putTree(next), []string{tip}, rc.author, rc.message)
			tip = cm.sha
		}
	}
	r.refs[baseRef] = cm.sha
	is.pr.merged, is.pr.mergeSHA, is.pr.mergedAt = true, cm.sha, c.s.now().UTC()
	is.state, is.closed = "closed", is.pr.mergedAt
	writeJSON(c.w, http.StatusOK, map[string]any{"sha": cm.sha, "merged": true, "message": "Pull Request successfully merged"})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func joinMsg(title, body string) string {
	if body == "" {
		return title
	}
	return title + "\n\n" + body
}

// issues serves /issues, /issues/{n} and /issues/{n}/comments.
func (c *call) issues(r *repo, rest []string) {
	m := c.r.Method
	if len(rest) == 0 {
		switch m {
		case http.MethodGet:
			c.listIssues(r)
		case http.MethodPost:
			var in struct {
				Title  string   `json:"title"`
				Body   string   `json:"body"`
				Labels []string `json:"labels"`
			}
			if !c.decode(&in) {
				return
			}
			if in.Title == "" {
				unprocessable(c.w, "Validation Failed", "Issue", "title", "missing_field")
				return
			}
			if bodyTooLong(c.w, in.Body) {
				return
			}
			is := &issue{number: r.nextNumber, title: in.Title, body: in.Body, labels: in.Labels, state: "open",
				user: "datasev", created: c.s.now().UTC()}
			r.nextNumber++
			r.issues[is.number] = is
			writeJSON(c.w, http.StatusCreated, c.issueJSON(r, is))
		default:
			notFound(c.w)
		}
		return
	}
	n, err := strconv.Atoi(rest[0])
	is := r.issues[n]
	if err != nil || is == nil {
		notFound(c.w)
		return
	}
	switch {
	case len(rest) == 1 && m == http.MethodGet:
		writeJSON(c.w, http.StatusOK, c.issueJSON(r, is))
	case len(rest) == 1 && m == http.MethodPatch:
		c.editIssue(r, is)
	case len(rest) == 2 && rest[1] == "comments" && m == http.MethodGet:
		out := make([]map[string]any, len(is.comments))
		for i, cm := range is.comments {
			out[i] = c.commentJSON(r, is, cm)
		}
		paginate(c.w, c.r, out)
	case len(rest) == 2 && rest[1] == "comments" && m == http.MethodPost:
		var in struct {
			Body string `json:"body"`
		}
		if !c.decode(&in) {
			return
		}
		if in.Body == "" {
			unprocessable(c.w, "Validation Failed", "IssueComment", "body", "missing_field")
			return
		}
		c.s.nextID++
		cm := &comment{id: c.s.nextID, body: in.Body, user: "datasev", created: c.s.now().UTC()}
		is.comments = append(is.comments, cm)
		writeJSON(c.w, http.StatusCreated, c.commentJSON(r, is, cm))
	default:
		notFound(c.w)
	}
}

func (c *call) commentJSON(r *repo, is *issue, cm *comment) map[string]any {
	return map[string]any{
		"id": cm.id, "body": cm.body, "user": c.user(cm.user), "created_at": ts(cm.created), "updated_at": ts(cm.created),
		"url":       c.repoURL(r) + "/issues/comments/" + strconv.FormatInt(cm.id, 10),
		"html_url":  fmt.Sprintf("%s%s/issues/%d#issuecomment-%d", c.htmlBase(), r.fullName(), is.number, cm.id),
		"issue_url": c.repoURL(r) + "/issues/" + strconv.Itoa(is.number),
	}
}

func (c *call) listIssues(r *repo) {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		for _, x := range strings.Split(l, ",") {
			want = append(want, strings.TrimSpace(x))
		}
	}
	var out []map[string]any
	ns := r.numbers()
	for i := len(ns) - 1; i >= 0; i-- {
		is := r.issues[ns[i]]
		if state != "all" && is.state != state {
			continue
		}
		ok := true
		for _, w := range want {
			found := false
			for _, l := range is.labels {
				if strings.EqualFold(l, w) {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			out = append(out, c.issueJSON(r, is))
		}
	}
	paginate(c.w, c.r, out)
}
