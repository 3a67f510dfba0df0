package protocol

// CreatePartitionsRequest raises topics' partition counts. Partitions are
// only ever added: records keep the partitions they are in, so keyed
// records produced after the change may land on another partition than
// the same keys before it, as in Kafka.
type CreatePartitionsRequest struct {
	Topics []CreatePartitionsRequestTopic
	// TimeoutMs bounds how long the broker waits for the partitions to
	// be ready.
	TimeoutMs int32
	// ValidateOnly checks the request without changing anything.
	ValidateOnly bool
}

// CreatePartitionsRequestTopic asks for one topic's new total count.
type CreatePartitionsRequestTopic struct {
	Name  string
	Count int32 // the new total, above the current count
}

// CreatePartitionsResponse has one result per topic asked for.
type CreatePartitionsResponse struct {
	ErrorCode ErrorCode
	Topics    []CreatePartitionsResponseTopic
}

// CreatePartitionsResponseTopic is the outcome for one topic.
type CreatePartitionsResponseTopic struct {
	Name         string
	ErrorCode    ErrorCode
	ErrorMessage *string
}

const (
	createPartitionsRequestTopicMin  = 2 + 4
	createPartitionsResponseTopicMin = 2 + 2 + 2
)

func (*CreatePartitionsRequest) Key() APIKey { return CreatePartitions }

func (r *CreatePartitionsRequest) AppendTo(dst []byte) []byte {
	dst = appendArray(dst, r.Topics, false, (*CreatePartitionsRequestTopic).appendTo)
	dst = appendInt32(dst, r.TimeoutMs)
	return appendBool(dst, r.ValidateOnly)
}

func (r *CreatePartitionsRequest) DecodeFrom(body []byte) error {
	*r = CreatePartitionsRequest{}
	d := decoder{b: body}
	r.Topics = makeArray[CreatePartitionsRequestTopic](&d, createPartitionsRequestTopicMin, false)
	for i := range r.Topics {
		r.Topics[i].Name = d.string()
		r.Topics[i].Count = d.int32()
	}
	r.TimeoutMs = d.int32()
	r.ValidateOnly = d.bool()
	return d.finish(CreatePartitions, false)
}

func (t *CreatePartitionsRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	return appendInt32(dst, t.Count)
}

func (*CreatePartitionsResponse) Key() APIKey           { return CreatePartitions }
func (r *CreatePartitionsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *CreatePartitionsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Topics, false, (*CreatePartitionsResponseTopic).appendTo)
}

func (r *CreatePartitionsResponse) DecodeFrom(body []byte) error {
	*r = CreatePartitionsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Topics = makeArray[CreatePartitionsResponseTopic](&d, createPartitionsResponseTopicMin, false)
		for i := range r.Topics {
			t := &r.Topics[i]
			t.Name = d.string()
			t.ErrorCode = d.errorCode()
			t.ErrorMessage = d.nullableString()
		}
	}
	return d.finish(CreatePartitions, true)
}

func (t *CreatePartitionsResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	dst = appendInt16(dst, int16(t.ErrorCode))
	return appendNullableString(dst, t.ErrorMessage)
}
