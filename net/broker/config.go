package broker

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/cluster"
	"github.com/sluicelog/sluice/net/grouplog"
	"github.com/sluicelog/sluice/net/metrics"
	"github.com/sluicelog/sluice/net/quorum"
	"github.com/sluicelog/sluice/net/replica"
	"github.com/sluicelog/sluice/segment/fsys"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid broker configuration")

// Config is a broker's configuration, set from Kafka's broker property
// names. The zero value is not usable: start from DefaultConfig.
type Config struct {
	NodeID int32
	// Listen is the native protocol's address (listeners=SLUICE://host:port).
	Listen string
	// Advertised is the address clients are told to use; empty means Listen
	// (with the port actually bound).
	Advertised string
	// KafkaListen is the Kafka protocol's address
	// (listeners=PLAINTEXT://host:port); empty means no Kafka listener.
	KafkaListen string
	// KafkaAdvertised is the address Kafka clients are told to use
	// (advertised.listeners=PLAINTEXT://host:port); empty means KafkaListen
	// with the port actually bound.
	KafkaAdvertised string
	// MetricsListen is the operations HTTP listener's host:port
	// (metrics.listeners=http://host:port): /metrics, /debug/pprof/,
	// /healthz and /readyz (net/ops). Empty, the default, means none.
	MetricsListen string
	// MetricsListener, when set, is the operations listener already bound
	// (tests bind 127.0.0.1:0 to know the address before Start returns);
	// it wins over MetricsListen.
	MetricsListener net.Listener
	// MetricsPartitionSeries is metrics.partition.series: which
	// partitions /metrics reports one by one (all, active, none; auto,
	// the zero value and default, is all up to 10,000 partitions stored
	// here and active above). Topic and broker totals are always exact.
	MetricsPartitionSeries metrics.PartitionSeries
	// SchemaRegistryListen is the schema registry's host:port
	// (schema.registry.listeners=http://host:port), empty for none.
	SchemaRegistryListen string
	// SchemaRegistryListener, when set, is the registry's listener
	// already bound; it wins over SchemaRegistryListen.
	SchemaRegistryListener net.Listener
	// SlowRequestThreshold is slow.request.log.threshold.ms: a request
	// that takes longer than this beyond the wait it asked for is logged
	// and counted. Zero logs none.
	SlowRequestThreshold time.Duration
	DataDir              string

	// ProcessRoles is process.roles: empty for a single node without a
	// quorum (what `make run` starts), or "broker", "controller", or both.
	// A "broker" alone is not in QuorumVoters: it joins the quorum as a
	// raft nonvoter, and still needs a CONTROLLER listener, where the
	// quorum's leader sends it the metadata log.
	ProcessRoles []string
	// QuorumVoters is controller.quorum.voters (id@host:port,...), parsed.
	QuorumVoters []quorum.Voter
	// ControllerListenerName is controller.listener.names: the listener
	// the quorum speaks on (CONTROLLER).
	ControllerListenerName string
	// ControllerListen is that listener's host:port; ControllerListener,
	// when set, is one already bound (tests learn every voter's port
	// before any broker starts).
	ControllerListen   string
	ControllerListener net.Listener
	// controllerListenPicked is set when a broker-only node's
	// ControllerListen was not configured but opened on a free port.
	controllerListenPicked bool
	// InterBrokerListenerName is inter.broker.listener.name: the listener
	// brokers use to reach each other (SLUICE or PLAINTEXT).
	InterBrokerListenerName string
	// ClusterID is cluster.id: empty lets the first active controller
	// name the cluster.
	ClusterID string
	// BrokerSessionTimeout and BrokerHeartbeatInterval are
	// broker.session.timeout.ms and broker.heartbeat.interval.ms.
	BrokerSessionTimeout    time.Duration
	BrokerHeartbeatInterval time.Duration
	// RaftHeartbeatTimeout and RaftElectionTimeout tune the quorum
	// (tests shorten them); zero takes net/quorum's defaults.
	RaftHeartbeatTimeout time.Duration
	RaftElectionTimeout  time.Duration

	// otherListeners are listeners= entries other than SLUICE and
	// PLAINTEXT, by name: the controller's, checked by Validate.
	otherListeners map[string]string
	// ignored holds the Kafka properties applied that Sluice accepts
	// without effect (ignoredprops.go), name to value, for WarnIgnored.
	ignored map[string]string

	NumPartitions            int32
	DefaultReplicationFactor int16
	AutoCreateTopics         bool
	DeleteTopicEnable        bool

	// TopicDefaults holds topic-level defaults derived from the log.*
	// properties, in topic config names (retention.ms, segment.bytes, ...).
	TopicDefaults map[string]string

	SocketRequestMaxBytes int
	MaxConnections        int
	// MaxPartitionsPerTopic is max.partitions.per.topic, Sluice's own
	// (Kafka has no such cap): the most partitions one topic may have.
	// Creates are also refused when they do not fit the process's open
	// files, memory map and disk limits (engine.Limits).
	MaxPartitionsPerTopic int32
	ConnectionsMaxIdle    time.Duration
	// SocketSendBufferBytes and SocketReceiveBufferBytes are
	// socket.send.buffer.bytes and socket.receive.buffer.bytes: -1 (the
	// default here) leaves each connection's kernel buffers to the OS.
	// Kafka fixes them at 100 KiB; on Linux, autotuning does better than
	// that, and a larger fixed size better still over loopback.
	SocketSendBufferBytes    int
	SocketReceiveBufferBytes int
	RetentionCheckInterval   time.Duration
	ProducerIDExpiration     time.Duration

	// Group coordinator: group.min.session.timeout.ms,
	// group.max.session.timeout.ms, group.initial.rebalance.delay.ms
	// (0 turns the delay off) and offsets.retention.minutes.
	GroupMinSessionTimeout time.Duration
	GroupMaxSessionTimeout time.Duration
	GroupInitialDelay      time.Duration
	OffsetsRetention       time.Duration
	// In a cluster, groups live in the internal __consumer_offsets topic
	// (net/grouplog): offsets.topic.num.partitions,
	// offsets.topic.replication.factor (-1, the default here: min(3, live
	// brokers) when the topic is created; Kafka's is 3) and
	// offsets.commit.timeout.ms.
	OffsetsTopicPartitions        int32
	OffsetsTopicReplicationFactor int16
	OffsetsCommitTimeout          time.Duration

	// Replication: replica.lag.time.max.ms, replica.fetch.wait.max.ms,
	// replica.fetch.backoff.ms, auto.leader.rebalance.enable,
	// leader.imbalance.check.interval.seconds and
	// leader.imbalance.per.broker.percentage.
	ReplicaLagMax                      time.Duration
	ReplicaFetchWait                   time.Duration
	ReplicaFetchBackoff                time.Duration
	AutoLeaderRebalance                bool
	LeaderImbalanceCheckInterval       time.Duration
	LeaderImbalancePerBrokerPercentage int
	// NoControlledShutdown is controlled.shutdown.enable=false.
	NoControlledShutdown bool

	// The log cleaner, which compacts topics whose cleanup.policy has
	// compact (engine.Options' Cleaner fields): log.cleaner.enable=false
	// (CleanerDisabled), log.cleaner.threads,
	// log.cleaner.dedupe.buffer.size (bytes, shared by the threads, at
	// least 1 MiB each), log.cleaner.io.max.bytes.per.second (0 for no
	// limit, what Kafka's default of Double.MAX_VALUE becomes) and
	// log.cleaner.backoff.ms.
	CleanerDisabled            bool
	CleanerThreads             int
	CleanerDedupeBufferSize    int64
	CleanerIOMaxBytesPerSecond float64
	CleanerBackoff             time.Duration

	// FS is the file system under the engine's segments; nil is the real
	// one. Not a property: fault tests inject disk errors through it.
	FS fsys.FS
}

