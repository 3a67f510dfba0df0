package broker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/cluster"
	"github.com/sluicelog/sluice/net/grouplog"
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

	NumPartitions            int32
	DefaultReplicationFactor int16
	AutoCreateTopics         bool
	DeleteTopicEnable        bool

	// TopicDefaults holds topic-level defaults derived from the log.*
	// properties, in topic config names (retention.ms, segment.bytes, ...).
	TopicDefaults map[string]string

	SocketRequestMaxBytes int
	MaxConnections        int
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

// property is one broker property: how to apply its value.
type property struct {
	doc   string
	apply func(c *Config, v string) error
}

// topicDefault maps a broker log.* property onto a topic-level default.
func topicDefault(topicName, doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		c.TopicDefaults[topicName] = v
		return nil
	}}
}

// scaledTopicDefault maps log.retention.hours and friends onto the
// millisecond topic config.
func scaledTopicDefault(topicName string, unit time.Duration, doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		if n < 0 {
			c.TopicDefaults[topicName] = "-1"
			return nil
		}
		c.TopicDefaults[topicName] = strconv.FormatInt(n*unit.Milliseconds(), 10)
		return nil
	}}
}

func intProp(min, max int64, set func(*Config, int64), doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		if n < min || n > max {
			return fmt.Errorf("%d is out of range [%d, %d]", n, min, max)
		}
		set(c, n)
		return nil
	}}
}

func boolProp(set func(*Config, bool), doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		switch strings.TrimSpace(v) {
		case "true":
			set(c, true)
		case "false":
			set(c, false)
		default:
			return fmt.Errorf("must be true or false, not %q", v)
		}
		return nil
	}}
}

// bufferProp is a socket buffer size: -1 for the OS's default, or a
// positive byte count (Kafka rejects 0 too).
func bufferProp(set func(*Config, int), doc string) property {
	return property{doc: doc, apply: func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		if n != -1 && (n < 1 || n > math.MaxInt32) {
			return fmt.Errorf("%d is not -1 (the OS's default) or a byte count in [1, %d]", n, math.MaxInt32)
		}
		set(c, int(n))
		return nil
	}}
}

func msProp(set func(*Config, time.Duration), doc string) property {
	return intProp(1, math.MaxInt64/int64(time.Millisecond), func(c *Config, n int64) {
		set(c, time.Duration(n)*time.Millisecond)
	}, doc)
}

