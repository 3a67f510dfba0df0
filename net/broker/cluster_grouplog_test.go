package broker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/grouplog"
)

// offsetsTopicReady has the cluster create __consumer_offsets (as the
// first FindCoordinator would) and waits until every live broker sees each
// of its partitions led and fully in sync, so that a coordinator's loss
// loses nothing it acknowledged.
func offsetsTopicReady(t *testing.T, ctx context.Context, bs []*broker.Broker) {
	t.Helper()
	if err := bs[0].Member().CreateOffsetsTopic(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the offsets topic to be led and in sync on every broker", func() bool {
		for _, b := range bs {
			top, ok := b.Member().State().Topic(grouplog.Topic)
			if !ok {
				return false
			}
			for i, p := range top.Partitions {
				if p.Leader < 0 || len(p.ISR) != len(p.Replicas) {
					return false
				}
				// The broker's leadership map, which FindCoordinator
				// and the group APIs read, follows the image a moment
				// later.
				if _, err := b.Member().LeaderEpoch(grouplog.Topic, int32(i)); errors.Is(err, engine.ErrUnknownTopic) {
					return false
				}
			}
		}
		return true
	})
}

// ordersTopic creates a topic of 3 partitions, RF 3, and produces n
// records to each partition with acks=all.
func ordersTopic(t *testing.T, ctx context.Context, bs []*broker.Broker, n int) {
	t.Helper()
	eventually(t, "every broker to see three live brokers", func() bool {
		for _, b := range bs {
			if len(b.Member().Brokers("SLUICE")) != 3 {
				return false
			}
		}
		return true
	})
	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctx, "orders", 3, 3, nil); err != nil {
		t.Fatal(err)
	}
	produceOrders(t, ctx, bs, 0, n)
}

