package broker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/segment/batch"
)

// TestReplicationCopiesAndFailsOver: a topic with RF 3 and
// min.insync.replicas 2. Records produced with acks=all reach every
// replica's own log byte for byte; closing the leader (controlled
// shutdown) moves leadership within the ISR with a new epoch; producing
// goes on through the new leader, and every record acknowledged is read
// back, in order, none twice.
func TestReplicationCopiesAndFailsOver(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctx, "r", 1, 3, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatal(err)
	}
	seeds := []string{}
	for _, b := range bs {
		seeds = append(seeds, b.KafkaAddr().String())
	}
	kc, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			r := &kgo.Record{Topic: "r", Key: []byte("k"), Value: fmt.Appendf(nil, "v%04d", i)}
			if err := kc.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v", i, err)
			}
		}
	}
	produce(0, 50)

	// Every replica holds the same 50 records under leader epoch 0.
	logs := func(b *broker.Broker) []byte {
		p, err := b.Engine.Partition("r", 0)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "replica to catch up", func() bool { return p.LogEndOffset() >= 50 })
		r, err := p.ReadReplica(0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		out, err := r.ReadTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := logs(bs[0])
	for i, b := range bs[1:] {
		if got := logs(b); !slices.Equal(got, want) {
			t.Fatalf("broker %d holds %d bytes that differ from the leader's %d", i+2, len(got), len(want))
		}
	}
	h, _ := batch.ParseHeader(want)
	if h.PartitionLeaderEpoch != 0 {
		t.Fatalf("batches carry leader epoch %d, want 0", h.PartitionLeaderEpoch)
	}

	info, err := admin.DescribeTopic(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	leader := info.Partitions[0].Leader
	if len(info.Partitions[0].ISR) != 3 {
		t.Fatalf("ISR %v, want all 3 replicas", info.Partitions[0].ISR)
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
		info, err = ocl.DescribeTopic(ctx, "r")
		return err == nil && info.Partitions[0].Leader >= 0 && info.Partitions[0].Leader != leader
	})
	produce(50, 100)

	cons, err := kgo.NewClient(kgo.SeedBrokers(other.KafkaAddr().String()), kgo.ConsumeTopics("r"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got []string
	for len(got) < 100 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	for i, v := range got {
		if v != fmt.Sprintf("v%04d", i) {
			t.Fatalf("record %d is %q", i, v)
		}
	}
	p, err := bs[info.Partitions[0].Leader-1].Engine.Partition("r", 0)
	if err != nil {
		t.Fatal(err)
	}
	if hist := p.EpochHistory(); len(hist) != 2 || hist[1][1] != 50 {
		t.Fatalf("new leader's epoch history %v, want epoch 0 from 0 and the new epoch from 50", hist)
	}
}