// properties lists every broker property Sluice accepts. Where several
// Kafka names set one thing (log.retention.hours/minutes/ms), the most
// precise one wins, as in Kafka, because ApplyProperties applies hours,
// then minutes, then ms.
var properties = map[string]property{
	"node.id":   intProp(0, math.MaxInt32, func(c *Config, n int64) { c.NodeID = int32(n) }, "this broker's id"),
	"broker.id": intProp(0, math.MaxInt32, func(c *Config, n int64) { c.NodeID = int32(n) }, "alias of node.id"),
	"listeners": {doc: "SLUICE://host:port (native protocol), PLAINTEXT://host:port (Kafka protocol; off when absent) and, in a cluster, CONTROLLER://host:port (the metadata quorum; on a process.roles=broker node, where the quorum's leader sends it the metadata log)", apply: func(c *Config, v string) error {
		native, kafka, other, err := parseListeners(v)
		if err != nil {
			return err
		}
		if native != "" {
			c.Listen = native
		}
		c.KafkaListen = kafka
		c.otherListeners = other
		return nil
	}},
	"advertised.listeners": {doc: "the SLUICE:// and PLAINTEXT://host:port clients are told to use", apply: func(c *Config, v string) error {
		native, kafka, _, err := parseListeners(v)
		if err != nil {
			return err
		}
		c.Advertised, c.KafkaAdvertised = native, kafka
		return nil
	}},
	"metrics.listeners": {doc: "http://host:port of the operations listener: /metrics (Prometheus), /debug/pprof/, /healthz, /readyz; empty (default) for none", apply: func(c *Config, v string) error {
		addr, err := parseMetricsListeners(v)
		if err != nil {
			return err
		}
		c.MetricsListen = addr
		return nil
	}},
	"schema.registry.listeners": {doc: "http://host:port of the built-in schema registry (Confluent Schema Registry's REST API, schemas kept in the _schemas topic); empty (default) for none", apply: func(c *Config, v string) error {
		addr, err := parseMetricsListeners(v)
		if err != nil {
			return err
		}
		c.SchemaRegistryListen = addr
		return nil
	}},
	"slow.request.log.threshold.ms": intProp(0, math.MaxInt64/int64(time.Millisecond), func(c *Config, n int64) {
		c.SlowRequestThreshold = time.Duration(n) * time.Millisecond
	}, "log (event=slow_request) and count a request that takes longer than this beyond the wait it asked for (a fetch's max wait); 0 logs none"),
	"process.roles": {doc: "broker,controller for a broker that is a quorum voter, controller for a voter only, broker for a broker outside controller.quorum.voters (a raft nonvoter: it gets the metadata log but never votes); unset for a single node without a quorum", apply: func(c *Config, v string) error {
		roles, err := parseRoles(v)
		if err != nil {
			return err
		}
		c.ProcessRoles = roles
		return nil
	}},
	"controller.quorum.voters": {doc: "the metadata quorum's voters: id@host:port,... (their CONTROLLER listeners)", apply: func(c *Config, v string) error {
		if strings.TrimSpace(v) == "" {
			c.QuorumVoters = nil
			return nil
		}
		voters, err := quorum.ParseVoters(v)
		if err != nil {
			return err
		}
		c.QuorumVoters = voters
		return nil
	}},
	"controller.listener.names": {doc: "the listener the quorum speaks on (one name; CONTROLLER by default)", apply: func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v == "" || strings.Contains(v, ",") {
			return fmt.Errorf("one listener name, got %q", v)
		}
		if v == "SLUICE" || v == "PLAINTEXT" {
			return fmt.Errorf("%s serves clients; the controller needs a listener of its own", v)
		}
		c.ControllerListenerName = v
		return nil
	}},
	"inter.broker.listener.name": {doc: "the listener followers replicate from leaders over: PLAINTEXT, the Kafka protocol (replica Fetch and OffsetForLeaderEpoch)", apply: func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v == "SLUICE" {
			return fmt.Errorf("SLUICE cannot carry replication: followers fetch with Kafka's replica Fetch and OffsetForLeaderEpoch, so it must be PLAINTEXT")
		}
		if v != "PLAINTEXT" {
			return fmt.Errorf("must be PLAINTEXT, not %q", v)
		}
		c.InterBrokerListenerName = v
		return nil
	}},
	"cluster.id": {doc: "the cluster's id (Kafka's storage format -t); unset lets the first controller name it", apply: func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v == "" || len(v) > 64 || strings.ContainsAny(v, " \t=#") {
			return fmt.Errorf("%q is not a cluster id", v)
		}
		c.ClusterID = v
		return nil
	}},
	"broker.session.timeout.ms": msProp(func(c *Config, d time.Duration) { c.BrokerSessionTimeout = d },
		"a broker without a heartbeat for this long is fenced"),
	"broker.heartbeat.interval.ms": msProp(func(c *Config, d time.Duration) { c.BrokerHeartbeatInterval = d },
		"how often a broker heartbeats to the active controller"),
	"log.dirs": {doc: "the data directory (one)", apply: setDataDir},
	"log.dir":  {doc: "the data directory (when log.dirs is unset)", apply: setDataDir},

	"num.partitions": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.NumPartitions = int32(n) }, "partitions of auto-created topics"),
	"default.replication.factor": intProp(1, math.MaxInt16, func(c *Config, n int64) { c.DefaultReplicationFactor = int16(n) },
		"replication factor of topics created without one (1 on a single node)"),
	"auto.create.topics.enable": boolProp(func(c *Config, b bool) { c.AutoCreateTopics = b }, "create unknown topics on produce or metadata"),
	"delete.topic.enable":       boolProp(func(c *Config, b bool) { c.DeleteTopicEnable = b }, "allow DeleteTopics"),

	"log.retention.hours":            scaledTopicDefault("retention.ms", time.Hour, "retention.ms default, in hours"),
	"log.retention.minutes":          scaledTopicDefault("retention.ms", time.Minute, "retention.ms default, in minutes"),
	"log.retention.ms":               topicDefault("retention.ms", "retention.ms default"),
	"log.retention.bytes":            topicDefault("retention.bytes", "retention.bytes default"),
	"log.segment.bytes":              topicDefault("segment.bytes", "segment.bytes default"),
	"log.roll.hours":                 scaledTopicDefault("segment.ms", time.Hour, "segment.ms default, in hours"),
	"log.roll.ms":                    topicDefault("segment.ms", "segment.ms default"),
	"log.index.interval.bytes":       topicDefault("index.interval.bytes", "index.interval.bytes default"),
	"log.index.size.max.bytes":       topicDefault("segment.index.bytes", "segment.index.bytes default"),
	"log.flush.interval.messages":    topicDefault("flush.messages", "flush.messages default"),
	"log.flush.interval.ms":          topicDefault("flush.ms", "flush.ms default"),
	"log.flush.on.ack":               topicDefault("flush.on.ack", "flush.on.ack default (Sluice): ack after fdatasync"),
	"log.message.timestamp.type":     topicDefault("message.timestamp.type", "message.timestamp.type default"),
	"log.cleanup.policy":             topicDefault("cleanup.policy", "cleanup.policy default: delete, compact or compact,delete"),
	"min.insync.replicas":            topicDefault("min.insync.replicas", "in-sync replicas an acks=all write needs (topic default)"),
	"unclean.leader.election.enable": topicDefault("unclean.leader.election.enable", "elect an out-of-sync replica when no ISR member is alive, losing data (topic default)"),

	"log.cleaner.enable": boolProp(func(c *Config, b bool) { c.CleanerDisabled = !b },
		"run the log cleaner, which compacts topics with cleanup.policy=compact; off, they grow without bound"),
	"log.cleaner.threads": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.CleanerThreads = int(n) },
		"partitions the log cleaner compacts at once"),
	"log.cleaner.dedupe.buffer.size": intProp(1, math.MaxInt64, func(c *Config, n int64) { c.CleanerDedupeBufferSize = n },
		"bytes of the cleaner's offset maps, shared by its threads (at least 1 MiB each)"),
	"log.cleaner.io.max.bytes.per.second": {doc: "the cleaner's read plus write rate limit, bytes a second; the default (1.7976931348623157E308) and 0 mean none",
		apply: setCleanerIORate},
	"log.cleaner.backoff.ms": intProp(0, math.MaxInt64/int64(time.Millisecond), func(c *Config, n int64) {
		c.CleanerBackoff = max(time.Duration(n)*time.Millisecond, time.Millisecond)
	}, "how long an idle cleaner thread sleeps before it looks for partitions to compact again (0 is taken as 1 ms)"),
	"log.cleaner.min.cleanable.ratio":   topicDefault("min.cleanable.dirty.ratio", "min.cleanable.dirty.ratio default"),
	"log.cleaner.delete.retention.ms":   topicDefault("delete.retention.ms", "delete.retention.ms default"),
	"log.cleaner.min.compaction.lag.ms": topicDefault("min.compaction.lag.ms", "min.compaction.lag.ms default"),
	"log.cleaner.max.compaction.lag.ms": topicDefault("max.compaction.lag.ms", "max.compaction.lag.ms default"),

	"replica.lag.time.max.ms": msProp(func(c *Config, d time.Duration) { c.ReplicaLagMax = d },
		"a follower that has not caught up for this long leaves the ISR"),
	"replica.fetch.wait.max.ms": msProp(func(c *Config, d time.Duration) { c.ReplicaFetchWait = d },
		"how long a follower's fetch waits at the leader for new data"),
	"replica.fetch.backoff.ms": msProp(func(c *Config, d time.Duration) { c.ReplicaFetchBackoff = d },
		"how long a follower waits after a failed fetch"),
	"controller.quorum.fetch.timeout.ms": msProp(func(c *Config, d time.Duration) { c.RaftHeartbeatTimeout = d },
		"how long a controller goes without hearing from the quorum's leader before it stands for election"),
	"controller.quorum.election.timeout.ms": msProp(func(c *Config, d time.Duration) { c.RaftElectionTimeout = d },
		"how long a candidate waits for an election before it tries again"),
	"controlled.shutdown.enable": boolProp(func(c *Config, b bool) { c.NoControlledShutdown = !b },
		"move this broker's leaderships away before it stops"),
	"auto.leader.rebalance.enable": boolProp(func(c *Config, b bool) { c.AutoLeaderRebalance = b },
		"move leadership back to each partition's preferred (first) replica once it is in sync"),
	"leader.imbalance.check.interval.seconds": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.LeaderImbalanceCheckInterval = time.Duration(n) * time.Second },
		"how often the controller checks for leadership away from preferred replicas"),
	"leader.imbalance.per.broker.percentage": intProp(0, 100, func(c *Config, n int64) { c.LeaderImbalancePerBrokerPercentage = int(n) },
		"share of a broker's preferred partitions led elsewhere that triggers moving them back"),
	"message.max.bytes": topicDefault("max.message.bytes", "largest record batch accepted (max.message.bytes default)"),
	"log.retention.check.interval.ms": msProp(func(c *Config, d time.Duration) { c.RetentionCheckInterval = d },
		"how often retention runs"),
	"group.min.session.timeout.ms": msProp(func(c *Config, d time.Duration) { c.GroupMinSessionTimeout = d },
		"shortest session.timeout.ms a group member may ask for"),
	"group.max.session.timeout.ms": msProp(func(c *Config, d time.Duration) { c.GroupMaxSessionTimeout = d },
		"longest session.timeout.ms a group member may ask for"),
	"group.initial.rebalance.delay.ms": intProp(0, math.MaxInt32, func(c *Config, n int64) { c.GroupInitialDelay = time.Duration(n) * time.Millisecond },
		"how long an empty group's first rebalance waits for more members (0: none)"),
	"offsets.retention.minutes": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.OffsetsRetention = time.Duration(n) * time.Minute },
		"how long an empty group's committed offsets are kept"),
	"offsets.topic.num.partitions": intProp(1, engine.DefaultMaxPartitions, func(c *Config, n int64) { c.OffsetsTopicPartitions = int32(n) },
		"partitions of __consumer_offsets, where a cluster keeps its groups (fixed once the topic exists)"),
	"offsets.topic.replication.factor": intProp(-1, math.MaxInt16, func(c *Config, n int64) { c.OffsetsTopicReplicationFactor = int16(n) },
		"replicas of __consumer_offsets; -1 or 0: min(3, live brokers) when it is created"),
	"offsets.commit.timeout.ms": msProp(func(c *Config, d time.Duration) { c.OffsetsCommitTimeout = d },
		"how long an offset commit waits for the offsets topic's in-sync replicas"),
	"producer.id.expiration.ms": msProp(func(c *Config, d time.Duration) { c.ProducerIDExpiration = d },
		"how long an idle idempotent producer is remembered"),
	"socket.request.max.bytes": intProp(1024, math.MaxInt32, func(c *Config, n int64) { c.SocketRequestMaxBytes = int(n) },
		"largest request frame; larger ones close the connection"),
	"max.connections": intProp(1, math.MaxInt32, func(c *Config, n int64) { c.MaxConnections = int(n) },
		"connections accepted at once; more are closed on accept"),
	"connections.max.idle.ms": msProp(func(c *Config, d time.Duration) { c.ConnectionsMaxIdle = d },
		"idle connections are closed after this"),
	"socket.send.buffer.bytes": bufferProp(func(c *Config, n int) { c.SocketSendBufferBytes = n },
		"each connection's SO_SNDBUF; -1 (default) for the OS's, which autotunes"),
	"socket.receive.buffer.bytes": bufferProp(func(c *Config, n int) { c.SocketReceiveBufferBytes = n },
		"each connection's SO_RCVBUF; -1 (default) for the OS's, which autotunes"),
}

