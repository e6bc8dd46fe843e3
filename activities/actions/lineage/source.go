package lineage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-github/v57/github"
	"go.temporal.io/sdk/temporal"

	"github.com/datasev/datasev/activities/support/retryafter"
	"github.com/datasev/datasev/activities/support/target"
)

// Sources holds the clients that fetch manifests from remote stores. A nil
// client leaves its scheme unconfigured: a manifest URI using it fails
// with a non-retryable error naming what to configure.
type Sources struct {
	// S3 reads s3://bucket/key manifests.
	S3 *s3.Client
	// GitHub reads github://owner/repo/path@ref manifests.
	GitHub *github.Client
	// Targets is the target policy manifests must be within
	// (targets.lineage.paths, .s3 and .github); nil (no policy) reads
	// any manifest the worker can.
	Targets *target.Policy
}

// URI schemes a manifest may be read from.
const (
	SchemeFile   = "file"
	SchemeS3     = "s3"
	SchemeGitHub = "github"
)

// Location is a parsed manifest URI.
type Location struct {
	// Scheme is SchemeFile, SchemeS3 or SchemeGitHub.
	Scheme string
	// Path is the local path (file), or the key (s3) or path in the
	// repository (github).
	Path string
	// Bucket is the S3 bucket.
	Bucket string
	// Owner and Repo name the GitHub repository.
	Owner, Repo string
	// Ref is the git ref (branch, tag or sha); "" for the default branch.
	Ref string
}

// ParseURI parses a manifest URI: a local path or file:///path,
// s3://bucket/key, or github://owner/repo/path/to/manifest.json@ref (the
// @ref is optional and defaults to the repository's default branch).
func ParseURI(uri string) (Location, error) {
	u := strings.TrimSpace(uri)
	if u == "" {
		return Location{}, errors.New("empty manifest URI")
	}
	scheme, rest, hasScheme := strings.Cut(u, "://")
	if !hasScheme {
		if strings.Contains(u, ":") && !filepath.IsAbs(u) && !strings.HasPrefix(u, ".") {
			if s, _, _ := strings.Cut(u, ":"); strings.ToLower(s) == SchemeS3 || strings.ToLower(s) == SchemeGitHub {
				return Location{}, fmt.Errorf("manifest URI %q: want %s://…", uri, strings.ToLower(s))
			}
		}
		return Location{Scheme: SchemeFile, Path: filepath.Clean(u)}, nil
	}
	switch strings.ToLower(scheme) {
	case SchemeFile:
		pu, err := url.Parse(u)
		if err != nil {
			return Location{}, fmt.Errorf("manifest URI %q: %w", uri, err)
		}
		if pu.Host != "" && pu.Host != "localhost" {
			return Location{}, fmt.Errorf("manifest URI %q: file URIs name a local path (file:///path/manifest.json), not host %q", uri, pu.Host)
		}
		if pu.Path == "" {
			return Location{}, fmt.Errorf("manifest URI %q: no path", uri)
		}
		return Location{Scheme: SchemeFile, Path: filepath.Clean(filepath.FromSlash(pu.Path))}, nil
	case SchemeS3:
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" || key == "" || strings.HasSuffix(key, "/") {
			return Location{}, fmt.Errorf("manifest URI %q: want s3://bucket/path/to/manifest.json", uri)
		}
		return Location{Scheme: SchemeS3, Bucket: bucket, Path: key}, nil
	case SchemeGitHub:
		ref := ""
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			rest, ref = rest[:i], rest[i+1:]
			if ref == "" {
				return Location{}, fmt.Errorf("manifest URI %q: empty ref after @", uri)
			}
		}
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" || strings.HasSuffix(parts[2], "/") {
			return Location{}, fmt.Errorf("manifest URI %q: want github://owner/repo/path/to/manifest.json@ref", uri)
		}
		if strings.Contains(parts[2], "..") {
			return Location{}, fmt.Errorf("manifest URI %q: the path may not contain ..", uri)
		}
		return Location{Scheme: SchemeGitHub, Owner: parts[0], Repo: parts[1], Path: strings.Trim(parts[2], "/"), Ref: ref}, nil
	}
	return Location{}, fmt.Errorf("manifest URI %q: unknown scheme %q (want a local path, file://, s3:// or github://)", uri, scheme)
}

// String is the location as a URI.
func (l Location) String() string {
	switch l.Scheme {
	case SchemeS3:
		return "s3://" + l.Bucket + "/" + l.Path
	case SchemeGitHub:
		s := "github://" + l.Owner + "/" + l.Repo + "/" + l.Path
		if l.Ref != "" {
			s += "@" + l.Ref
		}
		return s
	}
	return l.Path
}

