package request

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/sluicelog/sluice/engine"
)

// LocalConfig configures Local. Zero counts take Kafka's defaults (1).
type LocalConfig struct {
	NodeID int32
	// NumPartitions and DefaultReplicationFactor apply to topics created
	// without them (num.partitions, default.replication.factor).
	NumPartitions            int32
	DefaultReplicationFactor int16
}

// Local is the Cluster of a single node over its engine: this node is the
// only broker, the controller, the coordinator of every group and the
// leader (epoch 0) and sole replica (replicas = ISR = [self]) of every
// partition. A replication factor above 1 is refused, and configs are
// validated by the engine; validate-only changes nothing.
//
// Its addresses come from the listeners through Advertise, once they are
// bound.
type Local struct {
	eng       *engine.Engine
	cfg       LocalConfig
	clusterID string
	self      []int32 // [NodeID]: every partition's replicas and ISR
	none      []int32 // no offline replicas

	mu    sync.RWMutex
	addrs map[string]Broker // by listener

	// parts is the placement of partitions 0 to len-1, shared by every
	// topic's answer and replaced whole, never modified, when it grows.
	parts   atomic.Pointer[[]Partition]
	partsMu sync.Mutex // one grower at a time

	idsMu sync.Mutex
	ids   map[[16]byte]string // topic id to name, as of its last rebuild
}

var _ Cluster = (*Local)(nil)
var _ Advertiser = (*Local)(nil)

// NewLocal returns the single-node Cluster over eng. It reads the cluster
// id from the data directory (making it on first use).
func NewLocal(eng *engine.Engine, cfg LocalConfig) (*Local, error) {
	if cfg.NumPartitions <= 0 {
		cfg.NumPartitions = 1
	}
	if cfg.DefaultReplicationFactor <= 0 {
		cfg.DefaultReplicationFactor = 1
	}
	id, err := eng.ClusterID()
	if err != nil {
		return nil, fmt.Errorf("cluster id: %w", err)
	}
	return &Local{eng: eng, cfg: cfg, clusterID: id, self: []int32{cfg.NodeID}, none: []int32{},
		addrs: map[string]Broker{}}, nil
}

// Advertise records this node's address on listener.
func (l *Local) Advertise(listener, host string, port int32) {
	l.mu.Lock()
	l.addrs[listener] = Broker{ID: l.cfg.NodeID, Host: host, Port: port}
	l.mu.Unlock()
}

func (l *Local) NodeID() int32       { return l.cfg.NodeID }
func (l *Local) ClusterID() string   { return l.clusterID }
func (l *Local) ControllerID() int32 { return l.cfg.NodeID }

// Brokers is this node, when it has an address on listener.
func (l *Local) Brokers(listener string) []Broker {
	l.mu.RLock()
	b, ok := l.addrs[listener]
	l.mu.RUnlock()
	if !ok {
		return nil
	}
	return []Broker{b}
}

func (l *Local) Topics() []string { return l.eng.Topics() }

// Topic costs one engine map lookup and no allocation per partition: see
// placement.
func (l *Local) Topic(name string) (Topic, error) {
	lay, err := l.eng.TopicLayout(name)
	if err != nil {
		return Topic{Name: name}, err
	}
	return l.placement(name, lay.ID, lay.PartitionCount), nil
}

// placement is a topic of n partitions on this node. Every topic's
// partition i has the same placement here, so all topics share one
// slice, grown when a larger topic asks: a Metadata answer costs nothing
// per partition before its encoding. Callers never modify what a Cluster
// returns (see Cluster).
func (l *Local) placement(name string, id [16]byte, n int32) Topic {
	parts := l.parts.Load()
	if parts == nil || int32(len(*parts)) < n {
		parts = l.growParts(n)
	}
	return Topic{Name: name, ID: id, Partitions: (*parts)[:n:n]}
}

func (l *Local) growParts(n int32) *[]Partition {
	l.partsMu.Lock()
	defer l.partsMu.Unlock()
	if p := l.parts.Load(); p != nil && int32(len(*p)) >= n {
		return p
	}
	grown := make([]Partition, n)
	for i := range grown {
		grown[i] = Partition{ID: int32(i), Leader: l.cfg.NodeID, Replicas: l.self, ISR: l.self, Offline: l.none}
	}
	l.parts.Store(&grown)
	return &grown
}

// TopicByID looks the id up in an index of the engine's topic ids, each
// hit checked against the engine (a name deleted and created again has a
// new id). A miss rebuilds the index in one pass over the topics, never
// their partitions: it finds topics created since, or says the id is
// unknown.
func (l *Local) TopicByID(id [16]byte) (Topic, error) {
	l.idsMu.Lock()
	name, ok := l.ids[id]
	l.idsMu.Unlock()
	if ok {
		if lay, err := l.eng.TopicLayout(name); err == nil && lay.ID == id {
			return l.placement(name, id, lay.PartitionCount), nil
		}
	}
	ids := l.eng.TopicIDs()
	l.idsMu.Lock()
	l.ids = ids
	l.idsMu.Unlock()
	if name, ok := ids[id]; ok {
		if lay, err := l.eng.TopicLayout(name); err == nil && lay.ID == id {
			return l.placement(name, id, lay.PartitionCount), nil
		}
	}
	return Topic{ID: id}, fmt.Errorf("%w: %x", ErrUnknownTopicID, id)
}

