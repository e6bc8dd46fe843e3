// Package ghtest is an in-process stand-in for GitHub's REST API, for tests
// and the one-command demo. go-github runs unmodified against it: real
// paths, JSON field names, status codes, error bodies
// ({"message", "documentation_url", "errors"}), Link-header pagination, token
// auth and GitHub App installation tokens (RS256 JWT checked).
//
// Repositories are in memory with git semantics at file level: a commit is
// a snapshot of path → content with parents, author, date and message;
// blobs carry git's SHA (sha1 of "blob <len>\x00" + content); trees and
// commits carry unique 40-hex SHAs. Merges (the merges API and pull request
// merges) are three-way at file level against the merge base: a file changed
// on both sides is a conflict even where git would merge its lines.
//
// It is a stand-in, never a production path: the worker talks to it only
// when configured with its URL, exactly as for GitHub Enterprise.
package ghtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the token a new Server accepts.
const DefaultToken = "ghp_datasevtesttoken0000000000000000000"

// Delete, as a file's new content in Commit, deletes the file.
const Delete = "\x00ghtest:delete\x00"

// DocsURL is the documentation_url of error bodies.
const DocsURL = "https://docs.github.com/rest"

// Protection is a branch's protection rules, as far as the stand-in
// enforces them.
type Protection struct {
	// LockBranch makes the branch read-only: no ref updates, merges into
	// it or pull request merges.
	LockBranch bool
	// RequiredApprovingReviews > 0 refuses pull request merges (the
	// stand-in has no reviews) and direct ref updates.
	RequiredApprovingReviews int
	// EnforceAdmins is reported as enforce_admins.enabled.
	EnforceAdmins bool
	// RequiredChecks are the status checks (commit status contexts or
	// check run names) that must pass on a pull request's head before it
	// merges (405 otherwise); see SetStatus and SetCheckRun.
	RequiredChecks []string
}

// Fault is an injected error answer.
type Fault struct {
	// Status is the HTTP status code.
	Status int
	// Headers are set on the answer (e.g. Retry-After,
	// X-RateLimit-Remaining, X-RateLimit-Reset).
	Headers map[string]string
	// Message and DocumentationURL make the body; defaults follow Status
	// and Headers (rate limits, secondary rate limits, server errors).
	Message          string
	DocumentationURL string
}

// Server is a running GitHub REST stand-in.
type Server struct {
	// URL is the API base URL, ending in "/": for go-github's BaseURL or
	// WithEnterpriseURLs(URL, URL) (whose added "api/v3/" is accepted).
	URL string
	// Token is the personal access token accepted (DefaultToken unless
	// changed before the first request).
	Token string
	// AppID, InstallationID and AppPrivateKey define the GitHub App whose
	// JWTs POST /app/installations/{id}/access_tokens accepts.
	AppID          int64
	InstallationID int64
	AppPrivateKey  *rsa.PrivateKey

	srv *httptest.Server

	mu         sync.Mutex
	statuses   map[string]map[string]string // "owner/repo@sha" → context → state
	checkRuns  map[string][]*checkRun       // "owner/repo@sha" → check runs
	repos      map[string]*repo
	blobs      map[string]string
	instTokens map[string]time.Time
	rawToken   string
	faults     []Fault
	routeFault map[string][]Fault
	counts     map[string]int
	lose       map[string]int // route → answers to lose (LoseResponse)
	writes     int
	nextID     int64
	now        func() time.Time
}

// repo is one in-memory repository.
type repo struct {
	id            int64
	owner, name   string
	defaultBranch string
	refs          map[string]string // "refs/heads/main" → commit SHA
	commits       map[string]*commit
	trees         map[string]files
	protection    map[string]Protection
	issues        map[int]*issue // pull requests included
	nextNumber    int
	created       time.Time
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

// New starts a server on 127.0.0.1:0. It generates an App key
// (AppID 1001, InstallationID 2002) that tests may use or replace.
func New() *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("ghtest: app key: %v", err))
	}
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	s := &Server{
		Token:          DefaultToken,
		AppID:          1001,
		InstallationID: 2002,
		AppPrivateKey:  key,
		repos:          map[string]*repo{},
		blobs:          map[string]string{"": ""},
		instTokens:     map[string]time.Time{},
		rawToken:       hex.EncodeToString(raw),
		counts:         map[string]int{},
		routeFault:     map[string][]Fault{},
		nextID:         100,
		now:            time.Now,
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("ghtest: listen: %v", err))
	}
	ts.Listener = l
	ts.Start()
	s.srv = ts
	s.URL = ts.URL + "/"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Env returns the DATASEV_GITHUB_* variables that point the worker at this
