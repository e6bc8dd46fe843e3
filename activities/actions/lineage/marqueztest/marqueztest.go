// Package marqueztest is a stand-in for Marquez's lineage API (GET
// /api/v1/lineage?nodeId=…&depth=N) for tests: it holds datasets and the
// jobs that read and write them, and answers with the LineageGraph shape of
// Marquez's OpenAPI specification (spec/openapi.yml): a graph of nodes, each
// with id, type (DATASET or JOB), data (a Dataset or a Job) and
// inEdges/outEdges of {origin, destination}.
//
// Like Marquez, a dataset's lineage starts from a job that writes it (else
// one that reads it) and takes in every job sharing a dataset with the jobs
// already in, depth times; a dataset no job touches comes back alone; an
// unknown dataset is a 404 with Marquez's error body. Faults can be queued
// (a status with Retry-After), responses slowed or padded past a size
// bound, and a bearer token required.
//
// It is test and development code: the shipped binaries must not link it.
package marqueztest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dataset is a dataset of the stand-in.
type Dataset struct {
	// Namespace and Name identify it: dataset:<Namespace>:<Name>.
	Namespace, Name string
	// Tags are the dataset's tag names.
	Tags []string
	// Owners, when set, fill the OpenLineage ownership facet
	// (facets.ownership.owners[].name).
	Owners []string
}

// ID is the dataset's node id.
func (d Dataset) ID() string { return "dataset:" + d.Namespace + ":" + d.Name }

// Job is a job of the stand-in, reading and writing datasets named
// "<namespace>:<name>".
type Job struct {
	Namespace, Name string
	Inputs, Outputs []string
}

// ID is the job's node id.
func (j Job) ID() string { return "job:" + j.Namespace + ":" + j.Name }

// Fault is an answer given instead of the lineage.
type Fault struct {
	// Status is the HTTP status.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Body is the response body; "" sends Marquez's {"code","message"}.
	Body string
}

// Server is the stand-in. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	datasets map[string]Dataset // by "<namespace>:<name>"
	jobs     []Job
	faults   []Fault
	delay    time.Duration
	padding  int
	apiKey   string
	requests int
	depths   []int
}

// New starts a stand-in on 127.0.0.1 holding datasets and jobs. Close it
// when done.
func New(datasets []Dataset, jobs []Job) *Server {
	s := &Server{datasets: map[string]Dataset{}}
	s.Set(datasets, jobs)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Set replaces the datasets and jobs (a new run of the pipelines).
func (s *Server) Set(datasets []Dataset, jobs []Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.datasets = map[string]Dataset{}
	for _, d := range datasets {
		s.datasets[d.Namespace+":"+d.Name] = d
	}
	s.jobs = slices.Clone(jobs)
}

// Fail queues faults, answered in order before the lineage.
func (s *Server) Fail(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Slow makes every answer wait d first (or until the client gives up).
func (s *Server) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Pad adds n bytes to every lineage response (an extra JSON field), to
// push it over a size bound.
func (s *Server) Pad(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.padding = n
}

// RequireKey makes the stand-in answer 401 unless the request carries
// "Authorization: Bearer <key>".
func (s *Server) RequireKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = key
}

// Requests is how many lineage requests the stand-in has received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Depths are the depth parameters of the lineage requests, in order.
func (s *Server) Depths() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.depths)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": status, "message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/lineage" {
		writeError(w, http.StatusNotFound, "HTTP 404 Not Found")
		return
	}
	s.mu.Lock()
	s.requests++
	delay, key := s.delay, s.apiKey
	var fault *Fault
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
		writeError(w, http.StatusUnauthorized, "Credentials are required to access this resource.")
		return
	}
	if fault != nil {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		if fault.Body != "" {
			w.WriteHeader(fault.Status)
			_, _ = w.Write([]byte(fault.Body))
			return
		}
		writeError(w, fault.Status, http.StatusText(fault.Status))
		return
	}
	q := r.URL.Query()
	depth := 20
	if v := q.Get("depth"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusNotFound, "HTTP 404 Not Found") // JAX-RS answers 404 for a bad query parameter
			return
		}
		depth = n
	}
	nodeID := q.Get("nodeId")
	rest, ok := strings.CutPrefix(nodeID, "dataset:")
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Node '%s' must be of type dataset or job!", nodeID))
		return
	}
	s.mu.Lock()
	s.depths = append(s.depths, depth)
	ds, found := s.datasets[rest]
	var body map[string]any
	if found {
		body = s.lineage(ds, depth)
	}
	padding := s.padding
	s.mu.Unlock()
	if !found {
		name := rest[strings.LastIndexByte(rest, ':')+1:]
		writeError(w, http.StatusNotFound, fmt.Sprintf("Dataset '%s' not found.", name))
		return
	}
	if padding > 0 {
		body["padding"] = strings.Repeat("x", padding)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) key(d Dataset) string { return d.Namespace + ":" + d.Name }

