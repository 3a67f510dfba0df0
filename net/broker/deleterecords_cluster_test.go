package broker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
)

// TestClusterDeleteRecordsSurvivesFailover: DeleteRecords at the leader
// of an RF 3 partition moves every replica's log start (followers take it
// from their fetch answers) before it is answered, so after the leader is shut down the new
// leader serves from the new start, and the records below it stay
// deleted.
func TestClusterDeleteRecordsSurvivesFailover(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctx, "d", 1, 3, map[string]string{"min.insync.replicas": "2", "segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	var seeds []string
	for _, b := range bs {
		seeds = append(seeds, b.KafkaAddr().String())
	}
	kc, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	for i := 0; i < 60; i++ {
		r := &kgo.Record{Topic: "d", Value: fmt.Appendf(nil, "v%04d", i)}
		if err := kc.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}

	res, err := admin.DeleteRecords(ctx, map[client.TopicPartition]int64{{Topic: "d", Partition: 0}: 37})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[client.TopicPartition{Topic: "d", Partition: 0}]; r.Err != nil || r.LowWatermark != 37 {
		t.Fatalf("delete records below 37: %+v", r)
	}
	// The answer came once every in-sync replica had moved its log start
	// (Kafka's low watermark): no waiting here.
	for i, b := range bs {
		p, err := b.Engine.Partition("d", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.LogStartOffset(); got != 37 {
			t.Fatalf("broker %d's log start is %d when DeleteRecords answered, want 37", i+1, got)
		}
	}

	info, err := admin.DescribeTopic(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	leader := info.Partitions[0].Leader
	// A follower refuses: the request goes to the leader.
	follower := leader%3 + 1
	dr := kmsg.NewPtrDeleteRecordsRequest()
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "d"
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 40
	dt.Partitions = append(dt.Partitions, dp)
	dr.Topics = append(dr.Topics, dt)
	kr, err := kc.Broker(int(follower)).Request(ctx, dr)
	if err != nil {
		t.Fatal(err)
	}
	if p := kr.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]; p.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("delete records at follower %d: code %d, want NOT_LEADER_OR_FOLLOWER", follower, p.ErrorCode)
	}
	closeCtx, closeCancel := context.WithTimeout(ctx, 20*time.Second)
	if err := bs[leader-1].Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	closeCancel()
	var other *broker.Broker
	for _, b := range bs {
		if b != bs[leader-1] {
			other = b
			break
		}
	}
	ocl, err := client.New(ctx, client.Config{BootstrapServers: []string{other.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ocl.Close()
	eventually(t, "a new leader", func() bool {
		info, err = ocl.DescribeTopic(ctx, "d")
		return err == nil && info.Partitions[0].Leader >= 0 && info.Partitions[0].Leader != leader
	})
	var start int64
	eventually(t, "ListOffsets earliest at the new leader", func() bool {
		start, err = ocl.ListOffset(ctx, "d", 0, protocol.EarliestTimestamp)
		return err == nil
	})
	if start != 37 {
		t.Fatalf("the new leader's log start is %d, want 37", start)
	}
	// Below the start is out of range at the new leader; a consumer from
	// the start reads 37 onwards.
	p, err := bs[info.Partitions[0].Leader-1].Engine.Partition("d", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(36, 1<<20); err == nil {
		t.Fatal("the new leader reads offset 36, below the log start")
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(other.KafkaAddr().String()), kgo.ConsumeTopics("d"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got []*kgo.Record
	for len(got) < 60-37 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	if got[0].Offset != 37 || string(got[0].Value) != "v0037" {
		t.Fatalf("first record from the start after failover: offset %d %q, want 37 v0037", got[0].Offset, got[0].Value)
	}
}

// TestClusterDeleteRecordsWaitsForLostFollower: with an in-sync follower
// lost and not yet fenced (a long session timeout), DeleteRecords cannot
// get every in-sync replica past the offset: it answers REQUEST_TIMED_OUT
// once the request's timeout has run, not success.
func TestClusterDeleteRecordsWaitsForLostFollower(t *testing.T) {
	_, bs, leader, follower := startRF2Partition(t, "w")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kc, err := kgo.NewClient(kgo.SeedBrokers(bs[leader-1].KafkaAddr().String()), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	for i := 0; i < 5; i++ {
		if err := kc.ProduceSync(ctx, &kgo.Record{Topic: "w", Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	kill(bs[follower-1])
	bs[follower-1] = nil

	dr := kmsg.NewPtrDeleteRecordsRequest()
	dr.TimeoutMillis = 1000
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "w"
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 3
	dt.Partitions = append(dt.Partitions, dp)
	dr.Topics = append(dr.Topics, dt)
	kr, err := kc.Broker(int(leader)).Request(ctx, dr)
	if err != nil {
		t.Fatal(err)
	}
	if p := kr.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]; p.ErrorCode != kerr.RequestTimedOut.Code {
		t.Fatalf("delete records with an in-sync follower lost: code %d, low watermark %d; want REQUEST_TIMED_OUT", p.ErrorCode, p.LowWatermark)
	}
}