// server with its token.
func (s *Server) Env() map[string]string {
	return map[string]string{"DATASEV_GITHUB_API_URL": s.URL, "DATASEV_GITHUB_TOKEN": s.Token}
}

// FailNext makes the next n requests answer status with headers and a
// GitHub-shaped error body: e.g. 403 with X-RateLimit-Remaining: 0 and
// X-RateLimit-Reset (primary rate limit), 403 or 429 with Retry-After
// (secondary rate limit), 502, or 503 with Retry-After (unavailable,
// come back later).
func (s *Server) FailNext(n int, status int, headers map[string]string) {
	s.FailNextWith(n, Fault{Status: status, Headers: headers})
}

// FailNextWith is FailNext with a chosen body.
func (s *Server) FailNextWith(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// FailRoute makes the next n requests to route (as Count names it, e.g.
// "POST /repos/{owner}/{repo}/merges") answer with f; other routes answer
// normally.
func (s *Server) FailRoute(route string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.routeFault[route] = append(s.routeFault[route], f)
	}
}

// Count returns how many requests a route served, e.g.
// Count("GET /repos/{owner}/{repo}/commits"); faults and auth failures count.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Counts returns a copy of every route's request count.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Writes returns how many non-GET requests the server served successfully.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// CreateRepo creates an empty repository "owner/name".
func (s *Server) CreateRepo(fullName, defaultBranch string) {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" {
		panic("ghtest: repository name " + fullName + " is not owner/name")
	}
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.repos[strings.ToLower(fullName)] = &repo{
		id: s.nextID, owner: owner, name: name, defaultBranch: defaultBranch,
		refs: map[string]string{}, commits: map[string]*commit{}, trees: map[string]files{"": {}},
		protection: map[string]Protection{}, issues: map[int]*issue{}, nextNumber: 1, created: s.now().UTC(),
	}
}

// Commit commits files (path → new content, Delete to delete) on branch,
// on top of its head (or of the default branch's head for a new branch),
// and returns the commit's SHA.
func (s *Server) Commit(fullName, branch, author, message string, changes map[string]string, at time.Time) string {
	return s.commitOn(fullName, branch, author, message, changes, at, "")
}

// MergeCommit records a merge of the branch from into the branch into
// (three-way at file level, panicking on a conflict), with changes applied
// on top, and returns the merge commit's SHA. Its first parent is into's
// head, its second from's head.
func (s *Server) MergeCommit(fullName, into, from, author, message string, at time.Time) string {
	s.mu.Lock()
	r := s.mustRepo(fullName)
	second := r.refs["refs/heads/"+from]
	s.mu.Unlock()
	if second == "" {
		panic("ghtest: no branch " + from)
	}
	return s.commitOn(fullName, into, author, message, nil, at, second)
}

func (s *Server) commitOn(fullName, branch, author, message string, changes map[string]string, at time.Time, second string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	head := r.refs["refs/heads/"+branch]
	if head == "" {
		head = r.refs["refs/heads/"+r.defaultBranch]
	}
	snap := files{}
	if head != "" {
		for p, b := range r.trees[r.commits[head].tree] {
			snap[p] = b
		}
	}
	var parents []string
	if head != "" {
		parents = append(parents, head)
	}
	if second != "" {
		base := r.mergeBase(head, second)
		var baseFiles files
		if base != "" {
			baseFiles = r.trees[r.commits[base].tree]
		}
		merged, conflicts := mergeFiles(baseFiles, snap, r.trees[r.commits[second].tree])
		if len(conflicts) > 0 {
			panic(fmt.Sprintf("ghtest: merge conflict in %v", conflicts))
		}
		snap = merged
		parents = append(parents, second)
	}
	for p, c := range changes {
		p = strings.Trim(p, "/")
		if c == Delete {
			delete(snap, p)
			continue
		}
		snap[p] = s.putBlob(c)
	}
	c := &commit{tree: r.putTree(snap), parents: parents, author: author, email: emailOf(author),
		committer: author, message: message, date: at.UTC()}
	c.sha = commitSHA(c)
	r.commits[c.sha] = c
	r.refs["refs/heads/"+branch] = c.sha
	return c.sha
}

