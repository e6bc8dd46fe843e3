// Package gdoc keeps the incident document as a Google Doc, the third
// document store beside the GitHub issue and the Markdown file
// (activities/lifecycle/incidentdoc): the Scribe's living record, in the
// editor the team already writes in.
//
// Sync, registered under workflows.DocumentActivityName in place of
// incidentdoc's when the store is configured (Config), takes the same
// workflows.Report the workflow sends the other stores and:
//
//   - creates the document by copying the template (Drive files.copy) into
//     the folder, tagged with a private app property naming the incident
//     (a retry after a lost answer finds the copy instead of making a
//     second; a document already known from Report.Document is used as is);
//   - shares it (Drive permissions, listed first, created with
//     sendNotificationEmail=false): the roster's people as readers, the
//     incident's role holders as writers (a reader who takes a role is
//     raised to writer; no one is lowered);
//   - keeps the header section current, rewriting it whole when it
//     changed, and appends the timeline entries the document does not hold
//     yet: each entry's paragraph starts "#<n>", so the document itself
//     says what was written, and each write carries the revision it was
//     planned on (writeControl.requiredRevisionId), so a write planned on
//     a stale reading is refused and planned again;
//   - at closure writes the postmortem (postmortem.Render) as the
//     document's last section: one record, shared once, where the
//     timeline it draws on already is.
//
// Credentials come from a service account key file or the Application
// Default Credentials; they are read by the worker, never put in a
// workflow's history, and never logged.
package gdoc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/docs/v1"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/datasev/datasev/workflows"
	"github.com/datasev/datasev/workflows/oncall"
)

// Scopes are the OAuth scopes the store asks for: Docs to read and write
// the document, Drive to copy a template it did not create and share.
var Scopes = []string{docs.DocumentsScope, drive.DriveScope}

// AppProperty is the private Drive app property that names the incident a
// document belongs to: its value is the hex SHA-256 of Report.Key(), so
// two incidents (or a recurrence) never share a document.
const AppProperty = "datasevIncident"

// Error types of the non-retryable application errors Sync returns.
const (
	// BadReportType: the report has no incident ID.
	BadReportType = "GDocBadReport"
	// NotFoundType: the template, the folder or the document is gone or
	// not visible to the service account (404).
	NotFoundType = "GDocNotFound"
	// ForbiddenType: the service account may not do what was asked (403
	// other than a rate limit): share the folder and the template with it.
	ForbiddenType = "GDocForbidden"
	// UnauthorizedType: the credentials were refused (401, or the token
	// endpoint refused the key).
	UnauthorizedType = "GDocUnauthorized"
	// BadRequestType: the service refused a request as malformed (400).
	BadRequestType = "GDocBadRequest"
)

// Limits.
const (
	// MaxShares bounds the people a document is shared with.
	MaxShares = 500
	// maxPermissionPages bounds the permission listing (100 a page).
	maxPermissionPages = 20
	// maxRounds bounds the read-plan-write rounds of one attempt beyond
	// those the timeline's chunks need (a conflict with a person's edit
	// costs one).
	maxRounds = 8
)

// Options tune a Store; the zero value is the production defaults.
type Options struct {
	// Attempts is how many times Sync tries within one activity attempt
	// on a transient error (429, 5xx, a rate-limit 403, a dropped
	// connection) before handing the retry to Temporal; default 4.
	Attempts int
	// Backoff is the first wait between those tries, doubled each time
	// and raised to a Retry-After the service sends (at most 30s);
	// default 1s.
	Backoff time.Duration
}

// Store keeps incident documents as Google Docs.
type Store struct {
	cfg    Config
	docs   *docs.Service
	drive  *drive.Service
	roster *oncall.Roster
	logger *slog.Logger
	opts   Options
}