// DefaultConfig returns Kafka's defaults, on Sluice's native port 9192 and
// with the data directory "data".
func DefaultConfig() Config {
	return Config{
		Listen:                             "127.0.0.1:9192",
		DataDir:                            "data",
		NumPartitions:                      1,
		DefaultReplicationFactor:           1,
		ControllerListenerName:             "CONTROLLER",
		InterBrokerListenerName:            "PLAINTEXT",
		BrokerSessionTimeout:               cluster.DefaultSessionTimeout,
		BrokerHeartbeatInterval:            cluster.DefaultHeartbeatInterval,
		AutoCreateTopics:                   true,
		DeleteTopicEnable:                  true,
		TopicDefaults:                      map[string]string{},
		SocketRequestMaxBytes:              100 * 1024 * 1024,
		MaxConnections:                     10000,
		MaxPartitionsPerTopic:              engine.DefaultMaxPartitions,
		ConnectionsMaxIdle:                 10 * time.Minute,
		SocketSendBufferBytes:              -1,
		SocketReceiveBufferBytes:           -1,
		RetentionCheckInterval:             5 * time.Minute,
		ProducerIDExpiration:               24 * time.Hour,
		GroupMinSessionTimeout:             6 * time.Second,
		GroupMaxSessionTimeout:             30 * time.Minute,
		GroupInitialDelay:                  3 * time.Second,
		OffsetsRetention:                   7 * 24 * time.Hour,
		OffsetsTopicPartitions:             grouplog.DefaultPartitions,
		OffsetsTopicReplicationFactor:      -1,
		OffsetsCommitTimeout:               grouplog.DefaultCommitTimeout,
		ReplicaLagMax:                      replica.DefaultLagMax,
		ReplicaFetchWait:                   replica.DefaultFetchWait,
		ReplicaFetchBackoff:                replica.DefaultFetchBackoff,
		AutoLeaderRebalance:                true,
		LeaderImbalanceCheckInterval:       cluster.DefaultLeaderImbalanceCheckInterval,
		LeaderImbalancePerBrokerPercentage: 10,
		SlowRequestThreshold:               DefaultSlowRequestThreshold,
		CleanerThreads:                     engine.DefaultCleanerThreads,
		CleanerDedupeBufferSize:            engine.DefaultCleanerDedupeBufferSize,
		CleanerBackoff:                     engine.DefaultCleanerBackoff,
	}
}

