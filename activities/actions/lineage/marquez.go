package lineage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/singleflight"

	"github.com/datasev/datasev/activities/support/retryafter"
)

// Defaults of MarquezConfig.
const (
	// DefaultMarquezTimeout bounds one lineage request.
	DefaultMarquezTimeout = 30 * time.Second
	// DefaultMarquezMaxDepth is the deepest lineage asked for, in
	// datasets; a step's depth 0 ("all") means this. It is Marquez's own
	// default depth.
	DefaultMarquezMaxDepth = 20
	// DefaultMarquezMaxNodes bounds the nodes (datasets and jobs) of one
	// lineage response.
	DefaultMarquezMaxNodes = 20000
	// DefaultMarquezMaxBytes bounds the size of one lineage response.
	DefaultMarquezMaxBytes int64 = 64 << 20
	// DefaultMarquezTTL is how long a fetched lineage graph is reused.
	DefaultMarquezTTL = time.Minute
)

// Limits on the Marquez settings.
const (
	maxMarquezDepth = 100
	maxMarquezNodes = 1_000_000
)

// Error types of the catalog sources, besides the shared UnknownNode,
// AccessDenied and RateLimited.
const (
	// CatalogUnavailableType: the catalog answered 5xx with Retry-After;
	// retried after it (at most 15 minutes on). A 5xx without Retry-After,
	// a timeout or a network failure is a plain retryable error.
	CatalogUnavailableType = "CatalogUnavailable"
	// CatalogRefusedType: the catalog refused the request (a 4xx other
	// than 401, 403, 404 and 429). Not retried.
	CatalogRefusedType = "CatalogRefused"
	// ResponseTooLargeType: a lineage response over the byte or node
	// bound. Not retried: ask for a smaller depth or raise the bound.
	ResponseTooLargeType = "LineageResponseTooLarge"
	// InvalidResponseType: a lineage response that is not the documented
	// JSON shape. Not retried.
	InvalidResponseType = "InvalidLineageResponse"
)

// MarquezConfig is how the worker reads OpenLineage lineage from Marquez
// (GET /api/v1/lineage). It holds a secret (APIKey): log it with String.
type MarquezConfig struct {
	// URL is Marquez's base URL, e.g. http://marquez:5000; the lineage
	// API is URL + /api/v1/lineage.
	URL string
	// Namespace is the dataset namespace a bare node name is looked up
	// in; "" requires steps to give dataset:<namespace>:<name>.
	Namespace string
	// APIKey, when set, is sent as "Authorization: Bearer <key>" (for a
	// Marquez behind an authenticating proxy, as OpenLineage clients send
	// their api_key).
	APIKey string
	// Timeout bounds one request (DefaultMarquezTimeout).
	Timeout time.Duration
	// MaxDepth is the deepest lineage asked for (DefaultMarquezMaxDepth).
	MaxDepth int
	// MaxNodes bounds a response's nodes (DefaultMarquezMaxNodes).
	MaxNodes int
	// MaxBytes bounds a response's size (DefaultMarquezMaxBytes).
	MaxBytes int64
	// TTL is how long a fetched graph is reused (DefaultMarquezTTL); a
	// negative TTL fetches every time.
	TTL time.Duration
	// HTTPClient, when set, makes the requests (tests); its redirects are
	// refused all the same. Nil builds a client with Timeout.
	HTTPClient *http.Client
	// Now is the clock of the TTL (tests); nil is time.Now.
	Now func() time.Time
}

// String describes the configuration without the API key.
func (c MarquezConfig) String() string {
	key := "no API key"
	if c.APIKey != "" {
		key = "API key set"
	}
	ns := c.Namespace
	if ns == "" {
		ns = "(none)"
	}
	return fmt.Sprintf("marquez %s namespace %s, %s, timeout %s, depth ≤ %d, ≤ %d nodes, ≤ %d bytes, reused %s",
		c.URL, ns, key, c.Timeout, c.MaxDepth, c.MaxNodes, c.MaxBytes, c.TTL)
}

