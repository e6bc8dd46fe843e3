package s3act

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/datasev/datasev/runbooks"
)

// InspectPrefixName is s3.inspect_prefix's action name.
const InspectPrefixName = "s3.inspect_prefix"

// Bounds of s3.inspect_prefix.
const (
	// DefaultMaxObjects is how many objects are listed under each prefix
	// when the step gives no max_objects.
	DefaultMaxObjects = 100_000
	// MaxMaxObjects is the largest max_objects accepted.
	MaxMaxObjects = 1_000_000
)

// InspectPrefixSpec is s3.inspect_prefix's spec; actions.Typed adds its
// inputs from InspectPrefixInput.
func InspectPrefixSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: InspectPrefixName,
		Description: "Count and size the objects under a prefix: data objects, bytes, newest and oldest modification, " +
			"empty and suspiciously small objects, optionally compared with a previous prefix (objects and bytes ratios). " +
			"Markers, hidden files (a path element starting with _ or .) and directory placeholders are counted apart, " +
			"as other_objects. Lists at most max_objects keys per prefix (1,000 per List call) and says when it stopped " +
			"there. Fewer objects than min_objects, or ratios below min_ratio, are not an error: output ok is false.",
		Outputs: []string{
			"ok", "reason", "bucket", "prefix", "objects", "bytes", "newest_modified", "oldest_modified", "newest_age_minutes",
			"empty_objects", "small_objects", "other_objects", "examples", "truncated",
			"previous_prefix", "previous_objects", "previous_bytes", "previous_truncated", "objects_ratio", "bytes_ratio",
			"list_calls",
		},
	}
}

// InspectPrefixInput is s3.inspect_prefix's inputs.
type InspectPrefixInput struct {
	Bucket         string  `json:"bucket" datasev:"required" desc:"bucket name, e.g. lake (not an s3:// URL)"`
	Prefix         string  `json:"prefix" datasev:"required" desc:"key prefix to inspect, e.g. events/dt=2026-11-25/ (as written: without a trailing / it also matches keys that merely start the same way; / for the whole bucket)"`
	PreviousPrefix string  `json:"previous_prefix" desc:"a prefix to compare with, e.g. the previous partition (s3.latest_partition's output previous_prefix)"`
	MinBytes       int64   `json:"min_bytes" desc:"non-empty objects smaller than this many bytes count as suspiciously small (default 0: none)"`
	MinObjects     *int64  `json:"min_objects" desc:"ok requires at least this many data objects (default 1)"`
	MinRatio       float64 `json:"min_ratio" desc:"with previous_prefix: ok requires objects and bytes to be at least this fraction of the previous prefix's, e.g. 0.5"`
	MaxObjects     int64   `json:"max_objects" desc:"bound on the keys listed under each prefix (default 100000, at most 1000000); when reached, the output says truncated and ratios are not judged"`
}