// setCleanerIORate reads log.cleaner.io.max.bytes.per.second: Kafka's
// default, Double.MAX_VALUE, and anything as large mean no limit, which
// the engine spells 0.
func setCleanerIORate(c *Config, v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("not a number: %q", v)
	}
	if !(f >= 0) { // NaN fails too
		return fmt.Errorf("%q: must be a positive number of bytes a second, or 0 for no limit", v)
	}
	if f >= math.MaxFloat64 {
		f = 0
	}
	c.CleanerIOMaxBytesPerSecond = f
	return nil
}

// applyOrder makes the precise names win over the coarse ones.
var applyOrder = map[string]int{
	"log.retention.hours": 0, "log.roll.hours": 0, "log.dir": 0,
	"log.retention.minutes": 1,
}

func setDataDir(c *Config, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return errors.New("empty")
	}
	if strings.Contains(v, ",") {
		return fmt.Errorf("one data directory only, got %q", v)
	}
	c.DataDir = v
	return nil
}

// parseListeners takes Kafka's listener list and returns the host:port of
// the SLUICE (native protocol) and PLAINTEXT (Kafka protocol) listeners,
// empty for one not listed, and every other listener by name (the
// controller's, which Validate checks against controller.listener.names).
func parseListeners(v string) (native, kafka string, other map[string]string, err error) {
	seen := map[string]bool{}
	for _, l := range strings.Split(v, ",") {
		l = strings.TrimSpace(l)
		name, addr, ok := strings.Cut(l, "://")
		if !ok || name == "" {
			return "", "", nil, fmt.Errorf("listener %q is not NAME://host:port", l)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", nil, fmt.Errorf("listener %q: %v", l, err)
		}
		if seen[name] {
			return "", "", nil, fmt.Errorf("listener %q: %s is listed twice", l, name)
		}
		seen[name] = true
		switch name {
		case "SLUICE":
			native = addr
		case "PLAINTEXT":
			kafka = addr
		default:
			if other == nil {
				other = map[string]string{}
			}
			other[name] = addr
		}
	}
	if native == "" && kafka == "" && len(other) == 0 {
		return "", "", nil, errors.New("no listener")
	}
	return native, kafka, other, nil
}

