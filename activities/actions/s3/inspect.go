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
	c, err := a.newInspectCall(in)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	if err := c.scan(ctx); err != nil {
		return runbooks.ActionResult{}, err
	}
	out := c.output()
	ok, cmp := c.judge(out)
	res := runbooks.ActionResult{Output: out, Summary: c.summary(cmp)}
	if !ok || len(c.st.examples) > 0 {
		res.Detail = c.detail(out, ok)
	}
	return res, nil
}

// inspectCall is one s3.inspect_prefix call: its inputs, checked and
// defaulted, its two listers (the prefix's and the previous prefix's) and
// what they found.
type inspectCall struct {
	in                 InspectPrefixInput
	bucket             string
	prefix, prevPrefix string
	comparing          bool
	maxObjects         int64
	minObjects         int64
	now                time.Time
	cur, prev          *lister
	st, pst            objStats
}

// newInspectCall checks in (bucket, max_objects, min_bytes, min_ratio, in
// that order) and applies the defaults of max_objects and min_objects.
func (a *Actions) newInspectCall(in InspectPrefixInput) (*inspectCall, error) {
	const name = InspectPrefixName
	bucket, err := a.bucket(name, in.Bucket)
	if err != nil {
		return nil, err
	}
	c := &inspectCall{
		in:         in,
		bucket:     bucket,
		prefix:     normPrefix(in.Prefix, false),
		prevPrefix: normPrefix(in.PreviousPrefix, false),
		comparing:  strings.TrimSpace(in.PreviousPrefix) != "",
		maxObjects: in.MaxObjects,
		minObjects: 1,
	}
	switch {
	case c.maxObjects == 0:
		c.maxObjects = DefaultMaxObjects
	case c.maxObjects < 0 || c.maxObjects > MaxMaxObjects:
		return nil, badRequest(name, "max_objects %d: want 1 to %d", in.MaxObjects, MaxMaxObjects)
	}
	if in.MinBytes < 0 {
		return nil, badRequest(name, "min_bytes %d is negative", in.MinBytes)
	}
	if in.MinRatio < 0 || math.IsNaN(in.MinRatio) || math.IsInf(in.MinRatio, 0) {
		return nil, badRequest(name, "min_ratio %v: want a fraction such as 0.5", in.MinRatio)
	}
	if in.MinObjects != nil {
		c.minObjects = *in.MinObjects
	}
	c.now = a.now().UTC()
	c.cur = a.newLister(name, bucket)
	c.prev = a.newLister(name, bucket)
	return c, nil
}

// scan lists the prefix and, when comparing, the previous prefix. The two
// listings are independent: they run at once. The prefix's error wins.
func (c *inspectCall) scan(ctx context.Context) error {
	var perr, err error
	var wg sync.WaitGroup
	if c.comparing {
		wg.Go(func() { c.pst, perr = c.prev.scan(ctx, c.prevPrefix, c.maxObjects, c.in.MinBytes, "") })
	}
	c.st, err = c.cur.scan(ctx, c.prefix, c.maxObjects, c.in.MinBytes, "")
	wg.Wait()
	if err != nil {
		return err
	}
	return perr
}

// output is the prefix's outputs; judge adds the verdict and comparison.
func (c *inspectCall) output() map[string]any {
	st := c.st
	out := map[string]any{
		"bucket":        c.bucket,
		"prefix":        c.prefix,
		"objects":       st.objects,
		"bytes":         st.bytes,
		"empty_objects": st.empty,
		"other_objects": st.other,
		"truncated":     st.truncated,
		"examples":      append([]string{}, st.examples...),
		"list_calls":    c.cur.lists + c.prev.lists,
	}
	if c.in.MinBytes > 0 {
		out["small_objects"] = st.small
	}
	if !st.newest.IsZero() {
		out["newest_modified"] = rfc3339(st.newest)
		out["oldest_modified"] = rfc3339(st.oldest)
		out["newest_age_minutes"] = int64(c.now.Sub(st.newest) / time.Minute)
	}
	return out
}

// comparison is the prefix measured against the previous prefix.
type comparison struct {
	tooFew                    string // why there are too few data objects; "" when enough
	objRatio, byteRatio       float64
	hasObjRatio, hasByteRatio bool
	ratioLow                  bool
}

