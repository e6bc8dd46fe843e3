package ghact

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/runbooks"
)

// RevertCommitName is github.revert_commit's action name.
const RevertCommitName = "github.revert_commit"

// RevertCommitSpec is github.revert_commit's spec.
func RevertCommitSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: RevertCommitName,
		Description: "Revert a commit through a pull request, with the REST API only (no local git): a branch " +
			"datasev/revert-<incident>-<sha7> from the base branch's head carries one commit undoing the change, and a " +
			"pull request asks to merge it into base. It refuses (non-retryable RevertRefused: a human must revert) a " +
			"merge commit without parent, a commit not on base, a commit whose files changed on base since, a locked " +
			"base branch, and a merge conflict. Idempotent: an existing pull request from that branch is returned. " +
			"The dry run shows the files and the diff it would revert, or why it would refuse.",
		Outputs: []string{"ok", "pr_number", "pr_url", "pr_state", "branch", "revert_sha", "files", "already_open", "refused"},
		DryRun:  true,
		Changes: true,
	}
}

// RevertCommitInput is github.revert_commit's inputs.
type RevertCommitInput struct {
	Repo   string `json:"repo" datasev:"required" desc:"repository as owner/name"`
	SHA    string `json:"sha" datasev:"required" desc:"the commit to revert (full or at least 7 hex digits)"`
	Base   string `json:"base" desc:"branch the commit is on and the pull request targets (default: the repository's default branch)"`
	Parent int    `json:"parent" desc:"for a merge commit, the 1-based parent whose side is kept (1 for the mainline)"`
	Title  string `json:"title" desc:"pull request title (default: Revert \"<subject>\")"`
	Body   string `json:"body" desc:"extra text for the pull request body"`
}

var hexSHA = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

// revertPlan is what a revert would do, before any write.
type revertPlan struct {
	owner, repo, full string
	base              string
	c                 *github.RepositoryCommit
	parent            string // SHA of the kept parent
	files             []*github.CommitFile
	branch            string
	refused           string
}

// RevertCommit reverts a commit through a pull request.
func (a *Actions) RevertCommit(ctx context.Context, req runbooks.ActionRequest, in RevertCommitInput) (runbooks.ActionResult, error) {
	const name = RevertCommitName
	owner, repo, err := a.repo(name, in.Repo, true)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	sha := strings.ToLower(strings.TrimSpace(in.SHA))
	if !hexSHA.MatchString(sha) {
		return runbooks.ActionResult{}, badRequest(name, "sha %q: want a commit SHA (7 to 40 hex digits)", in.SHA)
	}
	if in.Parent < 0 {
		return runbooks.ActionResult{}, badRequest(name, "parent %d: want 1 or more", in.Parent)
	}
	p := &revertPlan{owner: owner, repo: repo, full: owner + "/" + repo, base: strings.TrimSpace(in.Base)}
	def := ""
	if p.base == "" {
		if p.base, err = a.defaultBranch(ctx, name, owner, repo); err != nil {
			return runbooks.ActionResult{}, err
		}
		def = p.base
	}
	if err := a.base(ctx, name, owner, repo, p.base, def); err != nil {
		return runbooks.ActionResult{}, err
	}
	c, _, err := a.c.Repositories.GetCommit(ctx, owner, repo, sha, nil)
	if err != nil {
		return runbooks.ActionResult{}, Classify(name, fmt.Sprintf("get commit %s of %s", sha, p.full), err)
	}
	p.c = c
	p.branch = "datasev/revert-" + slug(req.Incident) + "-" + short(c.GetSHA())

	// Idempotency first: a pull request from the branch (open or closed)
	// means this revert was already proposed.
	if pr, err := a.findPR(ctx, name, p); err != nil {
		return runbooks.ActionResult{}, err
	} else if pr != nil {
		return a.existing(name, p, pr, req.DryRun), nil
	}
	if err := a.plan(ctx, name, in, p); err != nil {
		return runbooks.ActionResult{}, err
	}
	if req.DryRun {
		return a.dryRun(name, p), nil
	}
	if p.refused != "" {
		return runbooks.ActionResult{}, refuse(name, p)
	}
	return a.revert(ctx, name, req, in, p)
}

