// Package s3test is an in-process S3-protocol server for tests and the
// one-command demo: gofakes3 with its in-memory backend, served over HTTP on
// a loopback address, so that the real aws-sdk-go-v2 client runs unmodified
// against it (path-style addressing, any static credentials).
//
// Beyond what an S3 client can do, it lets the caller put objects with a
// chosen modification time (straight into the backend, fast enough for a
// hundred thousand keys), refuse a bucket with AccessDenied, inject faults
// (SlowDown, 500) and count the List requests it served.
//
// It is a stand-in, never a production path: the worker talks to it only
// when it is configured with its address, exactly as it would be configured
// for S3 or MinIO (see Env).
package s3test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/datasev/datasev/activities/support/loopback"
)

// Region is the region the server answers for; clients sign for it.
const Region = "us-east-1"

// Static credentials the server accepts (it accepts any).
const (
	AccessKeyID     = "datasev-test"
	SecretAccessKey = "datasev-test-secret"
)

// Names of the environment variables Env sets. The DATASEV_S3_* names are
// the ones activities/actions/s3 reads (its tests check they agree).
const (
	EnvEndpoint  = "DATASEV_S3_ENDPOINT"
	EnvRegion    = "DATASEV_S3_REGION"
	EnvPathStyle = "DATASEV_S3_PATH_STYLE"
)

// Server is a running S3-protocol server.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:port.
	URL string
	// Backend is gofakes3's in-memory backend behind the server.
	Backend *s3mem.Backend

	srv   *httptest.Server
	fake  http.Handler
	clock *clock
	putMu sync.Mutex

	mu     sync.Mutex
	denied map[string]bool
	faults []Fault

	requests atomic.Int64
	lists    atomic.Int64
	heads    atomic.Int64
	reqID    atomic.Int64
}

