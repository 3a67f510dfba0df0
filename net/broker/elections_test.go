package broker_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
	"github.com/sluicelog/sluice/net/protocol"
)

// startCluster starts brokers from cfgs (as TestClusterRolesConfigs makes
// them) and closes whatever is still running when the test ends.
func startCluster(t *testing.T, cfgs []broker.Config) []*broker.Broker {
	t.Helper()
	bs := make([]*broker.Broker, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			bs[i], errs[i] = broker.StartContext(ctx, cfgs[i], nil)
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, b := range bs {
			if b != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				b.Close(ctx)
				cancel()
			}
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("broker %d: %v", i+1, err)
		}
	}
	return bs
}

// TestMinInsyncAndUncleanElection: with min.insync.replicas 2, acks=all is
// refused with NOT_ENOUGH_REPLICAS once the ISR is the leader alone, while
// acks=1 goes on. When the last ISR member goes too, a topic with
// unclean.leader.election.enable=true is led again by the out-of-sync
// replica that comes back; one without it stays offline.
func TestMinInsyncAndUncleanElection(t *testing.T) {
	// Three controllers keep the quorum; broker 4 (broker-only) and
	// controller 3 hold the topics' replicas.
	cfgs, err := broker.TestClusterRolesConfigs(3, 1, t.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	bs := startCluster(t, cfgs)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	kadmin, err := kgo.NewClient(kgo.SeedBrokers(bs[0].KafkaAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer kadmin.Close()
	for _, tc := range []struct {
		name    string
		unclean string
	}{{"clean", "false"}, {"unclean", "true"}} {
		req := kmsg.NewCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = tc.name, -1, -1
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = 0, []int32{4, 3}
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
		for k, v := range map[string]string{"min.insync.replicas": "2", "unclean.leader.election.enable": tc.unclean} {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, kmsg.StringPtr(v)
			rt.Configs = append(rt.Configs, c)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, kadmin)
		if err == nil {
			err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
		}
		if err != nil {
			t.Fatalf("create %s: %v", tc.name, err)
		}
	}
	produce := func(topic string, acks kgo.Acks) error {
		kc, err := kgo.NewClient(kgo.SeedBrokers(bs[0].KafkaAddr().String()), kgo.RequiredAcks(acks),
			kgo.DisableIdempotentWrite(), kgo.RecordDeliveryTimeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer kc.Close()
		return kc.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
	}
	for _, topic := range []string{"clean", "unclean"} {
		if err := produce(topic, kgo.AllISRAcks()); err != nil {
			t.Fatalf("%s: acks=all with the whole ISR: %v", topic, err)
		}
	}
	closeBroker := func(i int) {
		t.Helper()
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		defer ccancel()
		if err := bs[i].Close(cctx); err != nil {
			t.Fatal(err)
		}
		bs[i] = nil
	}
	// Placement as broker 1's image has it (describing through a client
	// would wait on the dead leader for the high watermark).
	isr := func(topic string) (int32, []int32) {
		p, ok := bs[0].Member().State().Partition(topic, 0)
		if !ok {
			return -2, nil
		}
		return p.Leader, p.ISR
	}

	closeBroker(2) // broker 3, the follower
	eventually(t, "the ISR to shrink to the leader", func() bool {
		l, i := isr("clean")
		// The leader's own image too: it is the one that checks.
		p, ok := bs[3].Member().State().Partition("clean", 0)
		return l == 4 && slices.Equal(i, []int32{4}) && ok && slices.Equal(p.ISR, []int32{4})
	})
	// The native client with retries off shows the broker's answer.
	ncl, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ncl.Close()
	np, err := ncl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner(), Acks: client.AcksAll, Retries: -1, DisableIdempotence: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = np.SendSync(ctx, &client.Record{Topic: "clean", Partition: 0, Value: []byte("v")})
	np.Close(ctx)
	var be *client.BrokerError
	if !errors.As(err, &be) || be.Code != protocol.ErrNotEnoughReplicas {
		t.Fatalf("acks=all below min.insync.replicas: %v, want NOT_ENOUGH_REPLICAS", err)
	}
	if err := produce("clean", kgo.LeaderAck()); err != nil {
		t.Fatalf("acks=1 below min.insync.replicas: %v", err)
	}

	closeBroker(3) // broker 4, the last ISR member
	eventually(t, "both partitions to go offline", func() bool {
		l1, _ := isr("clean")
		l2, _ := isr("unclean")
		return l1 == -1 && l2 == -1
	})
	// Broker 3 comes back, out of sync: only the unclean topic takes it.
	cfg := cfgs[2]
	cfg.ControllerListener = nil
	b3, err := broker.StartContext(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		b3.Close(cctx)
		ccancel()
	})
	eventually(t, "an unclean election", func() bool {
		l, i := isr("unclean")
		return l == 3 && slices.Equal(i, []int32{3})
	})
	if l, _ := isr("clean"); l != -1 {
		t.Fatalf("the clean topic elected %d outside its ISR", l)
	}
}

// TestLaggingFollowerLeavesISR: a follower that stops fetching (its broker
// died without a controlled shutdown, and its session has not expired yet)
// leaves the ISR after replica.lag.time.max.ms, so acks=all goes on
// without it; once it is back and has caught up it joins the ISR again.
func TestLaggingFollowerLeavesISR(t *testing.T) {
	cfgs, err := broker.TestClusterConfigs(3, t.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfgs {
		cfgs[i].ReplicaLagMax = time.Second
		// Fencing comes only after 8 s: the lag takes it out first. (A
		// restart waits for that session to end before it registers.)
		cfgs[i].BrokerSessionTimeout = 8 * time.Second
		cfgs[i].NoControlledShutdown = true
	}
	bs := startCluster(t, cfgs)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[0].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctx, "lag", 1, 3, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatal(err)
	}
	part := func() (int32, []int32) {
		p, ok := bs[0].Member().State().Partition("lag", 0)
		if !ok {
			return -2, nil
		}
		return p.Leader, p.ISR
	}
	leader, _ := part()
	follower := int32(1)
	for follower == leader {
		follower++
	}
	view := bs[0]
	if follower == 1 {
		view = bs[1]
	}
	part = func() (int32, []int32) {
		p, ok := view.Member().State().Partition("lag", 0)
		if !ok {
			return -2, nil
		}
		return p.Leader, p.ISR
	}
	kc, err := kgo.NewClient(kgo.SeedBrokers(view.KafkaAddr().String()), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	produce := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if err := kc.ProduceSync(ctx, &kgo.Record{Topic: "lag", Value: []byte("v")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(10)
	cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
	if err := bs[follower-1].Close(cctx); err != nil {
		t.Fatal(err)
	}
	ccancel()
	bs[follower-1] = nil
	eventually(t, "the lagging follower to leave the ISR", func() bool {
		_, isr := part()
		return len(isr) == 2 && !slices.Contains(isr, follower)
	})
	if b, _ := view.Member().State().Broker(follower); b.Fenced {
		t.Fatalf("broker %d was fenced before the lag took it out of the ISR", follower)
	}
	produce(10) // acks=all with the ISR at min.insync.replicas

	cfg := cfgs[follower-1]
	cfg.ControllerListener = nil
	b, err := broker.StartContext(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	bs[follower-1] = b
	eventually(t, "the follower to rejoin the ISR", func() bool {
		_, isr := part()
		return len(isr) == 3
	})
	p, err := b.Engine.Partition("lag", 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.LogEndOffset() != 20 {
		t.Fatalf("rejoined follower holds %d records, want 20", p.LogEndOffset())
	}
}

// TestPreferredLeaderReturns: when a partition's first replica comes back
// and catches up into the ISR, auto.leader.rebalance.enable moves the
// leadership back to it.
func TestPreferredLeaderReturns(t *testing.T) {
	cfgs, err := broker.TestClusterConfigs(3, t.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfgs {
		cfgs[i].LeaderImbalanceCheckInterval = 500 * time.Millisecond
	}
	bs := startCluster(t, cfgs)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[1].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	kc, err := kgo.NewClient(kgo.SeedBrokers(bs[1].KafkaAddr().String()), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	createAssigned(t, ctx, kc, "pref", []int32{1, 2, 3}, nil)
	leader := func() int32 {
		p, ok := bs[1].Member().State().Partition("pref", 0)
		if !ok {
			return -2
		}
		return p.Leader
	}
	eventually(t, "broker 1 to lead", func() bool { return leader() == 1 })
	cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
	if err := bs[0].Close(cctx); err != nil {
		t.Fatal(err)
	}
	ccancel()
	bs[0] = nil
	eventually(t, "leadership to move off broker 1", func() bool { l := leader(); return l == 2 || l == 3 })
	for i := 0; i < 10; i++ {
		if err := kc.ProduceSync(ctx, &kgo.Record{Topic: "pref", Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := cfgs[0]
	cfg.ControllerListener = nil
	b, err := broker.StartContext(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	bs[0] = b
	eventually(t, "broker 1 to lead again", func() bool { return leader() == 1 })
	p, _ := b.Engine.Partition("pref", 0)
	if p.LogEndOffset() != 10 {
		t.Fatalf("the preferred leader holds %d records, want the 10 written while it was away", p.LogEndOffset())
	}
}

// TestInternalTopicRefusesProducers: clients cannot write
// __consumer_offsets (only the coordinators do), and Metadata marks it
// internal, as Kafka does.
func TestInternalTopicRefusesProducers(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kc, err := kgo.NewClient(kgo.SeedBrokers(bs[0].KafkaAddr().String()), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("x"),
		kgo.RecordRetries(0), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	// A group makes the cluster create the offsets topic.
	eventually(t, "the offsets topic", func() bool {
		req := kmsg.NewFindCoordinatorRequest()
		req.CoordinatorKey = "g"
		resp, err := req.RequestWith(ctx, kc)
		return err == nil && resp.ErrorCode == 0
	})
	err = kc.ProduceSync(ctx, &kgo.Record{Topic: "__consumer_offsets", Partition: 0, Value: []byte("forged")}).FirstErr()
	if !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatalf("produce to __consumer_offsets: %v, want INVALID_TOPIC_EXCEPTION", err)
	}
	req := kmsg.NewMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("__consumer_offsets")
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, kc)
	if err != nil || len(resp.Topics) != 1 || !resp.Topics[0].IsInternal {
		t.Fatalf("metadata of __consumer_offsets: %v %+v", err, resp)
	}
}
