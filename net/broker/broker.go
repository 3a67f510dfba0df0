package broker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/cluster"
	"github.com/sluicelog/sluice/net/grouplog"
	"github.com/sluicelog/sluice/net/kafka"
	"github.com/sluicelog/sluice/net/kafka/kgroup"
	"github.com/sluicelog/sluice/net/ops"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/net/schemareg"
	"github.com/sluicelog/sluice/net/server"
)

// Broker is a running broker: an engine with the native protocol server
// and, when configured, the Kafka protocol listener in front of it; in a
// cluster, also its seat in the metadata quorum. A controller-only node
// (process.roles=controller) has the seat alone.
type Broker struct {
	Engine *engine.Engine // nil on a controller-only node
	server *server.Server // nil on a controller-only node
	kafka  *kafka.Server  // nil without a PLAINTEXT listener
	member *cluster.Member
	// live is member for what may run before Start returns, on any
	// goroutine: the engine's storage-error callback and /readyz.
	live   atomic.Pointer[cluster.Member]
	logger *slog.Logger
	done   chan error
	ops    opsListener

	groups   *group.Coordinator
	groupLog *grouplog.Store // a cluster's group store; nil on a single node
	// registry and registrySrv are the schema registry and its listener;
	// nil when schema.registry.listeners is empty.
	registry    *schemareg.Registry
	registrySrv *ops.Server
	stopGroups  context.CancelFunc
	groupsDone  chan struct{}
}

// Start opens the data directory, binds the listeners and starts serving.
// A cluster member (process.roles set) also joins the metadata quorum and
// registers with the active controller before it serves.
func Start(cfg Config, logger *slog.Logger) (*Broker, error) {
	return StartContext(context.Background(), cfg, logger)
}

