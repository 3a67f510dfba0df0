package protocol

// ListGroupsRequest lists the groups the broker coordinates. It has no
// fields.
type ListGroupsRequest struct{}

// ListGroupsResponse has one entry per group.
type ListGroupsResponse struct {
	ErrorCode ErrorCode
	Groups    []ListGroupsResponseGroup
}

// ListGroupsResponseGroup is one group: its id, protocol type ("consumer"
// for consumer groups; empty for a group with only committed offsets) and
// state (Kafka's names: Empty, PreparingRebalance, CompletingRebalance,
// Stable, Dead).
type ListGroupsResponseGroup struct {
	GroupID      string
	ProtocolType string
	State        string
}

// DescribeGroupsRequest describes groups by id.
type DescribeGroupsRequest struct {
	Groups []string
}

// DescribeGroupsResponse has one result per group asked for.
type DescribeGroupsResponse struct {
	ErrorCode ErrorCode
	Groups    []DescribeGroupsResponseGroup
}

// DescribeGroupsResponseGroup is one group. An unknown group is "Dead" with
// no members, as in Kafka.
type DescribeGroupsResponseGroup struct {
	ErrorCode    ErrorCode
	GroupID      string
	State        string
	ProtocolType string
	Protocol     string
	GenerationID int32
	Leader       string
	Members      []DescribeGroupsResponseMember
}

// DescribeGroupsResponseMember is one member with its subscription
// metadata and assignment, opaque to the broker (for protocol type
// "consumer", a [ConsumerSubscription] and a [ConsumerAssignment]).
type DescribeGroupsResponseMember struct {
	MemberID        string
	GroupInstanceID *string
	ClientID        string
	ClientHost      string
	Metadata        []byte
	Assignment      []byte
}

// DeleteGroupsRequest deletes groups that have no members, with their
// committed offsets.
type DeleteGroupsRequest struct {
	Groups []string
}

// DeleteGroupsResponse has one result per group.
type DeleteGroupsResponse struct {
	ErrorCode ErrorCode
	Results   []DeleteGroupsResponseResult
}

// DeleteGroupsResponseResult is the outcome for one group.
type DeleteGroupsResponseResult struct {
	GroupID   string
	ErrorCode ErrorCode
}

const (
	listGroupsResponseGroupMin      = 2 + 2 + 2
	describeGroupsResponseGroupMin  = 2 + 2 + 2 + 2 + 2 + 4 + 2 + 4
	describeGroupsResponseMemberMin = 2 + 2 + 2 + 2 + 4 + 4
	deleteGroupsResponseResultMin   = 2 + 2
)

func (*ListGroupsRequest) Key() APIKey                { return ListGroups }
func (*ListGroupsRequest) AppendTo(dst []byte) []byte { return dst }

func (r *ListGroupsRequest) DecodeFrom(body []byte) error {
	d := decoder{b: body}
	return d.finish(ListGroups, false)
}

func (*ListGroupsResponse) Key() APIKey           { return ListGroups }
func (r *ListGroupsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *ListGroupsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Groups, false, (*ListGroupsResponseGroup).appendTo)
}

func (r *ListGroupsResponse) DecodeFrom(body []byte) error {
	*r = ListGroupsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Groups = makeArray[ListGroupsResponseGroup](&d, listGroupsResponseGroupMin, false)
		for i := range r.Groups {
			r.Groups[i].decode(&d)
		}
	}
	return d.finish(ListGroups, true)
}

func (g *ListGroupsResponseGroup) appendTo(dst []byte) []byte {
	dst = appendString(dst, g.GroupID)
	dst = appendString(dst, g.ProtocolType)
	return appendString(dst, g.State)
}

func (g *ListGroupsResponseGroup) decode(d *decoder) {
	g.GroupID = d.string()
	g.ProtocolType = d.string()
	g.State = d.string()
}

func (*DescribeGroupsRequest) Key() APIKey { return DescribeGroups }

func (r *DescribeGroupsRequest) AppendTo(dst []byte) []byte {
	return appendStrings(dst, r.Groups, false)
}