func (c MarquezConfig) withDefaults() MarquezConfig {
	if c.Timeout <= 0 {
		c.Timeout = DefaultMarquezTimeout
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = DefaultMarquezMaxDepth
	}
	if c.MaxNodes <= 0 {
		c.MaxNodes = DefaultMarquezMaxNodes
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMarquezMaxBytes
	}
	if c.TTL == 0 {
		c.TTL = DefaultMarquezTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Marquez reads lineage from Marquez's lineage API and keeps the last few
// graphs for TTL, keyed by node and depth; concurrent lookups of one key
// share one request. It is a Source.
type Marquez struct {
	cfg     MarquezConfig
	client  *http.Client
	entries int
	log     *slog.Logger

	group singleflight.Group
	loads atomic.Int64

	mu  sync.Mutex
	lru []*marquezEntry // most recently used first
}

type marquezEntry struct {
	key     string
	fetched time.Time
	graph   *Graph
}

// NewMarquez returns the Marquez source: cfg (defaults filled in), a cache
// of entries graphs (DefaultCacheEntries when ≤ 0), logging to log.
func NewMarquez(cfg MarquezConfig, entries int, log *slog.Logger) *Marquez {
	cfg = cfg.withDefaults()
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	if log == nil {
		log = slog.Default()
	}
	client := &http.Client{Timeout: cfg.Timeout}
	if cfg.HTTPClient != nil {
		cc := *cfg.HTTPClient
		client = &cc
		if client.Timeout <= 0 {
			client.Timeout = cfg.Timeout
		}
	}
	// The lineage API answers at its own address; a redirect elsewhere is
	// refused rather than followed with the API key.
	client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		return fmt.Errorf("redirected to %s; set %s to the address that answers", req.URL.Redacted(), EnvMarquezURL)
	}
	return &Marquez{cfg: cfg, client: client, entries: entries, log: log}
}

// Name is "marquez".
func (*Marquez) Name() string { return SourceMarquez }

// Loads is how many lineage responses the source has fetched and decoded.
func (m *Marquez) Loads() int64 { return m.loads.Load() }

// NodeID is the Marquez node id a step's node names: a dataset:… id as
// given, or dataset:<namespace>:<ref> in the configured namespace.
func (m *Marquez) NodeID(ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	switch {
	case ref == "":
		return "", nonRetryable(InvalidInputType, "marquez: empty node; give dataset:<namespace>:<name> or a dataset name")
	case strings.HasPrefix(ref, "dataset:"):
		ns, name, ok := strings.Cut(strings.TrimPrefix(ref, "dataset:"), ":")
		if !ok || ns == "" || name == "" {
			return "", nonRetryable(InvalidInputType, "marquez: node %q: want dataset:<namespace>:<name>", ref)
		}
		return ref, nil
	case strings.HasPrefix(ref, "job:") || strings.HasPrefix(ref, "datasetField:"):
		return "", nonRetryable(InvalidInputType, "marquez: node %q is not a dataset; lineage is traced between datasets (dataset:<namespace>:<name>)", ref)
	case m.cfg.Namespace == "":
		return "", nonRetryable(InvalidInputType, "marquez: node %q has no namespace; give dataset:<namespace>:<name> or set %s", ref, EnvMarquezNamespace)
	}
	return "dataset:" + m.cfg.Namespace + ":" + ref, nil
}

// requestDepth is the depth asked of Marquez for a step's depth: Marquez
// counts jobs, and a dataset d datasets away is the output of the d-th
// job, whose own producer tells whether it is a source; so one more than
// the step's depth, within MaxDepth.
func (m *Marquez) requestDepth(depth int) int {
	if depth <= 0 || depth > m.cfg.MaxDepth {
		depth = m.cfg.MaxDepth
	}
	return depth + 1
}

// Lookup fetches (or reuses) the lineage around in.Node and returns the
// graph of its datasets and the node.
func (m *Marquez) Lookup(ctx context.Context, in Input) (*Graph, *Node, error) {
	id, err := m.NodeID(in.Node)
	if err != nil {
		return nil, nil, err
	}
	depth := m.requestDepth(in.Depth)
	key := fmt.Sprintf("%s\x00%d", id, depth)
	g := m.get(key)
	if g == nil {
		ch := m.group.DoChan(key, func() (any, error) {
			if g := m.get(key); g != nil {
				return g, nil
			}
			// The load runs on its own context, bounded by the client's
			// timeout: a caller that gives up must not fail the others.
			return m.load(context.WithoutCancel(ctx), id, depth, key)
		})
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("marquez %s: %w", id, ctx.Err())
		case r := <-ch:
			if r.Err != nil {
				return nil, nil, r.Err
			}
			g = r.Val.(*Graph)
		}
	}
	n, ok := g.Node(id)
	if !ok {
		return nil, nil, nonRetryable(UnknownNodeType, "marquez: the lineage of %s does not contain it", id)
	}
	return g, n, nil
}

