package lineage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultCacheEntries is how many decoded manifests a Cache keeps.
const DefaultCacheEntries = 4

// DefaultMaxBytes bounds the size of a manifest a Cache reads (1 GiB).
const DefaultMaxBytes int64 = 1 << 30

// Cache loads manifests and keeps the last few decoded graphs, keyed by
// URI and version token (file size and modification time, S3 ETag, git
// blob sha). Each call asks the source for the current version (a stat, a
// HEAD, a contents lookup), so a changed manifest is reloaded and an
// unchanged one is not; concurrent calls for the same version share one
// load. Loading a new version of a URI drops the URI's older versions.
type Cache struct {
	sources  Sources
	entries  int
	maxBytes int64
	log      *slog.Logger

	group singleflight.Group
	loads atomic.Int64

	// catalog is the deployment's catalog source (opts.Source), nil when
	// lineage comes from manifests.
	catalog Source

	mu  sync.Mutex
	lru []*cacheEntry // most recently used first
}

type cacheEntry struct {
	uri, version string
	graph        *Graph
}

// CacheOptions tunes a Cache; zero values take the defaults.
type CacheOptions struct {
	// Entries is how many decoded manifests to keep (DefaultCacheEntries).
	Entries int
	// MaxBytes bounds a manifest's size (DefaultMaxBytes).
	MaxBytes int64
	// Logger logs loads (slog.Default()).
	Logger *slog.Logger
	// Source chooses where the lineage actions read lineage: the zero
	// value reads dbt manifests; Kind SourceMarquez reads the Marquez
	// catalog it configures (see SourceConfig). A catalog source keeps its
	// own cache of Entries graphs.
	Source SourceConfig
}

// NewCache returns a cache reading manifests through src.
func NewCache(src Sources, opts CacheOptions) *Cache {
	c := &Cache{sources: src, entries: opts.Entries, maxBytes: opts.MaxBytes, log: opts.Logger}
	if c.entries <= 0 {
		c.entries = DefaultCacheEntries
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if opts.Source.Kind == SourceMarquez {
		c.catalog = NewMarquez(opts.Source.Marquez, c.entries, c.log)
	}
	return c
}

// Loads is how many manifests the cache has read and decoded.
func (c *Cache) Loads() int64 { return c.loads.Load() }

// Graph returns the lineage graph of the manifest at uri (see ParseURI),
// loading it unless the cache holds its current version. Errors are
// Temporal application errors: non-retryable for a bad URI, a scheme
// without a client, a missing or refused manifest and invalid JSON (with
// its byte offset); retryable for throttling, 5xx and network failures.
func (c *Cache) Graph(ctx context.Context, uri string) (*Graph, error) {
	loc, err := ParseURI(uri)
	if err != nil {
		return nil, nonRetryable(BadURIType, "%v", err)
	}
	f, err := c.sources.fetcher(loc, uri)
	if err != nil {
		return nil, err
	}
	version, inline, err := f.version(ctx)
	if err != nil {
		return nil, err
	}
	if g := c.get(uri, version); g != nil {
		return g, nil
	}
	key := uri + "\x00" + version
	// The load runs on its own context: a caller that gives up must not
	// fail the others that share the load.
	ch := c.group.DoChan(key, func() (any, error) {
		if g := c.get(uri, version); g != nil {
			return g, nil
		}
		return c.load(context.WithoutCancel(ctx), uri, f, version, inline)
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("manifest %s: %w", uri, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Graph), nil
	}
}

func (c *Cache) load(ctx context.Context, uri string, f fetcher, version string, inline []byte) (*Graph, error) {
	start := time.Now()
	var rc io.ReadCloser
	actual := version
	if inline != nil {
		rc = inlineReader(inline)
	} else {
		var err error
		if rc, actual, err = f.open(ctx, version); err != nil {
			return nil, err
		}
	}
	defer rc.Close()
	lr := &limitReader{r: rc, left: c.maxBytes}
	c.loads.Add(1)
	m, err := Decode(lr)
	if err != nil {
		var se *SyntaxError
		switch {
		case lr.over:
			return nil, nonRetryable(TooLargeType, "manifest %s: larger than the %d-byte bound", uri, c.maxBytes)
		case errors.As(err, &se):
			return nil, nonRetryable(InvalidManifestType, "manifest %s: %v", uri, se)
		}
		return nil, fmt.Errorf("manifest %s: %w", uri, err)
	}
	g := NewGraph(m)
	c.put(&cacheEntry{uri: uri, version: actual, graph: g})
	c.log.Info("lineage: manifest loaded", "uri", uri, "version", actual, "nodes", g.Len(),
		"bytes", c.maxBytes-lr.left, "dbt_version", m.DBTVersion, "elapsed", time.Since(start))
	return g, nil
}

func (c *Cache) get(uri, version string) *Graph {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.lru {
		if e.uri == uri && e.version == version {
			copy(c.lru[1:i+1], c.lru[:i])
			c.lru[0] = e
			return e.graph
		}
	}
	return nil
}

func (c *Cache) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := make([]*cacheEntry, 0, c.entries)
	kept = append(kept, e)
	for _, o := range c.lru {
		if o.uri == e.uri || len(kept) == c.entries {
			continue // an older version of the same manifest, or over the bound
		}
		kept = append(kept, o)
	}
	c.lru = kept
}

// limitReader fails once more than left bytes have been read.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

var errTooLarge = errors.New("manifest exceeds the size bound")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Allow the final EOF; anything more is over the bound.
		n, err := l.r.Read(p[:min(len(p), 1)])
		if n > 0 {
			l.over = true
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
