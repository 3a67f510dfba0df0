package protocol

// CoordinatorKeyGroup is FindCoordinatorRequest.KeyType for a group.
const CoordinatorKeyGroup int8 = 0

// FindCoordinatorRequest asks which broker coordinates a group.
type FindCoordinatorRequest struct {
	CoordinatorKey string
	KeyType        int8
}

// FindCoordinatorResponse names the coordinator.
type FindCoordinatorResponse struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
	NodeID       int32
	Host         string
	Port         int32
}

// JoinGroupRequest joins a member to a group, or rejoins it for a new
// generation. MemberID is empty on the first join.
type JoinGroupRequest struct {
	GroupID            string
	SessionTimeoutMs   int32
	RebalanceTimeoutMs int32
	MemberID           string
	// GroupInstanceID is group.instance.id: non-null makes the member
	// static.
	GroupInstanceID *string
	ProtocolType    string
	Protocols       []JoinGroupRequestProtocol
	ClientID        string
}

// JoinGroupRequestProtocol is one assignment strategy the member supports,
// in order of preference, with its subscription metadata.
type JoinGroupRequestProtocol struct {
	Name     string
	Metadata []byte
}

// JoinGroupResponse ends the join phase for the member. Only the leader
// gets Members.
type JoinGroupResponse struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
	GenerationID int32
	ProtocolType string
	ProtocolName string
	Leader       string
	MemberID     string
	Members      []JoinGroupResponseMember
}

// JoinGroupResponseMember is one member's metadata for the chosen
// protocol.
type JoinGroupResponseMember struct {
	MemberID        string
	GroupInstanceID *string
	Metadata        []byte
}

// SyncGroupRequest waits for the generation's assignment; the leader's
// carries everyone's.
type SyncGroupRequest struct {
	GroupID         string
	GenerationID    int32
	MemberID        string
	GroupInstanceID *string
	Assignments     []SyncGroupRequestAssignment
}

// SyncGroupRequestAssignment is the leader's assignment for one member.
type SyncGroupRequestAssignment struct {
	MemberID   string
	Assignment []byte
}

// SyncGroupResponse carries the member's assignment.
type SyncGroupResponse struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
	Assignment   []byte
}

// HeartbeatRequest keeps a member's session alive.
type HeartbeatRequest struct {
	GroupID         string
	GenerationID    int32
	MemberID        string
	GroupInstanceID *string
}

// HeartbeatResponse is NONE, or REBALANCE_IN_PROGRESS (rejoin), or an
// error that ends the membership.
type HeartbeatResponse struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
}

// LeaveGroupRequest removes members from a group.
type LeaveGroupRequest struct {
	GroupID string
	Members []LeaveGroupRequestMember
}

// LeaveGroupRequestMember names a member by id, or by instance id alone.
type LeaveGroupRequestMember struct {
	MemberID        string
	GroupInstanceID *string
}

// LeaveGroupResponse has one result per member named.
type LeaveGroupResponse struct {
	ErrorCode    ErrorCode
	ErrorMessage *string
	Members      []LeaveGroupResponseMember
}

// LeaveGroupResponseMember is the outcome for one member.
type LeaveGroupResponseMember struct {
	MemberID        string
	GroupInstanceID *string
	ErrorCode       ErrorCode
}

const (
	joinGroupRequestProtocolMin   = 2 + 4
	joinGroupResponseMemberMin    = 2 + 2 + 4
	syncGroupRequestAssignmentMin = 2 + 4
	leaveGroupRequestMemberMin    = 2 + 2
	leaveGroupResponseMemberMin   = 2 + 2 + 2
)

func (*FindCoordinatorRequest) Key() APIKey { return FindCoordinator }

func (r *FindCoordinatorRequest) AppendTo(dst []byte) []byte {
	dst = appendString(dst, r.CoordinatorKey)
	return appendInt8(dst, r.KeyType)
}

func (r *FindCoordinatorRequest) DecodeFrom(body []byte) error {
	*r = FindCoordinatorRequest{}
	d := decoder{b: body}
	r.CoordinatorKey = d.string()
	r.KeyType = d.int8()
	return d.finish(FindCoordinator, false)
}

func (*FindCoordinatorResponse) Key() APIKey           { return FindCoordinator }
func (r *FindCoordinatorResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *FindCoordinatorResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendNullableString(dst, r.ErrorMessage)
	dst = appendInt32(dst, r.NodeID)
	dst = appendString(dst, r.Host)
	return appendInt32(dst, r.Port)
}