// New returns the store for cfg, authorized with cfg.CredentialsFile (a
// service account key) or the Application Default Credentials. roster
// gives people's e-mail addresses (nil: the document is shared with no
// one but the service account).
func New(ctx context.Context, cfg Config, roster *oncall.Roster, logger *slog.Logger, opts Options) (*Store, error) {
	creds, err := credentials(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// The token source outlives ctx: it refreshes the access token for as
	// long as the worker runs.
	client := oauth2.NewClient(context.Background(), creds.TokenSource)
	return NewWithClient(ctx, cfg, client, roster, logger, opts)
}

// credentials loads the service account key file, or the default chain.
// Errors name the file, never its content.
func credentials(ctx context.Context, cfg Config) (*google.Credentials, error) {
	if cfg.CredentialsFile == "" {
		creds, err := google.FindDefaultCredentials(ctx, Scopes...)
		if err != nil {
			return nil, fmt.Errorf("google doc store: no %s and no Application Default Credentials: %w", EnvCredentialsFile, err)
		}
		return creds, nil
	}
	data, err := os.ReadFile(cfg.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("google doc store: %s: %w", EnvCredentialsFile, err)
	}
	creds, err := google.CredentialsFromJSONWithType(ctx, data, google.ServiceAccount, Scopes...)
	if err != nil {
		// The parser's error may quote the file; say only what is wrong.
		return nil, fmt.Errorf("google doc store: %s=%s is not a service account key file (JSON with \"type\": \"service_account\")", EnvCredentialsFile, cfg.CredentialsFile)
	}
	return creds, nil
}

// NewWithClient returns the store talking through client, which must add
// the credentials itself (New's does; a test's may be the stand-in's).
func NewWithClient(ctx context.Context, cfg Config, client *http.Client, roster *oncall.Roster, logger *slog.Logger, opts Options) (*Store, error) {
	if !cfg.Configured() || cfg.TemplateID == "" {
		return nil, fmt.Errorf("google doc store: %s and %s are required", EnvFolder, EnvTemplate)
	}
	docsOpts := []option.ClientOption{option.WithHTTPClient(client)}
	driveOpts := []option.ClientOption{option.WithHTTPClient(client)}
	if cfg.APIURL != "" {
		docsOpts = append(docsOpts, option.WithEndpoint(cfg.APIURL))
		driveOpts = append(driveOpts, option.WithEndpoint(cfg.APIURL+"drive/v3/"))
	}
	ds, err := docs.NewService(ctx, docsOpts...)
	if err != nil {
		return nil, fmt.Errorf("google doc store: docs client: %w", err)
	}
	dr, err := drive.NewService(ctx, driveOpts...)
	if err != nil {
		return nil, fmt.Errorf("google doc store: drive client: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	return &Store{cfg: cfg, docs: ds, drive: dr, roster: roster, logger: logger, opts: opts}, nil
}

// Register registers Sync under workflows.DocumentActivityName.
func Register(w worker.ActivityRegistry, s *Store) {
	w.RegisterActivityWithOptions(s.Sync, activity.RegisterOptions{Name: workflows.DocumentActivityName})
}

// URL is the address of document id.
func URL(id string) string { return "https://docs.google.com/document/d/" + id + "/edit" }

var docIDRe = regexp.MustCompile(`/document/d/([A-Za-z0-9_-]{1,200})(?:/|$)`)

// docID is the document ID in an earlier document URL, or "".
func docID(u string) string {
	if m := docIDRe.FindStringSubmatch(u); m != nil {
		return m[1]
	}
	return ""
}

// Sync writes r's incident document and says where it is. It is
// idempotent: every attempt reads the document before writing, so a retry
// after a lost answer never copies, shares or appends twice.
func (s *Store) Sync(ctx context.Context, r workflows.Report) (workflows.DocumentResult, error) {
	if strings.TrimSpace(r.ID) == "" {
		return workflows.DocumentResult{}, temporal.NewNonRetryableApplicationError("google doc: the report has no incident ID", BadReportType, nil)
	}
	var err error
	for attempt := 1; ; attempt++ {
		var res workflows.DocumentResult
		res, err = s.sync(ctx, r)
		if err == nil {
			return res, nil
		}
		retry, after := transient(err)
		if !retry || attempt >= s.opts.Attempts || ctx.Err() != nil {
			break
		}
		wait := s.opts.Backoff << (attempt - 1)
		if after > wait {
			wait = min(after, 30*time.Second)
		}
		s.logger.Info("google doc: retrying", "incident", r.ID, "attempt", attempt, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return workflows.DocumentResult{}, ctx.Err()
		case <-t.C:
		}
	}
	s.logger.Warn("google doc sync failed", "incident", r.ID, "folder", s.cfg.FolderID, "error", err)
	return workflows.DocumentResult{}, classify(err)
}

func (s *Store) sync(ctx context.Context, r workflows.Report) (workflows.DocumentResult, error) {
	id, url := docID(r.Document), r.Document
	created := false
	if id == "" {
		var err error
		if id, url, created, err = s.findOrCreate(ctx, r); err != nil {
			return workflows.DocumentResult{}, err
		}
	}
	shared, err := s.share(ctx, id, r)
	if err != nil {
		return workflows.DocumentResult{}, err
	}
	appended, err := s.write(ctx, id, r)
	if err != nil {
		return workflows.DocumentResult{}, err
	}
	attrs := []any{"incident", r.ID, "document", id, "state", r.State, "timeline", len(r.Timeline), "appended", appended, "shared", shared}
	if created {
		s.logger.Info("google doc created", attrs...)
	} else {
		s.logger.Debug("google doc synced", attrs...)
	}
	return workflows.DocumentResult{URL: url}, nil
}

// tag is the app property value of r's document.
func tag(r workflows.Report) string {
	sum := sha256.Sum256([]byte(r.Key()))
	return hex.EncodeToString(sum[:])
}

// quote is s as a Drive query string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// findOrCreate finds r's document in the folder by its app property, or
// copies the template there.
func (s *Store) findOrCreate(ctx context.Context, r workflows.Report) (id, url string, created bool, err error) {
	q := fmt.Sprintf("%s in parents and appProperties has { key=%s and value=%s } and trashed = false",
		quote(s.cfg.FolderID), quote(AppProperty), quote(tag(r)))
	list, err := s.drive.Files.List().Q(q).Corpora("allDrives").IncludeItemsFromAllDrives(true).SupportsAllDrives(true).
		OrderBy("createdTime").PageSize(10).Fields("files(id, name, webViewLink)").Context(ctx).Do()
	if err != nil {
		return "", "", false, fmt.Errorf("google doc: find the document of %s in folder %s: %w", r.ID, s.cfg.FolderID, err)
	}
	if len(list.Files) > 0 {
		// Two copies can only come from two attempts racing; the oldest
		// is the one kept.
		f := list.Files[0]
		return f.Id, link(f), false, nil
	}
	f, err := s.drive.Files.Copy(s.cfg.TemplateID, &drive.File{
		Name:          docName(r),
		Parents:       []string{s.cfg.FolderID},
		AppProperties: map[string]string{AppProperty: tag(r)},
	}).SupportsAllDrives(true).Fields("id, name, webViewLink").Context(ctx).Do()
	if err != nil {
		return "", "", false, fmt.Errorf("google doc: copy template %s into folder %s for %s: %w", s.cfg.TemplateID, s.cfg.FolderID, r.ID, err)
	}
	return f.Id, link(f), true, nil
}

func link(f *drive.File) string {
	if strings.HasPrefix(f.WebViewLink, "https://") || strings.HasPrefix(f.WebViewLink, "http://") {
		return f.WebViewLink
	}
	return URL(f.Id)
}

// docName is the document's name in Drive: "Incident <key>: <title>".
func docName(r workflows.Report) string {
	return clean("Incident "+r.Key()+": "+r.Title, 200)
}

// rank orders Drive roles by what they allow.
var rank = map[string]int{"reader": 1, "commenter": 2, "writer": 3, "fileOrganizer": 4, "organizer": 5, "owner": 6}

// grants are the permissions r's document should carry: e-mail address →
// role; the roster's people read, the role holders write.
func (s *Store) grants(r workflows.Report) map[string]string {
	out := map[string]string{}
	if s.roster == nil {
		return out
	}
	for _, p := range s.roster.People {
		if e := email(p.Email); e != "" && len(out) < MaxShares {
			out[e] = "reader"
		}
	}
	holders := append([]string{r.Roles.Commander, r.Roles.Scribe, r.Roles.Liaison}, r.Roles.SMEs...)
	for _, id := range holders {
		if id == "" {
			continue
		}
		for _, p := range s.roster.People {
			if p.ID == id {
				if e := email(p.Email); e != "" {
					out[e] = "writer"
				}
			}
		}
	}
	return out
}

// email is addr lower-cased when it looks like one address, else "".
func email(addr string) string {
	a := strings.ToLower(strings.TrimSpace(addr))
	at := strings.IndexByte(a, '@')
	if len(a) > 254 || at <= 0 || at != strings.LastIndexByte(a, '@') || at == len(a)-1 || strings.ContainsAny(a, " \t\r\n<>,;\"'()") {
		return ""
	}
	return a
}

// share grants what grants says is missing; it lists first, so a retry
// grants nothing twice. It returns how many grants it made or raised.
func (s *Store) share(ctx context.Context, id string, r workflows.Report) (int, error) {
	want := s.grants(r)
	if len(want) == 0 {
		return 0, nil
	}
	type have struct{ id, role string }
	got := map[string]have{}
	token := ""
	for page := 0; ; page++ {
		if page == maxPermissionPages {
			return 0, fmt.Errorf("google doc: document %s has more than %d pages of permissions", id, maxPermissionPages)
		}
		call := s.drive.Permissions.List(id).SupportsAllDrives(true).PageSize(100).
			Fields("nextPageToken, permissions(id, type, role, emailAddress)").Context(ctx)
		if token != "" {
			call = call.PageToken(token)
		}
		list, err := call.Do()
		if err != nil {
			return 0, fmt.Errorf("google doc: list the permissions of document %s: %w", id, err)
		}
		for _, p := range list.Permissions {
			if p.Type != "user" && p.Type != "group" {
				continue
			}
			e := strings.ToLower(p.EmailAddress)
			if old, ok := got[e]; !ok || rank[p.Role] > rank[old.role] {
				got[e] = have{p.Id, p.Role}
			}
		}
		if token = list.NextPageToken; token == "" {
			break
		}
	}
	addrs := make([]string, 0, len(want))
	for a := range want {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	n := 0
	for _, a := range addrs {
		role := want[a]
		h, ok := got[a]
		switch {
		case ok && rank[h.role] >= rank[role]:
			continue
		case ok:
			if _, err := s.drive.Permissions.Update(id, h.id, &drive.Permission{Role: role}).SupportsAllDrives(true).
				Fields("id").Context(ctx).Do(); err != nil {
				return n, fmt.Errorf("google doc: make %s a %s of document %s: %w", a, role, id, err)
			}
		default:
			if _, err := s.drive.Permissions.Create(id, &drive.Permission{Type: "user", Role: role, EmailAddress: a}).
				SendNotificationEmail(false).SupportsAllDrives(true).Fields("id").Context(ctx).Do(); err != nil {
				return n, fmt.Errorf("google doc: share document %s with %s as %s: %w", id, a, role, err)
			}
		}
		n++
	}
	return n, nil
}

// write brings the document's sections up to r: read, plan, write with
// the revision read, until nothing is left. A write refused because the
// document changed since it was read (a person typing) is planned again.
func (s *Store) write(ctx context.Context, id string, r workflows.Report) (int, error) {
	appended := 0
	rounds := maxRounds + (len(r.Timeline)+chunk-1)/chunk
	for round := 0; round < rounds; round++ {
		d, err := s.docs.Documents.Get(id).Context(ctx).Do()
		if err != nil {
			return appended, fmt.Errorf("google doc: read document %s: %w", id, err)
		}
		l := readLayout(d)
		if len(l.paras) == 0 {
			return appended, fmt.Errorf("google doc: document %s has no body", id)
		}
		reqs := structure(l, r)
		n := 0
		if reqs == nil {
			if !l.ordered() {
				return appended, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
					"google doc: document %s: the headings %q, %q (and %q) must appear once each, in this order; someone moved or removed one",
					id, HeaderHeading, TimelineHeading, PostmortemHeading), BadRequestType, nil)
			}
			reqs, n = plan(l, r)
		}
		if len(reqs) == 0 {
			return appended, nil
		}
		_, err = s.docs.Documents.BatchUpdate(id, &docs.BatchUpdateDocumentRequest{
			Requests:     reqs,
			WriteControl: &docs.WriteControl{RequiredRevisionId: l.revision},
		}).Context(ctx).Do()
		if err != nil {
			if stale(ctx, s, id, l.revision, err) {
				continue
			}
			return appended, fmt.Errorf("google doc: update document %s (%d requests): %w", id, len(reqs), err)
		}
		appended += n
	}
	return appended, fmt.Errorf("google doc: document %s kept changing under %d writes; trying again later", id, rounds)
}

// stale reports whether err (a 400) came from the document's revision
// having moved on since it was read: the service answers a mismatched
// requiredRevisionId with 400, and the revision, read again, tells.
func stale(ctx context.Context, s *Store, id, revision string, err error) bool {
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusBadRequest {
		return false
	}
	d, gerr := s.docs.Documents.Get(id).Fields("revisionId").Context(ctx).Do()
	return gerr == nil && d.RevisionId != revision
}

// transient reports whether err may pass on retrying, and the wait the
// service asked for.
func transient(err error) (bool, time.Duration) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false, 0
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return !ae.NonRetryable(), 0
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		after := time.Duration(0)
		if v, perr := strconv.Atoi(ge.Header.Get("Retry-After")); perr == nil && v > 0 {
			after = time.Duration(v) * time.Second
		}
		switch {
		case ge.Code == http.StatusTooManyRequests || ge.Code == http.StatusRequestTimeout || ge.Code >= 500:
			return true, after
		case ge.Code == http.StatusForbidden && rateLimited(ge):
			return true, after
		}
		return false, 0
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.Response != nil && re.Response.StatusCode >= 500, 0
	}
	// A dropped connection, a reset, a timeout: the request may or may
	// not have been carried out; the next attempt reads before it writes.
	return true, 0
}

func rateLimited(ge *googleapi.Error) bool {
	for _, e := range ge.Errors {
		switch e.Reason {
		case "rateLimitExceeded", "userRateLimitExceeded", "sharingRateLimitExceeded":
			return true
		}
	}
	return false
}

// classify turns err into what Temporal should do with it: non-retryable
// application errors for what retrying cannot fix, err itself otherwise.
func classify(err error) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return err
	}
	if retry, _ := transient(err); retry {
		return err
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		typ := BadRequestType
		hint := ""
		switch ge.Code {
		case http.StatusNotFound:
			typ, hint = NotFoundType, " (is the template, the folder or the document shared with the service account?)"
		case http.StatusForbidden:
			typ, hint = ForbiddenType, " (give the service account Content manager on the folder's shared drive and read access to the template)"
		case http.StatusUnauthorized:
			typ = UnauthorizedType
		}
		return temporal.NewNonRetryableApplicationError(err.Error()+hint, typ, err)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		// The token endpoint's refusal; its body names the reason, not
		// the key.
		return temporal.NewNonRetryableApplicationError("google doc: the credentials were refused: "+re.ErrorCode+" "+re.ErrorDescription, UnauthorizedType, nil)
	}
	return err
}
