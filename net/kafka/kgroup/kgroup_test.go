package kgroup_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/kafka"
	"github.com/sluicelog/sluice/net/kafka/kgroup"
)

func newHandler(t *testing.T) (*kgroup.Handler, *group.Coordinator) {
	t.Helper()
	e, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	for _, topic := range []string{"orders", "other"} {
		if err := e.CreateTopic(topic, 4, nil); err != nil {
			t.Fatal(err)
		}
	}
	c := group.New(group.Config{Store: e, InitialRebalanceDelay: -1, MinSessionTimeout: time.Second, TickInterval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go c.Run(ctx)
	return kgroup.New(c, e), c
}

func handle[R kmsg.Response](t *testing.T, h *kgroup.Handler, req kmsg.Request) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := h.Handle(ctx, kafka.Client{ID: "test-client", Host: "127.0.0.1"}, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetVersion() != req.GetVersion() {
		t.Fatalf("%T answered at version %d, asked %d", resp, resp.GetVersion(), req.GetVersion())
	}
	return resp.(R)
}

func subscription(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Topics = topics
	return m.AppendTo(nil)
}

// joinAt does a JoinGroup at a version, the v4+ member-id round trip
// included, and returns the response.
func joinAt(t *testing.T, h *kgroup.Handler, version int16, instance *string) *kmsg.JoinGroupResponse {
	t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version, req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = version, "g", 10000, 10000
	req.ProtocolType, req.InstanceID = "consumer", instance
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: subscription("orders")}}
	resp := handle[*kmsg.JoinGroupResponse](t, h, req)
	if resp.ErrorCode == kerr.MemberIDRequired.Code {
		if version < 4 || resp.MemberID == "" {
			t.Fatalf("MEMBER_ID_REQUIRED at v%d with member id %q", version, resp.MemberID)
		}
		req.MemberID = resp.MemberID
		resp = handle[*kmsg.JoinGroupResponse](t, h, req)
	}
	return resp
}