// DefaultSlowRequestThreshold is slow.request.log.threshold.ms's default.
const DefaultSlowRequestThreshold = time.Second

// Clustered reports whether this node is a member of a quorum.
func (c *Config) Clustered() bool { return len(c.ProcessRoles) > 0 }

// hasRole reports whether process.roles names role.
func (c *Config) hasRole(role string) bool { return slices.Contains(c.ProcessRoles, role) }

// Validate checks what ApplyProperties cannot check alone: the topic
// defaults against the engine's rules.
func (c *Config) Validate() error {
	if err := engine.ValidateConfigs(c.TopicDefaults); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if c.DataDir == "" {
		return fmt.Errorf("%w: no data directory (log.dirs)", ErrConfig)
	}
	if c.CleanerThreads > 0 && c.CleanerDedupeBufferSize > 0 && c.CleanerDedupeBufferSize/int64(c.CleanerThreads) < engine.MinCleanerDedupeBufferPerThread {
		return fmt.Errorf("%w: log.cleaner.dedupe.buffer.size (%d) over log.cleaner.threads (%d) leaves each thread less than %d bytes",
			ErrConfig, c.CleanerDedupeBufferSize, c.CleanerThreads, engine.MinCleanerDedupeBufferPerThread)
	}
	if c.GroupMinSessionTimeout > c.GroupMaxSessionTimeout {
		return fmt.Errorf("%w: group.min.session.timeout.ms (%v) is above group.max.session.timeout.ms (%v)", ErrConfig, c.GroupMinSessionTimeout, c.GroupMaxSessionTimeout)
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	if c.KafkaAdvertised != "" && c.KafkaListen == "" {
		return fmt.Errorf("%w: advertised.listeners has PLAINTEXT://%s but listeners has no PLAINTEXT listener", ErrConfig, c.KafkaAdvertised)
	}
	if host, _, _ := net.SplitHostPort(c.KafkaAdvertised); host != "" {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			return fmt.Errorf("%w: advertised.listeners PLAINTEXT://%s: clients cannot connect to %s; advertise a routable host", ErrConfig, c.KafkaAdvertised, host)
		}
	}
	return nil
}

