package request

import "context"

// The listener names a Cluster gives addresses for.
const (
	ListenerNative = "SLUICE"    // the native protocol (net/server)
	ListenerKafka  = "PLAINTEXT" // the Kafka protocol (net/kafka)
)

// Cluster tells the handlers where things live and makes cluster-wide
// changes. The handlers never decide placement themselves: Local is the
// single-node implementation, and a clustered broker gives its own over
// the metadata quorum.
//
// The slices a Cluster returns are the caller's to read, never to modify.
type Cluster interface {
	NodeID() int32
	ClusterID() string
	// ControllerID is the controller's node id, -1 while unknown.
	ControllerID() int32
	// Brokers lists the live brokers, each with its advertised address on
	// listener (ListenerNative or ListenerKafka), sorted by id.
	Brokers(listener string) []Broker
	// Topics lists the topics' names, sorted.
	Topics() []string
	// Topic gives a topic's id and each partition's placement; an error
	// wrapping engine.ErrUnknownTopic when there is no such topic.
	Topic(name string) (Topic, error)
	// TopicByID is Topic by id; an error wrapping ErrUnknownTopicID when
	// no topic has it.
	TopicByID(id [16]byte) (Topic, error)
	// LeaderCheck is nil when this node may serve produce, fetch and list
	// offsets for the partition; otherwise an error that maps to
	// NOT_LEADER_OR_FOLLOWER (ErrNotLeader), LEADER_NOT_AVAILABLE
	// (ErrLeaderNotAvailable) or UNKNOWN_TOPIC_OR_PARTITION (wrapping
	// engine.ErrUnknownTopic or engine.ErrUnknownPartition). The handlers
	// ask the engine for the partition next, so a partition this node does
	// not have may pass here. It is on the hot path: it allocates nothing
	// when it says yes.
	LeaderCheck(topic string, partition int32) error
	// LeaderEpoch is the partition's current leader epoch, which a client
	// that names one (Fetch, ListOffsets) is checked against. On the hot
	// path too: no allocation on success.
	LeaderEpoch(topic string, partition int32) (int32, error)
	// CreateTopic creates a topic, or with t.ValidateOnly checks that it
	// could. It returns the placement made (or that would be made, then
	// without an id).
	CreateTopic(ctx context.Context, t NewTopic) (Topic, error)
	DeleteTopic(ctx context.Context, name string) error
	// CreatePartitions grows a topic to total partitions; assignment, if
	// given, places each new partition (one list of broker ids each).
	CreatePartitions(ctx context.Context, name string, total int32, assignment [][]int32, validateOnly bool) error
	// AlterTopicConfig sets and removes a topic's config overrides, or
	// with validateOnly checks that the change would be accepted.
	AlterTopicConfig(ctx context.Context, name string, set map[string]string, remove []string, validateOnly bool) error
	// InitProducerID gives an idempotent producer its id and epoch: a new
	// id for producerID -1, else the next epoch of the id given.
	InitProducerID(ctx context.Context, producerID int64, epoch int16) (int64, int16, error)
	// Coordinator is the broker that coordinates a consumer group, with
	// its address on listener.
	Coordinator(group, listener string) (Broker, error)
}

// Advertiser is implemented by a Cluster that learns this node's
// addresses from its listeners: each listener calls Advertise once bound
// (with port 0 the address is known only then).
type Advertiser interface {
	Advertise(listener, host string, port int32)
}

// Broker is a broker's address on one listener.
type Broker struct {
	ID   int32
	Host string
	Port int32
}

// Topic is a topic's id and the placement of its partitions, in partition
// order.
type Topic struct {
	Name       string
	ID         [16]byte
	Partitions []Partition
}

// Partition is where one partition lives.
type Partition struct {
	ID          int32
	Leader      int32 // -1 when it has none
	LeaderEpoch int32
	Replicas    []int32
	ISR         []int32
	Offline     []int32
}

// NewTopic asks for a topic.
type NewTopic struct {
	Name string
	// Partitions is the partition count, -1 for the cluster's default
	// (num.partitions).
	Partitions int32
	// ReplicationFactor is -1 for the cluster's default
	// (default.replication.factor).
	ReplicationFactor int16
	// Assignment, when given, places each partition by hand (one list of
	// broker ids per partition, in partition order); Partitions and
	// ReplicationFactor are then -1.
	Assignment [][]int32
	Configs    map[string]string
	// ValidateOnly checks the request and changes nothing.
	ValidateOnly bool
}
