package metadata

import (
	"fmt"
	"testing"
	"time"
)

// Benchmarks at cluster scale: a million partitions (1,000 topics of
// 1,000, replication factor 3 over three brokers) unless a name says
// otherwise. Building the image takes a few seconds, once per benchmark.

// bigState is a State with topics×parts partitions of replication factor 3
// over brokers brokers, every ISR full.
func bigState(tb testing.TB, topics, parts, brokers int) *State {
	tb.Helper()
	s := New(Options{})
	ids := make([]int32, brokers)
	for i := range ids {
		ids[i] = int32(i + 1)
		mustApplyTB(tb, s, RegisterBroker{ID: ids[i], Incarnation: "i", Listeners: map[string]string{"SLUICE": fmt.Sprintf("h%d:1", i)}})
	}
	for i := range topics {
		asg, err := Assign(ids, parts, min(3, brokers), i, 0)
		if err != nil {
			tb.Fatal(err)
		}
		var id [16]byte
		id[0], id[1], id[15] = byte(i), byte(i>>8), 1
		mustApplyTB(tb, s, CreateTopic{Name: fmt.Sprintf("topic-%04d", i), ID: id, Assignment: asg})
	}
	return s
}

func mustApplyTB(tb testing.TB, s *State, rec Record) {
	tb.Helper()
	b, err := Encode(rec)
	if err != nil {
		tb.Fatal(err)
	}
	if r := s.Apply(b); r.Code != CodeNone {
		tb.Fatalf("%T: %+v", rec, r)
	}
}

// BenchmarkApplyPartitionChange is the cost of one ISR change (a leader
// dropping a follower, then taking it back) in a million-partition image.
func BenchmarkApplyPartitionChange(b *testing.B) {
	s := bigState(b, 1000, 1000, 3)
	cmds := isrFlipCommands(b, s, 2*b.N)
	b.ResetTimer()
	for i := range b.N {
		if r := s.Apply(cmds[i]); r.Code != CodeNone {
			b.Fatalf("entry %d: %+v", i, r)
		}
	}
}

// isrFlipCommands encodes n ISR changes over distinct partitions, each
// valid against s as it stands (one change per partition).
func isrFlipCommands(tb testing.TB, s *State, n int) [][]byte {
	tb.Helper()
	var out [][]byte
	for ti := 0; len(out) < n; ti++ {
		name := fmt.Sprintf("topic-%04d", ti%1000)
		for p := int32(0); p < 1000 && len(out) < n; p++ {
			part, ok := s.Partition(name, p)
			if !ok {
				tb.Fatalf("no %s-%d", name, p)
			}
			pe := part.PartitionEpoch
			isr := []int32{part.Leader}
			b, err := Encode(PartitionChange{Topic: name, Partition: p, LeaderEpoch: part.LeaderEpoch, PartitionEpoch: &pe, ISR: isr})
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
		if ti > 1000 {
			tb.Fatalf("only %d partitions", len(out))
		}
	}
	return out
}

// BenchmarkImage is the cost of one full read of a million-partition image.
func BenchmarkImage(b *testing.B) {
	s := bigState(b, 1000, 1000, 3)
	b.ResetTimer()
	for range b.N {
		im := s.Image()
		if len(im.Topics) != 1000 {
			b.Fatal(len(im.Topics))
		}
	}
}

// BenchmarkSnapshotRestore takes and restores a snapshot of a
// million-partition image, reporting both times and the size.
func BenchmarkSnapshotRestore(b *testing.B) {
	s := bigState(b, 1000, 1000, 3)
	b.ResetTimer()
	var took, restoreTook time.Duration
	var size int
	for range b.N {
		start := time.Now()
		snap, err := s.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		size = len(snap)
		start = time.Now()
		r := New(Options{})
		if err := r.Restore(snap); err != nil {
			b.Fatal(err)
		}
		restoreTook += time.Since(start)
	}
	b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "snapshot-ms")
	b.ReportMetric(float64(restoreTook.Milliseconds())/float64(b.N), "restore-ms")
	b.ReportMetric(float64(size)/1e6, "MB")
}