// Protect sets branch's protection rules; a zero Protection removes them.
func (s *Server) Protect(fullName, branch string, p Protection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	if !p.LockBranch && p.RequiredApprovingReviews == 0 && !p.EnforceAdmins && len(p.RequiredChecks) == 0 {
		delete(r.protection, branch)
		return
	}
	p.RequiredChecks = slices.Clone(p.RequiredChecks)
	r.protection[branch] = p
}

// File returns a file's content at ref (a branch, tag or commit SHA).
func (s *Server) File(fullName, ref, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	c := r.resolve(ref)
	if c == nil {
		return "", false
	}
	b, ok := r.trees[c.tree][strings.Trim(path, "/")]
	if !ok {
		return "", false
	}
	return s.blobs[b], true
}

// Files returns every file's content at ref.
func (s *Server) Files(fullName, ref string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	c := r.resolve(ref)
	if c == nil {
		return nil
	}
	out := map[string]string{}
	for p, b := range r.trees[c.tree] {
		out[p] = s.blobs[b]
	}
	return out
}

// BranchHead returns a branch's head commit SHA.
func (s *Server) BranchHead(fullName, branch string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.mustRepo(fullName).refs["refs/heads/"+branch]
	return sha, ok
}

// CommitInfo is a commit as the read-back helpers return it.
type CommitInfo struct {
	SHA, Tree, Author, Message string
	Parents                    []string
	Date                       time.Time
}

// CommitOf returns a commit's fields.
func (s *Server) CommitOf(fullName, sha string) (CommitInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustRepo(fullName).commits[sha]
	if c == nil {
		return CommitInfo{}, false
	}
	return CommitInfo{SHA: c.sha, Tree: c.tree, Author: c.author, Message: c.message,
		Parents: append([]string(nil), c.parents...), Date: c.date}, true
}

// PullRequest is a pull request as PullRequests returns it.
type PullRequest struct {
	Number         int
	Title, Body    string
	Head, Base     string // branch names
	HeadSHA        string
	State          string // open or closed
	Merged         bool
	MergeCommitSHA string
}

// PullRequests lists a repository's pull requests, oldest first.
func (s *Server) PullRequests(fullName string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	var out []PullRequest
	for _, n := range r.numbers() {
		is := r.issues[n]
		if is.pr == nil {
			continue
		}
		out = append(out, PullRequest{Number: n, Title: is.title, Body: is.body, Head: is.pr.head, Base: is.pr.base,
			HeadSHA: r.prHeadSHA(is), State: is.state, Merged: is.pr.merged, MergeCommitSHA: is.pr.mergeSHA})
	}
	return out
}

// Issue is an issue as Issues returns it.
type Issue struct {
	Number      int
	Title, Body string
	Labels      []string
	State       string
	StateReason string   // completed, not_planned, reopened or ""
	Comments    []string // bodies, oldest first
}

// Issues lists a repository's issues (pull requests excluded), oldest
// first, with their comments.
func (s *Server) Issues(fullName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	var out []Issue
	for _, n := range r.numbers() {
		is := r.issues[n]
		if is.pr != nil {
			continue
		}
		out = append(out, Issue{Number: n, Title: is.title, Body: is.body, Labels: append([]string(nil), is.labels...),
			State: is.state, StateReason: is.stateReason, Comments: is.commentBodies()})
	}
	return out
}

// Comments returns the bodies of an issue's or pull request's comments.
func (s *Server) Comments(fullName string, number int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustRepo(fullName).issues[number]
	if is == nil {
		return nil
	}
	return is.commentBodies()
}

// AddComment adds a comment to an issue or pull request as seeded data.
func (s *Server) AddComment(fullName string, number int, user, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustRepo(fullName).issues[number]
	if is == nil {
		panic(fmt.Sprintf("ghtest: no issue #%d in %s", number, fullName))
	}
	s.nextID++
	is.comments = append(is.comments, &comment{id: s.nextID, body: body, user: user, created: s.now().UTC()})
}

// CreateIssue opens an issue as seeded data and returns its number.
func (s *Server) CreateIssue(fullName, title, body string, labels ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	is := &issue{number: r.nextNumber, title: title, body: body, labels: labels, state: "open", created: s.now().UTC(), user: "octocat"}
	r.nextNumber++
	r.issues[is.number] = is
	return is.number
}

