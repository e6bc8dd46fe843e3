package s3act

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/datasev/datasev/runbooks"
)

// LatestPartitionName is s3.latest_partition's action name.
const LatestPartitionName = "s3.latest_partition"

// Bounds and defaults of s3.latest_partition.
const (
	// DefaultMarker is the completion marker looked for by default.
	DefaultMarker = "_SUCCESS"
	// MaxPartitionObjects bounds the objects listed in the newest
	// partition; beyond it the output says objects_truncated.
	MaxPartitionObjects = 10_000
	// MaxLevelPages bounds the List pages (of 1,000 directories) read at
	// one level of the layout.
	MaxLevelPages = 50
	// MinLookback is the least history the first level's listing starts
	// from (see LatestPartitionSpec).
	MinLookback = 7 * 24 * time.Hour
	// lookbackPeriods is how many partitions (or cadences) of history the
	// first level's listing starts from, when that is more than
	// MinLookback.
	lookbackPeriods = 50
	// tries is how many of the newest directories at a level are tried
	// before giving up, when the newest has no partition below it.
	tries = 2
)

// LatestPartitionSpec is s3.latest_partition's spec; actions.Typed adds its
// inputs from LatestPartitionInput.
func LatestPartitionSpec() runbooks.ActionSpec {
	return runbooks.ActionSpec{
		Name: LatestPartitionName,
		Description: "Find the newest time partition under a prefix (e.g. dt=YYYY-MM-DD/hr=HH) by listing one directory " +
			"level at a time, never the whole prefix, and judge it: age of its newest object against the expected " +
			"cadence, its data objects and bytes, and its completion marker. The first level is listed from " +
			"max(7 days, 50 partitions, 50 cadences) ago when the layout sorts by time (falling back to a full listing " +
			"of that level when nothing is that recent), so the List calls grow with the layout's depth, not with the " +
			"history or the object count. No partition (found false), or a stale, empty or unmarked one, is not an " +
			"error: output ok is false.",
		Outputs: []string{
			"ok", "reason", "found", "bucket", "prefix", "layout", "partition", "partition_prefix", "partition_time",
			"previous_prefix", "newest_key", "newest_modified", "age_seconds", "age_minutes", "expected_cadence", "grace",
			"objects", "bytes", "other_objects", "objects_truncated", "marker", "marker_present", "marker_modified",
			"list_calls", "head_calls",
		},
	}
}

// LatestPartitionInput is s3.latest_partition's inputs.
type LatestPartitionInput struct {
	Bucket          string             `json:"bucket" datasev:"required" desc:"bucket name, e.g. lake (not an s3:// URL)"`
	Prefix          string             `json:"prefix" datasev:"required" desc:"the directory the partitions are in, e.g. events/ (a trailing / is added; / for the bucket's root)"`
	Layout          string             `json:"layout" datasev:"required" desc:"the partition directories below prefix, one per level, with zero-padded date fields YYYY, MM, DD, HH, mm and literal text, e.g. dt=YYYY-MM-DD/hr=HH, year=YYYY/month=MM/day=DD or YYYY/MM/DD; values are UTC; other directories are ignored"`
	ExpectedCadence runbooks.Duration  `json:"expected_cadence" desc:"how often a new partition lands, e.g. 1h; when given, ok requires the newest object of the newest partition to be at most expected_cadence + grace old"`
	Grace           *runbooks.Duration `json:"grace" desc:"allowance on top of expected_cadence (default a quarter of it)"`
	Marker          *string            `json:"marker" desc:"completion marker file in the partition; ok requires it (default _SUCCESS; \"\" for none)"`
}