func (r *FindCoordinatorResponse) DecodeFrom(body []byte) error {
	*r = FindCoordinatorResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ErrorMessage = d.nullableString()
		r.NodeID = d.int32()
		r.Host = d.string()
		r.Port = d.int32()
	}
	return d.finish(FindCoordinator, true)
}

func (*JoinGroupRequest) Key() APIKey { return JoinGroup }

func (r *JoinGroupRequest) AppendTo(dst []byte) []byte {
	dst = appendString(dst, r.GroupID)
	dst = appendInt32(dst, r.SessionTimeoutMs)
	dst = appendInt32(dst, r.RebalanceTimeoutMs)
	dst = appendString(dst, r.MemberID)
	dst = appendNullableString(dst, r.GroupInstanceID)
	dst = appendString(dst, r.ProtocolType)
	dst = appendArray(dst, r.Protocols, false, (*JoinGroupRequestProtocol).appendTo)
	return appendString(dst, r.ClientID)
}

func (r *JoinGroupRequest) DecodeFrom(body []byte) error {
	*r = JoinGroupRequest{}
	d := decoder{b: body}
	r.GroupID = d.string()
	r.SessionTimeoutMs = d.int32()
	r.RebalanceTimeoutMs = d.int32()
	r.MemberID = d.string()
	r.GroupInstanceID = d.nullableString()
	r.ProtocolType = d.string()
	r.Protocols = makeArray[JoinGroupRequestProtocol](&d, joinGroupRequestProtocolMin, false)
	for i := range r.Protocols {
		r.Protocols[i].decode(&d)
	}
	r.ClientID = d.string()
	return d.finish(JoinGroup, false)
}

func (p *JoinGroupRequestProtocol) appendTo(dst []byte) []byte {
	dst = appendString(dst, p.Name)
	return appendBytes(dst, p.Metadata)
}

func (p *JoinGroupRequestProtocol) decode(d *decoder) {
	p.Name = d.string()
	p.Metadata = d.bytes()
}

func (*JoinGroupResponse) Key() APIKey           { return JoinGroup }
func (r *JoinGroupResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *JoinGroupResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendNullableString(dst, r.ErrorMessage)
	dst = appendInt32(dst, r.GenerationID)
	dst = appendString(dst, r.ProtocolType)
	dst = appendString(dst, r.ProtocolName)
	dst = appendString(dst, r.Leader)
	dst = appendString(dst, r.MemberID)
	return appendArray(dst, r.Members, false, (*JoinGroupResponseMember).appendTo)
}

func (r *JoinGroupResponse) DecodeFrom(body []byte) error {
	*r = JoinGroupResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ErrorMessage = d.nullableString()
		r.GenerationID = d.int32()
		r.ProtocolType = d.string()
		r.ProtocolName = d.string()
		r.Leader = d.string()
		r.MemberID = d.string()
		r.Members = makeArray[JoinGroupResponseMember](&d, joinGroupResponseMemberMin, false)
		for i := range r.Members {
			r.Members[i].decode(&d)
		}
	}
	return d.finish(JoinGroup, true)
}

func (m *JoinGroupResponseMember) appendTo(dst []byte) []byte {
	dst = appendString(dst, m.MemberID)
	dst = appendNullableString(dst, m.GroupInstanceID)
	return appendBytes(dst, m.Metadata)
}

func (m *JoinGroupResponseMember) decode(d *decoder) {
	m.MemberID = d.string()
	m.GroupInstanceID = d.nullableString()
	m.Metadata = d.bytes()
}

func (*SyncGroupRequest) Key() APIKey { return SyncGroup }

func (r *SyncGroupRequest) AppendTo(dst []byte) []byte {
	dst = appendString(dst, r.GroupID)
	dst = appendInt32(dst, r.GenerationID)
	dst = appendString(dst, r.MemberID)
	dst = appendNullableString(dst, r.GroupInstanceID)
	return appendArray(dst, r.Assignments, false, (*SyncGroupRequestAssignment).appendTo)
}

func (r *SyncGroupRequest) DecodeFrom(body []byte) error {
	*r = SyncGroupRequest{}
	d := decoder{b: body}
	r.GroupID = d.string()
	r.GenerationID = d.int32()
	r.MemberID = d.string()
	r.GroupInstanceID = d.nullableString()
	r.Assignments = makeArray[SyncGroupRequestAssignment](&d, syncGroupRequestAssignmentMin, false)
	for i := range r.Assignments {
		r.Assignments[i].decode(&d)
	}
	return d.finish(SyncGroup, false)
}

