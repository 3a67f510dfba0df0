package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures a Server.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free one.
	Addr string
	// Registry is what /metrics exposes; nil exposes an empty registry.
	Registry *prometheus.Registry
	// Ready reports whether the process is ready to serve and, when it is
	// not, why (a short reason by component). nil means always ready.
	Ready func() (ready bool, reasons map[string]string)
	// Logger receives the server's errors; nil discards them.
	Logger *slog.Logger
	// Listener, when set, is a listener already bound, used instead of
	// binding Addr (a test that needs the address before the broker
	// finishes starting binds 127.0.0.1:0 itself).
	Listener net.Listener
	// Handler, when set, is served instead of the operations routes:
	// another HTTP API of the broker (the schema registry) with the same
	// connection limits. Registry and Ready are then unused.
	Handler http.Handler

	// ReadHeaderTimeout is how long a connection may take to send a
	// request's line and headers, from when the server starts reading
	// them; a connection that takes longer is closed without an answer.
	// 0 means 5 s, far more than a scraper on any network needs.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new
	// request for that long. 0 means 2 min, so that a scraper polling
	// every minute keeps its connection.
	IdleTimeout time.Duration
	// MaxConns caps the connections open at once; 0 means 256. Accept
	// never blocks: past the cap, a new connection displaces the one that
	// has waited longest for a request, or is closed at once when all are
	// inside requests.
	MaxConns int
}

// Defaults of the Config's limits, and the one limit that is not a knob.
const (
	defaultReadHeaderTimeout = 5 * time.Second
	defaultIdleTimeout       = 2 * time.Minute
	defaultMaxConns          = 256
	// maxHeaderBytes bounds a request's line and headers: a Prometheus
	// scrape or a curl sends well under 1 KiB. net/http reads at most
	// 4 KiB past it before answering 431, so a huge URL costs ~20 KiB.
	maxHeaderBytes = 16 << 10
)

// validate checks the limits, which New has defaulted.
func (c *Config) validate() error {
	switch {
	case c.ReadHeaderTimeout < 0:
		return fmt.Errorf("ops: ReadHeaderTimeout %v is negative", c.ReadHeaderTimeout)
	case c.IdleTimeout < 0:
		return fmt.Errorf("ops: IdleTimeout %v is negative", c.IdleTimeout)
	case c.MaxConns < 0:
		return fmt.Errorf("ops: MaxConns %d is negative", c.MaxConns)
	}
	return nil
}

// Server is the operations HTTP listener.
type Server struct {
	cfg   Config
	http  *http.Server
	conns *limiter
	ln    net.Listener
}

// New returns a server for cfg; Listen validates cfg and binds it.
func New(cfg Config) *Server {
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Ready == nil {
		cfg.Ready = func() (bool, map[string]string) { return true, nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = defaultReadHeaderTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = defaultMaxConns
	}
	s := &Server{cfg: cfg, conns: newLimiter(cfg.MaxConns, cfg.Logger)}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      cfg.Registry, // promhttp_metric_handler_errors_total
	}))
	// pprof.Index serves the named profiles under /debug/pprof/ too
	// (heap, goroutine, mutex, ...); the others are functions of their own.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/readyz", s.readyz)
	var handler http.Handler = mux
	if cfg.Handler != nil {
		handler = cfg.Handler
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         s.conns.connState,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		// No WriteTimeout: /debug/pprof/profile?seconds=N and trace
		// stream for as long as they are asked to. No ReadTimeout
		// either: it would also end their requests early, since the
		// server cancels a request's context when a read on its
		// connection times out.
	}
	// Connections waiting for a request are closed as soon as Shutdown
	// begins (it has closed the listener by then), rather than after the
	// 5 s that http.Server gives a connection that has sent nothing.
	s.http.RegisterOnShutdown(s.conns.closeWaiting)
	return s
}

// Listen binds the address, so that Addr is known before Serve.
func (s *Server) Listen() error {
	if err := s.cfg.validate(); err != nil {
		return err
	}
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return err
		}
	}
	s.ln = s.conns.listener(ln)
	return nil
}

// Addr returns the bound address; nil before Listen.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve answers requests until Shutdown; it then returns nil.
func (s *Server) Serve() error {
	if s.ln == nil {
		return errors.New("ops: Serve before Listen")
	}
	if err := s.http.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for requests in flight until ctx
// ends, then closes what is left (a long CPU profile, say).
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	// A server that was bound but never served still holds its listener.
	s.ln.Close()
	return err
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyBody is /readyz's answer.
type readyBody struct {
	Ready   bool              `json:"ready"`
	Reasons map[string]string `json:"reasons,omitempty"`
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	ready, reasons := s.cfg.Ready()
	if ready {
		writeJSON(w, http.StatusOK, readyBody{Ready: true})
		return
	}
	if len(reasons) == 0 {
		reasons = map[string]string{"process": "not ready"}
	}
	writeJSON(w, http.StatusServiceUnavailable, readyBody{Reasons: reasons})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}
