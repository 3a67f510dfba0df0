package cluster

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/sluicelog/sluice/engine/metadata"
)

// Benchmarks of what a member does per applied record at cluster scale,
// in process: the image, its hooks and the leadership map, without a
// quorum or local storage.

// benchMember is a member of node self with no quorum and no engine,
// whose image holds topics×parts partitions of replication factor 3 over
// brokers 1..brokers.
func benchMember(tb testing.TB, self int32, topics, parts, brokers int) *Member {
	tb.Helper()
	m := &Member{cfg: Config{NodeID: self}, logger: slog.New(slog.DiscardHandler)}
	m.leaders.Store(&leaderMap{})
	m.state = metadata.New(metadata.Options{OnChange: m.onChange, OnRestore: m.onRestore})
	ids := make([]int32, brokers)
	for i := range ids {
		ids[i] = int32(i + 1)
		benchApply(tb, m.state, metadata.RegisterBroker{ID: ids[i], Incarnation: "i"})
	}
	for i := range topics {
		asg, err := metadata.Assign(ids, parts, min(3, brokers), i, 0)
		if err != nil {
			tb.Fatal(err)
		}
		var id [16]byte
		id[0], id[1], id[15] = byte(i), byte(i>>8), 1
		benchApply(tb, m.state, metadata.CreateTopic{Name: fmt.Sprintf("topic-%04d", i), ID: id, Assignment: asg})
	}
	return m
}

func benchApply(tb testing.TB, s *metadata.State, rec metadata.Record) {
	tb.Helper()
	b, err := metadata.Encode(rec)
	if err != nil {
		tb.Fatal(err)
	}
	if r := s.Apply(b); r.Code != metadata.CodeNone {
		tb.Fatalf("%T: %+v", rec, r)
	}
}

// BenchmarkApplyISRChange is one ISR change applied by a member of a
// million-partition cluster, the leadership map's upkeep included.
func BenchmarkApplyISRChange(b *testing.B) {
	m := benchMember(b, 1, 1000, 1000, 3)
	var cmds [][]byte
	for i := range b.N {
		name, p := fmt.Sprintf("topic-%04d", i%1000), int32(i/1000)
		part, _ := m.state.Partition(name, p)
		pe := part.PartitionEpoch
		cmd, err := metadata.Encode(metadata.PartitionChange{Topic: name, Partition: p, LeaderEpoch: part.LeaderEpoch,
			PartitionEpoch: &pe, ISR: []int32{part.Leader}})
		if err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	b.ResetTimer()
	for i := range b.N {
		if r := m.state.Apply(cmds[i]); r.Code != metadata.CodeNone {
			b.Fatal(r)
		}
	}
}

// BenchmarkFailover fences a broker that leads 30,000 partitions (90,000
// over three brokers) and, untimed, unfences it again: the image's and
// the member's work to move every leader.
func BenchmarkFailover(b *testing.B) {
	for _, bc := range []struct {
		name   string
		topics int
	}{{"led=30k", 90}, {"led=333k", 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			m := benchMember(b, 1, bc.topics, 1000, 3)
			fence, _ := metadata.Encode(metadata.FenceBroker{ID: 2})
			unfence, _ := metadata.Encode(metadata.UnfenceBroker{ID: 2})
			b.ResetTimer()
			for range b.N {
				if r := m.state.Apply(fence); r.Code != metadata.CodeNone {
					b.Fatal(r)
				}
				b.StopTimer()
				if r := m.state.Apply(unfence); r.Code != metadata.CodeNone {
					b.Fatal(r)
				}
				b.StartTimer()
			}
		})
	}
}