// New starts a server on 127.0.0.1 on a free port. It panics when it
// cannot listen, as httptest.NewServer does.
func New() *Server {
	s, err := Start("")
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts a server listening on addr ("127.0.0.1:9000"); "" means
// 127.0.0.1 on a free port. Only loopback addresses are accepted.
func Start(addr string) (*Server, error) {
	ln, err := loopback.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	c := &clock{}
	backend := s3mem.New(s3mem.WithTimeSource(c))
	fake := gofakes3.New(backend,
		gofakes3.WithLogger(gofakes3.DiscardLog()),
		gofakes3.WithAutoBucket(false),
	)
	s := &Server{
		Backend: backend,
		fake:    fake.Server(),
		clock:   c,
		denied:  map[string]bool{},
	}
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Env returns the environment that points the worker (or a test) at this
// server: the DATASEV_S3_* settings, static credentials and
// AWS_EC2_METADATA_DISABLED, so the SDK never tries the instance metadata
// address.
func (s *Server) Env() map[string]string {
	return map[string]string{
		EnvEndpoint:                 s.URL,
		EnvRegion:                   Region,
		EnvPathStyle:                "true",
		"AWS_ACCESS_KEY_ID":         AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     SecretAccessKey,
		"AWS_SESSION_TOKEN":         "",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// CreateBucket creates buckets.
func (s *Server) CreateBucket(names ...string) error {
	for _, name := range names {
		if err := s.Backend.CreateBucket(name); err != nil {
			return fmt.Errorf("s3test: create bucket %q: %w", name, err)
		}
	}
	return nil
}

// Object is an object to put.
type Object struct {
	// Key is the object's key.
	Key string
	// Body is the content. When nil, the content is Size zero bytes.
	Body []byte
	// Size is the content's length when Body is nil.
	Size int
	// Modified is the object's modification time (LastModified in
	// listings and HEAD). Zero means now.
	Modified time.Time
	// ContentType is the Content-Type HEAD returns. Optional.
	ContentType string
	// Metadata is user metadata (names without the x-amz-meta- prefix).
	Metadata map[string]string
}

var zeros = make([]byte, 64<<10)

// PutObjects puts objects straight into the backend, each with its
// modification time. An S3 client sees them exactly as if they had been
// uploaded at that time. Puts through HTTP that happen at the same moment
// may be stamped with one of these times.
func (s *Server) PutObjects(bucket string, objs ...Object) error {
	s.putMu.Lock()
	defer s.putMu.Unlock()
	defer s.clock.set(time.Time{})
	for _, o := range objs {
		body := o.Body
		if body == nil {
			if o.Size <= len(zeros) {
				body = zeros[:o.Size]
			} else {
				body = make([]byte, o.Size)
			}
		}
		at := o.Modified
		if at.IsZero() {
			at = time.Now()
		}
		at = at.UTC().Truncate(time.Second) // S3 keeps seconds
		meta := map[string]string{"Last-Modified": at.Format(http.TimeFormat)}
		if o.ContentType != "" {
			meta["Content-Type"] = o.ContentType
		}
		for k, v := range o.Metadata {
			meta["X-Amz-Meta-"+http.CanonicalHeaderKey(k)] = v
		}
		s.clock.set(at)
		if _, err := s.Backend.PutObject(bucket, o.Key, meta, bytes.NewReader(body), int64(len(body)), nil); err != nil {
			return fmt.Errorf("s3test: put s3://%s/%s: %w", bucket, o.Key, err)
		}
	}
	return nil
}

// Partitions describes a run of time partitions to generate with
// PutPartitions.
type Partitions struct {
	// Prefix is where the partitions live, e.g. "events/".
	Prefix string
	// Layout is the partition path as a Go time layout, e.g.
	// "dt=2006-01-02/hr=15".
	Layout string
	// From and To bound the partitions' times: From inclusive, To
	// exclusive, every Every.
	From, To time.Time
	Every    time.Duration
	// Files is the number of data files per partition, FileSize their size.
	Files    int
	FileSize int
	// Marker, when set, is a completion marker written last (e.g. _SUCCESS).
	Marker string
	// Landed is how long after its period ends a partition's files are
	// written: modification time = partition time + Every + Landed.
	Landed time.Duration
}

// PutPartitions puts every partition of p and returns how many objects it
// put.
func (s *Server) PutPartitions(bucket string, p Partitions) (int, error) {
	if p.Every <= 0 || p.Layout == "" {
		return 0, errors.New("s3test: Partitions needs Layout and a positive Every")
	}
	var objs []Object
	n := 0
	for t := p.From.UTC(); t.Before(p.To); t = t.Add(p.Every) {
		dir := p.Prefix + t.Format(p.Layout) + "/"
		mod := t.Add(p.Every + p.Landed)
		for i := range p.Files {
			objs = append(objs, Object{Key: fmt.Sprintf("%spart-%05d.parquet", dir, i), Size: p.FileSize, Modified: mod})
		}
		if p.Marker != "" {
			objs = append(objs, Object{Key: dir + p.Marker, Modified: mod.Add(time.Second)})
		}
		if len(objs) >= 4096 {
			if err := s.PutObjects(bucket, objs...); err != nil {
				return n, err
			}
			n += len(objs)
			objs = objs[:0]
		}
	}
	if err := s.PutObjects(bucket, objs...); err != nil {
		return n, err
	}
	return n + len(objs), nil
}

// Deny makes every request to bucket fail with 403 AccessDenied, as S3
// does when the caller lacks permission.
func (s *Server) Deny(bucket string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[bucket] = true
}

// Allow undoes Deny.
func (s *Server) Allow(bucket string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, bucket)
}

// Fault is an error response the server gives instead of serving a
// request.
type Fault struct {
	// Status is the HTTP status, e.g. 503.
	Status int
	// Code is the S3 error code, e.g. SlowDown or InternalError.
	Code string
}

// SlowDown is S3's throttling answer.
var SlowDown = Fault{Status: http.StatusServiceUnavailable, Code: "SlowDown"}

// InternalError is S3's 500.
var InternalError = Fault{Status: http.StatusInternalServerError, Code: "InternalError"}

// FailNext makes the next n requests fail with f.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// Requests is how many requests the server has received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// ListCalls is how many object listings (ListObjects, ListObjectsV2) the
// server has received.
func (s *Server) ListCalls() int64 { return s.lists.Load() }

// HeadCalls is how many HEAD requests the server has received.
func (s *Server) HeadCalls() int64 { return s.heads.Load() }

// ServeHTTP serves the S3 protocol, applying Deny and FailNext first.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodHead:
		s.heads.Add(1)
	case r.Method == http.MethodGet && bucket != "" && key == "" && isListing(q):
		s.lists.Add(1)
	}
	s.mu.Lock()
	var fault *Fault
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	} else if bucket != "" && s.denied[bucket] {
		fault = &Fault{Status: http.StatusForbidden, Code: "AccessDenied"}
	}
	s.mu.Unlock()
	if fault != nil {
		s.writeError(w, r, *fault, "/"+bucket)
		return
	}
	s.fake.ServeHTTP(w, r)
}