// Types of the errors manifest loading returns.
const (
	// BadURIType: the manifest URI cannot be parsed.
	BadURIType = "BadManifestURI"
	// NotConfiguredType: the worker has no client for the URI's scheme.
	NotConfiguredType = "NotConfigured"
	// NotFoundType: no manifest at the URI (no file, bucket, key,
	// repository, path or ref).
	NotFoundType = "ManifestNotFound"
	// AccessDeniedType: the worker may not read the manifest.
	AccessDeniedType = "AccessDenied"
	// InvalidManifestType: the manifest is not valid JSON or not a dbt
	// manifest.
	InvalidManifestType = "InvalidManifest"
	// TooLargeType: the manifest exceeds the configured size bound.
	TooLargeType = "ManifestTooLarge"
	// RateLimitedType: GitHub's rate limit (primary, secondary or a 429);
	// retried after its reset or Retry-After, at most 15 minutes on.
	RateLimitedType = "RateLimited"
	// UnavailableType: GitHub answered 5xx with Retry-After; retried
	// after it, at most 15 minutes on. A 5xx without Retry-After is a
	// plain retryable error.
	UnavailableType = "GitHubUnavailable"
	// UnknownNodeType: the node names nothing in the manifest.
	UnknownNodeType = "UnknownNode"
	// AmbiguousNodeType: the node's name matches several nodes.
	AmbiguousNodeType = "AmbiguousNode"
)

// Environment that configures the clients, named in "not configured"
// errors. The worker builds the S3 client as activities/actions/s3 does and the
// GitHub client as activities/actions/github does.
const (
	envS3Hint     = "DATASEV_S3_ENDPOINT / DATASEV_S3_REGION and the AWS default credential chain (see activities/actions/s3)"
	envGitHubHint = "DATASEV_GITHUB_TOKEN (or DATASEV_GITHUB_TOKEN_FILE, or DATASEV_GITHUB_APP_ID, DATASEV_GITHUB_APP_INSTALLATION_ID and DATASEV_GITHUB_APP_PRIVATE_KEY_FILE; see activities/actions/github)"
)

func nonRetryable(typ, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), typ, nil)
}

// fetcher reads one location: version asks for the current version token
// (cheaply: a stat, a HEAD, a contents lookup) and may hand back the bytes
// when that lookup carried them; open streams the content of that version
// and reports the version it actually read.
type fetcher interface {
	version(ctx context.Context) (token string, inline []byte, err error)
	open(ctx context.Context, token string) (rc io.ReadCloser, actual string, err error)
}

// policyErr makes a target policy refusal the manifest's error.
func policyErr(uri string, err error) error {
	var ae *temporal.ApplicationError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	return nonRetryable(ae.Type(), "manifest %s: %s", uri, ae.Message())
}

func (s Sources) fetcher(loc Location, uri string) (fetcher, error) {
	var err error
	switch loc.Scheme {
	case SchemeFile:
		err = s.Targets.LineageFile(loc.Path)
	case SchemeS3:
		err = s.Targets.LineageS3(loc.Bucket, loc.Path)
	case SchemeGitHub:
		err = s.Targets.LineageGitHub(loc.Owner, loc.Repo, loc.Path)
	}
	if err != nil {
		return nil, policyErr(uri, err)
	}
	switch loc.Scheme {
	case SchemeFile:
		return fileFetcher{path: loc.Path, uri: uri}, nil
	case SchemeS3:
		if s.S3 == nil {
			return nil, nonRetryable(NotConfiguredType, "manifest %s: the worker has no S3 client for s3:// manifests; configure %s", uri, envS3Hint)
		}
		return s3Fetcher{c: s.S3, loc: loc, uri: uri}, nil
	case SchemeGitHub:
		if s.GitHub == nil {
			return nil, nonRetryable(NotConfiguredType, "manifest %s: the worker has no GitHub client for github:// manifests; configure %s", uri, envGitHubHint)
		}
		return &githubFetcher{c: s.GitHub, loc: loc, uri: uri}, nil
	}
	return nil, nonRetryable(BadURIType, "manifest %s: unknown scheme %q", uri, loc.Scheme)
}

// fileFetcher reads a local file; its version is size and mtime.
type fileFetcher struct{ path, uri string }

func fileToken(fi fs.FileInfo) string {
	return fmt.Sprintf("%d-%d", fi.Size(), fi.ModTime().UnixNano())
}

func (f fileFetcher) fileErr(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nonRetryable(NotFoundType, "manifest %s: no such file", f.uri)
	case errors.Is(err, fs.ErrPermission):
		return nonRetryable(AccessDeniedType, "manifest %s: permission denied", f.uri)
	}
	return fmt.Errorf("manifest %s: %w", f.uri, err)
}

