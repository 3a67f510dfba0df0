package server

import (
	"context"
	"net"
	"sort"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/request"
)

// The group APIs translate between the wire messages and the coordinator
// (engine/group), which knows no wire format. JoinGroup and SyncGroup block
// the connection until their rebalance phase completes: clients send them on
// a connection of their own (docs/PROTOCOL.md, "Consumer groups"). A server
// shutting down ends the wait with COORDINATOR_NOT_AVAILABLE.

// groupCode maps a coordinator or engine error onto Kafka's code.
func groupCode(err error) protocol.ErrorCode {
	return protocol.ErrorCode(request.GroupCodeOf(err))
}

func ms(v int32) time.Duration { return time.Duration(v) * time.Millisecond }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) findCoordinator(r *protocol.FindCoordinatorRequest) *protocol.FindCoordinatorResponse {
	b, err := s.h.FindCoordinator(request.ListenerNative, r.KeyType, r.CoordinatorKey)
	return &protocol.FindCoordinatorResponse{ErrorCode: errorCode(err), ErrorMessage: message(err), NodeID: b.ID, Host: b.Host, Port: b.Port}
}

func (s *Server) joinGroup(c *conn, r *protocol.JoinGroupRequest) *protocol.JoinGroupResponse {
	req := group.JoinRequest{
		Group: r.GroupID, MemberID: r.MemberID, InstanceID: deref(r.GroupInstanceID),
		ClientID: r.ClientID, ClientHost: remoteHost(c.nc), Family: group.FamilyNative,
		ProtocolType: r.ProtocolType, SessionTimeout: ms(r.SessionTimeoutMs), RebalanceTimeout: ms(r.RebalanceTimeoutMs),
	}
	for _, p := range r.Protocols {
		req.Protocols = append(req.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	res, err := s.groups.JoinGroup(c.ctx, req)
	resp := &protocol.JoinGroupResponse{ErrorCode: groupCode(err), ErrorMessage: message(err), GenerationID: -1, MemberID: res.MemberID}
	if err != nil {
		return resp
	}
	resp.GenerationID, resp.ProtocolType, resp.ProtocolName, resp.Leader = res.Generation, res.ProtocolType, res.Protocol, res.Leader
	for _, m := range res.Members {
		resp.Members = append(resp.Members, protocol.JoinGroupResponseMember{MemberID: m.MemberID,
			GroupInstanceID: nonEmpty(m.InstanceID), Metadata: m.Metadata})
	}
	return resp
}

func remoteHost(nc net.Conn) string {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return "/" + a.IP.String()
	}
	return nc.RemoteAddr().String()
}

func (s *Server) syncGroup(c *conn, r *protocol.SyncGroupRequest) *protocol.SyncGroupResponse {
	req := group.SyncRequest{Group: r.GroupID, Generation: r.GenerationID, MemberID: r.MemberID, InstanceID: deref(r.GroupInstanceID)}
	for _, a := range r.Assignments {
		req.Assignments = append(req.Assignments, group.MemberAssignment{MemberID: a.MemberID, Assignment: a.Assignment})
	}
	if r.GenerationID < 0 {
		return &protocol.SyncGroupResponse{ErrorCode: protocol.ErrIllegalGeneration, ErrorMessage: new("SyncGroup needs the generation JoinGroup gave")}
	}
	a, err := s.groups.SyncGroup(c.ctx, req)
	if a == nil && err == nil {
		a = []byte{}
	}
	return &protocol.SyncGroupResponse{ErrorCode: groupCode(err), ErrorMessage: message(err), Assignment: a}
}

func (s *Server) heartbeat(r *protocol.HeartbeatRequest) *protocol.HeartbeatResponse {
	err := s.groups.Heartbeat(r.GroupID, r.GenerationID, r.MemberID, deref(r.GroupInstanceID))
	return &protocol.HeartbeatResponse{ErrorCode: groupCode(err), ErrorMessage: message(err)}
}

func (s *Server) leaveGroup(r *protocol.LeaveGroupRequest) *protocol.LeaveGroupResponse {
	members := make([]group.LeaveMember, len(r.Members))
	for i, m := range r.Members {
		members[i] = group.LeaveMember{MemberID: m.MemberID, InstanceID: deref(m.GroupInstanceID)}
	}
	errs, err := s.groups.LeaveGroup(r.GroupID, members)
	resp := &protocol.LeaveGroupResponse{ErrorCode: groupCode(err), ErrorMessage: message(err)}
	if err != nil {
		return resp
	}
	for i, m := range r.Members {
		resp.Members = append(resp.Members, protocol.LeaveGroupResponseMember{MemberID: m.MemberID,
			GroupInstanceID: m.GroupInstanceID, ErrorCode: groupCode(errs[i])})
	}
	return resp
}

func (s *Server) offsetCommit(r *protocol.OffsetCommitRequest) *protocol.OffsetCommitResponse {
	req := group.CommitRequest{Group: r.GroupID, Generation: r.GenerationID, MemberID: r.MemberID, InstanceID: deref(r.GroupInstanceID)}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			req.Offsets = append(req.Offsets, engine.OffsetCommit{
				TopicPartition: engine.TopicPartition{Topic: t.Name, Partition: p.Partition},
				Offset:         p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: deref(p.Metadata),
			})
		}
	}
	errs, err := s.groups.CommitOffsets(req)
	resp := &protocol.OffsetCommitResponse{ErrorCode: groupCode(err), ErrorMessage: message(err)}
	if err != nil {
		return resp
	}
	i := 0
	for _, t := range r.Topics {
		rt := protocol.OffsetCommitResponseTopic{Name: t.Name}
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, protocol.OffsetCommitResponsePartition{Partition: p.Partition, ErrorCode: groupCode(errs[i])})
			i++
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (s *Server) offsetFetch(r *protocol.OffsetFetchRequest) *protocol.OffsetFetchResponse {
	offs, err := s.groups.FetchOffsets(r.GroupID)
	if err != nil {
		return &protocol.OffsetFetchResponse{ErrorCode: groupCode(err), ErrorMessage: message(err)}
	}
	resp := &protocol.OffsetFetchResponse{}
	entry := func(tp engine.TopicPartition) protocol.OffsetFetchResponsePartition {
		c, ok := offs[tp]
		if !ok {
			return protocol.OffsetFetchResponsePartition{Partition: tp.Partition, Offset: -1, LeaderEpoch: -1, CommitTimestamp: -1}
		}
		return protocol.OffsetFetchResponsePartition{Partition: tp.Partition, Offset: c.Offset, LeaderEpoch: c.LeaderEpoch,
			Metadata: &c.Metadata, CommitTimestamp: c.CommitTime.UnixMilli()}
	}
	if r.Topics == nil {
		for _, tp := range sortedTPs(offs) {
			if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Name != tp.Topic {
				resp.Topics = append(resp.Topics, protocol.OffsetFetchResponseTopic{Name: tp.Topic})
			}
			t := &resp.Topics[len(resp.Topics)-1]
			t.Partitions = append(t.Partitions, entry(tp))
		}
		return resp
	}
	for _, t := range r.Topics {
		rt := protocol.OffsetFetchResponseTopic{Name: t.Name}
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, entry(engine.TopicPartition{Topic: t.Name, Partition: p}))
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func sortedTPs(m map[engine.TopicPartition]engine.CommittedOffset) []engine.TopicPartition {
	out := make([]engine.TopicPartition, 0, len(m))
	for tp := range m {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

func (s *Server) listGroups() *protocol.ListGroupsResponse {
	ls, err := s.groups.ListGroups()
	if err != nil {
		return &protocol.ListGroupsResponse{ErrorCode: groupCode(err)}
	}
	resp := &protocol.ListGroupsResponse{}
	for _, l := range ls {
		resp.Groups = append(resp.Groups, protocol.ListGroupsResponseGroup{GroupID: l.Group, ProtocolType: l.ProtocolType, State: l.State.String()})
	}
	return resp
}

func (s *Server) describeGroups(r *protocol.DescribeGroupsRequest) *protocol.DescribeGroupsResponse {
	resp := &protocol.DescribeGroupsResponse{}
	for _, id := range r.Groups {
		d, err := s.groups.DescribeGroup(id)
		g := protocol.DescribeGroupsResponseGroup{ErrorCode: groupCode(err), GroupID: id, State: d.State.String(),
			ProtocolType: d.ProtocolType, Protocol: d.Protocol, GenerationID: d.Generation, Leader: d.Leader}
		if err != nil {
			g.State = group.Dead.String()
		}
		for _, m := range d.Members {
			g.Members = append(g.Members, protocol.DescribeGroupsResponseMember{MemberID: m.MemberID, GroupInstanceID: nonEmpty(m.InstanceID),
				ClientID: m.ClientID, ClientHost: m.ClientHost, Metadata: m.Metadata, Assignment: m.Assignment})
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

func (s *Server) deleteGroups(r *protocol.DeleteGroupsRequest) *protocol.DeleteGroupsResponse {
	errs := s.groups.DeleteGroups(r.Groups)
	resp := &protocol.DeleteGroupsResponse{}
	for i, id := range r.Groups {
		resp.Results = append(resp.Results, protocol.DeleteGroupsResponseResult{GroupID: id, ErrorCode: groupCode(errs[i])})
	}
	return resp
}

// runGroups drives the coordinator's timers until ctx ends.
func (s *Server) runGroups(ctx context.Context) {
	defer s.groupsDone.Done()
	s.groups.Run(ctx)
}
