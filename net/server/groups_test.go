package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
)

func joinReq(member string) *protocol.JoinGroupRequest {
	return &protocol.JoinGroupRequest{GroupID: "g", SessionTimeoutMs: 10000, RebalanceTimeoutMs: 60000, MemberID: member,
		ProtocolType: protocol.ConsumerProtocolType, ClientID: "raw",
		Protocols: []protocol.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{}}}}
}

// A JoinGroup held by the coordinator blocks only its own connection; the
// group completes when the other member joins; a broker shutting down
// answers a held JoinGroup instead of hanging.
func TestGroupAPIsOverTheWire(t *testing.T) {
	b := broker.StartTest(t, func(c *broker.Config) {
		c.GroupInitialDelay = 0
		c.GroupMinSessionTimeout = time.Second
	})
	admin := dial(t, b.Addr().String())
	createTopic(t, admin, "orders", 2)

	var fc protocol.FindCoordinatorResponse
	admin.call(&protocol.FindCoordinatorRequest{CoordinatorKey: "g"}, &fc)
	if fc.ErrorCode != protocol.NoError || fc.Port == 0 {
		t.Fatalf("FindCoordinator: %+v", fc)
	}
	admin.call(&protocol.FindCoordinatorRequest{CoordinatorKey: ""}, &fc)
	if fc.ErrorCode != protocol.ErrInvalidGroupID {
		t.Fatalf("FindCoordinator with no group id: %+v", fc)
	}

	// Member ids come from the coordinator.
	a, c := dial(t, b.Addr().String()), dial(t, b.Addr().String())
	var ja protocol.JoinGroupResponse
	a.call(joinReq(""), &ja)
	if ja.ErrorCode != protocol.ErrMemberIDRequired || ja.MemberID == "" {
		t.Fatalf("first join: %+v", ja)
	}
	idA := ja.MemberID
	a.call(joinReq(idA), &ja)
	if ja.ErrorCode != protocol.NoError || ja.Leader != idA || ja.GenerationID != 1 {
		t.Fatalf("join alone: %+v", ja)
	}
	var sa protocol.SyncGroupResponse
	a.call(&protocol.SyncGroupRequest{GroupID: "g", GenerationID: 1, MemberID: idA,
		Assignments: []protocol.SyncGroupRequestAssignment{{MemberID: idA, Assignment: []byte("both")}}}, &sa)
	if sa.ErrorCode != protocol.NoError || string(sa.Assignment) != "both" {
		t.Fatalf("sync: %+v", sa)
	}

	// A second member joins: its JoinGroup is held until a rejoins.
	var jc protocol.JoinGroupResponse
	c.call(joinReq(""), &jc)
	idC := jc.MemberID
	corr := c.send(joinReq(idC))
	// Other connections are served meanwhile.
	var hb protocol.HeartbeatResponse
	deadline := time.Now().Add(10 * time.Second)
	for {
		admin.call(&protocol.HeartbeatRequest{GroupID: "g", GenerationID: 1, MemberID: idA}, &hb)
		if hb.ErrorCode == protocol.ErrRebalanceInProgress {
			break
		}
		if hb.ErrorCode != protocol.NoError || time.Now().After(deadline) {
			t.Fatalf("heartbeat while c joins: %v", hb.ErrorCode)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var oc protocol.OffsetCommitResponse
	admin.call(&protocol.OffsetCommitRequest{GroupID: "g", GenerationID: 1, MemberID: idA, Topics: []protocol.OffsetCommitRequestTopic{
		{Name: "orders", Partitions: []protocol.OffsetCommitRequestPartition{{Partition: 0, Offset: 3, LeaderEpoch: -1}, {Partition: 5, Offset: 1, LeaderEpoch: -1}}},
		{Name: "nope", Partitions: []protocol.OffsetCommitRequestPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}},
	}}, &oc)
	if oc.ErrorCode != protocol.NoError || oc.Topics[0].Partitions[0].ErrorCode != protocol.NoError ||
		oc.Topics[0].Partitions[1].ErrorCode != protocol.ErrUnknownTopicOrPartition || oc.Topics[1].Partitions[0].ErrorCode != protocol.ErrUnknownTopicOrPartition {
		t.Fatalf("commit during the rebalance: %+v", oc)
	}
	a.call(joinReq(idA), &ja)
	c.recv(corr, &jc)
	if ja.ErrorCode != protocol.NoError || jc.ErrorCode != protocol.NoError || ja.GenerationID != 2 || jc.GenerationID != 2 ||
		len(ja.Members) != 2 || len(jc.Members) != 0 {
		t.Fatalf("second generation: %+v / %+v", ja, jc)
	}
	// The last generation's commits are refused now.
	admin.call(&protocol.OffsetCommitRequest{GroupID: "g", GenerationID: 1, MemberID: idA, Topics: []protocol.OffsetCommitRequestTopic{
		{Name: "orders", Partitions: []protocol.OffsetCommitRequestPartition{{Partition: 0, Offset: 9, LeaderEpoch: -1}}}}}, &oc)
	if oc.ErrorCode != protocol.ErrIllegalGeneration || oc.ErrorMessage == nil {
		t.Fatalf("stale commit: %+v", oc)
	}
	var of protocol.OffsetFetchResponse
	admin.call(&protocol.OffsetFetchRequest{GroupID: "g"}, &of)
	if len(of.Topics) != 1 || len(of.Topics[0].Partitions) != 1 || of.Topics[0].Partitions[0].Offset != 3 {
		t.Fatalf("offsets: %+v", of)
	}
	var dg protocol.DescribeGroupsResponse
	admin.call(&protocol.DescribeGroupsRequest{Groups: []string{"g", "nobody"}}, &dg)
	if dg.Groups[0].State != "CompletingRebalance" || len(dg.Groups[0].Members) != 2 || dg.Groups[1].State != "Dead" {
		t.Fatalf("describe: %+v", dg)
	}
	var del protocol.DeleteGroupsResponse
	admin.call(&protocol.DeleteGroupsRequest{Groups: []string{"g", "nobody"}}, &del)
	if del.Results[0].ErrorCode != protocol.ErrNonEmptyGroup || del.Results[1].ErrorCode != protocol.ErrGroupIDNotFound {
		t.Fatalf("delete: %+v", del)
	}

	// c rejoins: its JoinGroup is held (a does not rejoin), which the
	// group's state shows; the broker shutting down answers it.
	corr = c.send(joinReq(idC))
	deadline = time.Now().Add(10 * time.Second)
	for {
		admin.call(&protocol.DescribeGroupsRequest{Groups: []string{"g"}}, &dg)
		if dg.Groups[0].State == "PreparingRebalance" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("c's rejoin never started a rebalance: %+v", dg)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Close(ctx) }()
	c.recv(corr, &jc)
	if jc.ErrorCode != protocol.ErrCoordinatorNotAvailable {
		t.Fatalf("held JoinGroup at shutdown: %+v", jc)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
