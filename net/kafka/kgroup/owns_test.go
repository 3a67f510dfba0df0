package kgroup_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/group"
	"github.com/sluicelog/sluice/net/kafka/kgroup"
)

// TestNotCoordinator: a coordinator that does not own the group makes
// every group API answer NOT_COORDINATOR where Kafka puts a group's error,
// and OffsetDelete deletes nothing; ListGroups still answers.
func TestNotCoordinator(t *testing.T) {
	e, err := engine.Open(t.TempDir(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.CreateTopic("orders", 4, nil); err != nil {
		t.Fatal(err)
	}
	tp := engine.TopicPartition{Topic: "orders", Partition: 0}
	if _, err := e.CommitOffsets("g", []engine.OffsetCommit{{TopicPartition: tp, Offset: 7, LeaderEpoch: -1}}); err != nil {
		t.Fatal(err)
	}
	c := group.New(group.Config{Store: e, InitialRebalanceDelay: -1, MinSessionTimeout: time.Second,
		Owns: func(string) error { return group.ErrNotCoordinator }})
	h := kgroup.New(c, e)
	nc := kerr.NotCoordinator.Code
	want := func(what string, code int16) {
		t.Helper()
		if code != nc {
			t.Fatalf("%s: %v, want NOT_COORDINATOR", what, kerr.ErrorForCode(code))
		}
	}

	join := kmsg.NewPtrJoinGroupRequest()
	join.Version, join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 9, "g", 10000, 10000
	join.ProtocolType = "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: subscription("orders")}}
	want("JoinGroup", handle[*kmsg.JoinGroupResponse](t, h, join).ErrorCode)

	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version, sync.Group, sync.Generation, sync.MemberID = 5, "g", 1, "m"
	want("SyncGroup", handle[*kmsg.SyncGroupResponse](t, h, sync).ErrorCode)

	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group, hb.Generation, hb.MemberID = 4, "g", 1, "m"
	want("Heartbeat", handle[*kmsg.HeartbeatResponse](t, h, hb).ErrorCode)

	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version, leave.Group = 5, "g"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
	want("LeaveGroup", handle[*kmsg.LeaveGroupResponse](t, h, leave).ErrorCode)

	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version, commit.Group, commit.Generation = 8, "g", -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "orders", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 9}}}}
	want("OffsetCommit", handle[*kmsg.OffsetCommitResponse](t, h, commit).Topics[0].Partitions[0].ErrorCode)

	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version, fetch.Group = 7, "g"
	want("OffsetFetch v7", handle[*kmsg.OffsetFetchResponse](t, h, fetch).ErrorCode)
	fetch8 := kmsg.NewPtrOffsetFetchRequest()
	fetch8.Version = 8
	fetch8.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}}
	want("OffsetFetch v8", handle[*kmsg.OffsetFetchResponse](t, h, fetch8).Groups[0].ErrorCode)

	describe := kmsg.NewPtrDescribeGroupsRequest()
	describe.Version, describe.Groups = 5, []string{"g"}
	want("DescribeGroups", handle[*kmsg.DescribeGroupsResponse](t, h, describe).Groups[0].ErrorCode)

	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Version, del.Groups = 2, []string{"g"}
	want("DeleteGroups", handle[*kmsg.DeleteGroupsResponse](t, h, del).Groups[0].ErrorCode)

	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "g"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "orders", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	want("OffsetDelete", handle[*kmsg.OffsetDeleteResponse](t, h, od).ErrorCode)

	list := kmsg.NewPtrListGroupsRequest()
	list.Version = 5
	if lr := handle[*kmsg.ListGroupsResponse](t, h, list); lr.ErrorCode != 0 || len(lr.Groups) != 1 || lr.Groups[0].Group != "g" {
		t.Fatalf("ListGroups: %+v", lr)
	}

	// Nothing was changed.
	offs, err := e.FetchOffsets("g")
	if err != nil || len(offs) != 1 || offs[tp].Offset != 7 {
		t.Fatalf("stored offsets: %v, %v", offs, err)
	}
}
