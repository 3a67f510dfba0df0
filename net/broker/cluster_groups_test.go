package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/grouplog"
)

// TestClusterGroupsLiveOnTheirCoordinator: three brokers, each with its own
// group coordinator, but a group is served by one broker only: the leader
// of its partition of __consumer_offsets. A native GroupConsumer and a
// franz-go group consumer, each bootstrapped from a broker that does not
// coordinate its group, consume and commit; the commits are in the
// coordinator's view alone and are read back through a third broker. A
// group request sent straight to another broker is refused with
// NOT_COORDINATOR.
func TestClusterGroupsLiveOnTheirCoordinator(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	byID := map[int32]*broker.Broker{}
	for _, b := range bs {
		byID[b.Member().NodeID()] = b
	}
	// Every broker must see all three live before the coordinators agree.
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
	prod, err := admin.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner()})
	if err != nil {
		t.Fatal(err)
	}
	const perPartition = 10
	for i := 0; i < 3*perPartition; i++ {
		var r *client.Record
		r = &client.Record{Topic: "orders", Partition: int32(i % 3), Value: []byte(fmt.Sprint("order ", i))}
		eventually(t, "a produce to succeed", func() bool {
			_, err = prod.SendSync(ctx, r)
			return err == nil
		})
	}
	prod.Close(ctx)

	// (a) The native client. The group is coordinated by broker 3; the
	// consumer starts from broker 1; the offsets are read through broker 2.
	offsetsTopicReady(t, ctx, bs)
	nativeGroup := groupCoordinatedBy(t, bs, 3, "native")
	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{byID[1].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	start := time.Now()
	g, err := cl.NewGroupConsumer(client.GroupConfig{GroupID: nativeGroup, Topics: []string{"orders"},
		AutoOffsetReset: "earliest", DisableAutoCommit: true, SessionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	deadline := time.Now().Add(45 * time.Second)
	for read < 3*perPartition {
		if time.Now().After(deadline) {
			t.Fatalf("native group read %d of %d records", read, 3*perPartition)
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		recs, err := g.Poll(pctx)
		pcancel()
		if err != nil && ctx.Err() == nil && pctx.Err() == nil {
			t.Fatalf("poll: %v", err)
		}
		read += len(recs)
	}
	if err := g.CommitSync(ctx); err != nil {
		t.Fatalf("native commit: %v", err)
	}
	g.Close()
	t.Logf("native group %q read and committed in %v", nativeGroup, time.Since(start).Round(time.Millisecond))

	third, err := client.New(ctx, client.Config{BootstrapServers: []string{byID[2].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	offs, err := third.FetchGroupOffsets(ctx, nativeGroup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != 3 {
		t.Fatalf("native group offsets through broker 2: %v", offs)
	}
	for p, o := range offs {
		if o.Offset != perPartition {
			t.Fatalf("native group committed %d for %v, want %d", o.Offset, p, perPartition)
		}
	}
	onlyOn(t, byID, nativeGroup, 3)
	d, err := third.DescribeGroup(ctx, nativeGroup)
	if err != nil || d.State != "Empty" {
		t.Fatalf("describe the native group through broker 2: %+v, %v", d, err)
	}

	// (b) franz-go. The group is coordinated by broker 2; the consumer
	// starts from broker 3's Kafka listener; kadm reads through broker 1.
	kafkaGroup := groupCoordinatedBy(t, bs, 2, "kafka")
	start = time.Now()
	kc, err := kgo.NewClient(kgo.SeedBrokers(byID[3].KafkaAddr().String()), kgo.ConsumerGroup(kafkaGroup),
		kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	got := 0
	deadline = time.Now().Add(45 * time.Second)
	for got < 3*perPartition {
		if time.Now().After(deadline) {
			t.Fatalf("kgo group read %d of %d records", got, 3*perPartition)
		}
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		fs := kc.PollFetches(pctx)
		pcancel()
		fs.EachError(func(topic string, p int32, err error) {
			if ctx.Err() == nil && err != context.DeadlineExceeded {
				t.Fatalf("kgo fetch %s/%d: %v", topic, p, err)
			}
		})
		got += fs.NumRecords()
	}
	if err := kc.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("kgo commit: %v", err)
	}
	t.Logf("kgo group %q read and committed in %v", kafkaGroup, time.Since(start).Round(time.Millisecond))

	ac, err := kgo.NewClient(kgo.SeedBrokers(byID[1].KafkaAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	kofs, err := kadm.NewClient(ac).FetchOffsets(ctx, kafkaGroup)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(kofs.Offsets()["orders"]); n != 3 {
		t.Fatalf("kadm sees offsets for %d partitions: %v", n, kofs)
	}
	kofs.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil || o.At != perPartition {
			t.Fatalf("kadm: %s/%d at %d (%v), want %d", o.Topic, o.Partition, o.At, o.Err, perPartition)
		}
	})
	onlyOn(t, byID, kafkaGroup, 2)

	// The native listing asks every broker: both groups, once each.
	ls, err := third.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range ls {
		seen[l.Group]++
	}
	if seen[nativeGroup] != 1 || seen[kafkaGroup] != 1 {
		t.Fatalf("ListGroups: %+v", ls)
	}

	// (c) Straight to a broker that is not the coordinator: refused; the
	// coordinator answers.
	for id := int32(1); id <= 3; id++ {
		want := kerr.NotCoordinator.Code
		if id == 2 {
			want = 0
		}
		fetch := kmsg.NewPtrOffsetFetchRequest()
		fetch.Group = kafkaGroup
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = kafkaGroup
		fetch.Groups = append(fetch.Groups, rg)
		fresp, err := fetch.RequestWith(ctx, ac.Broker(int(id)))
		if err != nil {
			t.Fatal(err)
		}
		code := fresp.ErrorCode
		if fresp.Version >= 8 {
			code = fresp.Groups[0].ErrorCode
		}
		if code != want {
			t.Fatalf("OffsetFetch v%d on broker %d: %v, want %v", fresp.Version, id, kerr.ErrorForCode(code), kerr.ErrorForCode(want))
		}
		if id == 2 {
			continue // a join would block for the rebalance
		}
		join := kmsg.NewPtrJoinGroupRequest()
		join.Group, join.ProtocolType = kafkaGroup, "consumer"
		join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 10000, 10000
		jp := kmsg.NewJoinGroupRequestProtocol()
		jp.Name, jp.Metadata = "range", []byte{}
		join.Protocols = append(join.Protocols, jp)
		jresp, err := join.RequestWith(ctx, ac.Broker(int(id)))
		if err != nil {
			t.Fatal(err)
		}
		if jresp.ErrorCode != kerr.NotCoordinator.Code {
			t.Fatalf("JoinGroup on broker %d: %v, want NOT_COORDINATOR", id, kerr.ErrorForCode(jresp.ErrorCode))
		}
	}
}

// groupCoordinatedBy finds a group id, starting with prefix, that every
// broker agrees node coordinates.
func groupCoordinatedBy(t *testing.T, bs []*broker.Broker, node int32, prefix string) string {
	t.Helper()
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		agree := true
		for _, b := range bs {
			agree = agree && b.Member().CoordinatorID(name) == node
		}
		if agree {
			return name
		}
	}
	leaders := map[int32]int{}
	if top, ok := bs[0].Member().State().Topic(grouplog.Topic); ok {
		for _, p := range top.Partitions {
			leaders[p.Leader]++
		}
	}
	t.Fatalf("no group id coordinated by broker %d (partitions of %s each broker leads: %v)", node, grouplog.Topic, leaders)
	return ""
}

// onlyOn checks that a group's offsets are in its coordinator's view and
// in no other broker's: the group did not split. (The other replicas of
// its partition of __consumer_offsets hold its records, not a view.)
func onlyOn(t *testing.T, byID map[int32]*broker.Broker, group string, coordinator int32) {
	t.Helper()
	for id, b := range byID {
		offs, err := b.Engine.FetchOffsets(group)
		if err != nil {
			t.Fatal(err)
		}
		if id == coordinator && len(offs) != 3 || id != coordinator && len(offs) != 0 {
			t.Fatalf("broker %d holds %d offsets of group %s (coordinator %d)", id, len(offs), group, coordinator)
		}
	}
}