func (m *Marquez) get(key string) *Graph {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.Now()
	for i, e := range m.lru {
		if e.key != key {
			continue
		}
		if m.cfg.TTL < 0 || now.Sub(e.fetched) >= m.cfg.TTL {
			m.lru = slices.Delete(m.lru, i, i+1)
			return nil
		}
		copy(m.lru[1:i+1], m.lru[:i])
		m.lru[0] = e
		return e.graph
	}
	return nil
}

func (m *Marquez) put(e *marquezEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := make([]*marquezEntry, 0, m.entries)
	kept = append(kept, e)
	for _, o := range m.lru {
		if o.key == e.key || len(kept) == m.entries {
			continue
		}
		kept = append(kept, o)
	}
	m.lru = kept
}

// lineageURL is the request for node id at depth.
func (m *Marquez) lineageURL(id string, depth int) (string, error) {
	base, err := url.Parse(strings.TrimRight(m.cfg.URL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return "", nonRetryable(NotConfiguredType, "marquez: %s=%q is not an http(s) URL", EnvMarquezURL, m.cfg.URL)
	}
	u := base.JoinPath("api", "v1", "lineage")
	u.RawQuery = url.Values{"nodeId": {id}, "depth": {fmt.Sprint(depth)}}.Encode()
	return u.String(), nil
}

func (m *Marquez) load(ctx context.Context, id string, depth int, key string) (*Graph, error) {
	start := m.cfg.Now()
	u, err := m.lineageURL(id, depth)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("marquez %s: %w", id, err)
	}
	req.Header.Set("Accept", "application/json")
	if m.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+m.cfg.APIKey)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("marquez %s: no answer within %s (%s): %w", id, m.cfg.Timeout, EnvMarquezTimeout, err)
		}
		return nil, fmt.Errorf("marquez %s: %w", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, m.statusErr(id, resp)
	}
	lr := &limitReader{r: resp.Body, left: m.cfg.MaxBytes}
	m.loads.Add(1)
	var body marquezLineage
	dec := json.NewDecoder(lr)
	if err := dec.Decode(&body); err != nil {
		var ne net.Error
		switch {
		case lr.over:
			return nil, nonRetryable(ResponseTooLargeType, "marquez %s: the lineage response is larger than the %d-byte bound (%s); ask for a smaller depth",
				id, m.cfg.MaxBytes, EnvMarquezMaxBytes)
		case errors.As(err, &ne) && ne.Timeout():
			return nil, fmt.Errorf("marquez %s: the response did not finish within %s (%s): %w", id, m.cfg.Timeout, EnvMarquezTimeout, err)
		case errors.Is(err, io.ErrUnexpectedEOF) || isSyntax(err):
			return nil, nonRetryable(InvalidResponseType, "marquez %s: the lineage response is not valid JSON at byte %d: %v", id, dec.InputOffset(), err)
		}
		return nil, fmt.Errorf("marquez %s: reading the lineage response: %w", id, err)
	}
	if body.Graph == nil {
		return nil, nonRetryable(InvalidResponseType, "marquez %s: the lineage response has no graph array", id)
	}
	if len(body.Graph) > m.cfg.MaxNodes {
		return nil, nonRetryable(ResponseTooLargeType, "marquez %s: the lineage response has %d nodes, over the bound of %d (%s); ask for a smaller depth",
			id, len(body.Graph), m.cfg.MaxNodes, EnvMarquezMaxNodes)
	}
	g := marquezGraph(body.Graph)
	m.put(&marquezEntry{key: key, fetched: m.cfg.Now(), graph: g})
	m.log.Info("lineage: marquez lineage loaded", "node", id, "depth", depth, "nodes", len(body.Graph),
		"datasets", g.Len(), "bytes", m.cfg.MaxBytes-lr.left, "elapsed", m.cfg.Now().Sub(start))
	return g, nil
}