// judge writes the verdict (at least min_objects data objects and, with
// min_ratio, ratios at least that) and the comparison's outputs.
func (c *inspectCall) judge(out map[string]any) (bool, comparison) {
	st, pst, minRatio := c.st, c.pst, c.in.MinRatio
	var cmp comparison
	var reasons []string
	if st.objects < c.minObjects {
		cmp.tooFew = fmt.Sprintf("%s under %s, want at least %s",
			plural(st.objects, "data object", "data objects"), location(c.bucket, c.prefix), count(c.minObjects))
		reasons = append(reasons, cmp.tooFew)
	}
	if !c.comparing {
		return verdict(out, reasons), cmp
	}
	out["previous_prefix"] = c.prevPrefix
	out["previous_objects"] = pst.objects
	out["previous_bytes"] = pst.bytes
	out["previous_truncated"] = pst.truncated
	truncated := st.truncated || pst.truncated
	if pst.objects > 0 && !truncated {
		cmp.objRatio, cmp.hasObjRatio = round3(float64(st.objects)/float64(pst.objects)), true
		out["objects_ratio"] = cmp.objRatio
	}
	if pst.bytes > 0 && !truncated {
		cmp.byteRatio, cmp.hasByteRatio = round3(float64(st.bytes)/float64(pst.bytes)), true
		out["bytes_ratio"] = cmp.byteRatio
	}
	if minRatio > 0 {
		if cmp.hasObjRatio && cmp.objRatio < minRatio {
			cmp.ratioLow = true
			reasons = append(reasons, fmt.Sprintf("objects %.2f× the previous prefix's (%s vs %s), want at least %.2f×",
				cmp.objRatio, count(st.objects), count(pst.objects), minRatio))
		}
		if cmp.hasByteRatio && cmp.byteRatio < minRatio {
			cmp.ratioLow = true
			reasons = append(reasons, fmt.Sprintf("bytes %.2f× the previous prefix's (%s vs %s), want at least %.2f×",
				cmp.byteRatio, humanBytes(st.bytes), humanBytes(pst.bytes), minRatio))
		}
	}
	return verdict(out, reasons), cmp
}

// summary is the one-line answer: objects, bytes, newest, empty and small
// objects, the comparison and, when there are too few objects, why.
func (c *inspectCall) summary(cmp comparison) string {
	st := c.st
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → ", InspectPrefixName, location(c.bucket, c.prefix))
	objs := objectCount(st)
	if st.truncated {
		objs += " (stopped at max_objects)"
	}
	fmt.Fprintf(&b, "%s, %s", objs, humanBytes(st.bytes))
	if !st.newest.IsZero() {
		fmt.Fprintf(&b, ", newest %s (%s ago)", rfc3339(st.newest), humanAge(c.now.Sub(st.newest)))
	}
	if st.empty > 0 {
		fmt.Fprintf(&b, ", %s empty", count(st.empty))
	}
	if c.in.MinBytes > 0 && st.small > 0 {
		fmt.Fprintf(&b, ", %s < %s", count(st.small), humanBytes(c.in.MinBytes))
	}
	if c.comparing {
		c.writeComparison(&b, cmp)
	}
	if cmp.tooFew != "" {
		fmt.Fprintf(&b, " — not ok: %s", cmp.tooFew)
	}
	return b.String()
}

// writeComparison adds the comparison with the previous prefix to the
// summary.
func (c *inspectCall) writeComparison(b *strings.Builder, cmp comparison) {
	fmt.Fprintf(b, "; vs %s: ", location(c.bucket, c.prevPrefix))
	switch {
	case c.st.truncated || c.pst.truncated:
		b.WriteString("not compared (a listing stopped at max_objects)")
	case !cmp.hasObjRatio:
		b.WriteString("previous has no data objects")
	default:
		fmt.Fprintf(b, "%.2f× objects", cmp.objRatio)
		if cmp.hasByteRatio {
			fmt.Fprintf(b, ", %.2f× bytes", cmp.byteRatio)
		}
		if c.in.MinRatio > 0 {
			verdict := "ok"
			if cmp.ratioLow {
				verdict = "LOW"
			}
			fmt.Fprintf(b, " (min %.2f: %s)", c.in.MinRatio, verdict)
		}
	}
}

// detail explains a failed check and lists the empty or small objects kept
// as examples.
func (c *inspectCall) detail(out map[string]any, ok bool) string {
	var d strings.Builder
	if !ok {
		fmt.Fprintf(&d, "**Check failed**: %s\n\n", out["reason"])
	}
	if len(c.st.examples) > 0 {
		fmt.Fprintf(&d, "Empty or small objects (first %d):\n", len(c.st.examples))
		for _, k := range c.st.examples {
			fmt.Fprintf(&d, "- `%s`\n", k)
		}
	}
	return d.String()
}

// round3 rounds f to three decimals.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