// TestGroupLifecycle drives one member through join, sync, heartbeat,
// commits, fetches, describe, list and leave with Kafka's messages at
// recent and old versions.
func TestGroupLifecycle(t *testing.T) {
	h, _ := newHandler(t)
	j := joinAt(t, h, 9, nil)
	if j.ErrorCode != 0 || j.Generation < 1 || j.LeaderID != j.MemberID || len(j.Members) != 1 || j.Protocol == nil || *j.Protocol != "range" {
		t.Fatalf("join: %+v", j)
	}
	assign := kmsg.NewConsumerMemberAssignment()
	assign.Topics = []kmsg.ConsumerMemberAssignmentTopic{{Topic: "orders", Partitions: []int32{0, 1, 2, 3}}}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version, sync.Group, sync.Generation, sync.MemberID = 5, "g", j.Generation, j.MemberID
	sync.ProtocolType, sync.Protocol = j.ProtocolType, j.Protocol
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: j.MemberID, MemberAssignment: assign.AppendTo(nil)}}
	s := handle[*kmsg.SyncGroupResponse](t, h, sync)
	var got kmsg.ConsumerMemberAssignment
	if s.ErrorCode != 0 || got.ReadFrom(s.MemberAssignment) != nil || len(got.Topics) != 1 || len(got.Topics[0].Partitions) != 4 {
		t.Fatalf("sync: %+v", s)
	}

	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group, hb.Generation, hb.MemberID = 4, "g", j.Generation, j.MemberID
	if r := handle[*kmsg.HeartbeatResponse](t, h, hb); r.ErrorCode != 0 {
		t.Fatalf("heartbeat: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	hb.Generation = j.Generation - 1
	if r := handle[*kmsg.HeartbeatResponse](t, h, hb); r.ErrorCode != kerr.IllegalGeneration.Code {
		t.Fatalf("stale heartbeat: %v", kerr.ErrorForCode(r.ErrorCode))
	}

	// Commits: a good one, an unknown partition, a negative offset, and
	// a zombie's (stale generation) that changes nothing.
	commit := func(gen int32, offsets map[int32]int64, topic string) *kmsg.OffsetCommitResponse {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version, req.Group, req.Generation, req.MemberID = 8, "g", gen, j.MemberID
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		for p, o := range offsets {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.Metadata = p, o, kmsg.StringPtr("meta")
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		return handle[*kmsg.OffsetCommitResponse](t, h, req)
	}
	if r := commit(j.Generation, map[int32]int64{0: 10}, "orders"); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %v", kerr.ErrorForCode(r.Topics[0].Partitions[0].ErrorCode))
	}
	if r := commit(j.Generation, map[int32]int64{9: 10}, "orders"); r.Topics[0].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("commit to partition 9: %v", kerr.ErrorForCode(r.Topics[0].Partitions[0].ErrorCode))
	}
	if r := commit(j.Generation, map[int32]int64{1: -5}, "orders"); r.Topics[0].Partitions[0].ErrorCode == 0 {
		t.Fatal("a negative offset was accepted")
	}
	if r := commit(j.Generation-1, map[int32]int64{0: 99}, "orders"); r.Topics[0].Partitions[0].ErrorCode != kerr.IllegalGeneration.Code {
		t.Fatalf("zombie commit: %v", kerr.ErrorForCode(r.Topics[0].Partitions[0].ErrorCode))
	}

	// Fetch at v8 (groups), v7 (one group, all topics) and v1 (named).
	f8 := kmsg.NewPtrOffsetFetchRequest()
	f8.Version = 8
	f8.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "orders", Partitions: []int32{0, 1}}}}}
	r8 := handle[*kmsg.OffsetFetchResponse](t, h, f8)
	if len(r8.Groups) != 1 || r8.Groups[0].ErrorCode != 0 || len(r8.Groups[0].Topics) != 1 {
		t.Fatalf("fetch v8: %+v", r8)
	}
	if ps := r8.Groups[0].Topics[0].Partitions; ps[0].Offset != 10 || ps[1].Offset != -1 || *ps[0].Metadata != "meta" {
		t.Fatalf("fetch v8 partitions: %+v (want 10 then -1: the zombie's and the negative commit changed nothing)", ps)
	}
	f7 := kmsg.NewPtrOffsetFetchRequest()
	f7.Version, f7.Group = 7, "g"
	if r := handle[*kmsg.OffsetFetchResponse](t, h, f7); r.ErrorCode != 0 || len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 || r.Topics[0].Partitions[0].Offset != 10 {
		t.Fatalf("fetch v7 all: %+v", r)
	}
	f1 := kmsg.NewPtrOffsetFetchRequest()
	f1.Version, f1.Group = 1, "g"
	f1.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "orders", Partitions: []int32{0}}}
	if r := handle[*kmsg.OffsetFetchResponse](t, h, f1); len(r.Topics) != 1 || r.Topics[0].Partitions[0].Offset != 10 {
		t.Fatalf("fetch v1: %+v", r)
	}

	d := kmsg.NewPtrDescribeGroupsRequest()
	d.Version, d.Groups = 5, []string{"g", "nobody"}
	dr := handle[*kmsg.DescribeGroupsResponse](t, h, d)
	if len(dr.Groups) != 2 || dr.Groups[0].State != "Stable" || len(dr.Groups[0].Members) != 1 ||
		dr.Groups[0].Members[0].ClientID != "test-client" || dr.Groups[1].State != "Dead" {
		t.Fatalf("describe: %+v", dr.Groups)
	}
	l := kmsg.NewPtrListGroupsRequest()
	l.Version = 4
	if lr := handle[*kmsg.ListGroupsResponse](t, h, l); len(lr.Groups) != 1 || lr.Groups[0].Group != "g" || lr.Groups[0].GroupState != "Stable" {
		t.Fatalf("list: %+v", lr.Groups)
	}

	// Deleting a live group is refused; offsets of a topic it reads are
	// kept, of one it does not read dropped.
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Version, del.Groups = 2, []string{"g"}
	if r := handle[*kmsg.DeleteGroupsResponse](t, h, del); r.Groups[0].ErrorCode != kerr.NonEmptyGroup.Code {
		t.Fatalf("delete live group: %v", kerr.ErrorForCode(r.Groups[0].ErrorCode))
	}
	if r := commit(j.Generation, map[int32]int64{2: 7}, "other"); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.Topics[0].Partitions[0].ErrorCode))
	}
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "g"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "orders", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}},
		{Topic: "other", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 2}}}}
	odr := handle[*kmsg.OffsetDeleteResponse](t, h, od)
	if odr.ErrorCode != 0 || odr.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code || odr.Topics[1].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset delete: %+v", odr)
	}
	f7.Group = "g"
	if r := handle[*kmsg.OffsetFetchResponse](t, h, f7); len(r.Topics) != 1 || r.Topics[0].Topic != "orders" {
		t.Fatalf("after offset delete: %+v", r.Topics)
	}

	// Leave (v5, by member), then the group is empty and may go.
	lv := kmsg.NewPtrLeaveGroupRequest()
	lv.Version, lv.Group = 5, "g"
	lv.Members = []kmsg.LeaveGroupRequestMember{{MemberID: j.MemberID}}
	if r := handle[*kmsg.LeaveGroupResponse](t, h, lv); r.ErrorCode != 0 || len(r.Members) != 1 || r.Members[0].ErrorCode != 0 {
		t.Fatalf("leave: %+v", r)
	}
	if r := handle[*kmsg.DeleteGroupsResponse](t, h, del); r.Groups[0].ErrorCode != 0 {
		t.Fatalf("delete empty group: %v", kerr.ErrorForCode(r.Groups[0].ErrorCode))
	}
	if r := handle[*kmsg.OffsetFetchResponse](t, h, f7); len(r.Topics) != 0 {
		t.Fatalf("offsets survived the group's deletion: %+v", r.Topics)
	}
}

