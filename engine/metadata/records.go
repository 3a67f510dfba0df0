package metadata

// RecordType is the first byte of an encoded record. The numbers are part
// of the persisted format: never reuse or renumber one.
type RecordType uint8

const (
	TypeInitCluster         RecordType = 1
	TypeRegisterBroker      RecordType = 2
	TypeFenceBroker         RecordType = 3
	TypeUnfenceBroker       RecordType = 4
	TypeUnregisterBroker    RecordType = 5
	TypeCreateTopic         RecordType = 6
	TypeDeleteTopic         RecordType = 7
	TypeCreatePartitions    RecordType = 8
	TypeAlterTopicConfig    RecordType = 9
	TypePartitionChange     RecordType = 10
	TypeAllocateProducerIDs RecordType = 11
	TypePartitionChanges    RecordType = 12
)

// Record is one metadata command. The set is closed: only the types of this
// package implement it, so Apply can handle every one.
type Record interface {
	// Type is the record's type byte.
	Type() RecordType
	isRecord()
}

// InitCluster names the cluster. The first one sets the ID; repeating it is
// a no-op; another ID is refused with INCONSISTENT_CLUSTER_ID.
type InitCluster struct {
	ClusterID string `json:"cluster_id"`
}

// RegisterBroker registers a broker or re-registers it after a restart. It
// always succeeds for a well-formed record: refusing a duplicate held by a
// live process is the active controller's decision (see Liveness). The
// broker comes out unfenced.
type RegisterBroker struct {
	ID int32 `json:"id"`
	// Incarnation is random per process start, chosen by the broker.
	Incarnation string `json:"incarnation"`
	// Listeners maps a listener name ("SLUICE", "PLAINTEXT", "CONTROLLER")
	// to its advertised "host:port".
	Listeners map[string]string `json:"listeners"`
}

// FenceBroker marks a broker fenced and takes its leaderships away.
type FenceBroker struct {
	ID int32 `json:"id"`
	// Incarnation, when set, is the process whose session expired: if the
	// broker registered again meanwhile (a quick restart), the record
	// fences nothing, as Kafka's broker epoch does.
	Incarnation string `json:"incarnation,omitempty"`
}

// UnfenceBroker clears a broker's fence and makes it leader of the
// leaderless partitions whose ISR holds it.
type UnfenceBroker struct {
	ID int32 `json:"id"`
}

// UnregisterBroker fences a broker and forgets its registration. Its
// replicas stay in the assignments.
type UnregisterBroker struct {
	ID int32 `json:"id"`
}

// CreateTopic creates a topic with an explicit assignment (see Assign).
type CreateTopic struct {
	Name string `json:"name"`
	// ID is chosen by the proposer (random, non-zero).
	ID [16]byte `json:"id"`
	// Assignment holds the replica list of each partition, partition 0
	// first. The first unfenced replica becomes leader.
	Assignment [][]int32 `json:"assignment"`
	// Configs are the topic's overrides, by Kafka topic config name.
	Configs map[string]string `json:"configs"`
}

// DeleteTopic deletes a topic.
type DeleteTopic struct {
	Name string `json:"name"`
}

// CreatePartitions adds partitions to a topic.
type CreatePartitions struct {
	Topic string `json:"topic"`
	// Assignment holds the replica lists of the new partitions only.
	Assignment [][]int32 `json:"assignment"`
	// From, when not zero, is the partition count the proposer saw: the
	// record is refused if the topic has grown since, so two brokers that
	// both raise a topic to N do not raise it to N plus their sum.
	From int32 `json:"from,omitempty"`
}

// AlterTopicConfig changes a topic's overrides. Values are validated by the
// caller; a key may not be both set and removed.
type AlterTopicConfig struct {
	Topic  string            `json:"topic"`
	Set    map[string]string `json:"set"`
	Remove []string          `json:"remove"`
}