func (s *Server) mustRepo(fullName string) *repo {
	r := s.repos[strings.ToLower(fullName)]
	if r == nil {
		panic("ghtest: no repository " + fullName)
	}
	return r
}

func (s *Server) putBlob(content string) string {
	sha := blobSHA(content)
	s.blobs[sha] = content
	return sha
}

func (r *repo) putTree(f files) string {
	sha := treeSHA(f)
	r.trees[sha] = f
	return sha
}

// resolve finds a commit by branch, tag, full ref or (abbreviated) SHA.
func (r *repo) resolve(ref string) *commit {
	if ref == "" {
		ref = r.defaultBranch
	}
	for _, full := range []string{ref, "refs/heads/" + ref, "refs/tags/" + ref} {
		if sha, ok := r.refs[full]; ok {
			return r.commits[sha]
		}
	}
	if c := r.commits[ref]; c != nil {
		return c
	}
	if len(ref) >= 7 && len(ref) < 40 && isHex(ref) {
		var found *commit
		for sha, c := range r.commits {
			if strings.HasPrefix(sha, ref) {
				if found != nil {
					return nil
				}
				found = c
			}
		}
		return found
	}
	return nil
}

func (r *repo) numbers() []int {
	ns := make([]int, 0, len(r.issues))
	for n := range r.issues {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func emailOf(author string) string {
	return strings.ToLower(strings.ReplaceAll(author, " ", ".")) + "@example.com"
}

// ---- HTTP plumbing ----

// apiError is GitHub's error body.
type apiError struct {
	Message          string           `json:"message"`
	DocumentationURL string           `json:"documentation_url,omitempty"`
	Errors           []map[string]any `json:"errors,omitempty"`
	Status           string           `json:"status,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Message: msg, DocumentationURL: DocsURL, Status: strconv.Itoa(status)})
}

func notFound(w http.ResponseWriter) { writeError(w, http.StatusNotFound, "Not Found") }

// unprocessable answers 422 with GitHub's "Validation Failed" shape.
func unprocessable(w http.ResponseWriter, msg, resource, field, code string) {
	e := map[string]any{"resource": resource, "code": code}
	if field != "" {
		e["field"] = field
	}
	if code == "custom" {
		e["message"] = msg
	}
	writeJSON(w, http.StatusUnprocessableEntity, apiError{
		Message: msg, DocumentationURL: DocsURL, Errors: []map[string]any{e}, Status: "422"})
}

func (s *Server) faultBody(f Fault) apiError {
	msg, doc := f.Message, f.DocumentationURL
	var retryAfter, remaining bool
	for k := range f.Headers {
		switch strings.ToLower(k) {
		case "retry-after":
			retryAfter = true
		case "x-ratelimit-remaining":
			remaining = f.Headers[k] == "0"
		}
	}
	switch {
	case msg != "":
	case remaining:
		msg = "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID."
		doc = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
	case f.Status >= 500:
		msg = "Server Error"
	case retryAfter || f.Status == http.StatusTooManyRequests:
		msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		doc = "https://docs.github.com/free-pro-team@latest/rest/overview/resources-in-the-rest-api#secondary-rate-limits"
	default:
		msg = http.StatusText(f.Status)
	}
	if doc == "" {
		doc = DocsURL
	}
	return apiError{Message: msg, DocumentationURL: doc, Status: strconv.Itoa(f.Status)}
}

// authorized checks the Authorization header against the token and the
// issued installation tokens.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	var tok string
	switch {
	case strings.HasPrefix(h, "Bearer "):
		tok = strings.TrimPrefix(h, "Bearer ")
	case strings.HasPrefix(h, "token "):
		tok = strings.TrimPrefix(h, "token ")
	default:
		return false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return false
	}
	if tok == s.Token {
		return true
	}
	exp, ok := s.instTokens[tok]
	return ok && s.now().Before(exp)
}

// baseURL is the absolute API base as the client addressed it.
func baseURL(r *http.Request, prefix string) string {
	return "http://" + r.Host + prefix + "/"
}

// paginate answers one page of items with GitHub's Link header.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	last := max(1, (len(items)+per-1)/per)
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		qq := r.URL.Query()
		qq.Set("per_page", strconv.Itoa(per))
		qq.Set("page", strconv.Itoa(p))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, last), "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo := min(len(items), (page-1)*per)
	hi := min(len(items), lo+per)
	out := items[lo:hi]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

// statusRecorder notes the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	prefix := ""
	if strings.HasPrefix(path, "/api/v3/") {
		prefix = "/api/v3"
		path = strings.TrimPrefix(path, prefix)
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, sg := range segs {
		if u, err := url.PathUnescape(sg); err == nil {
			segs[i] = u
		}
	}
	route := routeName(r.Method, segs)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[route]++
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Hour).Unix(), 10))
	var fault *Fault
	if len(s.faults) > 0 {
		fault = &s.faults[0]
		s.faults = s.faults[1:]
	} else if rf := s.routeFault[route]; len(rf) > 0 {
		fault = &rf[0]
		s.routeFault[route] = rf[1:]
	}
	if fault != nil {
		f := *fault
		for k, v := range f.Headers {
			w.Header().Set(k, v)
		}
		writeJSON(w, f.Status, s.faultBody(f))
		return
	}
	if s.takeLost(route) {
		defer dropConnection(w)
		w = discard()
	}
	rec := &statusRecorder{ResponseWriter: w}
	c := &call{s: s, w: rec, r: r, segs: segs, base: baseURL(r, prefix)}
	switch {
	case len(segs) >= 1 && segs[0] == "raw":
		s.serveRaw(c)
	case len(segs) == 4 && segs[0] == "app" && segs[1] == "installations" && segs[3] == "access_tokens" && r.Method == http.MethodPost:
		s.accessToken(c, segs[2])
	case !s.authorized(r):
		writeJSON(w, http.StatusUnauthorized, apiError{Message: "Bad credentials", DocumentationURL: DocsURL, Status: "401"})
	case len(segs) >= 3 && segs[0] == "repos":
		s.serveRepo(c)
	default:
		notFound(w)
	}
	if r.Method != http.MethodGet && rec.status >= 200 && rec.status < 300 {
		s.writes++
	}
}

// routeName names a request by its route template, for Count.
func routeName(method string, segs []string) string {
	if len(segs) < 3 || segs[0] != "repos" {
		if len(segs) == 4 && segs[0] == "app" {
			return method + " /app/installations/{id}/access_tokens"
		}
		if len(segs) > 0 && segs[0] == "raw" {
			return method + " /raw/{owner}/{repo}/{ref}/{path}"
		}
		return method + " /" + strings.Join(segs, "/")
	}
	rest := segs[3:]
	t := "/repos/{owner}/{repo}"
	if len(rest) == 0 {
		return method + " " + t
	}
	switch rest[0] {
	case "git":
		if len(rest) >= 2 {
			switch rest[1] {
			case "commits", "trees", "blobs":
				t += "/git/" + rest[1]
				if len(rest) > 2 {
					t += "/{sha}"
				}
			case "ref", "matching-refs":
				t += "/git/" + rest[1] + "/{ref}"
			case "refs":
				t += "/git/refs"
				if len(rest) > 2 {
					t += "/{ref}"
				}
			}
		}
	case "commits":
		t += "/commits"
		if len(rest) > 1 {
			t += "/{sha}"
		}
		if len(rest) == 3 && (rest[2] == "status" || rest[2] == "check-runs") {
			t += "/" + rest[2]
		}
	case "compare":
		t += "/compare/{basehead}"
	case "contents":
		t += "/contents/{path}"
	case "branches":
		t += "/branches/{branch}"
		if len(rest) > 2 && rest[len(rest)-1] == "protection" {
			t += "/protection"
		}
		if len(rest) > 3 && rest[len(rest)-2] == "protection" && rest[len(rest)-1] == "required_status_checks" {
			t += "/protection/required_status_checks"
		}
	case "pulls", "issues":
		t += "/" + rest[0]
		if len(rest) > 1 {
			t += "/{number}"
		}
		if len(rest) > 2 {
			t += "/" + rest[2]
		}
	default:
		t += "/" + rest[0]
	}
	return method + " " + t
}

// call is one request in flight (the server's lock is held).
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	segs []string
	base string
}

func (c *call) decode(v any) bool {
	dec := json.NewDecoder(c.r.Body)
	if err := dec.Decode(v); err != nil {
		writeError(c.w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}
