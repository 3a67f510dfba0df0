package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/protocol"
)

// Config configures a Server. Zero fields take the defaults noted.
type Config struct {
	// Addr is the address to listen on, "127.0.0.1:9192" by default.
	Addr string
	// Advertised is the host:port given to clients in Metadata; by default
	// the address actually bound.
	Advertised string
	NodeID     int32
	// MaxRequestBytes is socket.request.max.bytes (100 MiB): a larger frame
	// closes the connection.
	MaxRequestBytes int
	// MaxConnections is max.connections (10,000): connections past it are
	// closed as they are accepted.
	MaxConnections int
	// IdleTimeout is connections.max.idle.ms (10 minutes): a connection
	// with no request for this long is closed.
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
	Logger        *slog.Logger
	// Groups is the group coordinator, which the caller runs (Run). When
	// nil the server makes one with Kafka's defaults over the engine and
	// runs it while it serves.
	Groups *group.Coordinator
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:9192"
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = protocol.DefaultMaxFrameSize
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

// Server answers the native protocol over TCP for one engine.
type Server struct {
	eng    *engine.Engine
	cfg    Config
	logger *slog.Logger

	ln          net.Listener
	advertHost  string
	advertPort  int32
	connections atomic.Int64

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	// stopping is closed when Shutdown begins: long polls end early.
	stopping chan struct{}
	wg       sync.WaitGroup

	groups *group.Coordinator
	// ctx ends when Shutdown begins: JoinGroup and SyncGroup stop waiting.
	ctx        context.Context
	cancel     context.CancelFunc
	ownGroups  bool
	groupsDone sync.WaitGroup
}

// New returns a server for eng; Listen binds it.
func New(eng *engine.Engine, cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		eng:      eng,
		cfg:      cfg,
		logger:   cfg.Logger,
		conns:    map[*conn]struct{}{},
		stopping: make(chan struct{}),
		groups:   cfg.Groups,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.groups == nil {
		s.groups = group.New(group.Config{Store: eng, Logger: cfg.Logger.With("component", "groups")})
		s.ownGroups = true
	}
	return s
}

// Listen binds the listening socket. With port 0 the kernel picks one; Addr
// tells which.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	adv := s.cfg.Advertised
	if adv == "" {
		adv = ln.Addr().String()
	}
	host, port, err := net.SplitHostPort(adv)
	if err != nil {
		ln.Close()
		return fmt.Errorf("advertised address %q: %w", adv, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		ln.Close()
		return fmt.Errorf("advertised port %q: %w", port, err)
	}
	s.advertHost, s.advertPort = host, int32(p)
	return nil
}

// Addr returns the bound address (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve() error {
	s.logger.Info("listening", "addr", s.ln.Addr().String(), "protocol", "sluice")
	if s.ownGroups {
		s.groupsDone.Add(1)
		go s.runGroups(s.ctx)
	}
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stopping:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		if n := s.connections.Add(1); n > int64(s.cfg.MaxConnections) {
			s.connections.Add(-1)
			s.logger.Warn("connection refused: max.connections reached", "remote", c.RemoteAddr().String(), "max", s.cfg.MaxConnections)
			c.Close()
			continue
		}
		cn := newConn(s, c)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			s.connections.Add(-1)
			c.Close()
			continue
		}
		s.conns[cn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			cn.serve()
			s.forget(cn)
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

// Shutdown stops accepting, lets each connection finish the requests it has
// read (long polls answer at once with what they have), then closes the
// connections. If ctx ends first, connections are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stopping)
	s.cancel()
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
		s.groupsDone.Wait()
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
