package protocol

// IsolationLevel says which records a Fetch or ListOffsets may see, with
// Kafka's numbers.
type IsolationLevel int8

// The isolation levels.
const (
	// ReadUncommitted sees every record below the high watermark.
	ReadUncommitted IsolationLevel = 0
	// ReadCommitted stops at the last stable offset, before any open
	// transaction.
	ReadCommitted IsolationLevel = 1
)

// FetchRequest reads records from partitions, waiting up to MaxWaitMs for
// at least MinBytes of them.
type FetchRequest struct {
	MaxWaitMs int32
	MinBytes  int32
	// MaxBytes bounds the whole response's records. The first batch of
	// the first non-empty partition is returned even if it is larger, so
	// that a consumer always makes progress.
	MaxBytes       int32
	IsolationLevel IsolationLevel
	Topics         []FetchRequestTopic
}

// FetchRequestTopic holds one topic's partitions.
type FetchRequestTopic struct {
	Name       string
	Partitions []FetchRequestPartition
}

// FetchContinue as a FetchOffset asks the broker to continue where this
// connection's previous fetch of the partition ended (see
// docs/PROTOCOL.md), so that a fetch can be queued behind one still in
// flight.
const FetchContinue int64 = -1

// FetchRequestPartition asks for one partition's records from FetchOffset
// (or, with FetchContinue, from where the connection's last fetch of it
// ended).
type FetchRequestPartition struct {
	Partition         int32
	FetchOffset       int64
	PartitionMaxBytes int32
}

// FetchResponse carries records for each partition in the request.
type FetchResponse struct {
	ErrorCode      ErrorCode
	ThrottleTimeMs int32
	Topics         []FetchResponseTopic
}

// FetchResponseTopic holds one topic's partitions.
type FetchResponseTopic struct {
	Name       string
	Partitions []FetchResponsePartition
}

// FetchResponsePartition is one partition's records and offsets.
type FetchResponsePartition struct {
	Partition        int32
	ErrorCode        ErrorCode
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	// Records holds whole Kafka v2 record batches. A decoded response's
	// Records is a sub-slice of the body, not a copy.
	Records []byte
	// RecordsLen is not on the wire. A server that sends the records
	// itself (sendfile) leaves Records nil and sets RecordsLen to their
	// length; AppendFetchResponseFrame then leaves room for them. It is
	// ignored when Records is not nil, and zero after DecodeFrom.
	RecordsLen int32
}

const (
	fetchRequestTopicMin      = 2 + 4
	fetchRequestPartitionMin  = 4 + 8 + 4
	fetchResponseTopicMin     = 2 + 4
	fetchResponsePartitionMin = 4 + 2 + 8 + 8 + 8 + 4
)

func (*FetchRequest) Key() APIKey { return Fetch }

func (r *FetchRequest) AppendTo(dst []byte) []byte {
	dst = appendInt32(dst, r.MaxWaitMs)
	dst = appendInt32(dst, r.MinBytes)
	dst = appendInt32(dst, r.MaxBytes)
	dst = appendInt8(dst, int8(r.IsolationLevel))
	return appendArray(dst, r.Topics, false, (*FetchRequestTopic).appendTo)
}

func (r *FetchRequest) DecodeFrom(body []byte) error {
	*r = FetchRequest{}
	d := decoder{b: body}
	r.MaxWaitMs = d.int32()
	r.MinBytes = d.int32()
	r.MaxBytes = d.int32()
	r.IsolationLevel = IsolationLevel(d.int8())
	r.Topics = makeArray[FetchRequestTopic](&d, fetchRequestTopicMin, false)
	for i := range r.Topics {
		r.Topics[i].decode(&d)
	}
	return d.finish(Fetch, false)
}

func (t *FetchRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendArray(dst, t.Partitions, false, (*FetchRequestPartition).appendTo)
}

func (t *FetchRequestTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[FetchRequestPartition](d, fetchRequestPartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *FetchRequestPartition) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, p.Partition)
	dst = appendInt64(dst, p.FetchOffset)
	return appendInt32(dst, p.PartitionMaxBytes)
}

func (p *FetchRequestPartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.FetchOffset = d.int64()
	p.PartitionMaxBytes = d.int32()
}

func (*FetchResponse) Key() APIKey           { return Fetch }
func (r *FetchResponse) TopError() ErrorCode { return r.ErrorCode }

// AppendTo encodes the response with its Records. It panics if a partition
// has RecordsLen but no Records: such a response can only be written with
// AppendFetchResponseFrame.
func (r *FetchResponse) AppendTo(dst []byte) []byte {
	return r.appendBody(dst, nil)
}

// appendBody encodes the body. With splices nil every partition's Records
// is written; otherwise a partition with nil Records and RecordsLen > 0
// gets its length prefix only, and a Splice at the position of the
// missing bytes.
func (r *FetchResponse) appendBody(dst []byte, splices *[]Splice) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendInt32(dst, r.ThrottleTimeMs)
	dst = appendInt32(dst, int32(len(r.Topics)))
	for ti := range r.Topics {
		t := &r.Topics[ti]
		dst = appendString(dst, t.Name)
		dst = appendInt32(dst, int32(len(t.Partitions)))
		for pi := range t.Partitions {
			p := &t.Partitions[pi]
			dst = appendInt32(dst, p.Partition)
			dst = appendInt16(dst, int16(p.ErrorCode))
			dst = appendInt64(dst, p.HighWatermark)
			dst = appendInt64(dst, p.LastStableOffset)
			dst = appendInt64(dst, p.LogStartOffset)
			if !p.spliced() {
				dst = appendBytes(dst, p.Records)
				continue
			}
			if splices == nil {
				panic("protocol: FetchResponse partition has RecordsLen but no Records; encode it with AppendFetchResponseFrame")
			}
			dst = appendInt32(dst, p.RecordsLen)
			*splices = append(*splices, Splice{At: len(dst), Topic: ti, Partition: pi, Len: p.RecordsLen})
		}
	}
	return dst
}

func (p *FetchResponsePartition) spliced() bool { return p.Records == nil && p.RecordsLen > 0 }

func (r *FetchResponse) DecodeFrom(body []byte) error {
	*r = FetchResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ThrottleTimeMs = d.int32()
		r.Topics = makeArray[FetchResponseTopic](&d, fetchResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(Fetch, true)
}

func (t *FetchResponseTopic) decode(d *decoder) {
	t.Name = d.string()
	t.Partitions = makeArray[FetchResponsePartition](d, fetchResponsePartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *FetchResponsePartition) decode(d *decoder) {
	p.Partition = d.int32()
	p.ErrorCode = d.errorCode()
	p.HighWatermark = d.int64()
	p.LastStableOffset = d.int64()
	p.LogStartOffset = d.int64()
	p.Records = d.bytes()
}