func (f fileFetcher) version(context.Context) (string, []byte, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return "", nil, f.fileErr(err)
	}
	if fi.IsDir() {
		return "", nil, nonRetryable(NotFoundType, "manifest %s: is a directory; give the path of manifest.json (usually target/manifest.json)", f.uri)
	}
	return fileToken(fi), nil, nil
}

func (f fileFetcher) open(context.Context, string) (io.ReadCloser, string, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, "", f.fileErr(err)
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, "", f.fileErr(err)
	}
	return fh, fileToken(fi), nil
}

// s3Fetcher reads an S3 object; its version is the ETag.
type s3Fetcher struct {
	c   *s3.Client
	loc Location
	uri string
}

func (f s3Fetcher) version(ctx context.Context) (string, []byte, error) {
	h, err := f.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.loc.Bucket), Key: aws.String(f.loc.Path)})
	if err != nil {
		return "", nil, f.classify("HeadObject", err)
	}
	return strings.Trim(aws.ToString(h.ETag), `"`), nil, nil
}

func (f s3Fetcher) open(ctx context.Context, _ string) (io.ReadCloser, string, error) {
	o, err := f.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(f.loc.Bucket), Key: aws.String(f.loc.Path)})
	if err != nil {
		return nil, "", f.classify("GetObject", err)
	}
	return o.Body, strings.Trim(aws.ToString(o.ETag), `"`), nil
}

// classify maps an S3 error: missing bucket or key and refused access are
// non-retryable; throttling, 5xx and network errors are returned as they
// are, so Temporal retries them.
func (f s3Fetcher) classify(op string, err error) error {
	code, status := "", 0
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket":
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("manifest %s: bucket %q does not exist", f.uri, f.loc.Bucket), NotFoundType, err)
	case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("manifest %s: no such object (%s)", f.uri, op), NotFoundType, err)
	case code == "AccessDenied" || code == "Forbidden" || status == http.StatusForbidden ||
		code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("manifest %s: access denied (%s %s); the worker's credentials need s3:GetObject on it", f.uri, op, code), AccessDeniedType, err)
	}
	return fmt.Errorf("manifest %s: %s: %w", f.uri, op, err)
}

// githubFetcher reads a file from a repository; its version is the git
// blob sha from the contents API.
type githubFetcher struct {
	c    *github.Client
	loc  Location
	uri  string
	size int64 // the file's size, from the version lookup
}

func (f *githubFetcher) version(ctx context.Context) (string, []byte, error) {
	opts := &github.RepositoryContentGetOptions{Ref: f.loc.Ref}
	file, _, _, err := f.c.Repositories.GetContents(ctx, f.loc.Owner, f.loc.Repo, f.loc.Path, opts)
	if err != nil {
		return "", nil, f.classify("get contents", err)
	}
	if file == nil {
		return "", nil, nonRetryable(NotFoundType, "manifest %s: is a directory; give the path of manifest.json", f.uri)
	}
	sha := file.GetSHA()
	f.size = int64(file.GetSize())
	if sha == "" {
		return "", nil, fmt.Errorf("manifest %s: the contents API gave no sha", f.uri)
	}
	// Files up to 1 MB come inline, base64-encoded; larger ones have
	// encoding "none" and are read through the blob API.
	if file.GetEncoding() == "base64" && file.Content != nil {
		b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(*file.Content, "\n", ""))
		if err != nil {
			return "", nil, fmt.Errorf("manifest %s: decoding the contents API's base64: %w", f.uri, err)
		}
		if len(b) > 0 || file.GetSize() == 0 {
			return sha, b, nil
		}
	}
	return sha, nil, nil
}

func (f *githubFetcher) open(ctx context.Context, sha string) (io.ReadCloser, string, error) {
	// Files over 1 MB are not inline in the contents API's JSON; its raw
	// media type streams them (up to 100 MB). The bytes are hashed as git
	// hashes a blob while they stream, so a manifest that changed between
	// the lookup and the download is caught rather than cached under the
	// wrong version.
	u := fmt.Sprintf("repos/%s/%s/contents/%s", url.PathEscape(f.loc.Owner), url.PathEscape(f.loc.Repo),
		(&url.URL{Path: f.loc.Path}).EscapedPath())
	if f.loc.Ref != "" {
		u += "?ref=" + url.QueryEscape(f.loc.Ref)
	}
	req, err := f.c.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("manifest %s: %w", f.uri, err)
	}
	req.Header.Set("Accept", "application/vnd.github.raw")
	resp, err := f.c.BareDo(ctx, req)
	if err != nil {
		return nil, "", f.classify("get raw contents", err)
	}
	return newBlobVerifier(resp.Body, sha, f.size, f.uri), sha, nil
}

