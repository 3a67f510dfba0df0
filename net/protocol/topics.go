package protocol

// CreateTopicsRequest creates topics.
type CreateTopicsRequest struct {
	Topics []CreateTopicsRequestTopic
	// TimeoutMs bounds how long the broker waits for the topics to be
	// ready before it answers REQUEST_TIMED_OUT for them.
	TimeoutMs int32
	// ValidateOnly checks the request without creating anything.
	ValidateOnly bool
}

// CreateTopicsRequestTopic is one topic to create.
type CreateTopicsRequestTopic struct {
	Name string
	// NumPartitions is -1 for the broker's num.partitions.
	NumPartitions int32
	// ReplicationFactor is -1 for the broker's default.replication.factor.
	ReplicationFactor int16
	// Configs are topic-level overrides, with Kafka's names
	// (retention.ms, segment.bytes, ...).
	Configs []CreateTopicsRequestConfig
}

// CreateTopicsRequestConfig is one topic config. A nil Value leaves the
// config at its default.
type CreateTopicsRequestConfig struct {
	Name  string
	Value *string
}

// CreateTopicsResponse has one result per topic asked for.
type CreateTopicsResponse struct {
	ErrorCode ErrorCode
	Topics    []CreateTopicsResponseTopic
}

// CreateTopicsResponseTopic is the outcome for one topic, with the
// partition count and replication factor it got (or would get, under
// ValidateOnly).
type CreateTopicsResponseTopic struct {
	Name              string
	ErrorCode         ErrorCode
	ErrorMessage      *string
	NumPartitions     int32
	ReplicationFactor int16
}

// DeleteTopicsRequest deletes topics by name.
type DeleteTopicsRequest struct {
	Names     []string
	TimeoutMs int32
}

// DeleteTopicsResponse has one result per name asked for.
type DeleteTopicsResponse struct {
	ErrorCode ErrorCode
	Topics    []DeleteTopicsResponseTopic
}

// DeleteTopicsResponseTopic is the outcome for one topic.
type DeleteTopicsResponseTopic struct {
	Name         string
	ErrorCode    ErrorCode
	ErrorMessage *string
}

const (
	createTopicsRequestTopicMin  = 2 + 4 + 2 + 4
	createTopicsRequestConfigMin = 2 + 2
	createTopicsResponseTopicMin = 2 + 2 + 2 + 4 + 2
	deleteTopicsResponseTopicMin = 2 + 2 + 2
)

func (*CreateTopicsRequest) Key() APIKey { return CreateTopics }

func (r *CreateTopicsRequest) AppendTo(dst []byte) []byte {
	dst = appendArray(dst, r.Topics, false, (*CreateTopicsRequestTopic).appendTo)
	dst = appendInt32(dst, r.TimeoutMs)
	return appendBool(dst, r.ValidateOnly)
}

func (r *CreateTopicsRequest) DecodeFrom(body []byte) error {
	*r = CreateTopicsRequest{}
	d := decoder{b: body}
	r.Topics = makeArray[CreateTopicsRequestTopic](&d, createTopicsRequestTopicMin, false)
	for i := range r.Topics {
		r.Topics[i].decode(&d)
	}
	r.TimeoutMs = d.int32()
	r.ValidateOnly = d.bool()
	return d.finish(CreateTopics, false)
}

func (t *CreateTopicsRequestTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	dst = appendInt32(dst, t.NumPartitions)
	dst = appendInt16(dst, t.ReplicationFactor)
	return appendArray(dst, t.Configs, false, (*CreateTopicsRequestConfig).appendTo)
}

func (t *CreateTopicsRequestTopic) decode(d *decoder) {
	t.Name = d.string()
	t.NumPartitions = d.int32()
	t.ReplicationFactor = d.int16()
	t.Configs = makeArray[CreateTopicsRequestConfig](d, createTopicsRequestConfigMin, false)
	for i := range t.Configs {
		t.Configs[i].decode(d)
	}
}

func (c *CreateTopicsRequestConfig) appendTo(dst []byte) []byte {
	dst = appendString(dst, c.Name)
	return appendNullableString(dst, c.Value)
}

func (c *CreateTopicsRequestConfig) decode(d *decoder) {
	c.Name = d.string()
	c.Value = d.nullableString()
}

func (*CreateTopicsResponse) Key() APIKey           { return CreateTopics }
func (r *CreateTopicsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *CreateTopicsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Topics, false, (*CreateTopicsResponseTopic).appendTo)
}

func (r *CreateTopicsResponse) DecodeFrom(body []byte) error {
	*r = CreateTopicsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Topics = makeArray[CreateTopicsResponseTopic](&d, createTopicsResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(CreateTopics, true)
}

func (t *CreateTopicsResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	dst = appendInt16(dst, int16(t.ErrorCode))
	dst = appendNullableString(dst, t.ErrorMessage)
	dst = appendInt32(dst, t.NumPartitions)
	return appendInt16(dst, t.ReplicationFactor)
}

func (t *CreateTopicsResponseTopic) decode(d *decoder) {
	t.Name = d.string()
	t.ErrorCode = d.errorCode()
	t.ErrorMessage = d.nullableString()
	t.NumPartitions = d.int32()
	t.ReplicationFactor = d.int16()
}

func (*DeleteTopicsRequest) Key() APIKey { return DeleteTopics }

func (r *DeleteTopicsRequest) AppendTo(dst []byte) []byte {
	dst = appendStrings(dst, r.Names, false)
	return appendInt32(dst, r.TimeoutMs)
}

func (r *DeleteTopicsRequest) DecodeFrom(body []byte) error {
	*r = DeleteTopicsRequest{}
	d := decoder{b: body}
	r.Names = d.strings(false)
	r.TimeoutMs = d.int32()
	return d.finish(DeleteTopics, false)
}

func (*DeleteTopicsResponse) Key() APIKey           { return DeleteTopics }
func (r *DeleteTopicsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *DeleteTopicsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Topics, false, (*DeleteTopicsResponseTopic).appendTo)
}

func (r *DeleteTopicsResponse) DecodeFrom(body []byte) error {
	*r = DeleteTopicsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Topics = makeArray[DeleteTopicsResponseTopic](&d, deleteTopicsResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(DeleteTopics, true)
}

func (t *DeleteTopicsResponseTopic) appendTo(dst []byte) []byte {
	dst = appendString(dst, t.Name)
	dst = appendInt16(dst, int16(t.ErrorCode))
	return appendNullableString(dst, t.ErrorMessage)
}

func (t *DeleteTopicsResponseTopic) decode(d *decoder) {
	t.Name = d.string()
	t.ErrorCode = d.errorCode()
	t.ErrorMessage = d.nullableString()
}