func refuse(name string, p *revertPlan) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"%s: will not revert %s on %s of %s automatically: %s; a human must revert it",
		name, short(p.c.GetSHA()), p.base, p.full, p.refused), RevertRefusedType, nil)
}

// findPR returns a pull request (any state) from p.branch into p.base.
func (a *Actions) findPR(ctx context.Context, name string, p *revertPlan) (*github.PullRequest, error) {
	prs, _, err := a.c.PullRequests.List(ctx, p.owner, p.repo, &github.PullRequestListOptions{
		State: "all", Head: p.owner + ":" + p.branch, Base: p.base, ListOptions: github.ListOptions{PerPage: 10}})
	if err != nil {
		return nil, Classify(name, "list pull requests of "+p.full+" from "+p.branch, err)
	}
	for _, pr := range prs {
		if pr.GetHead().GetRef() == p.branch {
			return pr, nil
		}
	}
	return nil, nil
}

func (a *Actions) existing(name string, p *revertPlan, pr *github.PullRequest, dry bool) runbooks.ActionResult {
	state := pr.GetState()
	if pr.GetMerged() {
		state = "merged"
	}
	out := map[string]any{
		"ok": true, "pr_number": pr.GetNumber(), "pr_url": pr.GetHTMLURL(), "pr_state": state, "branch": p.branch,
		"revert_sha": pr.GetHead().GetSHA(), "files": fileNames(p.c.Files), "already_open": true, "refused": "",
	}
	verb := "already proposed"
	if dry {
		verb = "would find it already proposed"
	}
	return runbooks.ActionResult{
		Output: out,
		Summary: fmt.Sprintf("%s %s: revert of %s %s in pull request #%d (%s)", name, p.full, short(p.c.GetSHA()), verb,
			pr.GetNumber(), state),
		Detail: fmt.Sprintf("The revert of `%s` (%s) is pull request [#%d](%s), %s, from `%s` into `%s`.\n",
			short(p.c.GetSHA()), cell(subject(p.c.GetCommit().GetMessage())), pr.GetNumber(), pr.GetHTMLURL(), state, p.branch, p.base),
	}
}

// plan picks the parent, lists the files the revert touches and checks the
// refusals, without writing.
func (a *Actions) plan(ctx context.Context, name string, in RevertCommitInput, p *revertPlan) error {
	parents := p.c.Parents
	switch {
	case len(parents) == 0:
		p.refused = "it is a root commit (no parent to return to)"
		p.files = p.c.Files
		return nil
	case len(parents) > 1 && in.Parent == 0:
		p.refused = fmt.Sprintf("it is a merge commit with %d parents and no parent was given (set parent: 1 to keep the mainline)", len(parents))
		p.files = p.c.Files
		return nil
	case in.Parent > len(parents):
		return badRequest(name, "parent %d: commit %s has %d parent(s)", in.Parent, short(p.c.GetSHA()), len(parents))
	}
	idx := max(in.Parent, 1) - 1
	p.parent = parents[idx].GetSHA()
	p.files = p.c.Files
	if idx > 0 || len(parents) > 1 {
		// The commit's own files are against its first parent; the revert
		// undoes the change against the kept parent.
		cmp, _, err := a.c.Repositories.CompareCommits(ctx, p.owner, p.repo, p.parent, p.c.GetSHA(), nil)
		if err != nil {
			return Classify(name, fmt.Sprintf("compare %s...%s in %s", short(p.parent), short(p.c.GetSHA()), p.full), err)
		}
		p.files = cmp.Files
	}
	if len(p.files) == 0 {
		p.refused = "the commit changes no file against the chosen parent"
		return nil
	}
	prot, _, err := a.c.Repositories.GetBranchProtection(ctx, p.owner, p.repo, p.base)
	switch {
	case errors.Is(err, github.ErrBranchNotProtected):
	case err != nil && (statusOf(err) == 403 || statusOf(err) == 404):
		// Reading protection needs admin rights; without them the pull
		// request still goes through review, so carry on.
		a.logger.InfoContext(ctx, "github: cannot read branch protection", "repo", p.full, "branch", p.base, "error", err)
	case err != nil:
		return Classify(name, "get protection of branch "+p.base+" of "+p.full, err)
	case prot.GetLockBranch().GetEnabled():
		p.refused = "branch " + p.base + " is locked (branch protection lock_branch)"
		return nil
	}
	cmp, _, err := a.c.Repositories.CompareCommits(ctx, p.owner, p.repo, p.c.GetSHA(), p.base, nil)
	if err != nil {
		return Classify(name, fmt.Sprintf("compare %s...%s in %s", short(p.c.GetSHA()), p.base, p.full), err)
	}
	if st := cmp.GetStatus(); st != "ahead" && st != "identical" {
		p.refused = fmt.Sprintf("commit %s is not on branch %s (compare status %s)", short(p.c.GetSHA()), p.base, st)
		return nil
	}
	touched := map[string]bool{}
	for _, f := range p.files {
		touched[f.GetFilename()] = true
		if f.GetPreviousFilename() != "" {
			touched[f.GetPreviousFilename()] = true
		}
	}
	var later []string
	for _, f := range cmp.Files {
		if touched[f.GetFilename()] {
			later = append(later, f.GetFilename())
		}
	}
	if len(later) > 0 {
		p.refused = fmt.Sprintf("%s changed on %s after %s (%d later commit(s))", strings.Join(later, ", "), p.base,
			short(p.c.GetSHA()), cmp.GetAheadBy())
	}
	return nil
}

