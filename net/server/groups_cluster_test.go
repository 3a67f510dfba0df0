package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
)

// In a cluster, the native listener of a broker that does not coordinate a
// group refuses every request about it with NOT_COORDINATOR, names the
// coordinator in FindCoordinator, and still answers ListGroups.
func TestGroupRequestsToANonCoordinator(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	deadline := time.Now().Add(30 * time.Second)
	for _, b := range bs {
		for len(b.Member().Brokers("SLUICE")) != 3 {
			if time.Now().After(deadline) {
				t.Fatal("the brokers never all saw each other")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	const group = "g"
	// A group's coordinator leads its partition of __consumer_offsets,
	// which the first FindCoordinator has created; create it here.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bs[0].Member().CreateOffsetsTopic(ctx); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		for b.Member().CoordinatorID(group) < 0 {
			if time.Now().After(deadline) {
				t.Fatal("the group's partition of the offsets topic never had a leader")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	coord := bs[0].Member().CoordinatorID(group)
	var other *broker.Broker
	for _, b := range bs {
		if id := b.Member().NodeID(); id != coord && other == nil {
			other = b
		}
		if got := b.Member().CoordinatorID(group); got != coord {
			t.Fatalf("broker %d says %d coordinates %q, broker 1 says %d", b.Member().NodeID(), got, group, coord)
		}
	}
	c := dial(t, other.Addr().String())

	var fc protocol.FindCoordinatorResponse
	c.call(&protocol.FindCoordinatorRequest{CoordinatorKey: group}, &fc)
	if fc.ErrorCode != protocol.NoError || fc.NodeID != coord || fc.Port == 0 {
		t.Fatalf("FindCoordinator: %+v, want node %d", fc, coord)
	}
	refused := func(what string, code protocol.ErrorCode) {
		t.Helper()
		if code != protocol.ErrNotCoordinator {
			t.Fatalf("%s: %v, want NOT_COORDINATOR", what, code)
		}
	}
	var jr protocol.JoinGroupResponse
	c.call(joinReq(""), &jr)
	refused("JoinGroup", jr.ErrorCode)
	var sr protocol.SyncGroupResponse
	c.call(&protocol.SyncGroupRequest{GroupID: group, GenerationID: 1, MemberID: "m"}, &sr)
	refused("SyncGroup", sr.ErrorCode)
	var hr protocol.HeartbeatResponse
	c.call(&protocol.HeartbeatRequest{GroupID: group, GenerationID: 1, MemberID: "m"}, &hr)
	refused("Heartbeat", hr.ErrorCode)
	var lr protocol.LeaveGroupResponse
	c.call(&protocol.LeaveGroupRequest{GroupID: group, Members: []protocol.LeaveGroupRequestMember{{MemberID: "m"}}}, &lr)
	refused("LeaveGroup", lr.ErrorCode)
	var cr protocol.OffsetCommitResponse
	c.call(&protocol.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: []protocol.OffsetCommitRequestTopic{
		{Name: "orders", Partitions: []protocol.OffsetCommitRequestPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}}}}, &cr)
	refused("OffsetCommit", cr.ErrorCode)
	var fr protocol.OffsetFetchResponse
	c.call(&protocol.OffsetFetchRequest{GroupID: group}, &fr)
	refused("OffsetFetch", fr.ErrorCode)
	var dr protocol.DescribeGroupsResponse
	c.call(&protocol.DescribeGroupsRequest{Groups: []string{group}}, &dr)
	if len(dr.Groups) != 1 {
		t.Fatalf("DescribeGroups: %+v", dr)
	}
	refused("DescribeGroups", dr.Groups[0].ErrorCode)
	var xr protocol.DeleteGroupsResponse
	c.call(&protocol.DeleteGroupsRequest{Groups: []string{group}}, &xr)
	if len(xr.Results) != 1 {
		t.Fatalf("DeleteGroups: %+v", xr)
	}
	refused("DeleteGroups", xr.Results[0].ErrorCode)
	var lg protocol.ListGroupsResponse
	c.call(&protocol.ListGroupsRequest{}, &lg)
	if lg.ErrorCode != protocol.NoError {
		t.Fatalf("ListGroups: %v", lg.ErrorCode)
	}

	// The coordinator answers the same OffsetFetch, once it has loaded
	// the group's partition.
	for _, b := range bs {
		if b.Member().NodeID() == coord {
			cc := dial(t, b.Addr().String())
			for {
				cc.call(&protocol.OffsetFetchRequest{GroupID: group}, &fr)
				if fr.ErrorCode != protocol.ErrCoordinatorLoadInProgress || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if fr.ErrorCode != protocol.NoError {
				t.Fatalf("OffsetFetch on the coordinator: %v: %s", fr.ErrorCode, *fr.ErrorMessage)
			}
		}
	}
}