// isListing reports whether a GET on a bucket is an object listing rather
// than a sub-resource (location, versioning, uploads, …).
func isListing(q map[string][]string) bool {
	for _, sub := range []string{"location", "versioning", "versions", "uploads", "acl", "policy", "cors", "lifecycle", "tagging"} {
		if _, ok := q[sub]; ok {
			return false
		}
	}
	return true
}

var messages = map[string]string{
	"AccessDenied":  "Access Denied",
	"SlowDown":      "Please reduce your request rate.",
	"InternalError": "We encountered an internal error. Please try again.",
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, f Fault, resource string) {
	id := strconv.FormatInt(s.reqID.Add(1), 16)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", id)
	w.WriteHeader(f.Status)
	if r.Method == http.MethodHead {
		return // HEAD answers carry no body; clients go by the status
	}
	msg := messages[f.Code]
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error><Code>")
	xml.EscapeText(&b, []byte(f.Code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(msg))
	b.WriteString("</Message><Resource>")
	xml.EscapeText(&b, []byte(resource))
	b.WriteString("</Resource><RequestId>")
	b.WriteString(id)
	b.WriteString("</RequestId></Error>")
	_, _ = w.Write(b.Bytes())
}

// clock is the backend's time source: the time of the object being put by
// PutObjects, else now.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.at = t
	c.mu.Unlock()
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() {
		return c.at
	}
	return time.Now().UTC()
}

func (c *clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Demo names what SeedDemo puts.
const (
	// DemoBucket is the demo's bucket.
	DemoBucket = "lake"
	// DemoEventsPrefix holds hourly partitions, dt=YYYY-MM-DD/hr=HH, the
	// newest of which stopped landing: the "missing S3 partition" story.
	DemoEventsPrefix = "events/"
	// DemoOrdersPrefix holds daily partitions, dt=YYYY-MM-DD, up to
	// yesterday, with _SUCCESS: the landing files of the Snowflake load.
	DemoOrdersPrefix = "orders/"
	// DemoExportKey is one object with metadata, for s3.object_head.
	DemoExportKey = "exports/daily.json"
)

// SeedDemo creates DemoBucket with three days of hourly events that stop
// three hours before now (so a 1h cadence is late), a week of daily orders
// up to yesterday, and DemoExportKey. It returns how many objects it put.
func (s *Server) SeedDemo(now time.Time) (int, error) {
	if err := s.CreateBucket(DemoBucket); err != nil {
		return 0, err
	}
	hour := now.UTC().Truncate(time.Hour)
	day := time.Date(hour.Year(), hour.Month(), hour.Day(), 0, 0, 0, 0, time.UTC)
	n1, err := s.PutPartitions(DemoBucket, Partitions{
		Prefix: DemoEventsPrefix, Layout: "dt=2006-01-02/hr=15",
		From: hour.Add(-72 * time.Hour), To: hour.Add(-3 * time.Hour), Every: time.Hour,
		Files: 4, FileSize: 2048, Marker: "_SUCCESS", Landed: 6 * time.Minute,
	})
	if err != nil {
		return n1, err
	}
	n2, err := s.PutPartitions(DemoBucket, Partitions{
		Prefix: DemoOrdersPrefix, Layout: "dt=2006-01-02",
		From: day.AddDate(0, 0, -7), To: day, Every: 24 * time.Hour,
		Files: 8, FileSize: 16 << 10, Marker: "_SUCCESS", Landed: 40 * time.Minute,
	})
	if err != nil {
		return n1 + n2, err
	}
	err = s.PutObjects(DemoBucket, Object{
		Key: DemoExportKey, Body: []byte(`{"rows": 1234}` + "\n"), Modified: hour.Add(-20 * time.Hour),
		ContentType: "application/json", Metadata: map[string]string{"producer": "orders_export"},
	})
	return n1 + n2 + 1, err
}
