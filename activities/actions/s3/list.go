package s3act

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.temporal.io/sdk/activity"

	"github.com/datasev/datasev/activities/actions/heartbeat"
)

// pageSize is the most keys one List call returns (S3's own maximum).
const pageSize = 1000

// lister makes an action's List and HEAD calls on one bucket, counting
// them.
type lister struct {
	client *s3.Client
	action string
	bucket string
	lists  int
	heads  int
}

// newLister is a lister for action's calls on bucket.
func (a *Actions) newLister(action, bucket string) *lister {
	return &lister{client: a.client, action: action, bucket: bucket}
}

func (l *lister) list(ctx context.Context, in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
	in.Bucket = aws.String(l.bucket)
	l.lists++
	out, err := l.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, classify(l.action, opList, l.bucket, aws.ToString(in.Prefix), err)
	}
	if l.lists%10 == 0 && activity.IsActivity(ctx) {
		heartbeat.Record(ctx, l.lists)
	}
	return out, nil
}

// more reports whether a listing has another page, and its token.
func more(out *s3.ListObjectsV2Output) (*string, bool) {
	if aws.ToBool(out.IsTruncated) && aws.ToString(out.NextContinuationToken) != "" {
		return out.NextContinuationToken, true
	}
	return nil, false
}

// objStats sums up the objects under a prefix.
type objStats struct {
	// objects, bytes, newest, oldest are over the data objects: every
	// object but markers, hidden files and directory placeholders.
	objects, bytes int64
	newest, oldest time.Time
	newestKey      string
	empty, small   int64
	other          int64
	examples       []string
	marker         bool
	markerModified time.Time
	truncated      bool
	keysSeen       int64
}

// maxExamples bounds the empty or small keys kept as examples.
const maxExamples = 5

// scan lists every object under prefix (no delimiter), at most maxObjects
// of them, and sums them up. An object counts as data unless it is a
// directory placeholder (key ends in /) or a hidden file: a path element
// below prefix's directory starting with _ or . (_SUCCESS, _temporary/…,
// .crc files), as Spark and Hive readers ignore them. marker (when not "")
// is looked for directly in prefix's directory.
func (l *lister) scan(ctx context.Context, prefix string, maxObjects int64, minBytes int64, marker string) (objStats, error) {
	var st objStats
	dir := prefix[:strings.LastIndex(prefix, "/")+1]
	var token *string
	for {
		want := min(int64(pageSize), maxObjects-st.keysSeen)
		out, err := l.list(ctx, &s3.ListObjectsV2Input{
			Prefix:            aws.String(prefix),
			MaxKeys:           aws.Int32(int32(want)),
			ContinuationToken: token,
		})
		if err != nil {
			return st, err
		}
		for _, o := range out.Contents {
			if st.keysSeen >= maxObjects {
				st.truncated = true
				break
			}
			st.keysSeen++
			key := aws.ToString(o.Key)
			rel := strings.TrimPrefix(key, dir)
			size := aws.ToInt64(o.Size)
			mod := aws.ToTime(o.LastModified)
			if marker != "" && rel == marker {
				st.marker = true
				st.markerModified = mod
				continue
			}
			if hidden(rel) {
				st.other++
				continue
			}
			st.objects++
			st.bytes += size
			if mod.After(st.newest) {
				st.newest, st.newestKey = mod, key
			}
			if st.oldest.IsZero() || mod.Before(st.oldest) {
				st.oldest = mod
			}
			switch {
			case size == 0:
				st.empty++
			case size < minBytes:
				st.small++
			default:
				continue
			}
			if len(st.examples) < maxExamples {
				st.examples = append(st.examples, key)
			}
		}
		next, ok := more(out)
		if !ok {
			break
		}
		if st.keysSeen >= maxObjects {
			st.truncated = true
			break
		}
		token = next
	}
	return st, nil
}

// objectCount writes a scan's data objects for a summary: "12 objects",
// or "≥1,000 objects" when the listing stopped before the end.
func objectCount(st objStats) string {
	objs := plural(st.objects, "object", "objects")
	if st.truncated {
		objs = "≥" + objs
	}
	return objs
}

// hidden reports whether a key (relative to its listing's directory) is a
// directory placeholder or lies under, or is, a file or directory whose
// name starts with _ or ..
func hidden(rel string) bool {
	if rel == "" || strings.HasSuffix(rel, "/") {
		return true
	}
	for elem := range strings.SplitSeq(rel, "/") {
		if strings.HasPrefix(elem, "_") || strings.HasPrefix(elem, ".") {
			return true
		}
	}
	return false
}

// normPrefix strips leading slashes and, when dir is true, makes a
// non-empty prefix end in one.
func normPrefix(p string, dir bool) string {
	p = strings.TrimLeft(strings.TrimSpace(p), "/")
	if dir && p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// humanBytes writes n in IEC units: 512 B, 3.4 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanAge writes a duration the way people say it: 45s, 43m, 2h13m, 3d4h.
func humanAge(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			s = fmt.Sprintf("%dh", h)
		} else {
			s = fmt.Sprintf("%dh%02dm", h, m)
		}
	default:
		dd, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			s = fmt.Sprintf("%dd", dd)
		} else {
			s = fmt.Sprintf("%dd%dh", dd, h)
		}
	}
	if neg {
		return "-" + s
	}
	return s
}

// count writes n with thousands separators: 1,234,567.
func count(n int64) string {
	if n < 0 {
		return "-" + count(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return count(n) + " " + many
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