// validateCluster checks the KRaft properties together: they only make
// sense as a set, and a mistake among them must stop start-up with a
// message naming it rather than leave a broker waiting for a quorum that
// cannot form.
func (c *Config) validateCluster() error {
	ctrlName := c.ControllerListenerName
	ctrlAddr, hasCtrl := c.otherListeners[ctrlName]
	if hasCtrl {
		// Which entry of listeners is the controller's is known only once
		// controller.listener.names is read too.
		c.ControllerListen = ctrlAddr
	}
	for name := range c.otherListeners {
		if name != ctrlName {
			return fmt.Errorf("%w: listeners: %s is not a listener Sluice knows: SLUICE (native), PLAINTEXT (Kafka) or %s (controller.listener.names)", ErrConfig, name, ctrlName)
		}
	}
	if !c.Clustered() {
		switch {
		case len(c.QuorumVoters) > 0:
			return fmt.Errorf("%w: controller.quorum.voters is set but process.roles is not: a cluster member needs process.roles=broker,controller", ErrConfig)
		case hasCtrl:
			return fmt.Errorf("%w: listeners has %s://%s but process.roles is not set: only a controller listens on it", ErrConfig, ctrlName, ctrlAddr)
		case c.DefaultReplicationFactor > 1:
			return fmt.Errorf("%w: default.replication.factor %d: a single node holds one replica; a cluster (process.roles, controller.quorum.voters) holds more", ErrConfig, c.DefaultReplicationFactor)
		}
		return nil
	}
	if len(c.QuorumVoters) == 0 {
		return fmt.Errorf("%w: process.roles=%s needs controller.quorum.voters (id@host:port,...)", ErrConfig, strings.Join(c.ProcessRoles, ","))
	}
	var self *quorum.Voter
	for i := range c.QuorumVoters {
		if c.QuorumVoters[i].ID == c.NodeID {
			self = &c.QuorumVoters[i]
		}
	}
	if !c.hasRole("controller") {
		if err := c.validateBrokerOnly(self); err != nil {
			return err
		}
	} else if self == nil {
		return fmt.Errorf("%w: node.id %d is not in controller.quorum.voters (%s)", ErrConfig, c.NodeID, quorum.FormatVoters(c.QuorumVoters))
	} else if c.ControllerListener == nil {
		if c.ControllerListen == "" {
			return fmt.Errorf("%w: a controller needs a %s listener in listeners (%s://%s, its entry in controller.quorum.voters)", ErrConfig, ctrlName, ctrlName, self.Addr)
		}
		if !sameAddr(c.ControllerListen, self.Addr) {
			return fmt.Errorf("%w: listeners has %s://%s, but controller.quorum.voters says node %d is at %s", ErrConfig, ctrlName, c.ControllerListen, c.NodeID, self.Addr)
		}
	}
	if c.hasRole("broker") {
		if c.KafkaListen == "" {
			return fmt.Errorf("%w: a broker of a cluster needs a PLAINTEXT listener in listeners: followers replicate over it (inter.broker.listener.name)", ErrConfig)
		}
	}
	if c.BrokerHeartbeatInterval >= c.BrokerSessionTimeout {
		return fmt.Errorf("%w: broker.heartbeat.interval.ms (%v) must be below broker.session.timeout.ms (%v)", ErrConfig, c.BrokerHeartbeatInterval, c.BrokerSessionTimeout)
	}
	return nil
}

