// Package kgroup answers Kafka's consumer-group APIs (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
// DescribeGroups, ListGroups, DeleteGroups, OffsetDelete) with Sluice's
// group coordinator, so that Kafka clients and native clients share one
// coordinator and one offset store.
//
// Requests and responses are kmsg's; this package only translates: the
// coordinator decides, and its errors map to Kafka's error codes of the
// same names. Groups joined through here belong to the Kafka protocol
// family: a native client joining one is refused with
// INCONSISTENT_GROUP_PROTOCOL, and the other way round.
//
// Invariants: every request gets a response of its own version (never a
// hang: JoinGroup and SyncGroup wait only as long as their context); an
// error for the whole group goes in the response's group-level code, one
// for a partition in that partition's code; nothing is stored for a
// request that is refused.
package kgroup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/kafka"
	"github.com/sluicelog/sluice/net/request"
)

var _ kafka.Groups = (*Handler)(nil)

// OffsetDeleter removes a group's committed offsets of some partitions,
// durably; *engine.Engine is one.
type OffsetDeleter interface {
	DeleteOffsets(group string, partitions []engine.TopicPartition) error
}

// Handler answers the group APIs with a coordinator.
type Handler struct {
	coord   *group.Coordinator
	deleter OffsetDeleter
}

// New returns a Handler over coord; deleter serves OffsetDelete.
func New(coord *group.Coordinator, deleter OffsetDeleter) *Handler {
	return &Handler{coord: coord, deleter: deleter}
}

// supported lists each API and the versions answered. The upper bounds
// stop before versions whose meaning differs (KIP-848's member epochs in
// OffsetCommit v9 and OffsetFetch v9, topic ids in later versions).
var supported = []kmsg.ApiVersionsResponseApiKey{
	{ApiKey: kmsg.OffsetCommit.Int16(), MinVersion: 0, MaxVersion: 8},
	{ApiKey: kmsg.OffsetFetch.Int16(), MinVersion: 0, MaxVersion: 8},
	{ApiKey: kmsg.JoinGroup.Int16(), MinVersion: 0, MaxVersion: 9},
	{ApiKey: kmsg.Heartbeat.Int16(), MinVersion: 0, MaxVersion: 4},
	{ApiKey: kmsg.LeaveGroup.Int16(), MinVersion: 0, MaxVersion: 5},
	{ApiKey: kmsg.SyncGroup.Int16(), MinVersion: 0, MaxVersion: 5},
	{ApiKey: kmsg.DescribeGroups.Int16(), MinVersion: 0, MaxVersion: 5},
	{ApiKey: kmsg.ListGroups.Int16(), MinVersion: 0, MaxVersion: 5},
	{ApiKey: kmsg.DeleteGroups.Int16(), MinVersion: 0, MaxVersion: 2},
	{ApiKey: kmsg.OffsetDelete.Int16(), MinVersion: 0, MaxVersion: 0},
}

// Versions lists the APIs and versions Handle answers.
func (h *Handler) Versions() []kmsg.ApiVersionsResponseApiKey {
	return append([]kmsg.ApiVersionsResponseApiKey(nil), supported...)
}

// Handle answers one request at its version (it implements
// kafka.Groups). JoinGroup and SyncGroup wait for their phase of the
// rebalance, until ctx ends. An error means the request is not a group
// API this handler answers.
func (h *Handler) Handle(ctx context.Context, from kafka.Client, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		return h.join(ctx, from, r), nil
	case *kmsg.SyncGroupRequest:
		return h.sync(ctx, r), nil
	case *kmsg.HeartbeatRequest:
		return h.heartbeat(r), nil
	case *kmsg.LeaveGroupRequest:
		return h.leave(r), nil
	case *kmsg.OffsetCommitRequest:
		return h.commit(r), nil
	case *kmsg.OffsetFetchRequest:
		return h.fetch(r), nil
	case *kmsg.DescribeGroupsRequest:
		return h.describe(r), nil
	case *kmsg.ListGroupsRequest:
		return h.list(r), nil
	case *kmsg.DeleteGroupsRequest:
		return h.deleteGroups(r), nil
	case *kmsg.OffsetDeleteRequest:
		return h.offsetDelete(r), nil
	}
	return nil, fmt.Errorf("kgroup: %T is not a group API", req)
}

