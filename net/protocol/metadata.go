package protocol

// MetadataRequest asks for the brokers and for topics' partitions.
type MetadataRequest struct {
	// Topics to describe. nil (a null array on the wire) asks for every
	// topic; an empty, non-nil slice asks for none (brokers only).
	Topics []string
	// AllowAutoTopicCreation lets the broker create missing topics when
	// its auto.create.topics.enable is on.
	AllowAutoTopicCreation bool
}

// MetadataResponse describes the cluster and the topics asked for.
type MetadataResponse struct {
	ErrorCode    ErrorCode
	Brokers      []MetadataResponseBroker
	ControllerID int32
	Topics       []MetadataResponseTopic
}

// MetadataResponseBroker is one broker and where to reach it.
type MetadataResponseBroker struct {
	NodeID int32
	Host   string
	Port   int32
}

// MetadataResponseTopic describes one topic, or says why it could not
// (UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION, ...).
type MetadataResponseTopic struct {
	ErrorCode  ErrorCode
	Name       string
	TopicID    [16]byte
	Partitions []MetadataResponsePartition
}

// MetadataResponsePartition describes one partition's replicas.
type MetadataResponsePartition struct {
	ErrorCode   ErrorCode
	Partition   int32
	Leader      int32
	LeaderEpoch int32
	Replicas    []int32
	ISR         []int32
}

const (
	metadataResponseBrokerMin    = 4 + 2 + 4
	metadataResponseTopicMin     = 2 + 2 + 16 + 4
	metadataResponsePartitionMin = 2 + 4 + 4 + 4 + 4 + 4
)

func (*MetadataRequest) Key() APIKey { return Metadata }

func (r *MetadataRequest) AppendTo(dst []byte) []byte {
	dst = appendStrings(dst, r.Topics, true)
	return appendBool(dst, r.AllowAutoTopicCreation)
}

func (r *MetadataRequest) DecodeFrom(body []byte) error {
	*r = MetadataRequest{}
	d := decoder{b: body}
	r.Topics = d.strings(true)
	r.AllowAutoTopicCreation = d.bool()
	return d.finish(Metadata, false)
}

func (*MetadataResponse) Key() APIKey           { return Metadata }
func (r *MetadataResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *MetadataResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendArray(dst, r.Brokers, false, (*MetadataResponseBroker).appendTo)
	dst = appendInt32(dst, r.ControllerID)
	return appendArray(dst, r.Topics, false, (*MetadataResponseTopic).appendTo)
}

func (r *MetadataResponse) DecodeFrom(body []byte) error {
	*r = MetadataResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Brokers = makeArray[MetadataResponseBroker](&d, metadataResponseBrokerMin, false)
		for i := range r.Brokers {
			r.Brokers[i].decode(&d)
		}
		r.ControllerID = d.int32()
		r.Topics = makeArray[MetadataResponseTopic](&d, metadataResponseTopicMin, false)
		for i := range r.Topics {
			r.Topics[i].decode(&d)
		}
	}
	return d.finish(Metadata, true)
}

func (b *MetadataResponseBroker) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, b.NodeID)
	dst = appendString(dst, b.Host)
	return appendInt32(dst, b.Port)
}

func (b *MetadataResponseBroker) decode(d *decoder) {
	b.NodeID = d.int32()
	b.Host = d.string()
	b.Port = d.int32()
}

func (t *MetadataResponseTopic) appendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(t.ErrorCode))
	dst = appendString(dst, t.Name)
	dst = appendUUID(dst, t.TopicID)
	return appendArray(dst, t.Partitions, false, (*MetadataResponsePartition).appendTo)
}

func (t *MetadataResponseTopic) decode(d *decoder) {
	t.ErrorCode = d.errorCode()
	t.Name = d.string()
	t.TopicID = d.uuid()
	t.Partitions = makeArray[MetadataResponsePartition](d, metadataResponsePartitionMin, false)
	for i := range t.Partitions {
		t.Partitions[i].decode(d)
	}
}

func (p *MetadataResponsePartition) appendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(p.ErrorCode))
	dst = appendInt32(dst, p.Partition)
	dst = appendInt32(dst, p.Leader)
	dst = appendInt32(dst, p.LeaderEpoch)
	dst = appendInt32s(dst, p.Replicas)
	return appendInt32s(dst, p.ISR)
}

func (p *MetadataResponsePartition) decode(d *decoder) {
	p.ErrorCode = d.errorCode()
	p.Partition = d.int32()
	p.Leader = d.int32()
	p.LeaderEpoch = d.int32()
	p.Replicas = d.int32s()
	p.ISR = d.int32s()
}