func (a *Actions) dryRun(name string, p *revertPlan) runbooks.ActionResult {
	out := map[string]any{
		"ok": p.refused == "", "pr_number": 0, "pr_url": "", "pr_state": "", "branch": p.branch, "revert_sha": "",
		"files": fileNames(p.files), "already_open": false, "refused": p.refused,
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Revert `%s` %s (by %s) on `%s` of `%s` through a pull request from `%s`.\n\n",
		short(p.c.GetSHA()), cell(subject(p.c.GetCommit().GetMessage())), authorOf(p.c), p.base, p.full, p.branch)
	if p.refused != "" {
		fmt.Fprintf(&b, "**Would refuse**: %s; a human must revert it.\n\n", p.refused)
	}
	b.WriteString("Changes it would undo:\n\n")
	for _, f := range p.files {
		fmt.Fprintf(&b, "`%s` (%s, +%d/-%d)\n\n", f.GetFilename(), f.GetStatus(), f.GetAdditions(), f.GetDeletions())
		if f.GetPatch() != "" {
			b.WriteString("```diff\n" + f.GetPatch() + "\n```\n\n")
		}
	}
	sum := fmt.Sprintf("%s %s: would revert %s %q (%d file(s)) on %s through a pull request",
		name, p.full, short(p.c.GetSHA()), subject(p.c.GetCommit().GetMessage()), len(p.files), p.base)
	if p.refused != "" {
		sum = fmt.Sprintf("%s %s: would refuse to revert %s: %s", name, p.full, short(p.c.GetSHA()), p.refused)
	}
	return runbooks.ActionResult{Output: out, Summary: sum, Detail: b.String()}
}

// revert writes: the inverse commit, the branch, the merge that applies it
// on base's head, the clean revert commit and the pull request.
func (a *Actions) revert(ctx context.Context, name string, req runbooks.ActionRequest, in RevertCommitInput, p *revertPlan) (runbooks.ActionResult, error) {
	head, inverse, err := a.inverseCommit(ctx, name, p)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	if err := a.resetBranch(ctx, name, p, head); err != nil {
		return runbooks.ActionResult{}, err
	}
	tree, err := a.mergeInverse(ctx, name, p, inverse)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	rev, err := a.commitRevert(ctx, name, req, p, head, tree)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	pr, existing, err := a.openRevertPR(ctx, name, req, in, p)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	if existing != nil {
		return a.existing(name, p, existing, false), nil
	}
	csha := p.c.GetSHA()
	out := map[string]any{
		"ok": true, "pr_number": pr.GetNumber(), "pr_url": pr.GetHTMLURL(), "pr_state": "open", "branch": p.branch,
		"revert_sha": rev.GetSHA(), "files": fileNames(p.files), "already_open": false, "refused": "",
	}
	return runbooks.ActionResult{
		Output: out,
		Summary: fmt.Sprintf("%s %s: opened pull request #%d reverting %s %q (%d file(s)) into %s", name, p.full,
			pr.GetNumber(), short(csha), subject(p.c.GetCommit().GetMessage()), len(p.files), p.base),
		Detail: fmt.Sprintf("Pull request [#%d](%s) from `%s` into `%s` reverts `%s` with commit `%s`.\n",
			pr.GetNumber(), pr.GetHTMLURL(), p.branch, p.base, short(csha), short(rev.GetSHA())),
	}, nil
}

