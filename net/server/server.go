package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/internal/connset"
	"github.com/sluicelog/sluice/net/internal/sockbuf"
	"github.com/sluicelog/sluice/net/metrics"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
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
	// SendBufferBytes and ReceiveBufferBytes are socket.send.buffer.bytes
	// and socket.receive.buffer.bytes: each connection's kernel buffers.
	// Zero or less leaves them to the OS (autotuning on Linux).
	SendBufferBytes, ReceiveBufferBytes int
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
	// Handler answers the requests. When nil the server makes one over
	// the engine, with request.Local as its cluster (a single node),
	// from NodeID, NumPartitions, DefaultReplicationFactor,
	// AutoCreateTopics, DeleteTopicEnable and BrokerConfigs; with a
	// Handler those fields are not used.
	Handler *request.Handler
	// Metrics holds the listener's request instruments and slow-request
	// rule; nil times nothing.
	Metrics *metrics.Listener
	// Groups is the group coordinator, which the caller runs (Run) after
	// Restore. When nil the server makes one with Kafka's defaults over
	// the engine, restores it and runs it while it serves.
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

// Server answers the native protocol over TCP: it decodes each request,
// has the request layer (net/request) answer it, and encodes the answer.
type Server struct {
	eng    *engine.Engine
	cfg    Config
	logger *slog.Logger
	h      *request.Handler

	ln     net.Listener
	advert request.Broker
	conns  *connset.Set
	// stopping is closed when Shutdown begins: long polls end early.
	stopping <-chan struct{}

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
		eng:    eng,
		cfg:    cfg,
		logger: cfg.Logger,
		conns:  connset.New(cfg.MaxConnections, sockbuf.Sizes{Send: cfg.SendBufferBytes, Receive: cfg.ReceiveBufferBytes}, cfg.Logger),
		groups: cfg.Groups,
		h:      cfg.Handler,
	}
	s.stopping = s.conns.Stopping()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.groups == nil {
		s.groups = group.New(group.Config{Store: eng, Logger: cfg.Logger.With("component", "groups")})
		s.ownGroups = true
		// As the broker's does: stable groups come back with their members.
		if _, err := s.groups.Restore(); err != nil {
			s.logger.Warn("stored groups not restored: their members rejoin", "err", err)
		}
	}
	return s
}

// Listen binds the listening socket. With port 0 the kernel picks one; Addr
// tells which.
func (s *Server) Listen() error {
	if s.h == nil {
		local, err := request.NewLocal(s.eng, request.LocalConfig{NodeID: s.cfg.NodeID,
			NumPartitions: s.cfg.NumPartitions, DefaultReplicationFactor: s.cfg.DefaultReplicationFactor})
		if err != nil {
			return err
		}
		s.h = request.New(s.eng, local, request.Config{AutoCreateTopics: s.cfg.AutoCreateTopics,
			DeleteTopicEnable: s.cfg.DeleteTopicEnable, BrokerConfigs: s.cfg.BrokerConfigs, Logger: s.logger})
	}
	ln, advert, err := request.Bind(request.ListenerNative, s.cfg.Addr, s.cfg.Advertised, s.h.Cluster(), s.logger)
	if err != nil {
		return err
	}
	s.ln, s.advert = ln, advert
	s.logger.Info("listener bound", "event", "listener_bound", "addr", s.ln.Addr().String(), "protocol", "sluice")
	return nil
}

// Addr returns the bound address (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve() error {
	if s.ownGroups {
		s.groupsDone.Add(1)
		go s.runGroups(s.ctx)
	}
	err := s.conns.Serve(s.ln, func(nc net.Conn) connset.Conn { return newConn(s, nc) })
	if err != nil {
		return fmt.Errorf("sluice listener: %w", err)
	}
	return nil
}

// Shutdown stops accepting, lets each connection finish the requests it has
// read (long polls answer at once with what they have), then closes the
// connections. If ctx ends first, connections are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	err := s.conns.Shutdown(ctx, s.ln)
	s.groupsDone.Wait()
	return err
}