// code maps a coordinator or engine error to Kafka's error code.
func code(err error) int16 {
	return int16(request.GroupCodeOf(err))
}

func ms(v int32) time.Duration { return time.Duration(v) * time.Millisecond }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr(s string) *string { return &s }

func (h *Handler) join(ctx context.Context, from kafka.Client, r *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.Version = r.Version
	rebalance := r.RebalanceTimeoutMillis
	if r.Version == 0 {
		rebalance = r.SessionTimeoutMillis // v0 has no rebalance timeout
	}
	req := group.JoinRequest{
		Group: r.Group, MemberID: r.MemberID, InstanceID: deref(r.InstanceID),
		ClientID: from.ID, ClientHost: from.Host, Family: group.FamilyKafka,
		ProtocolType: r.ProtocolType, SessionTimeout: ms(r.SessionTimeoutMillis), RebalanceTimeout: ms(rebalance),
	}
	for _, p := range r.Protocols {
		req.Protocols = append(req.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	res, err := h.coord.JoinGroup(ctx, req)
	if errors.Is(err, group.ErrMemberIDRequired) && r.Version < 4 {
		// Before v4 a client cannot be asked to come back with its id:
		// join for it with the id just given.
		req.MemberID = res.MemberID
		res, err = h.coord.JoinGroup(ctx, req)
	}
	resp.ErrorCode = code(err)
	resp.MemberID = res.MemberID
	if err != nil {
		resp.Generation = -1
		if !errors.Is(err, group.ErrMemberIDRequired) {
			resp.MemberID = r.MemberID
		}
		return resp
	}
	resp.Generation = res.Generation
	resp.ProtocolType = ptr(res.ProtocolType)
	resp.Protocol = ptr(res.Protocol)
	resp.LeaderID = res.Leader
	for _, m := range res.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.ProtocolMetadata = m.MemberID, m.Metadata
		if m.InstanceID != "" {
			rm.InstanceID = ptr(m.InstanceID)
		}
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

func (h *Handler) sync(ctx context.Context, r *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
	resp.Version = r.Version
	req := group.SyncRequest{Group: r.Group, Generation: r.Generation, MemberID: r.MemberID, InstanceID: deref(r.InstanceID)}
	for _, a := range r.GroupAssignment {
		req.Assignments = append(req.Assignments, group.MemberAssignment{MemberID: a.MemberID, Assignment: a.MemberAssignment})
	}
	if d, err := h.coord.DescribeGroup(r.Group); err == nil {
		// v5 clients name the protocol they expect; a mismatch is
		// Kafka's INCONSISTENT_GROUP_PROTOCOL.
		if (r.ProtocolType != nil && *r.ProtocolType != d.ProtocolType) || (r.Protocol != nil && *r.Protocol != d.Protocol && d.Protocol != "") {
			resp.ErrorCode = kerr.InconsistentGroupProtocol.Code
			return resp
		}
		resp.ProtocolType, resp.Protocol = ptr(d.ProtocolType), ptr(d.Protocol)
	}
	assignment, err := h.coord.SyncGroup(ctx, req)
	resp.ErrorCode = code(err)
	if err == nil {
		resp.MemberAssignment = assignment
		if resp.MemberAssignment == nil {
			resp.MemberAssignment = []byte{}
		}
	}
	return resp
}

func (h *Handler) heartbeat(r *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.Version = r.Version
	resp.ErrorCode = code(h.coord.Heartbeat(r.Group, r.Generation, r.MemberID, deref(r.InstanceID)))
	return resp
}

func (h *Handler) leave(r *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
	resp.Version = r.Version
	var members []group.LeaveMember
	if r.Version < 3 {
		members = []group.LeaveMember{{MemberID: r.MemberID}}
	} else {
		for _, m := range r.Members {
			members = append(members, group.LeaveMember{MemberID: m.MemberID, InstanceID: deref(m.InstanceID)})
		}
	}
	errs, err := h.coord.LeaveGroup(r.Group, members)
	if err != nil {
		resp.ErrorCode = code(err)
		return resp
	}
	if r.Version < 3 {
		resp.ErrorCode = code(errs[0])
		return resp
	}
	for i, m := range r.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, code(errs[i])
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

func (h *Handler) commit(r *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	resp.Version = r.Version
	req := group.CommitRequest{Group: r.Group, Generation: r.Generation, MemberID: r.MemberID, InstanceID: deref(r.InstanceID)}
	if r.Version == 0 {
		req.Generation = -1 // v0 commits come from outside any generation
	}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			epoch := int32(-1)
			if r.Version >= 6 {
				epoch = p.LeaderEpoch
			}
			req.Offsets = append(req.Offsets, engine.OffsetCommit{
				TopicPartition: engine.TopicPartition{Topic: t.Topic, Partition: p.Partition},
				Offset:         p.Offset, LeaderEpoch: epoch, Metadata: deref(p.Metadata),
			})
		}
	}
	errs, err := h.coord.CommitOffsets(req)
	i := 0
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			if err != nil {
				rp.ErrorCode = code(err)
			} else {
				rp.ErrorCode = code(errs[i])
			}
			i++
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// offsetsFor answers one group's OffsetFetch: the partitions asked for,
// or all the group has when topics is nil. A partition without a commit
// has offset -1 and no error, as in Kafka.
func (h *Handler) offsetsFor(groupID string, topics map[string][]int32, all bool) (map[string][]kmsg.OffsetFetchResponseTopicPartition, error) {
	offs, err := h.coord.FetchOffsets(groupID)
	if err != nil {
		return nil, err
	}
	out := map[string][]kmsg.OffsetFetchResponseTopicPartition{}
	add := func(topic string, partition int32) {
		p := kmsg.NewOffsetFetchResponseTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch = partition, -1, -1
		if c, ok := offs[engine.TopicPartition{Topic: topic, Partition: partition}]; ok {
			p.Offset, p.LeaderEpoch, p.Metadata = c.Offset, c.LeaderEpoch, ptr(c.Metadata)
		}
		out[topic] = append(out[topic], p)
	}
	if all {
		tps := make([]engine.TopicPartition, 0, len(offs))
		for tp := range offs {
			tps = append(tps, tp)
		}
		sort.Slice(tps, func(i, j int) bool {
			if tps[i].Topic != tps[j].Topic {
				return tps[i].Topic < tps[j].Topic
			}
			return tps[i].Partition < tps[j].Partition
		})
		for _, tp := range tps {
			add(tp.Topic, tp.Partition)
		}
		return out, nil
	}
	for topic, parts := range topics {
		for _, p := range parts {
			add(topic, p)
		}
	}
	return out, nil
}

func (h *Handler) fetch(r *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	resp.Version = r.Version
	if r.Version >= 8 {
		for _, g := range r.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group = g.Group
			want := map[string][]int32{}
			var order []string
			for _, t := range g.Topics {
				if _, seen := want[t.Topic]; !seen {
					order = append(order, t.Topic)
				}
				want[t.Topic] = append(want[t.Topic], t.Partitions...)
			}
			got, err := h.offsetsFor(g.Group, want, g.Topics == nil)
			rg.ErrorCode = code(err)
			if err == nil {
				if g.Topics == nil {
					order = sortedKeys(got)
				}
				for _, topic := range order {
					rt := kmsg.NewOffsetFetchResponseGroupTopic()
					rt.Topic = topic
					for _, p := range got[topic] {
						rt.Partitions = append(rt.Partitions, kmsg.OffsetFetchResponseGroupTopicPartition{
							Partition: p.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata, ErrorCode: p.ErrorCode,
						})
					}
					rg.Topics = append(rg.Topics, rt)
				}
			}
			resp.Groups = append(resp.Groups, rg)
		}
		return resp
	}
	want := map[string][]int32{}
	var order []string
	for _, t := range r.Topics {
		if _, seen := want[t.Topic]; !seen {
			order = append(order, t.Topic)
		}
		want[t.Topic] = append(want[t.Topic], t.Partitions...)
	}
	got, err := h.offsetsFor(r.Group, want, r.Topics == nil && r.Version >= 2)
	if err != nil {
		resp.ErrorCode = code(err)
		if r.Version < 2 {
			// No group-level code before v2: every partition carries it.
			for _, t := range r.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.Offset, rp.ErrorCode = p, -1, code(err)
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
		}
		return resp
	}
	if r.Topics == nil {
		order = sortedKeys(got)
	}
	for _, topic := range order {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic, rt.Partitions = topic, got[topic]
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (h *Handler) describe(r *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	resp.Version = r.Version
	for _, id := range r.Groups {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = id
		d, err := h.coord.DescribeGroup(id)
		if err != nil {
			rg.ErrorCode = code(err)
			if r.Version >= 6 {
				rg.ErrorMessage = ptr(err.Error())
			}
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		rg.State, rg.ProtocolType, rg.Protocol = d.State.String(), d.ProtocolType, d.Protocol
		for _, m := range d.Members {
			rm := kmsg.NewDescribeGroupsResponseGroupMember()
			rm.MemberID, rm.ClientID, rm.ClientHost = m.MemberID, m.ClientID, m.ClientHost
			rm.ProtocolMetadata, rm.MemberAssignment = m.Metadata, m.Assignment
			if rm.ProtocolMetadata == nil {
				rm.ProtocolMetadata = []byte{}
			}
			if rm.MemberAssignment == nil {
				rm.MemberAssignment = []byte{}
			}
			if m.InstanceID != "" {
				rm.InstanceID = ptr(m.InstanceID)
			}
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

func (h *Handler) list(r *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
	resp.Version = r.Version
	groups, err := h.coord.ListGroups()
	if err != nil {
		resp.ErrorCode = code(err)
		return resp
	}
	wantState := map[string]bool{}
	for _, s := range r.StatesFilter {
		wantState[s] = true
	}
	wantType := map[string]bool{}
	for _, t := range r.TypesFilter {
		wantType[t] = true
	}
	for _, g := range groups {
		if len(wantState) > 0 && !wantState[g.State.String()] {
			continue
		}
		// Every group here is a classic group (KIP-848's "consumer" groups
		// do not exist on this broker).
		if len(wantType) > 0 && !wantType["classic"] {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = g.Group, g.ProtocolType, g.State.String(), "classic"
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

func (h *Handler) deleteGroups(r *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
	resp.Version = r.Version
	errs := h.coord.DeleteGroups(r.Groups)
	for i, id := range r.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group, rg.ErrorCode = id, code(errs[i])
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

// offsetDelete removes committed offsets of partitions the group does not
// consume: Kafka refuses, per partition, those of topics an active member
// of a consumer group is subscribed to (GROUP_SUBSCRIBED_TO_TOPIC).
func (h *Handler) offsetDelete(r *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	resp.Version = r.Version
	// The offsets are deleted here, not by the coordinator: ask it first
	// whether the group is this broker's.
	if err := h.coord.Owned(r.Group); err != nil {
		resp.ErrorCode = code(err)
		return resp
	}
	d, err := h.coord.DescribeGroup(r.Group)
	if err == nil && d.State == group.Dead {
		err = group.ErrGroupIDNotFound
	}
	if err != nil {
		resp.ErrorCode = code(err)
		return resp
	}
	subscribed := map[string]bool{}
	if d.ProtocolType == "consumer" {
		for _, m := range d.Members {
			var meta kmsg.ConsumerMemberMetadata
			if meta.ReadFrom(m.Metadata) == nil {
				for _, t := range meta.Topics {
					subscribed[t] = true
				}
			}
		}
	} else if len(d.Members) > 0 {
		resp.ErrorCode = kerr.NonEmptyGroup.Code // no way to tell what it reads
		return resp
	}
	var drop []engine.TopicPartition
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if subscribed[t.Topic] {
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else {
				drop = append(drop, engine.TopicPartition{Topic: t.Topic, Partition: p.Partition})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(drop) > 0 {
		if err := h.deleter.DeleteOffsets(r.Group, drop); err != nil {
			resp.ErrorCode = code(err)
			resp.Topics = nil
		}
	}
	return resp
}
