package server_test

import (
	"testing"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// TestDeleteRecordsOverTheWire: the native DeleteRecords moves the log
// start; fetches below it and ListOffsets earliest follow.
func TestDeleteRecordsOverTheWire(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	createTopic(t, c, "dr", 1)
	for i := 0; i < 4; i++ {
		if res := produce(t, c, -1, "dr", 0, records(t, batch.None, "v", 5)); res.ErrorCode != protocol.NoError {
			t.Fatalf("produce: %+v", res)
		}
	}
	var dr protocol.DeleteRecordsResponse
	c.call(&protocol.DeleteRecordsRequest{Topics: []protocol.DeleteRecordsRequestTopic{
		{Name: "dr", Partitions: []protocol.DeleteRecordsRequestPartition{{Partition: 0, Offset: 12}, {Partition: 1, Offset: 1}}},
		{Name: "nope", Partitions: []protocol.DeleteRecordsRequestPartition{{Partition: 0, Offset: 1}}},
	}}, &dr)
	if len(dr.Topics) != 2 || len(dr.Topics[0].Partitions) != 2 || len(dr.Topics[1].Partitions) != 1 {
		t.Fatalf("delete records answer: %+v", dr)
	}
	if p := dr.Topics[0].Partitions[0]; p.ErrorCode != protocol.NoError || p.LowWatermark != 12 {
		t.Fatalf("dr-0: %+v", p)
	}
	for _, p := range []protocol.DeleteRecordsResponsePartition{dr.Topics[0].Partitions[1], dr.Topics[1].Partitions[0]} {
		if p.ErrorCode != protocol.ErrUnknownTopicOrPartition || p.LowWatermark != -1 {
			t.Fatalf("unknown partition: %+v", p)
		}
	}
	c.call(&protocol.DeleteRecordsRequest{Topics: []protocol.DeleteRecordsRequestTopic{
		{Name: "dr", Partitions: []protocol.DeleteRecordsRequestPartition{{Partition: 0, Offset: 21}}}}}, &dr)
	if p := dr.Topics[0].Partitions[0]; p.ErrorCode != protocol.ErrOffsetOutOfRange || p.ErrorMessage == nil {
		t.Fatalf("past the high watermark: %+v", p)
	}
	if got := fetch(t, c, "dr", 0, 11); got.ErrorCode != protocol.ErrOffsetOutOfRange {
		t.Fatalf("fetch below the log start: %v", got.ErrorCode)
	}
	var lo protocol.ListOffsetsResponse
	c.call(&protocol.ListOffsetsRequest{Topics: []protocol.ListOffsetsRequestTopic{{Name: "dr",
		Partitions: []protocol.ListOffsetsRequestPartition{{Partition: 0, Timestamp: protocol.EarliestTimestamp}}}}}, &lo)
	if p := lo.Topics[0].Partitions[0]; p.ErrorCode != protocol.NoError || p.Offset != 12 {
		t.Fatalf("earliest after delete records: %+v", p)
	}
}