// revertFail is the error of a failed write of the revert: what failed, in
// which repository.
func revertFail(name string, p *revertPlan, what string, err error) error {
	return Classify(name, what+" in "+p.full, err)
}

// inverseCommit creates I, the parent's tree on top of C, and returns base's
// head and I's SHA. Merging I into base's head (merge base C) applies
// exactly "undo C" to base.
func (a *Actions) inverseCommit(ctx context.Context, name string, p *revertPlan) (head, inverse string, err error) {
	csha := p.c.GetSHA()
	baseRef, _, err := a.c.Git.GetRef(ctx, p.owner, p.repo, "heads/"+p.base)
	if err != nil {
		return "", "", revertFail(name, p, "get branch "+p.base, err)
	}
	head = baseRef.GetObject().GetSHA()
	parent, _, err := a.c.Git.GetCommit(ctx, p.owner, p.repo, p.parent)
	if err != nil {
		return "", "", revertFail(name, p, "get commit "+p.parent, err)
	}
	inv, _, err := a.c.Git.CreateCommit(ctx, p.owner, p.repo, &github.Commit{
		Message: github.String("datasev: inverse of " + csha),
		Tree:    &github.Tree{SHA: parent.GetTree().SHA},
		Parents: []*github.Commit{{SHA: github.String(csha)}},
	}, nil)
	if err != nil {
		return "", "", revertFail(name, p, "create the inverse commit of "+short(csha), err)
	}
	return head, inv.GetSHA(), nil
}

// resetBranch points the revert's branch at base's head, creating it, or
// resetting it when an attempt that stopped before its pull request left
// it.
func (a *Actions) resetBranch(ctx context.Context, name string, p *revertPlan, head string) error {
	ref := &github.Reference{Ref: github.String("refs/heads/" + p.branch), Object: &github.GitObject{SHA: github.String(head)}}
	_, _, err := a.c.Git.GetRef(ctx, p.owner, p.repo, "heads/"+p.branch)
	switch {
	case err == nil:
		// Left by an attempt that stopped before its pull request: redo
		// from base's head.
		if _, _, err := a.c.Git.UpdateRef(ctx, p.owner, p.repo, ref, true); err != nil {
			return revertFail(name, p, "reset branch "+p.branch, err)
		}
	case statusOf(err) == 404:
		if _, _, err := a.c.Git.CreateRef(ctx, p.owner, p.repo, ref); err != nil {
			return revertFail(name, p, "create branch "+p.branch, err)
		}
	default:
		return revertFail(name, p, "get branch "+p.branch, err)
	}
	return nil
}

// mergeInverse merges the inverse commit into the branch and returns the
// merged tree. A conflict, or nothing to undo, deletes the branch and
// refuses.
func (a *Actions) mergeInverse(ctx context.Context, name string, p *revertPlan, inverse string) (*string, error) {
	csha := p.c.GetSHA()
	merged, resp, err := a.c.Repositories.Merge(ctx, p.owner, p.repo, &github.RepositoryMergeRequest{
		Base: github.String(p.branch), Head: github.String(inverse),
		CommitMessage: github.String("datasev: apply the revert of " + short(csha)),
	})
	switch {
	case statusOf(err) == 409:
		a.deleteBranch(ctx, p)
		p.refused = "undoing it conflicts with later changes on " + p.base + " (merge conflict)"
		return nil, refuse(name, p)
	case err != nil:
		return nil, revertFail(name, p, "merge the inverse of "+short(csha)+" into "+p.branch, err)
	case resp.StatusCode == 204 || merged.GetCommit().GetTree().GetSHA() == "":
		a.deleteBranch(ctx, p)
		p.refused = "there is nothing to undo on " + p.base
		return nil, refuse(name, p)
	}
	return merged.GetCommit().GetTree().SHA, nil
}