// validateBrokerOnly checks a broker without the controller role
// (process.roles=broker): a raft nonvoter that the quorum's leader sends
// the metadata log to, on its own CONTROLLER listener. self is its
// controller.quorum.voters entry, which it must not have.
func (c *Config) validateBrokerOnly(self *quorum.Voter) error {
	ctrlName := c.ControllerListenerName
	if self != nil {
		return fmt.Errorf("%w: process.roles=broker, but node.id %d is in controller.quorum.voters (%s): a voter needs process.roles=broker,controller; a broker-only node takes an id outside the voters", ErrConfig, c.NodeID, quorum.FormatVoters(c.QuorumVoters))
	}
	if c.ControllerListener != nil {
		return nil
	}
	if c.ControllerListen == "" {
		// Kafka's broker-only nodes have no CONTROLLER listener (they
		// fetch the metadata log); Sluice's quorum leader sends it, so
		// one is opened on a free port of the host the broker advertises
		// (Kafka's own config/kraft/broker.properties then starts as is).
		host := ""
		for _, a := range []string{c.KafkaAdvertised, c.KafkaListen, c.Advertised, c.Listen} {
			if h, _, err := net.SplitHostPort(a); err == nil && h != "" && !net.ParseIP(h).IsUnspecified() {
				host = h
				break
			}
		}
		if host == "" {
			return fmt.Errorf("%w: process.roles=broker needs a %s listener in listeners (%s://host:port), or a routable host in advertised.listeners to open one on: the quorum's leader sends this broker the metadata log there", ErrConfig, ctrlName, ctrlName)
		}
		c.ControllerListen = net.JoinHostPort(host, "0")
		c.controllerListenPicked = true
	}
	host, _, err := net.SplitHostPort(c.ControllerListen)
	if err != nil {
		return fmt.Errorf("%w: listeners: %s://%s: %v", ErrConfig, ctrlName, c.ControllerListen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("%w: listeners has %s://%s: a broker-only node advertises its %s listener to the quorum's leader, so it needs a routable host", ErrConfig, ctrlName, c.ControllerListen, ctrlName)
	}
	for _, v := range c.QuorumVoters {
		if sameAddr(c.ControllerListen, v.Addr) {
			return fmt.Errorf("%w: listeners has %s://%s, the address of voter %d in controller.quorum.voters", ErrConfig, ctrlName, c.ControllerListen, v.ID)
		}
	}
	return nil
}

// sameAddr compares a bound address with a voters entry: an unspecified
// host (0.0.0.0) matches any host on the same port.
func sameAddr(listen, voter string) bool {
	lh, lp, err1 := net.SplitHostPort(listen)
	vh, vp, err2 := net.SplitHostPort(voter)
	if err1 != nil || err2 != nil || lp != vp {
		return false
	}
	if ip := net.ParseIP(lh); lh == "" || ip != nil && ip.IsUnspecified() {
		return true
	}
	return lh == vh
}

// quorumStoreDescriptors is what the metadata quorum's pebble store may
// keep open: pebble's default MaxOpenFiles, which net/quorum leaves as is.
const quorumStoreDescriptors = 1000

// reservedDescriptors is what the broker may hold open besides the
// engine's files: a descriptor per connection (max.connections) and, in a
// cluster, the quorum's store and the connections to its peers. The
// engine sizes its partitions' budget from RLIMIT_NOFILE less these.
func (c *Config) reservedDescriptors() int64 {
	n := int64(c.MaxConnections)
	if c.Clustered() {
		n += quorumStoreDescriptors + 64
	}
	return n
}