// LatestPartition finds and judges the newest partition.
func (a *Actions) LatestPartition(ctx context.Context, _ runbooks.ActionRequest, in LatestPartitionInput) (runbooks.ActionResult, error) {
	const name = LatestPartitionName
	bucket, err := a.bucket(name, in.Bucket)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	prefix := normPrefix(in.Prefix, true)
	lay, err := parseLayout(in.Layout)
	if err != nil {
		return runbooks.ActionResult{}, badRequest(name, "%v", err)
	}
	cadence := in.ExpectedCadence.Std()
	grace := cadence / 4
	if in.Grace != nil {
		grace = in.Grace.Std()
	}
	marker := DefaultMarker
	if in.Marker != nil {
		marker = strings.Trim(strings.TrimSpace(*in.Marker), "/")
	}
	now := a.now().UTC()
	where := location(bucket, prefix)

	lst := &lister{client: a.client, action: name, bucket: bucket}
	hint := ""
	if lay.sortable {
		lookback := max(MinLookback, lookbackPeriods*lay.period(), lookbackPeriods*cadence)
		hint = prefix + lay.renderLevel(0, now.Add(-lookback))
	}
	s := &search{lst: lst, lay: lay}
	values, f, found, err := s.descend(ctx, prefix, 0, fields{}, hint)
	if err != nil {
		return runbooks.ActionResult{}, err
	}

	out := map[string]any{
		"bucket": bucket,
		"prefix": prefix,
		"layout": lay.text,
		"marker": marker,
	}
	if cadence > 0 {
		out["expected_cadence"] = cadence.String()
		out["grace"] = grace.String()
	}
	if !found {
		reason := fmt.Sprintf("no partition matching %s under %s", lay.text, where)
		out["ok"] = false
		out["found"] = false
		out["reason"] = reason
		out["partition"] = ""
		out["list_calls"] = lst.lists
		out["head_calls"] = lst.heads
		return runbooks.ActionResult{
			Output:  out,
			Summary: fmt.Sprintf("%s %s → no partition matching %s (%s)", name, where, lay.text, plural(int64(lst.lists), "list call", "list calls")),
			Detail: fmt.Sprintf("**Check failed**: %s.\n\nOnly directories whose names fit the layout level by level count; "+
				"check prefix and layout against the bucket's keys.\n", reason),
		}, nil
	}

	partition := strings.Join(values, "/")
	pprefix := prefix + partition + "/"
	pt := f.time()
	st, err := lst.scan(ctx, pprefix, MaxPartitionObjects, 0, marker)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	if marker != "" && !st.marker && st.truncated {
		// The listing stopped early; ask for the marker itself.
		lst.heads++
		h, err := a.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(pprefix + marker)})
		switch {
		case err == nil:
			st.marker, st.markerModified = true, aws.ToTime(h.LastModified)
		case isNotFound(err):
		default:
			return runbooks.ActionResult{}, classify(name, opHeadObject, bucket, pprefix+marker, err)
		}
	}

	// Age is measured from the newest data object or the marker, whichever
	// is newer; hidden files (a job's _temporary output) do not count.
	newest, newestKey := st.newest, st.newestKey
	if st.marker && st.markerModified.After(newest) {
		newest, newestKey = st.markerModified, pprefix+marker
	}
	out["found"] = true
	out["partition"] = partition
	out["partition_prefix"] = pprefix
	out["partition_time"] = rfc3339(pt)
	out["previous_prefix"] = prefix + lay.render(lay.prev(pt)) + "/"
	out["objects"] = st.objects
	out["bytes"] = st.bytes
	out["other_objects"] = st.other
	out["objects_truncated"] = st.truncated
	if marker != "" {
		out["marker_present"] = st.marker
		if st.marker {
			out["marker_modified"] = rfc3339(st.markerModified)
		}
	}
	var age time.Duration
	if !newest.IsZero() {
		age = now.Sub(newest)
		out["newest_modified"] = rfc3339(newest)
		out["age_seconds"] = int64(age / time.Second)
		out["age_minutes"] = int64(age / time.Minute)
		out["newest_key"] = newestKey
	}

	var reasons []string
	if st.objects == 0 {
		reasons = append(reasons, "no data objects in "+partition)
	}
	if marker != "" && !st.marker {
		reasons = append(reasons, marker+" missing in "+partition)
	}
	late := cadence > 0 && !newest.IsZero() && age > cadence+grace
	if late {
		reasons = append(reasons, fmt.Sprintf("newest object %s old, expected within %s (cadence %s + grace %s)",
			humanAge(age), humanAge(cadence+grace), humanAge(cadence), humanAge(grace)))
	}
	ok := verdict(out, reasons)
	out["list_calls"] = lst.lists
	out["head_calls"] = lst.heads

	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → %s", name, where, partition)
	switch {
	case newest.IsZero():
		b.WriteString(", age unknown")
	default:
		fmt.Fprintf(&b, ", %s old", humanAge(age))
	}
	if cadence > 0 {
		verdict := "ok"
		if late {
			verdict = "LATE"
		}
		fmt.Fprintf(&b, " (cadence %s: %s)", humanAge(cadence), verdict)
	}
	objs := plural(st.objects, "object", "objects")
	if st.truncated {
		objs = "≥" + objs
	}
	if st.objects == 0 {
		objs = "no data objects"
	}
	fmt.Fprintf(&b, ", %s, %s", objs, humanBytes(st.bytes))
	if marker != "" {
		if st.marker {
			fmt.Fprintf(&b, ", %s present", marker)
		} else {
			fmt.Fprintf(&b, ", %s MISSING", marker)
		}
	}
	res := runbooks.ActionResult{Output: out, Summary: b.String()}
	if !ok {
		var d strings.Builder
		fmt.Fprintf(&d, "**Check failed**: %s\n\n", out["reason"])
		fmt.Fprintf(&d, "- newest partition: `%s` (%s)\n", location(bucket, pprefix), rfc3339(pt))
		if st.newestKey != "" {
			fmt.Fprintf(&d, "- newest object: `%s` at %s\n", st.newestKey, rfc3339(st.newest))
		}
		fmt.Fprintf(&d, "- data objects: %s, %s; other objects (markers, hidden files): %s\n",
			count(st.objects), humanBytes(st.bytes), count(st.other))
		fmt.Fprintf(&d, "- checked at %s with %s\n", rfc3339(now), plural(int64(lst.lists), "list call", "list calls"))
		res.Detail = d.String()
	}
	return res, nil
}