// commitRevert creates the clean revert commit (the merged tree on top of
// base's head, with git's revert message and the incident) and points the
// branch at it.
func (a *Actions) commitRevert(ctx context.Context, name string, req runbooks.ActionRequest, p *revertPlan, head string, tree *string) (*github.Commit, error) {
	msg := fmt.Sprintf("Revert %q\n\nThis reverts commit %s.\n\nIncident: %s", subject(p.c.GetCommit().GetMessage()), p.c.GetSHA(), req.Incident)
	rev, _, err := a.c.Git.CreateCommit(ctx, p.owner, p.repo, &github.Commit{
		Message: github.String(msg),
		Tree:    &github.Tree{SHA: tree},
		Parents: []*github.Commit{{SHA: github.String(head)}},
	}, nil)
	if err != nil {
		return nil, revertFail(name, p, "create the revert commit", err)
	}
	if _, _, err := a.c.Git.UpdateRef(ctx, p.owner, p.repo, &github.Reference{Ref: github.String("refs/heads/" + p.branch),
		Object: &github.GitObject{SHA: rev.SHA}}, true); err != nil {
		return nil, revertFail(name, p, "point "+p.branch+" at the revert commit", err)
	}
	return rev, nil
}

// openRevertPR opens the pull request from the branch into base. When
// another attempt opened it meanwhile, it returns that one as existing.
func (a *Actions) openRevertPR(ctx context.Context, name string, req runbooks.ActionRequest, in RevertCommitInput, p *revertPlan) (pr, existing *github.PullRequest, err error) {
	title := strings.TrimSpace(in.Title)
	if title == "" {
		title = fmt.Sprintf("Revert %q", subject(p.c.GetCommit().GetMessage()))
	}
	body := fmt.Sprintf("Reverts %s (%s) by %s.\n\nOpened by datasev for incident `%s`, runbook `%s`, step `%s`.\n\nFiles: %s\n",
		p.c.GetSHA(), subject(p.c.GetCommit().GetMessage()), authorOf(p.c), req.Incident, req.Runbook, req.Step,
		strings.Join(anyStrings(fileNames(p.files)), ", "))
	if extra := strings.TrimSpace(in.Body); extra != "" {
		body += "\n" + extra + "\n"
	}
	pr, _, err = a.c.PullRequests.Create(ctx, p.owner, p.repo, &github.NewPullRequest{
		Title: github.String(title), Head: github.String(p.branch), Base: github.String(p.base), Body: github.String(body)})
	if statusOf(err) == 422 {
		// Another attempt opened it meanwhile.
		if found, ferr := a.findPR(ctx, name, p); ferr == nil && found != nil {
			return nil, found, nil
		}
	}
	if err != nil {
		return nil, nil, revertFail(name, p, "open a pull request from "+p.branch+" into "+p.base, err)
	}
	return pr, nil, nil
}

func (a *Actions) deleteBranch(ctx context.Context, p *revertPlan) {
	if _, err := a.c.Git.DeleteRef(ctx, p.owner, p.repo, "heads/"+p.branch); err != nil {
		a.logger.WarnContext(ctx, "github: could not delete the revert branch", "repo", p.full, "branch", p.branch, "error", err)
	}
}

func fileNames(fs []*github.CommitFile) []any {
	out := make([]any, len(fs))
	for i, f := range fs {
		out[i] = f.GetFilename()
	}
	return out
}

func anyStrings(xs []any) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprint(x)
	}
	return out
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes an incident ID safe in a branch name: lower case letters,
// digits and dashes, at most 40 characters.
func slug(s string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	if s == "" {
		s = "incident"
	}
	return s
}
