package broker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
)

// TestClusterPlacesAndRoutes: three brokers in one process. A topic made
// with RF 3 through one broker's native listener is seen the same from
// every broker on both listeners, its leaders spread; Kafka and native
// clients bootstrapped from any broker reach each partition's leader; a
// broker that does not lead a partition refuses it with
// NOT_LEADER_OR_FOLLOWER.
func TestClusterPlacesAndRoutes(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[1].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctx, "events", 6, 3, nil); err != nil {
		t.Fatal(err)
	}
	// RF above the live brokers is refused as Kafka refuses it.
	err = admin.CreateTopic(ctx, "wide", 1, 4, nil)
	var be *client.BrokerError
	if !errors.As(err, &be) || be.Code != protocol.ErrInvalidReplicationFactor {
		t.Fatalf("RF 4 on 3 brokers: %v, want INVALID_REPLICATION_FACTOR", err)
	}

	var want []client.PartitionInfo
	for i, b := range bs {
		cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		var info client.TopicInfo
		eventually(t, fmt.Sprintf("broker %d to describe events", i+1), func() bool {
			info, err = cl.DescribeTopic(ctx, "events")
			return err == nil
		})
		cl.Close()
		leaders := map[int32]int{}
		for _, p := range info.Partitions {
			if len(p.Replicas) != 3 || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, []int32{p.Leader}) {
				t.Fatalf("broker %d: partition %+v", i+1, p)
			}
			leaders[p.Leader]++
		}
		if len(leaders) != 3 {
			t.Fatalf("broker %d: leaders %v are not spread over the 3 brokers", i+1, leaders)
		}
		if want == nil {
			want = info.Partitions
		} else if fmt.Sprint(placement(want)) != fmt.Sprint(placement(info.Partitions)) {
			t.Fatalf("broker %d sees %v, broker 1 saw %v", i+1, placement(info.Partitions), placement(want))
		}
	}

	// franz-go through broker 3 only: it learns every broker and produces to
	// and fetches from each partition's leader.
	kc, err := kgo.NewClient(kgo.SeedBrokers(bs[2].KafkaAddr().String()), kgo.ConsumeTopics("events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	for i := 0; i < 60; i++ {
		r := &kgo.Record{Topic: "events", Partition: int32(i % 6), Value: []byte(fmt.Sprintf("v%d", i))}
		if err := kc.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	got := 0
	for got < 60 {
		fs := kc.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	adm := kadm.NewClient(kc)
	md, err := adm.Metadata(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 3 {
		t.Fatalf("kafka metadata lists %d brokers: %v", len(md.Brokers), md.Brokers)
	}

	// DescribeCluster on the Kafka listener names the controller and every
	// broker, as kadm and kafka-metadata tools ask.
	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.Version, dc.IncludeFencedBrokers = 2, true
	dcr, err := dc.RequestWith(ctx, kc)
	if err != nil || dcr.ErrorCode != 0 || len(dcr.Brokers) != 3 || dcr.ControllerID < 1 {
		t.Fatalf("DescribeCluster: %+v, %v", dcr, err)
	}

	// Each broker refuses the partitions it does not lead.
	p0 := want[0]
	for _, b := range bs {
		id := b.Member().NodeID()
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "events"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p0.Partition, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, kc.Broker(int(id)))
		if err != nil {
			t.Fatal(err)
		}
		code := resp.Topics[0].Partitions[0].ErrorCode
		if id == p0.Leader && code != 0 || id != p0.Leader && code != kerr.NotLeaderForPartition.Code {
			t.Fatalf("broker %d (leader %d) answers ListOffsets with %v", id, p0.Leader, kerr.ErrorForCode(code))
		}
	}

	// The native client, bootstrapped from broker 1, produces and reads back.
	ncl, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ncl.Close()
	prod, err := ncl.NewProducer(client.ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 6; p++ {
		if _, err := prod.SendSync(ctx, &client.Record{Topic: "events", Partition: p, Value: []byte("native")}); err != nil {
			t.Fatalf("native produce to partition %d: %v", p, err)
		}
	}
	prod.Close(ctx)
	info, err := ncl.DescribeTopic(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range info.Partitions {
		if p.HighWatermark != 11 {
			t.Fatalf("partition %d ends at %d, want 11 (10 from kgo, 1 native)", p.Partition, p.HighWatermark)
		}
	}
}

func placement(ps []client.PartitionInfo) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d:%d%v%v", p.Partition, p.Leader, p.Replicas, p.ISR))
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterRestartKeepsRecreatedTopic: raft replays its log from the last
// snapshot at every start, through images older than the storage on disk.
// A topic deleted and created again under its name must come back from a
// restart with the new topic's records, not be emptied by the replay.
func TestClusterRestartKeepsRecreatedTopic(t *testing.T) {
	cfgs, err := broker.TestClusterConfigs(1, t.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := cfgs[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := func() *broker.Broker {
		b, err := broker.StartContext(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	produce := func(b *broker.Broker, n int) {
		cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		p, err := cl.NewProducer(client.ProducerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		for i := 0; i < n; i++ {
			if _, err := p.SendSync(ctx, &client.Record{Topic: "x", Partition: 0, Value: []byte("v")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := func(b *broker.Broker) int64 {
		cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		off, err := cl.ListOffset(ctx, "x", 0, protocol.LatestTimestamp)
		if err != nil {
			t.Fatal(err)
		}
		return off
	}
	b := start()
	adm, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.CreateTopic(ctx, "x", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	produce(b, 3)
	if err := adm.DeleteTopic(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := adm.CreateTopic(ctx, "x", 1, 1, map[string]string{"retention.ms": "3600000"}); err != nil {
		t.Fatal(err)
	}
	adm.Close()
	produce(b, 2)
	if got := end(b); got != 2 {
		t.Fatalf("before the restart x ends at %d, want 2", got)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.ControllerListener = nil // a restart binds its CONTROLLER address again
	b = start()
	defer b.Close(ctx)
	if got := end(b); got != 2 {
		t.Fatalf("after the restart x ends at %d, want its 2 records", got)
	}
}