func (r *DescribeGroupsRequest) DecodeFrom(body []byte) error {
	*r = DescribeGroupsRequest{}
	d := decoder{b: body}
	r.Groups = d.strings(false)
	return d.finish(DescribeGroups, false)
}

func (*DescribeGroupsResponse) Key() APIKey           { return DescribeGroups }
func (r *DescribeGroupsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *DescribeGroupsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Groups, false, (*DescribeGroupsResponseGroup).appendTo)
}

func (r *DescribeGroupsResponse) DecodeFrom(body []byte) error {
	*r = DescribeGroupsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Groups = makeArray[DescribeGroupsResponseGroup](&d, describeGroupsResponseGroupMin, false)
		for i := range r.Groups {
			r.Groups[i].decode(&d)
		}
	}
	return d.finish(DescribeGroups, true)
}

func (g *DescribeGroupsResponseGroup) appendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(g.ErrorCode))
	dst = appendString(dst, g.GroupID)
	dst = appendString(dst, g.State)
	dst = appendString(dst, g.ProtocolType)
	dst = appendString(dst, g.Protocol)
	dst = appendInt32(dst, g.GenerationID)
	dst = appendString(dst, g.Leader)
	return appendArray(dst, g.Members, false, (*DescribeGroupsResponseMember).appendTo)
}

func (g *DescribeGroupsResponseGroup) decode(d *decoder) {
	g.ErrorCode = d.errorCode()
	g.GroupID = d.string()
	g.State = d.string()
	g.ProtocolType = d.string()
	g.Protocol = d.string()
	g.GenerationID = d.int32()
	g.Leader = d.string()
	g.Members = makeArray[DescribeGroupsResponseMember](d, describeGroupsResponseMemberMin, false)
	for i := range g.Members {
		g.Members[i].decode(d)
	}
}

func (m *DescribeGroupsResponseMember) appendTo(dst []byte) []byte {
	dst = appendString(dst, m.MemberID)
	dst = appendNullableString(dst, m.GroupInstanceID)
	dst = appendString(dst, m.ClientID)
	dst = appendString(dst, m.ClientHost)
	dst = appendBytes(dst, m.Metadata)
	return appendBytes(dst, m.Assignment)
}

func (m *DescribeGroupsResponseMember) decode(d *decoder) {
	m.MemberID = d.string()
	m.GroupInstanceID = d.nullableString()
	m.ClientID = d.string()
	m.ClientHost = d.string()
	m.Metadata = d.bytes()
	m.Assignment = d.bytes()
}

func (*DeleteGroupsRequest) Key() APIKey { return DeleteGroups }

func (r *DeleteGroupsRequest) AppendTo(dst []byte) []byte {
	return appendStrings(dst, r.Groups, false)
}

func (r *DeleteGroupsRequest) DecodeFrom(body []byte) error {
	*r = DeleteGroupsRequest{}
	d := decoder{b: body}
	r.Groups = d.strings(false)
	return d.finish(DeleteGroups, false)
}

func (*DeleteGroupsResponse) Key() APIKey           { return DeleteGroups }
func (r *DeleteGroupsResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *DeleteGroupsResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendArray(dst, r.Results, false, (*DeleteGroupsResponseResult).appendTo)
}

func (r *DeleteGroupsResponse) DecodeFrom(body []byte) error {
	*r = DeleteGroupsResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.Results = makeArray[DeleteGroupsResponseResult](&d, deleteGroupsResponseResultMin, false)
		for i := range r.Results {
			r.Results[i].decode(&d)
		}
	}
	return d.finish(DeleteGroups, true)
}

func (g *DeleteGroupsResponseResult) appendTo(dst []byte) []byte {
	dst = appendString(dst, g.GroupID)
	return appendInt16(dst, int16(g.ErrorCode))
}

func (g *DeleteGroupsResponseResult) decode(d *decoder) {
	g.GroupID = d.string()
	g.ErrorCode = d.errorCode()
}