// StartContext is Start that gives up when ctx ends: a broker asked to stop
// while it recovers its logs or waits for its quorum closes what it opened
// (cleanly: the logs are flushed and marked) and returns ctx's error.
func StartContext(ctx context.Context, cfg Config, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := &Broker{logger: logger, done: make(chan error, 4), groupsDone: make(chan struct{}), stopGroups: func() {}}
	// The operations listener comes first, so that /readyz can say what
	// start-up is doing (a long log recovery, say).
	if err := b.startOps(cfg); err != nil {
		return nil, err
	}
	if cfg.Clustered() && !cfg.hasRole("broker") {
		if err := b.startController(ctx, cfg); err != nil {
			b.stopOps(context.Background())
			return nil, err
		}
		return b, nil
	}
	// Whatever fails below undoes what was opened before it, in reverse,
	// after the operations listener stops: no scrape meets a half-closed
	// broker.
	var undo []func()
	fail := func(err error) (*Broker, error) {
		b.stopOps(context.Background())
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}
	b.ops.setStage("opening the data directory and recovering its logs")
	eng, err := engine.Open(cfg.DataDir, engine.Options{
		OnFlush:                b.onFlush(),
		Logger:                 logger.With("component", "engine"),
		TopicDefaults:          cfg.TopicDefaults,
		RetentionCheckInterval: cfg.RetentionCheckInterval,
		ProducerIDExpiration:   cfg.ProducerIDExpiration,
		MaxPartitions:          cfg.MaxPartitionsPerTopic,
		// Every connection may hold a descriptor, and so may the metadata
		// quorum's store: the partitions' budget is what is left.
		ReservedDescriptors: cfg.reservedDescriptors(),
		// In a cluster the high watermark is the ISR's, not each append's.
		Replicated: cfg.Clustered(),
		FS:         cfg.FS,
		// The log cleaner (log.cleaner.*).
		CleanerDisabled:            cfg.CleanerDisabled,
		CleanerThreads:             cfg.CleanerThreads,
		CleanerDedupeBufferSize:    cfg.CleanerDedupeBufferSize,
		CleanerIOMaxBytesPerSecond: cfg.CleanerIOMaxBytesPerSecond,
		CleanerBackoff:             cfg.CleanerBackoff,
		// A replica that a disk error took offline hands its leadership
		// over (the membership exists by the time an append can fail).
		OnStorageError: func(topic string, partition int32, err error) {
			if m := b.live.Load(); m != nil {
				m.StorageFailed(topic, partition, err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	b.Engine = eng
	undo = append(undo, func() { eng.Close() })

	// One request layer answers both listeners. On a single node its
	// cluster is Local; in a cluster it is the node's membership, which
	// answers from the metadata image and changes it through the quorum.
	// Either learns each listener's address as it binds.
	var cl request.Cluster
	if cfg.Clustered() {
		b.ops.setStage("starting the cluster membership")
		b.member, err = cluster.Start(cfg.clusterConfig(eng, logger))
		if err != nil {
			return fail(err)
		}
		b.live.Store(b.member)
		undo = append(undo, func() { b.member.Close() })
		cl = b.member
		if cfg.controllerListenPicked {
			logger.Info("no CONTROLLER listener configured: the quorum's leader reaches this broker-only node on a free port",
				"event", "controller_listener_picked", "controller", b.member.Node().Addr())
		}
	} else {
		local, err := request.NewLocal(eng, request.LocalConfig{NodeID: cfg.NodeID,
			NumPartitions: cfg.NumPartitions, DefaultReplicationFactor: cfg.DefaultReplicationFactor})
		if err != nil {
			return fail(err)
		}
		cl = local
	}

	initialDelay := cfg.GroupInitialDelay
	if initialDelay == 0 {
		initialDelay = -1 // none
	}
	// A single node keeps its groups in the engine's pebble store and
	// coordinates every group. In a cluster they live in the replicated
	// __consumer_offsets topic (net/grouplog), and this broker coordinates
	// the groups of the partitions it leads.
	var store group.Store = eng
	var owns func(string) error
	var offsetDeleter kgroup.OffsetDeleter = eng
	if m := b.member; m != nil {
		b.groupLog = grouplog.New(grouplog.Config{Engine: eng, Cluster: m, Replication: m,
			CommitTimeout: cfg.OffsetsCommitTimeout, Logger: logger.With("component", "grouplog")})
		store, owns, offsetDeleter = b.groupLog, b.groupLog.Owns, b.groupLog
	}
	groups := group.New(group.Config{
		Store:                 store,
		Logger:                logger.With("component", "groups"),
		MinSessionTimeout:     cfg.GroupMinSessionTimeout,
		MaxSessionTimeout:     cfg.GroupMaxSessionTimeout,
		InitialRebalanceDelay: initialDelay,
		OffsetsRetention:      cfg.OffsetsRetention,
		Owns:                  owns,
	})
	// Groups that were stable at shutdown (or a crash) come back with
	// their members, so that those carry on without a rebalance; in a
	// cluster, each comes back when its partition is loaded.
	if b.member == nil {
		if _, err := groups.Restore(); err != nil {
			return fail(err)
		}
	}
	b.groups = groups
	handler := request.New(eng, cl, request.Config{AutoCreateTopics: cfg.AutoCreateTopics,
		DeleteTopicEnable: cfg.DeleteTopicEnable, BrokerConfigs: cfg.brokerConfigs(), Logger: logger.With("component", "request"),
		Metrics: b.requestMetrics()})
	srv := server.New(eng, server.Config{
		Handler:                  handler,
		Addr:                     cfg.Listen,
		Advertised:               cfg.Advertised,
		NodeID:                   cfg.NodeID,
		MaxRequestBytes:          cfg.SocketRequestMaxBytes,
		MaxConnections:           cfg.MaxConnections,
		IdleTimeout:              cfg.ConnectionsMaxIdle,
		SendBufferBytes:          cfg.SocketSendBufferBytes,
		ReceiveBufferBytes:       cfg.SocketReceiveBufferBytes,
		NumPartitions:            cfg.NumPartitions,
		DefaultReplicationFactor: cfg.DefaultReplicationFactor,
		AutoCreateTopics:         cfg.AutoCreateTopics,
		DeleteTopicEnable:        cfg.DeleteTopicEnable,
		BrokerConfigs:            cfg.brokerConfigs(),
		Logger:                   logger.With("component", "server"),
		Groups:                   groups,
		Metrics:                  b.listenerMetrics("native", cfg),
	})
	if err := srv.Listen(); err != nil {
		return fail(err)
	}
	b.server = srv
	undo = append(undo, func() { srv.Shutdown(context.Background()) })
	if cfg.KafkaListen != "" {
		b.kafka = kafka.New(eng, kafka.Config{
			Handler:                  handler,
			Addr:                     cfg.KafkaListen,
			Advertised:               cfg.KafkaAdvertised,
			NodeID:                   cfg.NodeID,
			MaxRequestBytes:          cfg.SocketRequestMaxBytes,
			MaxConnections:           cfg.MaxConnections,
			IdleTimeout:              cfg.ConnectionsMaxIdle,
			SendBufferBytes:          cfg.SocketSendBufferBytes,
			ReceiveBufferBytes:       cfg.SocketReceiveBufferBytes,
			NumPartitions:            cfg.NumPartitions,
			DefaultReplicationFactor: cfg.DefaultReplicationFactor,
			AutoCreateTopics:         cfg.AutoCreateTopics,
			DeleteTopicEnable:        cfg.DeleteTopicEnable,
			BrokerConfigs:            cfg.brokerConfigs(),
			Logger:                   logger.With("component", "kafka"),
			Groups:                   kgroup.New(groups, offsetDeleter),
			Metrics:                  b.listenerMetrics("kafka", cfg),
		})
		if err := b.kafka.Listen(); err != nil {
			return fail(err)
		}
		undo = append(undo, func() { b.kafka.Shutdown(context.Background()) })
	}
	b.registerCollector(cfg)
	// Before registering: a cluster's brokers learn where each one's
	// registry listens from its registration.
	if err := b.startRegistry(cfg); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { b.stopRegistry(context.Background()) })
	if b.member != nil {
		b.ops.setStage("joining the metadata quorum and registering with the active controller")
		// Clients are answered only once this broker is in the image,
		// unfenced: until then connections wait in the listen backlog.
		if err := b.member.Join(ctx); err != nil {
			return fail(err)
		}
		if err := b.member.Register(ctx); err != nil {
			return fail(err)
		}
		// The group store follows the leaderships of the offsets topic
		// from here on, loading the partitions this broker leads.
		b.member.WatchImage(b.groupLog.ImageChanged)
		b.groupLog.Start(groups)
		undo = append(undo, b.groupLog.Close)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if b.kafka != nil {
		go func() { b.done <- b.kafka.Serve() }()
		logger.Info("kafka listener started", "kafka", b.kafka.Addr().String(), "cluster_id", cl.ClusterID())
	}
	var groupsCtx context.Context
	groupsCtx, b.stopGroups = context.WithCancel(context.Background())
	go func() {
		defer close(b.groupsDone)
		groups.Run(groupsCtx)
	}()
	go func() { b.done <- srv.Serve() }()
	b.ops.setStage("")
	logger.Info("broker started", "event", "start", "node_id", cfg.NodeID, "listen", srv.Addr().String(), "data_dir", cfg.DataDir, "cluster_id", cl.ClusterID())
	return b, nil
}

// startController starts a controller-only node: its quorum seat, no
// engine and no client listeners.
func (b *Broker) startController(ctx context.Context, cfg Config) error {
	close(b.groupsDone)
	b.ops.setStage("joining the metadata quorum")
	m, err := cluster.Start(cfg.clusterConfig(nil, b.logger))
	if err != nil {
		return err
	}
	b.live.Store(m)
	if err := m.Join(ctx); err != nil {
		m.Close()
		return err
	}
	b.member = m
	b.registerCollector(cfg)
	b.ops.setStage("")
	b.logger.Info("controller started", "event", "start", "node_id", cfg.NodeID, "controller", m.Node().Addr(), "cluster_id", m.ClusterID())
	return nil
}

// clusterConfig is the membership's share of the configuration.
func (c *Config) clusterConfig(eng *engine.Engine, logger *slog.Logger) cluster.Config {
	imbalance := c.LeaderImbalanceCheckInterval
	if !c.AutoLeaderRebalance {
		imbalance = -1
	}
	return cluster.Config{
		NodeID:                             c.NodeID,
		DataDir:                            c.DataDir,
		Voters:                             c.QuorumVoters,
		Nonvoter:                           !c.hasRole("controller"),
		ControllerListen:                   c.ControllerListen,
		ControllerListener:                 c.ControllerListener,
		ClusterID:                          c.ClusterID,
		Engine:                             eng,
		SessionTimeout:                     c.BrokerSessionTimeout,
		HeartbeatInterval:                  c.BrokerHeartbeatInterval,
		NumPartitions:                      c.NumPartitions,
		DefaultReplicationFactor:           c.DefaultReplicationFactor,
		RaftHeartbeatTimeout:               c.RaftHeartbeatTimeout,
		RaftElectionTimeout:                c.RaftElectionTimeout,
		InterBrokerListener:                c.InterBrokerListenerName,
		ReplicaLagMax:                      c.ReplicaLagMax,
		ReplicaFetchWait:                   c.ReplicaFetchWait,
		ReplicaFetchBackoff:                c.ReplicaFetchBackoff,
		UncleanLeaderElection:              c.TopicDefaults["unclean.leader.election.enable"] == "true",
		LeaderImbalanceCheckInterval:       imbalance,
		LeaderImbalancePerBrokerPercentage: c.LeaderImbalancePerBrokerPercentage,
		NoControlledShutdown:               c.NoControlledShutdown,
		OffsetsTopicPartitions:             c.OffsetsTopicPartitions,
		OffsetsTopicReplicationFactor:      c.OffsetsTopicReplicationFactor,
		Logger:                             logger,
	}
}

// Member is the broker's membership in its cluster; nil on a single node.
func (b *Broker) Member() *cluster.Member { return b.member }

// KafkaAddr returns the Kafka listener's address, or nil when the broker
// has no PLAINTEXT listener.
func (b *Broker) KafkaAddr() net.Addr {
	if b.kafka == nil {
		return nil
	}
	return b.kafka.Addr()
}

// Groups returns the group coordinator, which every listener shares.
func (b *Broker) Groups() *group.Coordinator { return b.groups }

// Addr returns the native listener's address.
func (b *Broker) Addr() net.Addr {
	if b.server == nil {
		return nil
	}
	return b.server.Addr()
}

// Done receives Serve's error if a listener fails on its own.
func (b *Broker) Done() <-chan error { return b.done }

// Close stops accepting, lets connections finish the requests they have
// read (until ctx ends), then flushes and closes the engine, which writes
// the clean-shutdown marker.
func (b *Broker) Close(ctx context.Context) error {
	start := time.Now()
	b.ops.closing.Store(true)
	var kerr, serr, oerr, merr, eerr error
	if b.member != nil {
		// Leaderships move away while the listeners still answer, so
		// clients are told where to go instead of finding a closed port.
		b.member.ControlledShutdown(ctx)
	}
	if b.kafka != nil {
		kerr = b.kafka.Shutdown(ctx)
	}
	if b.server != nil {
		serr = b.server.Shutdown(ctx)
	}
	b.stopGroups()
	<-b.groupsDone
	if b.groupLog != nil {
		b.groupLog.Close()
	}
	rerr := b.stopRegistry(ctx)
	oerr = b.stopOps(ctx)
	// The membership goes before the engine: the image it applies
	// changes local storage.
	if b.member != nil {
		merr = b.member.Close()
	}
	if b.Engine != nil {
		eerr = b.Engine.Close()
	}
	err := errors.Join(kerr, serr, rerr, oerr, merr, eerr)
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
		"node.id":                             strconv.Itoa(int(c.NodeID)),
		"listeners":                           c.listeners(),
		"log.dirs":                            c.DataDir,
		"num.partitions":                      strconv.Itoa(int(c.NumPartitions)),
		"default.replication.factor":          strconv.Itoa(int(c.DefaultReplicationFactor)),
		"auto.create.topics.enable":           strconv.FormatBool(c.AutoCreateTopics),
		"delete.topic.enable":                 strconv.FormatBool(c.DeleteTopicEnable),
		"socket.request.max.bytes":            strconv.Itoa(c.SocketRequestMaxBytes),
		"max.connections":                     strconv.Itoa(c.MaxConnections),
		"max.partitions.per.topic":            strconv.Itoa(int(c.MaxPartitionsPerTopic)),
		"connections.max.idle.ms":             strconv.FormatInt(c.ConnectionsMaxIdle.Milliseconds(), 10),
		"socket.send.buffer.bytes":            strconv.Itoa(c.SocketSendBufferBytes),
		"socket.receive.buffer.bytes":         strconv.Itoa(c.SocketReceiveBufferBytes),
		"log.cleaner.enable":                  strconv.FormatBool(!c.CleanerDisabled),
		"log.cleaner.threads":                 strconv.Itoa(c.CleanerThreads),
		"log.cleaner.dedupe.buffer.size":      strconv.FormatInt(c.CleanerDedupeBufferSize, 10),
		"log.cleaner.io.max.bytes.per.second": strconv.FormatFloat(c.CleanerIOMaxBytesPerSecond, 'g', -1, 64),
		"log.cleaner.backoff.ms":              strconv.FormatInt(c.CleanerBackoff.Milliseconds(), 10),
	}
	for k, v := range c.TopicDefaults {
		m["default."+k] = v
	}
	return m
}

func (c *Config) listeners() string {
	l := "SLUICE://" + c.Listen
	if c.KafkaListen != "" {
		l += ",PLAINTEXT://" + c.KafkaListen
	}
	return l
}

// TB is the part of testing.TB that StartTest needs.
type TB interface {
	Helper()
	TempDir() string
	Cleanup(func())
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// StartTest starts a broker for a test: both listeners (native and Kafka)
// on 127.0.0.1 with free ports and a temporary data directory, closed when
// the test ends. edit, if not nil, adjusts the configuration first.
func StartTest(t TB, edit func(*Config)) *Broker {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.KafkaListen = "127.0.0.1:0"
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