// PartitionChange changes a partition's leader, its ISR or both.
type PartitionChange struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// LeaderEpoch is the epoch the proposer saw; a mismatch is refused
	// with FENCED_LEADER_EPOCH so that a stale proposer cannot overwrite.
	LeaderEpoch int32 `json:"leader_epoch"`
	// PartitionEpoch, when set, is the partition epoch the proposer saw: a
	// leader changing its ISR is refused (INVALID_UPDATE_VERSION, as
	// Kafka's AlterPartition) if anything changed the partition since, so
	// it cannot undo a change the controller made meanwhile.
	PartitionEpoch *int32 `json:"partition_epoch,omitempty"`
	// Leader is the new leader, nil to keep it; -1 takes the partition
	// offline.
	Leader *int32 `json:"leader"`
	// ISR is the new ISR, nil to keep it.
	ISR []int32 `json:"isr"`
}

// PartitionChanges is many PartitionChange records in one raft entry
// (Kafka's AlterPartition carries many partitions too): a leader's ISR
// changes or a round of preferred elections cost one entry, not one per
// partition. Each change is checked and applied on its own, in order, as
// if it were a record of its own; the Result's Codes answer each, and
// the record itself is refused only when it is malformed (no changes, or
// more than MaxPartitionChanges).
type PartitionChanges struct {
	Changes []PartitionChange `json:"changes"`
}

// MaxPartitionChanges bounds a PartitionChanges record, so that one raft
// entry stays well under a megabyte.
const MaxPartitionChanges = 10000

// AllocateProducerIDs hands a block of Count producer IDs to a broker; the
// Result carries the first.
type AllocateProducerIDs struct {
	BrokerID int32 `json:"broker_id"`
	Count    int32 `json:"count"`
}

func (InitCluster) Type() RecordType         { return TypeInitCluster }
func (RegisterBroker) Type() RecordType      { return TypeRegisterBroker }
func (FenceBroker) Type() RecordType         { return TypeFenceBroker }
func (UnfenceBroker) Type() RecordType       { return TypeUnfenceBroker }
func (UnregisterBroker) Type() RecordType    { return TypeUnregisterBroker }
func (CreateTopic) Type() RecordType         { return TypeCreateTopic }
func (DeleteTopic) Type() RecordType         { return TypeDeleteTopic }
func (CreatePartitions) Type() RecordType    { return TypeCreatePartitions }
func (AlterTopicConfig) Type() RecordType    { return TypeAlterTopicConfig }
func (PartitionChange) Type() RecordType     { return TypePartitionChange }
func (AllocateProducerIDs) Type() RecordType { return TypeAllocateProducerIDs }
func (PartitionChanges) Type() RecordType    { return TypePartitionChanges }

func (InitCluster) isRecord()         {}
func (RegisterBroker) isRecord()      {}
func (FenceBroker) isRecord()         {}
func (UnfenceBroker) isRecord()       {}
func (UnregisterBroker) isRecord()    {}
func (CreateTopic) isRecord()         {}
func (DeleteTopic) isRecord()         {}
func (CreatePartitions) isRecord()    {}
func (AlterTopicConfig) isRecord()    {}
func (PartitionChange) isRecord()     {}
func (AllocateProducerIDs) isRecord() {}
func (PartitionChanges) isRecord()    {}

// newRecord is the zero record of a type, as a pointer to decode into.
func newRecord(t RecordType) (Record, bool) {
	switch t {
	case TypeInitCluster:
		return &InitCluster{}, true
	case TypeRegisterBroker:
		return &RegisterBroker{}, true
	case TypeFenceBroker:
		return &FenceBroker{}, true
	case TypeUnfenceBroker:
		return &UnfenceBroker{}, true
	case TypeUnregisterBroker:
		return &UnregisterBroker{}, true
	case TypeCreateTopic:
		return &CreateTopic{}, true
	case TypeDeleteTopic:
		return &DeleteTopic{}, true
	case TypeCreatePartitions:
		return &CreatePartitions{}, true
	case TypeAlterTopicConfig:
		return &AlterTopicConfig{}, true
	case TypePartitionChange:
		return &PartitionChange{}, true
	case TypeAllocateProducerIDs:
		return &AllocateProducerIDs{}, true
	case TypePartitionChanges:
		return &PartitionChanges{}, true
	}
	return nil, false
}