func isSyntax(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te)
}

// maxErrorBody bounds the part of an error response read for its message.
const maxErrorBody = 4 << 10

// statusErr maps a non-200 answer: 404 is an unknown node, 401 and 403
// refused credentials, 429 a rate limit and a 5xx with Retry-After an
// outage (both retried after Retry-After, capped at maxRetryDelay), other
// 5xx plain retryable, other 4xx refused.
func (m *Marquez) statusErr(id string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := errorMessage(b)
	st := resp.StatusCode
	retryAfter := retryafter.Parse(resp.Header.Get("Retry-After"), m.cfg.Now())
	cause := fmt.Errorf("marquez answered %d %s", st, msg)
	switch {
	case st == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("marquez: no dataset %s (404 %s); the node is dataset:<namespace>:<name> as Marquez lists it", id, msg),
			UnknownNodeType, cause)
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("marquez %s: %d %s: the worker's credentials were refused; check %s", id, st, msg, EnvMarquezAPIKey+"_FILE"),
			AccessDeniedType, cause)
	case st == http.StatusTooManyRequests:
		wait := time.Minute
		if retryAfter > 0 {
			wait = retryAfter
		}
		wait = retryDelay(wait)
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("marquez %s: rate limited (429 %s); retrying in %s", id, msg, wait.Round(time.Second)),
			RateLimitedType, temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: cause})
	case st >= 500 && retryAfter > 0:
		wait := retryDelay(retryAfter)
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("marquez %s: unavailable (%d %s); retrying in %s", id, st, msg, wait.Round(time.Second)),
			CatalogUnavailableType, temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: cause})
	case st >= 500 || st == http.StatusRequestTimeout:
		return fmt.Errorf("marquez %s: %w", id, cause)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("marquez %s: request refused (%d %s)", id, st, msg), CatalogRefusedType, cause)
}

// errorMessage is the message of a Marquez error body ({"code":…,
// "message":…}), else the body's first line, bounded and printable.
func errorMessage(b []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	s := ""
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		s = e.Message
	} else {
		s, _, _ = strings.Cut(string(b), "\n")
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(no message)"
	}
	return s
}

// marquezLineage is the lineage API's response: LineageGraph in Marquez's
// OpenAPI (spec/openapi.yml), a graph of GraphNodes.
type marquezLineage struct {
	Graph []marquezNode `json:"graph"`
}

// marquezNode is a GraphNode: an id (dataset:<ns>:<name> or
// job:<ns>:<name>), its type (DATASET or JOB), its data (a Dataset or a
// Job) and its edges.
type marquezNode struct {
	ID       string        `json:"id"`
	Type     string        `json:"type"`
	Data     marquezData   `json:"data"`
	InEdges  []marquezEdge `json:"inEdges"`
	OutEdges []marquezEdge `json:"outEdges"`
}

type marquezEdge struct {
	Origin      string `json:"origin"`
	Destination string `json:"destination"`
}