// parseRoles reads process.roles.
func parseRoles(v string) ([]string, error) {
	var roles []string
	for _, r := range strings.Split(v, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "":
			continue
		case "broker", "controller":
			if slices.Contains(roles, r) {
				return nil, fmt.Errorf("%s is listed twice", r)
			}
			roles = append(roles, r)
		default:
			return nil, fmt.Errorf("unknown role %q: the roles are broker and controller", r)
		}
	}
	slices.Sort(roles)
	return roles, nil
}

// Clustered reports whether this node is a member of a quorum.
func (c *Config) Clustered() bool { return len(c.ProcessRoles) > 0 }

// hasRole reports whether process.roles names role.
func (c *Config) hasRole(role string) bool { return slices.Contains(c.ProcessRoles, role) }

// ParseProperties reads a Java-style properties file: key=value or
// key: value lines, # and ! comments, trailing backslash continuations.
func ParseProperties(r io.Reader) (map[string]string, error) {
	props := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	lineNo, pending := 0, ""
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`)
			continue
		}
		line, pending = pending+line, ""
		i := strings.IndexAny(line, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("%w: line %d: %q is not key=value", ErrConfig, lineNo, line)
		}
		props[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return props, nil
}

// ApplyProperties sets c from Kafka broker properties. An unknown name or a
// malformed value is an error naming it.
func (c *Config) ApplyProperties(props map[string]string) error {
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		oi, ok := applyOrder[names[i]]
		if !ok {
			oi = 2
		}
		oj, ok := applyOrder[names[j]]
		if !ok {
			oj = 2
		}
		if oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	if c.TopicDefaults == nil {
		c.TopicDefaults = map[string]string{}
	}
	for _, k := range names {
		p, ok := properties[k]
		if !ok {
			return fmt.Errorf("%w: unknown property %q (see `sluiced --help-config` for the accepted ones)", ErrConfig, k)
		}
		if err := p.apply(c, props[k]); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrConfig, k, err)
		}
	}
	return nil
}

// LoadFile applies a properties file to c.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := c.ApplyProperties(props); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// PropertyDocs lists every accepted property with a line of help, sorted.
func PropertyDocs() []string {
	out := make([]string, 0, len(properties))
	for k, p := range properties {
		out = append(out, fmt.Sprintf("%-32s %s", k, p.doc))
	}
	sort.Strings(out)
	return out
}

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
		return fmt.Errorf("%w: process.roles=broker needs a %s listener in listeners (%s://host:port): the quorum's leader sends this broker the metadata log there", ErrConfig, ctrlName, ctrlName)
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