// LeaderCheck: this node leads every partition it has. Whether it has the
// partition is the engine's to say, and the handlers ask it next
// (Handler.partition): asking here too would look it up twice per
// partition of every produce and fetch.
func (l *Local) LeaderCheck(topic string, partition int32) error { return nil }

// LeaderEpoch is 0: leadership never moves.
func (l *Local) LeaderEpoch(topic string, partition int32) (int32, error) {
	if _, err := l.eng.Partition(topic, partition); err != nil {
		return -1, err
	}
	return 0, nil
}

func (l *Local) CreateTopic(_ context.Context, t NewTopic) (Topic, error) {
	partitions, rf := t.Partitions, t.ReplicationFactor
	if partitions == -1 {
		partitions = l.cfg.NumPartitions
	}
	if rf == -1 {
		rf = l.cfg.DefaultReplicationFactor
	}
	if len(t.Assignment) > 0 {
		if err := l.checkAssignment(t.Assignment); err != nil {
			return Topic{Name: t.Name}, err
		}
		partitions, rf = int32(len(t.Assignment)), 1
	}
	switch {
	case rf < 1:
		return Topic{Name: t.Name}, Refuse(ErrInvalidReplicationFactor,
			fmt.Sprintf("replication factor %d: it must be at least 1", rf))
	case rf > 1:
		return Topic{Name: t.Name}, Refuse(ErrInvalidReplicationFactor,
			fmt.Sprintf("replication factor %d is larger than the 1 available broker", rf))
	}
	if !t.ValidateOnly {
		if err := l.eng.CreateTopic(t.Name, partitions, t.Configs); err != nil {
			return Topic{Name: t.Name}, err
		}
		return l.Topic(t.Name)
	}
	if err := engine.ValidateTopicName(t.Name); err != nil {
		return Topic{Name: t.Name}, err
	}
	if partitions < 1 {
		return Topic{Name: t.Name}, fmt.Errorf("%w: %d", engine.ErrInvalidPartitions, partitions)
	}
	if err := engine.ValidateConfigs(t.Configs); err != nil {
		return Topic{Name: t.Name}, err
	}
	if _, err := l.eng.TopicLayout(t.Name); err == nil {
		return Topic{Name: t.Name}, fmt.Errorf("topic %s: %w", t.Name, engine.ErrTopicExists)
	}
	return l.placement(t.Name, [16]byte{}, partitions), nil
}

// checkAssignment accepts a manual assignment only if it puts one
// replica, this node, on every partition.
func (l *Local) checkAssignment(assignment [][]int32) error {
	for i, replicas := range assignment {
		if len(replicas) != 1 || replicas[0] != l.cfg.NodeID {
			return Refuse(ErrInvalidReplicaAssignment, fmt.Sprintf(
				"partition %d on %v: this single node (%d) holds the one replica of every partition", i, replicas, l.cfg.NodeID))
		}
	}
	return nil
}

func (l *Local) DeleteTopic(_ context.Context, name string) error {
	if name == schemasTopic {
		return errSchemasTopic
	}
	return l.eng.DeleteTopic(name)
}

// schemasTopic is the schema registry's topic (net/schemareg.Topic):
// deleting it loses every schema, and a registry starting its ids again
// at 1 would give old ids to new schemas while records still carry them.
const schemasTopic = "_schemas"

var errSchemasTopic = fmt.Errorf("%w: %s is internal: it holds the schema registry", engine.ErrInvalidTopic, schemasTopic)

func (l *Local) CreatePartitions(_ context.Context, name string, total int32, assignment [][]int32, validateOnly bool) error {
	if name == schemasTopic {
		return errSchemasTopic
	}
	if err := l.checkAssignment(assignment); err != nil {
		return err
	}
	if !validateOnly {
		return l.eng.CreatePartitions(name, total)
	}
	lay, err := l.eng.TopicLayout(name)
	if err == nil && total <= lay.PartitionCount {
		err = fmt.Errorf("%w: topic %s has %d partitions, asked for %d", engine.ErrInvalidPartitions, name, lay.PartitionCount, total)
	}
	return err
}

func (l *Local) AlterTopicConfig(_ context.Context, name string, set map[string]string, remove []string, validateOnly bool) error {
	if !validateOnly {
		return l.eng.AlterTopicConfig(name, set, remove)
	}
	if _, err := l.eng.TopicLayout(name); err != nil {
		return err
	}
	names := engine.ConfigNames()
	for _, k := range remove {
		if !slices.Contains(names, k) {
			return fmt.Errorf("topic %s: %w: unknown config %q", name, engine.ErrInvalidConfig, k)
		}
	}
	return engine.ValidateConfigs(set)
}

func (l *Local) InitProducerID(_ context.Context, producerID int64, epoch int16) (int64, int16, error) {
	return l.eng.InitProducerID(producerID, epoch)
}

// Coordinator is this node, which coordinates every group.
func (l *Local) Coordinator(group, listener string) (Broker, error) {
	l.mu.RLock()
	b, ok := l.addrs[listener]
	l.mu.RUnlock()
	if !ok {
		return Broker{ID: -1, Port: -1}, Refuse(ErrCoordinatorNotAvailable,
			"this broker has no "+strconv.Quote(listener)+" listener")
	}
	return b, nil
}