// errChanged is the error of a download whose content is not the blob
// the version lookup named: the file changed in between. It is retryable.
var errChanged = errors.New("the manifest changed while it was downloaded; retrying reads the new version")

// blobVerifier passes a download through while computing its git blob
// sha (sha1 of "blob <size>\x00" and the content), and at the end fails
// instead of reporting EOF when the sha is not the one expected.
type blobVerifier struct {
	rc   io.ReadCloser
	want string
	uri  string
	h    hash.Hash
}

func newBlobVerifier(rc io.ReadCloser, sha string, size int64, uri string) *blobVerifier {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return &blobVerifier{rc: rc, want: sha, uri: uri, h: h}
}

func (v *blobVerifier) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := v.sum(); got != v.want {
			return n, fmt.Errorf("manifest %s: %w (blob %s, downloaded %s)", v.uri, errChanged, v.want, got)
		}
	}
	return n, err
}

func (v *blobVerifier) sum() string { return hex.EncodeToString(v.h.Sum(nil)) }

func (v *blobVerifier) Close() error { return v.rc.Close() }

// maxRetryDelay caps the NextRetryDelay taken from GitHub's rate-limit
// reset and Retry-After headers, so a manifest lookup is tried again
// within the activity's retry policy rather than hours later. It is the
// cap of the GitHub actions (ghact.MaxRetryDelay in activities/actions/github),
// kept here rather than imported: that package would bring its GitHub App
// auth (ghinstallation, jwt and a second go-github) into lineage for one
// constant. The tests check the two agree.
const maxRetryDelay = 15 * time.Minute

// retryDelay bounds a wait GitHub asked for to [1s, maxRetryDelay].
func retryDelay(d time.Duration) time.Duration {
	return retryafter.Bound(d, time.Second, maxRetryDelay)
}

// classify maps a go-github error: 404 and 401/403 are non-retryable; a
// rate limit (primary, secondary or a 429) retries after its reset or
// Retry-After, and a 5xx with Retry-After after that, each capped at
// maxRetryDelay; other 5xx and network errors retry on the activity's
// retry policy.
func (f *githubFetcher) classify(op string, err error) error {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		wait := retryDelay(time.Until(rl.Rate.Reset.Time))
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("manifest %s: GitHub rate limit reached (%s), resets at %s; retrying in %s",
				f.uri, op, rl.Rate.Reset.UTC().Format(time.RFC3339), wait.Round(time.Second)),
			RateLimitedType, temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: err})
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		wait := time.Minute
		if ab.RetryAfter != nil {
			wait = *ab.RetryAfter
		}
		wait = retryDelay(wait)
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("manifest %s: GitHub secondary rate limit (%s); retrying in %s", f.uri, op, wait.Round(time.Second)),
			RateLimitedType, temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: err})
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		retryAfter := retryafter.Parse(er.Response.Header.Get("Retry-After"), time.Now())
		switch st := er.Response.StatusCode; {
		case st == http.StatusTooManyRequests:
			wait := time.Minute
			if retryAfter > 0 {
				wait = retryAfter
			}
			wait = retryDelay(wait)
			return temporal.NewApplicationErrorWithOptions(
				fmt.Sprintf("manifest %s: GitHub rate limit (%s: %d %s); retrying in %s", f.uri, op, st, er.Message, wait.Round(time.Second)),
				RateLimitedType, temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: err})
		case st >= 500 && retryAfter > 0:
			wait := retryDelay(retryAfter)
			return temporal.NewApplicationErrorWithOptions(
				fmt.Sprintf("manifest %s: GitHub unavailable (%s: %d %s); retrying in %s", f.uri, op, st, er.Message, wait.Round(time.Second)),
				UnavailableType, temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: err})
		case st == http.StatusNotFound:
			ref := f.loc.Ref
			if ref == "" {
				ref = "the default branch"
			}
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("manifest %s: not found (%s: no repository %s/%s, no path %s at %s, or no access)", f.uri, op, f.loc.Owner, f.loc.Repo, f.loc.Path, ref),
				NotFoundType, err)
		case st == http.StatusUnauthorized || st == http.StatusForbidden:
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("manifest %s: GitHub refused the worker's credentials (%s: %d %s); check %s", f.uri, op, st, er.Message, envGitHubHint),
				AccessDeniedType, err)
		case st == http.StatusUnprocessableEntity || (st >= 400 && st < 500 && st != http.StatusRequestTimeout):
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("manifest %s: GitHub answered %d %s (%s)", f.uri, st, er.Message, op), BadURIType, err)
		}
	}
	return fmt.Errorf("manifest %s: %s: %w", f.uri, op, err)
}

// inlineReader wraps bytes the version lookup already carried.
func inlineReader(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