// TestOldJoinVersionsAndBadInput: a v0 join is served without the member-id
// round trip, bad group ids and session timeouts get Kafka's codes, and a
// native group refuses Kafka members.
func TestOldJoinVersionsAndBadInput(t *testing.T) {
	h, c := newHandler(t)
	j := joinAt(t, h, 0, nil)
	if j.ErrorCode != 0 || j.MemberID == "" || j.Generation < 1 {
		t.Fatalf("v0 join: %+v", j)
	}

	bad := kmsg.NewPtrJoinGroupRequest()
	bad.Version, bad.Group, bad.SessionTimeoutMillis, bad.ProtocolType = 5, "", 10000, "consumer"
	bad.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: subscription("orders")}}
	if r := handle[*kmsg.JoinGroupResponse](t, h, bad); r.ErrorCode != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	bad.Group, bad.SessionTimeoutMillis = "g2", 1
	if r := handle[*kmsg.JoinGroupResponse](t, h, bad); r.ErrorCode != kerr.InvalidSessionTimeout.Code {
		t.Fatalf("tiny session timeout: %v", kerr.ErrorForCode(r.ErrorCode))
	}

	// A group joined natively belongs to the native family.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.JoinGroup(ctx, group.JoinRequest{Group: "native", Family: group.FamilyNative, ProtocolType: "consumer",
		Protocols: []group.Protocol{{Name: "range"}}, SessionTimeout: 10 * time.Second})
	if err != nil && res.MemberID == "" {
		t.Fatal(err)
	}
	if err != nil {
		if _, err := c.JoinGroup(ctx, group.JoinRequest{Group: "native", MemberID: res.MemberID, Family: group.FamilyNative, ProtocolType: "consumer",
			Protocols: []group.Protocol{{Name: "range"}}, SessionTimeout: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	bad.Group, bad.SessionTimeoutMillis = "native", 10000
	r := handle[*kmsg.JoinGroupResponse](t, h, bad)
	if r.ErrorCode == kerr.MemberIDRequired.Code {
		bad.MemberID = r.MemberID
		r = handle[*kmsg.JoinGroupResponse](t, h, bad)
	}
	if r.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("kafka member into a native group: %v", kerr.ErrorForCode(r.ErrorCode))
	}
}
