package protocol

// Special values of ListOffsetsRequestPartition.Timestamp.
const (
	// LatestTimestamp asks for the offset the next record will get (the
	// high watermark).
	LatestTimestamp int64 = -1
	// EarliestTimestamp asks for the log start offset.
	EarliestTimestamp int64 = -2
)

// ListOffsetsRequest finds offsets by time: for each partition, the first
// offset whose record timestamp is at or after Timestamp.
type ListOffsetsRequest struct {
	IsolationLevel IsolationLevel
	Topics         []ListOffsetsRequestTopic
}

// ListOffsetsRequestTopic holds one topic's partitions.
type ListOffsetsRequestTopic struct {
	Name       string
	Partitions []ListOffsetsRequestPartition
}

// ListOffsetsRequestPartition asks about one partition. Timestamp is in
// milliseconds since the epoch, or LatestTimestamp or EarliestTimestamp.
type ListOffsetsRequestPartition struct {
	Partition int32
	Timestamp int64
}

// ListOffsetsResponse has one result per partition in the request.
type ListOffsetsResponse struct {
	ErrorCode ErrorCode
	Topics    []ListOffsetsResponseTopic
}

// ListOffsetsResponseTopic holds one topic's partition results.
type ListOffsetsResponseTopic struct {
	Name       string
	Partitions []ListOffsetsResponsePartition
}

// ListOffsetsResponsePartition is the offset found and the timestamp of
// its record; Offset is -1 (and Timestamp -1) when no record is that
// recent.
type ListOffsetsResponsePartition struct {
	Partition int32
	ErrorCode ErrorCode
	Timestamp int64
	Offset    int64
}

const (
	listOffsetsRequestTopicMin      = 2 + 4
	listOffsetsRequestPartitionMin  = 4 + 8
	listOffsetsResponseTopicMin     = 2 + 4
	listOffsetsResponsePartitionMin = 4 + 2 + 8 + 8
)

func (*ListOffsetsRequest) Key() APIKey { return ListOffsets }

func (r *ListOffsetsRequest) AppendTo(dst []byte) []byte {
	dst = appendInt8(dst, int8(r.IsolationLevel))
	return appendArray(dst, r.Topics, false, (*ListOffsetsRequestTopic).appendTo)
}

func (r *ListOffsetsRequest) DecodeFrom(body []byte) error {
	*r = ListOffsetsRequest{}
	d := decoder{b: body}
	r.IsolationLevel = IsolationLevel(d.int8())
	r.Topics = makeArray[ListOffsetsRequestTopic](&d, listOffsetsRequestTopicMin, false)
	for i := range r.Topics {
		r.Topics[i].decode(&d)
	}
	return d.finish(ListOffsets, false)
}

func (t *ListOffsetsRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*ListOffsetsRequestPartition).appendTo)
}

func (t *ListOffsetsRequestTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[ListOffsetsRequestPartition](d, listOffsetsRequestPartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *ListOffsetsRequestPartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	return appendInt64(dst, p.Timestamp)
}

func (p *ListOffsetsRequestPartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.Timestamp = d.int64()
}

func (*ListOffsetsResponse) Key() APIKey           { return ListOffsets }
func (r *ListOffsetsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *ListOffsetsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Topics, false, (*ListOffsetsResponseTopic).appendTo)
}

func (r *ListOffsetsResponse) DecodeFrom(body []byte) error {
	*r = ListOffsetsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Topics = makeArray[ListOffsetsResponseTopic](&d, listOffsetsResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(ListOffsets, true)
}

func (t *ListOffsetsResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*ListOffsetsResponsePartition).appendTo)
}

func (t *ListOffsetsResponseTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[ListOffsetsResponsePartition](d, listOffsetsResponsePartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *ListOffsetsResponsePartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	dst = appendInt16(dst, int16(p.ErrorCode))
	dst = appendInt64(dst, p.Timestamp)
	return appendInt64(dst, p.Offset)
}

func (p *ListOffsetsResponsePartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.ErrorCode = d.errorCode()
	p.Timestamp = d.int64()
	p.Offset = d.int64()
}
