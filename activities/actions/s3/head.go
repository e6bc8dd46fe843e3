package s3act

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/datasev/datasev/runbooks"
)

// ObjectHeadName is s3.object_head's action name.
const ObjectHeadName = "s3.object_head"

// ObjectHeadSpec is s3.object_head's spec; actions.Typed adds its inputs
// from ObjectHeadInput.
func ObjectHeadSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: ObjectHeadName,
		Description: "Read one object's metadata with a HEAD request: whether it exists, its size, modification time, " +
			"content type, ETag and user metadata. A missing object (in an existing bucket), one older than max_age or " +
			"smaller than min_bytes is not an error: output ok is false. A missing bucket is a non-retryable error.",
		Outputs: []string{
			"ok", "reason", "bucket", "key", "exists", "size", "last_modified", "age_minutes", "content_type",
			"etag", "storage_class", "metadata",
		},
	}
}

// ObjectHeadInput is s3.object_head's inputs.
type ObjectHeadInput struct {
	Bucket   string            `json:"bucket" datasev:"required" desc:"bucket name, e.g. lake (not an s3:// URL)"`
	Key      string            `json:"key" datasev:"required" desc:"the object's key, e.g. exports/daily.csv"`
	MaxAge   runbooks.Duration `json:"max_age" desc:"when given, ok requires the object to have been modified within it"`
	MinBytes int64             `json:"min_bytes" desc:"when given, ok requires the object to be at least this many bytes"`
}

// ObjectHead reads one object's metadata.
func (a *Actions) ObjectHead(ctx context.Context, _ runbooks.ActionRequest, in ObjectHeadInput) (runbooks.ActionResult, error) {
	const name = ObjectHeadName
	bucket, err := a.bucket(name, in.Bucket)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	key := in.Key
	if in.MinBytes < 0 {
		return runbooks.ActionResult{}, badRequest(name, "min_bytes %d is negative", in.MinBytes)
	}
	where := location(bucket, key)
	out := map[string]any{"bucket": bucket, "key": key}

	h, err := a.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if !isNotFound(err) {
			return runbooks.ActionResult{}, classify(name, opHeadObject, bucket, key, err)
		}
		// A HEAD's 404 has no body: it means no such key or no such
		// bucket. Ask about the bucket.
		if _, berr := a.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); berr != nil {
			if isNotFound(berr) || apiCode(berr) == "NoSuchBucket" {
				return runbooks.ActionResult{}, noBucket(name, opHeadObject, bucket, key, berr)
			}
			return runbooks.ActionResult{}, classify(name, opHeadBucket, bucket, "", berr)
		}
		out["exists"] = false
		out["ok"] = false
		out["reason"] = "no object " + where
		return runbooks.ActionResult{
			Output:  out,
			Summary: fmt.Sprintf("%s %s → missing", name, where),
			Detail:  fmt.Sprintf("**Check failed**: no object `%s` (the bucket exists).\n", where),
		}, nil
	}

	now := a.now().UTC()
	size := aws.ToInt64(h.ContentLength)
	mod := aws.ToTime(h.LastModified)
	age := now.Sub(mod)
	meta := map[string]any{}
	for k, v := range h.Metadata {
		meta[k] = v
	}
	out["exists"] = true
	out["size"] = size
	out["last_modified"] = rfc3339(mod)
	out["age_minutes"] = int64(age / time.Minute)
	out["content_type"] = aws.ToString(h.ContentType)
	out["etag"] = strings.Trim(aws.ToString(h.ETag), `"`)
	out["metadata"] = meta
	if h.StorageClass != "" {
		out["storage_class"] = string(h.StorageClass)
	}

	var reasons []string
	if maxAge := in.MaxAge.Std(); maxAge > 0 && age > maxAge {
		reasons = append(reasons, fmt.Sprintf("modified %s ago, want within %s", humanAge(age), humanAge(maxAge)))
	}
	if in.MinBytes > 0 && size < in.MinBytes {
		reasons = append(reasons, fmt.Sprintf("%s, want at least %s", humanBytes(size), humanBytes(in.MinBytes)))
	}
	ok := verdict(out, reasons)

	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → %s, modified %s (%s ago)", name, where, humanBytes(size), rfc3339(mod), humanAge(age))
	if ct := aws.ToString(h.ContentType); ct != "" {
		fmt.Fprintf(&b, ", %s", ct)
	}
	if len(meta) > 0 {
		fmt.Fprintf(&b, ", %s", plural(int64(len(meta)), "metadata key", "metadata keys"))
	}
	res := runbooks.ActionResult{Output: out}
	if !ok {
		fmt.Fprintf(&b, " — not ok: %s", out["reason"])
		res.Detail = fmt.Sprintf("**Check failed**: %s\n", out["reason"])
	}
	res.Summary = b.String()
	return res, nil
}
