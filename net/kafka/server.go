package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// Config configures a Server. Zero fields take the defaults noted.
type Config struct {
	// Addr is the address to listen on, "127.0.0.1:9092" by default.
	Addr string
	// Advertised is the host:port given to clients in Metadata and
	// FindCoordinator; by default the address actually bound.
	Advertised string
	// NodeID is this broker's id (node.id), leader of every partition.
	NodeID int32
	// MaxRequestBytes is socket.request.max.bytes (100 MiB): a larger
	// request closes the connection.
	MaxRequestBytes int
	// MaxConnections is max.connections (10,000): connections past it are
	// closed as they are accepted.
	MaxConnections int
	// IdleTimeout is connections.max.idle.ms (10 minutes).
	IdleTimeout time.Duration
	// WriteTimeout bounds how long one response may take to write to a
	// client that does not read (30 s).
	WriteTimeout time.Duration
	// NumPartitions and DefaultReplicationFactor apply to topics created
	// without them (num.partitions, default.replication.factor).
	NumPartitions            int32
	DefaultReplicationFactor int16
	// AutoCreateTopics is auto.create.topics.enable; DeleteTopicEnable is
	// delete.topic.enable.
	AutoCreateTopics  bool
	DeleteTopicEnable bool
	// BrokerConfigs are reported by DescribeConfigs for the broker resource.
	BrokerConfigs map[string]string
	// Groups answers the consumer group APIs. Nil leaves them out of
	// ApiVersions, and their requests get UNSUPPORTED_VERSION.
	Groups Groups
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:9092"
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 100 << 20
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 10000
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.NumPartitions <= 0 {
		c.NumPartitions = 1
	}
	if c.DefaultReplicationFactor <= 0 {
		c.DefaultReplicationFactor = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server answers the Kafka protocol over TCP for one engine.
type Server struct {
	eng    *engine.Engine
	cfg    Config
	logger *slog.Logger
	apis   apiTable

	ln          net.Listener
	advertHost  string
	advertPort  int32
	clusterID   string
	connections atomic.Int64

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	// stopping is closed when Shutdown begins: long polls end early.
	stopping chan struct{}
	wg       sync.WaitGroup
}

// New returns a server for eng; Listen binds it.
func New(eng *engine.Engine, cfg Config) *Server {
	cfg.setDefaults()
	return &Server{
		eng:      eng,
		cfg:      cfg,
		logger:   cfg.Logger,
		apis:     newAPITable(cfg.Groups),
		conns:    map[*conn]struct{}{},
		stopping: make(chan struct{}),
	}
}

// Listen binds the listening socket and reads the cluster id. With port 0
// the kernel picks a port; Addr tells which.
func (s *Server) Listen() error {
	id, err := s.eng.ClusterID()
	if err != nil {
		return fmt.Errorf("kafka listener: %w", err)
	}
	s.clusterID = id
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("kafka listener: listen %s: %w", s.cfg.Addr, err)
	}
	adv := s.cfg.Advertised
	if adv == "" {
		adv = ln.Addr().String()
	}
	host, port, err := net.SplitHostPort(adv)
	if err == nil {
		var p int
		if p, err = strconv.Atoi(port); err == nil {
			s.advertHost, s.advertPort = host, int32(p)
		}
	}
	if ip := net.ParseIP(s.advertHost); err == nil && (s.advertHost == "" || ip != nil && ip.IsUnspecified()) {
		// Bound to every interface with nothing advertised: clients get
		// this machine's name, as Kafka gives its canonical host name.
		if s.advertHost, err = os.Hostname(); err == nil {
			s.logger.Warn("advertising the host name: set advertised.listeners=PLAINTEXT://host:port to choose",
				"listen", ln.Addr().String(), "advertised", s.advertHost)
		}
	}
	if err != nil {
		ln.Close()
		return fmt.Errorf("kafka listener: advertised address %q: %w", adv, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// ClusterID returns the cluster id given to clients (after Listen).
func (s *Server) ClusterID() string { return s.clusterID }

// Serve accepts connections until Shutdown, after which it returns nil.
func (s *Server) Serve() error {
	s.logger.Info("listening", "addr", s.ln.Addr().String(), "protocol", "kafka",
		"advertised", net.JoinHostPort(s.advertHost, strconv.Itoa(int(s.advertPort))))
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.isStopping() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("kafka listener: accept: %w", err)
		}
		backoff = 0
		if n := s.connections.Add(1); n > int64(s.cfg.MaxConnections) {
			s.connections.Add(-1)
			s.logger.Warn("connection refused: max.connections reached", "remote", nc.RemoteAddr().String(), "max", s.cfg.MaxConnections)
			nc.Close()
			continue
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			s.connections.Add(-1)
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.forget(c)
		}()
	}
}

// forget gives a connection's slot back. The connection calls it before it
// closes its socket, so that a client that sees the close can connect
// again at once without finding max.connections still counting the old
// one; the accept loop calls it again when serve returns, which is then a
// no-op.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	_, ok := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	if ok {
		s.connections.Add(-1)
	}
}

func (s *Server) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

// Shutdown stops accepting, lets each connection answer the requests it
// has read (long polls answer at once with what they have), then closes
// the connections. If ctx ends first, connections are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stopping)
	for c := range s.conns {
		c.stopReading()
	}
	s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
