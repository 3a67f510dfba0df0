package cluster

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

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
// over three brokers), or a third of a million: the image's and the
// member's work to move every leader. Untimed between rounds, the broker
// is unfenced and given its leaderships back.
func BenchmarkFailover(b *testing.B) {
	for _, bc := range []struct {
		name   string
		topics int
	}{{"led=30k", 90}, {"led=333k", 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			m := benchMember(b, 1, bc.topics, 1000, 3)
			led := ledBy(m.state, 2)
			fence, _ := metadata.Encode(metadata.FenceBroker{ID: 2})
			b.ResetTimer()
			for range b.N {
				if r := m.state.Apply(fence); r.Code != metadata.CodeNone {
					b.Fatal(r)
				}
				b.StopTimer()
				giveBack(b, m.state, 2, led)
				b.StartTimer()
			}
		})
	}
}

// ledBy is the partitions broker id leads.
func ledBy(s *metadata.State, id int32) []topicPartition {
	var out []topicPartition
	for _, t := range s.Image().Topics {
		for i, p := range t.Partitions {
			if p.Leader == id {
				out = append(out, topicPartition{t.Name, int32(i)})
			}
		}
	}
	return out
}

// giveBack unfences broker id and makes it leader of led again, with full
// ISRs, in PartitionChanges batches.
func giveBack(tb testing.TB, s *metadata.State, id int32, led []topicPartition) {
	tb.Helper()
	benchApply(tb, s, metadata.UnfenceBroker{ID: id})
	for start := 0; start < len(led); start += metadata.MaxPartitionChanges {
		var changes []metadata.PartitionChange
		for _, k := range led[start:min(start+metadata.MaxPartitionChanges, len(led))] {
			p, _ := s.Partition(k.topic, k.partition)
			leader := id
			changes = append(changes, metadata.PartitionChange{Topic: k.topic, Partition: k.partition,
				LeaderEpoch: p.LeaderEpoch, Leader: &leader, ISR: p.Replicas})
		}
		cmd, err := metadata.Encode(metadata.PartitionChanges{Changes: changes})
		if err != nil {
			tb.Fatal(err)
		}
		if r := s.Apply(cmd); r.Code != metadata.CodeNone || slices.ContainsFunc(r.Codes, func(c int16) bool { return c != metadata.CodeNone }) {
			tb.Fatalf("giving leaderships back: %+v", r)
		}
	}
}

// BenchmarkApplyBatch is one PartitionChanges record of 10,000 ISR
// changes (a broker back from a restart rejoining the ISRs it left) in a
// million-partition cluster, as a member applies it.
func BenchmarkApplyBatch(b *testing.B) {
	m := benchMember(b, 1, 1000, 1000, 3)
	led := ledBy(m.state, 2)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		benchApply(b, m.state, metadata.FenceBroker{ID: 2})
		benchApply(b, m.state, metadata.UnfenceBroker{ID: 2})
		var changes []metadata.PartitionChange
		for _, k := range led[:metadata.MaxPartitionChanges] {
			p, _ := m.state.Partition(k.topic, k.partition)
			changes = append(changes, metadata.PartitionChange{Topic: k.topic, Partition: k.partition,
				LeaderEpoch: p.LeaderEpoch, ISR: p.Replicas})
		}
		cmd, err := metadata.Encode(metadata.PartitionChanges{Changes: changes})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if r := m.state.Apply(cmd); r.Code != metadata.CodeNone || slices.ContainsFunc(r.Codes, func(c int16) bool { return c != metadata.CodeNone }) {
			b.Fatalf("%+v", r)
		}
	}
}

// BenchmarkSnapshotRestore is a million-partition image's snapshot as the
// quorum takes it (frozen on the apply goroutine, written in Persist) and
// its restore into a fresh member, the leadership map's rebuild included.
func BenchmarkSnapshotRestore(b *testing.B) {
	m := benchMember(b, 1, 1000, 1000, 3)
	var freeze, write, restore time.Duration
	var size int
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		w, err := stateMachine{m.state}.FreezeSnapshot()
		if err != nil {
			b.Fatal(err)
		}
		freeze += time.Since(start)
		start = time.Now()
		var buf bytes.Buffer
		if err := w(&buf); err != nil {
			b.Fatal(err)
		}
		write += time.Since(start)
		size = buf.Len()
		r := &Member{cfg: Config{NodeID: 1}, logger: m.logger}
		r.leaders.Store(&leaderMap{})
		r.state = metadata.New(metadata.Options{OnChange: r.onChange, OnRestore: r.onRestore})
		start = time.Now()
		if err := (stateMachine{r.state}).Restore(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
		restore += time.Since(start)
		if _, ok := r.leadershipOf("topic-0999", 999); !ok {
			b.Fatal("restored member has no leadership map")
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(freeze.Microseconds())/n, "freeze-µs")
	b.ReportMetric(float64(write.Milliseconds())/n, "write-ms")
	b.ReportMetric(float64(restore.Milliseconds())/n, "restore-ms")
	b.ReportMetric(float64(size)/1e6, "MB")
}
