package metadata_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
)

// propose stands for raft: encode, replicate, apply on every node.
func propose(s *metadata.State, rec metadata.Record) metadata.Result {
	b, err := metadata.Encode(rec)
	if err != nil {
		panic(err)
	}
	return s.Apply(b)
}

func Example() {
	s := metadata.New(metadata.Options{
		OnChange: func(rec metadata.Record, _ []string) { fmt.Printf("applied %T\n", rec) },
	})
	propose(s, metadata.InitCluster{ClusterID: "sluice-1"})
	for id := int32(1); id <= 3; id++ {
		propose(s, metadata.RegisterBroker{ID: id, Incarnation: fmt.Sprint("run-", id),
			Listeners: map[string]string{"SLUICE": fmt.Sprintf("127.0.0.1:%d", 9092+id)}})
	}
	// The controller places the replicas (startIndex would be random).
	asg, err := metadata.Assign(s.LiveBrokerIDs(), 3, 2, 0, 0)
	if err != nil {
		panic(err)
	}
	propose(s, metadata.CreateTopic{Name: "orders", ID: [16]byte{1}, Assignment: asg})
	p, _ := s.Partition("orders", 1)
	fmt.Println("orders-1 replicas", p.Replicas, "leader", p.Leader)

	// A second creation is refused with Kafka's code.
	err = propose(s, metadata.CreateTopic{Name: "orders", ID: [16]byte{2}, Assignment: asg}).Err()
	var me *metadata.Error
	if errors.As(err, &me) {
		fmt.Println("refused with code", me.Code)
	}
	// Output:
	// applied metadata.InitCluster
	// applied metadata.RegisterBroker
	// applied metadata.RegisterBroker
	// applied metadata.RegisterBroker
	// applied metadata.CreateTopic
	// orders-1 replicas [2 3] leader 2
	// refused with code 36
}

func ExampleAssign() {
	asg, _ := metadata.Assign([]int32{1, 2, 3}, 4, 3, 0, 0)
	fmt.Println(asg)
	_, err := metadata.Assign([]int32{1, 2}, 1, 3, 0, 0)
	fmt.Println(err)
	// Output:
	// [[1 2 3] [2 3 1] [3 1 2] [1 3 2]]
	// INVALID_REPLICATION_FACTOR: replication factor 3 is larger than the 2 available brokers
}

func ExampleLiveness() {
	l := metadata.NewLiveness(10 * time.Second)
	t0 := time.Unix(0, 0)
	l.Heartbeat(1, "run-a", t0)
	l.Heartbeat(2, "run-b", t0.Add(5*time.Second))
	fmt.Println(l.Expired(t0.Add(12 * time.Second)))
	// Broker 2 restarting as run-c while run-b's session lives is refused.
	if inc, ok := l.Live(2, t0.Add(12*time.Second)); ok && inc != "run-c" {
		fmt.Println("duplicate registration, code", metadata.CodeDuplicateBrokerRegistration)
	}
	// Output:
	// [1]
	// duplicate registration, code 101
}

func ExampleState_Snapshot() {
	s := metadata.New(metadata.Options{})
	propose(s, metadata.RegisterBroker{ID: 1, Incarnation: "a"})
	r := propose(s, metadata.AllocateProducerIDs{BrokerID: 1, Count: 100})
	snap, _ := s.Snapshot()

	restored := metadata.New(metadata.Options{})
	if err := restored.Restore(snap); err != nil {
		panic(err)
	}
	next := propose(restored, metadata.AllocateProducerIDs{BrokerID: 1, Count: 100})
	fmt.Println(r.FirstProducerID, next.FirstProducerID)
	// Output:
	// 1000 1100
}
