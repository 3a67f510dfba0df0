package broker_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/segment/fsys"
)

// createAssigned creates a topic of one partition on the given replicas
// (the first leads) with configs, through the Kafka listener.
func createAssigned(t *testing.T, ctx context.Context, kc *kgo.Client, name string, replicas []int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Partition, ra.Replicas = 0, replicas
	rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, kc)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

// TestDiskErrorMovesLeadership: the leader's disk fails writes for one
// partition (EIO). That replica goes offline, the partition's leadership
// moves to another in-sync replica, an idempotent acks=all producer goes
// on through it, and every acknowledged record is read back once; the
// broker with the failed disk keeps serving its other partitions.
func TestDiskErrorMovesLeadership(t *testing.T) {
	faulty := fsys.NewFaulty(fsys.OS{})
	bs := broker.StartTestCluster(t, 3, func(c *broker.Config) {
		if c.NodeID == 1 {
			c.FS = faulty
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	seeds := []string{bs[1].KafkaAddr().String(), bs[2].KafkaAddr().String()}
	kc, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	createAssigned(t, ctx, kc, "disk", []int32{1, 2, 3}, map[string]string{"min.insync.replicas": "2"})
	createAssigned(t, ctx, kc, "other", []int32{1}, nil)

	produce := func(topic string, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := kc.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%03d", i)}).FirstErr(); err != nil {
				t.Fatalf("produce %s %d: %v", topic, i, err)
			}
		}
	}
	produce("disk", 0, 20)
	faulty.Inject(fsys.Fault{Ops: fsys.OpWrite, Err: syscall.EIO,
		Path: func(path string) bool { return strings.Contains(path, "/disk-0/") }})
	produce("disk", 20, 40) // retried through KAFKA_STORAGE_ERROR to the new leader
	if faulty.Failed() == 0 {
		t.Fatal("no write failed: the fault never hit")
	}
	p, ok := bs[1].Member().State().Partition("disk", 0)
	if !ok || p.Leader == 1 || p.Leader < 0 {
		t.Fatalf("partition after the disk error: %+v, want a leader other than 1", p)
	}
	produce("other", 0, 5) // broker 1 still leads and serves its other partition

	for _, topic := range []string{"disk", "other"} {
		want := map[string]int{"disk": 40, "other": 5}[topic]
		cons, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for len(got) < want {
			fs := cons.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("consume %s: %v", topic, err)
			}
			fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		}
		cons.Close()
		for i, v := range got {
			if v != fmt.Sprintf("v%03d", i) {
				t.Fatalf("%s record %d is %q: lost or duplicated", topic, i, v)
			}
		}
	}
}
