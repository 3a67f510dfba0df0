package request_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/request"
)

func newLocal(t *testing.T) (*engine.Engine, *request.Local) {
	t.Helper()
	eng, err := engine.Open(t.TempDir(), engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	l, err := request.NewLocal(eng, request.LocalConfig{NodeID: 3, NumPartitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	return eng, l
}

// TestLocal: one node is the only broker, the controller and the leader
// (epoch 0) and sole replica of every partition.
func TestLocal(t *testing.T) {
	eng, l := newLocal(t)
	ctx := context.Background()
	if l.NodeID() != 3 || l.ControllerID() != 3 || l.ClusterID() == "" {
		t.Fatalf("node %d controller %d cluster %q", l.NodeID(), l.ControllerID(), l.ClusterID())
	}
	if b := l.Brokers(request.ListenerKafka); b != nil {
		t.Fatalf("brokers before any listener bound: %v", b)
	}
	l.Advertise(request.ListenerKafka, "k.example", 9092)
	if b := l.Brokers(request.ListenerKafka); len(b) != 1 || b[0] != (request.Broker{ID: 3, Host: "k.example", Port: 9092}) {
		t.Fatalf("brokers: %v", b)
	}
	if c, err := l.Coordinator("g", request.ListenerKafka); err != nil || c.ID != 3 || c.Port != 9092 {
		t.Fatalf("coordinator: %v %v", c, err)
	}
	if _, err := l.Coordinator("g", request.ListenerNative); request.CodeOf(err) != request.CoordinatorNotAvailable {
		t.Fatalf("coordinator on a listener not bound: %v", err)
	}

	// Validate-only changes nothing, and says what would be made.
	tp, err := l.CreateTopic(ctx, request.NewTopic{Name: "orders", Partitions: -1, ReplicationFactor: -1, ValidateOnly: true})
	if err != nil || len(tp.Partitions) != 2 || tp.ReplicationFactor() != 1 || len(eng.Topics()) != 0 {
		t.Fatalf("validate only: %+v %v, topics %v", tp, err, eng.Topics())
	}
	tp, err = l.CreateTopic(ctx, request.NewTopic{Name: "orders", Partitions: -1, ReplicationFactor: -1})
	if err != nil || len(tp.Partitions) != 2 || tp.ID == ([16]byte{}) {
		t.Fatalf("create: %+v %v", tp, err)
	}
	for _, p := range tp.Partitions {
		if p.Leader != 3 || p.LeaderEpoch != 0 || !slices.Equal(p.Replicas, []int32{3}) || !slices.Equal(p.ISR, []int32{3}) || len(p.Offline) != 0 {
			t.Fatalf("placement: %+v", p)
		}
	}
	if byID, err := l.TopicByID(tp.ID); err != nil || byID.Name != "orders" {
		t.Fatalf("by id: %+v %v", byID, err)
	}
	if _, err := l.TopicByID([16]byte{1}); request.CodeOf(err) != request.UnknownTopicID {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := l.Topic("missing"); !errors.Is(err, engine.ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}

	// A replication factor above the one broker there is.
	_, err = l.CreateTopic(ctx, request.NewTopic{Name: "wide", Partitions: 1, ReplicationFactor: 3})
	if request.CodeOf(err) != request.InvalidReplicationFactor || err.Error() != "replication factor 3 is larger than the 1 available broker" {
		t.Fatalf("rf 3: %v", err)
	}
	_, err = l.CreateTopic(ctx, request.NewTopic{Name: "elsewhere", Partitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{3}, {4}}})
	if request.CodeOf(err) != request.InvalidReplicaAssignment {
		t.Fatalf("assignment to another broker: %v", err)
	}
	if err := l.CreatePartitions(ctx, "orders", 4, nil, true); err != nil || len(eng.Topics()) != 1 {
		t.Fatalf("validate-only partitions: %v", err)
	}
	if tp, _ := l.Topic("orders"); len(tp.Partitions) != 2 {
		t.Fatalf("validate-only grew the topic to %d", len(tp.Partitions))
	}
	if err := l.AlterTopicConfig(ctx, "orders", map[string]string{"retention.ms": "x"}, nil, true); request.CodeOf(err) != request.InvalidConfig {
		t.Fatalf("bad config: %v", err)
	}

	// The hot path's check allocates nothing when it says yes.
	if err := l.LeaderCheck("orders", 1); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = l.LeaderCheck("orders", 1) }); n != 0 {
		t.Fatalf("LeaderCheck allocates %v times", n)
	}
}