// search walks a layout's levels from a prefix down.
type search struct {
	lst *lister
	lay layout
}

type candidate struct {
	value string
	f     fields
	t     time.Time
}

// descend finds the newest partition at and below level, under base. It
// tries the newest directories that fit level (up to tries of them) until
// one has a partition below it. startAfter, when not "", starts the
// listing at that key; when nothing fits after it, the level is listed
// from the start.
func (s *search) descend(ctx context.Context, base string, level int, parent fields, startAfter string) ([]string, fields, bool, error) {
	cands, err := s.children(ctx, base, level, parent, startAfter)
	if err != nil {
		return nil, fields{}, false, err
	}
	if len(cands) == 0 && startAfter != "" {
		if cands, err = s.children(ctx, base, level, parent, ""); err != nil {
			return nil, fields{}, false, err
		}
	}
	for _, c := range cands {
		if level == len(s.lay.levels)-1 {
			return []string{c.value}, c.f, true, nil
		}
		below, f, ok, err := s.descend(ctx, base+c.value+"/", level+1, c.f, "")
		if err != nil {
			return nil, fields{}, false, err
		}
		if ok {
			return append([]string{c.value}, below...), f, true, nil
		}
	}
	return nil, fields{}, false, nil
}

// children lists the directories under base with a delimiter, page by page,
// and returns the newest ones that fit the layout's level, newest first.
func (s *search) children(ctx context.Context, base string, level int, parent fields, startAfter string) ([]candidate, error) {
	var best []candidate
	var token *string
	for page := 0; ; page++ {
		if page == MaxLevelPages {
			return nil, badRequest(s.lst.action, "more than %s entries at level %d (%s) of %s; narrow the prefix",
				count(MaxLevelPages*pageSize), level+1, s.lay.text, location(s.lst.bucket, base))
		}
		in := &s3.ListObjectsV2Input{
			Prefix:            aws.String(base),
			Delimiter:         aws.String("/"),
			MaxKeys:           aws.Int32(pageSize),
			ContinuationToken: token,
		}
		if startAfter != "" {
			in.StartAfter = aws.String(startAfter)
		}
		out, err := s.lst.list(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, cp := range out.CommonPrefixes {
			v := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), base), "/")
			f, ok := s.lay.parseLevel(level, v, parent)
			if !ok {
				continue
			}
			best = append(best, candidate{value: v, f: f, t: f.time()})
		}
		best = newest(best)
		next, ok := more(out)
		if !ok {
			return best, nil
		}
		token = next
	}
}

// newest sorts candidates newest first, drops repeats and keeps the first
// tries of them.
func newest(cs []candidate) []candidate {
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].t.Equal(cs[j].t) {
			return cs[i].t.After(cs[j].t)
		}
		return cs[i].value > cs[j].value
	})
	out := cs[:0]
	for _, c := range cs {
		if len(out) > 0 && out[len(out)-1].value == c.value {
			continue
		}
		out = append(out, c)
		if len(out) == tries {
			break
		}
	}
	return out
}

// isNotFound reports a 404 answer: NoSuchKey, or NotFound from a HEAD.
func isNotFound(err error) bool {
	switch apiCode(err) {
	case "NotFound", "NoSuchKey":
		return true
	}
	return false
}
