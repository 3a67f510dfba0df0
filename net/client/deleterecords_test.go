package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/segment/batch"
)

// TestDeleteRecords: the native client moves log starts through a real
// broker, each partition answered on its own.
func TestDeleteRecords(t *testing.T) {
	b := startBroker(t, nil)
	cl := newClient(t, b.Addr().String(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.CreateTopic(ctx, "dr", 2, 1, map[string]string{"segment.bytes": "300"}); err != nil {
		t.Fatal(err)
	}
	for part := int32(0); part < 2; part++ {
		p, err := b.Engine.Partition("dr", part)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			bb := batch.NewBuilder(batch.None)
			for j := 0; j < 3; j++ {
				bb.Append(int64(1000+i), nil, fmt.Appendf(nil, "v%d-%d", i, j), nil)
			}
			recs, err := bb.Build()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Append(recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := cl.DeleteRecords(ctx, map[TopicPartition]int64{
		{Topic: "dr", Partition: 0}:      17,
		{Topic: "dr", Partition: 1}:      31, // past the high watermark 30
		{Topic: "dr", Partition: 7}:      1,
		{Topic: "missing", Partition: 0}: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := got[TopicPartition{Topic: "dr", Partition: 0}]; r.Err != nil || r.LowWatermark != 17 {
		t.Fatalf("dr-0: %+v", r)
	}
	for tp, want := range map[TopicPartition]protocol.ErrorCode{
		{Topic: "dr", Partition: 1}:      protocol.ErrOffsetOutOfRange,
		{Topic: "dr", Partition: 7}:      protocol.ErrUnknownTopicOrPartition,
		{Topic: "missing", Partition: 0}: protocol.ErrUnknownTopicOrPartition,
	} {
		if r := got[tp]; !errors.Is(r.Err, want) || r.LowWatermark != -1 {
			t.Errorf("%v: %+v, want %v", tp, r, want)
		}
	}
	if off, err := cl.ListOffset(ctx, "dr", 0, protocol.EarliestTimestamp); err != nil || off != 17 {
		t.Fatalf("earliest of dr-0: %d, %v; want 17", off, err)
	}
	got, err = cl.DeleteRecords(ctx, map[TopicPartition]int64{{Topic: "dr", Partition: 1}: -1})
	if r := got[TopicPartition{Topic: "dr", Partition: 1}]; err != nil || r.Err != nil || r.LowWatermark != 30 {
		t.Fatalf("dr-1 to the high watermark: %v %+v", err, r)
	}
}
