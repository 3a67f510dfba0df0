package protocol

// DeleteRecordsRequest moves partitions' log start offsets forward,
// deleting every record below the offset named (Kafka's DeleteRecords,
// whose key it uses). The request goes to each partition's leader.
type DeleteRecordsRequest struct {
	Topics []DeleteRecordsRequestTopic
	// TimeoutMs bounds how long the broker may take.
	TimeoutMs int32
}

// DeleteRecordsRequestTopic names one topic's partitions.
type DeleteRecordsRequestTopic struct {
	Name       string
	Partitions []DeleteRecordsRequestPartition
}

// DeleteRecordsRequestPartition asks for the records of a partition below
// Offset to be deleted; -1 means the high watermark (everything now
// readable).
type DeleteRecordsRequestPartition struct {
	Partition int32
	Offset    int64
}

// DeleteRecordsResponse has one result per partition asked for; a
// top-level error means nothing was done.
type DeleteRecordsResponse struct {
	ErrorCode ErrorCode
	Topics    []DeleteRecordsResponseTopic
}

// DeleteRecordsResponseTopic holds one topic's results.
type DeleteRecordsResponseTopic struct {
	Name       string
	Partitions []DeleteRecordsResponsePartition
}

// DeleteRecordsResponsePartition is the outcome for one partition:
// LowWatermark is its log start offset after the request, -1 on failure.
type DeleteRecordsResponsePartition struct {
	Partition    int32
	LowWatermark int64
	ErrorCode    ErrorCode
	ErrorMessage *string
}

const (
	deleteRecordsRequestTopicMin      = 2 + 4
	deleteRecordsRequestPartitionMin  = 4 + 8
	deleteRecordsResponseTopicMin     = 2 + 4
	deleteRecordsResponsePartitionMin = 4 + 8 + 2 + 2
)

func (*DeleteRecordsRequest) Key() APIKey { return DeleteRecords }

func (r *DeleteRecordsRequest) AppendTo(dst []byte) []byte {
	dst = appendArray(dst, r.Topics, false, (*DeleteRecordsRequestTopic).appendTo)
	return appendInt32(dst, r.TimeoutMs)
}

func (r *DeleteRecordsRequest) DecodeFrom(body []byte) error {
	*r = DeleteRecordsRequest{}
	d := decoder{b: body}
	r.Topics = makeArray[DeleteRecordsRequestTopic](&d, deleteRecordsRequestTopicMin, false)
	for i := range r.Topics {
		t := &r.Topics[i]
		t.Name = d.string()
		t.Partitions = makeArray[DeleteRecordsRequestPartition](&d, deleteRecordsRequestPartitionMin, false)
		for j := range t.Partitions {
			t.Partitions[j].Partition = d.int32()
			t.Partitions[j].Offset = d.int64()
		}
	}
	r.TimeoutMs = d.int32()
	return d.finish(DeleteRecords, false)
}

func (t *DeleteRecordsRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*DeleteRecordsRequestPartition).appendTo)
}

func (p *DeleteRecordsRequestPartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	return appendInt64(dst, p.Offset)
}

func (*DeleteRecordsResponse) Key() APIKey           { return DeleteRecords }
func (r *DeleteRecordsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *DeleteRecordsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Topics, false, (*DeleteRecordsResponseTopic).appendTo)
}

func (r *DeleteRecordsResponse) DecodeFrom(body []byte) error {
	*r = DeleteRecordsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Topics = makeArray[DeleteRecordsResponseTopic](&d, deleteRecordsResponseTopicMin, false)
		for i := range r.Topics {
			t := &r.Topics[i]
			t.Name = d.string()
			t.Partitions = makeArray[DeleteRecordsResponsePartition](&d, deleteRecordsResponsePartitionMin, false)
			for j := range t.Partitions {
				p := &t.Partitions[j]
				p.Partition = d.int32()
				p.LowWatermark = d.int64()
				p.ErrorCode = d.errorCode()
				p.ErrorMessage = d.nullableString()
			}
		}
	}
	return d.finish(DeleteRecords, true)
}

func (t *DeleteRecordsResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*DeleteRecordsResponsePartition).appendTo)
}

func (p *DeleteRecordsResponsePartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	dst = appendInt64(dst, p.LowWatermark)
	dst = appendInt16(dst, int16(p.ErrorCode))
	return appendNullableString(dst, p.ErrorMessage)
}
