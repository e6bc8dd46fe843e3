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
	c, err := a.newLatestCall(in)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	values, f, found, err := c.find(ctx)
	if err != nil {
		return runbooks.ActionResult{}, err
	}
	out := c.output()
	if !found {
		return c.notFound(out), nil
	}
	p := partitionFound{partition: strings.Join(values, "/"), pt: f.time()}
	p.pprefix = c.prefix + p.partition + "/"
	if p.st, err = a.scanPartition(ctx, c, p.pprefix); err != nil {
		return runbooks.ActionResult{}, err
	}
	p.age = c.newestAge(&p)
	ok, late := c.judge(out, &p)
	res := runbooks.ActionResult{Output: out, Summary: c.summary(&p, late)}
	if !ok {
		res.Detail = c.detail(out, &p)
	}
	return res, nil
}

// latestCall is one s3.latest_partition call: its inputs, checked and
// defaulted, and the lister counting its List and HEAD calls.
type latestCall struct {
	bucket, prefix, where, marker string
	lay                           layout
	cadence, grace                time.Duration
	now                           time.Time
	lst                           *lister
}

// newLatestCall checks in (bucket, then layout) and applies the defaults
// of grace (a quarter of the cadence) and marker (DefaultMarker).
func (a *Actions) newLatestCall(in LatestPartitionInput) (*latestCall, error) {
	const name = LatestPartitionName
	bucket, err := a.bucket(name, in.Bucket)
	if err != nil {
		return nil, err
	}
	c := &latestCall{bucket: bucket, prefix: normPrefix(in.Prefix, true)}
	if c.lay, err = parseLayout(in.Layout); err != nil {
		return nil, badRequest(name, "%v", err)
	}
	c.cadence = in.ExpectedCadence.Std()
	c.grace = c.cadence / 4
	if in.Grace != nil {
		c.grace = in.Grace.Std()
	}
	c.marker = DefaultMarker
	if in.Marker != nil {
		c.marker = strings.Trim(strings.TrimSpace(*in.Marker), "/")
	}
	c.now = a.now().UTC()
	c.where = location(bucket, c.prefix)
	c.lst = a.newLister(name, bucket)
	return c, nil
}

// find walks the layout down from the prefix to the newest partition. When
// the layout sorts by time, the first level is listed from the lookback
// (see LatestPartitionSpec) on.
func (c *latestCall) find(ctx context.Context) ([]string, fields, bool, error) {
	hint := ""
	if c.lay.sortable {
		lookback := max(MinLookback, lookbackPeriods*c.lay.period(), lookbackPeriods*c.cadence)
		hint = c.prefix + c.lay.renderLevel(0, c.now.Add(-lookback))
	}
	s := &search{lst: c.lst, lay: c.lay}
	return s.descend(ctx, c.prefix, 0, fields{}, hint)
}

// output is the outputs every answer has, found or not.
func (c *latestCall) output() map[string]any {
	out := map[string]any{
		"bucket": c.bucket,
		"prefix": c.prefix,
		"layout": c.lay.text,
		"marker": c.marker,
	}
	if c.cadence > 0 {
		out["expected_cadence"] = c.cadence.String()
		out["grace"] = c.grace.String()
	}
	return out
}

// notFound is the answer when no directory fits the layout: not an error,
// ok and found false.
func (c *latestCall) notFound(out map[string]any) runbooks.ActionResult {
	reason := fmt.Sprintf("no partition matching %s under %s", c.lay.text, c.where)
	out["ok"] = false
	out["found"] = false
	out["reason"] = reason
	out["partition"] = ""
	out["list_calls"] = c.lst.lists
	out["head_calls"] = c.lst.heads
	return runbooks.ActionResult{
		Output: out,
		Summary: fmt.Sprintf("%s %s → no partition matching %s (%s)", LatestPartitionName, c.where, c.lay.text,
			plural(int64(c.lst.lists), "list call", "list calls")),
		Detail: fmt.Sprintf("**Check failed**: %s.\n\nOnly directories whose names fit the layout level by level count; "+
			"check prefix and layout against the bucket's keys.\n", reason),
	}
}

// partitionFound is the newest partition and what its listing showed.
type partitionFound struct {
	partition string // the partition's directories, e.g. dt=2026-11-25/hr=07
	pprefix   string // the prefix with the partition, ending in /
	pt        time.Time
	st        objStats
	// newest and newestKey are the newest data object, or the marker when
	// it is newer; age is newest's age (0 when there is none).
	newest    time.Time
	newestKey string
	age       time.Duration
}

