package protocol

// DescribeClusterRequest asks for the cluster's brokers, fenced ones
// included, and its controller (Kafka's DescribeCluster, whose key it uses).
type DescribeClusterRequest struct{}

// DescribeClusterResponse describes the cluster as the answering broker's
// metadata image has it.
type DescribeClusterResponse struct {
	ErrorCode ErrorCode
	ClusterID string
	// ControllerID is the active controller (the quorum's leader), -1
	// while none is known.
	ControllerID int32
	Brokers      []DescribeClusterBroker
}

// DescribeClusterBroker is one registered broker, live or fenced.
type DescribeClusterBroker struct {
	NodeID int32
	Host   string // its SLUICE listener; empty if it has none
	Port   int32
	// Fenced is true when the broker missed its heartbeats for a session
	// timeout: it leads nothing and clients are not sent to it.
	Fenced bool
}

const describeClusterBrokerMin = 4 + 2 + 4 + 1

func (*DescribeClusterRequest) Key() APIKey { return DescribeCluster }

func (r *DescribeClusterRequest) AppendTo(dst []byte) []byte { return dst }

func (r *DescribeClusterRequest) DecodeFrom(body []byte) error {
	d := decoder{b: body}
	return d.finish(DescribeCluster, false)
}

func (*DescribeClusterResponse) Key() APIKey           { return DescribeCluster }
func (r *DescribeClusterResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *DescribeClusterResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendString(dst, r.ClusterID)
	dst = appendInt32(dst, r.ControllerID)
	return appendArray(dst, r.Brokers, false, (*DescribeClusterBroker).appendTo)
}

func (r *DescribeClusterResponse) DecodeFrom(body []byte) error {
	*r = DescribeClusterResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ClusterID = d.string()
		r.ControllerID = d.int32()
		r.Brokers = makeArray[DescribeClusterBroker](&d, describeClusterBrokerMin, false)
		for i := range r.Brokers {
			r.Brokers[i].decode(&d)
		}
	}
	return d.finish(DescribeCluster, true)
}

func (b *DescribeClusterBroker) appendTo(dst []byte) []byte {
	dst = appendInt32(dst, b.NodeID)
	dst = appendString(dst, b.Host)
	dst = appendInt32(dst, b.Port)
	return appendBool(dst, b.Fenced)
}

func (b *DescribeClusterBroker) decode(d *decoder) {
	b.NodeID = d.int32()
	b.Host = d.string()
	b.Port = d.int32()
	b.Fenced = d.bool()
}
