package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/internal/connset"
	"github.com/sluicelog/sluice/net/internal/sockbuf"
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

	ln         net.Listener
	advertHost string
	advertPort int32
	clusterID  string
	conns      *connset.Set
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
		conns:  connset.New(cfg.MaxConnections, sockbuf.Sizes{Send: cfg.SendBufferBytes, Receive: cfg.ReceiveBufferBytes}, cfg.Logger),
	}
	s.stopping = s.conns.Stopping()
	return s
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
	err := s.conns.Serve(s.ln, func(nc net.Conn) connset.Conn { return newConn(s, nc) })
	if err != nil {
		return fmt.Errorf("kafka listener: %w", err)
	}
	return nil
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
	return s.conns.Shutdown(ctx, s.ln)
}