// scanPartition lists the partition's objects (up to MaxPartitionObjects)
// and, when that listing stopped before finding the marker, asks for the
// marker itself.
func (a *Actions) scanPartition(ctx context.Context, c *latestCall, pprefix string) (objStats, error) {
	st, err := c.lst.scan(ctx, pprefix, MaxPartitionObjects, 0, c.marker)
	if err != nil {
		return st, err
	}
	if c.marker != "" && !st.marker && st.truncated {
		// The listing stopped early; ask for the marker itself.
		c.lst.heads++
		key := pprefix + c.marker
		h, err := a.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key)})
		switch {
		case err == nil:
			st.marker, st.markerModified = true, aws.ToTime(h.LastModified)
		case isNotFound(err):
		default:
			return st, classify(LatestPartitionName, opHeadObject, c.bucket, key, err)
		}
	}
	return st, nil
}

// newestAge sets p's newest object and returns its age. Age is measured
// from the newest data object or the marker, whichever is newer; hidden
// files (a job's _temporary output) do not count.
func (c *latestCall) newestAge(p *partitionFound) time.Duration {
	p.newest, p.newestKey = p.st.newest, p.st.newestKey
	if p.st.marker && p.st.markerModified.After(p.newest) {
		p.newest, p.newestKey = p.st.markerModified, p.pprefix+c.marker
	}
	if p.newest.IsZero() {
		return 0
	}
	return c.now.Sub(p.newest)
}

// judge writes the found partition's outputs and verdict: ok needs data
// objects, the marker (when one is expected) and, with a cadence, a newest
// object at most cadence + grace old. late reports the last.
func (c *latestCall) judge(out map[string]any, p *partitionFound) (ok, late bool) {
	st := p.st
	out["found"] = true
	out["partition"] = p.partition
	out["partition_prefix"] = p.pprefix
	out["partition_time"] = rfc3339(p.pt)
	out["previous_prefix"] = c.prefix + c.lay.render(c.lay.prev(p.pt)) + "/"
	out["objects"] = st.objects
	out["bytes"] = st.bytes
	out["other_objects"] = st.other
	out["objects_truncated"] = st.truncated
	if c.marker != "" {
		out["marker_present"] = st.marker
		if st.marker {
			out["marker_modified"] = rfc3339(st.markerModified)
		}
	}
	if !p.newest.IsZero() {
		out["newest_modified"] = rfc3339(p.newest)
		out["age_seconds"] = int64(p.age / time.Second)
		out["age_minutes"] = int64(p.age / time.Minute)
		out["newest_key"] = p.newestKey
	}

	var reasons []string
	if st.objects == 0 {
		reasons = append(reasons, "no data objects in "+p.partition)
	}
	if c.marker != "" && !st.marker {
		reasons = append(reasons, c.marker+" missing in "+p.partition)
	}
	late = c.cadence > 0 && !p.newest.IsZero() && p.age > c.cadence+c.grace
	if late {
		reasons = append(reasons, fmt.Sprintf("newest object %s old, expected within %s (cadence %s + grace %s)",
			humanAge(p.age), humanAge(c.cadence+c.grace), humanAge(c.cadence), humanAge(c.grace)))
	}
	ok = verdict(out, reasons)
	out["list_calls"] = c.lst.lists
	out["head_calls"] = c.lst.heads
	return ok, late
}

// summary is the one-line answer for a found partition: its age against the
// cadence, its data objects and bytes, and its marker.
func (c *latestCall) summary(p *partitionFound, late bool) string {
	st := p.st
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → %s", LatestPartitionName, c.where, p.partition)
	switch {
	case p.newest.IsZero():
		b.WriteString(", age unknown")
	default:
		fmt.Fprintf(&b, ", %s old", humanAge(p.age))
	}
	if c.cadence > 0 {
		verdict := "ok"
		if late {
			verdict = "LATE"
		}
		fmt.Fprintf(&b, " (cadence %s: %s)", humanAge(c.cadence), verdict)
	}
	objs := objectCount(st)
	if st.objects == 0 {
		objs = "no data objects"
	}
	fmt.Fprintf(&b, ", %s, %s", objs, humanBytes(st.bytes))
	if c.marker != "" {
		if st.marker {
			fmt.Fprintf(&b, ", %s present", c.marker)
		} else {
			fmt.Fprintf(&b, ", %s MISSING", c.marker)
		}
	}
	return b.String()
}

// detail explains a failed check on a found partition.
func (c *latestCall) detail(out map[string]any, p *partitionFound) string {
	st := p.st
	var d strings.Builder
	fmt.Fprintf(&d, "**Check failed**: %s\n\n", out["reason"])
	fmt.Fprintf(&d, "- newest partition: `%s` (%s)\n", location(c.bucket, p.pprefix), rfc3339(p.pt))
	if st.newestKey != "" {
		fmt.Fprintf(&d, "- newest object: `%s` at %s\n", st.newestKey, rfc3339(st.newest))
	}
	fmt.Fprintf(&d, "- data objects: %s, %s; other objects (markers, hidden files): %s\n",
		count(st.objects), humanBytes(st.bytes), count(st.other))
	fmt.Fprintf(&d, "- checked at %s with %s\n", rfc3339(c.now), plural(int64(c.lst.lists), "list call", "list calls"))
	return d.String()
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