// produceOrders produces records from..to-1 to each partition of orders.
func produceOrders(t *testing.T, ctx context.Context, bs []*broker.Broker, from, to int) {
	t.Helper()
	// A produce that cannot be delivered fails within the delivery
	// timeout with franz-go's own account of what it tried, instead of
	// retrying until the package's timeout (once seen in CI, not
	// understood yet).
	var kgoLog syncBuffer
	kc, err := kgo.NewClient(kgo.SeedBrokers(kafkaSeeds(bs)...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(45*time.Second),
		kgo.WithLogger(kgo.BasicLogger(&kgoLog, kgo.LogLevelInfo, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	for i := from; i < to; i++ {
		for p := int32(0); p < 3; p++ {
			r := &kgo.Record{Topic: "orders", Partition: p, Value: fmt.Appendf(nil, "order %d-%d", p, i)}
			pctx, cancel := context.WithTimeout(ctx, 50*time.Second)
			err := kc.ProduceSync(pctx, r).FirstErr()
			cancel()
			if err != nil {
				t.Fatalf("produce to orders/%d: %v\nfranz-go's log:\n%s", p, err, kgoLog.String())
			}
		}
	}
}

// syncBuffer collects a client's log lines from its goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// kafkaSeeds are the Kafka listeners of the brokers still running (nil
// entries are brokers a test stopped).
func kafkaSeeds(bs []*broker.Broker) []string {
	var out []string
	for _, b := range bs {
		if b != nil {
			out = append(out, b.KafkaAddr().String())
		}
	}
	return out
}

// kill stops a broker the way a crash looks to the rest of the cluster:
// no controlled shutdown, so its leaderships move only once the controller
// fences it for missing heartbeats (broker.session.timeout.ms, 3 s in test
// clusters). Its data is flushed all the same: this is a lost broker, not
// a torn disk (cmd/sluiced's process tests kill -9).
func kill(b *broker.Broker) {
	b.Member().SkipControlledShutdown()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nor wait for connections to finish
	b.Close(ctx)
}

// TestClusterGroupOffsetsSurviveCoordinatorShutdown: a franz-go group
// consumer commits explicitly; its coordinator is closed (a controlled
// shutdown, which moves its leaderships); FindCoordinator then names
// another broker, which has loaded the group's partition of
// __consumer_offsets: kadm reads back every committed offset, and a new
// member of the group carries on from them.
func TestClusterGroupOffsetsSurviveCoordinatorShutdown(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const perPartition = 10
	ordersTopic(t, ctx, bs, perPartition)
	offsetsTopicReady(t, ctx, bs)
	const group = "billing"

	kc, err := kgo.NewClient(kgo.SeedBrokers(kafkaSeeds(bs)...), kgo.ConsumerGroup(group), kgo.ConsumeTopics("orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	consumeN(t, ctx, kc, 3*perPartition)
	var commitErr error
	kc.CommitOffsetsSync(ctx, kc.UncommittedOffsets(), func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
		if err == nil {
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode != 0 && commitErr == nil {
						commitErr = fmt.Errorf("%s/%d: error code %d", t.Topic, p.Partition, p.ErrorCode)
					}
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatalf("commit: %v", commitErr)
	}
	kc.Close() // leaves the group: what is left is its offsets

	ac, err := kgo.NewClient(kgo.SeedBrokers(kafkaSeeds(bs)...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(ac)
	found := adm.FindGroupCoordinators(ctx, group)
	if found[group].Err != nil {
		t.Fatal(found[group].Err)
	}
	coord := found[group].NodeID
	ac.Close()
	t.Logf("group %q is coordinated by broker %d, the leader of %s-%d", group, coord, grouplog.Topic, grouplog.PartitionFor(group, grouplog.DefaultPartitions))

	closeCtx, closeCancel := context.WithTimeout(ctx, 20*time.Second)
	if err := bs[coord-1].Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	closeCancel()
	bs[coord-1] = nil
	checkOffsetsFromAnotherBroker(t, ctx, bs, group, coord, perPartition)

	// A new member of the group starts from the committed offsets.
	produceOrders(t, ctx, bs, perPartition, perPartition+1)
	kc2, err := kgo.NewClient(kgo.SeedBrokers(kafkaSeeds(bs)...), kgo.ConsumerGroup(group), kgo.ConsumeTopics("orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer kc2.Close()
	for _, r := range consumeN(t, ctx, kc2, 3) {
		if r.Offset != perPartition {
			t.Fatalf("the group resumed %s/%d at %d, want %d", r.Topic, r.Partition, r.Offset, perPartition)
		}
	}
}

// checkOffsetsFromAnotherBroker waits until FindCoordinator, asked of the
// brokers left, names a coordinator other than old, then reads the group's
// offsets with kadm: every partition of orders at want. Each attempt is a
// new client: a broker that has not yet applied the old coordinator's
// fencing may still name it for a moment, and franz-go's sharded
// OffsetFetch (kadm.FetchOffsets, v1.22.3) keeps such an answer while the
// broker it names cannot be dialled, where its consumer-group requests
// drop it.
func checkOffsetsFromAnotherBroker(t *testing.T, ctx context.Context, bs []*broker.Broker, group string, old int32, want int64) {
	t.Helper()
	start := time.Now()
	var now int32
	var offs kadm.OffsetResponses
	eventually(t, "another broker to coordinate the group and answer OffsetFetch", func() bool {
		ac, err := kgo.NewClient(kgo.SeedBrokers(kafkaSeeds(bs)...))
		if err != nil {
			t.Fatal(err)
		}
		defer ac.Close()
		adm := kadm.NewClient(ac)
		r := adm.FindGroupCoordinators(ctx, group)[group]
		if now = r.NodeID; r.Err != nil || r.NodeID == old || r.NodeID < 0 {
			return false
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		offs, err = adm.FetchOffsets(actx, group)
		return err == nil && offs.Error() == nil
	})
	t.Logf("broker %d took group %q over; its offsets read back %v after the old coordinator went", now, group, time.Since(start).Round(time.Millisecond))
	if n := len(offs.Offsets()["orders"]); n != 3 {
		t.Fatalf("kadm sees offsets of %d partitions, want 3: %v", n, offs)
	}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil || o.At != want {
			t.Fatalf("kadm: %s/%d at %d (%v), want %d", o.Topic, o.Partition, o.At, o.Err, want)
		}
	})
}

// consumeN polls kc until it has n records, within 45 s.
func consumeN(t *testing.T, ctx context.Context, kc *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	var got []*kgo.Record
	deadline := time.Now().Add(45 * time.Second)
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("consumed %d of %d records", len(got), n)
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		fs := kc.PollFetches(pctx)
		pcancel()
		fs.EachError(func(topic string, p int32, err error) {
			if ctx.Err() == nil && err != context.DeadlineExceeded {
				t.Logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		got = append(got, fs.Records()...)
	}
	return got
}

// TestClusterGroupOffsetsSurviveCoordinatorKill: franz-go commits, then
// the coordinator is lost without a controlled shutdown; once the
// controller fences it, the new leader of the group's partition loads it
// and kadm reads back every offset.
func TestClusterGroupOffsetsSurviveCoordinatorKill(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ordersTopic(t, ctx, bs, 5)
	offsetsTopicReady(t, ctx, bs)
	group := groupCoordinatedBy(t, bs, 2, "audit")
	ac, err := kgo.NewClient(kgo.SeedBrokers(kafkaSeeds(bs)...))
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	adm := kadm.NewClient(ac)
	commit := kadm.Offsets{}
	for p := int32(0); p < 3; p++ {
		commit.Add(kadm.Offset{Topic: "orders", Partition: p, At: 4, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(ctx, group, commit)
	if err != nil || resp.Error() != nil {
		t.Fatalf("kadm commit: %v, %v", err, resp.Error())
	}
	kill(bs[1])
	bs[1] = nil
	checkOffsetsFromAnotherBroker(t, ctx, bs, group, 2, 4)
}

// TestClusterNativeGroupSurvivesCoordinatorKill: a native GroupConsumer,
// bootstrapped from every broker, commits; its coordinator is killed
// (no controlled shutdown). The same consumer carries on through the new
// coordinator: the group's membership was replicated with its offsets, so
// it keeps its generation (no rebalance), reads only what is new, and
// commits again; the native admin reads the offsets through a broker left.
func TestClusterNativeGroupSurvivesCoordinatorKill(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const perPartition = 10
	ordersTopic(t, ctx, bs, perPartition)
	offsetsTopicReady(t, ctx, bs)
	group := groupCoordinatedBy(t, bs, 3, "native")
	var seeds []string
	for _, b := range bs {
		seeds = append(seeds, b.Addr().String())
	}
	cl, err := client.New(ctx, client.Config{BootstrapServers: seeds})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	g, err := cl.NewGroupConsumer(client.GroupConfig{GroupID: group, Topics: []string{"orders"},
		AutoOffsetReset: "earliest", DisableAutoCommit: true, SessionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	poll := func(n int, from int64) {
		t.Helper()
		read := 0
		deadline := time.Now().Add(45 * time.Second)
		for read < n {
			if time.Now().After(deadline) {
				t.Fatalf("the group read %d of %d records", read, n)
			}
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			recs, err := g.Poll(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil && pctx.Err() == nil {
				t.Logf("poll: %v", err)
			}
			for _, r := range recs {
				if r.Offset < from {
					t.Fatalf("read %s/%d at %d again: the group did not resume at %d", r.Topic, r.Partition, r.Offset, from)
				}
			}
			read += len(recs)
		}
		if err := g.CommitSync(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	poll(3*perPartition, 0)
	before, err := cl.DescribeGroup(ctx, group)
	if err != nil || before.State != "Stable" || len(before.Members) != 1 {
		t.Fatalf("the group before: %+v, %v", before, err)
	}

	start := time.Now()
	kill(bs[2])
	bs[2] = nil
	eventually(t, "another broker to lead the group's partition", func() bool {
		id := bs[0].Member().CoordinatorID(group)
		return id >= 0 && id != 3
	})
	produceOrders(t, ctx, bs, perPartition, perPartition+3)
	poll(3*3, perPartition)
	t.Logf("the consumer read and committed again %v after its coordinator was killed", time.Since(start).Round(time.Millisecond))

	offs, err := cl.FetchGroupOffsets(ctx, group, nil)
	if err != nil || len(offs) != 3 {
		t.Fatalf("offsets after the failover: %v, %v", offs, err)
	}
	for tp, o := range offs {
		if o.Offset != perPartition+3 {
			t.Fatalf("%v committed at %d, want %d", tp, o.Offset, perPartition+3)
		}
	}
	after, err := cl.DescribeGroup(ctx, group)
	if err != nil || after.State != "Stable" || after.Generation != before.Generation || len(after.Members) != 1 ||
		after.Members[0].MemberID != before.Members[0].MemberID {
		t.Fatalf("the group after the failover: %+v (%v), before: %+v", after, err, before)
	}
}
