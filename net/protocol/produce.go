package protocol

// The values of ProduceRequest.Acks.
const (
	// AcksNone: the broker sends no response at all (Kafka's acks=0).
	AcksNone int16 = 0
	// AcksLeader: answer once the leader has the records in its log.
	AcksLeader int16 = 1
	// AcksAll: answer once every in-sync replica has them (and, on a
	// durable topic, once they are synced to disk).
	AcksAll int16 = -1
)

// ProduceRequest appends record batches to partitions.
type ProduceRequest struct {
	// Acks is AcksNone, AcksLeader or AcksAll. With AcksNone the broker
	// sends no response; if it cannot take the records it closes the
	// connection, the only signal left to it.
	Acks      int16
	TimeoutMs int32
	Topics    []ProduceRequestTopic
}

// ProduceRequestTopic holds one topic's partitions.
type ProduceRequestTopic struct {
	Name       string
	Partitions []ProduceRequestPartition
}

// ProduceRequestPartition holds the records for one partition.
type ProduceRequestPartition struct {
	Partition int32
	// Records is one or more Kafka v2 record batches, back to back. A
	// decoded request's Records is a sub-slice of the body it was decoded
	// from, not a copy.
	Records []byte
}

// ProduceResponse has one result per partition in the request.
type ProduceResponse struct {
	ErrorCode      ErrorCode
	ThrottleTimeMs int32
	Topics         []ProduceResponseTopic
}

// ProduceResponseTopic holds one topic's partition results.
type ProduceResponseTopic struct {
	Name       string
	Partitions []ProduceResponsePartition
}

// ProduceResponsePartition is the outcome of one partition's append.
type ProduceResponsePartition struct {
	Partition    int32
	ErrorCode    ErrorCode
	ErrorMessage *string
	// BaseOffset is the offset given to the first record.
	BaseOffset int64
	// LogAppendTimeMs is the broker's timestamp for the records when the
	// topic uses log-append time, and -1 when it uses create time.
	LogAppendTimeMs int64
	LogStartOffset  int64
}

const (
	produceRequestTopicMin      = 2 + 4
	produceRequestPartitionMin  = 4 + 4
	produceResponseTopicMin     = 2 + 4
	produceResponsePartitionMin = 4 + 2 + 2 + 8 + 8 + 8
)

func (*ProduceRequest) Key() APIKey { return Produce }

func (r *ProduceRequest) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, r.Acks)
	dst = appendInt32(dst, r.TimeoutMs)
	return appendArray(dst, r.Topics, false, (*ProduceRequestTopic).appendTo)
}

func (r *ProduceRequest) DecodeFrom(body []byte) error {
	*r = ProduceRequest{}
	d := decoder{b: body}
	r.Acks = d.int16()
	r.TimeoutMs = d.int32()
	r.Topics = makeArray[ProduceRequestTopic](&d, produceRequestTopicMin, false)
	for i := range r.Topics {
		r.Topics[i].decode(&d)
	}
	return d.finish(Produce, false)
}

func (t *ProduceRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*ProduceRequestPartition).appendTo)
}

func (t *ProduceRequestTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[ProduceRequestPartition](d, produceRequestPartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *ProduceRequestPartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	return appendBytes(dst, p.Records)
}

func (p *ProduceRequestPartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.Records = d.bytes()
}

func (*ProduceResponse) Key() APIKey           { return Produce }
func (r *ProduceResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *ProduceResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendInt32(dst, r.ThrottleTimeMs)
	return appendArray(dst, r.Topics, false, (*ProduceResponseTopic).appendTo)
}

func (r *ProduceResponse) DecodeFrom(body []byte) error {
	*r = ProduceResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ThrottleTimeMs = d.int32()
		r.Topics = makeArray[ProduceResponseTopic](&d, produceResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(Produce, true)
}

func (t *ProduceResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*ProduceResponsePartition).appendTo)
}

func (t *ProduceResponseTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[ProduceResponsePartition](d, produceResponsePartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *ProduceResponsePartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	dst = appendInt16(dst, int16(p.ErrorCode))
	dst = appendNullableString(dst, p.ErrorMessage)
	dst = appendInt64(dst, p.BaseOffset)
	dst = appendInt64(dst, p.LogAppendTimeMs)
	return appendInt64(dst, p.LogStartOffset)
}

func (p *ProduceResponsePartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.ErrorCode = d.errorCode()
	p.ErrorMessage = d.nullableString()
	p.BaseOffset = d.int64()
	p.LogAppendTimeMs = d.int64()
	p.LogStartOffset = d.int64()
}