// lineage is the graph around ds; s.mu is held.
func (s *Server) lineage(ds Dataset, depth int) map[string]any {
	k := s.key(ds)
	start := -1
	for i, j := range s.jobs {
		if slices.Contains(j.Outputs, k) && (start < 0 || j.Name < s.jobs[start].Name) {
			start = i
		}
	}
	if start < 0 {
		for i, j := range s.jobs {
			if slices.Contains(j.Inputs, k) && (start < 0 || j.Name < s.jobs[start].Name) {
				start = i
			}
		}
	}
	if start < 0 {
		return map[string]any{"graph": []any{s.datasetNode(ds, nil)}}
	}
	in := map[int]bool{start: true}
	frontier := []int{start}
	for d := 0; d < depth && len(frontier) > 0; d++ {
		var next []int
		for _, f := range frontier {
			touched := slices.Concat(s.jobs[f].Inputs, s.jobs[f].Outputs)
			for i, j := range s.jobs {
				if in[i] {
					continue
				}
				if slices.ContainsFunc(slices.Concat(j.Inputs, j.Outputs), func(x string) bool { return slices.Contains(touched, x) }) {
					in[i] = true
					next = append(next, i)
				}
			}
		}
		frontier = next
	}
	var jobs []Job
	for i := range s.jobs {
		if in[i] {
			jobs = append(jobs, s.jobs[i])
		}
	}
	type node struct {
		id string
		v  map[string]any
	}
	var nodes []node
	seen := map[string]bool{}
	for _, j := range jobs {
		nodes = append(nodes, node{j.ID(), s.jobNode(j)})
		for _, x := range slices.Concat(j.Inputs, j.Outputs) {
			d, ok := s.datasets[x]
			if !ok || seen[x] {
				continue
			}
			seen[x] = true
			nodes = append(nodes, node{d.ID(), s.datasetNode(d, jobs)})
		}
	}
	slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.id, b.id) })
	out := make([]any, len(nodes))
	for i, n := range nodes {
		out[i] = n.v
	}
	return map[string]any{"graph": out}
}

func edge(origin, destination string) map[string]any {
	return map[string]any{"origin": origin, "destination": destination}
}

func datasetID(k string) string { return "dataset:" + k }

func (s *Server) datasetNode(d Dataset, jobs []Job) map[string]any {
	k := s.key(d)
	inEdges, outEdges := []any{}, []any{}
	for _, j := range jobs {
		if slices.Contains(j.Outputs, k) {
			inEdges = append(inEdges, edge(j.ID(), d.ID()))
		}
		if slices.Contains(j.Inputs, k) {
			outEdges = append(outEdges, edge(d.ID(), j.ID()))
		}
	}
	facets := map[string]any{}
	if len(d.Owners) > 0 {
		owners := make([]any, len(d.Owners))
		for i, o := range d.Owners {
			owners[i] = map[string]any{"name": o, "type": "MAINTAINER"}
		}
		facets["ownership"] = map[string]any{
			"_producer":  "https://github.com/datasev/datasev/marqueztest",
			"_schemaURL": "https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json",
			"owners":     owners,
		}
	}
	tags := d.Tags
	if tags == nil {
		tags = []string{}
	}
	ts := "2026-01-05T07:00:00Z"
	return map[string]any{
		"id":   d.ID(),
		"type": "DATASET",
		"data": map[string]any{
			"id":             map[string]any{"namespace": d.Namespace, "name": d.Name},
			"type":           "DB_TABLE",
			"name":           d.Name,
			"physicalName":   d.Name,
			"createdAt":      ts,
			"updatedAt":      ts,
			"namespace":      d.Namespace,
			"sourceName":     d.Namespace,
			"fields":         []any{},
			"tags":           tags,
			"lastModifiedAt": ts,
			"description":    nil,
			"facets":         facets,
		},
		"inEdges":  inEdges,
		"outEdges": outEdges,
	}
}

func (s *Server) jobNode(j Job) map[string]any {
	ids := func(keys []string) []any {
		out := []any{}
		for _, k := range keys {
			ns, name, _ := strings.Cut(k, ":")
			out = append(out, map[string]any{"namespace": ns, "name": name})
		}
		return out
	}
	inEdges, outEdges := []any{}, []any{}
	for _, k := range j.Inputs {
		inEdges = append(inEdges, edge(datasetID(k), j.ID()))
	}
	for _, k := range j.Outputs {
		outEdges = append(outEdges, edge(j.ID(), datasetID(k)))
	}
	ts := "2026-01-05T07:00:00Z"
	return map[string]any{
		"id":   j.ID(),
		"type": "JOB",
		"data": map[string]any{
			"id":         map[string]any{"namespace": j.Namespace, "name": j.Name},
			"type":       "BATCH",
			"name":       j.Name,
			"simpleName": j.Name,
			"createdAt":  ts,
			"updatedAt":  ts,
			"namespace":  j.Namespace,
			"inputs":     ids(j.Inputs),
			"outputs":    ids(j.Outputs),
			"location":   nil,
			"latestRun":  nil,
		},
		"inEdges":  inEdges,
		"outEdges": outEdges,
	}
}
