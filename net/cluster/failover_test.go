package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine/metadata"
)

// TestFailoverMovesEveryLeaderAtOnce: fencing a broker that leads 30,000
// partitions (90,000 over three brokers) is one record, after which every
// one of them has a live leader in the member's leadership map, which
// changed only there: the apply and the map's upkeep stay far inside the
// issue's two seconds even under -race.
func TestFailoverMovesEveryLeaderAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 90,000-partition image")
	}
	m := benchMember(t, 1, 90, 1000, 3)
	m.rebuildLeaders()
	var led []topicPartition
	var other topicPartition // one broker 2 does not lead
	for _, tp := range m.state.Image().Topics {
		for i, p := range tp.Partitions {
			if p.Leader == 2 {
				led = append(led, topicPartition{tp.Name, int32(i)})
			} else {
				other = topicPartition{tp.Name, int32(i)}
			}
		}
	}
	if len(led) != 30000 {
		t.Fatalf("broker 2 leads %d partitions, want 30000", len(led))
	}
	unmoved, _ := m.leadershipOf(other.topic, other.partition)
	start := time.Now()
	benchApply(t, m.state, metadata.FenceBroker{ID: 2})
	took := time.Since(start)
	t.Logf("fencing a broker that leads %d partitions: %v", len(led), took)
	if took > 2*time.Second {
		t.Errorf("fencing took %v", took)
	}
	for _, k := range led {
		l, ok := m.leadershipOf(k.topic, k.partition)
		if !ok || l.leader == 2 || l.leader == metadata.NoLeader || l.isr != 2 {
			t.Fatalf("%s-%d after the fence: %+v (%v)", k.topic, k.partition, l, ok)
		}
		if p, _ := m.state.Partition(k.topic, k.partition); p.Leader != l.leader || p.LeaderEpoch != l.epoch {
			t.Fatalf("%s-%d: map says %+v, image %+v", k.topic, k.partition, l, p)
		}
	}
	if l, _ := m.leadershipOf(other.topic, other.partition); l.leader != unmoved.leader || l.epoch != unmoved.epoch {
		t.Fatalf("a partition broker 2 did not lead moved: %+v then %+v", unmoved, l)
	}
	if _, ok := m.leadershipOf("topic-0000", 1000); ok {
		t.Fatal("partition 1000 of a 1000-partition topic has a leadership")
	}
	if _, ok := m.leadershipOf(fmt.Sprintf("topic-%04d", 90), 0); ok {
		t.Fatal("a topic that does not exist has a leadership")
	}
}
