package protocol

// OffsetCommitRequest commits a group's positions. A member sends its
// generation and member id; a committer outside the group (an
// administrator resetting offsets) sends GenerationID -1 and an empty
// MemberID, which only a group without members accepts.
type OffsetCommitRequest struct {
	GroupID         string
	GenerationID    int32
	MemberID        string
	GroupInstanceID *string
	Topics          []OffsetCommitRequestTopic
}

// OffsetCommitRequestTopic holds one topic's partitions.
type OffsetCommitRequestTopic struct {
	Name       string
	Partitions []OffsetCommitRequestPartition
}

// OffsetCommitRequestPartition is one committed position: the offset of
// the next record to read. LeaderEpoch is -1 when unknown.
type OffsetCommitRequestPartition struct {
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    *string
}

// OffsetCommitResponse has one result per partition; a top-level error
// (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, ...) means nothing was written.
type OffsetCommitResponse struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
	Topics       []OffsetCommitResponseTopic
}

// OffsetCommitResponseTopic holds one topic's partition results.
type OffsetCommitResponseTopic struct {
	Name       string
	Partitions []OffsetCommitResponsePartition
}

// OffsetCommitResponsePartition is the outcome for one partition.
type OffsetCommitResponsePartition struct {
	Partition int32
	ErrorCode ErrorCode
}

// OffsetFetchRequest reads a group's committed offsets: of the partitions
// named, or of every partition when Topics is null.
type OffsetFetchRequest struct {
	GroupID string
	Topics  []OffsetFetchRequestTopic // nullable
}

// OffsetFetchRequestTopic names partitions of a topic.
type OffsetFetchRequestTopic struct {
	Name       string
	Partitions []int32
}

// OffsetFetchResponse carries the committed offsets.
type OffsetFetchResponse struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
	Topics       []OffsetFetchResponseTopic
}

// OffsetFetchResponseTopic holds one topic's partitions.
type OffsetFetchResponseTopic struct {
	Name       string
	Partitions []OffsetFetchResponsePartition
}

// OffsetFetchResponsePartition is one committed offset; Offset is -1 (and
// CommitTimestamp -1) when the group has committed none for the partition.
type OffsetFetchResponsePartition struct {
	Partition       int32
	Offset          int64
	LeaderEpoch     int32
	Metadata        *string
	CommitTimestamp int64
	ErrorCode       ErrorCode
}

const (
	offsetCommitRequestTopicMin      = 2 + 4
	offsetCommitRequestPartitionMin  = 4 + 8 + 4 + 2
	offsetCommitResponseTopicMin     = 2 + 4
	offsetCommitResponsePartitionMin = 4 + 2
	offsetFetchRequestTopicMin       = 2 + 4
	offsetFetchResponseTopicMin      = 2 + 4
	offsetFetchResponsePartitionMin  = 4 + 8 + 4 + 2 + 8 + 2
)

func (*OffsetCommitRequest) Key() APIKey { return OffsetCommit }

func (r *OffsetCommitRequest) AppendTo(dst []byte) []byte {
	dst = appendString(dst, r.GroupID)
	dst = appendInt32(dst, r.GenerationID)
	dst = appendString(dst, r.MemberID)
	dst = appendNullableString(dst, r.GroupInstanceID)
	return appendArray(dst, r.Topics, false, (*OffsetCommitRequestTopic).appendTo)
}

func (r *OffsetCommitRequest) DecodeFrom(body []byte) error {
	*r = OffsetCommitRequest{}
	d := decoder{b: body}
	r.GroupID = d.string()
	r.GenerationID = d.int32()
	r.MemberID = d.string()
	r.GroupInstanceID = d.nullableString()
	r.Topics = makeArray[OffsetCommitRequestTopic](&d, offsetCommitRequestTopicMin, false)
	for i := range r.Topics {
		r.Topics[i].decode(&d)
	}
	return d.finish(OffsetCommit, false)
}

func (t *OffsetCommitRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*OffsetCommitRequestPartition).appendTo)
}

func (t *OffsetCommitRequestTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[OffsetCommitRequestPartition](d, offsetCommitRequestPartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *OffsetCommitRequestPartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	dst = appendInt64(dst, p.Offset)
	dst = appendInt32(dst, p.LeaderEpoch)
	return appendNullableString(dst, p.Metadata)
}

func (p *OffsetCommitRequestPartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.Offset = d.int64()
	p.LeaderEpoch = d.int32()
	p.Metadata = d.nullableString()
}

func (*OffsetCommitResponse) Key() APIKey           { return OffsetCommit }
func (r *OffsetCommitResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *OffsetCommitResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendNullableString(dst, r.ErrorMessage)
	return appendArray(dst, r.Topics, false, (*OffsetCommitResponseTopic).appendTo)
}

func (r *OffsetCommitResponse) DecodeFrom(body []byte) error {
	*r = OffsetCommitResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ErrorMessage = d.nullableString()
		r.Topics = makeArray[OffsetCommitResponseTopic](&d, offsetCommitResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(OffsetCommit, true)
}

func (t *OffsetCommitResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*OffsetCommitResponsePartition).appendTo)
}

func (t *OffsetCommitResponseTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[OffsetCommitResponsePartition](d, offsetCommitResponsePartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *OffsetCommitResponsePartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	return appendInt16(dst, int16(p.ErrorCode))
}

func (p *OffsetCommitResponsePartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.ErrorCode = d.errorCode()
}

func (*OffsetFetchRequest) Key() APIKey { return OffsetFetch }

func (r *OffsetFetchRequest) AppendTo(dst []byte) []byte {
	dst = appendString(dst, r.GroupID)
	return appendArray(dst, r.Topics, true, (*OffsetFetchRequestTopic).appendTo)
}

func (r *OffsetFetchRequest) DecodeFrom(body []byte) error {
	*r = OffsetFetchRequest{}
	d := decoder{b: body}
	r.GroupID = d.string()
	r.Topics = makeArray[OffsetFetchRequestTopic](&d, offsetFetchRequestTopicMin, true)
	for i := range r.Topics {
		r.Topics[i].decode(&d)
	}
	return d.finish(OffsetFetch, false)
}

func (t *OffsetFetchRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendInt32s(dst, t.Partitions)
}

func (t *OffsetFetchRequestTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = d.int32s()
}

func (*OffsetFetchResponse) Key() APIKey           { return OffsetFetch }
func (r *OffsetFetchResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *OffsetFetchResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendNullableString(dst, r.ErrorMessage)
	return appendArray(dst, r.Topics, false, (*OffsetFetchResponseTopic).appendTo)
}

func (r *OffsetFetchResponse) DecodeFrom(body []byte) error {
	*r = OffsetFetchResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ErrorMessage = d.nullableString()
		r.Topics = makeArray[OffsetFetchResponseTopic](&d, offsetFetchResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(OffsetFetch, true)
}

func (t *OffsetFetchResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*OffsetFetchResponsePartition).appendTo)
}

func (t *OffsetFetchResponseTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[OffsetFetchResponsePartition](d, offsetFetchResponsePartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *OffsetFetchResponsePartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	dst = appendInt64(dst, p.Offset)
	dst = appendInt32(dst, p.LeaderEpoch)
	dst = appendNullableString(dst, p.Metadata)
	dst = appendInt64(dst, p.CommitTimestamp)
	return appendInt16(dst, int16(p.ErrorCode))
}

func (p *OffsetFetchResponsePartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.Offset = d.int64()
	p.LeaderEpoch = d.int32()
	p.Metadata = d.nullableString()
	p.CommitTimestamp = d.int64()
	p.ErrorCode = d.errorCode()
}
