package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Path is where the endpoint serves the metrics.
const Path = "/metrics"

// Health paths: HealthPath answers 200 while the process serves;
// ReadyPath answers 200 once the readiness check (SetReady) passes, 503
// with the reason otherwise.
const (
	HealthPath = "/healthz"
	ReadyPath  = "/readyz"
)

// readyTimeout bounds one readiness check.
const readyTimeout = 3 * time.Second

// Server is the worker's HTTP endpoint: GET /metrics in the Prometheus text
// format, and the health and readiness probes.
type Server struct {
	srv   *http.Server
	ln    net.Listener
	done  chan struct{}
	ready atomic.Pointer[func(context.Context) error]
}

// Listen binds addr (host:port; port 0 picks a free one) and serves m's
// registry at GET /metrics until Close. Binding fails here, not later, so a
// taken port stops the worker at start.
func Listen(addr string, m *Metrics, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	s := &Server{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	mux.Handle("GET "+Path, m.Handler())
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET "+ReadyPath, s.serveReady)
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics endpoint stopped", slog.String("addr", ln.Addr().String()), slog.Any("error", err))
		}
	}()
	return s, nil
}

// SetReady sets the readiness check GET /readyz runs (with a 3s timeout):
// nil from it answers 200, an error 503 with its text. Until it is set the
// probe answers 503 "starting".
func (s *Server) SetReady(check func(context.Context) error) {
	if check == nil {
		s.ready.Store(nil)
		return
	}
	s.ready.Store(&check)
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	check := s.ready.Load()
	if check == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "starting\n")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := (*check)(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// Addr is the address the endpoint listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint's full URL, http://host:port/metrics.
func (s *Server) URL() string { return "http://" + s.Addr() + Path }

// Close stops the endpoint, letting scrapes in flight finish until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("metrics endpoint: %w", err)
	}
	return nil
}
