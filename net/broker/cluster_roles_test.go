package broker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/client"
)

// TestClusterBrokerOnly: three broker,controller nodes and one
// process.roles=broker node (node 4, a raft nonvoter). Node 4 never leads
// the quorum; a topic with RF 4 created through it is placed on all four
// brokers, every broker sees it, and Kafka and native clients bootstrapped
// from node 4 alone produce to and consume from every partition.
func TestClusterBrokerOnly(t *testing.T) {
	bs := broker.StartTestClusterRoles(t, 3, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b4 := bs[3]
	if node := b4.Member().Node(); node.IsLeader() {
		t.Fatal("the broker-only node leads the quorum")
	} else if id, _, ok := node.Leader(); !ok || id < 1 || id > 3 {
		t.Fatalf("the broker-only node's quorum leader = %d, %v; want a voter", id, ok)
	}

	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{b4.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctx, "wide", 4, 4, nil); err != nil {
		t.Fatalf("RF 4 through the broker-only node: %v", err)
	}
	for i, info := range describeFromEach(t, ctx, bs, "wide") {
		leaders := map[int32]bool{}
		for _, p := range info.Partitions {
			if r := slices.Sorted(slices.Values(p.Replicas)); !slices.Equal(r, []int32{1, 2, 3, 4}) {
				t.Fatalf("broker %d: partition %d on %v, want all four brokers", i+1, p.Partition, p.Replicas)
			}
			leaders[p.Leader] = true
		}
		if len(info.Partitions) != 4 || !leaders[4] {
			t.Fatalf("broker %d: %v: want 4 partitions, one led by the broker-only node", i+1, placement(info.Partitions))
		}
	}

	produceConsumeVia(t, ctx, b4, b4, "wide", 4)
}

// TestClusterControllersAndBrokers: three controller-only nodes form the
// quorum and two broker-only nodes hold the data; the brokers register,
// take a topic with RF 2, and serve clients.
func TestClusterControllersAndBrokers(t *testing.T) {
	bs := broker.StartTestClusterRoles(t, 3, 2, func(c *broker.Config) {
		if c.NodeID <= 3 {
			c.ProcessRoles = []string{"controller"}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := client.New(ctx, client.Config{BootstrapServers: []string{bs[4].Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctx, "pairs", 2, 2, nil); err != nil {
		t.Fatal(err)
	}
	info, err := admin.DescribeTopic(ctx, "pairs")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range info.Partitions {
		if r := slices.Sorted(slices.Values(p.Replicas)); !slices.Equal(r, []int32{4, 5}) {
			t.Fatalf("partition %d on %v, want brokers 4 and 5", p.Partition, p.Replicas)
		}
	}
	produceConsumeVia(t, ctx, bs[3], bs[3], "pairs", 2)
}
