// Package demoload is a DEMO STAND-IN: a tiny HTTP server that plays "the
// orders loader" for the dev stack (`go run ./starter/dev`), so the demo
// runbook (demo-orders-load) has something real to check. It is not an
// integration and it loads nothing; it only answers GET /health, on
// 127.0.0.1 and nowhere else.
//
// It starts out failed — 503 with
//
//	{"state":"failed","dag":"load_orders","error":"COPY INTO RAW.ORDERS: 0 rows loaded"}
//
// — and turns healthy (200 {"state":"healthy",...}) when Recover is called
// (the demo calls it once the Commander approves the SME's re-run of the
// load) or, failing that, once Options.FailFor has passed since Start.
package demoload

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultFailFor is how long the stand-in stays failed when nobody calls
// Recover.
const DefaultFailFor = 40 * time.Second

// Loader error and DAG the stand-in reports while failed.
const (
	DAG     = "load_orders"
	Failure = "COPY INTO RAW.ORDERS: 0 rows loaded"
)

// Options tune the stand-in.
type Options struct {
	// FailFor is how long after Start /health answers 503 unless Recover
	// comes first. Zero means DefaultFailFor; negative means until Recover.
	FailFor time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Loader is the running stand-in.
type Loader struct {
	srv     *http.Server
	ln      net.Listener
	now     func() time.Time
	started time.Time
	failFor time.Duration
	done    chan struct{}

	mu          sync.Mutex
	recoveredAt time.Time
	checks      int // health requests answered
	failed      int // of which with 503
}

// Start listens on 127.0.0.1 on a port the system picks and serves until
// Close.
func Start(opts Options) (*Loader, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	failFor := opts.FailFor
	if failFor == 0 {
		failFor = DefaultFailFor
	}
	l := &Loader{ln: ln, now: now, started: now(), failFor: failFor, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", l.health)
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(l.done)
		_ = l.srv.Serve(ln) // http.ErrServerClosed after Close
	}()
	return l, nil
}

// HealthURL is the address of GET /health, for the alert's health_url label.
func (l *Loader) HealthURL() string { return "http://" + l.ln.Addr().String() + "/health" }

// Recover makes /health answer 200 from now on: the load was re-run and
// succeeded. Calling it again changes nothing.
func (l *Loader) Recover() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recoveredAt.IsZero() {
		l.recoveredAt = l.now()
	}
}

// Healthy reports whether /health answers 200 now.
func (l *Loader) Healthy() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.healthyLocked()
}

func (l *Loader) healthyLocked() bool {
	if !l.recoveredAt.IsZero() {
		return true
	}
	return l.failFor > 0 && !l.now().Before(l.started.Add(l.failFor))
}

// Checks returns how many health requests the stand-in has answered, and
// how many of them with 503.
func (l *Loader) Checks() (total, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.checks, l.failed
}

// Close stops the server, waiting briefly for requests in flight.
func (l *Loader) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := l.srv.Shutdown(ctx)
	<-l.done
	return err
}

type healthBody struct {
	State  string `json:"state"`
	DAG    string `json:"dag"`
	Error  string `json:"error,omitempty"`
	Since  string `json:"since,omitempty"`
	Notice string `json:"notice"`
}

const notice = "datasev dev stack demo stand-in, not a real loader"

func (l *Loader) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "GET or HEAD only", http.StatusMethodNotAllowed)
		return
	}
	l.mu.Lock()
	status, body := http.StatusServiceUnavailable, healthBody{
		State: "failed", DAG: DAG, Error: Failure, Since: l.started.UTC().Format(time.RFC3339), Notice: notice,
	}
	if l.healthyLocked() {
		since := l.recoveredAt
		if since.IsZero() {
			since = l.started.Add(l.failFor)
		}
		status, body = http.StatusOK, healthBody{State: "healthy", DAG: DAG, Since: since.UTC().Format(time.RFC3339), Notice: notice}
	}
	l.checks++
	if status != http.StatusOK {
		l.failed++
	}
	l.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_ = json.NewEncoder(w).Encode(body)
	}
}