// marquezData holds the fields of a Dataset the graph uses: its name,
// tags, and the OpenLineage ownership facet when the response carries
// facets.
type marquezData struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace"`
	Tags      []string `json:"tags"`
	Facets    struct {
		Ownership *struct {
			Owners []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"owners"`
		} `json:"ownership"`
	} `json:"facets"`
}

// Tag conventions on Marquez datasets (see the package README).
const (
	// tagOwner prefixes an owner: owner:finance.
	tagOwner = "owner:"
	// tagExposure marks a dataset as an exposure (what people read: the
	// table behind a dashboard, a model's features); exposure:<type>
	// gives its type (dashboard, notebook, analysis, ml, application).
	tagExposure = "exposure"
	// tagMaturity gives an exposure's maturity: maturity:high.
	tagMaturity = "maturity:"
)

// marquezGraph builds the lineage Graph of a Marquez response: each
// DATASET is a node; a JOB reading datasets A and writing B makes A a
// parent of B. A dataset no job in the response writes is a source, one
// tagged exposure an exposure, any other a model.
func marquezGraph(nodes []marquezNode) *Graph {
	m := &Manifest{
		ProjectName: "marquez",
		Nodes:       map[string]*Node{},
		ParentMap:   map[string][]string{},
		ChildMap:    map[string][]string{},
	}
	isDataset := func(id string) bool { return strings.HasPrefix(id, "dataset:") }
	isJob := func(id string) bool { return strings.HasPrefix(id, "job:") }
	ins, outs := map[string][]string{}, map[string][]string{}
	for _, n := range nodes {
		for _, e := range slices.Concat(n.InEdges, n.OutEdges) {
			switch {
			case isDataset(e.Origin) && isJob(e.Destination):
				ins[e.Destination] = append(ins[e.Destination], e.Origin)
			case isJob(e.Origin) && isDataset(e.Destination):
				outs[e.Origin] = append(outs[e.Origin], e.Destination)
			}
		}
		if n.Type != "DATASET" || !isDataset(n.ID) {
			continue
		}
		m.Nodes[n.ID] = marquezDataset(n)
	}
	written := map[string]bool{}
	for job, os := range outs {
		for _, o := range os {
			if m.Nodes[o] == nil {
				continue
			}
			written[o] = true
			for _, i := range ins[job] {
				if m.Nodes[i] == nil || i == o {
					continue
				}
				m.ParentMap[o] = append(m.ParentMap[o], i)
				m.ChildMap[i] = append(m.ChildMap[i], o)
			}
		}
	}
	for id, n := range m.Nodes {
		m.ParentMap[id] = uniqSorted(m.ParentMap[id])
		m.ChildMap[id] = uniqSorted(m.ChildMap[id])
		if n.ResourceType == "" {
			n.ResourceType = TypeSource
			if written[id] {
				n.ResourceType = TypeModel
			}
		}
	}
	return NewGraph(m)
}

// marquezDataset maps a DATASET node: its name, owners from the
// ownership facet's owners then owner:<name> tags, and the exposure and
// maturity tags.
func marquezDataset(n marquezNode) *Node {
	d := n.Data
	name := d.Name
	if name == "" {
		// dataset:<namespace>:<name>; a namespace may hold colons
		// (snowflake://acct), a name rarely does: take the last part.
		name = n.ID[strings.LastIndexByte(n.ID, ':')+1:]
	}
	out := &Node{UniqueID: n.ID, Name: name, PackageName: d.Namespace}
	if d.Facets.Ownership != nil {
		for _, o := range d.Facets.Ownership.Owners {
			if s := strings.TrimSpace(o.Name); s != "" && !slices.Contains(out.Owners, s) {
				out.Owners = append(out.Owners, s)
			}
		}
	}
	for _, t := range d.Tags {
		t = strings.TrimSpace(t)
		switch {
		case strings.HasPrefix(t, tagOwner):
			if s := strings.TrimSpace(t[len(tagOwner):]); s != "" && !slices.Contains(out.Owners, s) {
				out.Owners = append(out.Owners, s)
			}
		case t == tagExposure:
			out.ResourceType = TypeExposure
		case strings.HasPrefix(t, tagExposure+":"):
			out.ResourceType = TypeExposure
			out.ExposureType = strings.TrimSpace(t[len(tagExposure)+1:])
		case strings.HasPrefix(t, tagMaturity):
			out.Maturity = strings.ToLower(strings.TrimSpace(t[len(tagMaturity):]))
		}
	}
	return out
}
