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

	infos := describeFromEach(t, ctx, bs, "events")
	for i, info := range infos {
		leaders := map[int32]int{}
		for _, p := range info.Partitions {
			if len(p.Replicas) != 3 || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) {
				t.Fatalf("broker %d: partition %+v", i+1, p)
			}
			leaders[p.Leader]++
		}
		if len(leaders) != 3 {
			t.Fatalf("broker %d: leaders %v are not spread over the 3 brokers", i+1, leaders)
		}
	}
	want := infos[0].Partitions

	// franz-go through broker 3 only and the native client through broker
	// 1 only: each learns every broker and goes to each partition's leader.
	produceConsumeVia(t, ctx, bs[2], bs[0], "events", 6)

	kc, err := kgo.NewClient(kgo.SeedBrokers(bs[2].KafkaAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	md, err := kadm.NewClient(kc).Metadata(ctx, "events")
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

}

// describeFromEach describes topic through each broker's native listener,
// waiting for each to know it, and requires them all to see the same
// placement.
func describeFromEach(t *testing.T, ctx context.Context, bs []*broker.Broker, topic string) []client.TopicInfo {
	t.Helper()
	var infos []client.TopicInfo
	for i, b := range bs {
		cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		var info client.TopicInfo
		eventually(t, fmt.Sprintf("broker %d to describe %s", i+1, topic), func() bool {
			info, err = cl.DescribeTopic(ctx, topic)
			return err == nil
		})
		cl.Close()
		if i > 0 && fmt.Sprint(placement(info.Partitions)) != fmt.Sprint(placement(infos[0].Partitions)) {
			t.Fatalf("broker %d sees %v, broker 1 saw %v", i+1, placement(info.Partitions), placement(infos[0].Partitions))
		}
		infos = append(infos, info)
	}
	return infos
}

// produceConsumeVia produces 10 records to each partition of topic with
// franz-go bootstrapped from kafkaVia alone and reads them back, then one
// more to each with the native client bootstrapped from nativeVia alone,
// and checks every partition ends at 11.
func produceConsumeVia(t *testing.T, ctx context.Context, kafkaVia, nativeVia *broker.Broker, topic string, partitions int32) {
	t.Helper()
	kc, err := kgo.NewClient(kgo.SeedBrokers(kafkaVia.KafkaAddr().String()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	total := 10 * int(partitions)
	for i := range total {
		r := &kgo.Record{Topic: topic, Partition: int32(i) % partitions, Value: fmt.Appendf(nil, "v%d", i)}
		if err := kc.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	got := 0
	for got < total {
		fs := kc.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	if got != total {
		t.Fatalf("consumed %d records, want %d", got, total)
	}

	ncl, err := client.New(ctx, client.Config{BootstrapServers: []string{nativeVia.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ncl.Close()
	prod, err := ncl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner()})
	if err != nil {
		t.Fatal(err)
	}
	for p := range partitions {
		if _, err := prod.SendSync(ctx, &client.Record{Topic: topic, Partition: p, Value: []byte("native")}); err != nil {
			t.Fatalf("native produce to partition %d: %v", p, err)
		}
	}
	prod.Close(ctx)
	info, err := ncl.DescribeTopic(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Partitions) != int(partitions) {
		t.Fatalf("%d partitions described, want %d", len(info.Partitions), partitions)
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
		p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner()})
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
