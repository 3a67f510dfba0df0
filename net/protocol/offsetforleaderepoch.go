package protocol

// OffsetForLeaderEpochRequest asks a partition's leader where its log
// ends a leader epoch: a follower finds where its log diverged from the
// leader's, a consumer whether the records it read survived a leader
// change (Kafka's OffsetForLeaderEpoch, KIP-320, whose key it uses).
type OffsetForLeaderEpochRequest struct {
	// ReplicaID is the asking follower's node id, -1 for a consumer. It
	// does not change the answer.
	ReplicaID int32
	Topics    []OffsetForLeaderEpochRequestTopic
}

// OffsetForLeaderEpochRequestTopic holds one topic's partitions.
type OffsetForLeaderEpochRequestTopic struct {
	Name       string
	Partitions []OffsetForLeaderEpochRequestPartition
}

// OffsetForLeaderEpochRequestPartition asks about one partition.
// CurrentLeaderEpoch is the partition's leader epoch as the client knows
// it (the broker answers FENCED_LEADER_EPOCH when it is older than the
// partition's, UNKNOWN_LEADER_EPOCH when newer), or -1 for no check;
// LeaderEpoch is the epoch whose end is asked for.
type OffsetForLeaderEpochRequestPartition struct {
	Partition          int32
	CurrentLeaderEpoch int32
	LeaderEpoch        int32
}

// OffsetForLeaderEpochResponse has one result per partition in the
// request.
type OffsetForLeaderEpochResponse struct {
	ErrorCode ErrorCode
	Topics    []OffsetForLeaderEpochResponseTopic
}

// OffsetForLeaderEpochResponseTopic holds one topic's partition results.
type OffsetForLeaderEpochResponseTopic struct {
	Name       string
	Partitions []OffsetForLeaderEpochResponsePartition
}

// OffsetForLeaderEpochResponsePartition is the largest leader epoch the
// leader's log knows that is not above the one asked (the one asked when
// it is older than all), and the offset where its records end: the start
// of the next epoch, or the log end for the latest. Both are -1 when the
// log cannot tell (it has no epoch history, or the epoch asked is newer
// than all it knows), and on an error.
type OffsetForLeaderEpochResponsePartition struct {
	Partition   int32
	ErrorCode   ErrorCode
	LeaderEpoch int32
	EndOffset   int64
}

const (
	offsetForLeaderEpochRequestTopicMin      = 2 + 4
	offsetForLeaderEpochRequestPartitionMin  = 4 + 4 + 4
	offsetForLeaderEpochResponseTopicMin     = 2 + 4
	offsetForLeaderEpochResponsePartitionMin = 4 + 2 + 4 + 8
)

func (*OffsetForLeaderEpochRequest) Key() APIKey { return OffsetForLeaderEpoch }

func (r *OffsetForLeaderEpochRequest) AppendTo(dst []byte) []byte {
	dst = appendInt32(dst, r.ReplicaID)
	return appendArray(dst, r.Topics, false, (*OffsetForLeaderEpochRequestTopic).appendTo)
}

func (r *OffsetForLeaderEpochRequest) DecodeFrom(body []byte) error {
	*r = OffsetForLeaderEpochRequest{}
	d := decoder{b: body}
	r.ReplicaID = d.int32()
	r.Topics = makeArray[OffsetForLeaderEpochRequestTopic](&d, offsetForLeaderEpochRequestTopicMin, false)
	for i := range r.Topics {
		r.Topics[i].decode(&d)
	}
	return d.finish(OffsetForLeaderEpoch, false)
}

func (t *OffsetForLeaderEpochRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*OffsetForLeaderEpochRequestPartition).appendTo)
}

func (t *OffsetForLeaderEpochRequestTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[OffsetForLeaderEpochRequestPartition](d, offsetForLeaderEpochRequestPartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *OffsetForLeaderEpochRequestPartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	dst = appendInt32(dst, p.CurrentLeaderEpoch)
	return appendInt32(dst, p.LeaderEpoch)
}

func (p *OffsetForLeaderEpochRequestPartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.CurrentLeaderEpoch = d.int32()
	p.LeaderEpoch = d.int32()
}

func (*OffsetForLeaderEpochResponse) Key() APIKey           { return OffsetForLeaderEpoch }
func (r *OffsetForLeaderEpochResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *OffsetForLeaderEpochResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Topics, false, (*OffsetForLeaderEpochResponseTopic).appendTo)
}

func (r *OffsetForLeaderEpochResponse) DecodeFrom(body []byte) error {
	*r = OffsetForLeaderEpochResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Topics = makeArray[OffsetForLeaderEpochResponseTopic](&d, offsetForLeaderEpochResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(OffsetForLeaderEpoch, true)
}

func (t *OffsetForLeaderEpochResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*OffsetForLeaderEpochResponsePartition).appendTo)
}

func (t *OffsetForLeaderEpochResponseTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[OffsetForLeaderEpochResponsePartition](d, offsetForLeaderEpochResponsePartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *OffsetForLeaderEpochResponsePartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	dst = appendInt16(dst, int16(p.ErrorCode))
	dst = appendInt32(dst, p.LeaderEpoch)
	return appendInt64(dst, p.EndOffset)
}

func (p *OffsetForLeaderEpochResponsePartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.ErrorCode = d.errorCode()
	p.LeaderEpoch = d.int32()
	p.EndOffset = d.int64()
}
