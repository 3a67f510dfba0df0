package broker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/server"
)

// Broker is a running single-node broker: an engine and the native protocol
// server in front of it.
type Broker struct {
	Engine *engine.Engine
	server *server.Server
	logger *slog.Logger
	done   chan error
}

// Start opens the data directory, binds the listener and starts serving.
func Start(cfg Config, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	eng, err := engine.Open(cfg.DataDir, engine.Options{
		Logger:                 logger.With("component", "engine"),
		TopicDefaults:          cfg.TopicDefaults,
		RetentionCheckInterval: cfg.RetentionCheckInterval,
		ProducerIDExpiration:   cfg.ProducerIDExpiration,
	})
	if err != nil {
		return nil, err
	}
	srv := server.New(eng, server.Config{
		Addr:                     cfg.Listen,
		Advertised:               cfg.Advertised,
		NodeID:                   cfg.NodeID,
		MaxRequestBytes:          cfg.SocketRequestMaxBytes,
		MaxConnections:           cfg.MaxConnections,
		IdleTimeout:              cfg.ConnectionsMaxIdle,
		NumPartitions:            cfg.NumPartitions,
		DefaultReplicationFactor: cfg.DefaultReplicationFactor,
		AutoCreateTopics:         cfg.AutoCreateTopics,
		DeleteTopicEnable:        cfg.DeleteTopicEnable,
		BrokerConfigs:            cfg.brokerConfigs(),
		Logger:                   logger.With("component", "server"),
	})
	if err := srv.Listen(); err != nil {
		eng.Close()
		return nil, err
	}
	b := &Broker{Engine: eng, server: srv, logger: logger, done: make(chan error, 1)}
	go func() { b.done <- srv.Serve() }()
	logger.Info("broker started", "node_id", cfg.NodeID, "listen", srv.Addr().String(), "data_dir", cfg.DataDir)
	return b, nil
}

// Addr returns the native listener's address.
func (b *Broker) Addr() net.Addr { return b.server.Addr() }

// Done is closed (with Serve's error) if the listener fails on its own.
func (b *Broker) Done() <-chan error { return b.done }

// Close stops accepting, lets connections finish the requests they have
// read (until ctx ends), then flushes and closes the engine, which writes
// the clean-shutdown marker.
func (b *Broker) Close(ctx context.Context) error {
	start := time.Now()
	serr := b.server.Shutdown(ctx)
	eerr := b.Engine.Close()
	err := errors.Join(serr, eerr)
	if err != nil {
		b.logger.Error("broker stopped with errors", "err", err)
	} else {
		b.logger.Info("broker stopped cleanly", "took", time.Since(start))
	}
	return err
}

// brokerConfigs is what DescribeConfigs reports for the broker resource.
func (c *Config) brokerConfigs() map[string]string {
	m := map[string]string{
		"node.id":                    strconv.Itoa(int(c.NodeID)),
		"listeners":                  "SLUICE://" + c.Listen,
		"log.dirs":                   c.DataDir,
		"num.partitions":             strconv.Itoa(int(c.NumPartitions)),
		"default.replication.factor": strconv.Itoa(int(c.DefaultReplicationFactor)),
		"auto.create.topics.enable":  strconv.FormatBool(c.AutoCreateTopics),
		"delete.topic.enable":        strconv.FormatBool(c.DeleteTopicEnable),
		"socket.request.max.bytes":   strconv.Itoa(c.SocketRequestMaxBytes),
		"max.connections":            strconv.Itoa(c.MaxConnections),
		"connections.max.idle.ms":    strconv.FormatInt(c.ConnectionsMaxIdle.Milliseconds(), 10),
	}
	for k, v := range c.TopicDefaults {
		m["default."+k] = v
	}
	return m
}

// TB is the part of testing.TB that StartTest needs.
type TB interface {
	Helper()
	TempDir() string
	Cleanup(func())
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// StartTest starts a broker for a test: on 127.0.0.1 with a free port and
// a temporary data directory, closed when the test ends. edit, if not nil,
// adjusts the configuration first.
func StartTest(t TB, edit func(*Config)) *Broker {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	if edit != nil {
		edit(&cfg)
	}
	b, err := Start(cfg, nil)
	if err != nil {
		t.Fatalf("start test broker: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Logf("test broker close: %v", err)
		}
	})
	return b
}
