package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/internal/connset"
	"github.com/sluicelog/sluice/net/internal/sockbuf"
	"github.com/sluicelog/sluice/net/metrics"
	"github.com/sluicelog/sluice/net/request"
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
	// Groups answers the consumer group APIs. Nil leaves them out of
	// ApiVersions, and their requests get UNSUPPORTED_VERSION.
	Groups Groups
	Logger *slog.Logger
	// Metrics holds the listener's request instruments and slow-request
	// rule; nil times nothing.
	Metrics *metrics.Listener
	// Handler answers the requests but the group APIs. When nil the server
	// makes one over the engine, with request.Local as its cluster (a
	// single node), from NodeID, NumPartitions, DefaultReplicationFactor,
	// AutoCreateTopics, DeleteTopicEnable and BrokerConfigs; with a
	// Handler those fields are not used.
	Handler *request.Handler
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

// Server answers the Kafka protocol over TCP: it decodes each request with
// kmsg, has the request layer (net/request) answer it, and encodes the
// answer.
type Server struct {
	eng    *engine.Engine
	cfg    Config
	logger *slog.Logger
	apis   apiTable
	h      *request.Handler

	ln     net.Listener
	advert request.Broker
	conns  *connset.Set
	// stopping is closed when Shutdown begins: long polls end early.
	stopping <-chan struct{}
}

// New returns a server for eng; Listen binds it.
func New(eng *engine.Engine, cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		eng:    eng,
		cfg:    cfg,
		logger: cfg.Logger,
		apis:   newAPITable(cfg.Groups),
		h:      cfg.Handler,
		conns:  connset.New(cfg.MaxConnections, sockbuf.Sizes{Send: cfg.SendBufferBytes, Receive: cfg.ReceiveBufferBytes}, cfg.Logger),
	}
	s.stopping = s.conns.Stopping()
	return s
}

// Listen binds the listening socket (making the request layer first when
// the Config has none). With port 0 the kernel picks a port; Addr tells
// which.
func (s *Server) Listen() error {
	if s.h == nil {
		local, err := request.NewLocal(s.eng, request.LocalConfig{NodeID: s.cfg.NodeID,
			NumPartitions: s.cfg.NumPartitions, DefaultReplicationFactor: s.cfg.DefaultReplicationFactor})
		if err != nil {
			return fmt.Errorf("kafka listener: %w", err)
		}
		s.h = request.New(s.eng, local, request.Config{AutoCreateTopics: s.cfg.AutoCreateTopics,
			DeleteTopicEnable: s.cfg.DeleteTopicEnable, BrokerConfigs: s.cfg.BrokerConfigs, Logger: s.logger})
	}
	ln, advert, err := request.Bind(request.ListenerKafka, s.cfg.Addr, s.cfg.Advertised, s.h.Cluster(), s.logger)
	if err != nil {
		return fmt.Errorf("kafka listener: %w", err)
	}
	s.ln, s.advert = ln, advert
	s.logger.Info("listener bound", "event", "listener_bound", "addr", s.ln.Addr().String(), "protocol", "kafka",
		"advertised", net.JoinHostPort(s.advert.Host, strconv.Itoa(int(s.advert.Port))))
	return nil
}

// Addr returns the bound address (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// ClusterID returns the cluster id given to clients (after Listen).
func (s *Server) ClusterID() string { return s.h.Cluster().ClusterID() }

// Serve accepts connections until Shutdown, after which it returns nil.
func (s *Server) Serve() error {
	err := s.conns.Serve(s.ln, func(nc net.Conn) connset.Conn { return newConn(s, nc) })
	if err != nil {
		return fmt.Errorf("kafka listener: %w", err)
	}
	return nil
}

// Shutdown stops accepting, lets each connection answer the requests it
// has read (long polls answer at once with what they have), then closes
// the connections. If ctx ends first, connections are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.conns.Shutdown(ctx, s.ln)
}