func (a *SyncGroupRequestAssignment) appendTo(dst []byte) []byte {
	dst = appendString(dst, a.MemberID)
	return appendBytes(dst, a.Assignment)
}

func (a *SyncGroupRequestAssignment) decode(d *decoder) {
	a.MemberID = d.string()
	a.Assignment = d.bytes()
}

func (*SyncGroupResponse) Key() APIKey           { return SyncGroup }
func (r *SyncGroupResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *SyncGroupResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendNullableString(dst, r.ErrorMessage)
	return appendBytes(dst, r.Assignment)
}

func (r *SyncGroupResponse) DecodeFrom(body []byte) error {
	*r = SyncGroupResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ErrorMessage = d.nullableString()
		r.Assignment = d.bytes()
	}
	return d.finish(SyncGroup, true)
}

func (*HeartbeatRequest) Key() APIKey { return Heartbeat }

func (r *HeartbeatRequest) AppendTo(dst []byte) []byte {
	dst = appendString(dst, r.GroupID)
	dst = appendInt32(dst, r.GenerationID)
	dst = appendString(dst, r.MemberID)
	return appendNullableString(dst, r.GroupInstanceID)
}

func (r *HeartbeatRequest) DecodeFrom(body []byte) error {
	*r = HeartbeatRequest{}
	d := decoder{b: body}
	r.GroupID = d.string()
	r.GenerationID = d.int32()
	r.MemberID = d.string()
	r.GroupInstanceID = d.nullableString()
	return d.finish(Heartbeat, false)
}

func (*HeartbeatResponse) Key() APIKey           { return Heartbeat }
func (r *HeartbeatResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *HeartbeatResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	return appendNullableString(dst, r.ErrorMessage)
}

func (r *HeartbeatResponse) DecodeFrom(body []byte) error {
	*r = HeartbeatResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ErrorMessage = d.nullableString()
	}
	return d.finish(Heartbeat, true)
}

func (*LeaveGroupRequest) Key() APIKey { return LeaveGroup }

func (r *LeaveGroupRequest) AppendTo(dst []byte) []byte {
	dst = appendString(dst, r.GroupID)
	return appendArray(dst, r.Members, false, (*LeaveGroupRequestMember).appendTo)
}

func (r *LeaveGroupRequest) DecodeFrom(body []byte) error {
	*r = LeaveGroupRequest{}
	d := decoder{b: body}
	r.GroupID = d.string()
	r.Members = makeArray[LeaveGroupRequestMember](&d, leaveGroupRequestMemberMin, false)
	for i := range r.Members {
		r.Members[i].decode(&d)
	}
	return d.finish(LeaveGroup, false)
}

func (m *LeaveGroupRequestMember) appendTo(dst []byte) []byte {
	dst = appendString(dst, m.MemberID)
	return appendNullableString(dst, m.GroupInstanceID)
}

func (m *LeaveGroupRequestMember) decode(d *decoder) {
	m.MemberID = d.string()
	m.GroupInstanceID = d.nullableString()
}

func (*LeaveGroupResponse) Key() APIKey           { return LeaveGroup }
func (r *LeaveGroupResponse) TopError() ErrorCode { return r.ErrorCode }

func (r *LeaveGroupResponse) AppendTo(dst []byte) []byte {
	dst = appendInt16(dst, int16(r.ErrorCode))
	dst = appendNullableString(dst, r.ErrorMessage)
	return appendArray(dst, r.Members, false, (*LeaveGroupResponseMember).appendTo)
}

func (r *LeaveGroupResponse) DecodeFrom(body []byte) error {
	*r = LeaveGroupResponse{}
	d := decoder{b: body}
	if r.ErrorCode = d.errorCode(); d.more() {
		r.ErrorMessage = d.nullableString()
		r.Members = makeArray[LeaveGroupResponseMember](&d, leaveGroupResponseMemberMin, false)
		for i := range r.Members {
			r.Members[i].decode(&d)
		}
	}
	return d.finish(LeaveGroup, true)
}

func (m *LeaveGroupResponseMember) appendTo(dst []byte) []byte {
	dst = appendString(dst, m.MemberID)
	dst = appendNullableString(dst, m.GroupInstanceID)
	return appendInt16(dst, int16(m.ErrorCode))
}

func (m *LeaveGroupResponseMember) decode(d *decoder) {
	m.MemberID = d.string()
	m.GroupInstanceID = d.nullableString()
	m.ErrorCode = d.errorCode()
}
