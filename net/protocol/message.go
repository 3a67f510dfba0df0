package protocol

// Request is the body of a request frame. Each API has one request type,
// named after it (*ProduceRequest, *FetchRequest, ...), whose AppendTo and
// DecodeFrom are exact inverses.
type Request interface {
	// Key is the API the request belongs to.
	Key() APIKey
	// AppendTo appends the encoded body to dst and returns the result.
	AppendTo(dst []byte) []byte
	// DecodeFrom replaces the request's contents with the body's. It
	// fails, wrapping ErrMalformed, unless the body is exactly one valid
	// encoding. Byte fields (Produce records) are sub-slices of body, not
	// copies: they are valid while body is.
	DecodeFrom(body []byte) error
}

// Response is the body of a response frame. Every response body starts with
// an int16 error code for the request as a whole: a body holding only that
// code decodes into a response with every other field zero, which is how a
// server answers a request it could not decode or does not implement.
type Response interface {
	// Key is the API the response belongs to.
	Key() APIKey
	// AppendTo appends the encoded body to dst and returns the result.
	AppendTo(dst []byte) []byte
	// DecodeFrom replaces the response's contents with the body's, with
	// the same rules as Request.DecodeFrom. Byte fields (Fetch records)
	// are sub-slices of body.
	DecodeFrom(body []byte) error
	// TopError is the top-level error code: the first field of the body.
	TopError() ErrorCode
}

// NewRequest returns an empty request of the API, ready for DecodeFrom, or
// false if this package does not implement the key. A server dispatches on
// it:
//
//	req, ok := protocol.NewRequest(hdr.APIKey)
func NewRequest(key APIKey) (Request, bool) {
	switch key {
	case Produce:
		return new(ProduceRequest), true
	case Fetch:
		return new(FetchRequest), true
	case ListOffsets:
		return new(ListOffsetsRequest), true
	case Metadata:
		return new(MetadataRequest), true
	case APIVersions:
		return new(APIVersionsRequest), true
	case CreateTopics:
		return new(CreateTopicsRequest), true
	case DeleteTopics:
		return new(DeleteTopicsRequest), true
	case DeleteRecords:
		return new(DeleteRecordsRequest), true
	case CreatePartitions:
		return new(CreatePartitionsRequest), true
	case InitProducerID:
		return new(InitProducerIDRequest), true
	case OffsetForLeaderEpoch:
		return new(OffsetForLeaderEpochRequest), true
	case DescribeConfigs:
		return new(DescribeConfigsRequest), true
	case AlterConfigs:
		return new(AlterConfigsRequest), true
	case DescribeCluster:
		return new(DescribeClusterRequest), true
	case OffsetCommit:
		return new(OffsetCommitRequest), true
	case OffsetFetch:
		return new(OffsetFetchRequest), true
	case FindCoordinator:
		return new(FindCoordinatorRequest), true
	case JoinGroup:
		return new(JoinGroupRequest), true
	case Heartbeat:
		return new(HeartbeatRequest), true
	case LeaveGroup:
		return new(LeaveGroupRequest), true
	case SyncGroup:
		return new(SyncGroupRequest), true
	case DescribeGroups:
		return new(DescribeGroupsRequest), true
	case ListGroups:
		return new(ListGroupsRequest), true
	case DeleteGroups:
		return new(DeleteGroupsRequest), true
	}
	return nil, false
}

// NewResponse returns an empty response of the API, ready for DecodeFrom,
// or false if this package does not implement the key. Response frames do
// not carry the key: a client knows it from the request it sent.
func NewResponse(key APIKey) (Response, bool) {
	switch key {
	case Produce:
		return new(ProduceResponse), true
	case Fetch:
		return new(FetchResponse), true
	case ListOffsets:
		return new(ListOffsetsResponse), true
	case Metadata:
		return new(MetadataResponse), true
	case APIVersions:
		return new(APIVersionsResponse), true
	case CreateTopics:
		return new(CreateTopicsResponse), true
	case DeleteTopics:
		return new(DeleteTopicsResponse), true
	case DeleteRecords:
		return new(DeleteRecordsResponse), true
	case CreatePartitions:
		return new(CreatePartitionsResponse), true
	case InitProducerID:
		return new(InitProducerIDResponse), true
	case OffsetForLeaderEpoch:
		return new(OffsetForLeaderEpochResponse), true
	case DescribeConfigs:
		return new(DescribeConfigsResponse), true
	case AlterConfigs:
		return new(AlterConfigsResponse), true
	case DescribeCluster:
		return new(DescribeClusterResponse), true
	case OffsetCommit:
		return new(OffsetCommitResponse), true
	case OffsetFetch:
		return new(OffsetFetchResponse), true
	case FindCoordinator:
		return new(FindCoordinatorResponse), true
	case JoinGroup:
		return new(JoinGroupResponse), true
	case Heartbeat:
		return new(HeartbeatResponse), true
	case LeaveGroup:
		return new(LeaveGroupResponse), true
	case SyncGroup:
		return new(SyncGroupResponse), true
	case DescribeGroups:
		return new(DescribeGroupsResponse), true
	case ListGroups:
		return new(ListGroupsResponse), true
	case DeleteGroups:
		return new(DeleteGroupsResponse), true
	}
	return nil, false
}
