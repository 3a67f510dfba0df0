package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/grouplog"
	"github.com/sluicelog/sluice/net/quorum"
)

// Defaults, Kafka's where Kafka has the setting.
const (
	// DefaultSessionTimeout is broker.session.timeout.ms: a broker whose
	// last heartbeat is older than this is fenced.
	DefaultSessionTimeout = 9 * time.Second
	// DefaultHeartbeatInterval is broker.heartbeat.interval.ms.
	DefaultHeartbeatInterval = 2 * time.Second
	// ProducerIDBlockSize is how many producer ids a broker takes from the
	// quorum at a time (Kafka's AllocateProducerIds block).
	ProducerIDBlockSize = 1000
	// ProposeTimeout bounds a change proposed without a deadline of its
	// own (Kafka's request.timeout.ms).
	ProposeTimeout = 30 * time.Second
	// MetadataDirName is the quorum's folder inside the data directory
	// (Kafka's metadata log is __cluster_metadata-0).
	MetadataDirName = "__cluster_metadata"
	// DefaultLeaderImbalanceCheckInterval is Kafka's
	// leader.imbalance.check.interval.seconds.
	DefaultLeaderImbalanceCheckInterval = 300 * time.Second
)

// Config configures a node's membership.
type Config struct {
	// NodeID is node.id: this node's id in controller.quorum.voters and as a
	// broker.
	NodeID int32
	// DataDir is the broker's data directory (log.dirs): meta.properties
	// and the quorum's folder live in it.
	DataDir string
	// Voters is controller.quorum.voters. A node in it is a voter
	// (process.roles includes controller).
	Voters []quorum.Voter
	// Nonvoter is true on a broker-only node (process.roles=broker): it is
	// not in Voters and joins the quorum as a raft nonvoter, which receives
	// and applies the metadata log but never votes (quorum.Config.Nonvoter).
	Nonvoter bool
	// ControllerListen is the CONTROLLER listener's host:port; or
	// ControllerListener, already bound (tests). On a nonvoter it is where
	// the quorum's leader sends it the metadata log.
	ControllerListen   string
	ControllerListener net.Listener
	// ClusterID is cluster.id when the configuration names one (as Kafka's
	// storage format does); empty lets the first active controller pick one.
	ClusterID string
	// Engine is the broker's local storage; nil on a controller-only node.
	Engine *engine.Engine

	// SessionTimeout is broker.session.timeout.ms; HeartbeatInterval is
	// broker.heartbeat.interval.ms.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	// NumPartitions and DefaultReplicationFactor fill in topic creations
	// that leave them out (num.partitions, default.replication.factor).
	NumPartitions            int32
	DefaultReplicationFactor int16

	// RaftHeartbeatTimeout and RaftElectionTimeout tune the quorum; zero
	// takes net/quorum's defaults. Tests shorten them.
	RaftHeartbeatTimeout time.Duration
	RaftElectionTimeout  time.Duration

	// InterBrokerListener is inter.broker.listener.name: the listener,
	// speaking the Kafka protocol, that followers fetch from leaders on.
	InterBrokerListener string
	// ReplicaLagMax, ReplicaFetchWait and ReplicaFetchBackoff are
	// replica.lag.time.max.ms, replica.fetch.wait.max.ms and
	// replica.fetch.backoff.ms; zero takes Kafka's defaults.
	ReplicaLagMax       time.Duration
	ReplicaFetchWait    time.Duration
	ReplicaFetchBackoff time.Duration
	// UncleanLeaderElection is the broker default of
	// unclean.leader.election.enable; a topic override wins.
	UncleanLeaderElection bool
	// LeaderImbalanceCheckInterval is leader.imbalance.check.interval.seconds:
	// how often the active controller moves leadership back to preferred
	// replicas (auto.leader.rebalance.enable); negative disables it.
	LeaderImbalanceCheckInterval time.Duration
	// LeaderImbalancePerBrokerPercentage is
	// leader.imbalance.per.broker.percentage: a broker's preferred
	// partitions are moved back once more than this share is led elsewhere.
	LeaderImbalancePerBrokerPercentage int
	// ControlledShutdownTimeout bounds how long Close waits for the
	// controller to move this broker's leaderships away.
	ControlledShutdownTimeout time.Duration
	// NoControlledShutdown is controlled.shutdown.enable=false: Close just
	// stops, and the controller fences the broker when its session ends.
	NoControlledShutdown bool
	// OffsetsTopicPartitions is offsets.topic.num.partitions
	// (grouplog.DefaultPartitions); OffsetsTopicReplicationFactor is
	// offsets.topic.replication.factor, where zero or less means min(3,
	// live brokers) when the topic is created.
	OffsetsTopicPartitions        int32
	OffsetsTopicReplicationFactor int16

	// Logger is the broker's: the membership's lines say
	// component=cluster, the quorum's component=quorum.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.NumPartitions <= 0 {
		c.NumPartitions = 1
	}
	if c.DefaultReplicationFactor <= 0 {
		c.DefaultReplicationFactor = 1
	}
	if c.InterBrokerListener == "" {
		c.InterBrokerListener = "PLAINTEXT"
	}
	if c.LeaderImbalanceCheckInterval == 0 {
		c.LeaderImbalanceCheckInterval = DefaultLeaderImbalanceCheckInterval
	}
	if c.LeaderImbalancePerBrokerPercentage <= 0 {
		c.LeaderImbalancePerBrokerPercentage = 10
	}
	if c.ControlledShutdownTimeout <= 0 {
		c.ControlledShutdownTimeout = 10 * time.Second
	}
	if c.OffsetsTopicPartitions <= 0 {
		c.OffsetsTopicPartitions = grouplog.DefaultPartitions
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Config) validate() error {
	if c.DataDir == "" {
		return errors.New("cluster: no data directory")
	}
	if len(c.Voters) == 0 {
		return errors.New("cluster: controller.quorum.voters is empty")
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		return fmt.Errorf("cluster: broker.heartbeat.interval.ms (%v) must be below broker.session.timeout.ms (%v)", c.HeartbeatInterval, c.SessionTimeout)
	}
	return nil
}