// InspectPrefix counts and sizes the objects under a prefix.
func (a *Actions) InspectPrefix(ctx context.Context, _ runbooks.ActionRequest, in InspectPrefixInput) (runbooks.ActionResult, error) {
	const name = InspectPrefixName
	bucket, err := a.bucket(name, in.Bucket)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	prefix := normPrefix(in.Prefix, false)
	prevPrefix := normPrefix(in.PreviousPrefix, false)
	comparing := strings.TrimSpace(in.PreviousPrefix) != ""
	maxObjects := in.MaxObjects
	switch {
	case maxObjects == 0:
		maxObjects = DefaultMaxObjects
	case maxObjects < 0 || maxObjects > MaxMaxObjects:
		return runbooks.ActionResult{}, badRequest(name, "max_objects %d: want 1 to %d", in.MaxObjects, MaxMaxObjects)
	}
	if in.MinBytes < 0 {
		return runbooks.ActionResult{}, badRequest(name, "min_bytes %d is negative", in.MinBytes)
	}
	if in.MinRatio < 0 || math.IsNaN(in.MinRatio) || math.IsInf(in.MinRatio, 0) {
		return runbooks.ActionResult{}, badRequest(name, "min_ratio %v: want a fraction such as 0.5", in.MinRatio)
	}
	minObjects := int64(1)
	if in.MinObjects != nil {
		minObjects = *in.MinObjects
	}
	now := a.now().UTC()

	// The two listings are independent: run them at once.
	cur := &lister{client: a.client, action: name, bucket: bucket}
	prev := &lister{client: a.client, action: name, bucket: bucket}
	var st, pst objStats
	var perr error
	var wg sync.WaitGroup
	if comparing {
		wg.Go(func() { pst, perr = prev.scan(ctx, prevPrefix, maxObjects, in.MinBytes, "") })
	}
	st, err = cur.scan(ctx, prefix, maxObjects, in.MinBytes, "")
	wg.Wait()
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	if perr != nil {
		return runbooks.ActionResult{}, perr
	}

	out := map[string]any{
		"bucket":        bucket,
		"prefix":        prefix,
		"objects":       st.objects,
		"bytes":         st.bytes,
		"empty_objects": st.empty,
		"other_objects": st.other,
		"truncated":     st.truncated,
		"examples":      append([]string{}, st.examples...),
		"list_calls":    cur.lists + prev.lists,
	}
	if in.MinBytes > 0 {
		out["small_objects"] = st.small
	}
	if !st.newest.IsZero() {
		out["newest_modified"] = rfc3339(st.newest)
		out["oldest_modified"] = rfc3339(st.oldest)
		out["newest_age_minutes"] = int64(now.Sub(st.newest) / time.Minute)
	}

	var reasons []string
	tooFew := ""
	if st.objects < minObjects {
		tooFew = fmt.Sprintf("%s under %s, want at least %s",
			plural(st.objects, "data object", "data objects"), location(bucket, prefix), count(minObjects))
		reasons = append(reasons, tooFew)
	}
	var objRatio, byteRatio float64
	hasObjRatio, hasByteRatio, ratioLow := false, false, false
	if comparing {
		out["previous_prefix"] = prevPrefix
		out["previous_objects"] = pst.objects
		out["previous_bytes"] = pst.bytes
		out["previous_truncated"] = pst.truncated
		truncated := st.truncated || pst.truncated
		if pst.objects > 0 && !truncated {
			objRatio, hasObjRatio = round3(float64(st.objects)/float64(pst.objects)), true
			out["objects_ratio"] = objRatio
		}
		if pst.bytes > 0 && !truncated {
			byteRatio, hasByteRatio = round3(float64(st.bytes)/float64(pst.bytes)), true
			out["bytes_ratio"] = byteRatio
		}
		if in.MinRatio > 0 {
			if hasObjRatio && objRatio < in.MinRatio {
				ratioLow = true
				reasons = append(reasons, fmt.Sprintf("objects %.2f× the previous prefix's (%s vs %s), want at least %.2f×",
					objRatio, count(st.objects), count(pst.objects), in.MinRatio))
			}
			if hasByteRatio && byteRatio < in.MinRatio {
				ratioLow = true
				reasons = append(reasons, fmt.Sprintf("bytes %.2f× the previous prefix's (%s vs %s), want at least %.2f×",
					byteRatio, humanBytes(st.bytes), humanBytes(pst.bytes), in.MinRatio))
			}
		}
	}
	ok := verdict(out, reasons)

	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → ", name, location(bucket, prefix))
	objs := plural(st.objects, "object", "objects")
	if st.truncated {
		objs = "≥" + objs + " (stopped at max_objects)"
	}
	fmt.Fprintf(&b, "%s, %s", objs, humanBytes(st.bytes))
	if !st.newest.IsZero() {
		fmt.Fprintf(&b, ", newest %s (%s ago)", rfc3339(st.newest), humanAge(now.Sub(st.newest)))
	}
	if st.empty > 0 {
		fmt.Fprintf(&b, ", %s empty", count(st.empty))
	}
	if in.MinBytes > 0 && st.small > 0 {
		fmt.Fprintf(&b, ", %s < %s", count(st.small), humanBytes(in.MinBytes))
	}
	if comparing {
		fmt.Fprintf(&b, "; vs %s: ", location(bucket, prevPrefix))
		switch {
		case st.truncated || pst.truncated:
			b.WriteString("not compared (a listing stopped at max_objects)")
		case !hasObjRatio:
			b.WriteString("previous has no data objects")
		default:
			fmt.Fprintf(&b, "%.2f× objects", objRatio)
			if hasByteRatio {
				fmt.Fprintf(&b, ", %.2f× bytes", byteRatio)
			}
			if in.MinRatio > 0 {
				verdict := "ok"
				if ratioLow {
					verdict = "LOW"
				}
				fmt.Fprintf(&b, " (min %.2f: %s)", in.MinRatio, verdict)
			}
		}
	}
	if tooFew != "" {
		fmt.Fprintf(&b, " — not ok: %s", tooFew)
	}
	res := runbooks.ActionResult{Output: out, Summary: b.String()}
	if !ok || len(st.examples) > 0 {
		var d strings.Builder
		if !ok {
			fmt.Fprintf(&d, "**Check failed**: %s\n\n", out["reason"])
		}
		if len(st.examples) > 0 {
			fmt.Fprintf(&d, "Empty or small objects (first %d):\n", len(st.examples))
			for _, k := range st.examples {
				fmt.Fprintf(&d, "- `%s`\n", k)
			}
		}
		res.Detail = d.String()
	}
	return res, nil
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
